package opencrvs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"opencrvs-mosip/internal/telemetry"
)

// System token lifetimes.
const (
	// defaultSystemTokenLifetime applies when the answer says nothing of
	// the token's lifetime: OpenCRVS's CONFIG_SYSTEM_TOKEN_EXPIRY_SECONDS.
	defaultSystemTokenLifetime = 10 * time.Minute
	// maxSystemTokenLifetime caps what an answer may claim.
	maxSystemTokenLifetime = 24 * time.Hour
	// maxSystemRenewMargin is how early a token is renewed at most; short
	// lived ones a tenth of their lifetime early.
	maxSystemRenewMargin = 30 * time.Second
)

// SystemClientConfig configures a SystemClient.
type SystemClientConfig struct {
	// TokenURL is the auth service's token endpoint, e.g.
	// http://auth:4040/token.
	TokenURL               string
	ClientID, ClientSecret string
	HTTPClient             *http.Client     // nil: a client with a 30 s timeout
	Logger                 *slog.Logger     // nil: discard
	Now                    func() time.Time // nil: time.Now
}

// SystemClient gets and caches the token of an OpenCRVS system client
// (OAuth client credentials, `POST {auth}/token?client_id=..&
// client_secret=..&grant_type=client_credentials`): the mediator acting in
// its own name rather than with a record's token, as backfill does to add
// national IDs to records registered before it. It is safe for concurrent
// use; callers share the cached token and one fetch at a time. It never
// logs or returns the secret or the token in errors.
type SystemClient struct {
	tokenURL, clientID, secret string
	http                       *http.Client
	log                        *slog.Logger
	now                        func() time.Time

	// sem is held while a token is fetched, so that concurrent callers
	// wait for that one fetch (or their context).
	sem     chan struct{}
	token   string
	renewAt time.Time
}

// NewSystemClient returns a client for cfg's system client.
func NewSystemClient(cfg SystemClientConfig) *SystemClient {
	c := &SystemClient{
		tokenURL: cfg.TokenURL, clientID: cfg.ClientID, secret: cfg.ClientSecret,
		http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, sem: make(chan struct{}, 1),
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// TokenError is a failed request for a system token. It never holds the
// client secret (the request's query) or a token.
type TokenError struct {
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Code is the answer's OAuth error (invalid_client, invalid_request,
	// unsupported_grant_type), if any.
	Code string
	Err  error
}

func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("opencrvs: system client token")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *TokenError) Unwrap() error { return e.Err }

// transient: no answer, or the auth service failing (408, 429, 5xx); a
// refusal of the client (400, 401) needs an operator.
func (e *TokenError) transient() bool {
	s := e.StatusCode
	return s == 0 || s == 408 || s == 429 || s >= 500
}

// Token returns a valid system token, from the cache or from the auth
// service. Errors are *TokenError (IsTransient tells whether to retry) or
// ctx's error.
func (c *SystemClient) Token(ctx context.Context) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("opencrvs: system client token: %w", ctx.Err())
	}
	defer func() { <-c.sem }()
	if c.token != "" && c.now().Before(c.renewAt) {
		return c.token, nil
	}
	token, renewAt, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.renewAt = token, renewAt
	return token, nil
}

// Invalidate drops token from the cache after OpenCRVS refused it, so that
// the next Token fetches a new one (a token that is no longer the cached
// one is ignored).
func (c *SystemClient) Invalidate(token string) {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	if token != "" && c.token == token {
		c.token, c.renewAt = "", time.Time{}
	}
}

// tokenAnswer is the auth service's answer.
type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Error       string          `json:"error"`
}

func (c *SystemClient) fetch(ctx context.Context) (string, time.Time, error) {
	if c.tokenURL == "" || c.clientID == "" || c.secret == "" {
		return "", time.Time{}, &TokenError{StatusCode: http.StatusUnauthorized, Code: "not_configured",
			Err: errors.New("no OpenCRVS system client is configured (OPENCRVS_CLIENT_ID, OPENCRVS_CLIENT_SECRET)")}
	}
	u, err := url.Parse(c.tokenURL)
	if err != nil {
		return "", time.Time{}, &TokenError{StatusCode: http.StatusBadRequest, Err: errors.New("the token URL is not a URL")}
	}
	// OpenCRVS's auth service reads the client credentials from the query.
	q := u.Query()
	q.Set("client_id", c.clientID)
	q.Set("client_secret", c.secret)
	q.Set("grant_type", "client_credentials")
	u.RawQuery = q.Encode()
	start := c.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return "", time.Time{}, &TokenError{Err: errors.New("cannot build the request")}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error quotes the URL, and with it the secret: keep its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", time.Time{}, &TokenError{Err: fmt.Errorf("%w: %w", ErrNoResponse, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", time.Time{}, &TokenError{StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: read body: %w", ErrNoResponse, err)}
	}
	var ans tokenAnswer
	jsonErr := json.Unmarshal(raw, &ans)
	if resp.StatusCode/100 != 2 || ans.AccessToken == "" {
		e := &TokenError{StatusCode: resp.StatusCode, Code: telemetry.Printable(ans.Error, 60)}
		switch {
		case jsonErr != nil:
			e.Err = errors.New("the answer is not JSON")
		case resp.StatusCode/100 == 2:
			e.Err = errors.New("the answer has no access_token")
		}
		return "", time.Time{}, e
	}
	lifetime := tokenLifetime(ans, start)
	margin := min(lifetime/10, maxSystemRenewMargin)
	c.log.DebugContext(ctx, "opencrvs system token fetched", "lifetime", lifetime.String())
	return ans.AccessToken, start.Add(lifetime - margin), nil
}

// tokenLifetime is expires_in, else the token's exp claim, else OpenCRVS's
// default for system tokens; capped.
func tokenLifetime(ans tokenAnswer, now time.Time) time.Duration {
	var secs float64
	if len(ans.ExpiresIn) > 0 && json.Unmarshal(ans.ExpiresIn, &secs) == nil && secs > 0 {
		return min(time.Duration(secs*float64(time.Second)), maxSystemTokenLifetime)
	}
	if claims, err := decodeClaims(ans.AccessToken); err == nil && claims.Expiry > 0 {
		if d := time.Unix(claims.Expiry, 0).Sub(now); d > 0 {
			return min(d, maxSystemTokenLifetime)
		}
	}
	return defaultSystemTokenLifetime
}

// decodeClaims reads a JWT's claims without verifying anything (the
// mediator only wants to know how long its own token lives).
func decodeClaims(token string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
