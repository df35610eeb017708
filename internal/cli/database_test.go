package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/store/pgtest"
)

// migrate and keys rotate work on PostgreSQL when DATABASE_URL (or
// DATABASE_URL_FILE) is set, and never print the URL.
func TestMigrateAndRotateOnPostgres(t *testing.T) {
	ctx := t.Context()
	dbURL := pgtest.URL(t)
	urlFile := filepath.Join(t.TempDir(), "database-url")
	if err := os.WriteFile(urlFile, []byte(dbURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oldKey, _ := store.GenerateKey("old")
	newKey, _ := store.GenerateKey("new")
	run := func(env map[string]string, args ...string) (int, string) {
		var out bytes.Buffer
		code := Main(ctx, args, func(k string) string { return env[k] }, &out, &out)
		if strings.Contains(out.String(), dbURL) {
			t.Errorf("%v printed the database URL", args)
		}
		return code, out.String()
	}
	if code, out := run(map[string]string{"DATABASE_URL_FILE": urlFile}, "migrate"); code != 0 || !strings.Contains(out, "PostgreSQL database (DATABASE_URL) is up to date") {
		t.Fatalf("migrate: %d %s", code, out)
	}

	oldSealer, _ := store.ParseKeys(oldKey)
	st, err := store.Open(ctx, store.Config{DatabaseURL: dbURL, Sealer: oldSealer})
	if err != nil {
		t.Fatal(err)
	}
	tr := &bridge.Transaction{ID: "A1", Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeMapped,
		RecordID: "r", TrackingID: "T", RegistrationNumber: "R", State: bridge.StateQueued, Token: "the-token"}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:T", "") }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	env := map[string]string{"DATABASE_URL": dbURL, "STORE_ENCRYPTION_KEY": newKey + "," + oldKey}
	if code, out := run(env, "keys", "rotate"); code != 0 || !strings.Contains(out, "1 tokens re-encrypted with key new") {
		t.Fatalf("keys rotate: %d %s", code, out)
	}
	if code, out := run(map[string]string{"DATABASE_URL": dbURL, "DATABASE_URL_FILE": urlFile}, "migrate"); code != 1 || !strings.Contains(out, "not both") {
		t.Errorf("migrate with DATABASE_URL and DATABASE_URL_FILE: %d %s", code, out)
	}
}
