package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strings"
	"time"
)

// defaultReplicaCheck is how often a mediator on PostgreSQL looks for the
// jobs of mediators that are gone.
const defaultReplicaCheck = 5 * time.Second

// Many mediators on one PostgreSQL database. River runs each job once
// (a job is locked as it is fetched), makes one of them the leader, which
// inserts the periodic jobs (reconciliation, the WebSub subscription,
// pruning; each unique while waiting or running, so one runs at a time
// whichever mediator takes it), and rescues jobs stuck "running". What
// River does not do is notice promptly that a mediator died: its jobs stay
// "running" until the rescue (RescueStuckJobsAfter, minutes, since it
// cannot tell a dead mediator from a slow job) and its leadership until
// the term ends. So each mediator holds a lock in the database for as long
// as its session lives (store.Announce), and every ReplicaCheck each one
// resumes the jobs whose mediator holds no lock any more, and drops such a
// mediator's leadership (store.ResumeOrphanedJobs): a killed mediator's
// records move on within seconds, on the others.

// startReplica announces this process and starts the check loop (PostgreSQL
// only).
func (r *Runner) startReplica(ctx context.Context) error {
	st := r.cfg.Store
	if st.Dialect() != "postgres" {
		return nil
	}
	if err := st.Announce(ctx, r.cfg.ID); err != nil {
		return fmt.Errorf("jobs: announce this mediator: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.stopReplica, r.replicaDone = cancel, make(chan struct{})
	go func() {
		defer close(r.replicaDone)
		r.checkReplicas(loopCtx)
		for {
			// Jitter, so that the mediators' checks spread out.
			wait := r.cfg.ReplicaCheck/2 + mrand.N(r.cfg.ReplicaCheck)
			select {
			case <-loopCtx.Done():
				return
			case <-time.After(wait):
			}
			r.checkReplicas(loopCtx)
		}
	}()
	return nil
}

// checkReplicas keeps this process's lock, then resumes the jobs of
// mediators that are gone.
func (r *Runner) checkReplicas(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(r.cfg.ReplicaCheck, 10*time.Second))
	defer cancel()
	st := r.cfg.Store
	if err := st.Announce(ctx, r.cfg.ID); err != nil {
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "cannot keep this mediator's replica lock; other mediators may run its jobs again", "err", err)
		}
		return
	}
	jobs, leader, err := st.ResumeOrphanedJobs(ctx)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			r.log.WarnContext(ctx, "cannot look for the jobs of mediators that are gone", "err", err)
		}
	case jobs > 0 || leader:
		r.log.WarnContext(ctx, "a mediator is gone: its running jobs are resumed", "jobs", jobs, "leadership_dropped", leader)
	}
}

func (r *Runner) stopReplicaLoop() {
	if r.stopReplica == nil {
		return
	}
	r.stopReplica()
	<-r.replicaDone
	r.stopReplica = nil
}

// newID names this process: host, process id, and randomness (a restarted
// mediator gets a new name, so its predecessor's jobs are resumed).
func newID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(c rune) rune {
		if c == '.' || c < '!' || c > '~' {
			return '_'
		}
		return c
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b))
}
