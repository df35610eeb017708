package store

import (
	"context"
	"errors"

	"opencrvs-mosip/internal/bridge"
)

// ImportItem is a transaction brought from another system (the Node
// mosip-api) into the store as it stands there.
type ImportItem struct {
	// Transaction is stored with its ID, Kind, Version, Intake, RecordID,
	// ActionID, TrackingID, RegistrationNumber, State, Token and CreatedAt
	// (zero: now); the rest starts at its defaults (no packet, no UIN).
	Transaction *bridge.Transaction
	// DedupeKey is the key a resend of the same record from OpenCRVS
	// computes, so that the resend finds this transaction.
	DedupeKey string
	// Reason is the first entry of the transaction's event log.
	Reason string
}

// ImportOutcome says what Import did with one item.
type ImportOutcome string

const (
	// ImportInserted: the transaction is stored.
	ImportInserted ImportOutcome = "imported"
	// ImportPresent: a transaction with the same id is stored already (an
	// earlier import); it is left as it is.
	ImportPresent ImportOutcome = "already-present"
	// ImportConflict: another live transaction holds the item's dedupe key
	// (OpenCRVS sent the record to this mediator already); the item is not
	// stored.
	ImportConflict ImportOutcome = "conflict"
)

// importBatch is how many items one database transaction imports.
const importBatch = 500

// Import stores the items that are not stored yet and reports, per item,
// what it did. Running it again with the same items stores nothing twice.
// The tokens are sealed like every stored token: Import refuses to run on a
// store without STORE_ENCRYPTION_KEY rather than keep them in plaintext.
// Each batch is one durable database transaction, so an interrupted
// import can simply be run again.
func (s *Store) Import(ctx context.Context, items []ImportItem) ([]ImportOutcome, error) {
	if s.sealer == nil {
		return nil, errors.New("store: import needs STORE_ENCRYPTION_KEY: the imported OpenCRVS tokens are kept encrypted")
	}
	out := make([]ImportOutcome, 0, len(items))
	for start := 0; start < len(items); start += importBatch {
		batch := items[start:min(start+importBatch, len(items))]
		var outcomes []ImportOutcome
		err := s.InDurableTx(ctx, func(tx *Tx) error {
			outcomes = outcomes[:0]
			for _, it := range batch {
				o, err := tx.importOne(ctx, it)
				if err != nil {
					return err
				}
				outcomes = append(outcomes, o)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out = append(out, outcomes...)
	}
	return out, nil
}

func (t *Tx) importOne(ctx context.Context, it ImportItem) (ImportOutcome, error) {
	tr := it.Transaction
	if tr == nil || tr.ID == "" || it.DedupeKey == "" || !tr.State.Valid() {
		return "", errors.New("store: import: an item without id, dedupe key or valid state")
	}
	err := t.exists(ctx, tr.ID)
	switch {
	case err == nil:
		return ImportPresent, nil
	case bridge.ErrorCodeOf(err) != bridge.ENotFound:
		return "", err
	}
	live, err := t.LiveByDedupeKey(ctx, it.DedupeKey)
	if err != nil {
		return "", err
	}
	if live != nil {
		return ImportConflict, nil
	}
	now := t.s.now().UTC()
	created := tr.CreatedAt
	if created.IsZero() {
		created = now
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO transactions (id, dedupe_key, event_kind, opencrvs_version, intake,
			record_id, action_id, tracking_id, registration_number, state, token, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		tr.ID, it.DedupeKey, tr.Kind, tr.Version, tr.Intake, tr.RecordID, tr.ActionID, tr.TrackingID,
		tr.RegistrationNumber, tr.State, nullable(t.s.seal(tr.ID, tr.Token)), created.UnixMilli(), now.UnixMilli())
	if err != nil {
		return "", unavailable("import transaction", err)
	}
	return ImportInserted, t.logEvent(ctx, bridge.Event{TransactionID: tr.ID, At: now, To: tr.State, Reason: it.Reason})
}
