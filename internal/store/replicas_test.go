package store

import (
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/store/pgtest"
)

// A mediator that is gone (its replica lock's session ended) has its
// running jobs resumed and its leadership dropped by another; a live one's
// are left alone.
func TestPostgresOrphanedJobs(t *testing.T) {
	ctx := t.Context()
	db := testDB{pg: true, where: Config{DatabaseURL: pgtest.URL(t)}}
	survivor := db.open(t, nil)
	doomed, err := Open(ctx, db.config(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	defer doomed.Close()
	for _, s := range []*Store{survivor, doomed} {
		id := "survivor"
		if s == doomed {
			id = "doomed"
		}
		if err := s.Announce(ctx, id); err != nil {
			t.Fatalf("Announce(%s): %v", id, err)
		}
		if err := s.Announce(ctx, id); err != nil {
			t.Fatalf("Announce(%s) again: %v", id, err)
		}
	}
	// A third store cannot take a live mediator's id.
	other := db.openWith(t, Config{})
	if err := other.Announce(ctx, "doomed"); err == nil {
		t.Error("a second process announced itself under a live replica's id")
	}

	running := func(by ...string) int64 {
		t.Helper()
		var id int64
		err := survivor.db.QueryRowContext(ctx, `INSERT INTO river_job (kind, args, max_attempts, queue, state, attempt, attempted_at, attempted_by)
			VALUES ('test', '{}', 5, 'submit', 'running', 1, now(), $1) RETURNING id`, "{"+strings.Join(by, ",")+"}").Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	stateOf := func(id int64) string {
		t.Helper()
		var st string
		if err := survivor.db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, id).Scan(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	mine := running("survivor")
	theirs := running("survivor", "doomed") // last attempted by the doomed one
	gone := running("long-gone")
	movedOn := running("long-gone", "survivor")
	if _, err := survivor.db.ExecContext(ctx, `INSERT INTO river_leader (leader_id, elected_at, expires_at) VALUES ('doomed', now(), now() + interval '1 minute')`); err != nil {
		t.Fatal(err)
	}

	n, leader, err := survivor.ResumeOrphanedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || leader {
		t.Errorf("ResumeOrphanedJobs with both alive = %d jobs, leader dropped %v; want the job of long-gone only", n, leader)
	}
	for id, want := range map[int64]string{mine: "running", theirs: "running", gone: "available", movedOn: "running"} {
		if got := stateOf(id); got != want {
			t.Errorf("job %d is %s, want %s", id, got, want)
		}
	}

	doomed.Close() // as SIGKILL would: the session ends
	// The server ends the session (and frees its locks) a moment after the
	// connection closes: on a loaded machine, not before the next query.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, leader, err = survivor.ResumeOrphanedJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 || leader || time.Now().After(deadline) {
			break
		}
	}
	if n != 1 || !leader {
		t.Errorf("ResumeOrphanedJobs after a mediator went = %d jobs, leader dropped %v; want 1 and true", n, leader)
	}
	for id, want := range map[int64]string{mine: "running", theirs: "available", movedOn: "running"} {
		if got := stateOf(id); got != want {
			t.Errorf("job %d is %s, want %s", id, got, want)
		}
	}
	// Its id is free again.
	if err := other.Announce(ctx, "doomed"); err != nil {
		t.Errorf("Announce under the id of a mediator that is gone: %v", err)
	}
}

func TestSQLiteReplicasDoNothing(t *testing.T) {
	s := mustOpen(t, nil)
	if err := s.Announce(t.Context(), "x"); err != nil {
		t.Errorf("Announce on SQLite = %v", err)
	}
	if n, leader, err := s.ResumeOrphanedJobs(t.Context()); n != 0 || leader || err != nil {
		t.Errorf("ResumeOrphanedJobs on SQLite = %d, %v, %v; want nothing", n, leader, err)
	}
}
