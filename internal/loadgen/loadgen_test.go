package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestPercentilesOf(t *testing.T) {
	t.Parallel()
	msList := func(vals ...int) []time.Duration {
		var out []time.Duration
		for _, v := range vals {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	var oneToHundred []int
	for i := 100; i >= 1; i-- {
		oneToHundred = append(oneToHundred, i)
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    Percentiles
	}{
		{"empty", nil, Percentiles{}},
		{"one", msList(7), Percentiles{7, 7, 7, 7}},
		{"1..100 reversed", msList(oneToHundred...), Percentiles{50, 95, 99, 100}},
		{"five unsorted with a repeat", msList(5, 1, 3, 3, 4), Percentiles{3, 5, 5, 5}},
		{"ten", msList(10, 20, 30, 40, 50, 60, 70, 80, 90, 1000), Percentiles{50, 1000, 1000, 1000}},
		{"sub-millisecond", []time.Duration{1500 * time.Microsecond, 250 * time.Microsecond}, Percentiles{0.25, 1.5, 1.5, 1.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tt.samples)
			if diff := cmp.Diff(tt.want, PercentilesOf(tt.samples)); diff != "" {
				t.Errorf("PercentilesOf (-want +got):\n%s", diff)
			}
			if !slices.Equal(before, tt.samples) {
				t.Error("PercentilesOf modified its input")
			}
		})
	}
}

func TestCauseKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ reason, want string }{
		{"REG_NUMBER_GENERATION_FAILED", "reg_number_generation_failed"},
		{"duplicate", "duplicate"},
		{"MOSIP rejected packet 10001234567890: RPR-WIS-001", "mosip_rejected_packet_rpr_wis_001"},
		{"record 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed", "record_b3fc_failed"},
		{"", "rejected"},
		{"!!!", "rejected"},
		{strings.Repeat("a", 100), strings.Repeat("a", 48)},
		{"one two three four five six seven eight nine ten eleven twelve", "one_two_three_four_five_six_seven_eight_nine_ten"},
	}
	for _, tt := range tests {
		if got := CauseKey(tt.reason); got != tt.want {
			t.Errorf("CauseKey(%q) = %q, want %q", tt.reason, got, tt.want)
		}
		if got := CauseKey(tt.reason); len(got) > maxCauseLen {
			t.Errorf("CauseKey(%q) is %d bytes long", tt.reason, len(got))
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []Config{
		{},
		{OpenCRVSURL: "localhost:7070"},
		{OpenCRVSURL: "http://127.0.0.1:1", Records: -1},
		{OpenCRVSURL: "http://127.0.0.1:1", Concurrency: -2},
		{OpenCRVSURL: "http://127.0.0.1:1", Concurrency: 100000},
		{OpenCRVSURL: "http://127.0.0.1:1", Kind: "marriage"},
		{OpenCRVSURL: "http://127.0.0.1:1", Mode: "xml"},
		{OpenCRVSURL: "http://127.0.0.1:1", Timeout: -time.Second},
		{OpenCRVSURLs: []string{"http://127.0.0.1:1", "127.0.0.1:2"}},
		{OpenCRVSURL: "http://127.0.0.1:1", Concurrency: 2, Clients: 3},
		{OpenCRVSURL: "http://127.0.0.1:1", Clients: -1},
		{OpenCRVSURL: "http://127.0.0.1:1", Rate: -1},
		{OpenCRVSURL: "http://127.0.0.1:1", Rate: math.NaN()},
		{OpenCRVSURL: "http://127.0.0.1:1", Rate: math.Inf(1)},
		{OpenCRVSURL: "http://127.0.0.1:1", MediatorURLs: []string{"http://127.0.0.1:2"}},
		{OpenCRVSURL: "http://127.0.0.1:1", MediatorURLs: []string{"ftp://x"}, AdminToken: "t"},
		{OpenCRVSURL: "http://127.0.0.1:1", MediatorURLs: []string{"http://127.0.0.1:2"}, AdminToken: "t", PhasesTimeout: -time.Second},
	}
	for _, cfg := range tests {
		if res, err := Run(context.Background(), cfg); err == nil || res != nil {
			t.Errorf("Run(%+v) = %v, %v; want a configuration error", cfg, res, err)
		}
	}
}

func TestMixedPlan(t *testing.T) {
	t.Parallel()
	cfg := Config{Kind: "mixed", Mode: "mixed"}
	var got []string
	for i := range 8 {
		got = append(got, cfg.kindFor(i)+"/"+cfg.modeFor(i))
	}
	want := []string{"birth/fhir", "birth/mapped", "death/fhir", "birth/mapped",
		"birth-correction/fhir", "death/mapped", "birth/fhir", "death-correction/mapped"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mixed records (-want +got):\n%s", diff)
	}
	cfg = Config{Kind: "death", Mode: "mixed"}
	if cfg.modeFor(0) == cfg.modeFor(1) || cfg.kindFor(1) != "death" {
		t.Errorf("death/mixed: %s %s %s", cfg.kindFor(1), cfg.modeFor(0), cfg.modeFor(1))
	}

	// Deaths and corrections take completed records once, the most recent
	// first, and fall back to births; a run of one kind uses no pools.
	var p pools
	cfg.Kind = "mixed"
	nid, none := ptr("1234567890"), ptr("")
	if kind, of := p.plan(cfg, 2); kind != "birth" || of != "" {
		t.Errorf("death with nothing completed: %s of %q, want a birth", kind, of)
	}
	p.completed(cfg, "birth", "b1", "1.8", nid)
	p.completed(cfg, "birth", "b-no-nid", "1.8", none)
	p.completed(cfg, "birth", "b2", "1.8", nid)
	p.completed(cfg, "birth-correction", "c1", "1.8", nil)
	p.completed(cfg, "death", "d1", "1.8", nil)
	steps := []struct{ i int }{{2}, {4}, {5}, {7}, {7}}
	var plans []string
	for _, s := range steps {
		kind, of := p.plan(cfg, s.i)
		plans = append(plans, kind+" "+of)
	}
	wantPlans := []string{"death b2", "birth-correction b1", "birth ", "death-correction d1", "birth "}
	if diff := cmp.Diff(wantPlans, plans); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	one := Config{Kind: "death"}
	p.completed(one, "birth", "b3", "1.8", nid)
	if kind, of := p.plan(one, 0); kind != "death" || of != "" || len(p.births) != 0 {
		t.Errorf("a death run: %s of %q, births pool %v; want plain deaths and no pool", kind, of, p.births)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRequestBody(t *testing.T) {
	t.Parallel()
	cfg := Config{Kind: "mixed", Mode: "mapped"}
	tests := []struct{ kind, of, want string }{
		{"birth", "", `{"kind":"birth","mode":"mapped"}`},
		{"death", "", `{"kind":"death","mode":"mapped"}`},
		{"death", "b1", `{"kind":"death","mode":"mapped","of":"b1"}`},
		{"birth-correction", "b1", `{"changes":true,"kind":"birth-correction","of":"b1"}`},
		{"death-correction", "d1", `{"changes":true,"kind":"death-correction","of":"d1"}`},
	}
	for _, tt := range tests {
		if got := string(cfg.requestBody(0, tt.kind, tt.of)); got != tt.want {
			t.Errorf("%s of %q: body %s, want %s", tt.kind, tt.of, got, tt.want)
		}
	}
}

// fakeMediator is a test double of the mediator: it verifies the record
// token, answers, and later confirms or rejects through the /graphql of the
// simulator that sent the record, with the token it received, as the real
// mediator does once MOSIP has answered. What it does with the n-th record
// is decided by behave. Several simulators share it, each with its own
// path prefix ("/0", "/1", ...; "" for a single one). It keeps a
// transaction per record, with the real mediator's event log, and serves
// them on the admin API (GET /admin/transactions?q=, GET
// /admin/transactions/{id}) with the real admin types.
type fakeMediator struct {
	t      *testing.T
	pub    *rsa.PublicKey
	behave func(n int) behaviour
	wg     sync.WaitGroup
	// gate holds gated records' feedback until it is closed; stop ends
	// what still waits at cleanup.
	gate, stop chan struct{}
	// adminInFlight and adminMax count admin API requests being served.
	adminInFlight, adminMax atomic.Int64

	mu      sync.Mutex
	simURLs map[string]string // by path prefix
	docs    [][]byte          // received, in order
	txs     []*pipeline.TransactionView
	// hide makes the admin API not know the transactions of these
	// records (by their index in docs).
	hide func(n int) bool
}

type behaviour int

const (
	confirm behaviour = iota
	reject
	ignore // never answers OpenCRVS: the record times out
	fail   // HTTP 500: OpenCRVS rejects with REG_NUMBER_GENERATION_FAILED
	gated  // confirms once gate is closed
	// lateConfirm confirms, but records CONFIRMED only lateConfirmAfter
	// after OpenCRVS answered (a slow commit): the admin API shows the
	// transaction ISSUED when load already saw the record registered.
	lateConfirm
)

const lateConfirmAfter = 300 * time.Millisecond

// testAdminToken is the fake mediator's ADMIN_TOKEN.
const testAdminToken = "load-test-admin-token-4d1c7f0e"

func (m *fakeMediator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		m.serveAdmin(w, r)
		return
	}
	prefix, ok := strings.CutSuffix(r.URL.Path, "/events/registration")
	if !ok {
		http.NotFound(w, r)
		return
	}
	doc, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, `{"error":"unreadable body"}`, http.StatusBadRequest)
		return
	}
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	var claims opencrvs.Claims
	if err == nil {
		err = tok.Claims(m.pub, &claims)
	}
	if err != nil {
		http.Error(w, `{"error":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	m.mu.Lock()
	m.docs = append(m.docs, doc)
	n := len(m.docs) - 1
	simURL, hidden := m.simURLs[prefix], m.hide != nil && m.hide(n)
	m.mu.Unlock()
	b := m.behave(n)
	if b == fail {
		http.Error(w, `{"error":"An unexpected error occurred"}`, http.StatusInternalServerError)
		return
	}
	tx := &pipeline.TransactionView{ID: fmt.Sprintf("1000%06d", n), RecordID: claims.RecordID, State: bridge.StateQueued,
		CreatedAt: time.Now()}
	tx.Events = []pipeline.EventView{{At: tx.CreatedAt, To: bridge.StateQueued}}
	if !hidden {
		m.mu.Lock()
		m.txs = append(m.txs, tx)
		m.mu.Unlock()
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("{}"))
	if b == ignore {
		return
	}
	corrected := correctedRegistration(doc)
	m.wg.Go(func() { m.feedback(simURL, raw, claims.RecordID, corrected, b, tx) })
}

// step moves tx to state at a moment of its own (a millisecond on, so
// that every phase lasts).
func (m *fakeMediator) step(tx *pipeline.TransactionView, to bridge.State) {
	time.Sleep(time.Millisecond) // processing time, not synchronisation
	m.record(tx, time.Now(), to)
}

func (m *fakeMediator) record(tx *pipeline.TransactionView, at time.Time, to bridge.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx.Events = append(tx.Events, pipeline.EventView{At: at, From: tx.State, To: to})
	tx.State, tx.UpdatedAt = to, at
}

// serveAdmin is the admin API, as far as load reads it.
func (m *fakeMediator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	n := m.adminInFlight.Add(1)
	defer m.adminInFlight.Add(-1)
	for cur := m.adminMax.Load(); n > cur && !m.adminMax.CompareAndSwap(cur, n); cur = m.adminMax.Load() {
	}
	if r.Header.Get("Authorization") != "Bearer "+testAdminToken {
		writeProblem(w, http.StatusUnauthorized, "the admin API needs Authorization: Bearer <ADMIN_TOKEN>")
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.URL.Path == "/admin/transactions" {
		q, limit := r.URL.Query().Get("q"), admin.DefaultLimit
		if l := r.URL.Query().Get("limit"); l != "" {
			limit, _ = strconv.Atoi(l)
		}
		page := admin.Page{Transactions: []pipeline.TransactionView{}}
		for i := len(m.txs) - 1; i >= 0 && len(page.Transactions) < limit; i-- {
			if v := *m.txs[i]; q == "" || v.RecordID == q || v.ID == q {
				v.Events = nil
				page.Transactions = append(page.Transactions, v)
			}
		}
		writeTestJSON(w, page)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/admin/transactions/")
	for _, tx := range m.txs {
		if tx.ID == id {
			v := *tx
			v.Events = slices.Clone(tx.Events)
			writeTestJSON(w, admin.Detail{TransactionView: v})
			return
		}
	}
	writeProblem(w, http.StatusNotFound, "no transaction "+id)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

// kindOf tells what a received document is, roughly: a FHIR or mapped
// birth or death, a correction when it carries a registration number.
func kindOf(doc []byte) string {
	kind := "birth"
	if bytes.Contains(doc, []byte("death-declaration")) || bytes.Contains(doc, []byte(`"deathCertificateNumber"`)) {
		kind = "death"
	}
	if correctedRegistration(doc) != "" {
		kind += "-correction"
	}
	return kind
}

// correctedRegistration returns the registration number a correction
// carries (a FHIR Task identifier ending in -registration-number, or the
// certificate number of a mapped payload marked as a correction); empty for
// other records.
func correctedRegistration(doc []byte) string {
	var d struct {
		Correction    bool
		RequestFields struct{ BirthCertificateNumber, DeathCertificateNumber string }
		Entry         []struct {
			Resource struct {
				Identifier json.RawMessage
			}
		}
	}
	if json.Unmarshal(doc, &d) != nil {
		return ""
	}
	if d.Correction {
		return d.RequestFields.BirthCertificateNumber + d.RequestFields.DeathCertificateNumber
	}
	for _, e := range d.Entry {
		var ids []struct{ System, Value string }
		if json.Unmarshal(e.Resource.Identifier, &ids) == nil {
			for _, id := range ids {
				if strings.HasSuffix(id.System, "-registration-number") {
					return id.Value
				}
			}
		}
	}
	return ""
}

func (m *fakeMediator) feedback(simURL, token, recordID, corrected string, b behaviour, tx *pipeline.TransactionView) {
	if b == gated {
		select {
		case <-m.gate:
		case <-m.stop:
			return
		}
	}
	m.step(tx, bridge.StateSubmitted)
	query := `mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) { confirmRegistration(id: $id, details: $details) }`
	details := map[string]any{"registrationNumber": "2025" + recordID[:7],
		"identifiers": []any{map[string]string{"type": "NATIONAL_ID", "value": "5555555555"}}}
	if corrected != "" { // a correction keeps the registration number and the national ID
		details = map[string]any{"registrationNumber": corrected}
	}
	final := bridge.StateConfirmed
	if b == reject {
		query = `mutation rejectRegistration($id: ID!, $details: RejectRegistrationInput!) { rejectRegistration(id: $id, details: $details) }`
		details = map[string]any{"reason": "duplicate", "comment": "MOSIP found identity 1234567890"}
		m.step(tx, bridge.StateRejectedByMOSIP)
		final = bridge.StateReported
	} else {
		m.step(tx, bridge.StateIssued)
	}
	time.Sleep(time.Millisecond) // processing time, not synchronisation
	// As the real mediator, it records the outcome once OpenCRVS answered,
	// at the moment it called.
	called := time.Now()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"id": recordID, "details": details}})
	req, err := http.NewRequest(http.MethodPost, simURL+"/graphql", bytes.NewReader(body))
	if err != nil {
		m.t.Error(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Errorf("feedback for %s: %v", recordID, err)
		return
	}
	defer resp.Body.Close()
	var a struct{ Errors []any }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK || len(a.Errors) > 0 {
		m.t.Errorf("feedback for %s: status %d, errors %v, decode %v", recordID, resp.StatusCode, a.Errors, err)
		return
	}
	if b == lateConfirm {
		select {
		case <-time.After(lateConfirmAfter):
		case <-m.stop:
			return
		}
	}
	m.record(tx, called, final)
}

// system is an OpenCRVS simulator with a fake mediator behind it;
// maxFlight is the most /sim/records requests the simulator served at
// once.
type system struct {
	sim                 *opencrvssim.Sim
	url                 string
	mediator            *fakeMediator
	mediatorURL         string
	inFlight, maxFlight atomic.Int64
}

func newSystem(t *testing.T, behave func(n int) behaviour) *system {
	t.Helper()
	return newSystems(t, 1, behave)[0]
}

// newSystems starts n simulators sharing one fake mediator.
func newSystems(t *testing.T, n int, behave func(n int) behaviour) []*system {
	t.Helper()
	m := &fakeMediator{t: t, pub: &testKey().PublicKey, behave: behave, gate: make(chan struct{}), stop: make(chan struct{}),
		simURLs: map[string]string{}}
	msrv := httptest.NewServer(m)
	var systems []*system
	var closers []func()
	for k := range n {
		prefix := ""
		if n > 1 {
			prefix = "/" + strconv.Itoa(k)
		}
		sim, err := opencrvssim.New(opencrvssim.Config{
			MediatorURL: msrv.URL + prefix, Key: testKey(), Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		s := &system{sim: sim, mediator: m, mediatorURL: msrv.URL}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/sim/records") { // the mediator's feedback is not load
				sim.ServeHTTP(w, r)
				return
			}
			n := s.inFlight.Add(1)
			for {
				cur := s.maxFlight.Load()
				if n <= cur || s.maxFlight.CompareAndSwap(cur, n) {
					break
				}
			}
			// The answer is buffered and the request counted out before the
			// client sees a byte of it: a worker that got its answer may send
			// its next request before a deferred decrement would have run.
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, r)
			s.inFlight.Add(-1)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		}))
		m.mu.Lock()
		m.simURLs[prefix] = srv.URL
		m.mu.Unlock()
		s.url = srv.URL
		systems = append(systems, s)
		closers = append(closers, func() {
			_ = sim.Close() // releases long polls before the servers close
			srv.Close()
		})
	}
	t.Cleanup(func() {
		close(m.stop)
		for _, c := range closers {
			c()
		}
		m.wg.Wait()
		msrv.Close()
	})
	return systems
}

func (s *system) stats(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(s.url + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRunEndToEnd(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(n int) behaviour {
		return [...]behaviour{confirm, reject, ignore, fail, confirm}[n%5]
	})
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		OpenCRVSURL: sys.url + "/",
		Records:     20,
		Concurrency: 4,
		Kind:        "mixed",
		Mode:        "mixed",
		Timeout:     3 * time.Second,
		Progress:    &progress,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]int{"duplicate": 4, "timeout": 4, "reg_number_generation_failed": 4}
	if res.Records != 20 || res.Completed != 8 || res.Failed != 12 {
		t.Errorf("records/completed/failed = %d/%d/%d, want 20/8/12", res.Records, res.Completed, res.Failed)
	}
	if diff := cmp.Diff(want, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	byKind := 0
	for _, n := range res.CompletedByKind {
		byKind += n
	}
	if byKind != res.Completed {
		t.Errorf("completed by kind %v adds up to %d, want %d", res.CompletedByKind, byKind, res.Completed)
	}
	for name, p := range map[string]Percentiles{"latency": res.LatencyMS, "accept latency": res.AcceptLatencyMS} {
		if !(0 < p.P50 && p.P50 <= p.P95 && p.P95 <= p.P99 && p.P99 <= p.Max) {
			t.Errorf("%s percentiles %+v are not ordered and positive", name, p)
		}
	}
	if res.AcceptedPerS <= 0 || res.CompletedPerS <= 0 || res.DurationS <= 0 {
		t.Errorf("rates %v/%v over %vs, want positive", res.AcceptedPerS, res.CompletedPerS, res.DurationS)
	}
	if got := sys.maxFlight.Load(); got > 4 {
		t.Errorf("the simulator served %d requests at once, want at most the 4 workers", got)
	}
	// Every confirmation and rejection happened exactly once.
	st := sys.stats(t)
	if st["confirmations"] != 8 || st["rejections"] != 4 || st["registered"] != 8 || st["records"] != 20 {
		t.Errorf("simulator stats %v, want 8 confirmations, 4 rejections, 8 registered of 20", st)
	}
	if !strings.Contains(progress.String(), "load: 20/20 sent") {
		t.Errorf("progress %q lacks the final line", progress.String())
	}

	// The JSON summary has exactly the documented shape.
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var shape map[string]any
	if err := json.Unmarshal(raw, &shape); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range shape {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// (rate and phases_ms only with a rate and mediators.)
	wantKeys := []string{"accept_latency_ms", "accepted_per_s", "clients", "completed", "completed_by_kind", "completed_per_s", "duration_s", "errors", "failed", "latency_ms", "records"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("summary keys (-want +got):\n%s", diff)
	}
	if lat, _ := shape["latency_ms"].(map[string]any); len(lat) != 4 || lat["p99"] == nil {
		t.Errorf("latency_ms = %v, want p50, p95, p99, max", shape["latency_ms"])
	}
	// One client: its part is the whole run.
	want1 := ClientResult{OpenCRVS: sys.url, Concurrency: 4, Records: 20, Completed: 8, Failed: 12,
		AcceptedPerS: res.AcceptedPerS, CompletedPerS: res.CompletedPerS}
	if diff := cmp.Diff([]ClientResult{want1}, res.Clients); diff != "" {
		t.Errorf("clients (-want +got):\n%s", diff)
	}
}

// TestRunMixed runs a mixed load one record at a time, so that every death
// and correction finds a completed record: the mediator receives the
// planned kinds in order, deaths name the people born earlier in the run
// (the national ID the fake mediator confirmed births with) and the summary
// counts completed records by kind.
func TestRunMixed(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(int) behaviour { return confirm })
	res, err := Run(context.Background(), Config{OpenCRVSURL: sys.url, Records: 24, Concurrency: 1, Kind: "mixed", Mode: "mixed", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]int{"birth": 12, "death": 6, "birth-correction": 3, "death-correction": 3}
	if diff := cmp.Diff(want, res.CompletedByKind); diff != "" || res.Completed != 24 || res.Failed != 0 {
		t.Errorf("%d completed, %d failed (%v); by kind (-want +got):\n%s", res.Completed, res.Failed, res.Errors, diff)
	}
	sys.mediator.mu.Lock()
	docs := slices.Clone(sys.mediator.docs)
	sys.mediator.mu.Unlock()
	var kinds []string
	for i, doc := range docs {
		kinds = append(kinds, kindOf(doc))
		if kinds[i] == "death" && !bytes.Contains(doc, []byte(`"5555555555"`)) {
			t.Errorf("death %d does not name a person born in the run (national ID 5555555555)", i)
		}
	}
	var wantKinds []string
	for i := range 24 {
		wantKinds = append(wantKinds, mixedCycle[i%8])
	}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("documents received (-want +got):\n%s", diff)
	}
	if st := sys.stats(t); st["registered"] != 24 || st["confirmations"] != 24 {
		t.Errorf("simulator stats %v, want 24 registered", st)
	}
}

func TestRunCountsHTTPErrors(t *testing.T) {
	t.Parallel()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	t.Cleanup(broken.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("<html>"))
	}))
	t.Cleanup(notJSON.Close)

	tests := []struct {
		url  string
		want map[string]int
	}{
		{broken.URL, map[string]int{"http_503": 5}},
		{closedURL, map[string]int{"network": 5}},
		{notJSON.URL, map[string]int{"bad_answer": 5}},
	}
	for _, tt := range tests {
		res, err := Run(context.Background(), Config{OpenCRVSURL: tt.url, Records: 5, Concurrency: 2, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff(tt.want, res.Errors); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s", tt.url, diff)
		}
		if res.Records != 5 || res.Failed != 5 || res.AcceptedPerS != 0 || res.AcceptLatencyMS != (Percentiles{}) {
			t.Errorf("%s: result %+v, want 5 failed, nothing accepted", tt.url, res)
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	sys := newSystem(t, func(int) behaviour { return ignore })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, Config{OpenCRVSURL: sys.url, Records: 50, Concurrency: 3, Timeout: time.Hour})
		done <- ran{res, err}
	}()
	// Cancel once the three workers each wait on a record.
	deadline := time.Now().Add(10 * time.Second)
	for sys.stats(t)["waiting"] < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the workers did not send their records")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", r.err)
		}
		if r.res == nil {
			t.Fatal("no partial result")
		}
		if r.res.Records != 3 || r.res.Failed != 3 || r.res.Errors["canceled"] != 3 {
			t.Errorf("partial result %+v, want 3 records, all canceled", r.res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancellation")
	}
}

func FuzzCauseKey(f *testing.F) {
	f.Add("REG_NUMBER_GENERATION_FAILED")
	f.Add("MOSIP rejected packet 10001234567890: RPR-WIS-001")
	f.Add("ÄÖ ünïcödé 12 __ --")
	f.Fuzz(func(t *testing.T, reason string) {
		got := CauseKey(reason)
		if got == "" || len(got) > maxCauseLen || strings.HasPrefix(got, "_") || strings.HasSuffix(got, "_") {
			t.Fatalf("CauseKey(%q) = %q", reason, got)
		}
		for _, r := range got {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				t.Fatalf("CauseKey(%q) = %q has %q", reason, got, r)
			}
		}
		if CauseKey(reason) != got {
			t.Fatalf("CauseKey(%q) is not stable", reason)
		}
	})
}
