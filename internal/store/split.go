package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"opencrvs-mosip/internal/bridge"
)

// The split design (migration 0009): a mediator beside OpenCRVS and one
// beside MOSIP, each with its own database, carry a record between them in
// signed envelopes. Each keeps the other's id of the record (peer_id),
// remembers the envelopes it accepted so that a replay is refused, and the
// MOSIP side keeps the birth_transactions and death_transactions tables
// MOSIP's operators know from the Java mediator.

// peerIndex is the unique index on transactions.peer_id.
const peerIndex = "transactions_peer"

// isPeerIDViolation reports whether err is a transaction's peer id taken
// by another transaction.
func isPeerIDViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" && pgErr.ConstraintName == peerIndex
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed: transactions.peer_id")
}

func peerIDTaken(peerID string, err error) error {
	return &bridge.Error{Code: bridge.EConflict,
		Message: fmt.Sprintf("peer id %s is already the peer id of another transaction", peerID), Err: err}
}

// SetPeerID records that transaction id is known to the other mediator as
// peerID, unless it already has a peer id, and returns the one it has now:
// the first recorded wins, so that a retry, or the other mediator's answer
// arriving twice, cannot change it (the caller compares). It returns
// ENotFound when there is no transaction id, EConflict when another
// transaction has peerID, EInvalid when peerID is "".
func (t *Tx) SetPeerID(ctx context.Context, id, peerID string) (string, error) {
	if peerID == "" {
		return "", bridge.Errorf(bridge.EInvalid, "no peer id for transaction %s", id)
	}
	// Not if another transaction has it: the unique index would refuse
	// the update, and PostgreSQL would then refuse the rest of the
	// caller's transaction too. (Two setting it at once: the index
	// refuses the second.)
	_, err := t.tx.ExecContext(ctx, `UPDATE transactions SET peer_id = $1, updated_at = $2
		WHERE id = $3 AND peer_id IS NULL AND NOT EXISTS (SELECT 1 FROM transactions WHERE peer_id = $1)`,
		peerID, t.s.now().UnixMilli(), id)
	if isPeerIDViolation(err) {
		return "", peerIDTaken(peerID, err)
	}
	if err != nil {
		return "", unavailable("set peer id", err)
	}
	var stored sql.NullString
	err = t.tx.QueryRowContext(ctx, `SELECT peer_id FROM transactions WHERE id = $1`, id).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", bridge.Errorf(bridge.ENotFound, "no transaction %s", id)
	case err != nil:
		return "", unavailable("read peer id", err)
	case !stored.Valid:
		return "", peerIDTaken(peerID, nil)
	}
	return stored.String, nil
}

// TransactionByPeerID returns, without its packet, the transaction the
// other mediator knows as peerID; ENotFound if none.
func (s *Store) TransactionByPeerID(ctx context.Context, peerID string) (*bridge.Transaction, error) {
	return s.byPeerID(ctx, s.rdb, peerID)
}

// TransactionByPeerID is Store.TransactionByPeerID as this transaction
// sees it.
func (t *Tx) TransactionByPeerID(ctx context.Context, peerID string) (*bridge.Transaction, error) {
	return t.s.byPeerID(ctx, t.tx, peerID)
}

func (s *Store) byPeerID(ctx context.Context, q querier, peerID string) (*bridge.Transaction, error) {
	tr, err := s.getTransaction(ctx, q, summaryColumns, `peer_id = $1`, peerID)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return nil, bridge.Errorf(bridge.ENotFound, "no transaction has peer id %s", peerID)
	}
	return tr, err
}

// Stages of a record on the MOSIP side, as its birth_transactions and
// death_transactions tables say them (the Java mediator's words, which
// MOSIP's operators know). A failure is StageFailed with the reason in
// Stage.Reason, never a stage's name with "Failed" in it.
const (
	StageQueued           = "Queued"
	StageRIDGenerated     = "RID Generated"
	StagePacketCreated    = "Packet Created"
	StagePacketSynced     = "Packet Synced"
	StageUploaded         = "Uploaded"
	StageCredentialIssued = "Credential Issued"
	StageSentToOpenCRVS   = "Sent To OpenCRVS"
	StageDeactivated      = "Deactivated"
	StageFailed           = "Failed"
)

// Stage is a row of birth_transactions or death_transactions: how far the
// MOSIP side got with a record.
type Stage struct {
	// TxnID is the OpenCRVS side's transaction id (the envelope's).
	TxnID string
	// RID is the MOSIP application id; "" until generated.
	RID string
	// BRN is the birth or death registration number.
	BRN string
	// Status is one of the Stage constants; Reason says why, for
	// StageFailed.
	Status string
	Reason string
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// stageTable is the table of kind's stages.
func stageTable(kind bridge.EventKind) (string, error) {
	switch kind {
	case bridge.EventBirth:
		return "birth_transactions", nil
	case bridge.EventDeath:
		return "death_transactions", nil
	}
	return "", bridge.Errorf(bridge.EUnsupported, "no stages are kept for %q events, only for births and deaths", kind)
}

// SetStage stores st as the stage of the record of kind (birth or death)
// with st.TxnID: it adds the record, or changes its status and reason. A
// RID or BRN once stored stays when st's is "" (a later stage need not
// repeat them); the creation time stays. It returns EInvalid without a
// TxnID or Status, EUnsupported for another kind.
func (t *Tx) SetStage(ctx context.Context, kind bridge.EventKind, st Stage) error {
	table, err := stageTable(kind)
	if err != nil {
		return err
	}
	if st.TxnID == "" || st.Status == "" {
		return bridge.Errorf(bridge.EInvalid, "a %s stage needs a transaction id and a status", kind)
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO `+table+` (txn_id, rid, brn, status, reason, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (txn_id) DO UPDATE SET
			rid = CASE WHEN excluded.rid <> '' THEN excluded.rid ELSE `+table+`.rid END,
			brn = CASE WHEN excluded.brn <> '' THEN excluded.brn ELSE `+table+`.brn END,
			status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at`,
		st.TxnID, st.RID, st.BRN, st.Status, st.Reason, t.s.now().UnixMilli())
	if err != nil {
		return unavailable("set "+string(kind)+" stage", err)
	}
	return nil
}

// SetStage is Tx.SetStage in a transaction of its own.
func (s *Store) SetStage(ctx context.Context, kind bridge.EventKind, st Stage) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.SetStage(ctx, kind, st) })
}

const stageColumns = `txn_id, rid, brn, status, reason, created_at, updated_at`

func scanStage(row interface{ Scan(...any) error }) (Stage, error) {
	var st Stage
	var created, updated int64
	if err := row.Scan(&st.TxnID, &st.RID, &st.BRN, &st.Status, &st.Reason, &created, &updated); err != nil {
		return Stage{}, err
	}
	st.CreatedAt, st.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return st, nil
}

// StageOf returns the stage of the record of kind with the OpenCRVS side's
// transaction id txnID; ENotFound if none, EUnsupported for a kind other
// than birth or death.
func (s *Store) StageOf(ctx context.Context, kind bridge.EventKind, txnID string) (Stage, error) {
	table, err := stageTable(kind)
	if err != nil {
		return Stage{}, err
	}
	st, err := scanStage(s.rdb.QueryRowContext(ctx, `SELECT `+stageColumns+` FROM `+table+` WHERE txn_id = $1`, txnID))
	if errors.Is(err, sql.ErrNoRows) {
		return Stage{}, bridge.Errorf(bridge.ENotFound, "no %s stage for transaction %s", kind, txnID)
	}
	if err != nil {
		return Stage{}, unavailable("read "+string(kind)+" stage", err)
	}
	return st, nil
}

// StagesByRID returns the stages of the records of kind with MOSIP
// application id rid (normally one), oldest first; none for rid "".
func (s *Store) StagesByRID(ctx context.Context, kind bridge.EventKind, rid string) ([]Stage, error) {
	table, err := stageTable(kind)
	if err != nil {
		return nil, err
	}
	if rid == "" {
		return nil, nil // records not given an AID yet: not what the caller looks for
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+stageColumns+` FROM `+table+` WHERE rid = $1
		ORDER BY created_at, txn_id`, rid)
	if err != nil {
		return nil, unavailable("read "+string(kind)+" stages", err)
	}
	defer rows.Close()
	var out []Stage
	for rows.Next() {
		st, err := scanStage(rows)
		if err != nil {
			return nil, unavailable("read "+string(kind)+" stages", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("read "+string(kind)+" stages", err)
	}
	return out, nil
}

// RememberEnvelope remembers the envelope with key until expires, and
// reports whether it is fresh: false when key is remembered already (the
// envelope is a replay, which the caller refuses). A key remembered until
// a time now past is fresh again; an envelope that old is refused for
// its age, before this is asked. Remember the key in the transaction that
// stores what the envelope brings, so that an envelope whose processing
// fails is not taken for a replay when the other mediator sends it again.
// Two mediators on one database remembering the same key at once: one
// gets true, the other false. It returns EInvalid for key "" or an expiry
// not after now.
func (t *Tx) RememberEnvelope(ctx context.Context, key string, expires time.Time) (fresh bool, err error) {
	now := t.s.now()
	if key == "" {
		return false, bridge.Errorf(bridge.EInvalid, "an envelope without a key cannot be checked for replay")
	}
	if !expires.After(now) {
		return false, bridge.Errorf(bridge.EInvalid, "the envelope expired at %s: refuse expired envelopes before remembering them",
			expires.UTC().Format(time.RFC3339))
	}
	// The update applies only to an expired key; on PostgreSQL it waits
	// for another transaction inserting the same key, then sees its row.
	res, err := t.tx.ExecContext(ctx, `INSERT INTO envelope_replays (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE envelope_replays.expires_at <= $3`,
		key, expires.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, unavailable("remember envelope", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, unavailable("remember envelope", err)
	}
	return n == 1, nil
}

// RememberEnvelope is Tx.RememberEnvelope in a durable transaction of its
// own.
func (s *Store) RememberEnvelope(ctx context.Context, key string, expires time.Time) (fresh bool, err error) {
	err = s.InDurableTx(ctx, func(tx *Tx) error {
		fresh, err = tx.RememberEnvelope(ctx, key, expires)
		return err
	})
	return fresh, err
}

// pruneEnvelopes forgets at most limit envelope keys remembered until now
// or before, and says how many it forgot.
func (t *Tx) pruneEnvelopes(ctx context.Context, limit int) (int64, error) {
	query := `DELETE FROM envelope_replays WHERE key IN (
		SELECT key FROM envelope_replays WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`
	if t.s.pg {
		// An array of keys, which PostgreSQL looks up one by one: with IN,
		// it may join the expired keys to every key (TestQueryPlans).
		query = `DELETE FROM envelope_replays WHERE key = ANY (ARRAY(
			SELECT key FROM envelope_replays WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2))`
	}
	res, err := t.tx.ExecContext(ctx, query, t.s.now().UnixMilli(), limit)
	if err != nil {
		return 0, unavailable("prune envelope keys", err)
	}
	return res.RowsAffected()
}
