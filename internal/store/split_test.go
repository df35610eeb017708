package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// The split design's store (migration 0009), on both databases.

// errorMessage is what the caller of err is shown ("" for an error
// without a message for them).
func errorMessage(err error) string {
	var e *bridge.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// A transaction's peer id is set once (the first wins), is found again,
// and is never shared by two transactions: neither by Insert nor by
// SetPeerID, one after the other or at once.
func TestPeerID(t *testing.T) { bothStores(t, testPeerID) }

func testPeerID(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	insertIn(t, s, "A", bridge.StateQueued)
	insertIn(t, s, "B", bridge.StateQueued)

	setPeer := func(id, peer string) (string, error) {
		var got string
		err := s.InTx(ctx, func(tx *Tx) (err error) {
			got, err = tx.SetPeerID(ctx, id, peer)
			return err
		})
		return got, err
	}
	if got, err := setPeer("A", "PEER-1"); err != nil || got != "PEER-1" {
		t.Fatalf("first SetPeerID(A) = %q, %v; want PEER-1", got, err)
	}
	// The first wins: a second value is not an error, and changes nothing.
	for _, again := range []string{"PEER-1", "PEER-2"} {
		if got, err := setPeer("A", again); err != nil || got != "PEER-1" {
			t.Errorf("SetPeerID(A, %s) after PEER-1 = %q, %v; want PEER-1", again, got, err)
		}
	}
	tr, err := s.Transaction(ctx, "A")
	if err != nil || tr.PeerID != "PEER-1" {
		t.Fatalf("Transaction(A).PeerID = %+v, %v; want PEER-1", tr, err)
	}
	tr, err = s.TransactionByPeerID(ctx, "PEER-1")
	if err != nil || tr.ID != "A" || tr.PeerID != "PEER-1" || tr.Token != "token-TA" {
		t.Fatalf("TransactionByPeerID(PEER-1) = %+v, %v; want transaction A", tr, err)
	}
	if _, err := s.TransactionByPeerID(ctx, "PEER-2"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("TransactionByPeerID(PEER-2) error = %v, want ENotFound", err)
	}

	// Another transaction cannot take PEER-1, and the refusal leaves the
	// caller's transaction usable (PostgreSQL aborts one after an error).
	err = s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.SetPeerID(ctx, "B", "PEER-1")
		if bridge.ErrorCodeOf(err) != bridge.EConflict || !strings.Contains(errorMessage(err), "PEER-1") {
			t.Errorf("SetPeerID(B, PEER-1) error = %v, want EConflict naming the peer id", err)
		}
		got, err := tx.TransactionByPeerID(ctx, "PEER-1")
		if err != nil || got.ID != "A" {
			t.Errorf("Tx.TransactionByPeerID(PEER-1) after the refusal = %+v, %v; want A", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := s.Transaction(ctx, "B"); err != nil || tr.PeerID != "" {
		t.Errorf("B after the refusal: %+v, %v; want no peer id", tr, err)
	}

	// Insert with a peer id: a new one is stored, a taken one refused as
	// such (not as the record being processed already).
	err = s.InTx(ctx, func(tx *Tx) error {
		tr := sampleTransaction("C", "C")
		tr.PeerID = "PEER-1"
		return tx.Insert(ctx, tr, "birth:C", "accepted")
	})
	if bridge.ErrorCodeOf(err) != bridge.EConflict || !strings.Contains(errorMessage(err), "peer id PEER-1") {
		t.Errorf("Insert with A's peer id: %v (%q), want EConflict about the peer id", err, errorMessage(err))
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		tr := sampleTransaction("C", "C")
		tr.PeerID = "PEER-3"
		return tx.Insert(ctx, tr, "birth:C", "accepted")
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := s.TransactionByPeerID(ctx, "PEER-3"); err != nil || tr.ID != "C" {
		t.Errorf("TransactionByPeerID(PEER-3) = %+v, %v; want C", tr, err)
	}

	if _, err := setPeer("NOPE", "PEER-4"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("SetPeerID of no transaction: %v, want ENotFound", err)
	}
	if _, err := setPeer("B", ""); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("SetPeerID(B, \"\"): %v, want EInvalid", err)
	}

	// At once: transactions P0..P7 all claim PEER-X (one gets it), and
	// all set Q's peer id to a value of their own (one value stays, and
	// every caller is told which).
	const racers = 8
	for i := range racers {
		insertIn(t, s, fmt.Sprintf("P%d", i), bridge.StateQueued)
	}
	insertIn(t, s, "Q", bridge.StateQueued)
	stores := []*Store{s}
	if db.pg { // another mediator on the database
		stores = append(stores, db.openWith(t, Config{}))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, refused := 0, 0
	qGot := map[string]bool{}
	for i := range racers {
		st := stores[i%len(stores)]
		wg.Go(func() {
			var got, q string
			err := st.InTx(ctx, func(tx *Tx) (err error) {
				got, err = tx.SetPeerID(ctx, fmt.Sprintf("P%d", i), "PEER-X")
				return err
			})
			qErr := st.InTx(ctx, func(tx *Tx) (err error) {
				q, err = tx.SetPeerID(ctx, "Q", fmt.Sprintf("Q-PEER-%d", i))
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got == "PEER-X":
				won++
			case bridge.ErrorCodeOf(err) == bridge.EConflict:
				refused++
			default:
				t.Errorf("racer %d: SetPeerID = %q, %v", i, got, err)
			}
			if qErr != nil {
				t.Errorf("racer %d: SetPeerID(Q) = %v", i, qErr)
			}
			qGot[q] = true
		})
	}
	wg.Wait()
	if won != 1 || refused != racers-1 {
		t.Errorf("%d racers for one peer id: %d got it, %d refused; want 1 and %d", racers, won, refused, racers-1)
	}
	q, err := s.Transaction(ctx, "Q")
	if err != nil {
		t.Fatal(err)
	}
	if len(qGot) != 1 || !qGot[q.PeerID] {
		t.Errorf("racers setting Q's peer id were told %v; Q has %q", qGot, q.PeerID)
	}
}

// The MOSIP side's stages: added, moved on (keeping what a later stage
// does not repeat), found by transaction id and AID, births and deaths
// apart.
func TestStages(t *testing.T) { bothStores(t, testStages) }

func testStages(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)

	if err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-1", Status: StageQueued}); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(time.Minute))
	if err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-1", RID: "AID-1", BRN: "2026B1", Status: StageRIDGenerated}); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(2 * time.Minute))
	err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-1", Status: StageFailed, Reason: "sync refused: RPR-PKR-016"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.StageOf(ctx, bridge.EventBirth, "txn-1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stage{TxnID: "txn-1", RID: "AID-1", BRN: "2026B1", Status: StageFailed, Reason: "sync refused: RPR-PKR-016",
		CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Minute)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stage after queued, RID generated, failed (-want +got):\n%s", diff)
	}
	// A retry that gets on clears the reason.
	clk.set(t0.Add(3 * time.Minute))
	if err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-1", Status: StagePacketSynced}); err != nil {
		t.Fatal(err)
	}
	want.Status, want.Reason, want.UpdatedAt = StagePacketSynced, "", t0.Add(3*time.Minute)
	if got, err := s.StageOf(ctx, bridge.EventBirth, "txn-1"); err != nil || !cmp.Equal(want, got) {
		t.Errorf("stage after the retry (-want +got):\n%s%v", cmp.Diff(want, got), err)
	}

	// Another record with the same AID (MOSIP gave it again), a death, and
	// a stage that rolls back.
	if err := s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-2", RID: "AID-1", Status: StageUploaded}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStage(ctx, bridge.EventDeath, Stage{TxnID: "txn-3", RID: "AID-1", BRN: "2026D1", Status: StageDeactivated}); err != nil {
		t.Fatal(err)
	}
	rollback := errors.New("rolled back")
	err = s.InTx(ctx, func(tx *Tx) error {
		if err := tx.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-4", RID: "AID-1", Status: StageQueued}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	births, err := s.StagesByRID(ctx, bridge.EventBirth, "AID-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range births {
		ids = append(ids, st.TxnID+"="+st.Status)
	}
	if diff := cmp.Diff([]string{"txn-1=" + StagePacketSynced, "txn-2=" + StageUploaded}, ids); diff != "" {
		t.Errorf("births with AID-1 (-want +got):\n%s", diff)
	}
	deaths, err := s.StagesByRID(ctx, bridge.EventDeath, "AID-1")
	if err != nil || len(deaths) != 1 || deaths[0].TxnID != "txn-3" || deaths[0].BRN != "2026D1" {
		t.Errorf("deaths with AID-1: %+v, %v; want txn-3", deaths, err)
	}
	if none, err := s.StagesByRID(ctx, bridge.EventBirth, ""); err != nil || len(none) != 0 {
		t.Errorf("StagesByRID(\"\") = %+v, %v; want none", none, err)
	}

	for _, c := range []struct {
		name string
		err  error
		code bridge.ErrorCode
	}{
		{"StageOf a birth as a death", func() error { _, err := s.StageOf(ctx, bridge.EventDeath, "txn-1"); return err }(), bridge.ENotFound},
		{"StageOf the rolled back", func() error { _, err := s.StageOf(ctx, bridge.EventBirth, "txn-4"); return err }(), bridge.ENotFound},
		{"StageOf a death reversal", func() error { _, err := s.StageOf(ctx, bridge.EventDeathReversal, "txn-1"); return err }(), bridge.EUnsupported},
		{"StagesByRID of a death reversal", func() error { _, err := s.StagesByRID(ctx, bridge.EventDeathReversal, "AID-1"); return err }(), bridge.EUnsupported},
		{"SetStage of a death reversal", s.SetStage(ctx, bridge.EventDeathReversal, Stage{TxnID: "x", Status: StageQueued}), bridge.EUnsupported},
		{"SetStage without a transaction id", s.SetStage(ctx, bridge.EventBirth, Stage{Status: StageQueued}), bridge.EInvalid},
		{"SetStage without a status", s.SetStage(ctx, bridge.EventBirth, Stage{TxnID: "txn-5"}), bridge.EInvalid},
	} {
		if bridge.ErrorCodeOf(c.err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
}

// An envelope is accepted once while it lives; once expired its key is
// fresh again and pruned; remembering it in a transaction that rolls back
// does not count; mediators remembering it at once: one gets it.
func TestEnvelopeReplays(t *testing.T) { bothStores(t, testEnvelopeReplays) }

func testEnvelopeReplays(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	remember := func(key string, expires time.Time) bool {
		t.Helper()
		fresh, err := s.RememberEnvelope(ctx, key, expires)
		if err != nil {
			t.Fatalf("RememberEnvelope(%s): %v", key, err)
		}
		return fresh
	}
	if !remember("env-1", t0.Add(5*time.Minute)) {
		t.Fatal("a new envelope is not fresh")
	}
	if remember("env-1", t0.Add(5*time.Minute)) || remember("env-1", t0.Add(time.Hour)) {
		t.Fatal("a replay within the envelope's life is fresh")
	}
	if !remember("env-2", t0.Add(time.Hour)) {
		t.Fatal("another envelope is not fresh")
	}

	// Rolled back: not remembered.
	rollback := errors.New("rolled back")
	err := s.InTx(ctx, func(tx *Tx) error {
		fresh, err := tx.RememberEnvelope(ctx, "env-3", t0.Add(time.Hour))
		if err != nil || !fresh {
			t.Errorf("Tx.RememberEnvelope(env-3) = %v, %v; want fresh", fresh, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if !remember("env-3", t0.Add(time.Hour)) {
		t.Error("an envelope remembered in a transaction that rolled back is taken for a replay")
	}

	// Ten minutes on, env-1 expired: it is fresh again (and remembered
	// anew), then pruned once it expires again; env-2 and env-3 stay.
	clk.set(t0.Add(10 * time.Minute))
	if !remember("env-1", t0.Add(15*time.Minute)) {
		t.Error("an envelope key past its expiry is not fresh")
	}
	if remember("env-1", t0.Add(15*time.Minute)) {
		t.Error("the envelope remembered anew is fresh again at once")
	}
	clk.set(t0.Add(20 * time.Minute))
	for i := range 3 { // expired: x0, x1, x2
		if _, err := s.db.ExecContext(ctx, `INSERT INTO envelope_replays (key, expires_at) VALUES ($1, $2)`,
			fmt.Sprintf("x%d", i), t0.Add(time.Duration(i)*time.Minute).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	// Pruned with the deliveries (none here), two at a time: x0, x1; then
	// x2 and env-1.
	cutoff := t0.Add(-30 * 24 * time.Hour)
	for i, want := range []int{2, 2, 0} {
		if n, err := s.PruneDeliveries(ctx, cutoff, 2); err != nil || n != want {
			t.Errorf("prune %d: %d, %v; want %d", i, n, err, want)
		}
	}
	var keys []string
	rows, err := s.rdb.QueryContext(ctx, `SELECT key FROM envelope_replays ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"env-2", "env-3"}, keys); diff != "" {
		t.Errorf("envelope keys after pruning (-want +got):\n%s", diff)
	}
	if remember("env-2", t0.Add(time.Hour)) {
		t.Error("a live envelope is fresh after pruning")
	}

	for _, c := range []struct {
		name    string
		key     string
		expires time.Time
	}{
		{"no key", "", t0.Add(time.Hour)},
		{"expired", "env-9", clk.Now()},
	} {
		if _, err := s.RememberEnvelope(ctx, c.key, c.expires); bridge.ErrorCodeOf(err) != bridge.EInvalid {
			t.Errorf("RememberEnvelope with %s: %v, want EInvalid", c.name, err)
		}
	}

	// At once, from one mediator's workers (SQLite) or two mediators'
	// (PostgreSQL): one is fresh.
	stores := []*Store{s}
	if db.pg {
		stores = append(stores, db.openWith(t, Config{Now: clk.Now}))
	}
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := range racers {
		st := stores[i%len(stores)]
		wg.Go(func() {
			ok, err := st.RememberEnvelope(ctx, "env-race", t0.Add(time.Hour))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("racer %d: %v", i, err)
			}
			if ok {
				fresh++
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Errorf("%d racers remembering one envelope: %d fresh, want 1", racers, fresh)
	}
}
