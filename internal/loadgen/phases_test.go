package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Two clients before two simulators sharing one mediator: load reads every
// completed record's transaction from the mediator's admin API, and each
// phase is within the record's end-to-end latency.
func TestRunPhases(t *testing.T) {
	t.Parallel()
	sims := newSystems(t, 2, func(int) behaviour { return confirm })
	var progress bytes.Buffer // written by Run alone, read after it
	res, err := Run(context.Background(), Config{
		OpenCRVSURLs: []string{sims[0].url, sims[1].url}, Clients: 2, Records: 12, Concurrency: 4,
		Kind: "mixed", Mode: "mixed", Timeout: 10 * time.Second,
		MediatorURLs: []string{sims[0].mediatorURL}, AdminToken: testAdminToken, Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Completed != 12 {
		t.Fatalf("%d completed (%v), want 12", res.Completed, res.Errors)
	}
	ph := res.Phases
	if ph == nil {
		t.Fatal("no phases with a mediator")
	}
	if ph.Read != 12 || len(ph.Unread) != 0 {
		t.Errorf("read %d, unread %v; want all 12 read", ph.Read, ph.Unread)
	}
	total := res.LatencyMS
	for name, p := range map[string]Percentiles{"accept": ph.Accept, "submit": ph.Submit, "credential": ph.Credential, "confirm": ph.Confirm} {
		if !(0 < p.P50 && p.P50 <= p.P95 && p.P95 <= p.P99 && p.P99 <= p.Max) {
			t.Errorf("%s %+v: not positive and ordered", name, p)
		}
		// Every phase of a record is within its end-to-end latency, and
		// all records completed, so each percentile is within the total's.
		if p.P50 > total.P50 || p.P95 > total.P95 || p.P99 > total.P99 || p.Max > total.Max {
			t.Errorf("%s %+v exceeds the end-to-end latency %+v", name, p, total)
		}
	}
	if got := sims[0].mediator.adminMax.Load(); got > phaseWorkers {
		t.Errorf("%d admin API requests at once, want at most %d", got, phaseWorkers)
	}
	if !strings.Contains(progress.String(), "load: read 12 transactions, 0 unread") {
		t.Errorf("progress %q does not say what was read", progress.String())
	}

	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Phases map[string]json.RawMessage `json:"phases_ms"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range shape.Phases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"accept", "confirm", "credential", "read", "submit", "unread"}, keys); diff != "" {
		t.Errorf("phases_ms keys (-want +got):\n%s", diff)
	}
}

// Records that were not registered are not read; a transaction the admin
// API does not know counts as unread; one not yet CONFIRMED when the run
// ends is read again until it is.
func TestRunPhasesUnread(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(n int) behaviour {
		return [...]behaviour{confirm, reject, confirm, lateConfirm}[n%4]
	})
	sys.mediator.mu.Lock()
	sys.mediator.hide = func(n int) bool { return n%4 == 2 }
	sys.mediator.mu.Unlock()
	res, err := Run(context.Background(), Config{
		OpenCRVSURL: sys.url, Records: 8, Concurrency: 2, Timeout: 10 * time.Second,
		MediatorURLs: []string{sys.mediatorURL, sys.mediatorURL + "/"}, AdminToken: testAdminToken,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Completed != 6 || res.Errors["duplicate"] != 2 {
		t.Fatalf("%d completed, errors %v; want 6 completed and 2 rejected", res.Completed, res.Errors)
	}
	if res.Phases == nil || res.Phases.Read != 4 || !cmp.Equal(res.Phases.Unread, map[string]int{CauseNotFound: 2}) {
		t.Errorf("phases %+v, want 4 read and 2 not found", res.Phases)
	}
}

// A mediator whose admin API cannot be read stops the run before it sends
// anything, saying why.
func TestRunPhasesAdminErrors(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(int) behaviour { return confirm })
	off := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusForbidden, "the admin API is off: set ADMIN_TOKEN to turn it on")
	}))
	t.Cleanup(off.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name, mediator, token string
		want                  []string
	}{
		{"no token", sys.mediatorURL, " ", []string{"no admin token", "ADMIN_TOKEN"}},
		{"wrong token", sys.mediatorURL, "not-the-token", []string{"HTTP 401", "Authorization: Bearer", "ADMIN_TOKEN"}},
		{"admin API off", off.URL, testAdminToken, []string{"HTTP 403", "the admin API is off"}},
		{"unreachable", closed.URL, testAdminToken, []string{"cannot read the admin API of the mediator at " + closed.URL}},
		{"not a URL", "127.0.0.1:2024", testAdminToken, []string{`mediator URL "127.0.0.1:2024"`}},
	}
	for _, tt := range tests {
		res, err := Run(context.Background(), Config{OpenCRVSURL: sys.url, Records: 3,
			MediatorURLs: []string{tt.mediator}, AdminToken: tt.token})
		if err == nil || res != nil {
			t.Errorf("%s: Run = %+v, %v; want an error and no result", tt.name, res, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "not-the-token") {
			t.Errorf("%s: the error %q shows the token", tt.name, err)
		}
	}
	if st := sys.stats(t); st["records"] != 0 {
		t.Errorf("the simulator got %d records, want none: the admin API is checked first", st["records"])
	}
}

func TestPhasesFrom(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(ms int, to string) eventAnswer { return eventAnswer{At: at(ms), To: to} }
	d := func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
	tests := []struct {
		name   string
		events []eventAnswer
		want   recordPhases
		ok     bool
	}{
		{"through MOSIP", []eventAnswer{ev(0, "QUEUED"), ev(4, "SUBMITTED"), ev(11, "ISSUED"), ev(21, "CONFIRMED")},
			recordPhases{submit: d(4), credential: d(7), confirm: d(10), hasSubmit: true, hasCredential: true}, true},
		{"stored first", []eventAnswer{ev(0, "RECEIVED"), ev(1, "QUEUED"), ev(4, "SUBMITTED"), ev(11, "ISSUED"), ev(21, "CONFIRMED")},
			recordPhases{submit: d(4), credential: d(7), confirm: d(10), hasSubmit: true, hasCredential: true}, true},
		{"skipped by the rules", []eventAnswer{ev(0, "SKIPPED"), ev(6, "CONFIRMED")},
			recordPhases{confirm: d(6)}, true},
		{"credential before the submission was recorded", []eventAnswer{ev(0, "QUEUED"), ev(9, "ISSUED"), ev(12, "CONFIRMED")},
			recordPhases{confirm: d(3)}, true},
		{"checked again and died on the way: first times count", []eventAnswer{ev(0, "QUEUED"), ev(4, "SUBMITTED"), ev(30, "QUEUED"),
			ev(31, "SUBMITTED"), ev(40, "ISSUED"), ev(41, "DEAD"), ev(90, "ISSUED"), ev(95, "CONFIRMED")},
			recordPhases{submit: d(4), credential: d(36), confirm: d(55), hasSubmit: true, hasCredential: true}, true},
		{"clocks of two replicas", []eventAnswer{ev(10, "QUEUED"), ev(8, "SUBMITTED"), ev(20, "ISSUED"), ev(25, "CONFIRMED")},
			recordPhases{submit: 0, credential: d(12), confirm: d(5), hasSubmit: true, hasCredential: true}, true},
		{"not confirmed", []eventAnswer{ev(0, "QUEUED"), ev(4, "SUBMITTED"), ev(11, "ISSUED")}, recordPhases{}, false},
		{"no events", nil, recordPhases{}, false},
	}
	for _, tt := range tests {
		got, ok := phasesFrom(tt.events)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("%s: phasesFrom = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
