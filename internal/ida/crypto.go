package ida

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
)

// NonceSize is the GCM nonce length MOSIP uses for IDA requests: the AES
// block size, appended after the tag.
const NonceSize = 16

// seal encrypts plaintext with AES-256-GCM under key and a random 16-byte
// nonce, returning ciphertext | tag | nonce as MOSIP's CryptoCore does.
func seal(key, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("ida: session key: %w", err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, NonceSize)
	if err != nil {
		return nil, fmt.Errorf("ida: gcm: %w", err)
	}
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("ida: nonce: %w", err)
	}
	out := gcm.Seal(make([]byte, 0, len(plaintext)+gcm.Overhead()+NonceSize), nonce, plaintext, nil)
	return append(out, nonce...), nil
}

// hashHex is IDA's request hash: upper-case hex SHA-256.
func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func sha256New() hash.Hash { return sha256.New() }

// thumbprint is the SHA-256 of the certificate's DER.
func thumbprint(cert *x509.Certificate) []byte {
	sum := sha256.Sum256(cert.Raw)
	return sum[:]
}

func b64Padded(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
func b64Raw(b []byte) string    { return base64.RawURLEncoding.EncodeToString(b) }

// x5cOf is the x5c entry of the signing certificate: standard base64 of
// its DER (RFC 7515). mosip-api sends base64url of the PEM text instead;
// IDA reads both, as Java's certificate factory accepts DER and PEM.
func x5cOf(cert *x509.Certificate) string { return base64.StdEncoding.EncodeToString(cert.Raw) }

// signDetached signs payload with RS256 and returns the compact JWS with
// the payload left out: "<protected>..<signature>".
func signDetached(key *rsa.PrivateKey, x5c string, payload []byte) (string, error) {
	header, err := json.Marshal(struct {
		Alg string   `json:"alg"`
		X5C []string `json:"x5c"`
	}{"RS256", []string{x5c}})
	if err != nil {
		return "", fmt.Errorf("ida: signature header: %w", err)
	}
	protected := base64.RawURLEncoding.EncodeToString(header)
	digest := sha256.Sum256([]byte(protected + "." + base64.RawURLEncoding.EncodeToString(payload)))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("ida: sign request: %w", err)
	}
	return protected + ".." + base64.RawURLEncoding.EncodeToString(sig), nil
}
