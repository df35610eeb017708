package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Replicas on PostgreSQL. Each mediator holds, on a connection of its own,
// a session advisory lock keyed by the id its job queue client works under
// (River writes it in river_job.attempted_by), for as long as it lives.
// PostgreSQL releases the lock the moment the session ends: when the
// process is killed or crashes (the kernel closes its sockets), or when its
// host goes silent (this connection asks the server for TCP keepalives
// every few seconds, so that the session ends within about 30 s). A job
// left "running" under an id whose lock nobody holds cannot be running
// anywhere, and ResumeOrphanedJobs makes it available again at once rather
// than after River's stuck-job rescue, which must wait longer than the
// longest job may legitimately run.
//
// A false alarm (a live mediator whose lock connection dropped) only makes
// its running jobs run a second time elsewhere: every job is idempotent.

const (
	// replicaLockSpace is the first key of the replicas' advisory locks
	// (two 32-bit keys, a space of their own); the second is the hash of
	// the replica's id.
	replicaLockSpace = 0x6f6d7270 // "omrp"
)

// replica is this process's lock connection.
type replica struct {
	mu   sync.Mutex
	id   string
	conn *pgx.Conn
}

// Announce makes this process known to the other mediators as a live
// replica named id (its job queue client id), and keeps it so: called again
// with the same id, it checks the lock's connection and, if it was lost,
// takes the lock again. Call it before any job runs under id, and then
// regularly. It does nothing on SQLite, which one mediator owns.
func (s *Store) Announce(ctx context.Context, id string) error {
	if !s.pg {
		return nil
	}
	r := &s.replica
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		if r.id == id && r.conn.Ping(ctx) == nil {
			return nil
		}
		_ = r.conn.Close(context.WithoutCancel(ctx))
		r.conn = nil
		if r.id == id {
			s.log.Warn("the replica lock's database connection was lost; taking the lock again (jobs this mediator was running may run again elsewhere)")
		}
	}
	conn, err := pgx.ConnectConfig(ctx, s.replicaConfig)
	if err != nil {
		return unavailable("connect for the replica lock", err)
	}
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, int32(replicaLockSpace), id).Scan(&held); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return unavailable("take the replica lock", err)
	}
	if !held {
		// The session that held it before a lost connection may not have
		// ended yet; or two ids share a hash (then a restart picks another).
		_ = conn.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("store: the replica lock of %s is held by another session", id)
	}
	r.id, r.conn = id, conn
	return nil
}

// ResumeOrphanedJobs makes available again the jobs that mediators which
// are gone (no session holds their replica lock, see Announce) left
// running, and drops such a mediator's leadership of the job queue, so that
// another leads (periodic jobs: reconciliation, the WebSub subscription)
// without waiting for the term to run out. It returns how many jobs were
// resumed and whether a leadership was dropped. Only for PostgreSQL; on
// SQLite it does nothing (RecoverFromStop does this at start).
func (s *Store) ResumeOrphanedJobs(ctx context.Context) (jobs int, leader bool, err error) {
	if !s.pg {
		return 0, false, nil
	}
	// The ids whose lock a session holds, read once per statement.
	live := fmt.Sprintf(`WITH live AS MATERIALIZED (
			SELECT objid FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = %d
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`, replicaLockSpace)
	err = s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, live+`
			UPDATE river_job SET state = 'available', scheduled_at = now()
			WHERE state = 'running'
			  AND hashtext(attempted_by[array_upper(attempted_by, 1)])::oid NOT IN (SELECT objid FROM live)`)
		if err != nil {
			return unavailable("resume the jobs of mediators that are gone", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		jobs = int(n)
		res, err = tx.tx.ExecContext(ctx, live+`
			DELETE FROM river_leader WHERE hashtext(leader_id)::oid NOT IN (SELECT objid FROM live)`)
		if err != nil {
			return unavailable("drop the leadership of a mediator that is gone", err)
		}
		n, err = res.RowsAffected()
		leader = n > 0
		return err
	})
	if err != nil {
		return 0, false, err
	}
	return jobs, leader, nil
}

// closeReplica ends the replica lock's session.
func (s *Store) closeReplica() {
	r := &s.replica
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.conn.Close(ctx)
		r.conn = nil
	}
}
