package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckJSONDepth(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"flat", `{"a":1}`, true},
		{"at the limit", strings.Repeat("[", 4) + strings.Repeat("]", 4), true},
		{"one too deep", strings.Repeat("[", 5) + strings.Repeat("]", 5), false},
		{"deep but unclosed", strings.Repeat("{\"a\":", 5), false},
		{"brackets inside strings do not count", `{"a":"[[[[[[[[{{{{{{"}`, true},
		{"escaped quote keeps the string open", `{"a":"\"[[[[[[[[["}`, true},
		{"escaped backslash closes the string", `{"a":"\\"}` + strings.Repeat("[", 5), false},
		{"siblings do not add up", `[[1],[2],[3],[4],[5],[6]]`, true},
		{"not JSON at all", `hub.mode=subscribe&hub.topic=x`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkJSONDepth([]byte(tt.body), 4)
			if (err == nil) != tt.ok {
				t.Errorf("checkJSONDepth(%q) = %v, want ok=%v", tt.body, err, tt.ok)
			}
		})
	}
}

// fakeClock is a settable clock for the rate limits.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRateLimitPerClient(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(New(Config{VerifyRateLimit: RateLimit{PerSecond: 1, Burst: 2}, Now: clock.now}))
	t.Cleanup(srv.Close)
	post := func() *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+"/verify", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	// This handler has no token verifier: a request past the limit gets
	// the route's own refusal, never 429.
	for i := range 2 {
		if resp := post(); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d within the burst: status 429", i+1)
		}
	}
	resp := post()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request at once: status %d, want 429", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1 (one token a second)", got)
	}
	var p problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != 429 || !strings.Contains(p.Detail, "per second") {
		t.Errorf("problem %+v (decode %v), want a 429 problem saying the rate", p, err)
	}
	// The intake routes have their own limit (none here).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/events/registration", strings.NewReader(`{}`))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode == http.StatusTooManyRequests {
		t.Errorf("intake limited by the verification limit: %v %v", r2.StatusCode, err)
	} else {
		r2.Body.Close()
	}
	clock.add(time.Second)
	if resp := post(); resp.StatusCode == http.StatusTooManyRequests {
		t.Error("a second later: still 429, want the request through")
	}
}

func TestRateLimitClients(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	c := newClientLimits(RateLimit{PerSecond: 1, Burst: 1}, []netip.Prefix{proxy}, clock.now)
	req := func(remote string, xff ...string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/verify", nil)
		r.RemoteAddr = remote
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	allow := func(r *http.Request) bool { ok, _ := c.allow(r); return ok }

	if !allow(req("192.0.2.1:5000")) || allow(req("192.0.2.1:5001")) {
		t.Error("one client: want the first request through and the second limited, whatever its port")
	}
	if !allow(req("192.0.2.2:5000")) {
		t.Error("another client was limited by the first one's use")
	}
	// One IPv6 host holds a /64: its addresses share a bucket.
	if !allow(req("[2001:db8:1:2::1]:443")) || allow(req("[2001:db8:1:2::ffff]:443")) {
		t.Error("two addresses of one /64 were counted as two clients")
	}
	// Behind a trusted proxy the client is the address the proxy saw.
	if !allow(req("10.1.1.1:80", "198.51.100.7")) || !allow(req("10.1.1.1:80", "198.51.100.8")) {
		t.Error("two clients behind the trusted proxy share one bucket")
	}
	if allow(req("10.2.2.2:80", "203.0.113.9, 198.51.100.7")) {
		t.Error("a forged first hop in X-Forwarded-For got a client past its limit")
	}
	// An untrusted sender cannot choose its client by the header.
	if !allow(req("192.0.2.3:80", "198.51.100.99")) || allow(req("192.0.2.3:80", "198.51.100.100")) {
		t.Error("X-Forwarded-For from an untrusted sender was believed")
	}

	// The map of clients is bounded: past maxClients, newcomers share the
	// overflow bucket; idle clients are forgotten.
	c.maxClients = 3
	c.clients = map[netip.Prefix]*clientBucket{}
	for i := range 3 {
		allow(req("192.0.2." + string(rune('a'+i)) + ":1")) // unparsable: one client
	}
	for _, ip := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"} {
		allow(req(ip + ":1"))
	}
	if len(c.clients) > 3 {
		t.Errorf("%d clients remembered, want at most 3", len(c.clients))
	}
	clock.add(11 * time.Minute)
	if !allow(req("192.0.2.20:1")) || len(c.clients) != 1 {
		t.Errorf("after the idle time: %d clients remembered, want only the new one", len(c.clients))
	}
}

// Wrong admin tokens spend the client's budget (ten at once, then one every
// five seconds); a client without budget is refused before its token is
// compared, so even the right token waits; other clients are not affected;
// the dashboard's sign-in shares the budget.
func TestSignInLimit(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	const token = "the-admin-token-0123456789abcdef"
	dash := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("token") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusSeeOther)
	})
	h := New(Config{AdminToken: token, Dashboard: dash, Now: clock.now})
	call := func(remote, method, path, auth, form string) int {
		r := httptest.NewRequest(method, path, strings.NewReader(form))
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		if form != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	const attacker, operator = "192.0.2.66:4000", "198.51.100.1:4000"
	for i := range 6 {
		if st := call(attacker, "GET", "/admin/counts", "guess", ""); st != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, st)
		}
	}
	for i := range 4 {
		if st := call(attacker, "POST", "/ui/login", "", "token=guess"); st != http.StatusUnauthorized {
			t.Fatalf("wrong dashboard sign-in %d: %d, want 401", i+1, st)
		}
	}
	if st := call(attacker, "GET", "/admin/counts", token, ""); st != http.StatusTooManyRequests {
		t.Errorf("the right token after ten wrong ones: %d, want 429 (refused before comparing)", st)
	}
	if st := call(attacker, "POST", "/ui/login", "", "token="+token); st != http.StatusTooManyRequests {
		t.Errorf("dashboard sign-in after ten wrong tokens: %d, want 429", st)
	}
	if st := call(operator, "POST", "/ui/login", "", "token="+token); st != http.StatusSeeOther {
		t.Errorf("another client's sign-in: %d, want it through", st)
	}
	clock.add(5 * time.Second)
	if st := call(attacker, "POST", "/ui/login", "", "token="+token); st != http.StatusSeeOther {
		t.Errorf("five seconds later, the right token: %d, want it through", st)
	}
	if st := call(attacker, "GET", "/admin/counts", "guess", ""); st != http.StatusUnauthorized {
		t.Errorf("one more wrong token: %d, want 401 (a right one does not spend)", st)
	}
	if st := call(attacker, "GET", "/admin/counts", "guess", ""); st != http.StatusTooManyRequests {
		t.Errorf("and another at once: %d, want 429", st)
	}
}
