package vc

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// maxKeyDocument bounds the verification method document (MOSIP's is
// under 1 KiB).
const maxKeyDocument = 64 << 10

// minKeyBits refuses keys too small to be trusted.
const minKeyBits = 2048

// keyCache fetches verification method documents and keeps their keys for
// ttl. A URL is fetched at most once per minRefetch, whether the last
// attempt failed or a caller asks for a fresh key: forged credentials naming
// an allow-listed URL cannot make the mediator hammer it.
type keyCache struct {
	client     *http.Client
	now        func() time.Time
	ttl        time.Duration
	minRefetch time.Duration

	mu      sync.Mutex
	entries map[string]*keyEntry
}

type keyEntry struct {
	sem       chan struct{} // held while fetching: one fetch per URL at a time
	key       *rsa.PublicKey
	fetchedAt time.Time // when key was fetched
	triedAt   time.Time // the last attempt, successful or not
	err       error     // the last attempt's error
}

func (c *keyCache) entry(u string) *keyEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[u]
	if e == nil {
		e = &keyEntry{sem: make(chan struct{}, 1)}
		c.entries[u] = e
	}
	return e
}

// get returns the key of verification method u. With fresh set, a key
// fetched more than minRefetch ago is fetched again (the issuer may have
// rotated it); changed reports whether the key returned differs from the
// one the cache held.
func (c *keyCache) get(ctx context.Context, u string, fresh bool) (key *rsa.PublicKey, changed bool, err error) {
	e := c.entry(u)
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, &Error{Kind: ErrKeyUnavailable, Detail: "waiting for the key fetch", URL: u, Err: ctx.Err()}
	}
	defer func() { <-e.sem }()

	now := c.now()
	if e.key != nil && now.Sub(e.fetchedAt) < c.ttl && !fresh {
		return e.key, false, nil
	}
	if !e.triedAt.IsZero() && now.Sub(e.triedAt) < c.minRefetch {
		switch {
		case fresh && e.key != nil:
			return e.key, false, nil // no newer key yet
		case e.err != nil:
			return nil, false, e.err
		case e.key != nil:
			return e.key, false, nil
		}
	}
	e.triedAt = now
	k, err := c.fetch(ctx, u)
	if err != nil {
		e.err = err
		if fresh && e.key != nil && now.Sub(e.fetchedAt) < c.ttl {
			return e.key, false, nil // keep the key we have
		}
		e.key = nil
		return nil, false, err
	}
	changed = e.key != nil && !e.key.Equal(k)
	e.key, e.fetchedAt, e.err = k, now, nil
	return k, changed, nil
}

// fetch reads the verification method document at u: a JSON object with
// publicKeyPem (MOSIP's /.well-known/public-key.json, type
// RsaVerificationKey2018).
func (c *keyCache) fetch(ctx context.Context, u string) (*rsa.PublicKey, error) {
	fail := func(detail string, err error) error {
		return &Error{Kind: ErrKeyUnavailable, Detail: detail, URL: u, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fail("bad key URL "+u, err)
	}
	req.Header.Set("Accept", "application/ld+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fail("GET "+u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocument+1))
	if err != nil {
		return nil, fail("read "+u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fail(fmt.Sprintf("GET %s: status %d", u, resp.StatusCode), nil)
	}
	if len(body) > maxKeyDocument {
		return nil, fail(fmt.Sprintf("%s is larger than %d bytes", u, maxKeyDocument), nil)
	}
	var doc struct {
		PublicKeyPem string `json:"publicKeyPem"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fail(u+" is not a JSON key document", err)
	}
	key, err := parseRSAPublicKey(doc.PublicKeyPem)
	if err != nil {
		return nil, fail(u+": publicKeyPem", err)
	}
	return key, nil
}

// parseRSAPublicKey reads a PEM public key (PKIX "PUBLIC KEY", PKCS #1 "RSA
// PUBLIC KEY" or a "CERTIFICATE").
func parseRSAPublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, fmt.Errorf("not PEM")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	key, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T is not an RSA key", pub)
	}
	if key.N.BitLen() < minKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits, fewer than %d", key.N.BitLen(), minKeyBits)
	}
	return key, nil
}
