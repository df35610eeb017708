package store

import (
	"fmt"
	"testing"
	"time"
)

func TestPruneDeliveries(t *testing.T) { bothStores(t, testPruneDeliveries) }

func testPruneDeliveries(t *testing.T, db testDB) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := db.open(t, clock)
	ctx := t.Context()
	// Five deliveries a day apart: days 0 (oldest) .. 4.
	for i := range 5 {
		if _, err := s.RecordDelivery(ctx, Delivery{EventID: fmt.Sprintf("e%d", i), Outcome: DeliveryApplied}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(24 * time.Hour)
	}
	// It is now day 5. Forget what arrived before day 2.5, two at a time:
	// e0, e1 and e2 go (in two batches), e3 and e4 stay.
	cutoff := now.Add(-60 * time.Hour)
	n1, err := s.PruneDeliveries(ctx, cutoff, 2)
	if err != nil || n1 != 2 {
		t.Fatalf("first batch: %d, %v; want 2", n1, err)
	}
	n2, err := s.PruneDeliveries(ctx, cutoff, 2)
	if err != nil || n2 != 1 {
		t.Fatalf("second batch: %d, %v; want 1", n2, err)
	}
	if n3, err := s.PruneDeliveries(ctx, cutoff, 2); err != nil || n3 != 0 {
		t.Fatalf("third batch: %d, %v; want nothing left to prune", n3, err)
	}
	for i, want := range []bool{false, false, false, true, true} {
		seen, err := s.SeenDelivery(ctx, fmt.Sprintf("e%d", i))
		if err != nil || seen != want {
			t.Errorf("e%d seen = %v (%v), want %v", i, seen, err, want)
		}
	}
	// A redelivery of a forgotten event is new again; of a kept one, not.
	if isNew, err := s.RecordDelivery(ctx, Delivery{EventID: "e0", Outcome: DeliveryApplied}); err != nil || !isNew {
		t.Errorf("redelivery of a forgotten event: new=%v %v", isNew, err)
	}
	if isNew, err := s.RecordDelivery(ctx, Delivery{EventID: "e4", Outcome: DeliveryApplied}); err != nil || isNew {
		t.Errorf("redelivery of a remembered event: new=%v %v", isNew, err)
	}
}
