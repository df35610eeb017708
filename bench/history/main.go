// Command history makes a mediator database with a long history, for
// bench/history.sh: it creates the database with the mediator's own
// migrations, then seeds N finished transactions (with their event logs and
// WebSub deliveries) by bulk SQL, in batches, printing progress to stderr.
//
//	go run ./bench/history -db data/history.sqlite -n 1000000
//	go run ./bench/history -database-url postgres://... -n 100000
//
// The database must be new or empty of transactions. The last line on
// stdout is
//
//	history: seeded N transactions in D (R/s); database B bytes
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver

	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/store/storetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("db", "", "SQLite database file to create (or one the mediator created that holds no transaction)")
	dbURL := fs.String("database-url", "", "PostgreSQL database (postgres://...) instead: it must exist and hold no transaction")
	n := fs.Int("n", 100000, "finished transactions to seed")
	packet := fs.Int("packet-bytes", 1500, "size of each transaction's stored MOSIP packet")
	batch := fs.Int("batch", 20000, "transactions per database transaction")
	every := fs.Duration("every", time.Second, "spacing of the transactions' creation times, the last an hour ago")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: history (-db FILE | -database-url URL) -n N\n\nCreates a mediator database and seeds N finished transactions into it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*path == "") == (*dbURL == "") || *n <= 0 {
		fmt.Fprintln(stderr, "history: give -db FILE or -database-url URL (one of them), and a positive -n")
		fs.Usage()
		return 2
	}
	if err := seed(ctx, *path, *dbURL, *n, *packet, *batch, *every, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "history:", err)
		return 1
	}
	return 0
}

func seed(ctx context.Context, path, dbURL string, n, packet, batch int, every time.Duration, stdout, stderr io.Writer) error {
	// The schema, as the mediator makes it (ours and River's).
	st, err := store.Open(ctx, store.Config{Path: path, DatabaseURL: dbURL})
	if err != nil {
		return err
	}
	err = st.Migrate(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	pg := dbURL != ""
	var db *sql.DB
	if pg {
		db, err = sql.Open("pgx", dbURL)
	} else {
		// Bulk loading: no fsync until the end, a large page cache.
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(OFF)", "foreign_keys(ON)", "cache_size(-262144)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		db, err = sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	}
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if pg {
		if _, err := db.ExecContext(ctx, `SET synchronous_commit = off`); err != nil {
			return err
		}
	}

	start := time.Now()
	last := start
	err = storetest.Seed(ctx, db, pg, storetest.History{
		N: n, End: time.Now().Add(-time.Hour), Every: every, PacketBytes: packet, Batch: batch,
		Progress: func(done int) {
			if now := time.Now(); now.Sub(last) >= 5*time.Second || done == n {
				last = now
				fmt.Fprintf(stderr, "history: %d/%d transactions (%.0f/s)\n", done, n, float64(done)/now.Sub(start).Seconds())
			}
		},
	})
	if err != nil {
		return err
	}
	took := time.Since(start)
	if pg {
		// As autovacuum would, before the mediator's first queries.
		if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
			return err
		}
	} else if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	var size int64
	if pg {
		err = db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&size)
	} else {
		var fi os.FileInfo
		if fi, err = os.Stat(path); err == nil {
			size = fi.Size()
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "history: seeded %d transactions in %s (%.0f/s); database %d bytes\n",
		n, took.Round(time.Second), float64(n)/took.Seconds(), size)
	return nil
}
