package pipeline

import (
	"context"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// Retry revives a DEAD transaction for an operator: it goes back to the
// state it died in, and the job of that state is scheduled again with a
// fresh set of attempts, in one database transaction. who names the
// operator's tool for the event log ("tx retry", "admin API").
func (s *Service) Retry(ctx context.Context, id, who string) (*bridge.Transaction, error) {
	var out *bridge.Transaction
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		tr, err := tx.Transaction(ctx, id)
		if err != nil {
			return err
		}
		if tr.State != bridge.StateDead {
			return bridge.Errorf(bridge.EConflict, "transaction %s is %s: only a DEAD transaction can be retried", id, tr.State)
		}
		from, err := tx.DiedIn(ctx, tr)
		if err != nil {
			return err
		}
		change := store.Change{From: []bridge.State{bridge.StateDead}, To: from, Reason: "retried by an operator (" + who + ")"}
		var enqueue func(context.Context, *store.Tx, string) error
		switch from {
		case bridge.StateQueued:
			enqueue = s.Jobs.EnqueueSubmit
		case bridge.StateSubmitted:
			now := s.now()
			change.CheckAt = &now // reconciliation asks MOSIP at its next run
		case bridge.StateIssued, bridge.StateSkipped:
			enqueue = s.Jobs.EnqueueConfirm
		case bridge.StateRejectedByMOSIP:
			enqueue = s.Jobs.EnqueueReject
		default:
			return bridge.Errorf(bridge.EConflict, "transaction %s died in state %q, which a retry cannot resume", id, from)
		}
		ok, err := tx.Transition(ctx, id, change)
		if err != nil {
			return err
		}
		if !ok {
			return bridge.Errorf(bridge.EConflict, "transaction %s changed while it was being retried; look again", id)
		}
		if enqueue != nil {
			if err := enqueue(ctx, tx, id); err != nil {
				return err
			}
		}
		out, err = tx.Transaction(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log().Info("transaction retried by an operator", "transaction_id", id, "state", out.State, "by", who)
	return out, nil
}
