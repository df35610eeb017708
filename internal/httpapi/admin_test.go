package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

const testAdminToken = "admin-token-for-tests-0123456789"

// adminServer is the HTTP handler on a real database in t.TempDir(), with
// a job runner that is not started, on a clock the test sets.
type adminServer struct {
	url   string
	store *store.Store
	now   time.Time
	// bodies collects every answer, to look for secrets in.
	bodies []string
}

func newAdminServer(t *testing.T, token string) *adminServer {
	t.Helper()
	s := &adminServer{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return s.now }
	st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "m.sqlite"), Synchronous: "NORMAL", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(jobs.Config{Store: st, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Service{Store: st, Jobs: runner, Now: clock, AID: store.AIDFormat{Kind: store.AIDPrefixed, Prefix: "10001"}}
	// Wrong tokens are what these tests send most: a budget they never
	// spend (TestSignInLimit tests the default).
	srv := httptest.NewServer(New(Config{Store: st, Pipeline: p, AdminToken: token, Now: clock, SignInLimit: RateLimit{PerSecond: 1000, Burst: 1000}}))
	t.Cleanup(srv.Close)
	s.url, s.store = srv.URL, st
	return s
}

// insert stores a transaction in state st (through the transitions that
// lead there), with a token and a packet with a name.
func (s *adminServer) insert(t *testing.T, id string, st bridge.State, kind bridge.EventKind, version bridge.OpenCRVSVersion) {
	t.Helper()
	ctx := t.Context()
	tr := &bridge.Transaction{
		ID: id, Kind: kind, Version: version, Intake: bridge.IntakeMapped,
		RecordID: "rec-" + id, TrackingID: "T" + id, RegistrationNumber: "R" + id, State: bridge.StateQueued,
		Token: "record-token-" + id, UIN: "uin-" + id,
		Packet: bridge.Packet{Process: bridge.ProcessNew, Fields: map[string]json.RawMessage{"fullName": json.RawMessage(`"Grace Hopper"`)}},
	}
	if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:T"+id, "accepted") }); err != nil {
		t.Fatal(err)
	}
	path := map[bridge.State][]bridge.State{
		bridge.StateSubmitted:       {bridge.StateSubmitted},
		bridge.StateConfirmed:       {bridge.StateSubmitted, bridge.StateIssued, bridge.StateConfirmed},
		bridge.StateRejectedByMOSIP: {bridge.StateSubmitted, bridge.StateRejectedByMOSIP},
		bridge.StateDead:            {bridge.StateDead},
	}[st]
	from := bridge.StateQueued
	for _, to := range path {
		msg := "MOSIP said no (" + string(to) + ")"
		if ok, err := s.store.Transition(ctx, id, store.Change{From: []bridge.State{from}, To: to, LastError: &msg}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		from = to
	}
}

// call sends a request with the admin token ("": none) and decodes a 2xx
// JSON answer into out.
func (s *adminServer) call(t *testing.T, method, path, token, body string, out any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	s.bodies = append(s.bodies, string(data))
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, resp.Header, data
}

// wantProblem checks a problem JSON answer.
func wantProblem(t *testing.T, what string, st int, h http.Header, body []byte, status int, code bridge.ErrorCode, field string) {
	t.Helper()
	var p problem
	if err := json.Unmarshal(body, &p); err != nil || h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s: %d %s %s, want problem JSON", what, st, h.Get("Content-Type"), body)
		return
	}
	if st != status || p.Status != status || p.Type != problemTypePrefix+string(code) || p.Field != field {
		t.Errorf("%s: %d %+v, want %d %s about %q", what, st, p, status, code, field)
	}
}

// adminRoutes are every admin route, with a request each.
var adminRoutes = []struct{ method, path, body string }{
	{"GET", "/admin/transactions", ""},
	{"GET", "/admin/transactions/A1", ""},
	{"POST", "/admin/transactions/A1/retry", ""},
	{"POST", "/admin/transactions/A1/cancel", `{"reason": "test"}`},
	{"GET", "/admin/counts", ""},
}

// Without ADMIN_TOKEN every admin route answers 403; with it, a missing or
// wrong bearer token answers 401, and nothing changes.
func TestAdminAuth(t *testing.T) {
	off := newAdminServer(t, "")
	off.insert(t, "A1", bridge.StateDead, bridge.EventBirth, bridge.OpenCRVS18)
	on := newAdminServer(t, testAdminToken)
	on.insert(t, "A1", bridge.StateDead, bridge.EventBirth, bridge.OpenCRVS18)
	for _, r := range adminRoutes {
		for _, token := range []string{"", "anything", testAdminToken} {
			st, h, body := off.call(t, r.method, r.path, token, r.body, nil)
			wantProblem(t, "admin off: "+r.method+" "+r.path, st, h, body, http.StatusForbidden, bridge.EForbidden, "")
		}
		for _, token := range []string{"", "wrong", testAdminToken + "x", strings.TrimSuffix(testAdminToken, "9")} {
			st, h, body := on.call(t, r.method, r.path, token, r.body, nil)
			wantProblem(t, fmt.Sprintf("token %q: %s %s", token, r.method, r.path), st, h, body, http.StatusUnauthorized, bridge.EUnauthorized, "Authorization")
			if h.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", r.method, r.path)
			}
		}
	}
	for _, s := range []*adminServer{off, on} {
		if tr, _ := s.store.Transaction(t.Context(), "A1"); tr.State != bridge.StateDead {
			t.Errorf("after refused calls the transaction is %s", tr.State)
		}
	}
	// The scheme is not case-sensitive; other schemes are refused.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", on.url+"/admin/counts", nil)
	req.Header.Set("Authorization", "bearer "+testAdminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req.Header.Set("Authorization", "Basic "+testAdminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// Every admin endpoint, through HTTP: listing with each filter and across
// pages, finding by each identifier, showing, retrying (DEAD and refused),
// cancelling and counting; problem JSON for every error; no answer holds a
// token, a UIN or a name.
func TestAdminEndpoints(t *testing.T) {
	s := newAdminServer(t, testAdminToken)
	specs := []struct {
		id      string
		state   bridge.State
		kind    bridge.EventKind
		version bridge.OpenCRVSVersion
	}{
		{"A1", bridge.StateConfirmed, bridge.EventBirth, bridge.OpenCRVS18},
		{"A2", bridge.StateDead, bridge.EventDeath, bridge.OpenCRVS18},
		{"A3", bridge.StateRejectedByMOSIP, bridge.EventBirth, bridge.OpenCRVS19},
		{"A4", bridge.StateQueued, bridge.EventBirth, bridge.OpenCRVS18},
		{"A5", bridge.StateSubmitted, bridge.EventDeath, bridge.OpenCRVS19},
		{"A6", bridge.StateDead, bridge.EventBirth, bridge.OpenCRVS19},
	}
	for _, sp := range specs {
		s.insert(t, sp.id, sp.state, sp.kind, sp.version)
		s.now = s.now.Add(time.Minute)
	}
	list := func(query string) admin.Page {
		t.Helper()
		var page admin.Page
		if st, _, body := s.call(t, "GET", "/admin/transactions?"+query, testAdminToken, "", &page); st != http.StatusOK {
			t.Fatalf("GET /admin/transactions?%s: %d %s", query, st, body)
		}
		return page
	}
	ids := func(p admin.Page) []string {
		var out []string
		for _, v := range p.Transactions {
			out = append(out, v.ID)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"A6", "A5", "A4", "A3", "A2", "A1"}},
		{"state=dead", []string{"A6", "A2"}},
		{"kind=death", []string{"A5", "A2"}},
		{"version=1.9", []string{"A6", "A5", "A3"}},
		{"state=DEAD&kind=birth&version=1.9", []string{"A6"}},
		{"older_than=1h", nil},
		{"older_than=0s", []string{"A6", "A5", "A4", "A3", "A2", "A1"}},
		{"q=A3", []string{"A3"}},
		{"q=TA3", []string{"A3"}},
		{"q=RA3", []string{"A3"}},
		{"q=rec-A3", []string{"A3"}},
		{"q=" + url.QueryEscape("nobody"), nil},
	} {
		if diff := cmp.Diff(tt.want, ids(list(tt.query))); diff != "" {
			t.Errorf("GET /admin/transactions?%s (-want +got):\n%s", tt.query, diff)
		}
	}
	var paged []string
	query := "limit=4"
	for i := 0; i < 5; i++ {
		page := list(query)
		paged = append(paged, ids(page)...)
		if page.NextCursor == "" {
			break
		}
		query = "limit=4&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if diff := cmp.Diff([]string{"A6", "A5", "A4", "A3", "A2", "A1"}, paged); diff != "" {
		t.Errorf("pages of 4 (-want +got):\n%s", diff)
	}
	for param, value := range map[string]string{"state": "LOST", "kind": "marriage", "version": "2", "older_than": "soon", "limit": "1001", "cursor": "x"} {
		st, h, body := s.call(t, "GET", "/admin/transactions?"+param+"="+value, testAdminToken, "", nil)
		wantProblem(t, param+"="+value, st, h, body, http.StatusBadRequest, bridge.EInvalid, param)
	}

	// Show: the event log and the last error.
	var d admin.Detail
	if st, _, body := s.call(t, "GET", "/admin/transactions/A2", testAdminToken, "", &d); st != http.StatusOK {
		t.Fatalf("show: %d %s", st, body)
	}
	if d.ID != "A2" || len(d.Events) != 2 || d.LastError != "MOSIP said no (DEAD)" || d.Retry == "" || !d.CanCancel {
		t.Errorf("show A2: %+v", d)
	}
	st, h, body := s.call(t, "GET", "/admin/transactions/NONE", testAdminToken, "", nil)
	wantProblem(t, "show of an unknown transaction", st, h, body, http.StatusNotFound, bridge.ENotFound, "")

	// Retry: DEAD resumes; REJECTED_BY_MOSIP is resubmitted under a new AID.
	var v pipeline.TransactionView
	if st, _, body := s.call(t, "POST", "/admin/transactions/A2/retry", testAdminToken, "", &v); st != http.StatusOK || v.ID != "A2" || v.State != bridge.StateQueued {
		t.Errorf("retry of DEAD A2: %d %s", st, body)
	}
	if st, _, body := s.call(t, "POST", "/admin/transactions/A3/retry", testAdminToken, "", &v); st != http.StatusOK || v.ID == "A3" || v.State != bridge.StateQueued || v.RecordID != "rec-A3" {
		t.Errorf("retry of REJECTED_BY_MOSIP A3: %d %s", st, body)
	}
	if got := ids(list("q=rec-A3")); len(got) != 2 || got[0] != v.ID || got[1] != "A3" {
		t.Errorf("the record of A3 has transactions %v, want %s then A3", got, v.ID)
	}
	if got := ids(list("state=CANCELLED")); len(got) != 1 || got[0] != "A3" {
		t.Errorf("cancelled: %v, want A3 (replaced by its resubmission)", got)
	}
	st, h, body = s.call(t, "POST", "/admin/transactions/A1/retry", testAdminToken, "", nil)
	wantProblem(t, "retry of CONFIRMED", st, h, body, http.StatusConflict, bridge.EConflict, "")
	st, h, body = s.call(t, "POST", "/admin/transactions/NONE/retry", testAdminToken, "", nil)
	wantProblem(t, "retry of an unknown transaction", st, h, body, http.StatusNotFound, bridge.ENotFound, "")

	// Cancel: a reason is required; finished transactions cannot be.
	for _, b := range []string{"", "{}", `{"reason": "  "}`} {
		st, h, body := s.call(t, "POST", "/admin/transactions/A4/cancel", testAdminToken, b, nil)
		wantProblem(t, "cancel with body "+b, st, h, body, http.StatusBadRequest, bridge.EInvalid, "reason")
	}
	st, h, body = s.call(t, "POST", "/admin/transactions/A4/cancel", testAdminToken, `{"reason": `, nil)
	wantProblem(t, "cancel with broken JSON", st, h, body, http.StatusBadRequest, bridge.EInvalid, "")
	if st, _, body := s.call(t, "POST", "/admin/transactions/A4/cancel", testAdminToken, `{"reason": "sent twice by mistake"}`, &v); st != http.StatusOK || v.State != bridge.StateCancelled {
		t.Errorf("cancel A4: %d %s", st, body)
	}
	if st, _, _ := s.call(t, "GET", "/admin/transactions/A4", testAdminToken, "", &d); st != http.StatusOK || !strings.Contains(d.Events[len(d.Events)-1].Reason, "sent twice by mistake") || d.CanCancel {
		t.Errorf("A4 after the cancellation: %+v", d)
	}
	for _, id := range []string{"A4", "A1"} {
		st, h, body := s.call(t, "POST", "/admin/transactions/"+id+"/cancel", testAdminToken, `{"reason": "again"}`, nil)
		wantProblem(t, "cancel of finished "+id, st, h, body, http.StatusConflict, bridge.EConflict, "")
	}
	st, h, body = s.call(t, "POST", "/admin/transactions/NONE/cancel", testAdminToken, `{"reason": "x"}`, nil)
	wantProblem(t, "cancel of an unknown transaction", st, h, body, http.StatusNotFound, bridge.ENotFound, "")

	// Counts.
	var c admin.Counts
	if st, _, body := s.call(t, "GET", "/admin/counts", testAdminToken, "", &c); st != http.StatusOK {
		t.Fatalf("counts: %d %s", st, body)
	}
	want := map[bridge.State]int{bridge.StateConfirmed: 1, bridge.StateQueued: 2, bridge.StateCancelled: 2, bridge.StateSubmitted: 1, bridge.StateDead: 1}
	for _, st := range bridge.States {
		if c.ByState[st] != want[st] {
			t.Errorf("counts: %s = %d, want %d", st, c.ByState[st], want[st])
		}
	}
	if c.Waiting != 3 || c.OldestWaitingID != "A2" {
		t.Errorf("counts: %d waiting, the oldest %q; want 3 and A2", c.Waiting, c.OldestWaitingID)
	}

	// No answer shows a token, a UIN or a name.
	for _, b := range s.bodies {
		for _, secret := range []string{"record-token-", "uin-", "Grace Hopper", testAdminToken} {
			if strings.Contains(b, secret) {
				t.Errorf("an admin answer holds %q: %s", secret, b)
			}
		}
	}
}
