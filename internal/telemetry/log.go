// Package telemetry sets up what operators observe: structured logs,
// Prometheus metrics (metrics.go, outbound.go) and OpenTelemetry traces
// (tracing.go).
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a slog logger writing format ("json" or "text") at level
// ("debug", "info", "warn", "error") to w.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("telemetry: log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("telemetry: log format %q: want json or text", format)
}
