package httpapi

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/telemetry"
)

// traced makes each request a server span, child of the caller's
// traceparent if it sent one (nil tracer: no spans). observe, inside it,
// names the span after the route once the mux has matched it (spanRoute).
// Only the method, route and status are recorded: never the path's values,
// the query, headers or bodies. Probes (/healthz, /readyz, /metrics) are
// not traced: every few seconds, they would bury the records' traces.
func traced(tracer trace.Tracer, next http.Handler) http.Handler {
	if tracer == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		ctx := telemetry.ExtractHTTP(r.Context(), r.Header)
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// spanRoute names the request's server span "<method> <route>" and records
// the answer's status.
func spanRoute(r *http.Request, status int) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	route := r.Pattern
	if route == "" || route == "/" {
		route = r.Method + " (no route)"
	}
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}
