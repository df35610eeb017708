package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func TestStatementCache(t *testing.T) {
	ctx := t.Context()
	db := sql.OpenDB(newCachingConnector("file:" + filepath.Join(t.TempDir(), "c.db")))
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
		t.Fatalf("a multi-statement script: %v", err)
	}
	const q = `SELECT n FROM t WHERE n >= $1 ORDER BY n`
	// The same query again while its first rows are open, on the same
	// connection (so the same cached statement): each sees its own rows.
	var got []string
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	for outer.Next() {
		var n, inner int
		if err := outer.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, q, n+1).Scan(&inner); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d", n, inner))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := "[1:2 2:3 3:0]"; fmt.Sprint(got) != want {
		t.Errorf("nested use of one query = %v, want %s", got, want)
	}
	// More distinct statements than the cache holds still all work.
	for i := range stmtCacheSize + 20 {
		var n int
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d = %d, %v", i, n, err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, 3).Scan(&n); err != nil || n != 3 {
		t.Errorf("after eviction: %d, %v", n, err)
	}
}
