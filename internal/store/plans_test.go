package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store/storetest"
)

// The store's cost per record must not grow with the history (issue 8).
// On a database holding a few thousand finished transactions and a few
// live ones, every method of Store and Tx the mediator calls per record,
// per sweep or per operator's page is driven once; every statement it
// sends is recorded and explained, and none may read history in full
// (plans_check_test.go says what that means on each database). Every
// exported method is either driven here or excluded with a reason, so a
// new one cannot be missed.
func TestQueryPlans(t *testing.T) { bothStores(t, testQueryPlans) }

// historySize is how many finished transactions the plans are checked on.
const historySize = 3000

// notDriven are the methods of Store and Tx TestQueryPlans does not drive,
// and why.
var notDriven = map[string]string{
	"Store.Announce":        "an advisory lock on a connection of its own: no table",
	"Store.CheckSchema":     "at start: reads the schema, not the history",
	"Store.Close":           "no statement",
	"Store.CountDeliveries": "tests only: counts every remembered WebSub delivery",
	"Store.Dialect":         "no statement",
	"Store.InDurableTx":     "runs the caller's statements (the Tx methods, driven here)",
	"Store.InTx":            "runs the caller's statements (the Tx methods, driven here)",
	"Store.List":            "tests only: sorts a state's transactions (operators list with ListTransactions)",
	"Store.Migrate":         "at start: changes the schema",
	"Store.NotifyQueue":     "no statement: wakes River in memory",
	"Store.Ping":            "no table",
	"Store.RiverDriver":     "no statement",
	"Store.Rotate":          "an operator's command after a key change: reads every token the store holds, by design",
	"Tx.AfterCommit":        "no statement",
	"Tx.SQL":                "no statement: the caller's (River's job inserts)",
}

func testQueryPlans(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	rec := newRecorder()
	key, err := GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	s := db.openWith(t, Config{Synchronous: "NORMAL", Now: clk.Now, Sealer: sealer, wrap: rec.wrap})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = storetest.Seed(ctx, s.db, s.pg, storetest.History{N: historySize, End: t0.Add(-time.Hour), PacketBytes: 300, Batch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if s.pg { // as autovacuum would have
		if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[bridge.StateConfirmed] + counts[bridge.StateReported] + counts[bridge.StateDead]; n != historySize {
		t.Fatalf("seeded %v, want %d finished transactions", counts, historySize)
	}

	// Live transactions, through the store's own methods.
	rid := AIDFormat{Kind: AIDRID, CentreID: "10001", MachineID: "10004"}
	live := func(tracking string, path ...bridge.State) string {
		t.Helper()
		var id string
		err := s.InDurableTx(ctx, func(tx *Tx) (err error) {
			if id, err = tx.NextAID(ctx, rid); err != nil {
				return err
			}
			return tx.Insert(ctx, sampleTransaction(id, tracking), "birth:"+tracking, "accepted")
		})
		if err != nil {
			t.Fatal(err)
		}
		from := bridge.StateQueued
		for _, to := range path {
			if ok, err := s.Transition(ctx, id, Change{From: []bridge.State{from}, To: to}); !ok || err != nil {
				t.Fatalf("%s -> %s: %v %v", from, to, ok, err)
			}
			from = to
		}
		return id
	}
	queued := live("PLAN-Q")
	submitted := live("PLAN-S", bridge.StateSubmitted)
	issued := live("PLAN-I", bridge.StateSubmitted)
	uin, vid := "7346597054", "4759308162938475"
	if ok, err := s.Transition(ctx, issued, Change{From: []bridge.State{bridge.StateSubmitted}, To: bridge.StateIssued, UIN: &uin, VID: &vid}); !ok || err != nil {
		t.Fatalf("-> ISSUED: %v %v", ok, err)
	}
	dead := live("PLAN-D", bridge.StateSubmitted, bridge.StateDead)

	inTx := func(fn func(tx *Tx) error) error { return s.InTx(ctx, fn) }
	waiting := []bridge.State{}
	for _, st := range bridge.States {
		if st.Waiting() {
			waiting = append(waiting, st)
		}
	}
	due := t0.Add(-time.Minute)
	submittedOnly := []bridge.State{bridge.StateSubmitted}
	drive := []struct {
		method string
		run    func() error
	}{
		// Intake: the dedupe check, the id, the insert; a resend's token.
		{"Tx.LiveByDedupeKey", func() error {
			return inTx(func(tx *Tx) error {
				_, err := tx.LiveByDedupeKey(ctx, "birth:PLAN-Q")
				return err
			})
		}},
		{"Tx.NextAID", func() error {
			return inTx(func(tx *Tx) error {
				if _, err := tx.NextAID(ctx, rid); err != nil {
					return err
				}
				_, err := tx.NextAID(ctx, AIDFormat{Kind: AIDPrefixed, Prefix: "10001"})
				return err
			})
		}},
		{"Tx.Insert", func() error {
			return inTx(func(tx *Tx) error {
				return tx.Insert(ctx, sampleTransaction("PLANNEW", "PLAN-NEW"), "birth:PLAN-NEW", "accepted")
			})
		}},
		{"Tx.SetToken", func() error { return inTx(func(tx *Tx) error { return tx.SetToken(ctx, queued, "token-2") }) }},
		{"Tx.SetActionID", func() error { return inTx(func(tx *Tx) error { return tx.SetActionID(ctx, queued, "action-2") }) }},
		// Lookups by AID, record, tracking id, registration number,
		// identity.
		{"Store.Transaction", func() error { _, err := s.Transaction(ctx, queued); return err }},
		{"Store.TransactionWithPacket", func() error { _, err := s.TransactionWithPacket(ctx, queued); return err }},
		{"Tx.Transaction", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.Transaction(ctx, queued); return err })
		}},
		{"Store.TraceParent", func() error { _, err := s.TraceParent(ctx, queued); return err }},
		{"Store.TransactionsByRecord", func() error { _, err := s.TransactionsByRecord(ctx, "rec-PLAN-Q"); return err }},
		{"Tx.History", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.History(ctx, bridge.EventBirth, "PLAN-Q"); return err })
		}},
		{"Store.DeathByRegistrationNumber", func() error { _, err := s.DeathByRegistrationNumber(ctx, "HIST000000000019"); return err }},
		{"Tx.RegistrationsOfIdentity", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.RegistrationsOfIdentity(ctx, uin, vid); return err })
		}},
		{"Tx.TransactionForResubmission", func() error {
			return inTx(func(tx *Tx) error { _, _, err := tx.TransactionForResubmission(ctx, dead); return err })
		}},
		// State changes: applied, refused (compare and set), to DEAD and
		// back; a failed attempt; how a transaction died.
		{"Store.Transition", func() error {
			_, err := s.Transition(ctx, queued, Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted, CheckAt: &due})
			if err != nil {
				return err
			}
			_, err = s.Transition(ctx, queued, Change{From: []bridge.State{bridge.StateIssued}, To: bridge.StateConfirmed, ClearToken: true})
			return err
		}},
		{"Tx.Transition", func() error {
			return inTx(func(tx *Tx) error {
				if _, err := tx.Transition(ctx, dead, Change{From: []bridge.State{bridge.StateDead}, To: bridge.StateSubmitted, Reason: "operator"}); err != nil {
					return err
				}
				_, err := tx.Transition(ctx, dead, Change{From: submittedOnly, To: bridge.StateDead, Reason: "retries exhausted", Attempt: 5})
				return err
			})
		}},
		{"Store.NoteAttempt", func() error { return s.NoteAttempt(ctx, submitted, 2, "MOSIP did not answer") }},
		{"Tx.DiedIn", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.DiedIn(ctx, &bridge.Transaction{ID: dead}); return err })
		}},
		{"Store.Events", func() error { _, err := s.Events(ctx, dead); return err }},
		// WebSub deliveries: dedupe, lookups, pruning.
		{"Tx.RecordDelivery", func() error {
			return inTx(func(tx *Tx) error {
				_, err := tx.RecordDelivery(ctx, Delivery{EventID: "plan-e1", TransactionID: issued, Outcome: DeliveryApplied})
				return err
			})
		}},
		{"Store.RecordDelivery", func() error {
			_, err := s.RecordDelivery(ctx, Delivery{EventID: "plan-e2", Outcome: DeliveryUnknownAID})
			return err
		}},
		{"Store.Delivery", func() error { _, err := s.Delivery(ctx, "plan-e1"); return err }},
		{"Store.SeenDelivery", func() error { _, err := s.SeenDelivery(ctx, "plan-e1"); return err }},
		{"Store.PruneDeliveries", func() error { _, err := s.PruneDeliveries(ctx, t0.Add(-30*24*time.Hour), 1000); return err }},
		// Reconciliation.
		{"Store.DueForCheck", func() error { _, err := s.DueForCheck(ctx, t0, 100); return err }},
		{"Store.NoteCheck", func() error { return s.NoteCheck(ctx, submitted, t0.Add(time.Minute)) }},
		// Liveness: jobs of a stopped process (SQLite, at start) or of
		// replicas that are gone (PostgreSQL, every few seconds).
		{"Store.RecoverFromStop", func() error { _, err := s.RecoverFromStop(ctx); return err }},
		{"Store.ResumeOrphanedJobs", func() error { _, _, err := s.ResumeOrphanedJobs(ctx); return err }},
		{"Store.CheckWritable", func() error { return s.CheckWritable(ctx) }},
		// Rate limits and the backfill queue.
		{"Store.SetRate", func() error { return s.SetRate(ctx, RateBackfill, 10) }},
		{"Store.Rate", func() error { _, err := s.Rate(ctx, RateBackfill); return err }},
		{"Store.RateInterval", func() error { _, err := s.RateInterval(ctx, RateBackfill); return err }},
		{"Store.TakeSlot", func() error { _, _, err := s.TakeSlot(ctx, RateBackfill, t0, time.Second); return err }},
		{"Store.NextSlot", func() error { _, err := s.NextSlot(ctx, RateBackfill); return err }},
		{"Store.QueueWaiting", func() error { _, err := s.QueueWaiting(ctx, "backfill"); return err }},
		// Operators: counts, metrics, the dashboard's pages.
		{"Store.CountByState", func() error { _, err := s.CountByState(ctx); return err }},
		{"Store.CountInState", func() error { _, err := s.CountInState(ctx, bridge.StateQueued); return err }},
		{"Store.QueueDepth", func() error { _, err := s.QueueDepth(ctx); return err }},
		{"Store.OldestWaiting", func() error { _, err := s.OldestWaiting(ctx, waiting); return err }},
		{"Store.Throughput", func() error { _, err := s.Throughput(ctx, t0.Add(-24*time.Hour), time.Hour, 24); return err }},
		{"Store.ListTransactions", func() error {
			for _, q := range listQueries(t0) {
				if _, err := s.ListTransactions(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}},
		// Shared state (the WebSub subscriptions).
		{"Store.UpdateShared", func() error {
			return s.UpdateShared(ctx, "plan", func([]byte) ([]byte, error) { return []byte(`{"n":1}`), nil })
		}},
		{"Store.LoadShared", func() error { _, err := s.LoadShared(ctx, "plan"); return err }},
		// The split design: peer ids, the MOSIP side's stages, envelope
		// replays (pruned with the deliveries, above).
		{"Tx.SetPeerID", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.SetPeerID(ctx, submitted, "PEER-S"); return err })
		}},
		{"Store.TransactionByPeerID", func() error { _, err := s.TransactionByPeerID(ctx, "PEER-S"); return err }},
		{"Tx.PeerBirthByRegistrationNumber", func() error {
			return inTx(func(tx *Tx) error {
				_, err := tx.PeerBirthByRegistrationNumber(ctx, "HIST000000000019")
				return ignoreNotFound(err)
			})
		}},
		{"Tx.WebhookRecordByRegistrationNumber", func() error {
			return inTx(func(tx *Tx) error {
				_, err := tx.WebhookRecordByRegistrationNumber(ctx, "HIST000000000019")
				return ignoreNotFound(err)
			})
		}},
		{"Tx.TransactionByPeerID", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.TransactionByPeerID(ctx, "PEER-S"); return err })
		}},
		{"Tx.SetStage", func() error {
			return inTx(func(tx *Tx) error {
				return tx.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "PLAN-TXN", RID: submitted, Status: StageRIDGenerated})
			})
		}},
		{"Store.SetStage", func() error {
			if err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "PLAN-TXN", BRN: "2026PLAN", Status: StagePacketSynced}); err != nil {
				return err
			}
			return s.SetStage(ctx, bridge.EventDeath, Stage{TxnID: "PLAN-TXN-D", RID: dead, Status: StageQueued})
		}},
		{"Store.StageOf", func() error { _, err := s.StageOf(ctx, bridge.EventBirth, "PLAN-TXN"); return err }},
		{"Store.StagesByRID", func() error { _, err := s.StagesByRID(ctx, bridge.EventDeath, dead); return err }},
		{"Tx.RememberEnvelope", func() error {
			return inTx(func(tx *Tx) error { _, err := tx.RememberEnvelope(ctx, "plan-env-1", t0.Add(time.Hour)); return err })
		}},
		{"Store.RememberEnvelope", func() error {
			_, err := s.RememberEnvelope(ctx, "plan-env-1", t0.Add(time.Hour)) // a replay
			return err
		}},
		// Import from the Node mosip-api.
		{"Store.Import", func() error {
			tr := sampleTransaction("PLANIMPORT", "PLAN-IMPORT")
			_, err := s.Import(ctx, []ImportItem{
				{Transaction: tr, DedupeKey: "birth:PLAN-IMPORT", Reason: "imported"},
				{Transaction: sampleTransaction("PLANIMPORT2", "PLAN-Q"), DedupeKey: "birth:PLAN-Q", Reason: "imported"},
			})
			return err
		}},
	}

	// Every exported method is driven or excluded.
	driven := map[string]bool{}
	for _, d := range drive {
		if driven[d.method] {
			t.Errorf("%s is driven twice", d.method)
		}
		driven[d.method] = true
	}
	methods := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeFor[*Store](), reflect.TypeFor[*Tx]()} {
		for i := range typ.NumMethod() {
			name := strings.TrimPrefix(typ.String(), "*store.") + "." + typ.Method(i).Name
			methods[name] = true
			if !driven[name] && notDriven[name] == "" {
				t.Errorf("%s is neither driven by TestQueryPlans nor excluded with a reason: add it to one of them", name)
			}
		}
	}
	for name := range driven {
		if !methods[name] {
			t.Errorf("TestQueryPlans drives %s, which does not exist", name)
		}
	}
	for name := range notDriven {
		if !methods[name] || driven[name] {
			t.Errorf("notDriven names %s, which does not exist or is driven", name)
		}
	}

	for _, d := range drive {
		rec.driving(d.method)
		err := d.run()
		rec.driving("")
		if err != nil {
			t.Fatalf("%s: %v", d.method, err)
		}
	}

	// Explain every statement recorded.
	var pc planContext
	if s.pg {
		if pc.indexes, err = postgresIndexes(ctx, s); err != nil {
			t.Fatal(err)
		}
	} else {
		pc.tables = sqliteTables(t, s)
	}
	byMethod := map[string]int{}
	explained := 0
	for _, st := range rec.statements() {
		verb := strings.ToUpper(strings.Fields(st.query)[0])
		if verb == "PRAGMA" || verb == "SET" {
			continue // the connection's settings (InDurableTx)
		}
		byMethod[st.method]++
		problems, summary := explain(ctx, t, s, st, pc)
		explained++
		t.Logf("%s: %s\n\t%s", st.method, oneLine(st.query), summary)
		for _, p := range problems {
			t.Errorf("%s reads history in full:\n\t%s\n\tin %s\n\tplan: %s", st.method, p, oneLine(st.query), summary)
		}
	}
	// Each driven method sent statements (so each was checked), except
	// the other database's liveness sweep.
	for _, d := range drive {
		other := (d.method == "Store.RecoverFromStop" && s.pg) || (d.method == "Store.ResumeOrphanedJobs" && !s.pg)
		if byMethod[d.method] == 0 && !other {
			t.Errorf("%s sent no statement the test saw", d.method)
		}
	}
	t.Logf("%d statements of %d methods explained on %d finished transactions", explained, len(byMethod), historySize)

	// The checks catch what they are for: a full scan, an index range over
	// the history, a whole index walked without a LIMIT.
	for _, bad := range []recorded{
		{method: "a full scan", query: `SELECT id FROM transactions WHERE last_error = $1`, args: []any{"x"}},
		{method: "a state's history", query: `SELECT count(*) FROM transactions WHERE state = $1`, args: []any{bridge.StateConfirmed}},
		{method: "a whole index", query: `SELECT id FROM transactions ORDER BY created_at`},
		{method: "a whole event log", query: `SELECT count(*) FROM transaction_events WHERE reason = $1`, args: []any{"x"}},
	} {
		if problems, summary := explain(ctx, t, s, bad, pc); len(problems) == 0 {
			t.Errorf("the checks pass %s: %s (plan: %s)", bad.method, bad.query, summary)
		}
	}
	if !s.pg { // PostgreSQL's planner uses the registration number's index
		bad := recorded{method: "an identifier the plan ignores",
			query: `SELECT id FROM transactions WHERE registration_number = $1 AND event_kind = 'death' ORDER BY created_at DESC LIMIT 1`, args: []any{"x"}}
		if problems, summary := explain(ctx, t, s, bad, pc); len(problems) == 0 {
			t.Errorf("the checks pass %s: %s (plan: %s)", bad.method, bad.query, summary)
		}
	}
}

// listQueries are the operators' listings: every combination of filters,
// as TestListTransactionsPlans checks on SQLite.
func listQueries(now time.Time) []ListQuery {
	var out []ListQuery
	for mask := range 1 << 6 {
		var q ListQuery
		if mask&1 != 0 {
			q.Search = "HIST000000000042"
		}
		if mask&2 != 0 {
			q.State = bridge.StateConfirmed
		}
		if mask&4 != 0 {
			q.Kind = bridge.EventDeath
		}
		if mask&8 != 0 {
			q.Version = bridge.OpenCRVS19
		}
		if mask&16 != 0 {
			q.CreatedBefore = now.Add(-2 * time.Hour)
		}
		if mask&32 != 0 {
			q.After = &Position{CreatedAt: now.Add(-90 * time.Minute), ID: "9999999999000000000000001500"}
		}
		out = append(out, q)
	}
	return out
}

// planContext is what explain needs to know of the schema: SQLite's
// tables, PostgreSQL's indexes' key columns.
type planContext struct {
	tables  map[string]bool
	indexes map[string][]string
}

// explain returns what in st's plan reads history in full, and the plan in
// a line.
func explain(ctx context.Context, t *testing.T, s *Store, st recorded, pc planContext) ([]string, string) {
	t.Helper()
	if s.pg {
		plan, err := postgresPlan(ctx, s, st)
		if err != nil {
			t.Fatalf("%s: EXPLAIN %s: %v", st.method, oneLine(st.query), err)
		}
		return postgresProblems(st, plan, pc.indexes), postgresSummary(plan)
	}
	plan, err := sqlitePlan(ctx, s, st)
	if err != nil {
		t.Fatalf("%s: EXPLAIN QUERY PLAN %s: %v", st.method, oneLine(st.query), err)
	}
	return sqliteProblems(st, plan, pc.tables), strings.Join(plan, "; ")
}

func sqliteTables(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	rows, err := s.rdb.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables[name] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tables
}

func oneLine(query string) string { return strings.Join(strings.Fields(query), " ") }

// ignoreNotFound is nil for ENotFound: a lookup's plan is what is checked,
// not whether the seeded history has a match.
func ignoreNotFound(err error) error {
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return nil
	}
	return err
}
