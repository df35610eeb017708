package store

import (
	"context"
	"time"
)

// PruneDeliveries forgets at most limit WebSub deliveries received before
// cutoff, oldest first, and at most limit envelope keys that expired
// (RememberEnvelope), and says how many it forgot of both. Deliveries are
// kept to recognise a redelivery; past the deduplication window a
// redelivered event finds its transaction long finished, and the state
// machine ignores it. An envelope key is kept until its envelope expires:
// a replay after that is refused for its age.
func (s *Store) PruneDeliveries(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM websub_deliveries WHERE event_id IN (
			SELECT event_id FROM websub_deliveries WHERE received_at < $1 ORDER BY received_at LIMIT $2)`,
			cutoff.UnixMilli(), limit)
		if err != nil {
			return unavailable("prune deliveries", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		envelopes, err := tx.pruneEnvelopes(ctx, limit)
		n += envelopes
		return err
	})
	return int(n), err
}
