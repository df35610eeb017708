package loadgen

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Two clients in a closed loop, each before its own simulator, both in
// front of one mediator: each client's part of the summary is what its
// simulator saw, and neither had more than its share of the concurrency in
// flight.
func TestRunClientsClosedLoop(t *testing.T) {
	t.Parallel()
	sims := newSystems(t, 2, func(int) behaviour { return confirm })
	res, err := Run(context.Background(), Config{
		OpenCRVSURLs: []string{sims[0].url, sims[1].url + "/"}, Clients: 2, Records: 20, Concurrency: 5, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Records != 20 || res.Completed != 20 || len(res.Clients) != 2 {
		t.Fatalf("%d records, %d completed, %d clients (%v), want 20, 20, 2", res.Records, res.Completed, len(res.Clients), res.Errors)
	}
	total := 0
	for c, cr := range res.Clients {
		sim := sims[c]
		if cr.OpenCRVS != sim.url {
			t.Errorf("client %d sent to %s, want %s", c, cr.OpenCRVS, sim.url)
		}
		if st := sim.stats(t); st["records"] != cr.Records || st["registered"] != cr.Completed {
			t.Errorf("client %d: %d records, %d completed; its simulator has %v", c, cr.Records, cr.Completed, st)
		}
		if want := []int{3, 2}[c]; cr.Concurrency != want {
			t.Errorf("client %d has a share of %d, want %d", c, cr.Concurrency, want)
		}
		if got := sim.maxFlight.Load(); got > int64(cr.Concurrency) {
			t.Errorf("client %d had %d requests in flight, above its share %d", c, got, cr.Concurrency)
		}
		if cr.Failed != 0 || cr.LateStarts != 0 {
			t.Errorf("client %d: %+v, want no failure and no late start", c, cr)
		}
		total += cr.Records
	}
	if total != 20 {
		t.Errorf("the clients sent %d records in all, want 20", total)
	}
	if res.Rate != nil || res.Phases != nil {
		t.Errorf("rate %+v, phases %+v: want none in a closed loop without mediators", res.Rate, res.Phases)
	}
}

// With a rate and a cap of one record in flight, a record held by the
// mediator until every record is due makes all the others start late, and
// the summary says so.
func TestRunRateCountsLateStarts(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(int) behaviour { return gated })
	const records, rate = 6, 1000.0 // all due within 5 ms
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(context.Background(), Config{OpenCRVSURL: sys.url, Records: records, Concurrency: 1, Rate: rate, Timeout: 20 * time.Second})
		done <- ran{res, err}
	}()
	// The first record waits at the mediator; hold it until well after the
	// last record was due (every due time is within 5 ms of the run's
	// start, which was before the first record arrived).
	deadline := time.Now().Add(10 * time.Second)
	for sys.stats(t)["waiting"] < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first record did not reach the mediator")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // wall-clock time for the schedule to pass, not synchronisation
	close(sys.mediator.gate)
	var r ran
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end")
	}
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if r.res.Completed != records {
		t.Errorf("%d completed (%v), want %d", r.res.Completed, r.res.Errors, records)
	}
	if r.res.Rate == nil {
		t.Fatal("no rate in the summary of a run with a rate")
	}
	if got := r.res.Rate; got.LateStarts != records-1 || got.TargetPerS != rate || got.StartedPerS <= 0 {
		t.Errorf("rate %+v, want %d late starts of a target of %v/s and a start rate", got, records-1, rate)
	}
	if got := r.res.Clients[0].LateStarts; got != records-1 {
		t.Errorf("the client counts %d late starts, want %d", got, records-1)
	}
	if got := sys.maxFlight.Load(); got > 1 {
		t.Errorf("%d requests in flight at once, above the cap of 1", got)
	}
}

// With room for every record, a rate run starts each on time: nothing is
// late, the run lasts at least until the last record was due, and records
// go to the clients in turn.
func TestRunRateOnSchedule(t *testing.T) {
	t.Parallel()
	sims := newSystems(t, 2, func(int) behaviour { return confirm })
	const records, rate = 9, 100.0
	res, err := Run(context.Background(), Config{
		OpenCRVSURLs: []string{sims[0].url, sims[1].url}, Clients: 3, Records: records, Concurrency: 30, Rate: rate, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Rate == nil || res.Rate.LateStarts != 0 || res.Rate.StartedPerS <= 0 || math.IsInf(res.Rate.StartedPerS, 0) {
		t.Errorf("rate %+v, want no late start and a start rate", res.Rate)
	}
	if last := float64(records-1) / rate; res.DurationS < last {
		t.Errorf("the run took %vs, less than the %vs until the last record was due", res.DurationS, last)
	}
	var got []int
	for _, c := range res.Clients {
		got = append(got, c.Records)
	}
	if diff := cmp.Diff([]int{3, 3, 3}, got); diff != "" {
		t.Errorf("records per client (-want +got):\n%s", diff)
	}
	// Clients 0 and 2 send to the first simulator, client 1 to the second.
	if a, b := sims[0].stats(t)["records"], sims[1].stats(t)["records"]; a != 6 || b != 3 {
		t.Errorf("the simulators got %d and %d records, want 6 and 3", a, b)
	}
}
