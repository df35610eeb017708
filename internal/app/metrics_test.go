package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/loadgen"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// scrapeMetrics GETs /metrics as Prometheus would and parses it.
func (s *system) scrapeMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.mediatorURL + "/metrics")
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
		t.Fatalf("GET /metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// series maps the samples of a family by their labels ("k=v,k=v", sorted
// by name as the exposition has them) to their values (a histogram's: its count).
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var key []string
		for _, l := range m.GetLabel() {
			key = append(key, l.GetName()+"="+l.GetValue())
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		out[strings.Join(key, ",")] = v
	}
	return out
}

func sum(m map[string]float64) (n float64) {
	for _, v := range m {
		n += v
	}
	return n
}

// `curl /metrics` after a `load` run shows the counts the OpenCRVS
// simulator saw: records received, confirmed and rejected, and the
// transactions by state the store holds. The run mixes kinds and OpenCRVS
// versions, and MOSIP refuses some records, answers some calls with an
// error inside HTTP 200 and delivers some credentials twice.
func TestE2EMetricsMatchLoad(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{
		"rejectRate": 0.3, "duplicateDeliveryRate": 0.3,
		"errorRate": 0.3, "errorMode": "errors200", "endpoints": []string{"createPacket"},
	})
	const records = 30
	res, err := loadgen.Run(t.Context(), loadgen.Config{OpenCRVSURL: s.opencrvsURL, Records: records, Concurrency: 6,
		Kind: "mixed", Mode: "mixed", Version: "mixed", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != records {
		t.Fatalf("load sent %d records, want %d (%v)", res.Records, records, res.Errors)
	}
	counts := s.settle(t)
	var sim struct {
		Sent, MediatorFailures, Confirmations, Rejections int
	}
	do(t, "GET", s.opencrvsURL+"/sim/stats", nil, nil, &sim)
	if sim.Rejections == 0 || sim.Confirmations == 0 {
		t.Fatalf("OpenCRVS saw %d confirmations and %d rejections: want both (rejectRate)", sim.Confirmations, sim.Rejections)
	}

	// A forged delivery is refused, and counted.
	forged := http.Header{"X-Hub-Signature": {"sha256=00"}}
	if st := do(t, "POST", s.mediatorURL+"/websub/callback", forged, []byte(`{"topic":"CREDENTIAL_ISSUED"}`), nil); st != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d, want 401", st)
	}

	want := map[string]float64{
		"opencrvs_mosip_records_received_total":  float64(sim.Sent - sim.MediatorFailures),
		"opencrvs_mosip_records_confirmed_total": float64(sim.Confirmations),
		"opencrvs_mosip_records_rejected_total":  float64(sim.Rejections),
	}
	// A job counts its transaction just after committing its last change:
	// a scrape may come between the two (bounded wait).
	var fams map[string]*dto.MetricFamily
	got := map[string]float64{}
	for range 50 {
		fams = s.scrapeMetrics(t)
		for name := range want {
			got[name] = sum(series(fams, name))
		}
		if cmp.Equal(want, got) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record counters (-OpenCRVS simulator +metrics):\n%s", diff)
		all, _ := s.mediator.Store().List(t.Context(), store.ListFilter{Limit: 1000})
		for _, tr := range all {
			var rec simRecord
			do(t, "GET", s.opencrvsURL+"/sim/records/"+tr.RecordID, nil, nil, &rec)
			if rec.Rejections+rec.Confirmations != 1 {
				t.Logf("transaction %s (%s, %s, corrects %q) %s: OpenCRVS record %s %s, %d confirmations, %d rejections",
					tr.ID, tr.Kind, tr.Version, tr.Corrects, tr.State, tr.RecordID, rec.Status, rec.Confirmations, rec.Rejections)
			}
		}
	}
	received := series(fams, "opencrvs_mosip_records_received_total")

	// By kind and version, as the store has them.
	all, err := s.mediator.Store().List(t.Context(), store.ListFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]float64{}
	for _, tr := range all {
		byKind["kind="+telemetry.RecordLabel(tr)+",version="+string(tr.Version)]++
	}
	if diff := cmp.Diff(byKind, received); diff != "" {
		t.Errorf("received by kind and version (-store +metrics):\n%s", diff)
	}
	for _, want := range []string{"kind=birth,version=1.8", "kind=birth,version=1.9", "kind=death,version=1.8"} {
		if received[want] == 0 {
			t.Errorf("no record received with %s: %v", want, received)
		}
	}

	// Transactions by state, as the store counts them.
	wantStates := map[string]float64{}
	for _, st := range bridge.States {
		wantStates["state="+string(st)] = float64(counts[st])
	}
	if diff := cmp.Diff(wantStates, series(fams, "opencrvs_mosip_transactions")); diff != "" {
		t.Errorf("transactions by state (-store +metrics):\n%s", diff)
	}
	if got := series(fams, "opencrvs_mosip_store_up"); got[""] != 1 {
		t.Errorf("store_up = %v", got)
	}
	queues := series(fams, "opencrvs_mosip_queue_jobs")
	for _, q := range []string{"submit", "feedback", "maintenance", "reconcile"} {
		if _, ok := queues["queue="+q+",state=available"]; !ok {
			t.Errorf("no queue depth for %s: %v", q, queues)
		}
	}

	// Jobs ran, some again after MOSIP's errors.
	runs := series(fams, "opencrvs_mosip_job_runs_total")
	for _, kind := range []string{"submit", "confirm", "reject"} {
		if runs["kind="+kind+",outcome=ok"] == 0 {
			t.Errorf("no successful %s job run: %v", kind, runs)
		}
	}
	if series(fams, "opencrvs_mosip_job_retries_total")["kind=submit"] == 0 {
		t.Error("no submit job was retried, though MOSIP answered errors")
	}

	// Outbound calls by system and named endpoint, never by raw path; the
	// error MOSIP put in 200 answers is counted by its code.
	calls := series(fams, "opencrvs_mosip_outbound_request_duration_seconds")
	for _, want := range []string{
		"endpoint=createPacket,system=mosip", "endpoint=workflow,system=mosip", "endpoint=auth,system=mosip",
		"endpoint=hub,system=websub-hub", "endpoint=graphql,system=opencrvs", "endpoint=trpc,system=opencrvs",
	} {
		if calls[want] == 0 {
			t.Errorf("no call counted for %s: %v", want, calls)
		}
	}
	for key := range calls {
		if strings.Contains(key, "unknown") {
			t.Errorf("calls to a URL outboundEndpoints (metrics.go) does not name: %s", key)
		}
	}
	errs := series(fams, "opencrvs_mosip_outbound_errors_total")
	if errs["code="+mosipsim.CodePacketKeeper+",endpoint=createPacket,system=mosip"] == 0 {
		t.Errorf("MOSIP's errors in 200 answers are not counted by code: %v", errs)
	}
	for key := range errs {
		if strings.Contains(key, "/") {
			t.Errorf("a raw path in an error label: %s", key)
		}
	}

	// WebSub deliveries: applied, and the duplicates the hub sent.
	deliveries := series(fams, "opencrvs_mosip_websub_deliveries_total")
	if deliveries["outcome=applied,topic=credential"] == 0 || deliveries["outcome=duplicate,topic=credential"] == 0 ||
		deliveries["outcome=bad_signature,topic=credential"] != 1 {
		t.Errorf("deliveries %v, want applied and duplicate ones, and one with a bad signature", deliveries)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	// The dashboard's view of the same calls.
	if st := s.mediator.Metrics().CallStats(telemetry.SystemMOSIP, time.Hour); st.Calls == 0 || st.Errors == 0 || st.P95 < st.P50 {
		t.Errorf("CallStats(mosip) = %+v, want calls, errors and p95 >= p50", st)
	}
}
