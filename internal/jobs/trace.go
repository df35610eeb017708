package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/telemetry"
)

// tracing makes a span of every job run. A job for a transaction (its args
// name a transaction_id) is a child of the span that accepted the record,
// whose traceparent the transaction keeps: one trace per record, from
// intake through every job, whichever process runs them. Other jobs
// (reconciliation, the WebSub subscription) start a trace of their own.
type tracing struct {
	river.MiddlewareDefaults
	r      *Runner
	tracer trace.Tracer
}

func (m *tracing) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	attrs := []attribute.KeyValue{
		attribute.String("job.kind", job.Kind), attribute.String("job.queue", job.Queue),
		attribute.Int64("job.id", job.ID), attribute.Int("job.attempt", job.Attempt),
	}
	var args struct {
		TransactionID string `json:"transaction_id"`
	}
	if json.Unmarshal(job.EncodedArgs, &args) == nil && args.TransactionID != "" {
		attrs = append(attrs, telemetry.AttrTransactionID.String(args.TransactionID))
		tp, err := m.r.cfg.Store.TraceParent(ctx, args.TransactionID)
		if err == nil {
			ctx = telemetry.ContextWithTraceParent(ctx, tp)
		}
	}
	ctx, span := m.tracer.Start(ctx, "job "+job.Kind, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	defer span.End()
	err := doInner(ctx)
	outcome := "done"
	var cancel *river.JobCancelError
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
	case errors.As(err, &snooze):
		outcome = "snoozed" // waits without spending an attempt: not a failure
	case errors.As(err, &cancel):
		outcome = "cancelled"
	default:
		outcome = "retry"
	}
	span.SetAttributes(attribute.String("job.outcome", outcome))
	if outcome == "cancelled" || outcome == "retry" {
		// The error's code, not its text: MOSIP's messages may quote the
		// record.
		span.SetAttributes(attribute.String("error.type", string(bridge.ErrorCodeOf(err))))
		span.SetStatus(codes.Error, "job "+outcome+" after attempt "+strconv.Itoa(job.Attempt))
	}
	return err
}
