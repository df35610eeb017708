package app

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/telemetry/otlptest"
)

// One birth sent end to end with tracing on is one trace at the collector:
// the intake request and its accept span, the submit job and its calls to
// MOSIP, the credential MOSIP delivered, the confirm job and its call to
// OpenCRVS. The mediator's log lines about the record carry its trace id.
// No span holds the national ID, a secret or a URL path.
func TestTracingOneTracePerRecord(t *testing.T) {
	col := otlptest.NewCollector(t)
	logs := &lockedBuffer{}
	s := startSystem(t, systemOptions{
		logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		config: func(c *Config) {
			c.OTLPTracesEndpoint = col.URL + otlptest.TracesPath
			// The credential, not reconciliation (which a loaded machine
			// could make win the race), completes the record.
			c.ReconcileAfter, c.ReconcileMax = 10*time.Minute, 10*time.Minute
		},
	})
	if s.mediator.tracing == nil {
		t.Fatal("tracing is configured but the mediator has no exporter")
	}
	rec := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID)
	if rec.Status != "registered" || rec.NationalID == nil {
		t.Fatalf("record %+v, want registered", rec)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, rec.ID)
	if tr.State != bridge.StateConfirmed {
		t.Fatalf("transaction %s, want CONFIRMED", tr.State)
	}
	traceparent, err := s.mediator.Store().TraceParent(t.Context(), tr.ID)
	if err != nil || traceparent == "" {
		t.Fatalf("the transaction keeps traceparent %q (%v), want its intake's", traceparent, err)
	}
	s.stop() // the mediator flushes its spans as it stops

	spans := col.Spans()
	accept := findSpan(spans, func(sp otlptest.Span) bool {
		return sp.Name == "intake accept" && sp.Attributes["transaction.id"] == tr.ID
	})
	if accept == nil {
		t.Fatalf("no intake span for %s among %d spans:\n%s", tr.ID, len(spans), spanList(spans))
	}
	traceID := accept.TraceID
	if !strings.Contains(traceparent, traceID) {
		t.Errorf("stored traceparent %s is not in trace %s", traceparent, traceID)
	}
	var inTrace []otlptest.Span
	for _, sp := range spans {
		if sp.TraceID == traceID {
			inTrace = append(inTrace, sp)
		}
	}
	want := []struct {
		what  string
		match func(otlptest.Span) bool
	}{
		{"the intake request (server span)", func(sp otlptest.Span) bool {
			return sp.Name == "POST /events/registration" && sp.Kind == tracepb.Span_SPAN_KIND_SERVER && sp.Attributes["http.response.status_code"] == "202"
		}},
		{"the submit job", func(sp otlptest.Span) bool {
			return sp.Name == "job submit" && sp.Attributes["transaction.id"] == tr.ID && sp.Attributes["job.outcome"] == "done"
		}},
		{"createPacket at MOSIP (client span)", func(sp otlptest.Span) bool {
			return sp.Attributes["endpoint"] == "mosip createPacket" && sp.Kind == tracepb.Span_SPAN_KIND_CLIENT
		}},
		{"the workflow at MOSIP", func(sp otlptest.Span) bool { return sp.Attributes["endpoint"] == "mosip workflow" }},
		{"MOSIP's credential", func(sp otlptest.Span) bool {
			return sp.Name == "credential issued" && sp.Attributes["delivery.outcome"] == "applied" && len(sp.Links) == 1
		}},
		{"the confirm job", func(sp otlptest.Span) bool {
			return sp.Name == "job confirm" && sp.Attributes["transaction.id"] == tr.ID && sp.Attributes["job.outcome"] == "done"
		}},
		{"the confirmation at OpenCRVS (client span)", func(sp otlptest.Span) bool {
			return sp.Attributes["endpoint"] == "opencrvs graphql" && sp.Kind == tracepb.Span_SPAN_KIND_CLIENT && sp.Attributes["http.response.status_code"] == "200"
		}},
	}
	for _, w := range want {
		if findSpan(inTrace, w.match) == nil {
			t.Errorf("trace %s has no span for %s:\n%s", traceID, w.what, spanList(inTrace))
		}
	}
	t.Logf("trace %s:\n%s", traceID, spanList(inTrace))
	// Jobs are children of the intake: the submit job's parent is the
	// accept span.
	if job := findSpan(inTrace, func(sp otlptest.Span) bool { return sp.Name == "job submit" }); job != nil && job.ParentSpanID != accept.SpanID {
		t.Errorf("submit job's parent %s, want the accept span %s", job.ParentSpanID, accept.SpanID)
	}

	// Nothing personal or secret, and no URL beyond its origin.
	forbidden := map[string]string{
		"national ID": *rec.NationalID, "packet secret": s.cfg.PacketSecret, "WebSub secret": s.cfg.WebSubSecret,
		"WebSub client secret": s.cfg.WebSubClientSecret, "P12 password": s.cfg.P12Password,
	}
	for _, sp := range spans {
		if sp.Service != "opencrvs-mosip" {
			t.Errorf("span %s has service.name %q", sp.Name, sp.Service)
		}
		for k, v := range sp.Attributes {
			for what, secret := range forbidden {
				if strings.Contains(v, secret) || strings.Contains(sp.Name, secret) {
					t.Errorf("span %s attribute %s holds the %s", sp.Name, k, what)
				}
			}
			if k == "url.full" && strings.Count(v, "/") > 2 {
				t.Errorf("span %s url.full = %q, want the origin only", sp.Name, v)
			}
		}
	}

	// The record's log line carries its trace.
	found := false
	for _, line := range logs.lines() {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["component"] != "mediator" {
			continue
		}
		if l["msg"] == "record accepted" && l["transaction_id"] == tr.ID {
			found = true
			if l["trace_id"] != traceID {
				t.Errorf("log line %s: trace_id %v, want %s", line, l["trace_id"], traceID)
			}
		}
	}
	if !found {
		t.Errorf("no 'record accepted' log line for %s", tr.ID)
	}
}

// Tracing unset: no exporter, nothing sent (even with the standard
// variable in the process environment, which only the configuration
// reads), no trace context kept, no trace ids in the log.
func TestTracingOff(t *testing.T) {
	col := otlptest.NewCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	logs := &lockedBuffer{}
	s := startSystem(t, systemOptions{logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if s.mediator.tracing != nil {
		t.Fatal("tracing is not configured but the mediator made an exporter")
	}
	rec := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"}).ID)
	if rec.Status != "registered" {
		t.Fatalf("record %+v, want registered", rec)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, rec.ID)
	if tp, err := s.mediator.Store().TraceParent(t.Context(), tr.ID); err != nil || tp != "" {
		t.Errorf("traceparent %q (%v), want none", tp, err)
	}
	s.stop()
	if n := col.Requests(); n != 0 {
		t.Errorf("the collector got %d exports, want none", n)
	}
	for _, line := range logs.lines() {
		if strings.Contains(line, `"trace_id"`) {
			t.Errorf("log line with a trace id while tracing is off: %s", line)
			break
		}
	}
}

func findSpan(spans []otlptest.Span, match func(otlptest.Span) bool) *otlptest.Span {
	for i := range spans {
		if match(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

func spanList(spans []otlptest.Span) string {
	var b strings.Builder
	for _, sp := range spans {
		b.WriteString("  " + sp.TraceID[:8] + " " + sp.Name + " " + sp.Attributes["endpoint"] + " " + sp.Attributes["transaction.id"] + "\n")
	}
	return b.String()
}
