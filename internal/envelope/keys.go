package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"opencrvs-mosip/internal/mosip"
)

// MinRSABits is the smallest RSA key accepted, ours or the peer's.
const MinRSABits = 2048

// PeerKey is the other mediator's RSA public key: we encrypt to it and
// verify its signatures with it.
type PeerKey struct {
	Public *rsa.PublicKey
	// Cert is the certificate Public came in, or nil when it came as a
	// bare public key. The VER_R2 thumbprint Seal writes is SHA-256 of
	// Cert's DER (what MOSIP's key manager writes), or, without Cert,
	// SHA-256 of the public key's SubjectPublicKeyInfo DER; receivers do
	// not need it to decrypt. Its validity dates are not checked, as the
	// existing mediators do not check them either.
	Cert *x509.Certificate
}

// NewPeerKey is the PeerKey of a certificate already parsed (for example
// from a PKCS#12 keystore).
func NewPeerKey(cert *x509.Certificate) (*PeerKey, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("envelope: peer certificate holds %s key, want RSA", keyKind(cert.PublicKey))
	}
	if err := checkBits(pub.N.BitLen()); err != nil {
		return nil, fmt.Errorf("envelope: peer certificate: %w", err)
	}
	return &PeerKey{Public: pub, Cert: cert}, nil
}

// thumbprint is what Seal writes as the VER_R2 thumbprint (see Cert).
func (k *PeerKey) thumbprint() ([]byte, error) {
	if k.Cert != nil {
		t := mosip.CertThumbprint(k.Cert)
		return t[:], nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return nil, err
	}
	t := sha256.Sum256(der)
	return t[:], nil
}

// LoadPeerKey reads the peer's key from a PEM file (see ParsePeerKey).
func LoadPeerKey(path string) (*PeerKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envelope: read peer key: %w", err)
	}
	k, err := ParsePeerKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// ParsePeerKey reads the peer's RSA key from PEM: an X.509 CERTIFICATE (the
// first one, if the file holds a chain) or an SPKI PUBLIC KEY. The error
// names what the PEM held instead.
func ParsePeerKey(pemData []byte) (*PeerKey, error) {
	var found []string
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("envelope: peer key: CERTIFICATE does not parse: %v", err)
			}
			return NewPeerKey(cert)
		case "PUBLIC KEY":
			key, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("envelope: peer key: PUBLIC KEY does not parse: %v", err)
			}
			pub, ok := key.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("envelope: peer key: PUBLIC KEY is %s key, want RSA", keyKind(key))
			}
			if err := checkBits(pub.N.BitLen()); err != nil {
				return nil, fmt.Errorf("envelope: peer key: %w", err)
			}
			return &PeerKey{Public: pub}, nil
		case "RSA PUBLIC KEY":
			return nil, errors.New("envelope: peer key: found a PKCS#1 RSA PUBLIC KEY; give the peer's certificate, or convert it to a PUBLIC KEY with `openssl rsa -RSAPublicKey_in -pubout`")
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("envelope: peer key: found a %s; the peer's key is its CERTIFICATE or PUBLIC KEY (and its private key must not leave it)", block.Type)
		default:
			found = append(found, block.Type)
		}
	}
	return nil, fmt.Errorf("envelope: peer key: %s, want a CERTIFICATE or PUBLIC KEY", foundPEM(pemData, found))
}

// LoadPrivateKey reads our RSA private key from a PEM file (see
// ParsePrivateKey).
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envelope: read private key: %w", err)
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// ParsePrivateKey reads an unencrypted RSA private key from PEM: PKCS#8
// (PRIVATE KEY, what the Java mediator wants) or PKCS#1 (RSA PRIVATE KEY).
// Other PEM blocks before it (a certificate, say) are skipped. The error
// names what the PEM held instead.
func ParsePrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	var found []string
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key *rsa.PrivateKey
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("envelope: private key: PKCS#8 PRIVATE KEY does not parse: %v", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("envelope: private key: PRIVATE KEY is %s key, want RSA", keyKind(k))
			}
			key = rk
		case "RSA PRIVATE KEY":
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, errors.New("envelope: private key: RSA PRIVATE KEY is password-protected; store it unencrypted (`openssl pkcs8 -topk8 -nocrypt`) and protect the file instead")
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("envelope: private key: PKCS#1 RSA PRIVATE KEY does not parse: %v", err)
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("envelope: private key: found an ENCRYPTED PRIVATE KEY; store it unencrypted (`openssl pkcs8 -topk8 -nocrypt`) and protect the file instead")
		case "EC PRIVATE KEY":
			return nil, errors.New("envelope: private key: found an EC PRIVATE KEY, want RSA")
		default:
			found = append(found, block.Type)
			continue
		}
		if err := checkBits(key.N.BitLen()); err != nil {
			return nil, fmt.Errorf("envelope: private key: %w", err)
		}
		return key, nil
	}
	return nil, fmt.Errorf("envelope: private key: %s, want a PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)", foundPEM(pemData, found))
}

func checkBits(n int) error {
	if n < MinRSABits {
		return fmt.Errorf("RSA key is %d bits, want at least %d", n, MinRSABits)
	}
	return nil
}

// foundPEM says what a PEM file held, for an error message.
func foundPEM(data []byte, types []string) string {
	if len(types) > 0 {
		return "found " + strings.Join(types, ", ")
	}
	if bytes.Contains(data, []byte(`\n`)) && bytes.Contains(data, []byte("-----BEGIN")) {
		return `no PEM block found (the text has literal \n where line breaks belong)`
	}
	return "no PEM block found"
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "an ECDSA"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "an Ed25519"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "an ECDH (X25519)"
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "an RSA"
	default:
		return fmt.Sprintf("a %T", k)
	}
}
