package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of the mediator's spans.
const DefaultServiceName = "opencrvs-mosip"

// Span attribute keys of the mediator's own spans. Values are identifiers
// (the AID, a job kind, a state), never personal data or tokens.
const (
	AttrTransactionID = attribute.Key("transaction.id")
	AttrEndpoint      = attribute.Key("endpoint")
)

// TracingConfig says where traces go: OTLP over HTTP (protobuf). With
// neither endpoint set, tracing is off.
type TracingConfig struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL:
	// traces go to its /v1/traces.
	Endpoint string
	// TracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the full URL
	// traces are posted to; it wins over Endpoint.
	TracesEndpoint string
	// ServiceName is OTEL_SERVICE_NAME (default DefaultServiceName).
	ServiceName string
	// Logger receives export failures (nil: discard).
	Logger *slog.Logger
}

// Enabled reports whether the configuration turns tracing on.
func (c TracingConfig) Enabled() bool { return c.Endpoint != "" || c.TracesEndpoint != "" }

// tracesURL is where spans are posted.
func (c TracingConfig) tracesURL() string {
	if c.TracesEndpoint != "" {
		return c.TracesEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/") + "/v1/traces"
}

// Tracing owns the mediator's tracer provider: nothing is installed in
// OpenTelemetry's global state; the tracer is handed to whatever makes
// spans. A nil *Tracing is tracing off: its tracer makes no spans and its
// transport is the base transport.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// NewTracing starts the span exporter and the tracer provider, or returns
// nil when cfg does not enable tracing (no exporter is created). Spans are
// batched and posted in the background; Shutdown flushes them.
//
// The OTLP exporter also reads the other standard OTEL_EXPORTER_OTLP_*
// variables (headers, timeout, compression, certificates) from the
// process environment itself; the endpoint given here wins over theirs.
func NewTracing(ctx context.Context, cfg TracingConfig) (*Tracing, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	target := cfg.tracesURL()
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telemetry: OTLP traces endpoint %q is not an http(s) URL", target)
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(target))
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(&safeExporter{next: exp, log: log}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
		// A record's trace is sampled or not as a whole: jobs follow the
		// decision stored with the transaction.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Tracing{provider: provider, tracer: provider.Tracer("opencrvs-mosip")}, nil
}

// Tracer makes the mediator's spans (a no-op tracer when t is nil).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return t.tracer
}

// Shutdown flushes the spans not yet sent and stops the exporter. It is
// nil-safe and idempotent.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: flush traces: %w", err)
	}
	return nil
}

// Transport makes every call through base that is part of a traced
// operation (a span in the request's context: a request, a job) a client
// span, its child, and sends the W3C traceparent header; calls outside
// any (readiness probes) are not traced. endpoint
// names what is called (e.g. "mosip createPacket"): the span is named
// "<method> <endpoint>" and carries it as an attribute. URLs are not kept
// whole (paths may hold a UIN, a partner key): see safeExporter. A nil t
// returns base.
func (t *Tracing) Transport(base http.RoundTripper, endpoint func(*http.Request) string) http.RoundTripper {
	if t == nil {
		return base
	}
	if endpoint == nil {
		endpoint = func(r *http.Request) string { return r.URL.Host }
	}
	return otelhttp.NewTransport(endpointTagger{next: base, endpoint: endpoint},
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		// Metrics are Prometheus's (elsewhere); never the global provider.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + endpoint(r) }),
		otelhttp.WithFilter(func(r *http.Request) bool { return trace.SpanContextFromContext(r.Context()).IsValid() }),
	)
}

// endpointTagger runs inside the client span and names the endpoint on it.
type endpointTagger struct {
	next     http.RoundTripper
	endpoint func(*http.Request) string
}

func (e endpointTagger) RoundTrip(r *http.Request) (*http.Response, error) {
	trace.SpanFromContext(r.Context()).SetAttributes(AttrEndpoint.String(e.endpoint(r)))
	return e.next.RoundTrip(r)
}

// Trace context crosses process boundaries and the database as W3C Trace
// Context only (no baggage, which could carry anything).

// TraceParent is the W3C traceparent of the span in ctx, "" when there is
// none (tracing off). It is what a transaction keeps so that its jobs join
// the trace of its intake, even after a restart.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// ContextWithTraceParent returns ctx with the span context traceparent
// describes as its (remote) parent; ctx itself when traceparent is empty or
// malformed.
func ContextWithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// ExtractHTTP returns ctx with the trace context of an incoming request's
// traceparent header, if any.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(h))
}

// safeExporter keeps URLs out of what leaves the process and keeps export
// failures in the mediator's log rather than OpenTelemetry's global error
// handler.
type safeExporter struct {
	next sdktrace.SpanExporter
	log  *slog.Logger

	mu         sync.Mutex
	lastLogged time.Time
	dropped    int
}

// exportLogEvery bounds how often a failing collector is logged.
const exportLogEvery = time.Minute

func (e *safeExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redact(s)
	}
	err := e.next.ExportSpans(ctx, out)
	if err == nil {
		return nil
	}
	e.mu.Lock()
	e.dropped += len(spans)
	if now := time.Now(); now.Sub(e.lastLogged) >= exportLogEvery {
		e.log.Warn("traces could not be sent to the OTLP collector; they are dropped", "spans", e.dropped, "err", err)
		e.lastLogged, e.dropped = now, 0
	}
	e.mu.Unlock()
	return nil // logged: never reaches the global error handler
}

func (e *safeExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// urlAttributes are the attributes that may hold a full URL or a query.
var urlAttributes = map[attribute.Key]bool{"url.full": true, "http.url": true, "url.query": true, "url.original": true}

// redact keeps a URL attribute's scheme and host only: a path may hold a
// UIN (the ID repository's VID look-up) or a partner key (IDA), a query
// anything. The endpoint attribute says what was called.
func redact(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	attrs := s.Attributes()
	found := false
	for _, a := range attrs {
		if urlAttributes[a.Key] {
			found = true
			break
		}
	}
	if !found {
		return s
	}
	clean := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		switch {
		case a.Key == "url.query":
			continue
		case urlAttributes[a.Key]:
			a.Value = attribute.StringValue(origin(a.Value.AsString()))
		}
		clean = append(clean, a)
	}
	return redactedSpan{ReadOnlySpan: s, attrs: clean}
}

// origin is scheme://host of a URL ("" when it is not one).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// redactedSpan is a span with other attributes.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (s redactedSpan) Attributes() []attribute.KeyValue { return s.attrs }

// LogHandler adds the trace_id and span_id of the span in a record's
// context to every log line emitted with one (slog's ...Context methods),
// so that an operator goes from a log line to its trace.
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
