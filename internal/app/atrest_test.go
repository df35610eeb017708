package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"opencrvs-mosip/internal/bridge"
)

// The database keeps the OpenCRVS tokens of records in flight encrypted:
// no file of it (database, WAL, shared memory) holds one in clear text.
func TestTokensNotInTheDatabaseInClear(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"outage": true}) // the records wait, with their tokens
	var ids []string
	for i := range 5 {
		ids = append(ids, s.sendRecord(t, birth(i)).ID)
	}
	var tokens []string
	for _, id := range ids {
		tr := s.transactionByRecord(t, id)
		if tr.State != bridge.StateQueued || len(tr.Token) < 100 {
			t.Fatalf("transaction of %s: %s, token of %d bytes; want QUEUED with its token", id, tr.State, len(tr.Token))
		}
		tokens = append(tokens, tr.Token)
	}
	files, err := filepath.Glob(s.cfg.DatabasePath + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, tok := range tokens {
			// The signature part is enough to use the token.
			sig := tok[bytes.LastIndexByte([]byte(tok), '.')+1:]
			if bytes.Contains(b, []byte(tok)) || bytes.Contains(b, []byte(sig)) {
				t.Errorf("%s holds the token of record %s in clear text", filepath.Base(f), ids[i])
			}
		}
	}
}
