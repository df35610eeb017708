package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store/pgtest"
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

// The store's tests are its conformance suite: each runs as the subtests
// sqlite and postgres (bothStores), on a new empty database of its own. The
// postgres half needs TEST_DATABASE_URL (internal/store/pgtest): without
// it, it is skipped, or fails under CI.

// testDB is an empty database for one test.
type testDB struct {
	pg bool
	// where holds Path (SQLite) or DatabaseURL (PostgreSQL).
	where Config
}

// bothStores runs test on SQLite, then on PostgreSQL.
func bothStores(t *testing.T, test func(t *testing.T, db testDB)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, testDB{where: Config{Path: filepath.Join(t.TempDir(), "db", "test.db")}})
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, testDB{pg: true, where: Config{DatabaseURL: pgtest.URL(t)}})
	})
}

// config is c on this database.
func (d testDB) config(c Config) Config {
	c.Path, c.DatabaseURL = d.where.Path, d.where.DatabaseURL
	return c
}

// open returns a migrated store on the database, closed when the test
// ends.
func (d testDB) open(t *testing.T, now func() time.Time) *Store {
	t.Helper()
	s := d.openWith(t, Config{Synchronous: "NORMAL", Now: now})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// openWith opens a store on the database with c, closed when the test ends.
func (d testDB) openWith(t *testing.T, c Config) *Store {
	t.Helper()
	s, err := Open(t.Context(), d.config(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustOpen returns a migrated store on a new SQLite database (for the
// tests of SQLite's own mechanisms; the others use bothStores).
func mustOpen(t *testing.T, now func() time.Time) *Store {
	t.Helper()
	return testDB{where: Config{Path: filepath.Join(t.TempDir(), "db", "test.db")}}.open(t, now)
}

func sampleTransaction(id, tracking string) *bridge.Transaction {
	return &bridge.Transaction{
		ID: id, Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeFHIR,
		RecordID: "rec-" + tracking, TrackingID: tracking, RegistrationNumber: "2026" + tracking,
		State: bridge.StateQueued, Token: "token-" + tracking,
		Packet: bridge.Packet{Process: bridge.ProcessNew, Fields: map[string]json.RawMessage{"fullName": json.RawMessage(`[{"language":"eng","value":"A B"}]`)}},
	}
}

func TestSchema(t *testing.T) { bothStores(t, testSchema) }

func testSchema(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.openWith(t, Config{})
	if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "opencrvs-mosip migrate") {
		t.Fatalf("CheckSchema on an empty database = %v, want an error telling to migrate", err)
	}
	for range 2 { // migrating twice is harmless
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema after Migrate: %v", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("CheckSchema on a newer schema = %v, want a refusal", err)
	}
	if err := s.Migrate(ctx); err == nil {
		t.Error("Migrate on a newer schema succeeded")
	}
}

func TestInsertAndDedupe(t *testing.T) { bothStores(t, testInsertAndDedupe) }

func testInsertAndDedupe(t *testing.T, db testDB) {
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s := db.open(t, clk.Now)

	tr := sampleTransaction("A1", "BXXDBIC")
	err := s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "birth:BXXDBIC", "accepted") })
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TransactionWithPacket(ctx, "A1")
	if err != nil {
		t.Fatal(err)
	}
	want := *tr
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("stored transaction (-want +got):\n%s", diff)
	}
	summary, err := s.Transaction(ctx, "A1")
	if err != nil {
		t.Fatal(err)
	}
	want.Packet = bridge.Packet{}
	if diff := cmp.Diff(&want, summary); diff != "" {
		t.Errorf("transaction without packet (-want +got):\n%s", diff)
	}

	// A second live transaction for the same key is refused by the database
	// itself, whatever the caller checked.
	err = s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, sampleTransaction("A2", "BXXDBIC"), "birth:BXXDBIC", "") })
	if bridge.ErrorCodeOf(err) != bridge.EConflict {
		t.Fatalf("duplicate insert: %v, want a conflict", err)
	}
	var live *bridge.Transaction
	_ = s.InTx(ctx, func(tx *Tx) (err error) { live, err = tx.LiveByDedupeKey(ctx, "birth:BXXDBIC"); return err })
	if live == nil || live.ID != "A1" {
		t.Fatalf("LiveByDedupeKey = %+v, want A1", live)
	}

	// Once MOSIP's refusal was reported, the record may come again.
	for _, to := range []bridge.State{bridge.StateRejectedByMOSIP, bridge.StateReported} {
		if ok, err := s.Transition(ctx, "A1", Change{From: []bridge.State{bridge.StateQueued, bridge.StateRejectedByMOSIP}, To: to}); !ok || err != nil {
			t.Fatalf("transition to %s: %v %v", to, ok, err)
		}
	}
	err = s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, sampleTransaction("A3", "BXXDBIC"), "birth:BXXDBIC", "") })
	if err != nil {
		t.Fatalf("insert after REPORTED: %v", err)
	}
	if _, err := s.Transaction(ctx, "nope"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("missing transaction: %v, want not found", err)
	}
}

func TestTransition(t *testing.T) { bothStores(t, testTransition) }

func testTransition(t *testing.T, db testDB) {
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s := db.open(t, clk.Now)
	if err := s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, sampleTransaction("A1", "B1"), "birth:B1", "rules passed") }); err != nil {
		t.Fatal(err)
	}
	clk.set(clk.now.Add(time.Second))
	uin, vid := "7346597054", "4759308162938475"
	ok, err := s.Transition(ctx, "A1", Change{From: []bridge.State{bridge.StateQueued, bridge.StateSubmitted}, To: bridge.StateIssued, Reason: "credential", UIN: &uin, VID: &vid})
	if !ok || err != nil {
		t.Fatalf("QUEUED -> ISSUED: %v %v", ok, err)
	}
	// Compare and set: a late submit result does not move ISSUED back.
	ok, err = s.Transition(ctx, "A1", Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted, Attempt: 1})
	if ok || err != nil {
		t.Fatalf("late QUEUED -> SUBMITTED applied=%v err=%v, want not applied", ok, err)
	}
	ok, err = s.Transition(ctx, "A1", Change{From: []bridge.State{bridge.StateIssued}, To: bridge.StateConfirmed, ClearToken: true})
	if !ok || err != nil {
		t.Fatalf("ISSUED -> CONFIRMED: %v %v", ok, err)
	}
	got, _ := s.Transaction(ctx, "A1")
	if got.State != bridge.StateConfirmed || got.UIN != uin || got.VID != vid || got.Token != "" {
		t.Errorf("after transitions: state %s uin %q vid %q token %q", got.State, got.UIN, got.VID, got.Token)
	}
	// The token of a finished transaction is not brought back by a resend.
	_ = s.InTx(ctx, func(tx *Tx) error { return tx.SetToken(ctx, "A1", "new") })
	if got, _ := s.Transaction(ctx, "A1"); got.Token != "" {
		t.Errorf("SetToken revived the token of a finished transaction")
	}
	events, err := s.Events(ctx, "A1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	want := []bridge.Event{
		{TransactionID: "A1", At: t0, To: bridge.StateQueued, Reason: "rules passed"},
		{TransactionID: "A1", At: t0.Add(time.Second), From: bridge.StateQueued, To: bridge.StateIssued, Reason: "credential"},
		{TransactionID: "A1", At: t0.Add(time.Second), From: bridge.StateIssued, To: bridge.StateConfirmed},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	counts, err := s.CountByState(ctx)
	if err != nil || counts[bridge.StateConfirmed] != 1 || len(counts) != 1 {
		t.Errorf("CountByState = %v, %v", counts, err)
	}
	if _, err := s.Transition(ctx, "missing", Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted}); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("transition of a missing transaction: %v", err)
	}
}

func TestRollbackLeavesNothing(t *testing.T) { bothStores(t, testRollbackLeavesNothing) }

func testRollbackLeavesNothing(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	ran := false
	err := s.InTx(ctx, func(tx *Tx) error {
		tx.AfterCommit(func() { ran = true })
		if err := tx.Insert(ctx, sampleTransaction("A1", "B1"), "birth:B1", ""); err != nil {
			return err
		}
		return bridge.Errorf(bridge.EInvalid, "changed my mind")
	})
	if bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Fatalf("InTx = %v", err)
	}
	if ran {
		t.Error("AfterCommit hook ran after a rollback")
	}
	if _, err := s.Transaction(ctx, "A1"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("rolled back transaction is readable: %v", err)
	}
	if ev, _ := s.Events(ctx, "A1"); len(ev) != 0 {
		t.Errorf("rolled back events: %v", ev)
	}
}

func TestDeliveries(t *testing.T) { bothStores(t, testDeliveries) }

func testDeliveries(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	d := Delivery{EventID: "e1", TransactionID: "A1", Outcome: DeliveryApplied}
	for i, want := range []bool{true, false} {
		isNew, err := s.RecordDelivery(ctx, d)
		if err != nil || isNew != want {
			t.Errorf("delivery %d: new=%v err=%v, want %v", i, isNew, err, want)
		}
	}
	got, err := s.Delivery(ctx, "e1")
	if err != nil || got.Outcome != DeliveryApplied || got.TransactionID != "A1" {
		t.Errorf("Delivery = %+v, %v", got, err)
	}
	if seen, _ := s.SeenDelivery(ctx, "e2"); seen {
		t.Error("SeenDelivery(e2) = true")
	}
}

func TestAIDs(t *testing.T) { bothStores(t, testAIDs) }

func testAIDs(t *testing.T, db testDB) {
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 23, 18, 59, 8, 0, time.UTC)}
	s := db.open(t, clk.Now)
	next := func(f AIDFormat) string {
		t.Helper()
		var id string
		if err := s.InTx(ctx, func(tx *Tx) (err error) { id, err = tx.NextAID(ctx, f); return err }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	rid := AIDFormat{Kind: AIDRID, CentreID: "10001", MachineID: "10004"}
	if err := rid.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := next(rid), "100011000400001"+"20261123185908"; got != want {
		t.Errorf("first RID = %s, want %s", got, want)
	}
	if got, want := next(rid), "100011000400002"+"20261123185908"; got != want {
		t.Errorf("second RID = %s, want %s", got, want)
	}
	clk.set(clk.now.Add(time.Second))
	if got, want := next(rid), "100011000400001"+"20261123185909"; got != want {
		t.Errorf("RID in the next second = %s, want %s", got, want)
	}
	// Past 99999 ids in one second the timestamp moves on instead of wrapping.
	if _, err := s.db.ExecContext(ctx, `UPDATE id_sequences SET value = 99999 WHERE name = 'rid'`); err != nil {
		t.Fatal(err)
	}
	if got, want := next(rid), "100011000400001"+"20261123185910"; got != want {
		t.Errorf("RID after 99999 = %s, want %s", got, want)
	}
	if got, want := next(rid), "100011000400002"+"20261123185910"; got != want {
		t.Errorf("RID after the jump, still in the real second = %s, want %s", got, want)
	}
	if got := next(rid); len(got) != 29 {
		t.Errorf("RID %s has %d digits", got, len(got))
	}

	pre := AIDFormat{Kind: AIDPrefixed, Prefix: "10001"}
	if got, want := next(pre), "100010000000001"; got != want {
		t.Errorf("prefixed = %s, want %s", got, want)
	}
	for _, bad := range []AIDFormat{{Kind: AIDRID, CentreID: "1", MachineID: "10004"}, {Kind: AIDPrefixed, Prefix: "abcde"}, {Kind: "uuid"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

// Many writers at once: every id distinct, nothing lost.
func TestConcurrentAIDs(t *testing.T) { bothStores(t, testConcurrentAIDs) }

func testConcurrentAIDs(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	f := AIDFormat{Kind: AIDRID, CentreID: "10001", MachineID: "10004"}
	var mu sync.Mutex
	seen := make(map[string]bool)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				var id string
				if err := s.InTx(ctx, func(tx *Tx) (err error) { id, err = tx.NextAID(ctx, f); return err }); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 400 {
		t.Errorf("%d ids, want 400", len(seen))
	}
}

type pingArgs struct{ N int }

func (pingArgs) Kind() string { return "ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	done chan int
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	w.done <- job.Args.N
	return nil
}

// A job inserted with a domain row in one transaction runs once it commits,
// and not at all if the transaction rolls back.
func TestRiverJobsInTransactions(t *testing.T) { bothStores(t, testRiverJobsInTransactions) }

func testRiverJobsInTransactions(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	w := &pingWorker{done: make(chan int, 4)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(s.RiverDriver(), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: time.Hour, // only notifications can wake the producer
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(context.Background())

	insert := func(n int, commit bool) {
		err := s.InTx(ctx, func(tx *Tx) error {
			if _, err := client.InsertTx(ctx, tx.SQL(), pingArgs{N: n}, nil); err != nil {
				return err
			}
			tx.AfterCommit(func() { s.NotifyQueue(river.QueueDefault) })
			if !commit {
				return sql.ErrTxDone
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
	}
	insert(1, false)
	insert(2, true)
	select {
	case n := <-w.done:
		if n != 2 {
			t.Fatalf("worked job %d, want 2 (1 was rolled back)", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the committed job never ran")
	}
}

// A job a killed process left "running" runs at the next start, without
// waiting for River's stuck-job rescue.
func TestRecoverFromStop(t *testing.T) { bothStores(t, testRecoverFromStop) }

func testRecoverFromStop(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	w := &pingWorker{done: make(chan int, 4)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(s.RiverDriver(), &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:              workers,
		FetchCooldown:        time.Millisecond,
		FetchPollInterval:    20 * time.Millisecond,
		RescueStuckJobsAfter: time.Hour,
		TestOnly:             true,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		_, err := client.InsertTx(ctx, tx.SQL(), pingArgs{N: 7}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	running := `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec')`
	leader := `INSERT INTO river_leader (elected_at, expires_at, leader_id, name)
		VALUES (datetime('now'), datetime('now', '+1 hour'), 'dead-process', 'default')`
	if db.pg {
		running = `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()`
		leader = `INSERT INTO river_leader (elected_at, expires_at, leader_id, name)
			VALUES (now(), now() + interval '1 hour', 'dead-process', 'default')`
	}
	// The process that fetched it died mid-work.
	if _, err := s.db.ExecContext(ctx, running); err != nil {
		t.Fatal(err)
	}
	// ... and it led the queue, for an hour more.
	if _, err := s.db.ExecContext(ctx, leader); err != nil {
		t.Fatal(err)
	}
	if db.pg {
		// Another mediator may be working the job and leading: nothing is
		// taken from it (River rescues a dead process's jobs).
		n, err := s.RecoverFromStop(ctx)
		var state string
		var leaders int
		if err == nil {
			err = s.db.QueryRowContext(ctx, `SELECT state, (SELECT count(*) FROM river_leader) FROM river_job`).Scan(&state, &leaders)
		}
		if n != 0 || err != nil || state != "running" || leaders != 1 {
			t.Fatalf("RecoverFromStop on PostgreSQL = %d, %v; job %s, %d leaders; want nothing touched", n, err, state, leaders)
		}
		return
	}
	n, err := s.RecoverFromStop(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RecoverFromStop = %d, %v; want 1", n, err)
	}
	if n, _ := s.RecoverFromStop(ctx); n != 0 {
		t.Fatalf("a second call found %d", n)
	}
	var leaders int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM river_leader`).Scan(&leaders); err != nil || leaders != 0 {
		t.Fatalf("leaders after recovery: %d, %v; want the dead one gone", leaders, err)
	}
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer client.Stop(context.Background())
	select {
	case n := <-w.done:
		if n != 7 {
			t.Fatalf("worked job %d", n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the interrupted job did not run again")
	}
}
