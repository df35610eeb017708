package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
)

// PostgreSQL: several mediators may share the database, so the store never
// relies on writes taking turns as SQLite's single writer makes them:
//
//   - A transition locks its row (SELECT ... FOR UPDATE) and applies only
//     from the states it names, in one statement (Tx.Transition).
//   - Application ids come from a counter row updated in a statement of its
//     own, outside the caller's transaction, so that intake on every
//     mediator does not queue behind one lock held until each commit
//     (aid.go). A rolled-back intake leaves a gap, never a repeat.
//   - A record's dedupe key is locked (an advisory lock, until commit)
//     before its live transaction is looked up, so that two mediators
//     receiving the same record at once accept it once: the second waits,
//     then finds the first's transaction (Tx.LiveByDedupeKey).
//   - The counts of transactions per state are spread over rows per
//     connection, so that transitions on different connections do not
//     wait for each other (migration 0006).
//
// Writers and readers have pools of their own, as on SQLite. River uses the
// writers' pool through its database/sql driver, so that a state change and
// its jobs commit together, and listens for notifications (jobs inserted,
// leadership) on connections of its own: every mediator learns of a job
// the moment another commits it.

const (
	// defaultPostgresWriters is the size of the writers' pool when
	// DATABASE_URL sets no pool_max_conns: room for the job workers'
	// transactions and River's own.
	defaultPostgresWriters = 20
	// migrationLock is the advisory lock (one 64-bit key) Migrate holds.
	migrationLock = 0x6f6d5f6d69677261 // "om_migra"
	// dedupeLockSpace is the first key of the advisory locks (two 32-bit
	// keys: a space of its own) on dedupe keys.
	dedupeLockSpace = 0x6f6d6464 // "omdd"
)

func openPostgres(ctx context.Context, cfg Config, durable bool) (*Store, error) {
	// pgxpool's parser accepts pool_max_conns and the like; the pools
	// below are database/sql's, sized from it.
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		// The error may quote the URL, password included.
		return nil, errors.New("store: DATABASE_URL is not a PostgreSQL connection string (postgres://user:password@host:5432/database)")
	}
	writers := defaultPostgresWriters
	if strings.Contains(cfg.DatabaseURL, "pool_max_conns") {
		writers = max(4, int(pcfg.MaxConns))
	}
	base := pcfg.ConnConfig
	if base.RuntimeParams["application_name"] == "" {
		base.RuntimeParams["application_name"] = "opencrvs-mosip"
	}

	// Writers commit without waiting for the disk, as SQLite's
	// synchronous NORMAL: a durable transaction waits for its own commit,
	// and with it every earlier one (the WAL is a log).
	wcfg := base.Copy()
	wcfg.RuntimeParams["synchronous_commit"] = "off"
	db := sql.OpenDB(cfg.connector(stdlib.GetConnector(*wcfg)))
	db.SetMaxOpenConns(writers)
	db.SetMaxIdleConns(writers)
	db.SetConnMaxIdleTime(10 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	// Readers write one thing: the id counter (aid.go), which an intake's
	// durable commit flushes with it.
	rcfg := base.Copy()
	rcfg.RuntimeParams["synchronous_commit"] = "off"
	rdb := sql.OpenDB(cfg.connector(stdlib.GetConnector(*rcfg)))
	readers := max(4, runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	rdb.SetConnMaxIdleTime(10 * time.Minute)

	// River's LISTEN connections are taken from this pool and kept.
	pcfg.MinConns, pcfg.MaxConns = 0, 2
	listen, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	s := newStore(cfg, db, rdb, durable)
	s.pg = true
	s.listen = listen
	// The replica lock's session (replicas.go) must end soon after its
	// host goes silent: the server probes the connection after 10 s of
	// quiet, every 5 s, and gives up after 3 missed probes or 30 s of
	// unacknowledged data.
	s.replicaConfig = base.Copy()
	for k, v := range map[string]string{
		"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3", "tcp_user_timeout": "30000",
	} {
		s.replicaConfig.RuntimeParams[k] = v
	}
	s.driver = riverdatabasesql.NewWithPgxListener(db, listen)
	return s, nil
}

// inDurableTxPostgres is InDurableTx on PostgreSQL: the commit waits until
// it is on disk.
func (s *Store) inDurableTxPostgres(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, s.db, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return unavailable("set synchronous_commit", err)
		}
		return fn(tx)
	})
}

// lockMigrations waits until no other mediator migrates this database, and
// returns the function that lets the next one go.
func (s *Store) lockMigrations(ctx context.Context) (func(), error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, unavailable("connect", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		conn.Close()
		return nil, unavailable("lock the schema for migration", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
		conn.Close()
	}, nil
}

// lockDedupeKey holds key, until the transaction ends, against other
// transactions locking it (PostgreSQL only).
func (t *Tx) lockDedupeKey(ctx context.Context, key string) error {
	if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(dedupeLockSpace), key); err != nil {
		return unavailable("lock the dedupe key", err)
	}
	return nil
}

// isPostgresUniqueViolation reports a unique_violation (SQLSTATE 23505).
func isPostgresUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
