package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
)

func TestQueueDepth(t *testing.T) { bothStores(t, testQueueDepth) }

func testQueueDepth(t *testing.T, db testDB) {
	ctx := t.Context()
	s := db.open(t, nil)
	// A client that only inserts: nothing works the jobs.
	client, err := river.NewClient(s.RiverDriver(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ins := range []struct {
		queue string
		at    time.Time
	}{{"submit", time.Time{}}, {"submit", time.Time{}}, {"submit", time.Now().Add(time.Hour)}, {"feedback", time.Time{}}} {
		if _, err := client.Insert(ctx, pingArgs{}, &river.InsertOpts{Queue: ins.queue, ScheduledAt: ins.at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.QueueDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{"submit": {"available": 2, "scheduled": 1}, "feedback": {"available": 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queue depth (-want +got):\n%s", diff)
	}
}
