package pipeline

import (
	"context"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

// identityEventPrefix keeps identity update event ids apart from credential
// event ids in the deliveries table.
const identityEventPrefix = "identity:"

// ApplyIdentityUpdate records that MOSIP announced a change of an identity
// and, for each civil record the mediator registered that identity from,
// schedules sending the identity's data to OpenCRVS, in one durable
// database transaction (MOSIP is told "received" once it returns). An
// identity no such record has is recorded and counted, not guessed at; a
// delivery seen before changes nothing. It returns the outcome.
func (s *Service) ApplyIdentityUpdate(ctx context.Context, ev *mosip.IdentityEvent) (string, error) {
	outcome, err := s.applyDelivery(ctx, func(tx *store.Tx) (store.Delivery, error) {
		d := store.Delivery{EventID: identityEventPrefix + ev.Event.ID}
		if rid := ev.Event.Data.RegistrationID; rid != "" {
			// A change the mediator itself made (a death, a correction, a
			// reversal): it came from OpenCRVS, which need not hear it back.
			own, err := tx.Transaction(ctx, rid)
			if err == nil {
				d.Outcome, d.TransactionID = store.DeliveryOwnChange, own.ID
				d.Detail = "the change came from OpenCRVS through this mediator"
				return d, nil
			}
			if bridge.ErrorCodeOf(err) != bridge.ENotFound {
				return d, err
			}
		}
		regs, err := tx.RegistrationsOfIdentity(ctx, ev.Event.Data.UIN, ev.Event.Data.VID)
		if err != nil {
			return d, err
		}
		if len(regs) == 0 {
			d.Outcome, d.Detail = store.DeliveryUnknownIdentity, "no civil record registered through the mediator has this identity"
			return d, nil
		}
		d.Outcome, d.TransactionID = store.DeliveryApplied, regs[0].ID
		for _, tr := range regs {
			err := s.Jobs.EnqueueIdentityUpdate(ctx, tx, jobs.IdentityUpdateArgs{
				TransactionID: tr.ID, EventID: ev.Event.ID, Changed: ev.Event.Data.ChangedAttributes,
			})
			if err != nil {
				return d, err
			}
		}
		return d, nil
	})
	if err != nil || outcome == OutcomeDuplicate {
		return outcome, err
	}
	if outcome == store.DeliveryUnknownIdentity {
		s.log().Warn("identity update for an identity no civil record here has; not forwarded", "event_id", ev.Event.ID)
	} else {
		s.log().Info("identity update scheduled for OpenCRVS", "event_id", ev.Event.ID)
	}
	return outcome, nil
}
