package crashtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/store/pgtest"
)

func token(recordID string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"recordId": recordID, "scope": []string{"record.confirm-registration"}})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("signature"))
}

func TestRecordIDOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, want string
	}{
		{"bearer token", "Bearer " + token("rec-1"), "rec-1"},
		{"no token", "", ""},
		{"not a JWT", "Bearer abc", ""},
		{"payload not base64", "Bearer a.%%%.c", ""},
	}
	for _, tt := range tests {
		if got := recordIDOf(tt.header); got != tt.want {
			t.Errorf("%s: recordIDOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// post sends a record through the relay as the OpenCRVS simulator does.
func post(t *testing.T, relayURL, recordID string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, relayURL+"/events/registration", strings.NewReader(`{"resourceType":"Bundle"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(recordID))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRelayRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	mediator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusInternalServerError)
		case 2: // the mediator dies mid-request
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 3:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "queue full", http.StatusServiceUnavailable)
		default:
			if r.Header.Get("Authorization") != "Bearer "+token("rec-1") {
				http.Error(w, "token not passed on", http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"transactions":[{"id":"AID-1","duplicate":false}]}`)
		}
	}))
	defer mediator.Close()
	rl := newRelay([]string{mediator.URL}, time.Minute)
	srv := httptest.NewServer(rl)
	defer srv.Close()

	status, body := post(t, srv.URL, "rec-1")
	if status != http.StatusAccepted || !strings.Contains(body, "AID-1") {
		t.Fatalf("relay answered %d %s, want 202 with the mediator's answer", status, body)
	}
	accepted, aids, refused := rl.view("rec-1")
	if !accepted || !slices.Equal(aids, []string{"AID-1"}) || refused != "" {
		t.Errorf("view = %v %v %q, want accepted under AID-1", accepted, aids, refused)
	}
	if got := rl.retries.Load(); got != 3 {
		t.Errorf("retries = %d, want 3", got)
	}
	if got := rl.accepts.Load(); got != 1 {
		t.Errorf("accepts = %d, want 1", got)
	}
}

func TestRelayPassesRefusalsOn(t *testing.T) {
	t.Parallel()
	mediator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"title":"invalid record"}`, http.StatusBadRequest)
	}))
	defer mediator.Close()
	rl := newRelay([]string{mediator.URL}, time.Minute)
	srv := httptest.NewServer(rl)
	defer srv.Close()

	if status, _ := post(t, srv.URL, "rec-2"); status != http.StatusBadRequest {
		t.Fatalf("relay answered %d, want the mediator's 400", status)
	}
	accepted, _, refused := rl.view("rec-2")
	if accepted || !strings.Contains(refused, "HTTP 400") {
		t.Errorf("view = %v %q, want refused with HTTP 400", accepted, refused)
	}
	if got := rl.retries.Load(); got != 0 {
		t.Errorf("retries = %d, want none for a 400", got)
	}
}

func TestRelayGivesUp(t *testing.T) {
	t.Parallel()
	mediator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer mediator.Close()
	rl := newRelay([]string{mediator.URL}, 200*time.Millisecond)
	srv := httptest.NewServer(rl)
	defer srv.Close()

	if status, _ := post(t, srv.URL, "rec-3"); status != http.StatusGatewayTimeout {
		t.Fatalf("relay answered %d, want 504 once its timeout is spent", status)
	}
	if accepted, _, refused := rl.view("rec-3"); accepted || !strings.Contains(refused, "gave up") {
		t.Errorf("view = %v %q, want given up", accepted, refused)
	}
}

func TestGatewayClassifiesFeedback(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"ok-confirm": `{"data":{"confirmRegistration":"ok-confirm"}}`,
		"ok-reject":  `{"data":{"rejectRegistration":"ok-reject"}}`,
		"repeat":     `{"errors":[{"message":"record is already registered","extensions":{"code":"ALREADY_REGISTERED","sameDetails":true}}],"data":null}`,
		"conflict":   `{"errors":[{"message":"other details","extensions":{"code":"ALREADY_REGISTERED","sameDetails":false}}],"data":null}`,
		"unknown":    `{"errors":[{"message":"record unknown not found","extensions":{"code":"NOT_FOUND"}}],"data":null}`,
		"unauth":     `{"errors":[{"message":"bad token","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`,
	}
	sim := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Variables struct{ ID string } `json:"variables"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		if req.Variables.ID == "unauth" {
			w.WriteHeader(http.StatusUnauthorized)
		}
		io.WriteString(w, answers[req.Variables.ID])
	})
	g := newGateway(sim)
	srv := httptest.NewServer(g)
	defer srv.Close()
	call := func(mutation, id string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"query":     "mutation " + mutation + "($id: ID!) { " + mutation + "(id: $id) }",
			"variables": map[string]any{"id": id},
		})
		resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != answers[id] {
			t.Errorf("%s %s: the gateway changed the answer: %s", mutation, id, got)
		}
	}
	call("confirmRegistration", "ok-confirm")
	call("rejectRegistration", "ok-reject")
	call("confirmRegistration", "repeat")
	call("confirmRegistration", "conflict")
	call("confirmRegistration", "unknown")
	call("confirmRegistration", "unauth")

	want := map[string]feedback{
		"ok-confirm": {confirmed: 1},
		"ok-reject":  {rejected: 1},
		"repeat":     {repeats: 1},
		"conflict":   {conflicts: 1},
		"unknown":    {otherErrors: 1, lastError: "NOT_FOUND: record unknown not found"},
		"unauth":     {},
	}
	for id, w := range want {
		if diff := cmp.Diff(w, g.view(id), cmp.AllowUnexported(feedback{})); diff != "" {
			t.Errorf("feedback about %s (-want +got):\n%s", id, diff)
		}
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	done := func(id, aid, uin string) recordFacts {
		return recordFacts{ID: id, Created: true, Accepted: true, AIDs: []string{aid}, Status: "registered", NationalID: "VID-" + uin,
			Feedback:     feedback{confirmed: 1},
			Transactions: []txFacts{{ID: aid, State: "CONFIRMED", MOSIPStatus: "PROCESSED", MOSIPUIN: uin, MOSIPVID: "VID-" + uin}}}
	}
	tests := []struct {
		name       string
		recs       []recordFacts
		identities int
		stray      []string
		want       Result
		ok         bool
	}{
		{
			name:       "all confirmed once, one harmless repeat",
			recs:       []recordFacts{done("r1", "A1", "U1"), func() recordFacts { r := done("r2", "A2", "U2"); r.Feedback.repeats = 1; return r }()},
			identities: 2,
			want:       Result{Records: 2, Accepted: 2, Confirmed: 2, Repeats: 1},
			ok:         true,
		},
		{
			name: "accepted, never confirmed",
			recs: []recordFacts{done("r1", "A1", "U1"), {ID: "r2", Created: true, Accepted: true, AIDs: []string{"A2"}, Status: "waiting",
				Transactions: []txFacts{{ID: "A2", State: "SUBMITTED"}}}},
			identities: 1,
			want:       Result{Records: 2, Accepted: 2, Confirmed: 1, Lost: 1},
		},
		{
			name: "accepted, no transaction at all",
			recs: []recordFacts{{ID: "r1", Created: true, Accepted: true, AIDs: []string{"A1"}, Status: "waiting"}},
			want: Result{Records: 1, Accepted: 1, Lost: 1},
		},
		{
			name: "two transactions and two identities for one record",
			recs: []recordFacts{func() recordFacts {
				r := done("r1", "A1", "U1")
				r.AIDs = []string{"A1", "A2"}
				r.Feedback.conflicts = 1
				r.Transactions = append(r.Transactions, txFacts{ID: "A2", State: "DEAD", MOSIPStatus: "PROCESSED", MOSIPUIN: "U9", MOSIPVID: "VID-U9"})
				return r
			}()},
			identities: 2,
			want:       Result{Records: 1, Accepted: 1, Confirmed: 1, Duplicates: 1},
		},
		{
			name: "registered, but the store's transaction did not finish",
			recs: []recordFacts{func() recordFacts {
				r := done("r1", "A1", "U1")
				r.Transactions[0].State = "ISSUED"
				return r
			}()},
			identities: 1,
			want:       Result{Records: 1, Accepted: 1, Confirmed: 1, Unfinished: 1},
		},
		{
			name:       "an identity no record accounts for",
			recs:       []recordFacts{done("r1", "A1", "U1")},
			identities: 2,
			want:       Result{Records: 1, Accepted: 1, Confirmed: 1, Duplicates: 1},
		},
		{
			name: "rejected by the mediator",
			recs: []recordFacts{{ID: "r1", Created: true, Accepted: true, AIDs: []string{"A1"}, Status: "rejected", Reason: "other",
				Feedback: feedback{rejected: 1}, Transactions: []txFacts{{ID: "A1", State: "REPORTED", MOSIPStatus: "REJECTED"}}}},
			want: Result{Records: 1, Accepted: 1, Rejected: 1},
		},
		{
			name: "never accepted; feedback about a record never sent",
			recs: []recordFacts{
				{ID: "r1", Created: true, Status: "rejected", Refused: "the relay gave up"},
				{ID: "ghost", Feedback: feedback{otherErrors: 1}},
			},
			want: Result{Records: 1, Refused: 1, Unexpected: 1},
		},
		{
			name:       "registered with a national ID MOSIP did not issue",
			recs:       []recordFacts{func() recordFacts { r := done("r1", "A1", "U1"); r.NationalID = "other"; return r }()},
			identities: 1,
			want:       Result{Records: 1, Accepted: 1, Confirmed: 1, Unexpected: 1},
		},
		{
			name:       "a transaction in the database for a record never sent",
			recs:       []recordFacts{done("r1", "A1", "U1")},
			identities: 1,
			stray:      []string{"A9 (record x, QUEUED)"},
			want:       Result{Records: 1, Accepted: 1, Confirmed: 1, Unexpected: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Result{Records: tt.want.Records}
			verdict(&got, tt.recs, tt.identities, tt.stray)
			problems := got.Problems
			got.Problems = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s\nproblems: %q", diff, problems)
			}
			if got.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v", got.OK(), tt.ok)
			}
			if !tt.ok && len(problems) == 0 {
				t.Error("a failed verdict explains nothing")
			}
			for _, p := range problems {
				if strings.Contains(p, "U1") || strings.Contains(p, "U9") {
					t.Errorf("problem line shows a UIN: %s", p)
				}
			}
		})
	}
}

func TestResultLine(t *testing.T) {
	t.Parallel()
	r := Result{Accepted: 300, Confirmed: 299, Lost: 1, Duplicates: 0, Kills: 5}
	want := "crash-test: accepted=300 confirmed=299 lost=1 duplicates=0 kills=5"
	if got := r.Line(); got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
}

func TestKillPlan(t *testing.T) {
	t.Parallel()
	for _, kills := range []int{0, 1, 2, 5, 9} {
		p := newKillPlan(mrand.New(mrand.NewPCG(1, 2)), 1000, kills)
		if got := len(p.during) + len(p.after); got != kills {
			t.Errorf("kills %d: plan has %d kills", kills, got)
		}
		if kills > 0 && len(p.during) == 0 {
			t.Errorf("kills %d: none while sending", kills)
		}
		if kills > 1 && len(p.after) == 0 {
			t.Errorf("kills %d: none after the sending", kills)
		}
		if !slices.IsSorted(p.during) {
			t.Errorf("kills %d: thresholds %v not in order", kills, p.during)
		}
		for _, th := range p.during {
			if th < 50 || th > 900 {
				t.Errorf("kills %d: threshold %d outside 5%%..90%% of the records", kills, th)
			}
		}
	}
	a := newKillPlan(mrand.New(mrand.NewPCG(7, 7)), 300, 5)
	b := newKillPlan(mrand.New(mrand.NewPCG(7, 7)), 300, 5)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(killPlan{})); diff != "" {
		t.Errorf("the same seed gave two plans:\n%s", diff)
	}
}

// mediatorBinary builds the mediator once for the package's tests, into a
// directory TestMain removes.
var mediatorBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "crashtest-bin-*")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "opencrvs-mosip")
	out, err := exec.Command("go", "build", "-o", bin, "opencrvs-mosip/cmd/opencrvs-mosip").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// binDir holds the binary mediatorBinary built ("" until then).
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func mustBinary(t *testing.T) string {
	t.Helper()
	bin, err := mediatorBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestCrashTest runs a small crash test end to end: the real mediator binary,
// killed twice while 60 records go through.
func TestCrashTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the mediator and runs it as a child process")
	}
	t.Parallel()
	bin := mustBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress strings.Builder
	res, err := Run(ctx, Config{Binary: bin, Records: 60, Kills: 2, Concurrency: 8, Seed: 42,
		Dir: t.TempDir(), Timeout: 3 * time.Minute, Progress: &progress})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if !res.OK() || res.Kills != 2 || res.Accepted != 60 {
		t.Errorf("%s (kills want 2, accepted want 60)\nproblems: %q\n%s\nmediator log:\n%s",
			res.Line(), res.Problems, progress.String(), LogTail(res.Dir, 50))
	}
}

// TestCrashTestReplicas is issue 8's multi-replica test: 3 mediators (the
// real binary, as child processes) share one PostgreSQL database behind the
// simulators; 1,000 records go through, spread over them, and one replica
// is killed with SIGKILL midway and left down. Every record ends confirmed
// exactly once, the WebSub subscription is made once for all (the
// subscription job runs every 2 s, on any replica), reconciliation never
// runs on two replicas at once, and the jobs the killed replica left
// running are resumed by the others. Skipped without TEST_DATABASE_URL,
// except under CI (internal/store/pgtest).
func TestCrashTestReplicas(t *testing.T) {
	dbURL := pgtest.URL(t)
	if testing.Short() {
		t.Skip("builds the mediator and runs three of it as child processes")
	}
	bin := mustBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var progress strings.Builder
	res, err := Run(ctx, Config{Binary: bin, Records: 1000, Kills: 1, Replicas: 3, KeepDown: true, DatabaseURL: dbURL, UseDatabase: true,
		Concurrency: 16, Seed: 8, Dir: t.TempDir(), Timeout: 2 * time.Minute, Progress: &progress})
	if res == nil {
		t.Fatalf("Run: %v", err)
	}
	if err != nil {
		t.Fatalf("Run: %v\n%s\nmediator logs:\n%s", err, progress.String(), LogTail(res.Dir, 60))
	}
	t.Logf("%s in %.0fs\n%s", res.Line(), res.Duration.Seconds(), progress.String())
	if !res.OK() || res.Kills != 1 || res.Accepted != 1000 || res.Replicas != 3 {
		t.Errorf("%s (kills want 1, accepted want 1000, replicas want 3)\nproblems: %q\nmediator logs:\n%s",
			res.Line(), res.Problems, LogTail(res.Dir, 60))
	}
	if res.Subscribes != 1 {
		t.Errorf("MOSIP's hub received %d subscribe requests, want 1 for the three replicas", res.Subscribes)
	}
	if res.ReconcileRuns == 0 {
		t.Error("no reconciliation run was found in the job table: the overlap check checked nothing")
	}
	if len(res.ResumeSeconds) != 1 || res.ResumeSeconds[0] < 0 {
		t.Errorf("jobs running at the kill finished or resumed within %v s, want within the minute", res.ResumeSeconds)
	}
}
