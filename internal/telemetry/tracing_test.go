package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/telemetry/otlptest"
)

func TestTracingOffByDefault(t *testing.T) {
	tr, err := telemetry.NewTracing(t.Context(), telemetry.TracingConfig{ServiceName: "x"})
	if err != nil || tr != nil {
		t.Fatalf("NewTracing without an endpoint = %v, %v; want nil, nil (no exporter)", tr, err)
	}
	base := http.DefaultTransport
	if got := tr.Transport(base, nil); got != base {
		t.Errorf("Transport with tracing off wraps the base transport")
	}
	ctx, span := tr.Tracer().Start(t.Context(), "x")
	span.End()
	if span.SpanContext().IsValid() || telemetry.TraceParent(ctx) != "" {
		t.Errorf("tracing off made a span %v", span.SpanContext())
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown of nil tracing: %v", err)
	}
}

func TestTracingBadEndpoint(t *testing.T) {
	if _, err := telemetry.NewTracing(t.Context(), telemetry.TracingConfig{Endpoint: "collector:4318"}); err == nil {
		t.Error("an endpoint without a scheme was accepted")
	}
}

// A call through the traced transport is a client span, child of the
// caller's span, named by its endpoint; the callee gets the traceparent;
// neither the path (a UIN, a partner key) nor the query leaves the process.
func TestTracingClientSpans(t *testing.T) {
	col := otlptest.NewCollector(t)
	tr, err := telemetry.NewTracing(t.Context(), telemetry.TracingConfig{Endpoint: col.URL + "/", ServiceName: "svc-test"})
	if err != nil {
		t.Fatal(err)
	}
	var gotTraceparent string
	callee := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent = r.Header.Get("traceparent")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer callee.Close()
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport, func(*http.Request) string { return "mosip vid" })}

	ctx, parent := tr.Tracer().Start(t.Context(), "job test")
	req, _ := http.NewRequestWithContext(ctx, "GET", callee.URL+"/idrepository/v1/vid/uin/7362519480?apikey=SECRETKEY", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	if err := tr.Shutdown(t.Context()); err != nil { // flushes
		t.Fatal(err)
	}

	spans := col.Spans()
	if len(spans) != 2 {
		t.Fatalf("collector got %d spans, want 2: %+v", len(spans), spans)
	}
	client0, job := spans[0], spans[1]
	if client0.Name != "GET mosip vid" || client0.Attributes["endpoint"] != "mosip vid" || client0.ParentSpanID != job.SpanID || client0.TraceID != job.TraceID {
		t.Errorf("client span %+v, want GET mosip vid, child of %s", client0, job.SpanID)
	}
	if client0.Service != "svc-test" {
		t.Errorf("service.name %q", client0.Service)
	}
	if want := "00-" + job.TraceID + "-" + client0.SpanID + "-01"; gotTraceparent != want {
		t.Errorf("callee got traceparent %q, want %q", gotTraceparent, want)
	}
	if got := client0.Attributes["url.full"]; got != callee.URL {
		t.Errorf("url.full = %q, want only the origin %s", got, callee.URL)
	}
	if client0.Attributes["http.response.status_code"] != "418" {
		t.Errorf("status attribute: %v", client0.Attributes)
	}
	for _, s := range spans {
		for k, v := range s.Attributes {
			if strings.Contains(v, "7362519480") || strings.Contains(v, "SECRETKEY") {
				t.Errorf("span %s attribute %s = %q leaks the path or query", s.Name, k, v)
			}
		}
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := telemetry.ContextWithTraceParent(context.Background(), tp)
	if got := telemetry.TraceParent(ctx); got != tp {
		t.Errorf("TraceParent(ContextWithTraceParent(%q)) = %q", tp, got)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if got := telemetry.TraceParent(telemetry.ContextWithTraceParent(context.Background(), bad)); got != "" {
			t.Errorf("traceparent %q gave a context with %q", bad, got)
		}
	}
	h := http.Header{"Traceparent": {tp}}
	if got := telemetry.TraceParent(telemetry.ExtractHTTP(context.Background(), h)); got != tp {
		t.Errorf("ExtractHTTP: %q", got)
	}
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := telemetry.ContextWithTraceParent(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	log.InfoContext(ctx, "with span", "transaction_id", "A1")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log: %q", buf.String())
	}
	var with, without map[string]any
	json.Unmarshal([]byte(lines[0]), &with)
	json.Unmarshal([]byte(lines[1]), &without)
	if with["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || with["span_id"] != "00f067aa0ba902b7" || with["component"] != "test" {
		t.Errorf("line with a span: %v", with)
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("line without a span has a trace id: %v", without)
	}
	if !trace.SpanContextFromContext(ctx).IsRemote() {
		t.Error("the kept traceparent should be a remote parent")
	}
}

// A collector that refuses the spans costs the spans, logged in the
// mediator's log (not OpenTelemetry's global error handler), and nothing
// else: Shutdown still succeeds.
func TestTracingCollectorRefuses(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer refusing.Close()
	var buf lockedWriter
	tr, err := telemetry.NewTracing(t.Context(), telemetry.TracingConfig{
		TracesEndpoint: refusing.URL + "/v1/traces", Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer().Start(t.Context(), "lost")
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if out := buf.String(); !strings.Contains(out, "traces could not be sent") || !strings.Contains(out, `"spans":1`) {
		t.Errorf("log: %q, want the failed export", out)
	}
}

type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// A call outside any span (a readiness probe's) makes no span.
func TestTracingNoRootClientSpans(t *testing.T) {
	col := otlptest.NewCollector(t)
	tr, err := telemetry.NewTracing(t.Context(), telemetry.TracingConfig{Endpoint: col.URL})
	if err != nil {
		t.Fatal(err)
	}
	callee := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			t.Errorf("untraced call sent traceparent %q", r.Header.Get("traceparent"))
		}
	}))
	defer callee.Close()
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport, nil)}
	resp, err := client.Get(callee.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(col.Spans()); n != 0 {
		t.Errorf("%d spans for a call outside any span, want none", n)
	}
}
