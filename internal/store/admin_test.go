package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// queryPlan returns the lines of SQLite's plan for query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// Every combination of filters lists through an index that yields rows in
// the listing's order (no full scan, no sort), picked by the filter that
// goes first (search, state, kind, version); only a search sorts, the few
// rows the identifier indexes find.
func TestListTransactionsPlans(t *testing.T) {
	s := mustOpen(t, nil)
	now := time.Now()
	// Enough rows that the planner has something to choose between.
	for i := range 200 {
		insertIn(t, s, fmt.Sprintf("P%03d", i), []bridge.State{bridge.StateQueued, bridge.StateDead}[i%2])
	}
	for mask := range 1 << 6 {
		var q ListQuery
		var set []string
		if mask&1 != 0 {
			q.Search, set = "T123", append(set, "search")
		}
		if mask&2 != 0 {
			q.State, set = bridge.StateDead, append(set, "state")
		}
		if mask&4 != 0 {
			q.Kind, set = bridge.EventDeath, append(set, "kind")
		}
		if mask&8 != 0 {
			q.Version, set = bridge.OpenCRVS19, append(set, "version")
		}
		if mask&16 != 0 {
			q.CreatedBefore, set = now, append(set, "older than")
		}
		if mask&32 != 0 {
			q.After, set = &Position{CreatedAt: now.Add(-time.Hour), ID: "P100"}, append(set, "after")
		}
		query, args := listQuery(q)
		plan := queryPlan(t, s, query, args...)
		text := strings.Join(plan, "\n")
		name := strings.Join(set, "+")
		var want string
		switch {
		case q.Search != "":
			want = "MULTI-INDEX OR"
		case q.State != "":
			want = "SEARCH transactions USING INDEX transactions_state_created (state=?"
		case q.Kind != "":
			want = "SEARCH transactions USING INDEX transactions_kind_created (event_kind=?"
		case q.Version != "":
			want = "SEARCH transactions USING INDEX transactions_version_created (opencrvs_version=?"
		case q.CreatedBefore.IsZero() && q.After == nil:
			want = "SCAN transactions USING INDEX transactions_created"
		default:
			want = "SEARCH transactions USING INDEX transactions_created ("
		}
		if !strings.HasPrefix(plan[0], want) {
			t.Errorf("%s: plan\n%s\nwant it to start with %q", name, text, want)
		}
		if sorts := strings.Contains(text, "TEMP B-TREE"); sorts != (q.Search != "") {
			t.Errorf("%s: plan\n%s\nsorts: %v", name, text, sorts)
		}
		for _, line := range plan {
			if line == "SCAN transactions" {
				t.Errorf("%s: a full scan:\n%s", name, text)
			}
		}
		if q.Search != "" && strings.Count(text, "SEARCH transactions USING") != 4 {
			t.Errorf("%s: plan\n%s\nwant the four identifier indexes", name, text)
		}
	}
}

// Listing pages newest first, filters, finds a transaction by each of its
// identifiers, and continues exactly where a page ended.
func TestListTransactions(t *testing.T) { bothStores(t, testListTransactions) }

func testListTransactions(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	type spec struct {
		id      string
		state   bridge.State
		kind    bridge.EventKind
		version bridge.OpenCRVSVersion
	}
	specs := []spec{
		{"A1", bridge.StateQueued, bridge.EventBirth, bridge.OpenCRVS18},
		{"A2", bridge.StateDead, bridge.EventBirth, bridge.OpenCRVS19},
		{"A3", bridge.StateDead, bridge.EventDeath, bridge.OpenCRVS18},
		{"A4", bridge.StateConfirmed, bridge.EventDeath, bridge.OpenCRVS19},
		{"A5", bridge.StateQueued, bridge.EventBirth, bridge.OpenCRVS18},
		{"A6", bridge.StateDead, bridge.EventBirth, bridge.OpenCRVS18},
	}
	for i, sp := range specs {
		// A1 and A2 share a millisecond: the AID orders them.
		clk.set(t0.Add(time.Duration(max(i, 1)) * time.Minute))
		tr := sampleTransaction(sp.id, "T"+sp.id)
		tr.Kind, tr.Version = sp.kind, sp.version
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "k:"+sp.id, "") }); err != nil {
			t.Fatal(err)
		}
		if sp.state != bridge.StateQueued {
			if ok, err := s.Transition(ctx, sp.id, Change{From: []bridge.State{bridge.StateQueued}, To: sp.state}); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
	}
	ids := func(list []*bridge.Transaction) []string {
		var out []string
		for _, tr := range list {
			out = append(out, tr.ID)
			if tr.Packet.Process != "" {
				t.Errorf("%s listed with its packet", tr.ID)
			}
		}
		return out
	}
	list := func(q ListQuery) []string {
		t.Helper()
		got, err := s.ListTransactions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got)
	}
	tests := []struct {
		name string
		q    ListQuery
		want []string
	}{
		{"all", ListQuery{}, []string{"A6", "A5", "A4", "A3", "A2", "A1"}},
		{"state", ListQuery{State: bridge.StateDead}, []string{"A6", "A3", "A2"}},
		{"kind", ListQuery{Kind: bridge.EventDeath}, []string{"A4", "A3"}},
		{"version", ListQuery{Version: bridge.OpenCRVS19}, []string{"A4", "A2"}},
		{"state and version", ListQuery{State: bridge.StateDead, Version: bridge.OpenCRVS18}, []string{"A6", "A3"}},
		{"state, kind and version", ListQuery{State: bridge.StateDead, Kind: bridge.EventBirth, Version: bridge.OpenCRVS19}, []string{"A2"}},
		{"older than", ListQuery{CreatedBefore: t0.Add(3 * time.Minute)}, []string{"A3", "A2", "A1"}},
		{"after", ListQuery{After: &Position{CreatedAt: t0.Add(3 * time.Minute), ID: "A4"}}, []string{"A3", "A2", "A1"}},
		{"after within a millisecond", ListQuery{After: &Position{CreatedAt: t0.Add(time.Minute), ID: "A2"}}, []string{"A1"}},
		{"after and an older age", ListQuery{After: &Position{CreatedAt: t0.Add(4 * time.Minute), ID: "A5"}, CreatedBefore: t0.Add(2 * time.Minute)}, []string{"A2", "A1"}},
		{"after and a younger age", ListQuery{After: &Position{CreatedAt: t0.Add(2 * time.Minute), ID: "A3"}, CreatedBefore: t0.Add(5 * time.Minute)}, []string{"A2", "A1"}},
		{"limit", ListQuery{Limit: 2}, []string{"A6", "A5"}},
		{"by AID", ListQuery{Search: "A3"}, []string{"A3"}},
		{"by tracking id", ListQuery{Search: "TA3"}, []string{"A3"}},
		{"by registration number", ListQuery{Search: "2026TA3"}, []string{"A3"}},
		{"by record id", ListQuery{Search: "rec-TA3"}, []string{"A3"}},
		{"search and state", ListQuery{Search: "TA3", State: bridge.StateQueued}, nil},
		{"search, state, age, after", ListQuery{Search: "TA3", State: bridge.StateDead, CreatedBefore: t0.Add(time.Hour), After: &Position{CreatedAt: t0.Add(time.Hour), ID: "Z"}}, []string{"A3"}},
		{"search matches nothing", ListQuery{Search: "T"}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, list(tt.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	// Paging by two: every transaction once, in order, even when one
	// changes state between pages.
	var paged []string
	var after *Position
	for range 10 {
		got, err := s.ListTransactions(ctx, ListQuery{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		paged = append(paged, ids(got)...)
		last := got[len(got)-1]
		after = &Position{CreatedAt: last.CreatedAt, ID: last.ID}
		clk.set(t0.Add(time.Hour))
		_, _ = s.Transition(ctx, "A1", Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted})
	}
	if diff := cmp.Diff([]string{"A6", "A5", "A4", "A3", "A2", "A1"}, paged); diff != "" {
		t.Errorf("paging (-want +got):\n%s", diff)
	}
}

// The counts the triggers keep match the transactions through inserts,
// transitions and deletions.
func TestStateCounts(t *testing.T) { bothStores(t, testStateCounts) }

func testStateCounts(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	check := func(when string) {
		t.Helper()
		want := map[bridge.State]int{}
		rows, err := s.rdb.QueryContext(ctx, `SELECT state, count(*) FROM transactions GROUP BY state`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var st bridge.State
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				t.Fatal(err)
			}
			want[st] = n
		}
		rows.Close()
		got, err := s.CountByState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: CountByState (-scan +kept):\n%s", when, diff)
		}
		for _, st := range bridge.States {
			if n, err := s.CountInState(ctx, st); n != want[st] || err != nil {
				t.Errorf("%s: CountInState(%s) = %d, %v; want %d", when, st, n, err, want[st])
			}
		}
	}
	check("empty")
	for i := range 6 {
		insertIn(t, s, fmt.Sprintf("C%d", i), bridge.StateQueued)
	}
	check("after inserts")
	for _, c := range []struct {
		id       string
		from, to bridge.State
	}{
		{"C0", bridge.StateQueued, bridge.StateSubmitted},
		{"C0", bridge.StateSubmitted, bridge.StateIssued},
		{"C0", bridge.StateIssued, bridge.StateConfirmed},
		{"C1", bridge.StateQueued, bridge.StateDead},
		{"C2", bridge.StateQueued, bridge.StateCancelled},
		{"C3", bridge.StateQueued, bridge.StateQueued},    // not a change of state
		{"C4", bridge.StateSubmitted, bridge.StateIssued}, // does not apply
	} {
		if _, err := s.Transition(ctx, c.id, Change{From: []bridge.State{c.from}, To: c.to}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.NoteAttempt(ctx, "C5", 1, "x"); err != nil { // an update that leaves the state
		t.Fatal(err)
	}
	check("after transitions")
	if _, err := s.db.ExecContext(ctx, `DELETE FROM transaction_events WHERE transaction_id = 'C1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM transactions WHERE id = 'C1'`); err != nil {
		t.Fatal(err)
	}
	check("after a deletion")
	if db.pg {
		return // the plans are SQLite's
	}
	if plan := queryPlan(t, s, `SELECT state, n FROM transaction_state_counts WHERE n > 0`); len(plan) != 1 || !strings.HasPrefix(plan[0], "SCAN transaction_state_counts") {
		t.Errorf("counting reads %v, want the counts table only", plan)
	}
}

// A cancelled transaction no longer holds its record's dedupe key: the
// record may come again.
func TestCancelledFreesTheDedupeKey(t *testing.T) { bothStores(t, testCancelledFreesTheDedupeKey) }

func testCancelledFreesTheDedupeKey(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	insertIn(t, s, "K1", bridge.StateCancelled)
	err := s.InTx(ctx, func(tx *Tx) error {
		live, err := tx.LiveByDedupeKey(ctx, "birth:TK1")
		if err != nil || live != nil {
			return fmt.Errorf("LiveByDedupeKey = %v, %v; want none", live, err)
		}
		return tx.Insert(ctx, sampleTransaction("K2", "TK1"), "birth:TK1", "sent again")
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, sampleTransaction("K3", "TK1"), "birth:TK1", "") })
	if bridge.ErrorCodeOf(err) != bridge.EConflict {
		t.Errorf("a second live transaction for the key: %v, want a conflict", err)
	}
	if db.pg {
		return // the plans are SQLite's
	}
	if plan := queryPlan(t, s, `SELECT id FROM transactions WHERE dedupe_key = $1 AND state NOT IN ('REPORTED', 'CANCELLED')`, "k"); !strings.Contains(plan[0], "transactions_dedupe") {
		t.Errorf("LiveByDedupeKey's plan %v does not use the dedupe index", plan)
	}
}

// The oldest waiting transaction is found with one index entry per state.
func TestOldestWaiting(t *testing.T) { bothStores(t, testOldestWaiting) }

func testOldestWaiting(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	waiting := []bridge.State{bridge.StateQueued, bridge.StateSubmitted}
	if p, err := s.OldestWaiting(ctx, waiting); p != nil || err != nil {
		t.Fatalf("OldestWaiting of none = %v, %v", p, err)
	}
	for i, st := range []bridge.State{bridge.StateDead, bridge.StateSubmitted, bridge.StateQueued} {
		clk.set(t0.Add(time.Duration(i) * time.Minute))
		insertIn(t, s, fmt.Sprintf("O%d", i), st)
	}
	p, err := s.OldestWaiting(ctx, waiting)
	if err != nil || p == nil || p.ID != "O1" || !p.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("OldestWaiting = %+v, %v; want O1 (the DEAD one is older but not waiting)", p, err)
	}
	if db.pg {
		return // the plans are SQLite's
	}
	plan := queryPlan(t, s, `SELECT created_at, id FROM transactions WHERE state = $1 ORDER BY created_at, id LIMIT 1`, "QUEUED")
	if len(plan) != 1 || !strings.HasPrefix(plan[0], "SEARCH transactions USING COVERING INDEX transactions_state_created (state=?)") {
		t.Errorf("oldest in a state: plan %v", plan)
	}
}

// Throughput counts creations and outcomes per step, from the indexes of
// the window only.
func TestThroughput(t *testing.T) { bothStores(t, testThroughput) }

func testThroughput(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	at := func(d time.Duration) { clk.set(t0.Add(d)) }
	move := func(id string, from, to bridge.State) {
		t.Helper()
		if ok, err := s.Transition(ctx, id, Change{From: []bridge.State{from}, To: to}); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	at(-time.Minute) // before the window
	insertIn(t, s, "W0", bridge.StateQueued)
	at(10 * time.Second)
	insertIn(t, s, "W1", bridge.StateQueued)
	insertIn(t, s, "W2", bridge.StateQueued)
	move("W0", bridge.StateQueued, bridge.StateIssued)
	at(70 * time.Second)
	move("W0", bridge.StateIssued, bridge.StateConfirmed)
	move("W1", bridge.StateQueued, bridge.StateRejectedByMOSIP)
	insertIn(t, s, "W3", bridge.StateQueued)
	at(150 * time.Second)
	move("W2", bridge.StateQueued, bridge.StateDead)
	at(180 * time.Second) // after the window
	insertIn(t, s, "W4", bridge.StateQueued)
	move("W4", bridge.StateQueued, bridge.StateDead)

	got, err := s.Throughput(ctx, t0, time.Minute, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{Received: 2}, {Received: 1, Completed: 1, Failed: 1}, {Failed: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Throughput (-want +got):\n%s", diff)
	}
	if db.pg {
		return // the plans are SQLite's
	}

	for q, want := range map[string]string{
		`SELECT (created_at - $1) / $2, count(*) FROM transactions WHERE created_at >= $1 AND created_at < $3 GROUP BY 1`:                                                       "USING COVERING INDEX transactions_created (created_at>? AND created_at<?)",
		`SELECT (at - $1) / $2, to_state, count(*) FROM transaction_events WHERE to_state IN ('CONFIRMED', 'DEAD', 'REJECTED_BY_MOSIP') AND at >= $1 AND at < $3 GROUP BY 1, 2`: "USING COVERING INDEX transaction_events_outcomes (at>? AND at<?)",
	} {
		if plan := strings.Join(queryPlan(t, s, q, 0, 1, 2), "\n"); !strings.Contains(plan, want) {
			t.Errorf("throughput query %s\nplan %s\nwant %s", q, plan, want)
		}
	}
}
