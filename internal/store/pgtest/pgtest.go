// Package pgtest gives a test a PostgreSQL database of its own, on the
// server TEST_DATABASE_URL names (CI's .ci/run starts one on 127.0.0.1).
//
// Without TEST_DATABASE_URL the test is skipped, except under CI (CI set),
// where it fails: CI must run the PostgreSQL half. With it, a server that
// cannot be reached fails the test.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// EnvVar names the server's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvVar = "TEST_DATABASE_URL"

// URL creates an empty database on the TEST_DATABASE_URL server and returns
// its URL. The database is dropped, with any connection left to it, when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI runs the PostgreSQL half of the tests (.ci/run starts PostgreSQL and sets it)", EnvVar)
		}
		t.Skipf("%s is not set: the PostgreSQL half is skipped", EnvVar)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := connect(ctx, u)
	if err != nil {
		t.Fatalf("%s: cannot reach PostgreSQL: %v", EnvVar, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "store_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	db := *u
	db.Path = "/" + name
	return db.String()
}

// connect opens the database of u, or the server's "postgres" database
// when u's does not exist.
func connect(ctx context.Context, u *url.URL) (*sql.DB, error) {
	db, err := open(ctx, u.String())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		other := *u
		other.Path = "/postgres"
		db, err = open(ctx, other.String())
	}
	return db, err
}

func open(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
