package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// serverTLS is the TLS the mediator serves with when TLS_CERT_FILE and
// TLS_KEY_FILE are set (nil: plain HTTP, for a deployment that terminates
// TLS in front of it). TLS 1.2 at least.
func serverTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE / TLS_KEY_FILE: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// outboundTLS is the TLS of calls to MOSIP and OpenCRVS: the system's
// trusted CAs plus OUTBOUND_CA_FILE (a private CA), and a client
// certificate for mutual TLS when OUTBOUND_CLIENT_CERT_FILE and
// OUTBOUND_CLIENT_KEY_FILE are set.
func outboundTLS(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.OutboundCAFile != "" {
		pem, err := os.ReadFile(cfg.OutboundCAFile)
		if err != nil {
			return nil, fmt.Errorf("OUTBOUND_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("OUTBOUND_CA_FILE: no PEM certificate in it")
		}
		tc.RootCAs = pool
	}
	if cfg.OutboundCertFile != "" || cfg.OutboundKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.OutboundCertFile, cfg.OutboundKeyFile)
		if err != nil {
			return nil, fmt.Errorf("OUTBOUND_CLIENT_CERT_FILE / OUTBOUND_CLIENT_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// listen wraps ln in the server's TLS, if any.
func (m *Mediator) listen(ln net.Listener) net.Listener {
	if m.serverTLS == nil {
		return ln
	}
	return tls.NewListener(ln, m.serverTLS)
}
