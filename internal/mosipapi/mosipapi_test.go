package mosipapi

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// nodeSchema is the table mosip-api creates (packages/mosip-api
// src/database.ts, identical in 1.8 and 1.9).
const nodeSchema = `CREATE TABLE transactions (
  id TEXT PRIMARY KEY,
  token TEXT UNIQUE NOT NULL,
  registration_number TEXT UNIQUE NOT NULL,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
) STRICT`

// nodeRow is a row as mosip-api inserts it (created_at: "" for SQLite's
// default, now).
type nodeRow struct {
	id, token, regNo, createdAt string
}

// makeNodeDatabase writes a mosip-api database with rows, as mosip-api's
// better-sqlite3 would.
func makeNodeDatabase(t *testing.T, rows ...nodeRow) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mosip-api.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(nodeSchema); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.createdAt == "" {
			_, err = db.Exec(`INSERT INTO transactions (id, token, registration_number) VALUES (?, ?, ?)`, r.id, r.token, r.regNo)
		} else {
			_, err = db.Exec(`INSERT INTO transactions (id, token, registration_number, created_at) VALUES (?, ?, ?, ?)`, r.id, r.token, r.regNo, r.createdAt)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// jwt is an unsigned token with claims (the import never verifies them).
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// openStore opens a migrated store and returns it with its file.
func openStore(t *testing.T, sealed bool) (*store.Store, string) {
	t.Helper()
	cfg := store.Config{Path: filepath.Join(t.TempDir(), "mediator.sqlite")}
	if sealed {
		line, err := store.GenerateKey("k1")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Sealer, err = store.ParseKeys(line); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, cfg.Path
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestImport(t *testing.T) {
	later := time.Now().Add(24 * time.Hour).Unix()
	birth18 := jwt(t, map[string]any{"recordId": "c0ffee00-0000-4000-8000-000000000001", "scope": []string{"record.confirm-registration"}, "exp": later})
	death19 := jwt(t, map[string]any{"eventId": "ev-2", "actionId": "act-2", "exp": later})
	expired := jwt(t, map[string]any{"recordId": "rec-3", "exp": time.Now().Add(-time.Hour).Unix()})
	local := jwt(t, map[string]any{"recordId": "rec-4"})
	path := makeNodeDatabase(t,
		nodeRow{"100011234567890", birth18, "2025BXXDBIC", "2025-05-01 10:11:12"},
		nodeRow{"100019876543210", death19, "2025D1A2B3C", ""},
		nodeRow{"100011111111111", expired, "2025BQWERTY", "2025-04-01 00:00:00"},
		nodeRow{"100012222222222", local, "BRN/2025/42", "2025-04-02 00:00:00"},
		nodeRow{"100013333333333", "not-a-jwt", "2025BNOTJWT", "2025-04-03 00:00:00"},
		nodeRow{"100014444444444", jwt(t, map[string]any{"sub": "user"}), "2025BNOREC1", "2025-04-04 00:00:00"},
	)
	before := fileSum(t, path)
	st, stPath := openStore(t, true)

	rep, err := Import(t.Context(), st, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Rows: 6, Imported: 4, Unusable: 2, Births: 3, Deaths: 1, OpenCRVS18: 3, OpenCRVS19: 1, ExpiredTokens: 1,
		Problems: []Problem{
			{ID: "100013333333333", Reason: "the token is not a JWT"},
			{ID: "100014444444444", Reason: "the token names no OpenCRVS record (neither recordId nor eventId and actionId)"},
		}}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	for _, p := range rep.Problems {
		if strings.Contains(p.Reason, "eyJ") {
			t.Errorf("a problem shows a token: %q", p.Reason)
		}
	}

	tr, err := st.Transaction(t.Context(), "100011234567890")
	if err != nil {
		t.Fatal(err)
	}
	got := *tr
	if !got.CreatedAt.Equal(time.Date(2025, 5, 1, 10, 11, 12, 0, time.UTC)) {
		t.Errorf("created at %v, want mosip-api's 2025-05-01 10:11:12 UTC", got.CreatedAt)
	}
	wantTr := bridge.Transaction{ID: "100011234567890", Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeMosipAPI,
		RecordID: "c0ffee00-0000-4000-8000-000000000001", TrackingID: "BXXDBIC", RegistrationNumber: "2025BXXDBIC",
		State: bridge.StateSubmitted, Token: birth18}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	if diff := cmp.Diff(wantTr, got); diff != "" {
		t.Errorf("1.8 birth (-want +got):\n%s", diff)
	}
	tr, err = st.Transaction(t.Context(), "100019876543210")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != bridge.EventDeath || tr.Version != bridge.OpenCRVS19 || tr.RecordID != "ev-2" || tr.ActionID != "act-2" ||
		tr.TrackingID != "D1A2B3C" || tr.State != bridge.StateSubmitted || tr.Token != death19 || time.Since(tr.CreatedAt) > time.Hour {
		t.Errorf("1.9 death: %+v", tr)
	}
	tr, err = st.Transaction(t.Context(), "100012222222222")
	if err != nil {
		t.Fatal(err)
	}
	if tr.TrackingID != "" || tr.Kind != bridge.EventBirth {
		t.Errorf("a registration number of another form: tracking id %q kind %s, want none and birth", tr.TrackingID, tr.Kind)
	}
	events, err := st.Events(t.Context(), "100011234567890")
	if err != nil || len(events) != 1 || events[0].To != bridge.StateSubmitted || !strings.Contains(events[0].Reason, "mosip-api") {
		t.Errorf("event log %+v (%v), want one entry: imported from mosip-api", events, err)
	}

	// The tokens are sealed at rest like every other.
	raw, err := sql.Open("sqlite", "file:"+stPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var stored string
	if err := raw.QueryRow(`SELECT token FROM transactions WHERE id = '100011234567890'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v2:k1:") || strings.Contains(stored, birth18) {
		t.Errorf("the stored token is not sealed: %.20q...", stored)
	}

	// Again: nothing twice.
	rep, err = Import(t.Context(), st, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.AlreadyImported != 4 || rep.Unusable != 2 {
		t.Errorf("second import: %+v, want 0 imported, 4 imported before", rep)
	}
	counts, err := st.CountByState(t.Context())
	if err != nil || counts[bridge.StateSubmitted] != 4 {
		t.Errorf("SUBMITTED %d (%v), want 4", counts[bridge.StateSubmitted], err)
	}
	if fileSum(t, path) != before {
		t.Error("the import changed the mosip-api database")
	}
}

// A record OpenCRVS already sent to this mediator is not imported again,
// and a resend of an imported record finds its transaction.
func TestImportConflictAndResend(t *testing.T) {
	st, _ := openStore(t, true)
	tok := jwt(t, map[string]any{"recordId": "rec-1"})
	err := st.InDurableTx(t.Context(), func(tx *store.Tx) error {
		return tx.Insert(t.Context(), &bridge.Transaction{ID: "10001100040000120250101000000", Kind: bridge.EventBirth,
			Version: bridge.OpenCRVS18, Intake: bridge.IntakeFHIR, RecordID: "rec-1", TrackingID: "BAAAAAA",
			RegistrationNumber: "2025BAAAAAA", State: bridge.StateQueued, Token: tok}, "birth:BAAAAAA", "accepted")
	})
	if err != nil {
		t.Fatal(err)
	}
	path := makeNodeDatabase(t,
		nodeRow{"100010000000001", jwt(t, map[string]any{"recordId": "rec-1", "n": 1}), "2025BAAAAAA", ""},
		nodeRow{"100010000000002", jwt(t, map[string]any{"recordId": "rec-2"}), "2025BBBBBBB", ""},
	)
	rep, err := Import(t.Context(), st, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || rep.Conflicts != 1 || len(rep.Problems) != 1 || rep.Problems[0].ID != "100010000000001" {
		t.Errorf("report %+v, want 1 imported and 1 conflict (100010000000001)", rep)
	}
	if _, err := st.Transaction(t.Context(), "100010000000001"); bridge.ErrorCodeOf(err) != bridge.ENotFound {
		t.Errorf("the conflicting row was stored (%v)", err)
	}
	// The key a resend of rec-2 computes finds the imported transaction.
	err = st.InTx(t.Context(), func(tx *store.Tx) error {
		live, err := tx.LiveByDedupeKey(t.Context(), "birth:BBBBBBB")
		if err == nil && (live == nil || live.ID != "100010000000002") {
			t.Errorf("a resend of rec-2 finds %+v, want the imported 100010000000002", live)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestImportRefusals(t *testing.T) {
	path := makeNodeDatabase(t, nodeRow{"100010000000001", jwt(t, map[string]any{"recordId": "r"}), "2025BAAAAAA", ""})
	plain, _ := openStore(t, false)
	if _, err := Import(t.Context(), plain, path, Options{}); err == nil || !strings.Contains(err.Error(), "STORE_ENCRYPTION_KEY") {
		t.Errorf("a store without keys: %v, want a refusal naming STORE_ENCRYPTION_KEY", err)
	}
	st, stPath := openStore(t, true)
	for name, p := range map[string]string{
		"missing file":        filepath.Join(t.TempDir(), "nope.db"),
		"our own database":    stPath,
		"not SQLite":          writeFile(t, "hello"),
		"wrong table columns": otherTable(t),
	} {
		if _, err := Import(t.Context(), st, p, Options{}); err == nil {
			t.Errorf("%s: imported without an error", name)
		}
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func otherTable(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE transactions (id TEXT PRIMARY KEY, token TEXT)`); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConvertDeathNumbers(t *testing.T) {
	tok := jwt(t, map[string]any{"recordId": "r"})
	for _, tt := range []struct {
		regNo, pattern string
		want           bridge.EventKind
	}{
		{"2025DABCDEF", "", bridge.EventDeath},
		{"2025BABCDEF", "", bridge.EventBirth},
		{"DTH-2025-1", "", bridge.EventBirth},
		{"DTH-2025-1", "^DTH-", bridge.EventDeath},
	} {
		opts := Options{}
		if tt.pattern != "" {
			opts.DeathNumbers = regexpMust(t, tt.pattern)
		}
		tr, _, err := Convert(Row{ID: "1", Token: tok, RegistrationNumber: tt.regNo}, opts)
		if err != nil || tr.Kind != tt.want {
			t.Errorf("%s with %q: %v (%v), want %s", tt.regNo, tt.pattern, tr, err, tt.want)
		}
	}
}

func regexpMust(t *testing.T, p string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return re
}
