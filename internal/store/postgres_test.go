package store

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store/pgtest"
)

// Two mediators ("replicas") on one PostgreSQL database migrate it at once,
// receive the same records at once and move the same transactions at once:
// each record is accepted once, no AID is issued twice, no transition is
// applied twice, every event log is one unbroken chain, and the counts per
// state add up.
func TestPostgresReplicas(t *testing.T) {
	ctx := t.Context()
	db := testDB{pg: true, where: Config{DatabaseURL: pgtest.URL(t)}}
	replicas := []*Store{db.openWith(t, Config{}), db.openWith(t, Config{})}
	var wg sync.WaitGroup
	for _, s := range replicas {
		wg.Go(func() {
			if err := s.Migrate(ctx); err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, s := range replicas {
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatal(err)
		}
	}

	const records, workersPerReplica = 60, 4
	formats := []AIDFormat{
		{Kind: AIDRID, CentreID: "10001", MachineID: "10004"},
		{Kind: AIDPrefixed, Prefix: "10001"},
	}
	// Intake: every worker of both replicas receives every record, in an
	// order of its own.
	var mu sync.Mutex
	accepted := map[string]string{} // tracking id -> AID
	aids := map[string]bool{}
	for r, s := range replicas {
		for w := range workersPerReplica {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(r), uint64(w)))
				for _, i := range rng.Perm(records) {
					tracking := fmt.Sprintf("R%03d", i)
					var inserted string
					err := s.InDurableTx(ctx, func(tx *Tx) error {
						inserted = ""
						live, err := tx.LiveByDedupeKey(ctx, "birth:"+tracking)
						if err != nil || live != nil {
							return err
						}
						id, err := tx.NextAID(ctx, formats[i%2])
						if err != nil {
							return err
						}
						// An id taken by a transaction that rolls back is
						// never issued again.
						mu.Lock()
						if aids[id] {
							t.Errorf("AID %s issued twice", id)
						}
						aids[id] = true
						mu.Unlock()
						tr := sampleTransaction(id, tracking)
						if err := tx.Insert(ctx, tr, "birth:"+tracking, "accepted"); err != nil {
							return err
						}
						inserted = id
						return nil
					})
					if err != nil {
						t.Errorf("replica %d: intake of %s: %v", r, tracking, err)
						continue
					}
					if inserted != "" {
						mu.Lock()
						if prev, dup := accepted[tracking]; dup {
							t.Errorf("record %s accepted twice: %s and %s", tracking, prev, inserted)
						}
						accepted[tracking] = inserted
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	if len(accepted) != records {
		t.Fatalf("%d records accepted, want %d", len(accepted), records)
	}

	// Transitions: every worker drives every transaction to CONFIRMED,
	// racing the others at each step.
	chain := []bridge.State{bridge.StateQueued, bridge.StateSubmitted, bridge.StateIssued, bridge.StateConfirmed}
	applied := map[string]int{} // "<AID> <to>" -> times applied
	for r, s := range replicas {
		for w := range workersPerReplica {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(r), uint64(w)+100))
				ids := make([]string, 0, records)
				for _, id := range accepted {
					ids = append(ids, id)
				}
				rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				for _, id := range ids {
					for range 2 * len(chain) { // each round moves it on, by this worker or another
						for step := 1; step < len(chain); step++ {
							ok, err := s.Transition(ctx, id, Change{From: chain[step-1 : step], To: chain[step], Reason: fmt.Sprintf("replica %d", r)})
							if err != nil {
								t.Errorf("replica %d: %s -> %s: %v", r, id, chain[step], err)
								return
							}
							if ok {
								mu.Lock()
								applied[id+" "+string(chain[step])]++
								mu.Unlock()
							}
						}
						tr, err := s.Transaction(ctx, id)
						if err != nil {
							t.Error(err)
							return
						}
						if tr.State == bridge.StateConfirmed {
							break
						}
					}
				}
			})
		}
	}
	wg.Wait()
	for _, id := range accepted {
		for _, to := range chain[1:] {
			if n := applied[id+" "+string(to)]; n != 1 {
				t.Errorf("%s -> %s applied %d times, want once", id, to, n)
			}
		}
		events, err := replicas[0].Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != len(chain) {
			t.Errorf("%s: %d events, want %d: %+v", id, len(events), len(chain), events)
			continue
		}
		for i, e := range events {
			var from bridge.State
			if i > 0 {
				from = chain[i-1]
			}
			if e.From != from || e.To != chain[i] {
				t.Errorf("%s: event %d is %s -> %s, want %s -> %s", id, i, e.From, e.To, from, chain[i])
			}
		}
	}
	for _, s := range replicas {
		counts, err := s.CountByState(ctx)
		if err != nil || len(counts) != 1 || counts[bridge.StateConfirmed] != records {
			t.Errorf("CountByState = %v, %v; want %d CONFIRMED", counts, err, records)
		}
	}
}
