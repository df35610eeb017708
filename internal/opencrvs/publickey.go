package opencrvs

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Limits on the public key document.
const (
	// maxKeyBytes bounds the key response: an 8192-bit RSA key in PEM is
	// under 2 KiB, so anything near this is not a key.
	maxKeyBytes = 64 << 10
	// minRSABits refuses keys too weak to trust with registrations.
	minRSABits = 2048
)

// fetchPublicKey downloads the PEM public key OpenCRVS's auth service
// serves (GET {auth}/.well-known).
func fetchPublicKey(ctx context.Context, client *http.Client, url string) (*rsa.PublicKey, error) {
	if url == "" {
		return nil, errors.New("no public key URL configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain, application/x-pem-file, */*")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("HTTP %d from the public key URL", resp.StatusCode)
	}
	if len(body) > maxKeyBytes {
		return nil, fmt.Errorf("response is larger than %d bytes: not a public key", maxKeyBytes)
	}
	return parsePublicKey(body)
}

// parsePublicKey reads the first "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY"
// (PKCS#1) PEM block of data. The auth service answers the PEM as text; a
// JSON string holding the PEM is accepted too, in case a proxy or a later
// release wraps it.
func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err == nil {
			data = []byte(s)
		}
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New(`no "PUBLIC KEY" or "RSA PUBLIC KEY" PEM block in the response`)
		}
		var key *rsa.PublicKey
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PUBLIC KEY block: %w", err)
			}
			rk, ok := k.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("public key is %s, not RSA: OpenCRVS signs with RS256", keyKind(k))
			}
			key = rk
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse RSA PUBLIC KEY block: %w", err)
			}
			key = k
		default:
			continue // e.g. a certificate chain next to the key
		}
		if bits := key.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("RSA public key has %d bits; at least %d are required", bits, minRSABits)
		}
		return key, nil
	}
}

// keyKind names a public key type for error messages.
func keyKind(k any) string {
	switch fmt.Sprintf("%T", k) {
	case "*ecdsa.PublicKey":
		return "ECDSA"
	case "ed25519.PublicKey":
		return "Ed25519"
	case "*ecdh.PublicKey":
		return "ECDH"
	default:
		return fmt.Sprintf("%T", k)
	}
}

// keyFingerprint identifies a key in logs: the first 16 hex digits of the
// SHA-256 of its PKIX encoding. Operators compare it across a rotation.
func keyFingerprint(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}
