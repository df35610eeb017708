package envelope

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"testing"
)

// An independent implementation of the existing mediators' crypto, written
// from the byte layout in mediators.md 2.5 with the standard library's
// primitives only (no package code), to check that what we write is what
// the Java and Node mediators read, and the other way round:
//
//	"VER_R2" | thumbprint(32) | RSA-OAEP-SHA256(AES key) | "#KEY_SPLITTER#"
//	| nonce(12) | random(20) | AES-256-GCM(plaintext) | tag(16)
//	GCM IV = nonce, GCM AAD = nonce | random (the 32 bytes after the splitter)
//	signature = RSASSA-PKCS1-v1_5 SHA-512

func refEncrypt(t testing.TB, pub *rsa.PublicKey, plaintext []byte) []byte {
	t.Helper()
	key, thumb, aad := make([]byte, 32), make([]byte, 32), make([]byte, 32)
	for _, b := range [][]byte{key, thumb, aad} {
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
	}
	encKey, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	out = append(out, "VER_R2"...)
	out = append(out, thumb...) // random, as both legacy mediators write it
	out = append(out, encKey...)
	out = append(out, "#KEY_SPLITTER#"...)
	out = append(out, aad...)
	return gcm.Seal(out, aad[:12], plaintext, aad)
}

// refDecrypt returns the plaintext and the thumbprint the sender wrote.
func refDecrypt(priv *rsa.PrivateKey, raw []byte) (plain, thumb []byte, err error) {
	if !bytes.HasPrefix(raw, []byte("VER_R2")) || len(raw) < 38 {
		return nil, nil, errors.New("no VER_R2 header")
	}
	thumb = raw[6:38]
	i := bytes.Index(raw, []byte("#KEY_SPLITTER#"))
	if i < 38 {
		return nil, nil, errors.New("no key splitter after the header")
	}
	encKey, rest := raw[38:i], raw[i+len("#KEY_SPLITTER#"):]
	if len(rest) < 32+16 {
		return nil, nil, errors.New("short body")
	}
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, encKey, nil)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	plain, err = gcm.Open(nil, rest[:12], rest[32:], rest[:32])
	return plain, thumb, err
}

func refSign(t testing.TB, priv *rsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	h := sha512.Sum512(msg)
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA512, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func refVerify(pub *rsa.PublicKey, msg, sig []byte) error {
	h := sha512.Sum512(msg)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA512, h[:], sig)
}

// refMessageV2 is what a V2 signature covers, as documented.
func refMessageV2(id, requestTime, data string) []byte {
	return []byte("opencrvs-mosip-envelope/2\n" + id + "\n" + requestTime + "\n" + data)
}
