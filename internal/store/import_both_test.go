package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// Import stores what is new, leaves what it stored before, refuses an item
// whose record is live here already, and keeps tokens sealed; on both
// databases.
func TestImportBothStores(t *testing.T) { bothStores(t, testImportBothStores) }

func testImportBothStores(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.openWith(t, Config{Sealer: mustKeys(t, "k1")})
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	insertIn(t, s, "LIVE", bridge.StateQueued) // holds birth:TLIVE
	item := func(id, tracking string) ImportItem {
		tr := sampleTransaction(id, tracking)
		tr.State, tr.Packet = bridge.StateSubmitted, bridge.Packet{}
		return ImportItem{Transaction: tr, DedupeKey: "birth:" + tracking, Reason: "imported"}
	}
	items := []ImportItem{item("I1", "T1"), item("I2", "T2"), item("I3", "TLIVE")}
	got, err := s.Import(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ImportOutcome{ImportInserted, ImportInserted, ImportConflict}, got); diff != "" {
		t.Errorf("first import (-want +got):\n%s", diff)
	}
	got, err = s.Import(ctx, items[:2])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ImportOutcome{ImportPresent, ImportPresent}, got); diff != "" {
		t.Errorf("second import (-want +got):\n%s", diff)
	}
	tr, err := s.Transaction(ctx, "I1")
	if err != nil || tr.State != bridge.StateSubmitted || tr.Token != "token-T1" {
		t.Errorf("imported I1: %+v, %v", tr, err)
	}
	var stored string
	if err := s.rdb.QueryRowContext(ctx, `SELECT token FROM transactions WHERE id = 'I1'`).Scan(&stored); err != nil || keyIDOf(stored) != "k1" {
		t.Errorf("I1's stored token is not sealed with k1 (%v)", err)
	}
	if n, err := s.CountInState(ctx, bridge.StateSubmitted); n != 2 || err != nil {
		t.Errorf("CountInState(SUBMITTED) = %d, %v; want 2", n, err)
	}
}
