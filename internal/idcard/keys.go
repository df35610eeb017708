package idcard

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TrustedKey is one public key of a card issuer.
type TrustedKey struct {
	// KeyID is the key's "kid" in its JWKS ("" for a key from a PEM file:
	// such a key is tried for any signature that names no known key).
	KeyID string
	// Algorithm is the only signature algorithm the key may be used with
	// (the JWK "alg"), "" when the key does not say.
	Algorithm string
	Key       crypto.PublicKey
	// Thumbprint is the SHA-256 of the key's certificate (x5t#S256), nil
	// when the key came without one.
	Thumbprint []byte
	// NotBefore and NotAfter bound the certificate's validity (zero when
	// the key came without a certificate). A card signed outside them is
	// refused.
	NotBefore, NotAfter time.Time
	// Source names where the key came from (a file or URL), for logs.
	Source string
}

// Keys is the set of trusted issuer keys: keys read from files at start,
// and JWKS documents fetched from URLs, cached and fetched again when
// they are older than the refresh interval or a card names a key id the
// cache does not know (at most every minKeyRefetch, so garbage cannot make
// us hammer the issuer). Keys is safe for concurrent use.
type Keys struct {
	static  []TrustedKey
	remotes []*remoteKeys
	log     *slog.Logger
}

// minKeyRefetch bounds how often an unknown key id makes a JWKS URL be
// fetched again.
const minKeyRefetch = 30 * time.Second

// maxKeyDocument bounds a key document (file or URL).
const maxKeyDocument = 1 << 20

// KeysConfig configures LoadKeys.
type KeysConfig struct {
	// Sources are JWKS or PEM files and http(s) URLs of JWKS documents
	// (or PEM). Several sources, and several keys in each, allow key
	// rotation: a card verifies when any of them signed it.
	Sources    []string
	HTTPClient *http.Client  // nil: a client with a 10 s timeout
	Refresh    time.Duration // how long a fetched JWKS is used before it is fetched again; default 1h
	Logger     *slog.Logger
	Now        func() time.Time
}

// LoadKeys reads the key files now (an unreadable file or one without a
// usable key is an error: the mediator refuses to start rather than refuse
// every card) and prepares the URLs, which are fetched when first needed.
func LoadKeys(cfg KeysConfig) (*Keys, error) {
	if len(cfg.Sources) == 0 {
		return nil, errors.New("idcard: no trusted issuer key source is configured")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	k := &Keys{log: cfg.Logger}
	for _, src := range cfg.Sources {
		src = strings.TrimSpace(src)
		if src == "" {
			continue
		}
		if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
			u, err := url.Parse(src)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("idcard: trusted issuer key URL %q is not a valid URL", src)
			}
			k.remotes = append(k.remotes, &remoteKeys{url: src, client: cfg.HTTPClient, refresh: cfg.Refresh, now: cfg.Now, log: cfg.Logger})
			continue
		}
		data, err := readLimited(src)
		if err != nil {
			return nil, fmt.Errorf("idcard: read trusted issuer keys: %w", err)
		}
		keys, err := parseKeys(data, src)
		if err != nil {
			return nil, fmt.Errorf("idcard: trusted issuer keys in %s: %w", src, err)
		}
		k.static = append(k.static, keys...)
	}
	if len(k.static) == 0 && len(k.remotes) == 0 {
		return nil, errors.New("idcard: no trusted issuer key source is configured")
	}
	return k, nil
}

// NewKeys returns a fixed key set (tests, and callers that hold keys
// already).
func NewKeys(keys ...TrustedKey) *Keys {
	return &Keys{static: keys, log: slog.New(slog.DiscardHandler)}
}

// ErrKeysUnavailable wraps a failure to fetch issuer keys when no cached
// copy exists: the card cannot be judged now, which is not the card's
// fault.
var ErrKeysUnavailable = errors.New("idcard: trusted issuer keys are unavailable")

// lookup returns the trusted keys, fetching the JWKS URLs whose copy is
// missing or old; with refetch set (a key id no key carries), a JWKS
// fetched more than minKeyRefetch ago is fetched again. It fails only when
// a URL has never been fetched successfully and cannot be now, and no
// other source has keys.
func (k *Keys) lookup(ctx context.Context, refetch bool) ([]TrustedKey, error) {
	out := append([]TrustedKey(nil), k.static...)
	var errs []error
	for _, r := range k.remotes {
		keys, err := r.get(ctx, refetch)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, keys...)
	}
	if len(errs) > 0 && len(out) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, errors.Join(errs...))
	}
	return out, nil
}

// remoteKeys is a JWKS URL and its cached keys.
type remoteKeys struct {
	url     string
	client  *http.Client
	refresh time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	keys    []TrustedKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
}

func (r *remoteKeys) get(ctx context.Context, refetch bool) ([]TrustedKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	stale := r.fetched.IsZero() || now.Sub(r.fetched) >= r.refresh || (refetch && now.Sub(r.tried) >= minKeyRefetch)
	// After a failed attempt, wait minKeyRefetch before the next unless
	// nothing was ever fetched.
	if stale && (r.fetched.IsZero() || now.Sub(r.tried) >= minKeyRefetch) {
		r.tried = now
		keys, err := r.fetch(ctx)
		switch {
		case err == nil:
			r.keys, r.fetched = keys, now
		case r.fetched.IsZero():
			return nil, err
		default:
			// Keep using the keys we have: an issuer outage must not stop
			// verification; they are replaced by the next good fetch.
			r.log.Warn("trusted issuer keys could not be refreshed; using the cached copy", "url", r.url, "fetched_at", r.fetched, "err", err)
		}
	}
	if r.fetched.IsZero() {
		return nil, fmt.Errorf("idcard: keys from %s were never fetched (retrying in at most %s)", r.url, minKeyRefetch)
	}
	return r.keys, nil
}

func (r *remoteKeys) fetch(ctx context.Context) ([]TrustedKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("idcard: fetch keys %s: %w", r.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json, application/x-pem-file")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("idcard: fetch keys %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocument+1))
	if err != nil {
		return nil, fmt.Errorf("idcard: fetch keys %s: %w", r.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("idcard: fetch keys %s: HTTP %d", r.url, resp.StatusCode)
	}
	if len(data) > maxKeyDocument {
		return nil, fmt.Errorf("idcard: fetch keys %s: the document is larger than %d bytes", r.url, maxKeyDocument)
	}
	keys, err := parseKeys(data, r.url)
	if err != nil {
		return nil, fmt.Errorf("idcard: keys from %s: %w", r.url, err)
	}
	return keys, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyDocument {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxKeyDocument)
	}
	return data, nil
}

// parseKeys reads a JWKS ({"keys": [...]}), a single JWK, or PEM blocks
// (CERTIFICATE, PUBLIC KEY, RSA PUBLIC KEY). Private keys and keys too
// weak to trust are refused.
func parseKeys(data []byte, source string) ([]TrustedKey, error) {
	trimmed := bytes.TrimSpace(data)
	var keys []TrustedKey
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		var set jose.JSONWebKeySet
		if bytes.Contains(trimmed, []byte(`"keys"`)) {
			if err := json.Unmarshal(trimmed, &set); err != nil {
				return nil, fmt.Errorf("not a JWKS: %w", err)
			}
		} else {
			var one jose.JSONWebKey
			if err := json.Unmarshal(trimmed, &one); err != nil {
				return nil, fmt.Errorf("not a JWK: %w", err)
			}
			set.Keys = []jose.JSONWebKey{one}
		}
		for i, jwk := range set.Keys {
			if jwk.Use != "" && jwk.Use != "sig" {
				continue // an encryption key is no signer
			}
			if !jwk.IsPublic() {
				return nil, fmt.Errorf("key %d (%q) is a private key: give the public key only", i, jwk.KeyID)
			}
			tk := TrustedKey{KeyID: jwk.KeyID, Algorithm: jwk.Algorithm, Key: jwk.Key, Source: source}
			if len(jwk.Certificates) > 0 {
				c := jwk.Certificates[0]
				sum := sha256.Sum256(c.Raw)
				tk.Thumbprint, tk.NotBefore, tk.NotAfter = sum[:], c.NotBefore, c.NotAfter
			} else if len(jwk.CertificateThumbprintSHA256) > 0 {
				tk.Thumbprint = jwk.CertificateThumbprintSHA256
			}
			keys = append(keys, tk)
		}
	case bytes.Contains(trimmed, []byte("-----BEGIN")):
		rest := trimmed
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			tk := TrustedKey{Source: source}
			switch block.Type {
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("certificate: %w", err)
				}
				sum := sha256.Sum256(c.Raw)
				tk.Key, tk.Thumbprint, tk.NotBefore, tk.NotAfter = c.PublicKey, sum[:], c.NotBefore, c.NotAfter
			case "PUBLIC KEY":
				k, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("public key: %w", err)
				}
				tk.Key = k
			case "RSA PUBLIC KEY":
				k, err := x509.ParsePKCS1PublicKey(block.Bytes)
				if err != nil {
					return nil, fmt.Errorf("RSA public key: %w", err)
				}
				tk.Key = k
			default:
				if strings.Contains(block.Type, "PRIVATE") {
					return nil, fmt.Errorf("a %s block: give the public key or certificate only", block.Type)
				}
				continue
			}
			keys = append(keys, tk)
		}
	default:
		return nil, errors.New("neither a JWKS/JWK (JSON) nor PEM")
	}
	if len(keys) == 0 {
		return nil, errors.New("no signing key found")
	}
	for _, k := range keys {
		if err := checkKeyStrength(k.Key); err != nil {
			return nil, fmt.Errorf("key %q: %w", k.KeyID, err)
		}
	}
	return keys, nil
}

func checkKeyStrength(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits: at least 2048 are required", k.N.BitLen())
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported key type %T (want RSA, EC or Ed25519)", k)
	}
	return nil
}
