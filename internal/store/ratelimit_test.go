package store

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
)

// Slots are spaced by the rate whoever takes them: counted at one instant,
// the slots within reach are exactly those the rate allows, and nothing
// beyond is reserved; on both databases.
func TestRateSlots(t *testing.T) { bothStores(t, testRateSlots) }

func testRateSlots(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	if r, err := s.Rate(ctx, RateBackfill); err != nil || r != 5 {
		t.Fatalf("default backfill rate = %v, %v; want 5 a second", r, err)
	}
	if err := s.SetRate(ctx, RateBackfill, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRate(ctx, RateBackfill, 10); err != nil { // unchanged is fine
		t.Fatal(err)
	}
	if iv, err := s.RateInterval(ctx, RateBackfill); err != nil || iv != 100*time.Millisecond {
		t.Fatalf("interval = %v, %v; want 100ms", iv, err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var waits []time.Duration
	for {
		wait, ok, err := s.TakeSlot(ctx, RateBackfill, now, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			// Nothing within a second is left: the next slot is 1.1 s
			// away, 0.1 s beyond the reach.
			if wait != 100*time.Millisecond {
				t.Errorf("refused slot: wait %v, want 100ms", wait)
			}
			break
		}
		waits = append(waits, wait)
		if len(waits) > 100 {
			t.Fatal("more than 100 slots within a second at 10 a second")
		}
	}
	if next, err := s.NextSlot(ctx, RateBackfill); err != nil || !next.Equal(now.Add(1100*time.Millisecond)) {
		t.Errorf("NextSlot = %v, %v; want 11 intervals on", next, err)
	}
	var want []time.Duration
	for i := range 11 { // 0, 0.1, ..., 1.0 s
		want = append(want, time.Duration(i)*100*time.Millisecond)
	}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("slots at 10/s (-want +got):\n%s", diff)
	}
	// Later, the limit has caught up: a slot at once, then spaced again.
	later := now.Add(time.Minute)
	for i, want := range []time.Duration{0, 100 * time.Millisecond} {
		if wait, ok, err := s.TakeSlot(ctx, RateBackfill, later, time.Second); err != nil || !ok || wait != want {
			t.Errorf("slot %d a minute later: %v, %v, %v; want %v", i, wait, ok, err, want)
		}
	}

	// No limit: every slot at once.
	if err := s.SetRate(ctx, RateBackfill, 0); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if wait, ok, err := s.TakeSlot(ctx, RateBackfill, later.Add(time.Hour), 0); err != nil || !ok || wait != 0 {
			t.Fatalf("unlimited slot: %v, %v, %v; want at once", wait, ok, err)
		}
	}
	if r, err := s.Rate(ctx, RateBackfill); err != nil || r != 0 {
		t.Errorf("rate = %v, %v; want 0 (no limit)", r, err)
	}

	for _, bad := range []float64{-1, 2e6} {
		if err := s.SetRate(ctx, RateBackfill, bad); bridge.ErrorCodeOf(err) != bridge.EInvalid {
			t.Errorf("SetRate(%v) = %v, want invalid", bad, err)
		}
	}
	if err := s.SetRate(ctx, "nope", 1); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("SetRate(unknown) = %v, want not found", err)
	}
	if _, _, err := s.TakeSlot(ctx, "nope", now, 0); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("TakeSlot(unknown) = %v, want not found", err)
	}
}

// Many takers at once (goroutines standing for mediators) never share a
// slot: at 100 a second, 50 takers at one instant get 50 distinct slots
// 10 ms apart.
func TestRateSlotsConcurrent(t *testing.T) { bothStores(t, testRateSlotsConcurrent) }

func testRateSlotsConcurrent(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	if err := s.SetRate(ctx, RateBackfill, 100); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	seen := map[time.Duration]bool{}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			wait, ok, err := s.TakeSlot(ctx, RateBackfill, now, time.Hour)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !ok {
				t.Errorf("TakeSlot: %v, %v", ok, err)
				return
			}
			if seen[wait] {
				t.Errorf("slot %v taken twice", wait)
			}
			seen[wait] = true
		})
	}
	wg.Wait()
	for i := range 50 {
		if !seen[time.Duration(i)*10*time.Millisecond] {
			t.Errorf("slot %d (at %v) not taken", i, time.Duration(i)*10*time.Millisecond)
		}
	}
}

// QueueWaiting counts the jobs of one queue not yet finished, not those
// of other queues.
func TestQueueWaiting(t *testing.T) { bothStores(t, testQueueWaiting) }

func testQueueWaiting(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	if n, err := s.QueueWaiting(ctx, "submit_backfill"); err != nil || n != 0 {
		t.Fatalf("QueueWaiting on an empty database = %d, %v", n, err)
	}
	// An insert-only client: nothing works the jobs.
	client, err := river.NewClient(s.RiverDriver(), &river.Config{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		for i, queue := range []string{"submit_backfill", "submit_backfill", "submit", "submit_backfill"} {
			if _, err := client.InsertTx(ctx, tx.SQL(), pingArgs{N: i}, &river.InsertOpts{Queue: queue}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.QueueWaiting(ctx, "submit_backfill"); err != nil || n != 3 {
		t.Errorf("QueueWaiting(submit_backfill) = %d, %v; want 3", n, err)
	}
	if n, err := s.QueueWaiting(ctx, "submit"); err != nil || n != 1 {
		t.Errorf("QueueWaiting(submit) = %d, %v; want 1", n, err)
	}
}
