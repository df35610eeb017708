package crashtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// partnerKey makes the partner key pair MOSIP encrypts credentials to, and
// writes it as the PKCS#12 keystore the mediator reads (as `dev` does).
func partnerKey(dir string) (*mosip.KeyPair, string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", fmt.Errorf("crashtest: partner key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, "", fmt.Errorf("crashtest: partner key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "opencrvs-mosip crash test partner"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", fmt.Errorf("crashtest: partner certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", fmt.Errorf("crashtest: partner certificate: %w", err)
	}
	kp := &mosip.KeyPair{Key: key, Cert: cert}
	p12, err := mosip.EncodePKCS12(kp, p12Password)
	if err != nil {
		return nil, "", fmt.Errorf("crashtest: partner keystore: %w", err)
	}
	path := filepath.Join(dir, "partner.p12")
	if err := os.WriteFile(path, p12, 0o600); err != nil {
		return nil, "", fmt.Errorf("crashtest: partner keystore: %w", err)
	}
	return kp, path, nil
}
