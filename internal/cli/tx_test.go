package cli

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

const txTestToken = "tx-test-admin-token-0123456789"

// txServer is the mediator's HTTP API on a real database in t.TempDir()
// (jobs are scheduled, not run), holding:
// AID-OK (QUEUED), AID-DEAD (DEAD in QUEUED), AID-REJ (REJECTED_BY_MOSIP),
// AID-DONE (CONFIRMED), created a minute apart in that order.
func txServer(t *testing.T) (*httptest.Server, *store.Store) {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "m.sqlite"), Synchronous: "NORMAL", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"AID-OK", "AID-DEAD", "AID-REJ", "AID-DONE"} {
		now = now.Add(time.Duration(i) * time.Minute)
		tr := &bridge.Transaction{ID: id, Kind: bridge.EventBirth, Version: bridge.OpenCRVS18, Intake: bridge.IntakeMapped,
			RecordID: "rec-" + id, TrackingID: "T" + id, RegistrationNumber: "R" + id, State: bridge.StateQueued, Token: "secret-token",
			Packet: bridge.Packet{Process: bridge.ProcessNew, Fields: map[string]json.RawMessage{"fullName": json.RawMessage(`"Ada Lovelace"`)}}}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Insert(ctx, tr, "birth:"+id, "accepted") }); err != nil {
			t.Fatal(err)
		}
	}
	move := func(id string, path ...bridge.State) {
		from := bridge.StateQueued
		for _, to := range path {
			msg := "confirm registration: HTTP 401"
			if ok, err := st.Transition(ctx, id, store.Change{From: []bridge.State{from}, To: to, LastError: &msg, Reason: "test"}); !ok || err != nil {
				t.Fatal(ok, err)
			}
			from = to
		}
	}
	move("AID-DEAD", bridge.StateDead)
	move("AID-REJ", bridge.StateSubmitted, bridge.StateRejectedByMOSIP)
	move("AID-DONE", bridge.StateSubmitted, bridge.StateIssued, bridge.StateConfirmed)
	now = now.Add(time.Hour)
	runner, err := jobs.New(jobs.Config{Store: st, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Service{Store: st, Jobs: runner, Now: clock, AID: store.AIDFormat{Kind: store.AIDPrefixed, Prefix: "10001"}}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, Pipeline: p, AdminToken: txTestToken, Now: clock}))
	t.Cleanup(srv.Close)
	return srv, st
}

func mapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

// Every tx command against a real server: tables for people, JSON for
// scripts, the server's problem detail on errors, and exit codes.
func TestTxCommands(t *testing.T) {
	srv, st := txServer(t)
	env := mapEnv(map[string]string{"OPENCRVS_MOSIP_SERVER": srv.URL, "ADMIN_TOKEN": txTestToken})
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := Main(t.Context(), append([]string{"tx"}, args...), env, &out, &errOut)
		if strings.Contains(out.String()+errOut.String(), "secret-token") || strings.Contains(out.String(), "Ada Lovelace") {
			t.Errorf("tx %v printed a token or a name:\n%s%s", args, out.String(), errOut.String())
		}
		return code, out.String(), errOut.String()
	}
	rows := func(out string) []string {
		var ids []string
		for _, m := range regexp.MustCompile(`(?m)^(AID-\w+|10001\d+)\s`).FindAllStringSubmatch(out, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}

	// list: a table, filters, pages.
	code, out, errOut := run("list")
	if code != 0 || !strings.HasPrefix(out, "AID") || strings.Join(rows(out), " ") != "AID-DONE AID-REJ AID-DEAD AID-OK" {
		t.Fatalf("tx list: %d\n%s%s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", "dead"}, "AID-DEAD"},
		{[]string{"--kind", "birth", "--version", "1.8", "--state", "CONFIRMED"}, "AID-DONE"},
		{[]string{"--kind", "death"}, ""},
		{[]string{"--older-than", "64m"}, "AID-DEAD AID-OK"},
		{[]string{"--q", "TAID-REJ"}, "AID-REJ"},
		{[]string{"--q", "RAID-REJ"}, "AID-REJ"},
		{[]string{"--q", "rec-AID-REJ"}, "AID-REJ"},
		{[]string{"--q", "AID-REJ"}, "AID-REJ"},
	} {
		code, out, errOut := run(append([]string{"list"}, tt.args...)...)
		if got := strings.Join(rows(out), " "); code != 0 || got != tt.want {
			t.Errorf("tx list %v: %d %q, want %q\n%s%s", tt.args, code, got, tt.want, out, errOut)
		}
	}
	code, out, _ = run("list", "--limit", "3")
	cursor := regexp.MustCompile(`more: add --cursor (\S+)`).FindStringSubmatch(out)
	if code != 0 || len(rows(out)) != 3 || cursor == nil {
		t.Fatalf("tx list --limit 3: %d\n%s", code, out)
	}
	code, out, _ = run("list", "--limit", "3", "--cursor", cursor[1])
	if code != 0 || strings.Join(rows(out), " ") != "AID-OK" || strings.Contains(out, "more:") {
		t.Errorf("tx list --cursor: %d\n%s", code, out)
	}
	code, out, _ = run("list", "--json", "--limit", "2")
	var page admin.Page
	if err := json.Unmarshal([]byte(out), &page); code != 0 || err != nil || len(page.Transactions) != 2 || page.NextCursor == "" {
		t.Errorf("tx list --json: %d %v\n%s", code, err, out)
	}

	// show: fields and the event log; --json is the admin API's answer.
	code, out, errOut = run("show", "AID-DEAD")
	if code != 0 || !strings.Contains(out, "State") || !strings.Contains(out, "DEAD") || !strings.Contains(out, "Events:") ||
		!strings.Contains(out, "confirm registration: HTTP 401") || !strings.Contains(out, "resume in QUEUED") {
		t.Errorf("tx show: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("show", "--json", "AID-DEAD")
	var d admin.Detail
	if err := json.Unmarshal([]byte(out), &d); code != 0 || err != nil || d.State != bridge.StateDead || len(d.Events) != 2 || d.AgeSeconds != 3900 {
		t.Errorf("tx show --json: %d %v %+v\n%s", code, err, d, out)
	}
	code, _, errOut = run("show", "AID-NONE")
	if code != 1 || !strings.Contains(errOut, "no transaction AID-NONE (HTTP 404)") {
		t.Errorf("tx show of a missing transaction: %d %s", code, errOut)
	}

	// retry: DEAD resumes; REJECTED_BY_MOSIP is resubmitted; others refused.
	code, out, errOut = run("retry", "AID-DEAD")
	if code != 0 || out != "transaction AID-DEAD is QUEUED again; the mediator takes it up at once\n" {
		t.Errorf("tx retry DEAD: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("retry", "AID-REJ")
	if code != 0 || !regexp.MustCompile(`^transaction AID-REJ was resubmitted to MOSIP as 10001\d{10} \(QUEUED\); AID-REJ is CANCELLED\n$`).MatchString(out) {
		t.Errorf("tx retry REJECTED_BY_MOSIP: %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = run("retry", "AID-DONE")
	if code != 1 || !strings.Contains(errOut, "only a DEAD or REJECTED_BY_MOSIP transaction can be retried (HTTP 409)") {
		t.Errorf("tx retry of a CONFIRMED transaction: %d %s", code, errOut)
	}
	if tr, _ := st.Transaction(t.Context(), "AID-DEAD"); tr.State != bridge.StateQueued {
		t.Errorf("after tx retry AID-DEAD is %s", tr.State)
	}

	// cancel: a reason is needed; a finished one cannot be.
	if code, _, errOut := run("cancel", "AID-OK"); code != 2 || !strings.Contains(errOut, "--reason") {
		t.Errorf("tx cancel without a reason: %d %s", code, errOut)
	}
	code, out, errOut = run("cancel", "AID-OK", "--reason", "a test record")
	if code != 0 || out != "transaction AID-OK is CANCELLED\n" {
		t.Errorf("tx cancel: %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = run("cancel", "--reason", "again", "AID-OK")
	if code != 1 || !strings.Contains(errOut, "is CANCELLED already") || !strings.Contains(errOut, "HTTP 409") {
		t.Errorf("tx cancel of a cancelled transaction: %d %s", code, errOut)
	}
	code, out, _ = run("cancel", "AID-DEAD", "--reason", "x", "--json")
	var v pipeline.TransactionView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.State != bridge.StateCancelled {
		t.Errorf("tx cancel --json: %d %v\n%s", code, err, out)
	}

	// counts.
	code, out, _ = run("counts")
	if code != 0 || !regexp.MustCompile(`(?m)^CANCELLED\s+3$`).MatchString(out) || !strings.Contains(out, "1 waiting; the oldest") {
		t.Errorf("tx counts: %d\n%s", code, out)
	}
	code, out, _ = run("counts", "--json")
	var c admin.Counts
	if err := json.Unmarshal([]byte(out), &c); code != 0 || err != nil || c.ByState[bridge.StateCancelled] != 3 || c.Waiting != 1 {
		t.Errorf("tx counts --json: %d %v\n%s", code, err, out)
	}

	// Usage and flag errors.
	for _, args := range [][]string{{"frob"}, {"show"}, {"list", "AID-OK"}, {"counts", "x"}, {"list", "--nope"}} {
		if code, _, errOut := run(args...); code != 2 {
			t.Errorf("tx %v: %d, want 2\n%s", args, code, errOut)
		}
	}
	for args, want := range map[string]string{
		"list --state lost":      "--state: unknown state",
		"list --older-than soon": "--older-than:",
		"list --limit 0":         "--limit:",
		"list --cursor x":        "--cursor:",
	} {
		if code, _, errOut := run(strings.Fields(args)...); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("tx %s: %d %s, want %q", args, code, errOut, want)
		}
	}
}

// The server and the token come from flags and the environment; a wrong
// token, no token or no server is an error that says what to set.
func TestTxServerAndToken(t *testing.T) {
	srv, _ := txServer(t)
	u, _ := url.Parse(srv.URL)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(txTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"--server", map[string]string{"ADMIN_TOKEN": txTestToken, "OPENCRVS_MOSIP_SERVER": closed.URL}, []string{"--server", srv.URL}, 0, "AID-OK"},
		{"PORT on this machine", map[string]string{"ADMIN_TOKEN": txTestToken, "PORT": u.Port()}, nil, 0, "AID-OK"},
		{"ADMIN_TOKEN_FILE", map[string]string{"ADMIN_TOKEN_FILE": tokenFile, "OPENCRVS_MOSIP_SERVER": srv.URL}, nil, 0, "AID-OK"},
		{"both tokens", map[string]string{"ADMIN_TOKEN": "x", "ADMIN_TOKEN_FILE": tokenFile, "OPENCRVS_MOSIP_SERVER": srv.URL}, nil, 1, "not both"},
		{"no token", map[string]string{"OPENCRVS_MOSIP_SERVER": srv.URL}, nil, 1, "set ADMIN_TOKEN"},
		{"wrong token", map[string]string{"ADMIN_TOKEN": "wrong", "OPENCRVS_MOSIP_SERVER": srv.URL}, nil, 1, "Authorization: Bearer <ADMIN_TOKEN> (check ADMIN_TOKEN or ADMIN_TOKEN_FILE) (HTTP 401)"},
		{"no server", map[string]string{"ADMIN_TOKEN": txTestToken, "OPENCRVS_MOSIP_SERVER": closed.URL}, nil, 1, "cannot reach the mediator at " + closed.URL},
		{"not a URL", map[string]string{"ADMIN_TOKEN": txTestToken}, []string{"--server", "127.0.0.1:2024"}, 1, "not an http(s) URL"},
		{"a server that is not the mediator", map[string]string{"ADMIN_TOKEN": txTestToken}, []string{"--server", srv.URL + "/elsewhere"}, 1, "HTTP 404"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), append([]string{"tx", "list"}, tt.args...), mapEnv(tt.env), &out, &errOut)
		if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.want) {
			t.Errorf("%s: %d\n%s%s\nwant %d and %q", tt.name, code, out.String(), errOut.String(), tt.code, tt.want)
		}
	}
	// The admin API off: its answer is shown.
	off := httptest.NewServer(httpapi.New(httpapi.Config{}))
	defer off.Close()
	var errOut bytes.Buffer
	code := Main(t.Context(), []string{"tx", "counts", "--server", off.URL}, mapEnv(map[string]string{"ADMIN_TOKEN": "x"}), &bytes.Buffer{}, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "the admin API is off: set ADMIN_TOKEN to turn it on (HTTP 403)") {
		t.Errorf("admin API off: %d %s", code, errOut.String())
	}
}
