package envelope

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustSPKI(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePrivateKey(t *testing.T) {
	alice, bob, _ := mustParties(t)
	for name, in := range map[string][]byte{
		"PKCS#8":                  pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key)),
		"PKCS#1":                  pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(alice.key)),
		"after a certificate":     append(pemBlock("CERTIFICATE", alice.cert.Raw), pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key))...),
		"with text around it":     []byte("Bag Attributes\n" + string(pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key))) + "trailer\n"),
		"first of two RSA blocks": append(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(alice.key)), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(bob.key))...),
	} {
		got, err := ParsePrivateKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !got.Equal(alice.key) {
			t.Errorf("%s: parsed another key", name)
		}
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSEC1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key))
	for _, tt := range []struct {
		name string
		in   []byte
		says string
	}{
		{"ECDSA in PKCS#8", pemBlock("PRIVATE KEY", mustPKCS8(t, ec)), "ECDSA key, want RSA"},
		{"Ed25519 in PKCS#8", pemBlock("PRIVATE KEY", mustPKCS8(t, ed)), "Ed25519 key, want RSA"},
		{"SEC1 EC", pemBlock("EC PRIVATE KEY", ecSEC1), "EC PRIVATE KEY, want RSA"},
		{"1024-bit RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), "1024 bits"},
		{"certificate only", pemBlock("CERTIFICATE", alice.cert.Raw), "found CERTIFICATE"},
		{"public key only", pemBlock("PUBLIC KEY", mustSPKI(t, &alice.key.PublicKey)), "found PUBLIC KEY"},
		{"encrypted PKCS#8", pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), "ENCRYPTED PRIVATE KEY"},
		{"corrupt PKCS#8", pemBlock("PRIVATE KEY", []byte{1, 2, 3}), "does not parse"},
		{"corrupt PKCS#1", pemBlock("RSA PRIVATE KEY", []byte{1, 2, 3}), "does not parse"},
		{"not PEM", []byte("hello"), "no PEM block"},
		{"literal newlines", []byte(strings.ReplaceAll(string(pkcs8), "\n", `\n`)), `literal \n`},
	} {
		if _, err := ParsePrivateKey(tt.in); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.says)
		}
	}
}

func TestParsePeerKey(t *testing.T) {
	alice, bob, _ := mustParties(t)
	fromCert, err := ParsePeerKey(append(pemBlock("CERTIFICATE", alice.cert.Raw), pemBlock("CERTIFICATE", bob.cert.Raw)...))
	if err != nil {
		t.Fatal(err)
	}
	if !fromCert.Public.Equal(&alice.key.PublicKey) || !fromCert.Cert.Equal(alice.cert) {
		t.Error("certificate: parsed another key (want the first certificate of a chain)")
	}
	fromSPKI, err := ParsePeerKey(pemBlock("PUBLIC KEY", mustSPKI(t, &alice.key.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !fromSPKI.Public.Equal(&alice.key.PublicKey) || fromSPKI.Cert != nil {
		t.Error("SPKI: parsed another key, or invented a certificate")
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, err := selfSign("ec", alice.key, &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
		says string
	}{
		{"ECDSA certificate", pemBlock("CERTIFICATE", ecCert.Raw), "ECDSA key, want RSA"},
		{"ECDSA SPKI", pemBlock("PUBLIC KEY", mustSPKI(t, &ec.PublicKey)), "ECDSA key, want RSA"},
		{"1024-bit SPKI", pemBlock("PUBLIC KEY", mustSPKI(t, &small.PublicKey)), "1024 bits"},
		{"PKCS#1 public key", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&alice.key.PublicKey)), "RSA PUBLIC KEY"},
		{"private key", pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key)), "found a PRIVATE KEY"},
		{"corrupt certificate", pemBlock("CERTIFICATE", []byte{1, 2, 3}), "does not parse"},
		{"other block", pemBlock("X509 CRL", []byte{1}), "found X509 CRL"},
		{"empty", nil, "no PEM block"},
	} {
		if _, err := ParsePeerKey(tt.in); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.says)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	alice, _, _ := mustParties(t)
	dir := t.TempDir()
	keyPath, certPath := filepath.Join(dir, "priv.key"), filepath.Join(dir, "peer.pem")
	if err := os.WriteFile(keyPath, pemBlock("PRIVATE KEY", mustPKCS8(t, alice.key)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pemBlock("CERTIFICATE", alice.cert.Raw), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadPrivateKey(keyPath); err != nil || !k.Equal(alice.key) {
		t.Errorf("LoadPrivateKey = %v", err)
	}
	if k, err := LoadPeerKey(certPath); err != nil || !k.Cert.Equal(alice.cert) {
		t.Errorf("LoadPeerKey = %v", err)
	}
	// Each file given for the other: the error names the file.
	if _, err := LoadPrivateKey(certPath); err == nil || !strings.Contains(err.Error(), certPath) {
		t.Errorf("LoadPrivateKey(certificate) = %v, want an error naming the file", err)
	}
	if _, err := LoadPeerKey(keyPath); err == nil || !strings.Contains(err.Error(), keyPath) {
		t.Errorf("LoadPeerKey(private key) = %v, want an error naming the file", err)
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadPrivateKey(missing) succeeded")
	}
}

func TestNewPeerKey(t *testing.T) {
	alice, _, _ := mustParties(t)
	if k, err := NewPeerKey(alice.cert); err != nil || !k.Public.Equal(&alice.key.PublicKey) {
		t.Errorf("NewPeerKey = %v", err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecCert, err := selfSign("ec", alice.key, &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPeerKey(ecCert); err == nil {
		t.Error("NewPeerKey(ECDSA certificate) succeeded")
	}
}
