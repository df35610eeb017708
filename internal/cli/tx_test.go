package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

// A DEAD transaction in a real database is listed, shown and retried by
// `tx`, which schedules its job in the same database.
func TestTxCommands(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "m.sqlite")
	st, err := store.Open(ctx, store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"AID-OK", "AID-DEAD"} {
		tr := &bridge.Transaction{ID: id, Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeMapped,
			RecordID: "rec-" + id, TrackingID: "T" + id, RegistrationNumber: "R" + id, State: bridge.StateQueued, Token: "secret-token"}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:"+id, "accepted") }); err != nil {
			t.Fatal(err)
		}
	}
	msg := "confirm registration: HTTP 401"
	if ok, err := st.Transition(ctx, "AID-DEAD", store.Change{From: []bridge.State{bridge.StateQueued}, To: bridge.StateDead, LastError: &msg, Reason: "gave up"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	st.Close()

	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Main(ctx, append(args, "--sqlite", path), noEnv, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("tx", "list", "--state", "dead")
	if code != 0 || !strings.Contains(out, "AID-DEAD") || strings.Contains(out, "AID-OK") || !strings.Contains(out, "HTTP 401") {
		t.Fatalf("tx list --state dead: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("tx", "show", "AID-DEAD")
	var view pipeline.TransactionView
	if err := json.Unmarshal([]byte(out), &view); code != 0 || err != nil {
		t.Fatalf("tx show: %d %v\n%s", code, err, out)
	}
	if view.State != bridge.StateDead || view.DeadFrom != bridge.StateQueued || len(view.Events) != 2 || strings.Contains(out, "secret-token") {
		t.Errorf("tx show: %+v", view)
	}
	code, out, errOut = run("tx", "retry", "AID-DEAD")
	if code != 0 || !strings.Contains(out, "QUEUED") {
		t.Fatalf("tx retry: %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = run("tx", "retry", "AID-OK")
	if code != 1 || !strings.Contains(errOut, "only a DEAD transaction can be retried") {
		t.Errorf("retry of a live transaction: %d %s", code, errOut)
	}
	code, _, errOut = run("tx", "show", "AID-NONE")
	if code != 1 || !strings.Contains(errOut, "no transaction") {
		t.Errorf("show of a missing transaction: %d %s", code, errOut)
	}

	st, err = store.Open(ctx, store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr, err := st.Transaction(ctx, "AID-DEAD")
	if err != nil || tr.State != bridge.StateQueued {
		t.Fatalf("after retry: %+v %v", tr, err)
	}
	var jobs int
	err = st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'submit' AND CAST(args AS TEXT) LIKE '%AID-DEAD%'`).Scan(&jobs)
	})
	if err != nil || jobs != 1 {
		t.Errorf("submit jobs for the retried transaction: %d, %v; want 1", jobs, err)
	}

	if code, _, errOut := run("tx", "frob"); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Errorf("tx frob: %d %s", code, errOut)
	}
	var errOut2 bytes.Buffer
	if code := Main(ctx, []string{"tx", "list", "--sqlite", filepath.Join(t.TempDir(), "none.sqlite")}, noEnv, &bytes.Buffer{}, &errOut2); code != 1 {
		t.Errorf("tx on a missing database: %d %s", code, errOut2.String())
	}
}
