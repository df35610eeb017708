package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
)

func mustKeys(t *testing.T, ids ...string) *Sealer {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := GenerateKey(id)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	s, err := ParseKeys(strings.Join(lines, ","))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealV1 seals plain as the store did before v2: the key id alone as
// additional data.
func sealV1(t *testing.T, s *Sealer, plain string) string {
	t.Helper()
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return "v1:" + s.current + ":" + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), []byte(s.current)))
}

func TestSealer(t *testing.T) {
	s := mustKeys(t, "k1")
	sealed := s.Seal("T1", "eyJ.secret.token")
	if !strings.HasPrefix(sealed, "v2:k1:") || strings.Contains(sealed, "secret") {
		t.Fatalf("sealed = %q", sealed)
	}
	if sealed == s.Seal("T1", "eyJ.secret.token") {
		t.Errorf("two seals of one value are equal: the nonce is not random")
	}
	if p, ok, err := s.Open("T1", sealed); p != "eyJ.secret.token" || !ok || err != nil {
		t.Errorf("Open = %q %v %v", p, ok, err)
	}
	if p, ok, err := s.Open("T1", "plain-old-token"); p != "plain-old-token" || ok || err != nil {
		t.Errorf("Open(plaintext) = %q %v %v", p, ok, err)
	}
	// The key id is bound to the value: relabelled, it does not open.
	other := mustKeys(t, "k2", "k1")
	relabelled := strings.Replace(sealed, "v2:k1:", "v2:k2:", 1)
	if _, _, err := other.Open("T1", relabelled); err == nil {
		t.Errorf("a value moved to another key id opened")
	}
	// So is the row: copied to another transaction, it does not open, nor
	// when its version is changed to v1 (which binds the key id only).
	if _, _, err := s.Open("T2", sealed); err == nil || !strings.Contains(err.Error(), "another row") {
		t.Errorf("a value copied to another row: %v", err)
	}
	if _, _, err := s.Open("T1", "v1:"+strings.TrimPrefix(sealed, "v2:")); err == nil {
		t.Errorf("a v2 value relabelled v1 opened")
	}
	if _, _, err := mustKeys(t, "k9").Open("T1", sealed); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("Open without its key: %v", err)
	}
	// A v1 value, sealed before the row was bound, still opens (for any
	// row) until Rotate re-seals it.
	v1 := sealV1(t, s, "eyJ.older.token")
	if p, ok, err := s.Open("T7", v1); p != "eyJ.older.token" || !ok || err != nil {
		t.Errorf("Open(v1) = %q %v %v", p, ok, err)
	}
	if s.isCurrent(v1) || !s.isCurrent(sealed) || other.isCurrent(sealed) {
		t.Errorf("isCurrent: v1 %v, v2 %v, v2 under another current key %v; want false, true, false", s.isCurrent(v1), s.isCurrent(sealed), other.isCurrent(sealed))
	}
	for _, bad := range []string{"", "k1", "k1:short", "bad id:" + strings.Repeat("A", 44), "k1:!!!"} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
	l, _ := GenerateKey("k1")
	if _, err := ParseKeys(l + "," + l); err == nil {
		t.Errorf("a key id twice was accepted")
	}
}

// Tokens are encrypted in the database file: no byte of it (nor of its
// WAL) holds one in clear. Rotation re-seals old and plaintext tokens with
// the current key, after which the old key can go.
func TestTokensEncryptedAtRest(t *testing.T) { bothStores(t, testTokensEncryptedAtRest) }

func testTokensEncryptedAtRest(t *testing.T, db testDB) {
	ctx := t.Context()
	old := mustKeys(t, "old")
	st, err := Open(ctx, db.config(Config{Synchronous: "FULL", Sealer: old}))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const token = "eyJhbGciOiJSUzI1NiJ9.RECORD-TOKEN-XYZ.sig"
	for _, id := range []string{"A1", "A2"} {
		tr := sampleTransaction(id, "T"+id)
		tr.Token = token + id
		if err := st.InDurableTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "birth:T"+id, "") }); err != nil {
			t.Fatal(err)
		}
	}
	// One token from before encryption, written as it was then.
	if _, err := st.db.ExecContext(ctx, `UPDATE transactions SET token = 'PLAIN-LEGACY-TOKEN' WHERE id = 'A2'`); err != nil {
		t.Fatal(err)
	}
	// One sealed, with the key rotation goes to, before rows were bound.
	newKey := mustKeys(t, "new")
	tr := sampleTransaction("A3", "TA3")
	tr.Token = "placeholder"
	if err := st.InDurableTx(ctx, func(tx *Tx) error { return tx.Insert(ctx, tr, "birth:TA3", "") }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.ExecContext(ctx, `UPDATE transactions SET token = $1 WHERE id = 'A3'`, sealV1(t, newKey, token+"A3")); err != nil {
		t.Fatal(err)
	}
	got, err := st.Transaction(ctx, "A1")
	if err != nil || got.Token != token+"A1" {
		t.Fatalf("token read back = %q, %v", got.Token, err)
	}
	if db.pg {
		var n int
		if err := st.db.QueryRowContext(ctx, `SELECT count(*) FROM transactions WHERE token LIKE '%RECORD-TOKEN-XYZ%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d tokens in clear text (%v)", n, err)
		}
	} else {
		files, _ := filepath.Glob(db.where.Path + "*")
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte("RECORD-TOKEN-XYZ")) {
				t.Errorf("%s holds a token in clear text", filepath.Base(f))
			}
		}
	}
	st.Close()

	// Rotate to a new key, keeping the old one for reading.
	both := newKey
	both.aeads["old"] = old.aeads["old"]
	st, err = Open(ctx, db.config(Config{Sealer: both}))
	if err != nil {
		t.Fatal(err)
	}
	n, err := st.Rotate(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Rotate = %d, %v; want 3 (one old-key token, one plaintext, one v1 with the new key)", n, err)
	}
	st.Close()
	onlyNew := &Sealer{current: "new", aeads: map[string]cipher.AEAD{"new": both.aeads["new"]}}
	st, err = Open(ctx, db.config(Config{Sealer: onlyNew}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, want := range map[string]string{"A1": token + "A1", "A2": "PLAIN-LEGACY-TOKEN", "A3": token + "A3"} {
		got, err := st.Transaction(ctx, id)
		if err != nil || got.Token != want {
			t.Fatalf("%s after rotation: %+v, %v", id, got, err)
		}
	}
	if n, err := st.Rotate(ctx); err != nil || n != 0 {
		t.Errorf("a second Rotate = %d, %v; want 0", n, err)
	}
	// A token copied to another transaction's row does not open there:
	// whoever can write the database cannot hand one record's token to
	// another.
	if _, err := st.db.ExecContext(ctx, `UPDATE transactions SET token = (SELECT token FROM transactions WHERE id = 'A1') WHERE id = 'A2'`); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Transaction(ctx, "A2"); err == nil || got != nil {
		t.Errorf("A2 with A1's sealed token: %+v, %v; want an error", got, err)
	}
	// A tool without the key sees no token, not ciphertext.
	keyless, err := Open(ctx, db.config(Config{}))
	if err != nil {
		t.Fatal(err)
	}
	defer keyless.Close()
	if got, err := keyless.Transaction(ctx, "A1"); err != nil || got.Token != "" || got.State != bridge.StateQueued {
		t.Errorf("keyless read: %+v %v", got, err)
	}
}
