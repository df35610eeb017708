package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"opencrvs-mosip/internal/bridge"
)

// fakeClock is a settable clock for the metrics' time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scrape GETs the metrics over HTTP and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample returns the value of the sample of family name with exactly
// labels (a histogram's count), and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestNilMetricsDoNothing(t *testing.T) {
	var m *Metrics
	tr := &bridge.Transaction{Kind: bridge.EventBirth}
	m.RecordReceived(tr)
	m.RecordSkipped(tr)
	m.RecordConfirmed(tr)
	m.RecordRejected(tr)
	m.JobRun("submit", 2, time.Second, JobFailed)
	m.WebSubDelivery(TopicCredential, "applied")
	m.OutboundError(SystemMOSIP, "createPacket", "KER-PUT-001")
	m.WatchStore(func(context.Context) (Snapshot, error) { return Snapshot{}, nil })
	if _, err := m.Snapshot(t.Context()); err == nil {
		t.Error("Snapshot of nil metrics: no error")
	}
	if got := m.CallStats(SystemMOSIP, time.Hour); got != (CallStats{}) {
		t.Errorf("CallStats = %+v, want zero", got)
	}
	if m.Registry() != nil {
		t.Error("Registry of nil metrics is not nil")
	}
	if got := m.Transport(http.DefaultTransport, nil); got != http.DefaultTransport {
		t.Errorf("Transport of nil metrics wraps: %T", got)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("Handler of nil metrics answered %d, want 404", rec.Code)
	}
}

func TestCounters(t *testing.T) {
	m := NewMetrics()
	birth := &bridge.Transaction{Kind: bridge.EventBirth, Version: bridge.OpenCRVS19}
	correction := &bridge.Transaction{Kind: bridge.EventDeath, Corrects: "A1"} // version unset: 1.8
	m.RecordReceived(birth)
	m.RecordReceived(birth)
	m.RecordSkipped(birth)
	m.RecordReceived(correction)
	m.RecordConfirmed(correction)
	m.RecordRejected(birth)
	m.JobRun("submit", 1, 10*time.Millisecond, JobOK)
	m.JobRun("submit", 2, 20*time.Millisecond, JobFailed)
	m.JobRun("confirm", 3, time.Millisecond, JobCancelled)
	m.WebSubDelivery(TopicCredential, "applied")
	m.WebSubDelivery(TopicCredential, DeliveryBadSignature)
	m.WebSubDelivery(TopicCredential, DeliveryBadSignature)

	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"opencrvs_mosip_records_received_total", map[string]string{"kind": "birth", "version": "1.9"}, 2},
		{"opencrvs_mosip_records_received_total", map[string]string{"kind": "death-correction", "version": "1.8"}, 1},
		{"opencrvs_mosip_records_skipped_total", map[string]string{"kind": "birth", "version": "1.9"}, 1},
		{"opencrvs_mosip_records_confirmed_total", map[string]string{"kind": "death-correction", "version": "1.8"}, 1},
		{"opencrvs_mosip_records_rejected_total", map[string]string{"kind": "birth", "version": "1.9"}, 1},
		{"opencrvs_mosip_job_runs_total", map[string]string{"kind": "submit", "outcome": "ok"}, 1},
		{"opencrvs_mosip_job_runs_total", map[string]string{"kind": "submit", "outcome": "failed"}, 1},
		{"opencrvs_mosip_job_runs_total", map[string]string{"kind": "confirm", "outcome": "cancelled"}, 1},
		{"opencrvs_mosip_job_retries_total", map[string]string{"kind": "submit"}, 1},
		{"opencrvs_mosip_job_retries_total", map[string]string{"kind": "confirm"}, 1},
		{"opencrvs_mosip_job_duration_seconds", map[string]string{"kind": "submit"}, 2},
		{"opencrvs_mosip_websub_deliveries_total", map[string]string{"topic": "credential", "outcome": "applied"}, 1},
		{"opencrvs_mosip_websub_deliveries_total", map[string]string{"topic": "credential", "outcome": "bad_signature"}, 2},
	} {
		if got, ok := sample(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// Go runtime and process metrics are there too.
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no go_goroutines")
	}
	if _, ok := fams["process_cpu_seconds_total"]; !ok && runtime.GOOS == "linux" {
		t.Error("no process_cpu_seconds_total")
	}
}

// Two Metrics do not share a registry.
func TestMetricsAreIndependent(t *testing.T) {
	a, b := NewMetrics(), NewMetrics()
	a.RecordReceived(&bridge.Transaction{Kind: bridge.EventBirth})
	if _, ok := sample(scrape(t, b), "opencrvs_mosip_records_received_total", map[string]string{"kind": "birth", "version": "1.8"}); ok {
		t.Error("a record counted in one Metrics shows in another")
	}
}

func TestErrorCodeLabels(t *testing.T) {
	m := NewMetrics()
	for in, want := range map[string]string{
		"RPR-WIS-000":              "RPR-WIS-000",
		"bad code\n{x}":            "bad_code__x_",
		"":                         "unknown",
		strings.Repeat("A", 100):   strings.Repeat("A", maxCodeLen),
		"INTERNAL_SERVER_ERROR":    "INTERNAL_SERVER_ERROR",
		"KER-ATH-401 (auth) ünï":   "KER-ATH-401__auth___n_",
		"http_5xx":                 "http_5xx",
		"IDR-IDC-007.sub_code-9.z": "IDR-IDC-007.sub_code-9.z",
	} {
		if got := m.codeLabel(in); got != want {
			t.Errorf("codeLabel(%q) = %q, want %q", in, got, want)
		}
	}
	// A hostile system cannot make unbounded series.
	for i := range 3 * maxErrorCodes {
		m.OutboundError(SystemMOSIP, "createPacket", fmt.Sprintf("CODE-%d", i))
	}
	fams := scrape(t, m)
	if n := len(fams["opencrvs_mosip_outbound_errors_total"].GetMetric()); n > maxErrorCodes+1 {
		t.Errorf("%d error series, want at most %d", n, maxErrorCodes+1)
	}
	if got, _ := sample(fams, "opencrvs_mosip_outbound_errors_total", map[string]string{"system": "mosip", "endpoint": "createPacket", "code": "other"}); got == 0 {
		t.Error("codes past the bound are not counted as other")
	}
}

// Requests are classified by the longest configured URL prefix, errors by
// HTTP status class or the kind of transport failure; the raw path never
// becomes a label.
func TestTransportClassifies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/fail"):
			w.WriteHeader(http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/missing"):
			w.WriteHeader(http.StatusNotFound)
		case strings.HasSuffix(r.URL.Path, "/hang"):
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	// An address nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	m := NewMetrics()
	endpoints := []Endpoint{
		{SystemMOSIP, "identity", srv.URL + "/idrepository/v1/identity"},
		{SystemMOSIP, "vid", srv.URL + "/idrepository/v1/vid/"},
		{SystemMOSIP, "idrepo", srv.URL + "/idrepository"},
		{SystemOpenCRVS, "graphql", strings.ToUpper(srv.URL[:4]) + srv.URL[4:] + "/graphql?x=1"},
		{SystemMOSIP, "auth", closed + "/v1/auth"},
		{SystemESignet, "token", ""}, // off: left out
		{SystemIDA, "auth", "::not a url"},
	}
	client := &http.Client{Transport: m.Transport(nil, endpoints)}
	get := func(url string, timeout time.Duration) {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	const long = time.Minute
	get(srv.URL+"/idrepository/v1/identity/idvid/1234567890?type=bio", long) // ids in the path
	get(srv.URL+"/idrepository/v1/identity/fail", long)
	get(srv.URL+"/idrepository/v1/vid/uin/1234567890", long)
	get(srv.URL+"/idrepository/v1/identityX", long) // not a path segment of identity
	get(srv.URL+"/idrepository/other/missing", long)
	get(srv.URL+"/graphql", long)
	get(srv.URL+"/graphql/hang", 50*time.Millisecond)
	get(other.URL+"/graphql", long)
	get(closed+"/v1/auth/clientidsecretkey", long)

	fams := scrape(t, m)
	calls := map[string]float64{}
	for _, mf := range fams["opencrvs_mosip_outbound_request_duration_seconds"].GetMetric() {
		var key []string
		for _, l := range mf.GetLabel() {
			key = append(key, l.GetValue())
		}
		calls[strings.Join(key, "/")] = float64(mf.GetHistogram().GetSampleCount())
	}
	wantCalls := map[string]float64{
		"identity/mosip": 2, "vid/mosip": 1, "idrepo/mosip": 2, "graphql/opencrvs": 2,
		"other/unknown": 1, "auth/mosip": 1,
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("calls by endpoint/system (-want +got):\n%s", diff)
	}
	errs := map[string]float64{}
	for _, mf := range fams["opencrvs_mosip_outbound_errors_total"].GetMetric() {
		var key []string
		for _, l := range mf.GetLabel() {
			key = append(key, l.GetValue())
		}
		errs[strings.Join(key, "/")] = mf.GetCounter().GetValue()
	}
	wantErrs := map[string]float64{
		"http_5xx/identity/mosip": 1, "http_4xx/idrepo/mosip": 1, "timeout/graphql/opencrvs": 1, "network/auth/mosip": 1,
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors by code/endpoint/system (-want +got):\n%s", diff)
	}
	if got := m.CallStats(SystemMOSIP, time.Minute); got.Calls != 6 || got.Errors != 3 {
		t.Errorf("CallStats(mosip) = %+v, want 6 calls, 3 errors", got)
	}
}

// The transport wraps the next one (another helper's tracing, say) and
// passes its answer and error through.
func TestTransportChains(t *testing.T) {
	var seen []string
	next := roundTripper(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.Path)
		if r.URL.Path == "/err" {
			return nil, errors.New("boom")
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
	})
	m := NewMetrics()
	rt := m.Transport(next, []Endpoint{{SystemOpenCRVS, "graphql", "http://gw.example/graphql"}})
	resp, err := rt.RoundTrip(httptest.NewRequest("POST", "http://gw.example/graphql", nil))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("RoundTrip = %v, %v", resp, err)
	}
	if _, err := rt.RoundTrip(httptest.NewRequest("POST", "http://gw.example/err", nil)); err == nil || err.Error() != "boom" {
		t.Fatalf("error not passed through: %v", err)
	}
	if diff := cmp.Diff([]string{"/graphql", "/err"}, seen); diff != "" {
		t.Errorf("requests seen by next (-want +got):\n%s", diff)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCallStatsWindows(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC)}
	m := NewMetrics()
	m.now = clk.now
	// Minute 0: 100 calls of 10..1000 ms (1 ms steps of 10), 5 failing.
	for i := 1; i <= 100; i++ {
		m.calls.observe(SystemMOSIP, time.Duration(i)*10*time.Millisecond, i%20 == 0)
	}
	m.OutboundError(SystemMOSIP, "createPacket", "RPR-WIS-000") // a 2xx answer with an error
	within := func(got, want time.Duration) bool {
		return got >= want*9/10 && got <= want*11/10
	}
	got := m.CallStats(SystemMOSIP, time.Minute)
	if got.Calls != 100 || got.Errors != 6 || !within(got.P50, 500*time.Millisecond) || !within(got.P95, 950*time.Millisecond) {
		t.Errorf("after minute 0: %+v, want 100 calls, 6 errors, p50 ~500ms, p95 ~950ms", got)
	}
	// Ten minutes later: 10 calls of 2 s.
	clk.add(10 * time.Minute)
	for range 10 {
		m.calls.observe(SystemMOSIP, 2*time.Second, false)
	}
	if got := m.CallStats(SystemMOSIP, 5*time.Minute); got.Calls != 10 || got.Errors != 0 || got.P50 != 2*time.Second || got.P95 != 2*time.Second {
		t.Errorf("last 5 minutes: %+v, want 10 calls of exactly 2s", got)
	}
	if got := m.CallStats(SystemMOSIP, 11*time.Minute); got.Calls != 110 || got.Errors != 6 || !within(got.P95, 2*time.Second) {
		t.Errorf("last 11 minutes: %+v, want 110 calls, 6 errors, p95 ~2s", got)
	}
	if got := m.CallStats(SystemOpenCRVS, time.Hour); got != (CallStats{}) {
		t.Errorf("a system never called: %+v", got)
	}
	// An hour on, minute 0 has left the ring, even though its slot is
	// reused for a new minute.
	clk.add(50 * time.Minute)
	m.calls.observe(SystemMOSIP, time.Millisecond, false)
	if got := m.CallStats(SystemMOSIP, 2*time.Hour); got.Calls != 11 {
		t.Errorf("after an hour: %d calls, want 11 (the ring keeps an hour)", got.Calls)
	}
}

// Memory stays bounded: a fixed ring per system, a bounded number of
// systems.
func TestCallStatsBounded(t *testing.T) {
	m := NewMetrics()
	for i := range 2 * maxSystems {
		m.calls.observe(fmt.Sprintf("system-%d", i), time.Millisecond, false)
	}
	if n := len(m.calls.rings); n != maxSystems {
		t.Errorf("%d rings, want %d", n, maxSystems)
	}
	m.calls.observe(SystemMOSIP, 10*time.Hour, false) // beyond the last bucket
	if got := m.CallStats(SystemMOSIP, time.Minute); got.Calls != 0 {
		t.Errorf("a system past the bound was counted: %+v", got)
	}
	if got := m.CallStats("system-0", time.Minute); got.Calls != 1 || got.P50 != time.Millisecond {
		t.Errorf("system-0: %+v", got)
	}
}

func TestSnapshotGauges(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	m := NewMetrics()
	m.now = clk.now
	var reads int
	fail := false
	m.WatchStore(func(ctx context.Context) (Snapshot, error) {
		reads++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("snapshot read without a deadline")
		}
		if fail {
			return Snapshot{}, errors.New("database is locked")
		}
		return Snapshot{
			Transactions:  map[bridge.State]int{bridge.StateQueued: 3, bridge.StateConfirmed: 7},
			OldestWaiting: map[bridge.State]time.Time{bridge.StateQueued: clk.now().Add(-90 * time.Second)},
			Jobs:          map[string]map[string]int{"submit": {"available": 2, "retryable": 1}, "feedback": {}},
		}, nil
	})
	fams := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"opencrvs_mosip_store_up", map[string]string{}, 1},
		{"opencrvs_mosip_transactions", map[string]string{"state": "QUEUED"}, 3},
		{"opencrvs_mosip_transactions", map[string]string{"state": "CONFIRMED"}, 7},
		{"opencrvs_mosip_transactions", map[string]string{"state": "DEAD"}, 0},
		{"opencrvs_mosip_oldest_waiting_seconds", map[string]string{"state": "QUEUED"}, 90},
		{"opencrvs_mosip_oldest_waiting_seconds", map[string]string{"state": "SUBMITTED"}, 0},
		{"opencrvs_mosip_queue_jobs", map[string]string{"queue": "submit", "state": "available"}, 2},
		{"opencrvs_mosip_queue_jobs", map[string]string{"queue": "submit", "state": "retryable"}, 1},
		{"opencrvs_mosip_queue_jobs", map[string]string{"queue": "feedback", "state": "available"}, 0},
	} {
		if got, ok := sample(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if n := len(fams["opencrvs_mosip_transactions"].GetMetric()); n != len(bridge.States) {
		t.Errorf("%d state gauges, want one per state (%d)", n, len(bridge.States))
	}
	if _, ok := sample(fams, "opencrvs_mosip_oldest_waiting_seconds", map[string]string{"state": "CONFIRMED"}); ok {
		t.Error("a final state has an oldest waiting age")
	}
	// Scrapes close together share one read.
	scrape(t, m)
	if snap, err := m.Snapshot(t.Context()); err != nil || snap.Transactions[bridge.StateQueued] != 3 {
		t.Errorf("Snapshot = %+v, %v", snap, err)
	}
	if reads != 1 {
		t.Errorf("%d reads for three uses within %s, want 1", reads, snapshotFor)
	}
	// A failing store leaves its gauges out but not the rest.
	fail = true
	clk.add(snapshotFor)
	fams = scrape(t, m)
	if got, ok := sample(fams, "opencrvs_mosip_store_up", map[string]string{}); !ok || got != 0 {
		t.Errorf("store_up = %v (found %v), want 0", got, ok)
	}
	if _, ok := fams["opencrvs_mosip_transactions"]; ok {
		t.Error("transaction gauges shown from a failed read")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("a failed store read hid the other metrics")
	}
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}
