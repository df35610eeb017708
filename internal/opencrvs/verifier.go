package opencrvs

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/bridge"
)

// Verifier defaults and bounds.
// TokenAudiences returns the audiences OpenCRVS auth puts in user tokens
// (packages/auth/src/constants.ts WEB_USER_JWT_AUDIENCES).
func TokenAudiences() []string {
	return []string{
		"opencrvs:auth-user",
		"opencrvs:user-mgnt-user",
		"opencrvs:hearth-user",
		"opencrvs:gateway-user",
		"opencrvs:notification-user",
		"opencrvs:workflow-user",
		"opencrvs:search-user",
		"opencrvs:metrics-user",
		"opencrvs:countryconfig-user",
		"opencrvs:webhooks-user",
		"opencrvs:config-user",
		"opencrvs:documents-user",
	}
}

const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat. Servers
	// that sync time are within a second of each other; 30 s absorbs a
	// container or VM whose clock drifts between syncs while keeping an
	// expired token dead within half a minute.
	DefaultLeeway = 30 * time.Second
	// DefaultRefreshInterval is the minimum time between key fetches after
	// the first, as in mosip-api.
	DefaultRefreshInterval = time.Minute
	// maxTokenBytes bounds the token text. OpenCRVS tokens are about 1 KiB;
	// the bound keeps hostile input from costing base64 and JSON work.
	maxTokenBytes = 16 << 10
	// keyFetchTimeout bounds one key download, whatever the callers' contexts.
	keyFetchTimeout = 10 * time.Second
	// failedFetchRetry is how long a failed first fetch is remembered:
	// without a key nothing verifies, so retry soon, but not on every request.
	failedFetchRetry = 5 * time.Second
	// defaultHTTPTimeout is the timeout of the HTTP client made when none is
	// given.
	defaultHTTPTimeout = 30 * time.Second
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// PublicKeyURL serves the auth service's RS256 public key as PEM text
	// (OPENCRVS_PUBLIC_KEY_URL, e.g. http://auth:4040/.well-known).
	PublicKeyURL string
	HTTPClient   *http.Client     // nil: a client with a 30 s timeout
	Logger       *slog.Logger     // nil: discard
	Now          func() time.Time // nil: time.Now
	// Issuer, when set, must equal the token's iss (OpenCRVS: "opencrvs:auth-service").
	Issuer string
	// Audience, when not empty, must share at least one value with the
	// token's aud.
	Audience []string
	// Leeway is the clock skew allowed on exp, nbf and iat: 0 means
	// DefaultLeeway, a negative value means none.
	Leeway time.Duration
	// RefreshInterval is the minimum time between key fetches: 0 means
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
}

// Verifier verifies the RS256 JWTs OpenCRVS issues. It fetches the public
// key on first use and again only when a signature does not match (the auth
// service rotated its key), at most once per RefreshInterval. Tokens that
// would be refused anyway (malformed, another algorithm, expired, wrong
// issuer or audience) are refused before the key is touched, so callers
// cannot make the Verifier fetch. It is safe for concurrent use; concurrent
// callers share one fetch.
type Verifier struct {
	url             string
	http            *http.Client
	log             *slog.Logger
	now             func() time.Time
	issuer          string
	audience        []string
	leeway          time.Duration
	refreshInterval time.Duration

	mu          sync.Mutex
	key         *rsa.PublicKey // nil until the first successful fetch
	lastAttempt time.Time      // start of the last fetch, successful or not
	lastErr     error          // error of the last fetch; nil after a success
	inflight    *keyFetch
}

// keyFetch is one key download that callers wait for. key and err are
// written once, before done is closed; waiters is guarded by Verifier.mu.
type keyFetch struct {
	done    chan struct{}
	key     *rsa.PublicKey
	err     error
	waiters int
	cancel  context.CancelFunc
}

// NewVerifier returns a Verifier. It does not fetch the key: the first
// Verify does.
func NewVerifier(cfg VerifierConfig) *Verifier {
	v := &Verifier{
		url:             cfg.PublicKeyURL,
		http:            cfg.HTTPClient,
		log:             cfg.Logger,
		now:             cfg.Now,
		issuer:          cfg.Issuer,
		audience:        slices.Clone(cfg.Audience),
		leeway:          cfg.Leeway,
		refreshInterval: cfg.RefreshInterval,
	}
	if v.http == nil {
		v.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.refreshInterval <= 0 {
		v.refreshInterval = DefaultRefreshInterval
	}
	return v
}

// Verify checks token (the JWT without "Bearer ") and returns its claims.
// A token that is refused gives a *bridge.Error with code EUnauthorized and
// a message that says why; when the public key cannot be fetched it is
// EUnavailable, since nothing can be verified (the caller should answer 503,
// not 401).
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	tok, unverified, err := v.parse(token)
	if err != nil {
		return nil, err
	}
	if err := v.checkClaims(unverified); err != nil {
		return nil, err
	}
	key, err := v.currentKey(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := v.verifyWith(tok, key)
	if !errors.Is(err, jose.ErrCryptoFailure) {
		return claims, err
	}
	// The signature does not match the key we hold: the auth service may
	// have rotated its key.
	fresh, err := v.refreshKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if fresh == nil {
		return nil, unauthorized("token signature does not match the OpenCRVS public key")
	}
	claims, err = v.verifyWith(tok, fresh)
	if errors.Is(err, jose.ErrCryptoFailure) {
		return nil, unauthorized("token signature does not match the OpenCRVS public key")
	}
	return claims, err
}

// parse checks the form and the algorithm of token and decodes its claims
// without verifying them.
func (v *Verifier) parse(token string) (*jwt.JSONWebToken, *Claims, error) {
	if token == "" {
		return nil, nil, unauthorized("missing token")
	}
	if len(token) > maxTokenBytes {
		return nil, nil, unauthorized(fmt.Sprintf("token is longer than %d bytes", maxTokenBytes))
	}
	alg, err := headerAlg(token)
	if err != nil {
		return nil, nil, &bridge.Error{Code: bridge.EUnauthorized, Message: "token is not a JWT", Err: err}
	}
	if alg != string(jose.RS256) {
		return nil, nil, unauthorized(fmt.Sprintf("token algorithm %q is not accepted: OpenCRVS tokens are signed RS256", alg))
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, nil, &bridge.Error{Code: bridge.EUnauthorized, Message: "token is not a well-formed signed JWT", Err: err}
	}
	var claims Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return nil, nil, &bridge.Error{Code: bridge.EUnauthorized, Message: "token claims are not valid JWT claims", Err: err}
	}
	return tok, &claims, nil
}

// headerAlg returns the alg of a compact JWS without trusting anything
// else in it, so that a refused algorithm gets a message naming it.
func headerAlg(token string) (string, error) {
	header, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", errors.New("want three dot-separated parts")
	}
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", fmt.Errorf("header is not base64url: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("header is not a JSON object: %w", err)
	}
	if h.Alg == "" {
		return "", errors.New("header has no alg")
	}
	return h.Alg, nil
}

// checkClaims applies the time, issuer and audience rules.
func (v *Verifier) checkClaims(c *Claims) error {
	now := v.now()
	if c.Expiry == 0 {
		return unauthorized("token has no expiry (exp claim)")
	}
	if exp := time.Unix(c.Expiry, 0); now.Add(-v.leeway).After(exp) {
		return unauthorized("token expired at " + exp.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != 0 {
		if nbf := time.Unix(c.NotBefore, 0); now.Add(v.leeway).Before(nbf) {
			return unauthorized("token is not valid before " + nbf.UTC().Format(time.RFC3339) + ": check the clocks")
		}
	}
	if c.IssuedAt != 0 {
		if iat := time.Unix(c.IssuedAt, 0); now.Add(v.leeway).Before(iat) {
			return unauthorized("token was issued in the future (" + iat.UTC().Format(time.RFC3339) + "): check the clocks")
		}
	}
	if v.issuer != "" && c.Issuer != v.issuer {
		return unauthorized(fmt.Sprintf("token issuer %q is not %q", c.Issuer, v.issuer))
	}
	if len(v.audience) > 0 && !slices.ContainsFunc(c.Audience, v.audienceAllowed) {
		return unauthorized(fmt.Sprintf("token audience %q includes none of %q", c.Audience, v.audience))
	}
	return nil
}

// verifyWith checks the signature under key and decodes the verified
// claims. A signature mismatch is returned as jose.ErrCryptoFailure.
func (v *Verifier) verifyWith(tok *jwt.JSONWebToken, key *rsa.PublicKey) (*Claims, error) {
	var claims Claims
	if err := tok.Claims(key, &claims); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, err
		}
		return nil, &bridge.Error{Code: bridge.EUnauthorized, Message: "token claims are not valid JWT claims", Err: err}
	}
	// The verified payload is the one checked before; checking again costs
	// little and keeps the rule local.
	if err := v.checkClaims(&claims); err != nil {
		return nil, err
	}
	return &claims, nil
}

// currentKey returns the cached key, fetching it if there is none yet.
func (v *Verifier) currentKey(ctx context.Context) (*rsa.PublicKey, error) {
	v.mu.Lock()
	if v.key != nil {
		key := v.key
		v.mu.Unlock()
		return key, nil
	}
	if v.inflight == nil && v.lastErr != nil && v.now().Sub(v.lastAttempt) < min(failedFetchRetry, v.refreshInterval) {
		err := v.lastErr
		v.mu.Unlock()
		return nil, unavailable(err)
	}
	f := v.startFetchLocked(ctx)
	v.mu.Unlock()
	key, err := v.wait(ctx, f)
	if err != nil {
		return nil, unavailable(err)
	}
	return key, nil
}

// refreshKey fetches the key again after stale failed to verify a
// signature. It returns nil, nil when the rate limit forbids a fetch, the
// new key when there is one, and an EUnavailable error when the fetch
// failed.
func (v *Verifier) refreshKey(ctx context.Context, stale *rsa.PublicKey) (*rsa.PublicKey, error) {
	v.mu.Lock()
	if v.key != nil && v.key != stale {
		// Another caller refreshed while we were verifying.
		key := v.key
		v.mu.Unlock()
		return key, nil
	}
	if v.inflight == nil && v.now().Sub(v.lastAttempt) < v.refreshInterval {
		v.mu.Unlock()
		return nil, nil
	}
	f := v.startFetchLocked(ctx)
	v.mu.Unlock()
	key, err := v.wait(ctx, f)
	if err != nil {
		return nil, &bridge.Error{Code: bridge.EUnavailable, Message: "the token signature does not match the cached OpenCRVS public key and the key could not be fetched again", Err: err}
	}
	return key, nil
}

// startFetchLocked joins the fetch in flight or starts one. v.mu is held.
func (v *Verifier) startFetchLocked(ctx context.Context) *keyFetch {
	f := v.inflight
	if f == nil {
		// The fetch outlives the caller that started it (others may wait for
		// it) but not the last waiter, and never keyFetchTimeout.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyFetchTimeout)
		f = &keyFetch{done: make(chan struct{}), cancel: cancel}
		v.inflight = f
		v.lastAttempt = v.now()
		go v.run(fctx, f)
	}
	f.waiters++
	return f
}

// wait waits for f or for ctx to end.
func (v *Verifier) wait(ctx context.Context, f *keyFetch) (*rsa.PublicKey, error) {
	select {
	case <-f.done:
		return f.key, f.err
	case <-ctx.Done():
		v.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody needs the fetch any more; a later caller starts afresh.
			f.cancel()
			if v.inflight == f {
				v.inflight = nil
			}
		}
		v.mu.Unlock()
		return nil, fmt.Errorf("wait for the public key: %w", context.Cause(ctx))
	}
}

// run performs f and publishes its result.
func (v *Verifier) run(ctx context.Context, f *keyFetch) {
	defer f.cancel()
	key, err := fetchPublicKey(ctx, v.http, v.url)
	if err != nil {
		err = fmt.Errorf("opencrvs: fetch public key from %s: %w", v.url, err)
	}
	abandoned := errors.Is(ctx.Err(), context.Canceled)
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case err != nil && abandoned:
		// Every waiter left: not a fact about the key service worth keeping.
	case err != nil:
		v.lastErr = err
		if v.key != nil {
			v.log.Warn("opencrvs public key refresh failed; keeping the cached key", "error", err)
		} else {
			v.log.Error("opencrvs public key fetch failed; tokens cannot be verified", "error", err)
		}
	default:
		changed := v.key == nil || !v.key.Equal(key)
		v.key, v.lastErr = key, nil
		v.log.Info("opencrvs public key fetched", "key_sha256", keyFingerprint(key), "key_bits", key.N.BitLen(), "changed", changed)
	}
	if v.inflight == f {
		v.inflight = nil
	}
	f.key, f.err = key, err
	close(f.done)
}

func unauthorized(msg string) *bridge.Error {
	return &bridge.Error{Code: bridge.EUnauthorized, Message: msg}
}

func unavailable(err error) *bridge.Error {
	return &bridge.Error{Code: bridge.EUnavailable, Message: "the OpenCRVS public key cannot be fetched, so no token can be verified", Err: err}
}

// audienceAllowed says whether a is one of the required audiences; a
// required audience ending in "*" allows every audience it prefixes
// ("opencrvs:*": any OpenCRVS service).
func (v *Verifier) audienceAllowed(a string) bool {
	for _, want := range v.audience {
		if a == want {
			return true
		}
		if prefix, ok := strings.CutSuffix(want, "*"); ok && strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}
