// Package pipeline is the mediator's core: it accepts OpenCRVS records
// (deciding and mapping them with the country configuration) and applies
// MOSIP's answers, each time changing the store and scheduling the next job
// in one database transaction.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/country"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// Service accepts records and applies credentials.
type Service struct {
	Store   *store.Store
	Jobs    *jobs.Runner
	Country *country.Config
	AID     store.AIDFormat
	// Identities verifies death reversals against MOSIP (nil: reversals
	// are refused as unavailable).
	Identities IdentityReader
	Reversal   ReversalConfig
	Now        func() time.Time
	Logger     *slog.Logger
	// Metrics counts the records received and skipped (nil: not counted).
	Metrics *telemetry.Metrics
	// Tracer makes the span of each intake, whose trace the transactions
	// keep (nil: no spans).
	Tracer trace.Tracer
	// Backfill configures the intake of historic records (backfill.go).
	Backfill BackfillConfig
	// Split configures the MOSIP side's intake (split.go).
	Split SplitConfig
}

// Accepted is one transaction an intake created or found.
type Accepted struct {
	ID                 string           `json:"id"`
	Event              bridge.EventKind `json:"event"`
	State              bridge.State     `json:"state"`
	TrackingID         string           `json:"trackingId"`
	RegistrationNumber string           `json:"registrationNumber"`
	// Corrects is, for a correction, the transaction of the registration
	// it corrects.
	Corrects string `json:"corrects,omitempty"`
	// Duplicate is true when the record was already being processed: the
	// existing transaction is returned and nothing new was started.
	Duplicate bool `json:"duplicate"`
	// Reason says why the record was or was not forwarded to MOSIP.
	Reason string `json:"reason,omitempty"`
}

// intakeItem is one transaction to create.
type intakeItem struct {
	tr      *bridge.Transaction
	forward bool
	reason  string
	// key is the dedupe key: one live transaction per key ("" for
	// <event>:<tracking id>).
	key string
	// handoff: a forwarded record is queued by SplitConfig.Handoff after
	// the commit, not by a job inserted here.
	handoff bool
}

// accept stores the items and their first jobs in one database transaction:
// all are accepted, or none.
func (s *Service) accept(ctx context.Context, requestRecordID string, items []intakeItem) (_ []Accepted, err error) {
	// The span every transaction created here keeps (insertItem): the
	// record's trace, which its jobs join.
	ctx, span := s.tracer().Start(ctx, "intake accept")
	defer func() { endSpan(span, err) }()
	out := make([]Accepted, 0, len(items))
	// Durable: the caller is told "accepted" once this returns.
	err = s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, it := range items {
			a, err := s.insertItem(ctx, tx, requestRecordID, it)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logAccepted(ctx, out)
	spanAccepted(span, out)
	return out, nil
}

// insertItem stores one item and its first job, or returns the live
// transaction of its key (a resend).
func (s *Service) insertItem(ctx context.Context, tx *store.Tx, requestRecordID string, it intakeItem) (Accepted, error) {
	tr := it.tr
	key := it.key
	if key == "" {
		key = string(tr.Kind) + ":" + tr.TrackingID
	}
	live, err := tx.LiveByDedupeKey(ctx, key)
	if err != nil {
		return Accepted{}, err
	}
	if it.key == "" {
		if err := trackingIDTaken(live, requestRecordID); err != nil {
			return Accepted{}, err
		}
	}
	if live != nil {
		// A resend: keep the transaction, take the fresher token when it is
		// for the same record. (A DEAD one too: its token may be why it
		// died, and an operator's retry then uses the fresh one.)
		finished := live.State == bridge.StateConfirmed || live.State == bridge.StateReported
		if !finished && live.RecordID == requestRecordID && tr.Token != "" {
			if err := tx.SetToken(ctx, live.ID, tr.Token); err != nil {
				return Accepted{}, err
			}
			// A 1.9 token is for one action: keep the pair together.
			if tr.ActionID != "" && tr.ActionID != live.ActionID {
				if err := tx.SetActionID(ctx, live.ID, tr.ActionID); err != nil {
					return Accepted{}, err
				}
			}
		}
		return Accepted{ID: live.ID, Event: live.Kind, State: live.State, TrackingID: live.TrackingID,
			RegistrationNumber: live.RegistrationNumber, Corrects: live.Corrects, Duplicate: true}, nil
	}
	id := tr.ID // the MOSIP side's record may bring its AID
	if id == "" {
		if id, err = tx.NextAID(ctx, s.AID); err != nil {
			return Accepted{}, err
		}
		tr.ID = id
	}
	tr.TraceParent = telemetry.TraceParent(ctx)
	if it.forward {
		tr.State = bridge.StateQueued
		err = tx.Insert(ctx, tr, key, "accepted: "+it.reason)
		if err == nil && !it.handoff {
			err = s.Jobs.EnqueueSubmit(ctx, tx, id)
		}
	} else {
		tr.State = bridge.StateSkipped
		tr.SkipReason = it.reason
		tr.Packet = bridge.Packet{}
		err = tx.Insert(ctx, tr, key, "not forwarded to MOSIP: "+it.reason)
		if err == nil {
			err = s.Jobs.EnqueueConfirm(ctx, tx, id)
		}
	}
	if err == nil && tr.Intake == bridge.IntakePeer {
		err = tx.SetStage(ctx, tr.Kind, peerStage(tr, it.reason))
	}
	if err != nil {
		return Accepted{}, err
	}
	tx.AfterCommit(func() {
		s.Metrics.RecordReceived(tr)
		if tr.State == bridge.StateSkipped {
			s.Metrics.RecordSkipped(tr)
		}
	})
	return Accepted{ID: id, Event: tr.Kind, State: tr.State, TrackingID: tr.TrackingID,
		RegistrationNumber: tr.RegistrationNumber, Corrects: tr.Corrects, Reason: it.reason}, nil
}

func (s *Service) logAccepted(ctx context.Context, out []Accepted) {
	for _, a := range out {
		if !a.Duplicate {
			s.log().InfoContext(ctx, "record accepted", "transaction_id", a.ID, "event", a.Event, "state", a.State, "corrects", a.Corrects)
		}
	}
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// errDuplicateDelivery rolls back a delivery seen before.
var errDuplicateDelivery = errors.New("pipeline: delivery seen before")

func (s *Service) tracer() trace.Tracer {
	if s.Tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return s.Tracer
}

// spanAccepted names on the intake span the transactions it accepted (AIDs,
// event kinds and states: never the record's contents).
func spanAccepted(span trace.Span, out []Accepted) {
	ids := make([]string, len(out))
	kinds := make([]string, len(out))
	states := make([]string, len(out))
	for i, a := range out {
		ids[i], kinds[i], states[i] = a.ID, string(a.Event), string(a.State)
	}
	span.SetAttributes(attribute.StringSlice("transaction.ids", ids), attribute.StringSlice("event.kinds", kinds),
		attribute.StringSlice("transaction.states", states))
	if len(out) == 1 {
		span.SetAttributes(telemetry.AttrTransactionID.String(out[0].ID), attribute.Bool("duplicate", out[0].Duplicate))
	}
}

// endSpan ends a pipeline span, marking a failure by its error code
// (the message may quote the record).
func endSpan(span trace.Span, err error) {
	if err != nil {
		code := bridge.ErrorCodeOf(err)
		span.SetAttributes(attribute.String("error.type", string(code)))
		span.SetStatus(codes.Error, string(code))
	}
	span.End()
}

// trackingIDTaken refuses a record whose tracking ID belongs to the live
// transaction of another record: taking it for a resend would leave it
// unregistered in OpenCRVS for good. nil when live is nil or is this
// record's.
func trackingIDTaken(live *bridge.Transaction, recordID string) error {
	if live == nil || recordID == "" || live.RecordID == "" || live.RecordID == recordID {
		return nil
	}
	return &bridge.Error{Code: bridge.EConflict, Field: "trackingId", Message: fmt.Sprintf(
		"tracking ID %s already belongs to another record (transaction %s, %s); each record needs its own tracking ID: check that only one OpenCRVS sends to this mediator",
		live.TrackingID, live.ID, live.State)}
}
