package websub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testCallback = "http://mediator:2024/websub/callback"
	testSecret   = "websub-secret-123"
	testToken    = "eyJhbGciOiJSUzI1NiJ9.websub.token"
)

// hubRequest is what the fake hub saw of one request.
type hubRequest struct {
	Method, ContentType, Cookie, Authorization string
	Form                                       url.Values
}

// fakeHub plays MOSIP's hub: it records requests and answers with a fixed
// status and body.
type fakeHub struct {
	status int
	body   string

	mu       sync.Mutex
	requests []hubRequest
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		http.Error(w, "hub.mode=denied&hub.reason=bad+form", http.StatusBadRequest)
		return
	}
	req := hubRequest{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization"), Form: form}
	if c, err := r.Cookie("Authorization"); err == nil {
		req.Cookie = c.Value
	}
	h.mu.Lock()
	h.requests = append(h.requests, req)
	status, body := h.status, h.body
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (h *fakeHub) onlyRequest(t *testing.T) hubRequest {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.requests) != 1 {
		t.Fatalf("hub got %d requests, want 1", len(h.requests))
	}
	return h.requests[0]
}

func newAcceptingHub() *fakeHub {
	return &fakeHub{status: http.StatusAccepted, body: "hub.mode=accepted"}
}

func testConfig(hubURL string) SubscriberConfig {
	return SubscriberConfig{
		HubURL:      hubURL,
		Topic:       testTopic,
		CallbackURL: testCallback,
		Secret:      []byte(testSecret),
		Token:       func(context.Context) (string, error) { return testToken, nil },
		// Not http.DefaultTransport: httptest.Server.Close closes its idle
		// connections, which breaks parallel tests about to reuse them.
		HTTPClient: &http.Client{Transport: &http.Transport{}},
	}
}

func startHub(t *testing.T, h *fakeHub) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/hub"
}

func TestSubscribeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lease int
		want  url.Values
	}{
		{"hub chooses the lease", 0, url.Values{
			"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {testCallback}, "hub.secret": {testSecret},
		}},
		{"lease asked", 3600, url.Values{
			"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {testCallback}, "hub.secret": {testSecret},
			"hub.lease_seconds": {"3600"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := newAcceptingHub()
			cfg := testConfig(startHub(t, hub))
			cfg.LeaseSeconds = tt.lease
			s := NewSubscriber(cfg)
			if err := s.Subscribe(context.Background()); err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			want := hubRequest{
				Method: "POST", ContentType: "application/x-www-form-urlencoded",
				Cookie: testToken, Authorization: testToken, Form: tt.want,
			}
			if diff := cmp.Diff(want, hub.onlyRequest(t)); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
			if s.Status().Requested.IsZero() {
				t.Error("Status().Requested is zero after an accepted request")
			}
		})
	}
}

func TestUnsubscribeRequest(t *testing.T) {
	t.Parallel()
	hub := newAcceptingHub()
	s := NewSubscriber(testConfig(startHub(t, hub)))
	if err := s.Unsubscribe(context.Background()); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	want := hubRequest{
		Method: "POST", ContentType: "application/x-www-form-urlencoded", Cookie: testToken, Authorization: testToken,
		Form: url.Values{"hub.mode": {"unsubscribe"}, "hub.topic": {testTopic}, "hub.callback": {testCallback}},
	}
	if diff := cmp.Diff(want, hub.onlyRequest(t)); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

func TestSubscribeWithoutToken(t *testing.T) {
	t.Parallel()
	hub := newAcceptingHub()
	cfg := testConfig(startHub(t, hub))
	cfg.Token = nil
	if err := NewSubscriber(cfg).Subscribe(context.Background()); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if got := hub.onlyRequest(t); got.Cookie != "" || got.Authorization != "" {
		t.Errorf("credentials sent without a Token func: cookie %q, authorization %q", got.Cookie, got.Authorization)
	}
}

func TestSubscribeRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   *HubError
	}{
		{
			name: "MOSIP authorization failure", status: 500,
			body: "hub.mode=denied&hub.reason=Subscriber+is+not+authorized",
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 500, Reason: "Subscriber is not authorized"},
		},
		{
			name: "denied in a 2xx answer", status: 202,
			body: "hub.mode=denied&hub.reason=Authorization+token+cannot+be+found",
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 202, Reason: "Authorization token cannot be found"},
		},
		{
			name: "denied without a reason", status: 200, body: "hub.mode=denied",
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 200, Reason: "denied without a reason"},
		},
		{
			name: "bad request", status: 400, body: "hub.mode=denied&hub.reason=Invalid+hub.topic",
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 400, Reason: "Invalid hub.topic"},
		},
		{
			name: "proxy page", status: 502, body: "<html>\nBad Gateway</html>",
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 502, Reason: "<html> Bad Gateway</html>"},
		},
		{
			name: "empty 401", status: 401,
			want: &HubError{Op: ModeSubscribe, Topic: testTopic, StatusCode: 401},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := &fakeHub{status: tt.status, body: tt.body}
			s := NewSubscriber(testConfig(startHub(t, hub)))
			err := s.Subscribe(context.Background())
			var he *HubError
			if !errors.As(err, &he) {
				t.Fatalf("error = %v (%T), want *HubError", err, err)
			}
			if diff := cmp.Diff(tt.want, he); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if tt.want.Reason != "" && !strings.Contains(err.Error(), tt.want.Reason) {
				t.Errorf("error text %q does not carry the reason", err)
			}
			if !s.Status().Requested.IsZero() {
				t.Error("Status().Requested set after a refusal")
			}
		})
	}
}

func TestSubscribeErrors(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tests := []struct {
		name    string
		change  func(*SubscriberConfig)
		wantErr string
	}{
		{"hub unreachable", func(c *SubscriberConfig) { c.HubURL = down.URL }, "websub: subscribe " + testTopic},
		{"token fails", func(c *SubscriberConfig) {
			c.Token = func(context.Context) (string, error) { return "", errors.New("auth manager down") }
		}, "get auth token: auth manager down"},
		{"no secret", func(c *SubscriberConfig) { c.Secret = nil }, "missing: secret"},
		{"nothing configured", func(c *SubscriberConfig) { *c = SubscriberConfig{} }, "missing: hub URL, topic, callback URL, secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := newAcceptingHub()
			cfg := testConfig(startHub(t, hub))
			tt.change(&cfg)
			err := NewSubscriber(cfg).Subscribe(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSubscribeDoesNotLogSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	hub := newAcceptingHub()
	cfg := testConfig(startHub(t, hub))
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := NewSubscriber(cfg)
	if err := s.Subscribe(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c"})
	if logs.Len() == 0 {
		t.Fatal("nothing logged; the test would prove nothing")
	}
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, logs.String())
		}
	}
}

func TestHandleIntent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		unsubscribing bool
		in            Intent
		wantChallenge string
		wantOK        bool
	}{
		{"subscribe, our topic", false, Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c1"}, "c1", true},
		{"subscribe, other topic", false, Intent{Mode: ModeSubscribe, Topic: "other/CREDENTIAL_ISSUED", Challenge: "c1"}, "", false},
		{"subscribe, topic differs in case", false, Intent{Mode: ModeSubscribe, Topic: strings.ToLower(testTopic), Challenge: "c1"}, "", false},
		{"subscribe, no challenge", false, Intent{Mode: ModeSubscribe, Topic: testTopic}, "", false},
		{"subscribe after Unsubscribe", true, Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c1"}, "", false},
		{"unsubscribe we did not ask for", false, Intent{Mode: ModeUnsubscribe, Topic: testTopic, Challenge: "c2"}, "", false},
		{"unsubscribe we asked for", true, Intent{Mode: ModeUnsubscribe, Topic: testTopic, Challenge: "c2"}, "c2", true},
		{"unsubscribe, other topic", true, Intent{Mode: ModeUnsubscribe, Topic: "other", Challenge: "c2"}, "", false},
		{"denied", false, Intent{Mode: ModeDenied, Topic: testTopic, Reason: "no"}, "", false},
		{"unknown mode", false, Intent{Mode: "publish", Topic: testTopic, Challenge: "c"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := newAcceptingHub()
			s := NewSubscriber(testConfig(startHub(t, hub)))
			if tt.unsubscribing {
				if err := s.Unsubscribe(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			challenge, ok := s.HandleIntent(context.Background(), tt.in)
			if challenge != tt.wantChallenge || ok != tt.wantOK {
				t.Errorf("HandleIntent = (%q, %v), want (%q, %v)", challenge, ok, tt.wantChallenge, tt.wantOK)
			}
		})
	}
}

// TestLeaseAndRenewal runs in a synctest bubble: its clock only moves when
// the test sleeps, so the times are exact.
func TestLeaseAndRenewal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hub := newAcceptingHub()
		cfg := testConfig("http://hub.test/hub")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{hub}}
		s := NewSubscriber(cfg)
		start := time.Now()

		if got := s.RenewAt(); !got.Equal(start) {
			t.Errorf("RenewAt before any request = %v, want now (%v)", got, start)
		}
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Requested, not yet verified: ask again if no verification comes.
		if got, want := s.RenewAt(), start.Add(unverifiedRetry); !got.Equal(want) {
			t.Errorf("RenewAt while unverified = %v, want %v", got, want)
		}

		time.Sleep(3 * time.Second)
		verifiedAt := time.Now()
		if _, ok := s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 86400}); !ok {
			t.Fatal("verification refused")
		}
		want := SubscriptionStatus{Requested: start, Verified: verifiedAt, LeaseEnds: verifiedAt.Add(24 * time.Hour)}
		if diff := cmp.Diff(want, s.Status()); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		// A day's lease renews at 80%: 19.2 h.
		if got, want := s.RenewAt(), verifiedAt.Add(24*time.Hour*8/10); !got.Equal(want) {
			t.Errorf("RenewAt = %v, want %v", got, want)
		}

		// The renewal fails (hub down): retry after a pause, not in a loop.
		time.Sleep(20 * time.Hour)
		hub.setAnswer(http.StatusServiceUnavailable, "")
		renewAttempt := time.Now()
		if err := s.Subscribe(context.Background()); err == nil {
			t.Fatal("Subscribe succeeded against a 503")
		}
		if got, want := s.RenewAt(), renewAttempt.Add(failedRetry); !got.Equal(want) {
			t.Errorf("RenewAt after a failed renewal = %v, want %v", got, want)
		}

		// The hub is back; MOSIP answers a renewal of a live subscription
		// with a denial "already registered": the subscription holds.
		time.Sleep(failedRetry)
		hub.setAnswer(http.StatusAccepted, "hub.mode=accepted")
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		deniedAt := time.Now()
		if _, ok := s.HandleIntent(context.Background(), Intent{Mode: ModeDenied, Topic: testTopic, Reason: "Subscriber has already registered with the Hub"}); ok {
			t.Error("denial returned ok")
		}
		st := s.Status()
		if !st.Verified.Equal(deniedAt) || !st.LeaseEnds.Equal(deniedAt.Add(DefaultLeaseSeconds*time.Second)) {
			t.Errorf("after 'already registered': status %+v, want verified at %v with the default lease", st, deniedAt)
		}
		if st.LastDenial != "Subscriber has already registered with the Hub" {
			t.Errorf("LastDenial = %q", st.LastDenial)
		}
	})
}

func TestRenewAtShortLease(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := NewSubscriber(testConfig("http://hub.test/hub"))
		now := time.Now()
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 3600})
		// 80% is 48 min, lease-1h is now: half the lease wins.
		if got, want := s.RenewAt(), now.Add(30*time.Minute); !got.Equal(want) {
			t.Errorf("RenewAt = %v, want %v", got, want)
		}
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 4 * 3600})
		// 80% is 3.2 h, lease-1h is 3 h: the earlier wins.
		if got, want := s.RenewAt(), now.Add(3*time.Hour); !got.Equal(want) {
			t.Errorf("RenewAt = %v, want %v", got, want)
		}
	})
}

func TestLeaseFallbacks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		cfg := testConfig("http://hub.test/hub")
		cfg.LeaseSeconds = 7200
		s := NewSubscriber(cfg)
		// The hub did not say: our requested lease.
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c"})
		if got, want := s.Status().LeaseEnds, now.Add(2*time.Hour); !got.Equal(want) {
			t.Errorf("LeaseEnds = %v, want %v", got, want)
		}
		// Neither said: MOSIP's default.
		s2 := NewSubscriber(testConfig("http://hub.test/hub"))
		s2.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c"})
		if got, want := s2.Status().LeaseEnds, now.Add(DefaultLeaseSeconds*time.Second); !got.Equal(want) {
			t.Errorf("LeaseEnds = %v, want %v", got, want)
		}
	})
}

func TestDenialAndUnsubscribeStatus(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hub := newAcceptingHub()
		cfg := testConfig("http://hub.test/hub")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{hub}}
		s := NewSubscriber(cfg)
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		requested := time.Now()
		s.HandleIntent(context.Background(), Intent{Mode: ModeDenied, Topic: testTopic, Reason: "Subscriber is not authorized"})
		st := s.Status()
		if st.LastDenial != "Subscriber is not authorized" || !st.Verified.IsZero() {
			t.Errorf("after a denial: %+v, want LastDenial set and not verified", st)
		}
		if got, want := s.RenewAt(), requested.Add(unverifiedRetry); !got.Equal(want) {
			t.Errorf("RenewAt after a denial = %v, want %v", got, want)
		}
		// A denial for another topic changes nothing.
		s.HandleIntent(context.Background(), Intent{Mode: ModeDenied, Topic: "other", Reason: "x"})
		if got := s.Status().LastDenial; got != "Subscriber is not authorized" {
			t.Errorf("LastDenial = %q after another topic's denial", got)
		}
		// Verification clears the denial.
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c"})
		if got := s.Status().LastDenial; got != "" {
			t.Errorf("LastDenial = %q after verification", got)
		}
		if err := s.Unsubscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := s.RenewAt(); !got.IsZero() {
			t.Errorf("RenewAt after Unsubscribe = %v, want zero", got)
		}
		if _, ok := s.HandleIntent(context.Background(), Intent{Mode: ModeUnsubscribe, Topic: testTopic, Challenge: "u"}); !ok {
			t.Error("unsubscribe intent refused after Unsubscribe")
		}
		if st := s.Status(); !st.Verified.IsZero() || !st.LeaseEnds.IsZero() {
			t.Errorf("after unsubscription: %+v, want no verification or lease", st)
		}
	})
}

func TestDenialLogLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reason string
		level  string
	}{
		{"Subscriber has already registered with the Hub", "INFO"},
		{"Subscriber is not authorized", "WARN"},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		cfg := testConfig("http://hub.test/hub")
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		NewSubscriber(cfg).HandleIntent(context.Background(), Intent{Mode: ModeDenied, Topic: testTopic, Reason: tt.reason})
		if want := "level=" + tt.level; !strings.Contains(logs.String(), want) {
			t.Errorf("%q: log %q, want %s", tt.reason, logs.String(), want)
		}
	}
}

// setAnswer changes the fake hub's answer.
func (h *fakeHub) setAnswer(status int, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status, h.body = status, body
}

// handlerTransport serves requests with a handler in memory, for synctest
// bubbles (goroutines blocked on sockets would stop the bubble's clock).
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, fmt.Errorf("round trip: %w", err)
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func TestRenewAtBacksOffWithoutVerification(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hub := newAcceptingHub()
		cfg := testConfig("http://hub.test/hub")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{hub}}
		s := NewSubscriber(cfg)
		ctx := context.Background()
		// Accepted requests that the hub never verifies: 5, 10, 20, 40,
		// 60 (capped), 60 minutes.
		for i, wantWait := range []time.Duration{5, 10, 20, 40, 60, 60} {
			if err := s.Subscribe(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := s.RenewAt(), time.Now().Add(wantWait*time.Minute); !got.Equal(want) {
				t.Errorf("request %d: RenewAt = %v, want %v", i+1, got, want)
			}
			time.Sleep(time.Until(s.RenewAt()))
		}
		// A verification resets the back-off.
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 86400})
		hub.setAnswer(http.StatusInternalServerError, "hub.mode=denied&hub.reason=down")
		time.Sleep(20 * time.Hour)
		if err := s.Subscribe(ctx); err == nil {
			t.Fatal("Subscribe succeeded against a 500")
		}
		if got, want := s.RenewAt(), time.Now().Add(failedRetry); !got.Equal(want) {
			t.Errorf("after a failed renewal: RenewAt = %v, want %v", got, want)
		}
	})
}

// When credentials stop arriving the subscription is made again at once,
// but not more often than every suspectGap.
func TestSuspectRemakesTheSubscription(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hub := newAcceptingHub()
		cfg := testConfig("http://hub.test/hub")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{hub}}
		s := NewSubscriber(cfg)
		s.Suspect(context.Background()) // never verified: nothing to suspect, RenewAt is now anyway
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 86400}); !ok {
			t.Fatal("verification refused")
		}
		s.Suspect(context.Background()) // right after a request: ignored
		if got := s.RenewAt(); got.Sub(time.Now()) < time.Hour {
			t.Fatalf("RenewAt right after subscribing = %v from now, want the lease's schedule", got.Sub(time.Now()))
		}
		time.Sleep(suspectGap)
		s.Suspect(context.Background())
		if got := s.RenewAt(); got.After(time.Now()) {
			t.Errorf("RenewAt after Suspect = %v from now, want now", got.Sub(time.Now()))
		}
		if !s.Status().Verified.IsZero() {
			t.Errorf("a suspected subscription still shows as verified")
		}
	})
}
