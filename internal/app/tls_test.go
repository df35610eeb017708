package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile, cert
}

// With TLS_CERT_FILE and TLS_KEY_FILE the mediator speaks HTTPS only.
func TestServerTLS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t, t.TempDir(), "mediator")
	s := startSystem(t, systemOptions{config: func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile }})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + s.cfg.Addr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("HTTPS /healthz: %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.cfg.Addr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Errorf("plain HTTP was served")
	}
	if _, err := serverTLS(Config{TLSCertFile: certFile, TLSKeyFile: filepath.Join(t.TempDir(), "missing.key")}); err == nil {
		t.Errorf("a missing key file was accepted")
	}
}

// OUTBOUND_CA_FILE makes a private CA trusted; the client certificate is
// presented to a server that asks for one.
func TestOutboundTLS(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	clientCert, clientKey, _ := selfSigned(t, dir, "client")

	get := func(cfg Config) (int, error) {
		tc, err := outboundTLS(cfg)
		if err != nil {
			return 0, err
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}).Get(srv.URL)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if _, err := get(Config{}); err == nil {
		t.Errorf("a server signed by an unknown CA was trusted")
	}
	if _, err := get(Config{OutboundCAFile: caFile}); err == nil {
		t.Errorf("the server took a connection without a client certificate")
	}
	if st, err := get(Config{OutboundCAFile: caFile, OutboundCertFile: clientCert, OutboundKeyFile: clientKey}); err != nil || st != http.StatusNoContent {
		t.Errorf("with the CA and a client certificate: %d %v", st, err)
	}
	if _, err := outboundTLS(Config{OutboundCAFile: clientKey}); err == nil {
		t.Errorf("a CA file without a certificate was accepted")
	}
}
