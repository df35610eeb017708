package mosip

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// The hybrid encryption of MOSIP's key manager (cryptomanager "VER_R2"):
//
//	base64url( "VER_R2" | SHA-256(cert DER) | RSA-OAEP-SHA256(session key)
//	           "#KEY_SPLITTER#"
//	           aad (32 bytes, the first 12 are the GCM nonce) | AES-256-GCM(ciphertext | tag) )
//
// MOSIP encrypts issued credentials this way to the partner's certificate.
const (
	versionR2   = "VER_R2"
	keySplitter = "#KEY_SPLITTER#"
	aadSize     = 32
	nonceSize   = 12
	thumbSize   = sha256.Size
)

// ErrCredentialFormat is returned for data that is not a VER_R2 envelope.
var ErrCredentialFormat = errors.New("not a MOSIP VER_R2 encrypted payload")

// EncryptCredential encrypts plaintext to the certificate the way MOSIP's key
// manager does (VER_R2, thumbprint prepended), returning URL-safe base64
// without padding.
func EncryptCredential(cert *x509.Certificate, plaintext []byte) (string, error) {
	raw, err := EncryptVERR2(cert, plaintext)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// DecryptCredential reverses EncryptCredential with the partner's private key.
// It accepts standard or URL-safe base64, padded or not, as MOSIP
// deployments differ. The thumbprint is not checked: a wrong key fails the
// RSA step.
func DecryptCredential(key *rsa.PrivateKey, data string) ([]byte, error) {
	raw, err := decodeBase64(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCredentialFormat, err)
	}
	return DecryptVERR2(key, raw)
}

// EncryptVERR2 encrypts plaintext to the certificate's RSA key in the VER_R2
// layout, as raw bytes. The thumbprint written is SHA-256 of the
// certificate's DER, as MOSIP's key manager writes it.
func EncryptVERR2(cert *x509.Certificate, plaintext []byte) ([]byte, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("mosip: encrypt: certificate key is %T, want RSA", cert.PublicKey)
	}
	thumb := CertThumbprint(cert)
	return EncryptVERR2Key(pub, thumb[:], plaintext)
}

// EncryptVERR2Key is EncryptVERR2 for a peer known only by its public key:
// thumbprint (32 bytes) is written as given.
func EncryptVERR2Key(pub *rsa.PublicKey, thumbprint, plaintext []byte) ([]byte, error) {
	if len(thumbprint) != thumbSize {
		return nil, fmt.Errorf("mosip: encrypt: thumbprint is %d bytes, want %d", len(thumbprint), thumbSize)
	}
	sessionKey := make([]byte, 32)
	aad := make([]byte, aadSize)
	if _, err := rand.Read(sessionKey); err != nil {
		return nil, err
	}
	if _, err := rand.Read(aad); err != nil {
		return nil, err
	}
	encKey, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, sessionKey, nil)
	if err != nil {
		return nil, fmt.Errorf("mosip: encrypt session key: %w", err)
	}
	gcm, err := newGCM(sessionKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(versionR2)+thumbSize+len(encKey)+len(keySplitter)+aadSize+len(plaintext)+gcm.Overhead())
	out = append(out, versionR2...)
	out = append(out, thumbprint...)
	out = append(out, encKey...)
	out = append(out, keySplitter...)
	out = append(out, aad...)
	return gcm.Seal(out, aad[:nonceSize], plaintext, aad), nil
}

// DecryptVERR2 reverses EncryptVERR2 with the recipient's private key. Any
// 32 bytes are accepted as the thumbprint (legacy peers write random ones;
// ThumbprintMatches tells them apart), and a payload without the "VER_R2"
// prefix is read as having none. Format errors wrap ErrCredentialFormat.
func DecryptVERR2(key *rsa.PrivateKey, raw []byte) ([]byte, error) {
	env, err := splitVERR2(raw)
	if err != nil {
		return nil, err
	}
	sessionKey, err := rsa.DecryptOAEP(sha256.New(), nil, key, env.encKey, nil)
	if err != nil {
		return nil, fmt.Errorf("mosip: decrypt session key: %w", err)
	}
	gcm, err := newGCM(sessionKey)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, env.aad[:nonceSize], env.sealed, env.aad)
	if err != nil {
		return nil, fmt.Errorf("mosip: decrypt credential: %w", err)
	}
	return plain, nil
}

// CertThumbprint is the thumbprint VER_R2 names a recipient certificate by:
// SHA-256 of its DER.
func CertThumbprint(cert *x509.Certificate) [thumbSize]byte {
	return sha256.Sum256(cert.Raw)
}

// ThumbprintMatches reports whether the VER_R2 payload raw names cert as its
// recipient. It is false for payloads without a thumbprint and for the
// random thumbprints legacy peers write, which decrypt all the same.
func ThumbprintMatches(raw []byte, cert *x509.Certificate) bool {
	env, err := splitVERR2(raw)
	if err != nil || env.thumbprint == nil {
		return false
	}
	want := CertThumbprint(cert)
	return bytes.Equal(env.thumbprint, want[:])
}

// envelope is a VER_R2 payload split into its parts.
type envelope struct {
	thumbprint []byte // empty when the sender did not prepend one
	encKey     []byte
	aad        []byte
	sealed     []byte // ciphertext | tag
}

func parseEnvelope(data string) (*envelope, error) {
	raw, err := decodeBase64(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCredentialFormat, err)
	}
	return splitVERR2(raw)
}

func splitVERR2(raw []byte) (*envelope, error) {
	keyPart, body, found := bytes.Cut(raw, []byte(keySplitter))
	if !found {
		return nil, fmt.Errorf("%w: no key splitter", ErrCredentialFormat)
	}
	env := &envelope{encKey: keyPart}
	if bytes.HasPrefix(keyPart, []byte(versionR2)) {
		keyPart = keyPart[len(versionR2):]
		if len(keyPart) < thumbSize {
			return nil, fmt.Errorf("%w: short key part", ErrCredentialFormat)
		}
		env.thumbprint, env.encKey = keyPart[:thumbSize], keyPart[thumbSize:]
	}
	if len(body) < aadSize+16 {
		return nil, fmt.Errorf("%w: short ciphertext", ErrCredentialFormat)
	}
	env.aad, env.sealed = body[:aadSize], body[aadSize:]
	return env, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("mosip: session key: %w", err)
	}
	return cipher.NewGCM(block)
}

// decodeBase64 accepts every base64 flavour MOSIP components emit.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// KeyPair is a partner's RSA key and certificate, as kept in a PKCS#12 file.
type KeyPair struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// LoadPKCS12 reads an RSA key and its certificate from a PKCS#12 file. Both
// modern (PBES2/AES) and legacy (RC2/3DES) keystores are read.
func LoadPKCS12(path, password string) (*KeyPair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mosip: read keystore: %w", err)
	}
	kp, err := ParsePKCS12(data, password)
	if err != nil {
		return nil, fmt.Errorf("mosip: keystore %s: %w", path, err)
	}
	return kp, nil
}

// ParsePKCS12 is LoadPKCS12 on bytes.
func ParsePKCS12(data []byte, password string) (*KeyPair, error) {
	key, cert, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, err
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want RSA", key)
	}
	return &KeyPair{Key: rsaKey, Cert: cert}, nil
}

// EncodePKCS12 writes a key pair as a modern PKCS#12 keystore.
func EncodePKCS12(kp *KeyPair, password string) ([]byte, error) {
	return pkcs12.Modern.Encode(kp.Key, kp.Cert, nil, password)
}
