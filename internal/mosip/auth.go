package mosip

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The auth manager's token arrives in this cookie and goes back in it.
const authCookie = "Authorization"

// Token lifetime rules.
const (
	// defaultTokenLifetime applies when neither the token nor the cookie
	// says how long the token lives.
	defaultTokenLifetime = 5 * time.Minute
	// maxTokenLifetime caps what a token may claim, so that a wrong clock or
	// a wrong claim cannot pin one token for days (a 401 renews it anyway).
	maxTokenLifetime = 24 * time.Hour
	// maxRenewMargin is how early a token is renewed at most; short-lived
	// tokens are renewed a tenth of their lifetime early.
	maxRenewMargin = 30 * time.Second
	// defaultHTTPTimeout is the timeout of the HTTP client made when none is
	// given.
	defaultHTTPTimeout = 30 * time.Second
)

// AuthConfig configures an AuthClient.
type AuthConfig struct {
	// URL is the full URL of .../v1/authmanager/authenticate/clientidsecretkey.
	URL                        string
	ClientID, SecretKey, AppID string
	HTTPClient                 *http.Client     // nil: a client with a 30 s timeout
	Logger                     *slog.Logger     // nil: discard
	Now                        func() time.Time // nil: time.Now
}

// AuthClient gets and caches auth manager tokens for one client id. It is
// safe for concurrent use: callers share the cached token and, while a new
// one is being fetched, that one fetch.
type AuthClient struct {
	url, clientID, secretKey, appID string
	http                            *http.Client
	log                             *slog.Logger
	now                             func() time.Time

	mu       sync.Mutex
	token    string    // "" when none is cached
	renewAt  time.Time // when the cached token stops being handed out
	inflight *tokenFetch
}

// tokenFetch is one request to the auth manager that callers wait for.
// token and err are written once, before done is closed; waiters and
// cancel are guarded by AuthClient.mu.
type tokenFetch struct {
	done    chan struct{}
	token   string
	err     error
	waiters int
	cancel  context.CancelFunc
}

// NewAuthClient returns a client that authenticates as cfg.ClientID.
func NewAuthClient(cfg AuthConfig) *AuthClient {
	a := &AuthClient{
		url:       cfg.URL,
		clientID:  cfg.ClientID,
		secretKey: cfg.SecretKey,
		appID:     cfg.AppID,
		http:      cfg.HTTPClient,
		log:       cfg.Logger,
		now:       cfg.Now,
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Token returns a valid token, from the cache or from the auth manager.
// Concurrent callers share one fetch; a caller whose ctx ends stops waiting,
// and the fetch is abandoned when no caller waits any more. A failed fetch
// is not cached: the next call tries again. Errors are *APIError with Op
// OpAuthenticate, or ctx's error.
func (a *AuthClient) Token(ctx context.Context) (string, error) {
	a.mu.Lock()
	if a.token != "" && a.now().Before(a.renewAt) {
		token := a.token
		a.mu.Unlock()
		return token, nil
	}
	if err := ctx.Err(); err != nil {
		a.mu.Unlock()
		return "", fmt.Errorf("mosip: %s: %w", OpAuthenticate, err)
	}
	f := a.inflight
	if f == nil {
		// The fetch outlives the caller that started it (others may wait for
		// it) but not the last caller: see the ctx.Done case below.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &tokenFetch{done: make(chan struct{}), cancel: cancel}
		a.inflight = f
		go a.run(fctx, f)
	}
	f.waiters++
	a.mu.Unlock()

	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		a.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if a.inflight == f {
				a.inflight = nil
			}
		}
		a.mu.Unlock()
		return "", fmt.Errorf("mosip: %s: %w", OpAuthenticate, ctx.Err())
	}
}

// run performs f and publishes its result.
func (a *AuthClient) run(ctx context.Context, f *tokenFetch) {
	defer f.cancel()
	token, renewAt, err := a.fetch(ctx)
	a.mu.Lock()
	if a.inflight == f {
		a.inflight = nil
		if err == nil {
			a.token, a.renewAt = token, renewAt
		}
	}
	f.token, f.err = token, err
	close(f.done)
	a.mu.Unlock()
}

// Invalidate drops token from the cache after MOSIP refused it, so that the
// next Token fetches a new one. A token that is no longer the cached one is
// ignored: another caller has already renewed it.
func (a *AuthClient) Invalidate(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if token != "" && a.token == token {
		a.token, a.renewAt = "", time.Time{}
	}
}

// authEnvelope is the request body of clientidsecretkey, exactly as the
// OpenCRVS Node client sends it: the auth manager does not check id and
// version, and metadata is an empty object.
type authEnvelope struct {
	ID          string      `json:"id"`
	Version     string      `json:"version"`
	RequestTime string      `json:"requesttime"`
	Metadata    struct{}    `json:"metadata"`
	Request     AuthRequest `json:"request"`
}

// fetch asks the auth manager for a token and says until when to use it.
func (a *AuthClient) fetch(ctx context.Context) (string, time.Time, error) {
	start := a.now()
	body, err := json.Marshal(authEnvelope{
		ID:          "string",
		Version:     "string",
		RequestTime: FormatTime(start),
		Request:     AuthRequest{ClientID: a.clientID, SecretKey: a.secretKey, AppID: a.appID},
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mosip: %s: encode request: %w", OpAuthenticate, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mosip: %s: %w", OpAuthenticate, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return "", time.Time{}, newAPIError(OpAuthenticate, "", 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, err))
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body)
	if err != nil {
		return "", time.Time{}, newAPIError(OpAuthenticate, "", resp.StatusCode, nil, err)
	}
	// The body matters only for its errors; the Node client ignores it.
	errs := bodyErrors(raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || len(errs) > 0 {
		return "", time.Time{}, newAPIError(OpAuthenticate, "", resp.StatusCode, errs, nil)
	}
	token, lifetime, err := tokenFromHeader(resp.Header, start)
	if err != nil {
		return "", time.Time{}, newAPIError(OpAuthenticate, "", resp.StatusCode, nil, err)
	}
	if lifetime <= 0 {
		a.log.Warn("mosip token expires before it arrives; check the clocks of this host and MOSIP",
			"client_id", a.clientID)
	}
	renewAt := start.Add(lifetime - renewMargin(lifetime))
	a.log.Debug("mosip token fetched", "client_id", a.clientID, "lifetime", lifetime.String())
	return token, renewAt, nil
}

// renewMargin is how long before its end a token of that lifetime is
// renewed: a tenth of it, at most maxRenewMargin.
func renewMargin(lifetime time.Duration) time.Duration {
	return min(maxRenewMargin, max(lifetime, 0)/10)
}

// tokenFromHeader finds the token in the Set-Cookie headers of an auth
// manager answer received at about now, and how long it lives: the JWT's
// own claims first, then the cookie's Max-Age, then its Expires, then
// defaultTokenLifetime. The lifetime is within [0, maxTokenLifetime].
func tokenFromHeader(h http.Header, now time.Time) (string, time.Duration, error) {
	cookies := (&http.Response{Header: h}).Cookies()
	var c *http.Cookie
	for _, ck := range cookies {
		if ck.Name == authCookie {
			c = ck
			break
		}
	}
	if c == nil {
		for _, ck := range cookies {
			if strings.EqualFold(ck.Name, authCookie) {
				c = ck
				break
			}
		}
	}
	if c == nil || c.Value == "" {
		return "", 0, ErrNoToken
	}
	if d, ok := jwtLifetime(c.Value, now); ok {
		return c.Value, d, nil
	}
	switch {
	case c.MaxAge > 0:
		return c.Value, clampLifetime(float64(c.MaxAge)), nil
	case c.MaxAge < 0: // "Max-Age=0": already expired; use it once.
		return c.Value, 0, nil
	case !c.Expires.IsZero():
		return c.Value, clampLifetime(c.Expires.Sub(now).Seconds()), nil
	}
	return c.Value, defaultTokenLifetime, nil
}

// jwtLifetime reads how long a JWT lives from its payload, without
// verifying it: the lifetime only decides when to fetch a new token. With
// both iat and exp it is exp-iat, which does not depend on our clock
// agreeing with MOSIP's; with exp alone it is exp-now.
func jwtLifetime(token string, now time.Time) (time.Duration, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return 0, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
		Iat *float64 `json:"iat"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return 0, false
	}
	if claims.Iat != nil && *claims.Exp > *claims.Iat {
		return clampLifetime(*claims.Exp - *claims.Iat), true
	}
	return clampLifetime(*claims.Exp - float64(now.Unix())), true
}

// clampLifetime turns seconds into a lifetime within [0, maxTokenLifetime].
func clampLifetime(seconds float64) time.Duration {
	switch {
	case math.IsNaN(seconds) || seconds <= 0:
		return 0
	case seconds >= maxTokenLifetime.Seconds():
		return maxTokenLifetime
	}
	return time.Duration(seconds * float64(time.Second))
}

// readLimited reads a whole body of at most MaxResponseBytes.
func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoResponse, err)
	}
	if len(b) > MaxResponseBytes {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// bodyErrors returns the errors list of a MOSIP JSON body, nil for anything
// else.
func bodyErrors(body []byte) []ServiceError {
	var r struct {
		Errors []ServiceError `json:"errors"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nil
	}
	return r.Errors
}
