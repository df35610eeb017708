package pipeline

import (
	"context"
	"errors"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

// Delivery outcomes beyond the store's.
const (
	// OutcomeDuplicate: the delivery was seen before; nothing changed.
	OutcomeDuplicate = "duplicate"
	// OutcomeNoNationalID: a birth credential without a UIN or VID.
	OutcomeNoNationalID = "no_national_id"
)

// issuable are the states a credential moves on: before MOSIP's answer, or
// DEAD (MOSIP finished after all).
var issuable = []bridge.State{bridge.StateQueued, bridge.StateSubmitted, bridge.StateDead}

// ApplyCredential records that MOSIP issued cred and, when it moves its
// transaction on, stores the UIN/VID and schedules the confirmation to
// OpenCRVS — all in one database transaction. The transaction is found by
// the AID inside the credential, never by anything the caller says. A
// delivery whose event id was seen before changes nothing.
func (s *Service) ApplyCredential(ctx context.Context, eventID string, cred *mosip.Credential) (string, error) {
	var outcome string
	// Durable: MOSIP is told "received" once this returns.
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		d := store.Delivery{EventID: eventID, TransactionID: cred.RegistrationID}
		tr, err := tx.Transaction(ctx, cred.RegistrationID)
		switch {
		case bridge.ErrorCodeOf(err) == bridge.ENotFound:
			d.Outcome, d.TransactionID = store.DeliveryUnknownAID, ""
			d.Detail = "no transaction has the credential's registration id"
		case err != nil:
			return err
		case tr.Kind == bridge.EventBirth && cred.UIN == "" && cred.VID == "":
			d.Outcome, d.Detail = OutcomeNoNationalID, "a birth credential without UIN or VID"
		default:
			uin, vid := cred.UIN, cred.VID
			ok, err := tx.Transition(ctx, tr.ID, store.Change{
				From: issuable, To: bridge.StateIssued, UIN: &uin, VID: &vid,
				Reason: "MOSIP issued the credential",
			})
			if err != nil {
				return err
			}
			if !ok {
				d.Outcome, d.Detail = store.DeliveryIgnored, "the transaction was already "+string(tr.State)
				break
			}
			if err := s.Jobs.EnqueueConfirm(ctx, tx, tr.ID); err != nil {
				return err
			}
			d.Outcome = store.DeliveryApplied
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
	if err != nil {
		return "", err
	}
	s.log().Info("credential delivery", "event_id", eventID, "transaction_id", cred.RegistrationID, "outcome", outcome)
	return outcome, nil
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
