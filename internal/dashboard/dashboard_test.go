package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

const testToken = "dashboard-test-admin-token-42"

// Secrets a transaction keeps that no page may show.
const (
	secretToken = "eyJhbGciOiJSUzI1NiJ9.opencrvs-record-token.sig"
	secretUIN   = "7315926048"
	secretVID   = "5738204619273841"
	secretName  = "Chanda Secretname Tembo"
	secretPhone = "0971234567"
)

// clock is a settable time for sessions' expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// calls is a fixed measurement of outbound calls.
type calls map[string]telemetry.CallStats

func (c calls) CallStats(system string, _ time.Duration) telemetry.CallStats { return c[system] }

type env struct {
	h     *Handler
	store *store.Store
	clock *clock
}

// newEnv is the dashboard on a real SQLite store holding one DEAD birth
// (its OpenCRVS token, national ids and packet all set) and one confirmed.
func newEnv(t *testing.T, token string) *env {
	t.Helper()
	keyLine, err := store.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := store.ParseKeys(keyLine)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "db.sqlite"), Synchronous: "NORMAL", Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	name, _ := json.Marshal(secretName)
	dead := &bridge.Transaction{
		ID: "10001100041000120260101000001", Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: "mapped",
		RecordID: "rec-dead-1", TrackingID: "BDEAD01", RegistrationNumber: "2026BDEAD01", State: bridge.StateQueued,
		Token: secretToken, UIN: secretUIN, VID: secretVID,
		Packet: bridge.Packet{Process: "NEW", Fields: map[string]json.RawMessage{"fullName": name},
			Notification: bridge.Notification{Name: secretName, Phone: secretPhone}},
	}
	done := &bridge.Transaction{
		ID: "10001100041000120260101000002", Kind: bridge.EventDeath, Version: bridge.OpenCRVS19, Intake: "v2",
		RecordID: "rec-done-2", TrackingID: "DDONE02", State: bridge.StateQueued, Token: secretToken + "2",
	}
	err = st.InTx(t.Context(), func(tx *store.Tx) error {
		for _, tr := range []*bridge.Transaction{dead, done} {
			if err := tx.Insert(t.Context(), tr, tr.RecordID, "received"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lastErr := "mosip: workflow " + dead.ID + ": 503 Service Unavailable"
	for _, c := range []struct {
		id string
		ch store.Change
	}{
		{dead.ID, store.Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted, Reason: "packet created"}},
		{dead.ID, store.Change{From: []bridge.State{bridge.StateSubmitted}, To: bridge.StateDead, Reason: "retries exhausted", Attempt: 3, LastError: &lastErr}},
		{done.ID, store.Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted, Reason: "packet created"}},
		{done.ID, store.Change{From: []bridge.State{bridge.StateSubmitted}, To: bridge.StateIssued, Reason: "processed"}},
		{done.ID, store.Change{From: []bridge.State{bridge.StateIssued}, To: bridge.StateConfirmed, Reason: "registered", ClearToken: true}},
	} {
		if ok, err := st.Transition(t.Context(), c.id, c.ch); err != nil || !ok {
			t.Fatalf("transition %s to %s: %v, %v", c.id, c.ch.To, ok, err)
		}
	}
	clk := &clock{t: time.Now()}
	svc := &admin.Service{Store: st, Pipeline: &pipeline.Service{Store: st}}
	h := New(Config{
		Admin: svc, AdminToken: token, Now: clk.Now,
		Calls: calls{"mosip": {Calls: 200, Errors: 20, P50: 80 * time.Millisecond, P95: 1500 * time.Millisecond}},
	})
	return &env{h: h, store: st, clock: clk}
}

// request is one browser request to the dashboard.
type request struct {
	method, path string
	form         url.Values
	cookie       *http.Cookie
	header       map[string]string
	tls          bool
}

func (e *env) do(t *testing.T, r request) *http.Response {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	target := "http://dashboard.test" + r.path
	if r.tls {
		target = "https://dashboard.test" + r.path
	}
	req := httptest.NewRequest(cmpOr(r.method, "GET"), target, body)
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Result()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// login signs in and returns the session cookie.
func (e *env) login(t *testing.T) *http.Cookie {
	t.Helper()
	resp := e.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"token": {testToken}},
		header: map[string]string{"Origin": "http://dashboard.test"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d to %q, want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := sessionCookie(resp)
	if c == nil || c.Value == "" {
		t.Fatal("sign-in set no session cookie")
	}
	return c
}

// csrfOf reads the CSRF token of a page's forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatal("page has no CSRF field")
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestDashboardOffWithoutAdminToken(t *testing.T) {
	e := newEnv(t, "")
	for _, r := range []request{
		{path: "/ui/"}, {path: "/ui/login"}, {path: "/ui/transactions"},
		{method: "POST", path: "/ui/login", form: url.Values{"token": {""}}},
	} {
		resp := e.do(t, r)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "The dashboard is off") {
			t.Errorf("%s %s: %d, want 403 saying the dashboard is off", cmpOr(r.method, "GET"), r.path, resp.StatusCode)
		}
		if sessionCookie(resp) != nil {
			t.Errorf("%s %s set a session cookie", cmpOr(r.method, "GET"), r.path)
		}
	}
}

func TestLoginRefusesAWrongToken(t *testing.T) {
	e := newEnv(t, testToken)
	for _, tok := range []string{"", "wrong", testToken + "x", testToken[:len(testToken)-1]} {
		resp := e.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"token": {tok}}})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the admin token") {
			t.Errorf("token %q: %d, want 401 and a message", tok, resp.StatusCode)
		}
		if sessionCookie(resp) != nil {
			t.Errorf("token %q: a session cookie was set", tok)
		}
		if strings.Contains(body, testToken) || tok != "" && strings.Contains(body, `value="`+tok) {
			t.Errorf("token %q: the page shows a token", tok)
		}
	}
	// Signed out, pages send the operator to the sign-in page.
	for _, path := range []string{"/ui/", "/ui/transactions", "/ui/transactions/x"} {
		resp := e.do(t, request{path: path})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /ui/login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestLoginCookieFlags(t *testing.T) {
	e := newEnv(t, testToken)
	for _, tls := range []bool{false, true} {
		origin := map[bool]string{false: "http://dashboard.test", true: "https://dashboard.test"}[tls]
		resp := e.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"token": {testToken}}, tls: tls,
			header: map[string]string{"Origin": origin}})
		c := sessionCookie(resp)
		if resp.StatusCode != http.StatusSeeOther || c == nil {
			t.Fatalf("tls %v: sign-in %d, cookie %v", tls, resp.StatusCode, c)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui/" || c.Secure != tls {
			t.Errorf("tls %v: cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Strict, /ui/, Secure=%v",
				tls, c.HttpOnly, c.SameSite, c.Path, c.Secure, tls)
		}
		if c.MaxAge <= 0 || c.MaxAge > int((8*time.Hour).Seconds()) {
			t.Errorf("tls %v: cookie Max-Age %d, want up to 8 h", tls, c.MaxAge)
		}
		if strings.Contains(c.Value, testToken) {
			t.Errorf("tls %v: the cookie holds the admin token", tls)
		}
	}
}

func TestSessionCookieIsCheckedAndExpires(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	if resp := e.do(t, request{path: "/ui/", cookie: c}); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/ signed in: %d", resp.StatusCode)
	}
	payload, sig, _ := strings.Cut(c.Value, ".")
	forged := []string{
		payload + "." + strings.Repeat("A", len(sig)),
		payload[:len(payload)-2] + "AA." + sig,
		payload,
		"",
	}
	for _, v := range forged {
		resp := e.do(t, request{path: "/ui/", cookie: &http.Cookie{Name: cookieName, Value: v}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("forged cookie %q: %d, want 303 to sign in", v, resp.StatusCode)
		}
	}
	// Another admin token: the old sessions are no longer valid.
	other := New(Config{Admin: e.h.cfg.Admin, AdminToken: testToken + "-rotated", Now: e.clock.Now})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://dashboard.test/ui/", nil)
	req.AddCookie(c)
	other.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("a session of the old admin token: %d, want 303 to sign in", rec.Code)
	}
	// Expiry.
	e.clock.Add(8*time.Hour + time.Second)
	if resp := e.do(t, request{path: "/ui/", cookie: c}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("expired session: %d, want 303 to sign in", resp.StatusCode)
	}
}

func TestFormsNeedCSRFTokenAndSameOrigin(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	const id = "10001100041000120260101000001"
	page := readBody(t, e.do(t, request{path: "/ui/transactions/" + id, cookie: c}))
	csrf := csrfOf(t, page)
	for name, r := range map[string]request{
		"no CSRF token":      {form: url.Values{}},
		"wrong CSRF token":   {form: url.Values{"csrf": {"AAAA" + csrf[4:]}}},
		"another session's":  {form: url.Values{"csrf": {e.h.sessions.csrf(session{ID: strings.Repeat("0", 32)})}}},
		"cross-site fetch":   {form: url.Values{"csrf": {csrf}}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"another origin":     {form: url.Values{"csrf": {csrf}}, header: map[string]string{"Origin": "https://evil.example"}},
		"cancel, no token":   {path: "/ui/transactions/" + id + "/cancel", form: url.Values{"reason": {"x"}}},
		"logout, no token":   {path: "/ui/logout", form: url.Values{}},
		"logout, other site": {path: "/ui/logout", form: url.Values{"csrf": {csrf}}, header: map[string]string{"Origin": "https://evil.example"}},
	} {
		r.method, r.cookie = "POST", c
		r.path = cmpOr(r.path, "/ui/transactions/"+id+"/retry")
		resp := e.do(t, r)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	tr, err := e.store.Transaction(t.Context(), id)
	if err != nil || tr.State != bridge.StateDead {
		t.Fatalf("after refused forms the transaction is %v (%v), want still DEAD", tr.State, err)
	}
	// Without a session a form goes to the sign-in page and does nothing.
	resp := e.do(t, request{method: "POST", path: "/ui/transactions/" + id + "/retry", form: url.Values{"csrf": {csrf}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Errorf("retry signed out: %d to %q, want 303 to /ui/login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A sign-in from another site is refused too (login CSRF).
	resp = e.do(t, request{method: "POST", path: "/ui/login", form: url.Values{"token": {testToken}},
		header: map[string]string{"Origin": "https://evil.example"}})
	if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil {
		t.Errorf("sign-in from another site: %d, cookie %v; want 403 and none", resp.StatusCode, sessionCookie(resp))
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	csrf := csrfOf(t, readBody(t, e.do(t, request{path: "/ui/", cookie: c})))
	resp := e.do(t, request{method: "POST", path: "/ui/logout", cookie: c, form: url.Values{"csrf": {csrf}},
		header: map[string]string{"Origin": "http://dashboard.test", "Sec-Fetch-Site": "same-origin"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cleared := sessionCookie(resp); cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("logout cookie %v, want it cleared", cleared)
	}
	if resp := e.do(t, request{path: "/ui/", cookie: c}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the logged-out cookie still opens /ui/: %d", resp.StatusCode)
	}
}

// Every page an operator sees: the viewport meta for phones, the content
// security policy, and none of the secrets a transaction keeps.
func TestPagesShowNoTokenOrPersonalData(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	const deadID = "10001100041000120260101000001"
	pages := []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"Pipeline at a glance", "<svg", "DEAD", "MOSIP", "10.0%", "80 ms", "1.50 s", "OpenCRVS", "no calls measured"}},
		{"/ui/transactions", []string{deadID, "DEAD", "CONFIRMED", "BDEAD01"}},
		{"/ui/transactions?state=DEAD", []string{deadID, "503 Service Unavailable"}},
		{"/ui/transactions?q=BDEAD01", []string{deadID}},
		{"/ui/transactions?q=2026BDEAD01", []string{deadID}},
		{"/ui/transactions?q=rec-dead-1", []string{deadID}},
		{"/ui/transactions?kind=death&version=1.9", []string{"10001100041000120260101000002"}},
		{"/ui/transactions/" + deadID, []string{"Timeline", "retries exhausted", `id="retry"`, "Cancel transaction", "503 Service Unavailable", "SUBMITTED"}},
		{"/ui/transactions/10001100041000120260101000002", []string{"CONFIRMED", "registered"}},
		{"/ui/login", nil},
		{"/ui/no-such-page", []string{"No such page"}},
	}
	for _, p := range pages {
		resp := e.do(t, request{path: p.path, cookie: c})
		body := readBody(t, resp)
		if p.path == "/ui/login" {
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("GET /ui/login signed in: %d, want 303 to the overview", resp.StatusCode)
			}
			resp = e.do(t, request{path: p.path})
			body = readBody(t, resp)
		}
		if resp.StatusCode != http.StatusOK && p.path != "/ui/no-such-page" {
			t.Errorf("GET %s: %d\n%s", p.path, resp.StatusCode, body)
			continue
		}
		if !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
			t.Errorf("GET %s: no viewport meta", p.path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", p.path, csp)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p.path, cc)
		}
		for _, w := range p.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: page lacks %q", p.path, w)
			}
		}
		for _, secret := range []string{testToken, secretToken, secretUIN, secretVID, secretName, secretPhone, c.Value} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s: the page shows the secret %q", p.path, secret)
			}
		}
		if strings.Contains(body, "http://") && !strings.Contains(body, "http://www.w3.org") || strings.Contains(body, "https://") {
			t.Errorf("GET %s: the page refers to another site", p.path)
		}
	}
}

func TestStaticAssetsAreEmbedded(t *testing.T) {
	e := newEnv(t, testToken)
	for name, url := range e.h.assets {
		resp := e.do(t, request{path: url})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", url, resp.StatusCode, len(body))
		}
		if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want immutable (the URL has the content's hash)", name, resp.Header.Get("Cache-Control"))
		}
	}
	for _, want := range []string{"style.css", "app.js", "icon.svg"} {
		if e.h.assets[want] == "" {
			t.Errorf("asset %s is not embedded", want)
		}
	}
}

func TestThroughputChart(t *testing.T) {
	start := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	var points []admin.Point
	for i := range 60 {
		points = append(points, admin.Point{At: start.Add(time.Duration(i) * time.Minute), Received: i % 7, Completed: i % 5, Failed: i % 3 / 2})
	}
	c := throughputChart(points, time.Hour, wideW, wideH)
	if c.Empty {
		t.Error("chart with records says it is empty")
	}
	for _, s := range c.Series {
		if n := len(strings.Fields(s.Points)); n != 60 {
			t.Errorf("series %s has %d points, want 60", s.Name, n)
		}
	}
	if got, want := c.YTicks[len(c.YTicks)-1].Label, "10"; got != want {
		t.Errorf("top of the axis %s, want %s (6 rounded up)", got, want)
	}
	if empty := throughputChart(nil, time.Hour, narrowW, narrowH); !empty.Empty {
		t.Error("chart without points is not empty")
	}
	for n, want := range map[int]int{0: 2, 1: 2, 3: 5, 6: 10, 11: 20, 20: 20, 21: 50, 999: 1000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

// post sends a form of the page at path (signed in as c) to action, with
// the page's CSRF token, as a browser on the same origin does.
func (e *env) post(t *testing.T, c *http.Cookie, path, action string, form url.Values) *http.Response {
	t.Helper()
	form.Set("csrf", csrfOf(t, readBody(t, e.do(t, request{path: path, cookie: c}))))
	return e.do(t, request{method: "POST", path: action, cookie: c, form: form,
		header: map[string]string{"Origin": "http://dashboard.test", "Sec-Fetch-Site": "same-origin"}})
}

func TestRetryAndCancel(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	const dead, done = "10001100041000120260101000001", "10001100041000120260101000002"
	page := "/ui/transactions/" + dead

	// A cancellation needs a reason: the page says so and nothing changes.
	resp := e.post(t, c, page, page+"/cancel", url.Values{"reason": {"  "}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "say why") {
		t.Errorf("cancel without a reason: %d, want 400 asking for one", resp.StatusCode)
	}

	resp = e.post(t, c, page, page+"/retry", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=retried" {
		t.Fatalf("retry: %d to %q, want 303 to the transaction", resp.StatusCode, resp.Header.Get("Location"))
	}
	body := readBody(t, e.do(t, request{path: resp.Header.Get("Location"), cookie: c}))
	for _, want := range []string{"Retry started", "SUBMITTED", "retried by an operator (dashboard, session "} {
		if !strings.Contains(body, want) {
			t.Errorf("after the retry the page lacks %q", want)
		}
	}
	if !strings.Contains(body, `data-refresh="3"`) {
		t.Error("a transaction in progress does not refresh itself")
	}
	tr, err := e.store.Transaction(t.Context(), dead)
	if err != nil || tr.State != bridge.StateSubmitted {
		t.Fatalf("after the retry: %v (%v), want SUBMITTED", tr.State, err)
	}

	// Retrying it again is refused with the reason, on the page.
	resp = e.post(t, c, page, page+"/retry", url.Values{})
	if body := readBody(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "can be retried") {
		t.Errorf("second retry: %d, want 409 saying why", resp.StatusCode)
	}

	resp = e.post(t, c, page, page+"/cancel", url.Values{"reason": {"duplicate of a record sent by mistake"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=cancelled" {
		t.Fatalf("cancel: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	body = readBody(t, e.do(t, request{path: page + "?done=cancelled", cookie: c}))
	for _, want := range []string{"Transaction cancelled.", "CANCELLED", "duplicate of a record sent by mistake"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the cancellation the page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="retry"`) || strings.Contains(body, "Cancel transaction") {
		t.Error("a cancelled transaction still offers retry or cancel")
	}

	// A finished transaction offers neither.
	body = readBody(t, e.do(t, request{path: "/ui/transactions/" + done, cookie: c}))
	if strings.Contains(body, `id="retry"`) || strings.Contains(body, "Cancel transaction") || strings.Contains(body, "data-refresh") {
		t.Error("a CONFIRMED transaction offers retry or cancel, or refreshes itself")
	}
	// Only fixed messages: a link cannot put words on the page.
	body = readBody(t, e.do(t, request{path: "/ui/transactions/" + done + "?done=<b>pwned</b>", cookie: c}))
	if strings.Contains(body, "pwned") {
		t.Error("the page shows words from its link")
	}
	if resp := e.do(t, request{path: "/ui/transactions/no-such-aid", cookie: c}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown transaction: %d, want 404", resp.StatusCode)
	}
}

func TestListRefusesBadFilters(t *testing.T) {
	e := newEnv(t, testToken)
	c := e.login(t)
	for _, q := range []string{"state=NOPE", "cursor=not-a-cursor", "age=3y", "kind=marriage", "version=2.0"} {
		resp := e.do(t, request{path: "/ui/transactions?" + q, cookie: c})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="flash err"`) || !strings.Contains(body, `name="q"`) {
			t.Errorf("GET /ui/transactions?%s: %d, want 400 with the message and the form", q, resp.StatusCode)
		}
	}
}

func TestListPages(t *testing.T) {
	e := newEnv(t, testToken)
	e.h.cfg.PageSize = 1
	c := e.login(t)
	var seen []string
	path := "/ui/transactions?kind="
	for range 3 {
		body := readBody(t, e.do(t, request{path: path, cookie: c}))
		for _, id := range []string{"10001100041000120260101000001", "10001100041000120260101000002"} {
			if strings.Contains(body, `href="/ui/transactions/`+id+`"`) {
				seen = append(seen, id)
			}
		}
		if len(seen) > 1 && !strings.Contains(body, "First page") {
			t.Error("a later page has no link to the first")
		}
		i := strings.Index(body, `rel="next"`)
		if i < 0 {
			break
		}
		start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
		path = strings.ReplaceAll(body[start:start+strings.IndexByte(body[start:], '"')], "&amp;", "&")
	}
	if len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("pages of one showed %v, want both transactions once", seen)
	}
}
