package store

import (
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
)

func TestTraceParentKept(t *testing.T) { bothStores(t, testTraceParentKept) }

func testTraceParentKept(t *testing.T, db testDB) {
	s := db.open(t, nil)
	ctx := t.Context()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	with, without := sampleTransaction("A1", "T1"), sampleTransaction("A2", "T2")
	with.TraceParent = tp
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Insert(ctx, with, "birth:T1", "test"); err != nil {
			return err
		}
		return tx.Insert(ctx, without, "birth:T2", "test")
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"A1": tp, "A2": ""} {
		if got, err := s.TraceParent(ctx, id); err != nil || got != want {
			t.Errorf("TraceParent(%s) = %q, %v; want %q", id, got, err, want)
		}
	}
	if _, err := s.TraceParent(ctx, "nope"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("TraceParent of an unknown transaction: %v, want not found", err)
	}
}

// The readiness write succeeds on a working database, does not grow it, and
// fails with EUnavailable on a closed one.
func TestCheckWritable(t *testing.T) { bothStores(t, testCheckWritable) }

func testCheckWritable(t *testing.T, db testDB) {
	s := db.open(t, func() time.Time { return time.UnixMilli(1_700_000_000_000) })
	ctx := t.Context()
	if err := s.CheckWritable(ctx); err != nil {
		t.Fatalf("first probe: %v", err)
	}
	count := func() int {
		var n int
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM readiness_probe`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 100 {
		if err := s.CheckWritable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 1 {
		t.Errorf("readiness_probe has %d rows after 101 probes, want 1", n)
	}
	s.Close()
	if err := s.CheckWritable(ctx); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Errorf("probe of a closed database: %v, want unavailable", err)
	}
}
