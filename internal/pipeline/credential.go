package pipeline

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// Delivery outcomes beyond the store's.
const (
	// OutcomeDuplicate: the delivery was seen before; nothing changed.
	OutcomeDuplicate = "duplicate"
	// OutcomeNoNationalID: a birth credential without a UIN or VID.
	OutcomeNoNationalID = "no_national_id"
	// OutcomeUnverified: the credential's proof did not verify
	// (MOSIP_VC_VERIFY=enforce); nothing changed.
	OutcomeUnverified = "unverified"
)

// issuable are the states a credential moves on: before MOSIP's answer, or
// DEAD while waiting for it (MOSIP finished after all).
var issuable = []bridge.State{bridge.StateQueued, bridge.StateSubmitted, bridge.StateDead}

// issuableDead says whether a DEAD transaction died waiting for MOSIP.
func issuableDead(tr *bridge.Transaction) bool {
	return tr.DeadFrom == bridge.StateQueued || tr.DeadFrom == bridge.StateSubmitted
}

// ApplyCredential records that MOSIP issued cred and, when it moves its
// transaction on, stores the UIN/VID and schedules the confirmation to
// OpenCRVS — all in one database transaction. The transaction is found by
// the AID inside the credential, never by anything the caller says. A
// delivery whose event id was seen before changes nothing.
func (s *Service) ApplyCredential(ctx context.Context, eventID string, cred *mosip.Credential) (_ string, err error) {
	// A credential of MOSIP's OpenCRVS stage (split design) is issued for
	// a VID: its "registration id" is personal data, never a transaction
	// id to log or trace; the record is found by its registration number.
	named := cred.RegistrationID
	if cred.BRN != "" {
		named = ""
	}
	ctx, span := s.recordSpan(ctx, "credential issued", named)
	defer func() { endSpan(span, err) }()
	var found string // the transaction the credential is for, once known
	outcome, err := s.applyDelivery(ctx, func(tx *store.Tx) (store.Delivery, error) {
		d := store.Delivery{EventID: eventID, TransactionID: named}
		tr, err := tx.Transaction(ctx, cred.RegistrationID)
		if cred.BRN != "" && bridge.ErrorCodeOf(err) == bridge.ENotFound {
			// MOSIP's OpenCRVS stage issues the credential of a VID and
			// names the record by its registration number (split design).
			tr, err = tx.PeerBirthByRegistrationNumber(ctx, cred.BRN)
			if err == nil {
				d.TransactionID = tr.ID
			}
		}
		switch {
		case bridge.ErrorCodeOf(err) == bridge.ENotFound:
			d.Outcome, d.TransactionID = store.DeliveryUnknownAID, ""
			d.Detail = "no transaction has the credential's registration id"
		case err != nil:
			return d, err
		default:
			found = tr.ID
		}
		switch {
		case tr == nil:
		case tr.IssuesNationalID() && cred.UIN == "" && cred.VID == "":
			d.Outcome, d.Detail = OutcomeNoNationalID, "a birth credential without UIN or VID"
		case tr.State == bridge.StateDead && !issuableDead(tr):
			d.Outcome, d.Detail = store.DeliveryIgnored, "the transaction died after MOSIP's answer (in "+string(tr.DeadFrom)+")"
		default:
			change := store.Change{From: issuable, To: bridge.StateIssued, Reason: "MOSIP issued the credential"}
			if tr.IssuesNationalID() {
				uin, vid := cred.UIN, cred.VID
				change.UIN, change.VID = &uin, &vid
			}
			ok, err := tx.Transition(ctx, tr.ID, change)
			if err != nil {
				return d, err
			}
			if !ok {
				d.Outcome, d.Detail = store.DeliveryIgnored, "the transaction was already "+string(tr.State)
				break
			}
			if err := s.Jobs.EnqueueConfirmOfCredential(ctx, tx, tr, cred.RequestID); err != nil {
				return d, err
			}
			if tr.Intake == bridge.IntakePeer {
				if err := tx.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageCredentialIssued}); err != nil {
					return d, err
				}
			}
			d.Outcome = store.DeliveryApplied
		}
		return d, nil
	})
	span.SetAttributes(attribute.String("delivery.outcome", outcome))
	if err != nil || outcome == OutcomeDuplicate {
		return outcome, err
	}
	s.log().InfoContext(ctx, "credential delivery", "event_id", eventID, "transaction_id", found, "outcome", outcome)
	return outcome, nil
}

// recordSpan starts a span in the trace of transaction id, the record's
// (linked to the span in ctx: the delivery that brought MOSIP's answer), or
// in ctx's trace when the transaction keeps none.
func (s *Service) recordSpan(ctx context.Context, name, id string) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithAttributes(telemetry.AttrTransactionID.String(id))}
	if s.Tracer != nil {
		if tp, err := s.Store.TraceParent(ctx, id); err == nil && tp != "" {
			opts = append(opts, trace.WithLinks(trace.LinkFromContext(ctx)))
			ctx = telemetry.ContextWithTraceParent(ctx, tp)
		}
	}
	return s.tracer().Start(ctx, name, opts...)
}

// applyDelivery runs apply and records the delivery it describes in one
// durable database transaction (MOSIP is told "received" once it returns),
// and returns the delivery's outcome. A delivery whose event id was
// recorded before changes nothing: OutcomeDuplicate.
func (s *Service) applyDelivery(ctx context.Context, apply func(*store.Tx) (store.Delivery, error)) (string, error) {
	var outcome string
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		d, err := apply(tx)
		if err != nil {
			return err
		}
		isNew, err := tx.RecordDelivery(ctx, d)
		if err != nil {
			return err
		}
		if !isNew {
			return errDuplicateDelivery
		}
		outcome = d.Outcome
		return nil
	})
	if errors.Is(err, errDuplicateDelivery) {
		return OutcomeDuplicate, nil
	}
	return outcome, err
}

// RecordUndeliverable keeps a delivery that can never be applied (it does
// not decrypt, is not for our topic, ...) so operators can see it, and
// reports whether it was new.
func (s *Service) RecordUndeliverable(ctx context.Context, eventID, outcome, detail string) (bool, error) {
	isNew, err := s.Store.RecordDelivery(ctx, store.Delivery{EventID: eventID, Outcome: outcome, Detail: detail})
	if err == nil && isNew {
		s.log().Warn("credential delivery not applied", "event_id", eventID, "outcome", outcome, "detail", detail)
	}
	return isNew, err
}
