package cli

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/store"
)

// migrate --from-mosip-api imports a mosip-api database once, with the
// store key the mediator runs with.
func TestMigrateFromMosipAPI(t *testing.T) {
	dir := t.TempDir()
	node := filepath.Join(dir, "mosip-api.db")
	db, err := sql.Open("sqlite", "file:"+node)
	if err != nil {
		t.Fatal(err)
	}
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"recordId":"rec-1"}`))
	_, err = db.Exec(`CREATE TABLE transactions (
	  id TEXT PRIMARY KEY,
	  token TEXT UNIQUE NOT NULL,
	  registration_number TEXT UNIQUE NOT NULL,
	  created_at TEXT NOT NULL DEFAULT (datetime('now'))
	) STRICT;
	INSERT INTO transactions (id, token, registration_number) VALUES ('100010000000001', 'eyJhbGciOiJSUzI1NiJ9.` + claims + `.c2ln', '2025BAAAAAA')`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	key, err := store.GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(dir, "mediator.sqlite")
	env := func(name string) string {
		return map[string]string{"STORE_ENCRYPTION_KEY": key, "SQLITE_DATABASE_PATH": ours}[name]
	}
	run := func(env Env) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(t.Context(), []string{"migrate", "--from-mosip-api", node}, env, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, stderr := run(noEnv); code != 1 || !strings.Contains(stderr, "STORE_ENCRYPTION_KEY") {
		t.Errorf("without a store key: exit %d, %q; want 1 naming STORE_ENCRYPTION_KEY", code, stderr)
	}
	code, stdout, stderr := run(env)
	if code != 0 || !strings.Contains(stdout, "imported now:          1 (births 1, deaths 0; OpenCRVS 1.8: 1, 1.9: 0)") {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "eyJ") {
		t.Error("the output shows a token")
	}
	code, stdout, _ = run(env)
	if code != 0 || !strings.Contains(stdout, "imported now:          0") || !strings.Contains(stdout, "imported before:       1") {
		t.Errorf("second run: exit %d\n%s", code, stdout)
	}
	if code := Main(t.Context(), []string{"migrate", "--from-mosip-api", ours}, env, io.Discard, io.Discard); code != 1 {
		t.Errorf("importing our own database: exit %d, want 1", code)
	}
}
