package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// keys generate makes a usable key; keys rotate re-encrypts the tokens a
// database holds under the new first key, after which the old key can go.
func TestKeysGenerateAndRotate(t *testing.T) {
	ctx := t.Context()
	gen := func(id string) string {
		var out bytes.Buffer
		if code := Main(ctx, []string{"keys", "generate", "--id", id}, noEnv, &out, &bytes.Buffer{}); code != 0 {
			t.Fatalf("keys generate: %d", code)
		}
		return strings.TrimSpace(out.String())
	}
	oldKey, newKey := gen("old"), gen("new")
	if !strings.HasPrefix(oldKey, "old:") || oldKey == newKey {
		t.Fatalf("generated %q and %q", oldKey, newKey)
	}
	path := filepath.Join(t.TempDir(), "m.sqlite")
	oldSealer, _ := store.ParseKeys(oldKey)
	st, err := store.Open(ctx, store.Config{Path: path, Sealer: oldSealer})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tr := &bridge.Transaction{ID: "A1", Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeMapped,
		RecordID: "r", TrackingID: "T", RegistrationNumber: "R", State: bridge.StateQueued, Token: "the-token"}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:T", "") }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	env := func(k string) string {
		return map[string]string{"STORE_ENCRYPTION_KEY": newKey + "," + oldKey, "SQLITE_DATABASE_PATH": path}[k]
	}
	var out, errOut bytes.Buffer
	if code := Main(ctx, []string{"keys", "rotate"}, env, &out, &errOut); code != 0 || !strings.Contains(out.String(), "1 tokens re-encrypted with key new") {
		t.Fatalf("keys rotate: %d %s%s", code, out.String(), errOut.String())
	}
	newSealer, _ := store.ParseKeys(newKey)
	st, err = store.Open(ctx, store.Config{Path: path, Sealer: newSealer})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := st.Transaction(ctx, "A1"); err != nil || got.Token != "the-token" {
		t.Errorf("after rotation, with the new key only: %q %v", got.Token, err)
	}
	if code := Main(ctx, []string{"keys", "rotate", "--sqlite", path}, noEnv, &bytes.Buffer{}, &errOut); code != 1 || !strings.Contains(errOut.String(), "STORE_ENCRYPTION_KEY") {
		t.Errorf("keys rotate without a key: %d %s", code, errOut.String())
	}
}
