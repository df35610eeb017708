// Package store keeps the mediator's durable state: transactions, their event
// log, WebSub deliveries and id counters, in the same database as the River
// job queue so that a state change and the job it implies commit together.
//
// SQLite (pure Go, WAL) is the embedded default. Writes go through a single
// connection, which River shares: SQLite has one writer at a time, and a
// queue in Go is fairer and cheaper than SQLite's busy-wait. Reads use a
// separate pool. Nothing here ever waits on the network inside a database
// transaction.
//
// PostgreSQL (Config.DatabaseURL, postgres.go) is for several mediators on
// one database: the same Store, schema and behaviour, with pools of
// connections instead of one writer, so that nothing relies on writes
// taking turns: state changes are compare-and-set on a locked row, ids come
// from a counter updated in one statement, and a record's dedupe key is
// locked while it is looked up and inserted.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"opencrvs-mosip/internal/bridge"
)

//go:embed migrations
var migrations embed.FS

// Config configures a Store.
type Config struct {
	// DatabaseURL, when set, selects PostgreSQL: postgres://user:password@host/db
	// (a pgx connection string; pool_max_conns sizes the pool of writers).
	// Path is then unused.
	DatabaseURL string
	// Path is the SQLite database file; its directory is created if needed.
	Path string
	// Synchronous says which commits reach the disk before they return:
	// FULL (default): every durable transaction (InDurableTx: what the
	// mediator acknowledges to OpenCRVS or MOSIP), and with it everything
	// committed before; NORMAL: none (a power cut may lose the last commits;
	// a crash of the process loses nothing). On PostgreSQL the others
	// commit with synchronous_commit off, which has the same meaning.
	Synchronous string
	// MustExist refuses to create a missing database (operators' tools;
	// PostgreSQL never creates one).
	MustExist bool
	// Sealer encrypts the OpenCRVS tokens the store keeps; nil stores them
	// as they are (tests and tools that never read them).
	Sealer *Sealer
	Logger *slog.Logger
	Now    func() time.Time
	// wrap, when set, wraps the connector of every pool (tests: the
	// query plans test records the statements the store issues).
	wrap func(driver.Connector) driver.Connector
}

// connector is c wrapped by cfg.wrap, if set.
func (cfg Config) connector(c driver.Connector) driver.Connector {
	if cfg.wrap == nil {
		return c
	}
	return cfg.wrap(c)
}

// Store is the database.
type Store struct {
	// db writes: SQLite's single writer connection, or a pool of
	// PostgreSQL connections; shared with River.
	db      *sql.DB
	durable bool    // InDurableTx syncs to disk
	rdb     *sql.DB // readers (and, on PostgreSQL, id allocation: aid.go)
	now     func() time.Time
	log     *slog.Logger
	bus     *bus // SQLite's job notifications (notify.go)
	driver  riverdriver.Driver[*sql.Tx]
	sealer  *Sealer
	// pg is set on PostgreSQL (postgres.go); listen holds River's LISTEN
	// connections there, and replica this process's replica lock
	// (replicas.go), connected with replicaConfig.
	pg            bool
	listen        *pgxpool.Pool
	replica       replica
	replicaConfig *pgx.ConnConfig
}

// Open opens the database. It does not change the schema: call Migrate, or
// CheckSchema to refuse an out-of-date one.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	sync := strings.ToUpper(cmpOr(cfg.Synchronous, "FULL"))
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("store: synchronous must be FULL or NORMAL, not %q", cfg.Synchronous)
	}
	if cfg.DatabaseURL != "" {
		return openPostgres(ctx, cfg, sync == "FULL")
	}
	if cfg.Path == "" {
		return nil, errors.New("store: no database path")
	}
	if cfg.MustExist {
		if _, err := os.Stat(cfg.Path); err != nil {
			return nil, fmt.Errorf("store: no database at %s (set SQLITE_DATABASE_PATH or --sqlite): %w", cfg.Path, err)
		}
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		// Commits are not flushed by default; InDurableTx flushes (and so
		// persists every earlier commit too: the WAL is a log).
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		return "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() + "?" + q.Encode()
	}
	db := sql.OpenDB(cfg.connector(newCachingConnector(dsn())))
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	rdb := sql.OpenDB(cfg.connector(newCachingConnector(dsn("query_only(1)"))))
	rdb.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
	s := newStore(cfg, db, rdb, sync == "FULL")
	s.driver = &riverDriver{Driver: riversqlite.New(db), bus: s.bus}
	return s, nil
}

func newStore(cfg Config, db, rdb *sql.DB, durable bool) *Store {
	s := &Store{
		durable: durable,
		db:      db,
		rdb:     rdb,
		now:     cfg.Now,
		log:     cfg.Logger,
		bus:     newBus(),
		sealer:  cfg.Sealer,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Close closes the database. Stop River first.
func (s *Store) Close() error {
	if s.listen != nil {
		s.listen.Close()
	}
	s.closeReplica()
	return errors.Join(s.rdb.Close(), s.db.Close())
}

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.pg {
		return "postgres"
	}
	return "sqlite"
}

// RiverDriver is the River driver on this database.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] { return s.driver }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.PingContext(ctx) }

// Tx is a database transaction with hooks that run after it commits.
type Tx struct {
	tx    *sql.Tx
	s     *Store
	after []func()
}

// SQL is the underlying transaction, for River's InsertTx.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// AfterCommit runs f once the transaction has committed (not on rollback).
func (t *Tx) AfterCommit(f func()) { t.after = append(t.after, f) }

// InTx runs fn in a write transaction and commits it if fn returns nil.
// The commit may not have reached the disk when InTx returns (see
// InDurableTx): use it for work that is redone if lost, such as a job's
// bookkeeping.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, s.db, fn)
}

// InDurableTx is InTx for a commit the mediator is about to acknowledge to
// someone (a record accepted, a delivery received): with synchronous FULL
// it is on disk, with every earlier commit, when InDurableTx returns.
func (s *Store) InDurableTx(ctx context.Context, fn func(*Tx) error) error {
	if !s.durable {
		return s.InTx(ctx, fn)
	}
	if s.pg {
		return s.inDurableTxPostgres(ctx, fn)
	}
	// SQLite's safety level cannot change inside a transaction: set it on
	// the connection around this one.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return unavailable("connect", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return unavailable("set synchronous", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`)
	return s.inTx(ctx, conn, fn)
}

type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (s *Store) inTx(ctx context.Context, db beginner, fn func(*Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("begin transaction", err)
	}
	tx := &Tx{tx: sqlTx, s: s}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return unavailable("commit", err)
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// NotifyQueue wakes River's producers for queue at once, instead of at their
// next poll. Call it after the commit that inserted jobs (Tx.AfterCommit).
func (s *Store) NotifyQueue(queue string) {
	if s.pg {
		return // River notified every mediator with the commit (NOTIFY)
	}
	s.bus.publish(topicInsert, fmt.Sprintf(`{"queue": %q}`, queue))
}

// unavailable wraps a database failure: the caller should try again later.
func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return &bridge.Error{Code: bridge.EUnavailable, Message: "the database is not available", Err: fmt.Errorf("store: %s: %w", op, err)}
}

// Migrate applies every pending migration: ours, then River's. Each of ours
// runs in its own transaction.
func (s *Store) Migrate(ctx context.Context) error {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`
	if s.pg {
		// Mediators that start together migrate one at a time.
		unlock, err := s.lockMigrations(ctx)
		if err != nil {
			return err
		}
		defer unlock()
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`
	}
	if _, err := s.db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	current, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return err
	}
	files, err := s.migrationFiles()
	if err != nil {
		return err
	}
	if latest := files[len(files)-1].version; current > latest {
		return fmt.Errorf("store: the database schema (version %d) is newer than this program knows (%d): run a newer opencrvs-mosip", current, latest)
	}
	for _, f := range files {
		if f.version <= current {
			continue
		}
		body, err := fs.ReadFile(migrations, f.path)
		if err != nil {
			return err
		}
		err = s.InDurableTx(ctx, func(tx *Tx) error {
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("store: migration %s: %w", f.path, err)
			}
			_, err := tx.tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, f.version, s.now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("schema migration applied", "version", f.version, "file", f.path)
	}
	migrator, err := rivermigrate.New(s.driver, &rivermigrate.Config{Logger: s.log})
	if err != nil {
		return fmt.Errorf("store: river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("store: river migrations: %w", err)
	}
	return nil
}

// CheckSchema returns an error unless every migration is applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	files, err := s.migrationFiles()
	if err != nil {
		return err
	}
	latest := files[len(files)-1].version
	current, err := s.schemaVersion(ctx, s.rdb)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return fmt.Errorf("store: the database schema is at version %d, this program needs %d: run `opencrvs-mosip migrate`", current, latest)
	case current > latest:
		return fmt.Errorf("store: the database schema (version %d) is newer than this program knows (%d): run a newer opencrvs-mosip", current, latest)
	}
	migrator, err := rivermigrate.New(s.driver, &rivermigrate.Config{Logger: s.log})
	if err != nil {
		return fmt.Errorf("store: river migrator: %w", err)
	}
	res, err := migrator.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: river schema: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("store: the job queue schema is out of date (%s): run `opencrvs-mosip migrate`", strings.Join(res.Messages, "; "))
	}
	return nil
}

func (s *Store) schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var exists int
	query := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if s.pg {
		query = `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`
	}
	err := db.QueryRowContext(ctx, query).Scan(&exists)
	if err != nil {
		return 0, unavailable("read schema version", err)
	}
	if exists == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, unavailable("read schema version", err)
	}
	return int(v.Int64), nil
}

type migrationFile struct {
	version int
	path    string
}

// migrationFiles lists the migrations of the store's dialect: the same
// numbers, with the same meaning, in migrations/sqlite and
// migrations/postgres.
func (s *Store) migrationFiles() ([]migrationFile, error) {
	dir := "migrations/" + s.Dialect()
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var files []migrationFile
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration file %s is not named NNNN_name.sql", e.Name())
		}
		files = append(files, migrationFile{version: v, path: dir + "/" + e.Name()})
	}
	slices.SortFunc(files, func(a, b migrationFile) int { return a.version - b.version })
	if len(files) == 0 {
		return nil, errors.New("store: no migrations")
	}
	return files, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RecoverFromStop prepares the job queue of a process that starts after
// another stopped (perhaps killed), and returns how many jobs were
// interrupted. Jobs the stopped process left "running" are made available
// again at once: River would rescue them too, but only after
// RescueStuckJobsAfter (minutes), and the records in flight would wait that
// long. Its leadership of the queue is dropped, so that this process leads
// (and runs the periodic jobs: reconciliation, the WebSub subscription) at
// once rather than when the dead leader's term runs out. Call it at start,
// before the jobs run. It is only right when no other process works this
// database's jobs, which holds for SQLite, whose file one mediator owns
// (and running a job twice is harmless: every job is idempotent). On
// PostgreSQL, which other mediators may share, it does nothing: every
// mediator there resumes the jobs of those that are gone, and drops their
// leadership, as soon as their database session ends (ResumeOrphanedJobs).
func (s *Store) RecoverFromStop(ctx context.Context) (int, error) {
	if s.pg {
		return 0, nil
	}
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec')
			WHERE state = 'running'`)
		if err != nil {
			return unavailable("requeue interrupted jobs", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
			return unavailable("drop the stopped process's leadership", err)
		}
		return nil
	})
	return int(n), err
}
