package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type fixture struct {
	svc   *Service
	store *store.Store
	clock *clock
}

// newFixture is the service on a real database in t.TempDir(), with a job
// runner that is not started: the jobs a change schedules are rows to look
// at.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{now: t0}
	st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "m.sqlite"), Synchronous: "NORMAL", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(jobs.Config{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Service{Store: st, Jobs: runner, Now: clk.Now, AID: store.AIDFormat{Kind: store.AIDPrefixed, Prefix: "10001"}}
	return &fixture{svc: &Service{Store: st, Pipeline: p, Now: clk.Now}, store: st, clock: clk}
}

// tx stores a transaction created at t0+minute in state st (through the
// transitions it takes to get there).
type txSpec struct {
	id      string
	minute  int
	state   bridge.State
	kind    bridge.EventKind
	version bridge.OpenCRVSVersion
}

func (f *fixture) insert(t *testing.T, sp txSpec) {
	t.Helper()
	ctx := t.Context()
	f.clock.set(t0.Add(time.Duration(sp.minute) * time.Minute))
	tr := &bridge.Transaction{
		ID: sp.id, Kind: cmpOr(sp.kind, bridge.EventBirth), Version: cmpOr(sp.version, bridge.OpenCRVS18), Intake: bridge.IntakeMapped,
		RecordID: "rec-" + sp.id, TrackingID: "T" + sp.id, RegistrationNumber: "R" + sp.id, State: bridge.StateQueued,
		Token:  "secret-token-" + sp.id,
		Packet: bridge.Packet{Process: bridge.ProcessNew, Fields: map[string]json.RawMessage{"fullName": json.RawMessage(`"Ada Lovelace"`)}},
	}
	if err := f.store.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:T"+sp.id, "accepted") }); err != nil {
		t.Fatal(err)
	}
	path := map[bridge.State][]bridge.State{
		bridge.StateSubmitted:       {bridge.StateSubmitted},
		bridge.StateIssued:          {bridge.StateSubmitted, bridge.StateIssued},
		bridge.StateConfirmed:       {bridge.StateSubmitted, bridge.StateIssued, bridge.StateConfirmed},
		bridge.StateRejectedByMOSIP: {bridge.StateSubmitted, bridge.StateRejectedByMOSIP},
		bridge.StateReported:        {bridge.StateSubmitted, bridge.StateRejectedByMOSIP, bridge.StateReported},
		bridge.StateDead:            {bridge.StateDead},
	}[sp.state]
	from := bridge.StateQueued
	for _, to := range path {
		c := store.Change{From: []bridge.State{from}, To: to, Reason: "test"}
		if to == bridge.StateDead {
			msg := "create packet: HTTP 503"
			c.LastError = &msg
		}
		if to == bridge.StateRejectedByMOSIP {
			msg, why := "MOSIP status REJECTED", "the record failed MOSIP's checks"
			c.LastError, c.RejectReason = &msg, &why
		}
		if to == bridge.StateConfirmed || to == bridge.StateReported {
			c.ClearToken = true
		}
		if ok, err := f.store.Transition(ctx, sp.id, c); !ok || err != nil {
			t.Fatalf("%s: %s -> %s: %v %v", sp.id, from, to, ok, err)
		}
		from = to
	}
}

func cmpOr[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

// jobsFor counts the jobs of kind scheduled for transaction id.
func (f *fixture) jobsFor(t *testing.T, kind, id string) int {
	t.Helper()
	var n int
	err := f.store.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1 AND json_extract(args, '$.transaction_id') = $2`, kind, id).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func ids(views []pipeline.TransactionView) []string {
	var out []string
	for _, v := range views {
		out = append(out, v.ID)
	}
	return out
}

func wantCode(t *testing.T, what string, err error, code bridge.ErrorCode, field string) {
	t.Helper()
	var e *bridge.Error
	if bridge.ErrorCodeOf(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
		return
	}
	if field != "" && (!errors.As(err, &e) || e.Field != field) {
		t.Errorf("%s: %v, want it about %s", what, err, field)
	}
}

// Listing filters by every criterion, finds a transaction by each of its
// identifiers, and pages with cursors through every transaction once.
func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for _, sp := range []txSpec{
		{id: "X1", minute: 1, state: bridge.StateConfirmed},
		{id: "X2", minute: 2, state: bridge.StateDead, kind: bridge.EventDeath},
		{id: "X3", minute: 3, state: bridge.StateQueued, version: bridge.OpenCRVS19},
		{id: "X4", minute: 4, state: bridge.StateDead, version: bridge.OpenCRVS19},
		{id: "X5", minute: 5, state: bridge.StateSubmitted, kind: bridge.EventDeath},
		{id: "X6", minute: 6, state: bridge.StateReported},
		{id: "X7", minute: 7, state: bridge.StateQueued},
	} {
		f.insert(t, sp)
	}
	f.clock.set(t0.Add(10 * time.Minute))
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"everything", Query{}, []string{"X7", "X6", "X5", "X4", "X3", "X2", "X1"}},
		{"state", Query{State: bridge.StateDead}, []string{"X4", "X2"}},
		{"kind", Query{Kind: bridge.EventDeath}, []string{"X5", "X2"}},
		{"version", Query{Version: "1.9"}, []string{"X4", "X3"}},
		{"state and version", Query{State: bridge.StateDead, Version: "1.8"}, []string{"X2"}},
		{"older than", Query{OlderThan: 6 * time.Minute}, []string{"X3", "X2", "X1"}},
		{"AID", Query{Search: "X4"}, []string{"X4"}},
		{"tracking id", Query{Search: "TX4"}, []string{"X4"}},
		{"registration number", Query{Search: " RX4 "}, []string{"X4"}},
		{"OpenCRVS record id", Query{Search: "rec-X4"}, []string{"X4"}},
		{"search and another state", Query{Search: "X4", State: bridge.StateQueued}, nil},
	}
	for _, tt := range tests {
		page, err := f.svc.List(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, ids(page.Transactions)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if page.NextCursor != "" {
			t.Errorf("%s: a next cursor on the only page", tt.name)
		}
	}

	// Three pages of three, the last one short; a transaction created
	// meanwhile does not shift them.
	var got []string
	q := Query{Limit: 3}
	for i := 0; ; i++ {
		page, err := f.svc.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page.Transactions)...)
		if i == 0 {
			f.insert(t, txSpec{id: "X8", minute: 8, state: bridge.StateQueued})
		}
		if page.NextCursor == "" || i == 5 {
			break
		}
		q.Cursor = page.NextCursor
	}
	if diff := cmp.Diff([]string{"X7", "X6", "X5", "X4", "X3", "X2", "X1"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	// A page that ends exactly at the last transaction says so.
	page, err := f.svc.List(ctx, Query{State: bridge.StateDead, Limit: 2})
	if err != nil || len(page.Transactions) != 2 || page.NextCursor != "" {
		t.Errorf("a full last page: %v, cursor %q, %v", ids(page.Transactions), page.NextCursor, err)
	}

	for name, bad := range map[string]struct {
		q     Query
		field string
	}{
		"state":   {Query{State: "LOST"}, "state"},
		"kind":    {Query{Kind: "marriage"}, "kind"},
		"version": {Query{Version: "2.0"}, "version"},
		"age":     {Query{OlderThan: -time.Hour}, "older_than"},
		"limit":   {Query{Limit: MaxLimit + 1}, "limit"},
		"cursor":  {Query{Cursor: "not-a-cursor"}, "cursor"},
		"search":  {Query{Search: strings.Repeat("1", 201)}, "q"},
	} {
		_, err := f.svc.List(ctx, bad.q)
		wantCode(t, "bad "+name, err, bridge.EInvalid, bad.field)
	}
}

// Query parameters read into a Query and back.
func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(url.Values{"state": {"dead"}, "kind": {"Death"}, "version": {"1.9"}, "older_than": {"2d"},
		"q": {" 123 "}, "limit": {"20"}, "cursor": {encodeCursor(store.Position{CreatedAt: t0, ID: "X1"})}})
	if err != nil {
		t.Fatal(err)
	}
	want := Query{State: bridge.StateDead, Kind: bridge.EventDeath, Version: "1.9", OlderThan: 48 * time.Hour, Search: "123", Limit: 20,
		Cursor: encodeCursor(store.Position{CreatedAt: t0, ID: "X1"})}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("ParseQuery (-want +got):\n%s", diff)
	}
	if again, err := ParseQuery(q.Values()); err != nil || again != q {
		t.Errorf("ParseQuery(Values()) = %+v, %v; want %+v", again, err, q)
	}
	if q, err := ParseQuery(url.Values{"older_than": {"90m"}}); err != nil || q.OlderThan != 90*time.Minute {
		t.Errorf("older_than=90m: %v %v", q.OlderThan, err)
	}
	for param, value := range map[string]string{
		"state": "nope", "kind": "marriage", "version": "1", "older_than": "soon", "limit": "0", "cursor": "%%%",
	} {
		_, err := ParseQuery(url.Values{param: {value}})
		wantCode(t, param+"="+value, err, bridge.EInvalid, param)
	}
	if _, err := ParseQuery(url.Values{"limit": {"1001"}}); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("limit=1001: %v", err)
	}
}

// Show gives the event log, the last error, what a retry would do, and
// the record's other transactions; never the token or the packet.
func TestShow(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.insert(t, txSpec{id: "S1", minute: 1, state: bridge.StateDead})
	f.clock.set(t0.Add(31 * time.Minute))
	d, err := f.svc.Show(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != bridge.StateDead || d.LastError != "create packet: HTTP 503" || len(d.Events) != 2 || d.Events[1].To != bridge.StateDead {
		t.Errorf("Show: %+v", d)
	}
	if d.Retry != "resume in QUEUED with fresh attempts" || !d.CanCancel || d.Age != 30*time.Minute || d.AgeSeconds != 1800 {
		t.Errorf("Show: retry %q, can cancel %v, age %s (%ds)", d.Retry, d.CanCancel, d.Age, d.AgeSeconds)
	}
	body, _ := json.Marshal(d)
	for _, secret := range []string{"secret-token", "Ada Lovelace"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("Show's JSON has %q: %s", secret, body)
		}
	}
	if !strings.Contains(string(body), `"lastError":"create packet: HTTP 503"`) || !strings.Contains(string(body), `"ageSeconds":1800`) {
		t.Errorf("Show's JSON: %s", body)
	}
	_, err = f.svc.Show(ctx, "NONE")
	wantCode(t, "Show of an unknown transaction", err, bridge.ENotFound, "")
}

// A DEAD transaction resumes in the state it died in, with its job.
func TestRetryDead(t *testing.T) {
	f := newFixture(t)
	f.insert(t, txSpec{id: "D1", state: bridge.StateDead})
	before := f.jobsFor(t, "submit", "D1")
	v, err := f.svc.Retry(t.Context(), "D1", "test")
	if err != nil || v.ID != "D1" || v.State != bridge.StateQueued {
		t.Fatalf("Retry = %+v, %v; want D1 QUEUED", v, err)
	}
	if n := f.jobsFor(t, "submit", "D1"); n != before+1 {
		t.Errorf("submit jobs: %d, want %d", n, before+1)
	}
}

// A transaction MOSIP refused, OpenCRVS not told yet, is resubmitted under
// a new AID that takes over the record; the refused one is cancelled and
// keeps no token.
func TestRetryRejected(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.insert(t, txSpec{id: "J1", state: bridge.StateRejectedByMOSIP, version: bridge.OpenCRVS19})
	v, err := f.svc.Retry(ctx, "J1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "J1" || v.State != bridge.StateQueued || v.RecordID != "rec-J1" || v.TrackingID != "TJ1" || v.OpenCRVSVersion != bridge.OpenCRVS19 || v.Attempts != 0 || v.RejectReason != "" {
		t.Errorf("resubmitted: %+v, want a new QUEUED transaction for the record", v)
	}
	if n := f.jobsFor(t, "submit", v.ID); n != 1 {
		t.Errorf("submit jobs of %s: %d, want 1", v.ID, n)
	}
	next, err := f.store.TransactionWithPacket(ctx, v.ID)
	if err != nil || next.Token != "secret-token-J1" || next.Packet.Process != bridge.ProcessNew {
		t.Errorf("the new transaction: %+v, %v; want the refused one's token and packet", next, err)
	}
	old, err := f.svc.Show(ctx, "J1")
	if err != nil || old.State != bridge.StateCancelled || old.Retry != "" || old.CanCancel {
		t.Fatalf("the refused transaction: %+v, %v; want CANCELLED", old, err)
	}
	if last := old.Events[len(old.Events)-1]; !strings.Contains(last.Reason, "resubmitted to MOSIP as "+v.ID) {
		t.Errorf("the refused transaction's last event: %+v", last)
	}
	if tr, _ := f.store.Transaction(ctx, "J1"); tr.Token != "" {
		t.Error("the refused transaction kept its token")
	}
	if len(old.Related) != 1 || old.Related[0].ID != v.ID {
		t.Errorf("related of J1: %v, want %s", ids(old.Related), v.ID)
	}
	// The new transaction holds the record: a resend finds it.
	err = f.store.InTx(ctx, func(tx *store.Tx) error {
		live, err := tx.LiveByDedupeKey(ctx, "birth:TJ1")
		if err == nil && (live == nil || live.ID != v.ID) {
			err = fmt.Errorf("live transaction %v, want %s", live, v.ID)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// Only DEAD and REJECTED_BY_MOSIP transactions are retried.
func TestRetryRefused(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.insert(t, txSpec{id: "R1", state: bridge.StateReported})
	f.insert(t, txSpec{id: "R2", state: bridge.StateConfirmed})
	f.insert(t, txSpec{id: "R3", state: bridge.StateSubmitted})
	_, err := f.svc.Retry(ctx, "R1", "test")
	wantCode(t, "retry of REPORTED", err, bridge.EConflict, "")
	if err == nil || !strings.Contains(err.Error(), "send the record again from OpenCRVS") {
		t.Errorf("retry of REPORTED: %v, want the way out", err)
	}
	for _, id := range []string{"R2", "R3"} {
		_, err := f.svc.Retry(ctx, id, "test")
		wantCode(t, "retry of "+id, err, bridge.EConflict, "")
	}
	_, err = f.svc.Retry(ctx, "NONE", "test")
	wantCode(t, "retry of an unknown transaction", err, bridge.ENotFound, "")
}

// Cancelling needs a reason, ends any unfinished transaction (DEAD too),
// logs the reason, forgets the token and schedules nothing.
func TestCancel(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for i, st := range []bridge.State{bridge.StateQueued, bridge.StateSubmitted, bridge.StateIssued, bridge.StateRejectedByMOSIP, bridge.StateDead} {
		f.insert(t, txSpec{id: fmt.Sprintf("C%d", i), state: st})
	}
	f.insert(t, txSpec{id: "F1", state: bridge.StateConfirmed})
	f.insert(t, txSpec{id: "F2", state: bridge.StateReported})

	for _, reason := range []string{"", "   ", strings.Repeat("x", 501)} {
		_, err := f.svc.Cancel(ctx, "C0", reason, "test")
		wantCode(t, fmt.Sprintf("cancel with reason %.10q", reason), err, bridge.EInvalid, "reason")
	}
	for i := range 5 {
		id := fmt.Sprintf("C%d", i)
		jobs := f.jobsFor(t, "submit", id) + f.jobsFor(t, "confirm", id) + f.jobsFor(t, "reject", id)
		v, err := f.svc.Cancel(ctx, id, "  duplicate of another record \n", "test")
		if err != nil || v.State != bridge.StateCancelled {
			t.Fatalf("cancel %s: %+v, %v", id, v, err)
		}
		d, _ := f.svc.Show(ctx, id)
		if last := d.Events[len(d.Events)-1]; last.To != bridge.StateCancelled || last.Reason != "cancelled by an operator (test): duplicate of another record" {
			t.Errorf("%s: last event %+v", id, last)
		}
		if tr, _ := f.store.Transaction(ctx, id); tr.Token != "" {
			t.Errorf("%s kept its token", id)
		}
		if n := f.jobsFor(t, "submit", id) + f.jobsFor(t, "confirm", id) + f.jobsFor(t, "reject", id); n != jobs {
			t.Errorf("%s: %d jobs after the cancellation, %d before", id, n, jobs)
		}
	}
	for _, id := range []string{"C0", "F1", "F2"} {
		_, err := f.svc.Cancel(ctx, id, "again", "test")
		wantCode(t, "cancel of finished "+id, err, bridge.EConflict, "")
	}
	_, err := f.svc.Cancel(ctx, "NONE", "why", "test")
	wantCode(t, "cancel of an unknown transaction", err, bridge.ENotFound, "")
}

// Counts has every state, the waiting total and the oldest waiting one.
func TestCounts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	c, err := f.svc.Counts(ctx)
	if err != nil || c.Waiting != 0 || c.OldestWaiting != 0 || c.OldestWaitingID != "" || len(c.ByState) != len(bridge.States) {
		t.Fatalf("Counts of nothing: %+v, %v", c, err)
	}
	f.insert(t, txSpec{id: "N1", minute: 0, state: bridge.StateDead})
	f.insert(t, txSpec{id: "N2", minute: 5, state: bridge.StateSubmitted})
	f.insert(t, txSpec{id: "N3", minute: 6, state: bridge.StateQueued})
	f.insert(t, txSpec{id: "N4", minute: 7, state: bridge.StateConfirmed})
	f.clock.set(t0.Add(65 * time.Minute))
	c, err = f.svc.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[bridge.State]int{}
	for _, st := range bridge.States {
		want[st] = 0
	}
	want[bridge.StateDead], want[bridge.StateSubmitted], want[bridge.StateQueued], want[bridge.StateConfirmed] = 1, 1, 1, 1
	if diff := cmp.Diff(want, c.ByState); diff != "" {
		t.Errorf("ByState (-want +got):\n%s", diff)
	}
	if c.Waiting != 2 || c.OldestWaiting != time.Hour || c.OldestWaitingSeconds != 3600 || c.OldestWaitingID != "N2" || !c.At.Equal(t0.Add(65*time.Minute)) {
		t.Errorf("Counts: %+v, want 2 waiting, the oldest N2 for an hour", c)
	}
}

// Throughput is one point per step up to the current one, aligned.
func TestThroughput(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.insert(t, txSpec{id: "P1", minute: 1, state: bridge.StateConfirmed})
	f.insert(t, txSpec{id: "P2", minute: 2, state: bridge.StateDead})
	f.insert(t, txSpec{id: "P3", minute: 2, state: bridge.StateQueued})
	f.clock.set(t0.Add(2*time.Minute + 30*time.Second))
	points, err := f.svc.Throughput(ctx, 3*time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{
		{At: t0, Received: 0},
		{At: t0.Add(time.Minute), Received: 1, Completed: 1},
		{At: t0.Add(2 * time.Minute), Received: 2, Failed: 1},
	}
	if diff := cmp.Diff(want, points); diff != "" {
		t.Errorf("Throughput (-want +got):\n%s", diff)
	}
	if points, err := f.svc.Throughput(ctx, time.Hour, time.Minute); err != nil || len(points) != 60 {
		t.Errorf("an hour per minute: %d points, %v", len(points), err)
	}
	for _, bad := range [][2]time.Duration{{time.Hour, 0}, {time.Minute, time.Hour}, {48 * time.Hour, time.Minute}} {
		_, err := f.svc.Throughput(ctx, bad[0], bad[1])
		wantCode(t, fmt.Sprintf("window %s step %s", bad[0], bad[1]), err, bridge.EInvalid, "")
	}
}
