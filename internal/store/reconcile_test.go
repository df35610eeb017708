package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
)

func insertIn(t *testing.T, s *Store, id string, st bridge.State) {
	t.Helper()
	ctx := t.Context()
	tr := sampleTransaction(id, "T"+id)
	if err := s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "birth:T"+id, "") }); err != nil {
		t.Fatal(err)
	}
	if st != bridge.StateQueued {
		if ok, err := s.Transition(ctx, id, Change{From: []bridge.State{bridge.StateQueued}, To: st}); !ok || err != nil {
			t.Fatalf("%s -> %s: %v %v", id, st, ok, err)
		}
	}
}

func TestStatusChecks(t *testing.T) { bothStores(t, testStatusChecks) }

func testStatusChecks(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	insertIn(t, s, "Q1", bridge.StateQueued)
	for i, id := range []string{"S1", "S2", "S3"} {
		insertIn(t, s, id, bridge.StateQueued)
		at := t0.Add(time.Duration(3-i) * time.Minute) // S3 due first
		ok, err := s.Transition(ctx, id, Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateSubmitted, CheckAt: &at})
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	ids := func(list []*bridge.Transaction) string {
		var out []string
		for _, tr := range list {
			out = append(out, tr.ID)
		}
		return strings.Join(out, ",")
	}
	due, err := s.DueForCheck(ctx, t0, 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("nothing is due yet: %v %v", ids(due), err)
	}
	due, _ = s.DueForCheck(ctx, t0.Add(2*time.Minute), 10)
	if got := ids(due); got != "S3,S2" {
		t.Errorf("due at +2m = %s, want S3,S2 (the longest waiting first; QUEUED never)", got)
	}
	due, _ = s.DueForCheck(ctx, t0.Add(time.Hour), 1)
	if got := ids(due); got != "S3" {
		t.Errorf("limit 1 = %s, want S3", got)
	}

	// A check pushes the next one back and counts.
	if err := s.NoteCheck(ctx, "S3", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Transaction(ctx, "S3")
	if got.Checks != 1 || !got.CheckAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after NoteCheck: checks %d, check at %v", got.Checks, got.CheckAt)
	}
	due, _ = s.DueForCheck(ctx, t0.Add(30*time.Minute), 10)
	if got := ids(due); got != "S2,S1" {
		t.Errorf("due at +30m = %s, want S2,S1", got)
	}
	// NoteCheck does nothing to a transaction that moved on meanwhile.
	if ok, err := s.Transition(ctx, "S2", Change{From: []bridge.State{bridge.StateSubmitted}, To: bridge.StateIssued}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.NoteCheck(ctx, "S2", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Transaction(ctx, "S2"); got.Checks != 0 {
		t.Errorf("NoteCheck counted a check of an ISSUED transaction")
	}
	if n, err := s.CountInState(ctx, bridge.StateSubmitted); n != 2 || err != nil {
		t.Errorf("CountInState(SUBMITTED) = %d, %v; want 2", n, err)
	}
}

func TestDeadRemembersWhereItDied(t *testing.T) { bothStores(t, testDeadRemembersWhereItDied) }

func testDeadRemembersWhereItDied(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	insertIn(t, s, "D1", bridge.StateIssued)
	if ok, err := s.Transition(ctx, "D1", Change{From: []bridge.State{bridge.StateIssued}, To: bridge.StateDead}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	got, _ := s.Transaction(ctx, "D1")
	if got.DeadFrom != bridge.StateIssued {
		t.Fatalf("DeadFrom = %q, want ISSUED", got.DeadFrom)
	}
	var from bridge.State
	_ = s.InTx(ctx, func(tx *Tx) (err error) { from, err = tx.DiedIn(ctx, got); return err })
	if from != bridge.StateIssued {
		t.Errorf("DiedIn = %q", from)
	}
	// A transaction that died before dead_from existed: the event log says.
	got.DeadFrom = ""
	_ = s.InTx(ctx, func(tx *Tx) (err error) { from, err = tx.DiedIn(ctx, got); return err })
	if from != bridge.StateIssued {
		t.Errorf("DiedIn from the event log = %q", from)
	}
	// Leaving DEAD forgets it.
	if ok, err := s.Transition(ctx, "D1", Change{From: []bridge.State{bridge.StateDead}, To: bridge.StateIssued}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got, _ := s.Transaction(ctx, "D1"); got.DeadFrom != "" {
		t.Errorf("DeadFrom after revival = %q", got.DeadFrom)
	}
	insertIn(t, s, "N1", bridge.StateQueued)
	n1, _ := s.Transaction(ctx, "N1")
	err := s.InTx(ctx, func(tx *Tx) (err error) { _, err = tx.DiedIn(ctx, n1); return err })
	if bridge.ErrorCodeOf(err) != bridge.EConflict {
		t.Errorf("DiedIn of a transaction that never died: %v", err)
	}
}

func TestList(t *testing.T) { bothStores(t, testList) }

func testList(t *testing.T, db testDB) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := db.open(t, clk.Now)
	for i, id := range []string{"L1", "L2", "L3", "L4"} {
		clk.set(t0.Add(time.Duration(i) * time.Second))
		st := bridge.StateQueued
		if i%2 == 1 {
			st = bridge.StateDead
		}
		insertIn(t, s, id, st)
	}
	all, err := s.List(ctx, ListFilter{})
	if err != nil || len(all) != 4 || all[0].ID != "L4" || all[3].ID != "L1" {
		t.Fatalf("List = %d items (first %v), %v; want 4, newest first", len(all), all, err)
	}
	dead, _ := s.List(ctx, ListFilter{State: bridge.StateDead})
	if len(dead) != 2 || dead[0].ID != "L4" || dead[1].ID != "L2" {
		t.Errorf("List(DEAD) = %v", dead)
	}
	page, _ := s.List(ctx, ListFilter{Limit: 2, Before: all[1].UpdatedAt})
	if len(page) != 2 || page[0].ID != "L2" || page[1].ID != "L1" {
		t.Errorf("second page = %v", page)
	}
	for _, tr := range all {
		if tr.Packet.Process != "" {
			t.Errorf("List returned a packet")
		}
	}
}

func TestMustExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	if _, err := Open(t.Context(), Config{Path: path, MustExist: true}); err == nil || !strings.Contains(err.Error(), "SQLITE_DATABASE_PATH") {
		t.Fatalf("Open(missing, MustExist) = %v, want an error naming SQLITE_DATABASE_PATH", err)
	}
}

// A death MOSIP finished is found by its registration number while
// OpenCRVS's confirmation is still being recorded; one still with MOSIP,
// or a correction, is not.
func TestDeathByRegistrationNumber(t *testing.T) { bothStores(t, testDeathByRegistrationNumber) }

func testDeathByRegistrationNumber(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	death := func(id string, st bridge.State, corrects string) {
		tr := sampleTransaction(id, "T"+id)
		tr.Kind, tr.RegistrationNumber, tr.Corrects = bridge.EventDeath, "2026D1", corrects
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "k:"+id, "") }); err != nil {
			t.Fatal(err)
		}
		if st != bridge.StateQueued {
			if ok, err := s.Transition(ctx, id, Change{From: []bridge.State{bridge.StateQueued}, To: st}); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
	}
	death("D-queued", bridge.StateQueued, "")
	if got, err := s.DeathByRegistrationNumber(ctx, "2026D1"); got != nil || err != nil {
		t.Fatalf("a death still with MOSIP was found: %v %v", got, err)
	}
	death("D-issued", bridge.StateIssued, "")
	death("D-corr", bridge.StateConfirmed, "D-issued")
	got, err := s.DeathByRegistrationNumber(ctx, "2026D1")
	if err != nil || got == nil || got.ID != "D-issued" || got.Packet.Process == "" {
		t.Fatalf("DeathByRegistrationNumber = %+v, %v; want D-issued with its packet", got, err)
	}
}
