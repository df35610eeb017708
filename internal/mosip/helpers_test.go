package mosip

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// makeJWT returns an unsigned-looking JWT with claims as its payload (the
// client never verifies it).
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("signature"))
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// waiting returns how many callers wait for the fetch in flight.
func (a *AuthClient) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight == nil {
		return 0
	}
	return a.inflight.waiters
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// captured is one request a fake MOSIP endpoint received.
type captured struct {
	Method, Path, ContentType string
	RequestURI                string // as sent: escaped path and query
	Token                     string // value of the Authorization cookie
	Body                      []byte
	Ctx                       context.Context // the request's context
}

const (
	authPath     = "/v1/authmanager/authenticate/clientidsecretkey"
	packetPath   = "/commons/v1/packetmanager/createPacket"
	workflowPath = "/registrationprocessor/v1/workflowmanager/workflowinstance"
	statusPath   = "/registrationprocessor/v1/registrationstatus/search"
	identityPath = "/idrepository/v1/identity"
	vidPath      = "/idrepository/v1/vid"
)

// fakeMOSIP is a MOSIP on 127.0.0.1: its auth manager hands out opaque
// tokens tok-1, tok-2, ... (Max-Age one hour); the other endpoints record
// each request and answer with handle.
type fakeMOSIP struct {
	srv     *httptest.Server
	fetches atomic.Int32
	reqs    chan captured
	handle  func(w http.ResponseWriter, c captured)
}

func newFakeMOSIP(t *testing.T, handle func(w http.ResponseWriter, c captured)) *fakeMOSIP {
	t.Helper()
	f := &fakeMOSIP{reqs: make(chan captured, 1000), handle: handle}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+authPath, func(w http.ResponseWriter, r *http.Request) {
		n := f.fetches.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "Authorization", Value: fmt.Sprintf("tok-%d", n), MaxAge: 3600, Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, authOK)
	})
	api := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		c := captured{
			Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI, ContentType: r.Header.Get("Content-Type"),
			Body: body, Ctx: r.Context(),
		}
		if ck, err := r.Cookie("Authorization"); err == nil {
			c.Token = ck.Value
		}
		select {
		case f.reqs <- c:
		default:
			t.Errorf("too many requests")
		}
		f.handle(w, c)
	}
	mux.HandleFunc(packetPath, api)
	mux.HandleFunc(workflowPath, api)
	mux.HandleFunc(statusPath, api)
	mux.HandleFunc(identityPath+"/", api)
	mux.HandleFunc(vidPath+"/", api)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// requests returns the requests received so far.
func (f *fakeMOSIP) requests() []captured {
	var out []captured
	for {
		select {
		case c := <-f.reqs:
			out = append(out, c)
		default:
			return out
		}
	}
}

func (f *fakeMOSIP) client(clock *testClock) *Client {
	auth := NewAuthClient(AuthConfig{
		URL: f.srv.URL + authPath, ClientID: "mosip-crvs1-client", SecretKey: "s3cret-key", AppID: "regproc",
		HTTPClient: f.srv.Client(), Now: clock.Now,
	})
	return NewClient(ClientConfig{
		Auth: auth, HTTPClient: f.srv.Client(), Now: clock.Now,
		CreatePacketURL: f.srv.URL + packetPath,
		WorkflowURL:     f.srv.URL + workflowPath,
		StatusURL:       f.srv.URL + statusPath,
		IdentityURL:     f.srv.URL + identityPath,
		VIDURL:          f.srv.URL + vidPath,
	})
}

// reply writes a canned answer.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

const authOK = `{"id":"string","version":"string","responsetime":"2025-03-01T10:00:00.000Z","metadata":null,` +
	`"response":{"status":"Success","message":"Clientid and Token combination had been validated successfully"},"errors":null}`

// decodeJSON decodes b into a generic value, for comparing wire formats.
func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body is not a JSON object: %v\n%s", err, b)
	}
	return m
}
