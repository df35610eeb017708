package mosip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// authHandler answers the n-th (from 1) authentication request.
type authHandler func(w http.ResponseWriter, r *http.Request, n int32)

func newAuth(t *testing.T, clock *testClock, h authHandler) (*AuthClient, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does the server notice a client
		// that hangs up, and cancel r.Context().
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r, n.Add(1))
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	a := NewAuthClient(AuthConfig{
		URL: srv.URL + authPath, ClientID: "mosip-crvs1-client", SecretKey: "s3cret-key", AppID: "regproc",
		HTTPClient: srv.Client(), Now: clock.Now,
	})
	return a, &n
}

func setToken(w http.ResponseWriter, cookie string) {
	w.Header().Add("Set-Cookie", cookie)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, authOK)
}

func TestAuthRequestWireFormat(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	type req struct {
		method, path, contentType string
		body                      []byte
	}
	got := make(chan req, 1)
	a, _ := newAuth(t, clock, func(w http.ResponseWriter, r *http.Request, n int32) {
		body, _ := io.ReadAll(r.Body)
		got <- req{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body}
		setToken(w, "Authorization=opaque-token; Max-Age=1800; Path=/; Secure; HttpOnly")
	})
	token, err := a.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if token != "opaque-token" {
		t.Errorf("token = %q, want opaque-token", token)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != authPath {
		t.Errorf("request = %s %s, want POST %s", r.method, r.path, authPath)
	}
	if r.contentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", r.contentType)
	}
	want := map[string]any{
		"id":          "string",
		"version":     "string",
		"requesttime": "2025-03-01T10:00:00.000Z",
		"metadata":    map[string]any{},
		"request": map[string]any{
			"clientId":  "mosip-crvs1-client",
			"secretKey": "s3cret-key",
			"appId":     "regproc",
		},
	}
	if diff := cmp.Diff(want, decodeJSON(t, r.body)); diff != "" {
		t.Errorf("auth request body (-want +got):\n%s", diff)
	}
}

func TestTokenFromHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	unix := now.Unix()
	jwt1h := makeJWT(t, map[string]any{"iat": unix - 10, "exp": unix - 10 + 3600, "sub": "svc"})
	// A clock 2 hours behind MOSIP's: exp-iat still gives the hour.
	jwtSkewed := makeJWT(t, map[string]any{"iat": unix + 7200, "exp": unix + 7200 + 3600})
	jwtExpOnly := makeJWT(t, map[string]any{"exp": unix + 600})
	jwtExpired := makeJWT(t, map[string]any{"exp": unix - 600})
	jwtHuge := makeJWT(t, map[string]any{"iat": unix, "exp": 1e300})
	jwtFloat := makeJWT(t, map[string]any{"iat": float64(unix), "exp": float64(unix) + 120.5})
	jwtNoExp := makeJWT(t, map[string]any{"iat": unix})
	parts := strings.Split(jwt1h, ".")
	jwtPadded := parts[0] + "." + parts[1] + strings.Repeat("=", (4-len(parts[1])%4)%4) + "." + parts[2]

	tests := []struct {
		name       string
		setCookies []string
		wantToken  string
		want       time.Duration
		wantErr    error
	}{
		{"jwt iat and exp", []string{"Authorization=" + jwt1h + "; Max-Age=60; Path=/; Secure; HttpOnly"}, jwt1h, time.Hour, nil},
		{"jwt with skewed clock", []string{"Authorization=" + jwtSkewed}, jwtSkewed, time.Hour, nil},
		{"jwt exp only", []string{"Authorization=" + jwtExpOnly}, jwtExpOnly, 10 * time.Minute, nil},
		{"jwt already expired", []string{"Authorization=" + jwtExpired + "; Max-Age=3600"}, jwtExpired, 0, nil},
		{"jwt absurd exp is capped", []string{"Authorization=" + jwtHuge}, jwtHuge, maxTokenLifetime, nil},
		{"jwt float claims", []string{"Authorization=" + jwtFloat}, jwtFloat, 120500 * time.Millisecond, nil},
		{"jwt padded payload", []string{"Authorization=" + jwtPadded}, jwtPadded, time.Hour, nil},
		{"jwt without exp uses Max-Age", []string{"Authorization=" + jwtNoExp + "; Max-Age=900"}, jwtNoExp, 15 * time.Minute, nil},
		{"opaque with Max-Age", []string{"Authorization=abc123; Max-Age=600; Path=/"}, "abc123", 10 * time.Minute, nil},
		{"opaque with Expires", []string{"Authorization=abc123; Expires=" + now.Add(20*time.Minute).Format(http.TimeFormat)}, "abc123", 20 * time.Minute, nil},
		{"opaque without attributes", []string{"Authorization=abc123"}, "abc123", defaultTokenLifetime, nil},
		{"Max-Age=0", []string{"Authorization=abc123; Max-Age=0"}, "abc123", 0, nil},
		{"three dots but not a JWT", []string{"Authorization=a.b.c; Max-Age=120"}, "a.b.c", 2 * time.Minute, nil},
		{"quoted value", []string{`Authorization="abc123"; Path=/`}, "abc123", defaultTokenLifetime, nil},
		{"other cookies first", []string{"JSESSIONID=xyz; Path=/", "Authorization=abc123; Max-Age=60"}, "abc123", time.Minute, nil},
		{"name in other case", []string{"authorization=abc123"}, "abc123", defaultTokenLifetime, nil},
		{"no cookie", nil, "", 0, ErrNoToken},
		{"other cookie only", []string{"JSESSIONID=xyz"}, "", 0, ErrNoToken},
		{"empty value", []string{"Authorization=; Path=/"}, "", 0, ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Set-Cookie": tt.setCookies}
			token, d, err := tokenFromHeader(h, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if token != tt.wantToken {
				t.Errorf("token = %q, want %q", token, tt.wantToken)
			}
			if d != tt.want {
				t.Errorf("lifetime = %v, want %v", d, tt.want)
			}
		})
	}
}

func TestTokenCachedUntilRenewal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cookie  func(t *testing.T, now time.Time, n int32) string
		renewAt time.Duration // after the fetch
	}{
		{
			name: "jwt of 300 s renews 30 s early",
			cookie: func(t *testing.T, now time.Time, n int32) string {
				return "Authorization=" + makeJWT(t, map[string]any{"iat": now.Unix(), "exp": now.Unix() + 300, "jti": n})
			},
			renewAt: 270 * time.Second,
		},
		{
			name: "Max-Age of 60 s renews 6 s early",
			cookie: func(t *testing.T, now time.Time, n int32) string {
				return fmt.Sprintf("Authorization=opaque-%d; Max-Age=60; Path=/", n)
			},
			renewAt: 54 * time.Second,
		},
		{
			name: "no lifetime: 5 minutes",
			cookie: func(t *testing.T, now time.Time, n int32) string {
				return fmt.Sprintf("Authorization=opaque-%d", n)
			},
			renewAt: 270 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			a, fetches := newAuth(t, clock, func(w http.ResponseWriter, r *http.Request, n int32) {
				setToken(w, tt.cookie(t, clock.Now(), n))
			})
			ctx := t.Context()
			first, err := a.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.renewAt - time.Millisecond)
			again, err := a.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if again != first || fetches.Load() != 1 {
				t.Fatalf("just before renewal: token %q after %d fetches, want the cached %q after 1", again, fetches.Load(), first)
			}
			clock.Advance(time.Millisecond)
			renewed, err := a.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if renewed == first || fetches.Load() != 2 {
				t.Errorf("at renewal: token %q after %d fetches, want a new token after 2", renewed, fetches.Load())
			}
		})
	}
}

func TestTokenOneFetchForConcurrentCallers(t *testing.T) {
	t.Parallel()
	const callers = 50
	release := make(chan struct{})
	a, fetches := newAuth(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, n int32) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		setToken(w, fmt.Sprintf("Authorization=shared-%d; Max-Age=600", n))
	})
	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { tokens[i], errs[i] = a.Token(t.Context()) })
	}
	waitFor(t, "all callers to wait for the fetch", func() bool { return a.waiting() == callers })
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != "shared-1" {
			t.Errorf("caller %d: token %q, err %v; want shared-1", i, tokens[i], errs[i])
		}
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

func TestTokenCallerLeavesFetchContinues(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	a, fetches := newAuth(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, n int32) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		setToken(w, "Authorization=kept; Max-Age=600")
	})
	// The caller that started the fetch gives up; the one still waiting
	// gets the token.
	ctxA, cancelA := context.WithCancel(t.Context())
	errA := make(chan error, 1)
	go func() { _, err := a.Token(ctxA); errA <- err }()
	waitFor(t, "the first caller to wait", func() bool { return a.waiting() == 1 })
	type result struct {
		token string
		err   error
	}
	resB := make(chan result, 1)
	go func() { tok, err := a.Token(t.Context()); resB <- result{tok, err} }()
	waitFor(t, "the second caller to wait", func() bool { return a.waiting() == 2 })
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: err = %v, want context.Canceled", err)
	}
	close(release)
	if r := <-resB; r.err != nil || r.token != "kept" {
		t.Errorf("waiting caller: token %q, err %v; want kept", r.token, r.err)
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
}

func TestTokenAbandonedWhenNobodyWaits(t *testing.T) {
	t.Parallel()
	arrived, aborted := make(chan struct{}, 1), make(chan struct{}, 1)
	var block atomic.Bool
	block.Store(true)
	a, fetches := newAuth(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, n int32) {
		if block.Load() {
			arrived <- struct{}{}
			<-r.Context().Done()
			aborted <- struct{}{}
			return
		}
		setToken(w, fmt.Sprintf("Authorization=fresh-%d; Max-Age=600", n))
	})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := a.Token(ctx); errc <- err }()
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !IsTransient(err) {
		t.Errorf("err = %v, want a transient context.Canceled", err)
	}
	select {
	case <-aborted:
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned fetch was not cancelled")
	}
	block.Store(false)
	token, err := a.Token(t.Context())
	if err != nil || token != "fresh-2" {
		t.Errorf("next Token = %q, %v; want fresh-2 from a new fetch", token, err)
	}
	if got := fetches.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

func TestTokenFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		wantStatus int
		wantCodes  []string
		wantErr    error
	}{
		{
			name: "500 echoing the secret",
			respond: func(w http.ResponseWriter) {
				reply(w, 500, `<html>internal error for secretKey=s3cret-key</html>`)
			},
			wantStatus: 500,
		},
		{
			name: "401 with MOSIP errors",
			respond: func(w http.ResponseWriter) {
				reply(w, 401, `{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed"}]}`)
			},
			wantStatus: 401, wantCodes: []string{"KER-ATH-401"},
		},
		{
			name: "200 with errors and a cookie",
			respond: func(w http.ResponseWriter) {
				w.Header().Add("Set-Cookie", "Authorization=should-not-be-used")
				reply(w, 200, `{"response":null,"errors":[{"errorCode":"KER-ATH-006","message":"Invalid client credentials"}]}`)
			},
			wantStatus: 200, wantCodes: []string{"KER-ATH-006"},
		},
		{
			name:       "200 without cookie",
			respond:    func(w http.ResponseWriter) { reply(w, 200, authOK) },
			wantStatus: 200, wantErr: ErrNoToken,
		},
		{
			name: "body too large",
			respond: func(w http.ResponseWriter) {
				w.Header().Add("Set-Cookie", "Authorization=abc")
				reply(w, 200, strings.Repeat(" ", MaxResponseBytes+1))
			},
			wantStatus: 200, wantErr: ErrBodyTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, fetches := newAuth(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, n int32) {
				if n == 1 {
					tt.respond(w)
					return
				}
				setToken(w, "Authorization=second; Max-Age=600")
			})
			_, err := a.Token(t.Context())
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Op != OpAuthenticate || ae.StatusCode != tt.wantStatus {
				t.Errorf("Op, StatusCode = %q, %d; want %q, %d", ae.Op, ae.StatusCode, OpAuthenticate, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantCodes, ae.Codes(), cmpEmpty()); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret-key") {
				t.Errorf("error shows the secret: %v", err)
			}
			if !IsTransient(err) {
				t.Errorf("IsTransient(%v) = false, want true: auth failures are the system's", err)
			}
			// Failures are not cached.
			token, err := a.Token(t.Context())
			if err != nil || token != "second" || fetches.Load() != 2 {
				t.Errorf("after a failure: token %q, err %v, %d fetches; want second after 2", token, err, fetches.Load())
			}
		})
	}
}

func TestTokenNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	a := NewAuthClient(AuthConfig{URL: url + authPath, ClientID: "c", SecretKey: "s"})
	_, err := a.Token(t.Context())
	if !errors.Is(err, ErrNoResponse) || !IsTransient(err) {
		t.Errorf("err = %v, want a transient ErrNoResponse", err)
	}
}

func TestInvalidate(t *testing.T) {
	t.Parallel()
	a, fetches := newAuth(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, n int32) {
		setToken(w, fmt.Sprintf("Authorization=tok-%d; Max-Age=600", n))
	})
	ctx := t.Context()
	mustToken := func(want string) {
		t.Helper()
		got, err := a.Token(ctx)
		if err != nil || got != want {
			t.Fatalf("Token = %q, %v; want %q", got, err, want)
		}
	}
	mustToken("tok-1")
	a.Invalidate("tok-1")
	mustToken("tok-2")
	// A stale token (another caller already renewed) changes nothing.
	a.Invalidate("tok-1")
	a.Invalidate("")
	mustToken("tok-2")
	if got := fetches.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

// cmpEmpty treats nil and empty string slices alike.
func cmpEmpty() cmp.Option {
	return cmp.Transformer("empty", func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	})
}

func FuzzTokenFromHeader(f *testing.F) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	f.Add("Authorization="+makeJWT(f, map[string]any{"iat": now.Unix(), "exp": now.Unix() + 300})+"; Max-Age=300; Path=/; Secure; HttpOnly", now.Unix())
	f.Add("Authorization=abc; Expires=Sat, 01 Mar 2025 10:20:00 GMT", now.Unix())
	f.Add("Authorization=\"a.b.c\"; Max-Age=-1", int64(0))
	f.Add("authorization=x.eyJleHAiOjF9.y", int64(-1<<62))
	f.Add("JSESSIONID=1, Authorization=2", int64(1<<62))
	f.Fuzz(func(t *testing.T, setCookie string, nowUnix int64) {
		at := time.Unix(nowUnix%(1<<40), 0)
		token, d, err := tokenFromHeader(http.Header{"Set-Cookie": {setCookie}}, at)
		if err != nil {
			if !errors.Is(err, ErrNoToken) || token != "" {
				t.Fatalf("err = %v with token %q", err, token)
			}
			return
		}
		if token == "" {
			t.Fatal("no error and no token")
		}
		if d < 0 || d > maxTokenLifetime {
			t.Fatalf("lifetime %v outside [0, %v]", d, maxTokenLifetime)
		}
		if m := renewMargin(d); m < 0 || m > d || m > maxRenewMargin {
			t.Fatalf("margin %v for lifetime %v", m, d)
		}
	})
}

func FuzzJWTLifetime(f *testing.F) {
	f.Add([]byte(`{"iat":1740823200,"exp":1740823500}`), int64(1740823200))
	f.Add([]byte(`{"exp":1e308}`), int64(0))
	f.Add([]byte(`{"exp":-1e308,"iat":1e308}`), int64(0))
	f.Add([]byte(`{"exp":"soon"}`), int64(0))
	f.Add([]byte(`null`), int64(0))
	f.Fuzz(func(t *testing.T, payload []byte, nowUnix int64) {
		at := time.Unix(nowUnix%(1<<40), 0)
		token := "eyJhbGciOiJub25lIn0." + strings.TrimRight(b64url(payload), "=") + ".sig"
		if d, ok := jwtLifetime(token, at); ok && (d < 0 || d > maxTokenLifetime) {
			t.Fatalf("lifetime %v outside [0, %v]", d, maxTokenLifetime)
		}
		// Arbitrary text as a token must not panic either.
		if d, ok := jwtLifetime(string(payload), at); ok && (d < 0 || d > maxTokenLifetime) {
			t.Fatalf("lifetime %v outside [0, %v]", d, maxTokenLifetime)
		}
	})
}
