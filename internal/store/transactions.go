package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// querier is what both a *sql.DB and a *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const transactionColumns = `id, event_kind, opencrvs_version, intake, record_id, tracking_id,
	registration_number, state, token, packet, skip_reason, attempts, last_error, uin, vid,
	created_at, updated_at, reject_reason, dead_from, check_at, checks, corrects, action_id, peer_id`

// insertColumns are the columns a new transaction sets; the others start
// at their defaults.
const insertColumns = `id, event_kind, opencrvs_version, intake, record_id, tracking_id,
	registration_number, state, token, packet, skip_reason, attempts, last_error, uin, vid,
	created_at, updated_at, corrects, action_id, peer_id`

// summaryColumns are transactionColumns without the packet, which most
// readers do not need and which is the costly part to decode.
const summaryColumns = `id, event_kind, opencrvs_version, intake, record_id, tracking_id,
	registration_number, state, token, NULL, skip_reason, attempts, last_error, uin, vid,
	created_at, updated_at, reject_reason, dead_from, check_at, checks, corrects, action_id, peer_id`

func scanTransaction(row interface{ Scan(...any) error }) (*bridge.Transaction, error) {
	var (
		t                       bridge.Transaction
		token, packet, peer     sql.NullString
		created, updat, checkAt int64
	)
	err := row.Scan(&t.ID, &t.Kind, &t.Version, &t.Intake, &t.RecordID, &t.TrackingID,
		&t.RegistrationNumber, &t.State, &token, &packet, &t.SkipReason, &t.Attempts, &t.LastError,
		&t.UIN, &t.VID, &created, &updat, &t.RejectReason, &t.DeadFrom, &checkAt, &t.Checks, &t.Corrects, &t.ActionID, &peer)
	if err != nil {
		return nil, err
	}
	t.Token, t.PeerID = token.String, peer.String
	if packet.Valid {
		if err := json.Unmarshal([]byte(packet.String), &t.Packet); err != nil {
			return nil, fmt.Errorf("store: transaction %s: stored packet: %w", t.ID, err)
		}
	}
	t.CreatedAt = time.UnixMilli(created).UTC()
	t.UpdatedAt = time.UnixMilli(updat).UTC()
	if checkAt > 0 {
		t.CheckAt = time.UnixMilli(checkAt).UTC()
	}
	return &t, nil
}

func (s *Store) getTransaction(ctx context.Context, q querier, columns, where string, arg any) (*bridge.Transaction, error) {
	t, err := scanTransaction(q.QueryRowContext(ctx, `SELECT `+columns+` FROM transactions WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bridge.Errorf(bridge.ENotFound, "no transaction %v", arg)
	}
	if err != nil {
		return nil, unavailable("read transaction", err)
	}
	if err := s.openToken(t); err != nil {
		return nil, err
	}
	return t, nil
}

// Transaction returns the transaction with id (the AID), without its
// packet (see TransactionWithPacket); ENotFound if none.
func (s *Store) Transaction(ctx context.Context, id string) (*bridge.Transaction, error) {
	return s.getTransaction(ctx, s.rdb, summaryColumns, `id = $1`, id)
}

// TransactionWithPacket is Transaction with the packet MOSIP is sent.
func (s *Store) TransactionWithPacket(ctx context.Context, id string) (*bridge.Transaction, error) {
	return s.getTransaction(ctx, s.rdb, transactionColumns, `id = $1`, id)
}

// Transaction returns the transaction with id, without its packet, as this
// transaction sees it.
func (t *Tx) Transaction(ctx context.Context, id string) (*bridge.Transaction, error) {
	return t.s.getTransaction(ctx, t.tx, summaryColumns, `id = $1`, id)
}

// History returns every transaction of one OpenCRVS record and event (its
// registration, a registration sent again after MOSIP refused it, its
// corrections), with their packets, oldest first.
func (t *Tx) History(ctx context.Context, kind bridge.EventKind, trackingID string) ([]*bridge.Transaction, error) {
	// created_at + 0: SQLite, without statistics, would rather walk every
	// transaction of the kind in transactions_kind_created's order than
	// sort the record's few (TestQueryPlans).
	return t.s.queryTransactionsOn(ctx, t.tx, "read the record's transactions", `SELECT `+transactionColumns+` FROM transactions
		WHERE event_kind = $1 AND tracking_id = $2 ORDER BY created_at + 0, id`, kind, trackingID)
}

// LiveByDedupeKey returns the transaction for key that a resend must return
// (any not REPORTED or CANCELLED), or nil. On PostgreSQL it first locks key
// until the transaction ends: another mediator's transaction looking it up
// waits, then finds the transaction this one inserts.
func (t *Tx) LiveByDedupeKey(ctx context.Context, key string) (*bridge.Transaction, error) {
	if t.s.pg {
		if err := t.lockDedupeKey(ctx, key); err != nil {
			return nil, err
		}
	}
	tr, err := t.s.getTransaction(ctx, t.tx, summaryColumns, `dedupe_key = $1 AND state NOT IN ('REPORTED', 'CANCELLED')`, key)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return nil, nil
	}
	return tr, err
}

// Insert stores a new transaction in its initial state and logs how it got
// there. A PeerID another transaction has already is refused (EConflict).
func (t *Tx) Insert(ctx context.Context, tr *bridge.Transaction, dedupeKey, reason string) error {
	now := t.s.now().UTC()
	tr.CreatedAt, tr.UpdatedAt = now, now
	var packet any
	if tr.Packet.Process != "" {
		b, err := json.Marshal(tr.Packet)
		if err != nil {
			return fmt.Errorf("store: encode packet: %w", err)
		}
		packet = string(b)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO transactions (`+insertColumns+`, dedupe_key, traceparent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		tr.ID, tr.Kind, tr.Version, tr.Intake, tr.RecordID, tr.TrackingID, tr.RegistrationNumber,
		tr.State, nullable(t.s.seal(tr.ID, tr.Token)), packet, tr.SkipReason, tr.Attempts, tr.LastError, tr.UIN, tr.VID,
		now.UnixMilli(), now.UnixMilli(), tr.Corrects, tr.ActionID, nullable(tr.PeerID), dedupeKey, nullable(tr.TraceParent))
	if err != nil {
		if isPeerIDViolation(err) {
			return peerIDTaken(tr.PeerID, err)
		}
		if isUniqueViolation(err) {
			return &bridge.Error{Code: bridge.EConflict, Message: "the record is already being processed", Err: err}
		}
		return unavailable("insert transaction", err)
	}
	return t.logEvent(ctx, bridge.Event{TransactionID: tr.ID, At: now, To: tr.State, Reason: reason})
}

// SetToken replaces the OpenCRVS token of a transaction that still needs
// one (a resend carries a fresher token).
func (t *Tx) SetToken(ctx context.Context, id, token string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE transactions SET token = $1, updated_at = $2
		WHERE id = $3 AND token IS NOT NULL`, t.s.seal(id, token), t.s.now().UnixMilli(), id)
	if err != nil {
		return unavailable("update token", err)
	}
	return nil
}

// SetActionID replaces the OpenCRVS 1.9 action of a transaction that still
// needs feedback, together with SetToken: a resend's token is for the
// action it names, and OpenCRVS refuses a token for another action.
func (t *Tx) SetActionID(ctx context.Context, id, actionID string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE transactions SET action_id = $1, updated_at = $2
		WHERE id = $3 AND token IS NOT NULL`, actionID, t.s.now().UnixMilli(), id)
	if err != nil {
		return unavailable("update action id", err)
	}
	return nil
}

// Change is a state transition and what it sets.
type Change struct {
	// From lists the states the transition is allowed from; the transition
	// does nothing from any other (compare and set).
	From    []bridge.State
	To      bridge.State
	Reason  string
	Attempt int
	// Optional values to set with the state.
	LastError  *string
	UIN, VID   *string
	ClearToken bool // the transaction is finished: forget the OpenCRVS token
	// RejectReason is the registrar's explanation of a MOSIP refusal.
	RejectReason *string
	// CheckAt sets when MOSIP is next asked for the status (and resets the
	// count of checks).
	CheckAt *time.Time
}

// Transition applies c to transaction id if it is in one of c.From, logs it,
// and reports whether it applied.
func (t *Tx) Transition(ctx context.Context, id string, c Change) (bool, error) {
	if len(c.From) == 0 {
		return false, errors.New("store: transition without From states")
	}
	now := t.s.now().UTC()
	sets := []string{"state = $1", "updated_at = $2"}
	args := []any{c.To, now.UnixMilli()}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if c.LastError != nil {
		add("last_error", *c.LastError)
	}
	if c.UIN != nil {
		add("uin", *c.UIN)
	}
	if c.VID != nil {
		add("vid", *c.VID)
	}
	if c.ClearToken {
		sets = append(sets, "token = NULL")
	}
	if c.RejectReason != nil {
		add("reject_reason", *c.RejectReason)
	}
	if c.CheckAt != nil {
		add("check_at", c.CheckAt.UnixMilli())
		sets = append(sets, "checks = 0")
	}
	switch {
	case c.To == bridge.StateDead:
		// Right-hand sides see the row before the update: the state it
		// died in.
		sets = append(sets, "dead_from = state")
	case slices.Contains(c.From, bridge.StateDead):
		sets = append(sets, "dead_from = ''")
	}
	args = append(args, id)
	idArg := len(args)
	where := fmt.Sprintf("id = $%d AND state IN (", len(args))
	for i, st := range c.From {
		args = append(args, st)
		if i > 0 {
			where += ", "
		}
		where += fmt.Sprintf("$%d", len(args))
	}
	where += ")"
	if t.s.pg {
		return t.transitionPostgres(ctx, id, c, idArg, where, sets, args)
	}
	// The event is written first, from the row as it is (its state is the
	// "from"), and only if the row is in a From state; the UPDATE has the
	// same condition. Two statements, no round trip to read the state.
	evArgs := []any{id, now.UnixMilli(), c.To, c.Reason, c.Attempt}
	evWhere := "id = $1 AND state IN ("
	for i, st := range c.From {
		evArgs = append(evArgs, st)
		if i > 0 {
			evWhere += ", "
		}
		evWhere += fmt.Sprintf("$%d", len(evArgs))
	}
	evWhere += ")"
	res, err := t.tx.ExecContext(ctx, `INSERT INTO transaction_events (transaction_id, at, from_state, to_state, reason, attempt)
		SELECT id, $2, state, $3, $4, $5 FROM transactions WHERE `+evWhere, evArgs...)
	if err != nil {
		return false, unavailable("log event", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = t.exists(ctx, id)
		}
		return false, err
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE transactions SET `+strings.Join(sets, ", ")+` WHERE `+where, args...); err != nil {
		return false, unavailable("update state", err)
	}
	return true, nil
}

// transitionPostgres is Transition in one statement that locks the row
// first: a transition another transaction is applying to it meanwhile
// commits first, and this one then applies only if the state it left is
// still one of c.From. (Without the lock, both would log the event.)
func (t *Tx) transitionPostgres(ctx context.Context, id string, c Change, idArg int, where string, sets []string, args []any) (bool, error) {
	args = append(args, c.Reason, c.Attempt)
	// FOR UPDATE returns the row as the last commit left it (and, when
	// that commit left it in no From state, nothing); the UPDATE then
	// changes that version.
	query := `WITH old AS (SELECT id AS old_id, state AS old_state FROM transactions WHERE ` + where + ` FOR UPDATE),
		upd AS (UPDATE transactions SET ` + strings.Join(sets, ", ") + ` FROM old WHERE id = old_id RETURNING old_state)
		INSERT INTO transaction_events (transaction_id, at, from_state, to_state, reason, attempt)
		SELECT ` + fmt.Sprintf("$%d, $2, old_state, $1, CAST($%d AS TEXT), CAST($%d AS INTEGER)", idArg, len(args)-1, len(args)) + ` FROM upd`
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, unavailable("update state", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = t.exists(ctx, id)
		}
		return false, err
	}
	return true, nil
}

// exists returns ENotFound if there is no transaction id.
func (t *Tx) exists(ctx context.Context, id string) error {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM transactions WHERE id = $1`, id).Scan(&n); err != nil {
		return unavailable("read transaction", err)
	}
	if n == 0 {
		return bridge.Errorf(bridge.ENotFound, "no transaction %s", id)
	}
	return nil
}

// Transition is Tx.Transition in a transaction of its own.
func (s *Store) Transition(ctx context.Context, id string, c Change) (applied bool, err error) {
	err = s.InTx(ctx, func(tx *Tx) error {
		applied, err = tx.Transition(ctx, id, c)
		return err
	})
	return applied, err
}

// NoteAttempt records a failed attempt without changing the state.
func (s *Store) NoteAttempt(ctx context.Context, id string, attempt int, lastError string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE transactions SET attempts = $1, last_error = $2, updated_at = $3 WHERE id = $4`,
		attempt, lastError, s.now().UnixMilli(), id)
	if err != nil {
		return unavailable("note attempt", err)
	}
	return nil
}

func (t *Tx) logEvent(ctx context.Context, e bridge.Event) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO transaction_events (transaction_id, at, from_state, to_state, reason, attempt)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.TransactionID, e.At.UnixMilli(), e.From, e.To, e.Reason, e.Attempt)
	if err != nil {
		return unavailable("log event", err)
	}
	return nil
}

// Events returns the event log of a transaction, oldest first.
func (s *Store) Events(ctx context.Context, id string) ([]bridge.Event, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT transaction_id, at, from_state, to_state, reason, attempt
		FROM transaction_events WHERE transaction_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, unavailable("read events", err)
	}
	defer rows.Close()
	var events []bridge.Event
	for rows.Next() {
		var e bridge.Event
		var at int64
		if err := rows.Scan(&e.TransactionID, &at, &e.From, &e.To, &e.Reason, &e.Attempt); err != nil {
			return nil, unavailable("read events", err)
		}
		e.At = time.UnixMilli(at).UTC()
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("read events", err)
	}
	return events, nil
}

// CountByState counts transactions in each state that has any. It reads
// the counts triggers keep (migration 0006), not the transactions.
func (s *Store) CountByState(ctx context.Context) (map[bridge.State]int, error) {
	query := `SELECT state, n FROM transaction_state_counts WHERE n > 0`
	if s.pg { // a row per state and shard
		query = `SELECT state, sum(n)::bigint FROM transaction_state_counts GROUP BY state HAVING sum(n) > 0`
	}
	rows, err := s.rdb.QueryContext(ctx, query)
	if err != nil {
		return nil, unavailable("count transactions", err)
	}
	defer rows.Close()
	counts := make(map[bridge.State]int)
	for rows.Next() {
		var st bridge.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, unavailable("count transactions", err)
		}
		counts[st] = n
	}
	return counts, rows.Err()
}

// Delivery is a WebSub delivery the mediator has seen.
type Delivery struct {
	EventID       string
	ReceivedAt    time.Time
	TransactionID string
	Outcome       string
	Detail        string
}

// Delivery outcomes.
const (
	DeliveryApplied       = "applied"       // the credential moved its transaction on
	DeliveryIgnored       = "ignored"       // its transaction was already past it
	DeliveryUnknownAID    = "unknown_aid"   // no transaction has the credential's AID
	DeliveryUndecryptable = "undecryptable" // the credential could not be decrypted or read
	DeliveryWrongTopic    = "wrong_topic"   // not the topic we subscribed to
	// DeliveryUnknownIdentity: an identity update for an identity no civil
	// record registered through the mediator has.
	DeliveryUnknownIdentity = "unknown_identity"
	// DeliveryOwnChange: an identity update the mediator's own packet made.
	DeliveryOwnChange = "own_change"
)

// RecordDelivery stores d unless its event id was seen before, and reports
// whether it was new.
func (t *Tx) RecordDelivery(ctx context.Context, d Delivery) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO websub_deliveries (event_id, received_at, transaction_id, outcome, detail)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
		d.EventID, t.s.now().UnixMilli(), d.TransactionID, d.Outcome, d.Detail)
	if err != nil {
		return false, unavailable("record delivery", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecordDelivery is Tx.RecordDelivery in a durable transaction of its own.
func (s *Store) RecordDelivery(ctx context.Context, d Delivery) (isNew bool, err error) {
	err = s.InDurableTx(ctx, func(tx *Tx) error {
		isNew, err = tx.RecordDelivery(ctx, d)
		return err
	})
	return isNew, err
}

// Delivery returns the delivery with eventID, or ENotFound.
func (s *Store) Delivery(ctx context.Context, eventID string) (*Delivery, error) {
	var d Delivery
	var at int64
	err := s.rdb.QueryRowContext(ctx, `SELECT event_id, received_at, transaction_id, outcome, detail
		FROM websub_deliveries WHERE event_id = $1`, eventID).Scan(&d.EventID, &at, &d.TransactionID, &d.Outcome, &d.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bridge.Errorf(bridge.ENotFound, "no delivery %s", eventID)
	}
	if err != nil {
		return nil, unavailable("read delivery", err)
	}
	d.ReceivedAt = time.UnixMilli(at).UTC()
	return &d, nil
}

// SeenDelivery reports whether a delivery with eventID was recorded.
func (s *Store) SeenDelivery(ctx context.Context, eventID string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM websub_deliveries WHERE event_id = $1`, eventID).Scan(&n)
	if err != nil {
		return false, unavailable("read delivery", err)
	}
	return n > 0, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isUniqueViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || isPostgresUniqueViolation(err))
}

// TransactionsByRecord returns the transactions of an OpenCRVS record,
// oldest first.
func (s *Store) TransactionsByRecord(ctx context.Context, recordID string) ([]*bridge.Transaction, error) {
	return s.queryTransactions(ctx, "read transactions", `SELECT `+summaryColumns+` FROM transactions WHERE record_id = $1 ORDER BY created_at, id`, recordID)
}

// queryTransactions runs a query of transactions on the readers; op names
// it in errors.
func (s *Store) queryTransactions(ctx context.Context, op, query string, args ...any) ([]*bridge.Transaction, error) {
	return s.queryTransactionsOn(ctx, s.rdb, op, query, args...)
}

// queryTransactions runs a query of transactionColumns or summaryColumns.
func (s *Store) queryTransactionsOn(ctx context.Context, q querier, op, query string, args ...any) ([]*bridge.Transaction, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, unavailable(op, err)
	}
	defer rows.Close()
	var out []*bridge.Transaction
	for rows.Next() {
		t, err := scanTransaction(rows)
		if err != nil {
			return nil, unavailable(op, err)
		}
		if err := s.openToken(t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	return out, nil
}

// DueForCheck returns up to limit SUBMITTED transactions whose status check
// is due at now, the longest waiting first.
func (s *Store) DueForCheck(ctx context.Context, now time.Time, limit int) ([]*bridge.Transaction, error) {
	return s.queryTransactions(ctx, "read transactions due for a status check", `SELECT `+summaryColumns+` FROM transactions
		WHERE state = $1 AND check_at <= $2 ORDER BY check_at, id LIMIT $3`, bridge.StateSubmitted, now.UnixMilli(), limit)
}

// NoteCheck records that MOSIP was asked for the status of a SUBMITTED
// transaction and when to ask next.
func (s *Store) NoteCheck(ctx context.Context, id string, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE transactions SET check_at = $1, checks = checks + 1
		WHERE id = $2 AND state = $3`, next.UnixMilli(), id, bridge.StateSubmitted)
	if err != nil {
		return unavailable("note status check", err)
	}
	return nil
}

// CountInState counts the transactions in one state (from the counts
// triggers keep, like CountByState).
func (s *Store) CountInState(ctx context.Context, st bridge.State) (int, error) {
	var n int
	query := `SELECT n FROM transaction_state_counts WHERE state = $1`
	if s.pg {
		query = `SELECT coalesce(sum(n), 0)::bigint FROM transaction_state_counts WHERE state = $1`
	}
	err := s.rdb.QueryRowContext(ctx, query, st).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable("count transactions", err)
	}
	return n, nil
}

// ListFilter selects transactions for operators.
type ListFilter struct {
	State bridge.State // "" for any
	// Before pages backwards: only transactions updated before it (zero: now).
	Before time.Time
	Limit  int // default 50, at most 1000
}

// List returns transactions, most recently updated first. It sorts every
// transaction of the state it is given: for tests and small databases;
// operators' listings use ListTransactions.
func (s *Store) List(ctx context.Context, f ListFilter) ([]*bridge.Transaction, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	before := f.Before
	if before.IsZero() {
		before = time.UnixMilli(1 << 62)
	}
	q := `SELECT ` + summaryColumns + ` FROM transactions WHERE updated_at < $1`
	args := []any{before.UnixMilli()}
	if f.State != "" {
		q += ` AND state = $2`
		args = append(args, f.State)
	}
	q += fmt.Sprintf(` ORDER BY updated_at DESC, id DESC LIMIT %d`, limit)
	return s.queryTransactions(ctx, "list transactions", q, args...)
}

// DiedIn returns the state a DEAD transaction died in: its dead_from, or
// for transactions that died before that was kept, the state its event log
// shows it leaving for DEAD.
func (t *Tx) DiedIn(ctx context.Context, tr *bridge.Transaction) (bridge.State, error) {
	if tr.DeadFrom != "" {
		return tr.DeadFrom, nil
	}
	var from bridge.State
	err := t.tx.QueryRowContext(ctx, `SELECT from_state FROM transaction_events
		WHERE transaction_id = $1 AND to_state = $2 ORDER BY id DESC LIMIT 1`, tr.ID, bridge.StateDead).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return "", bridge.Errorf(bridge.EConflict, "transaction %s has no record of how it died", tr.ID)
	}
	if err != nil {
		return "", unavailable("read events", err)
	}
	return from, nil
}

// DeathByRegistrationNumber returns the death registration (not a
// correction) with registration number regNo that MOSIP completed
// (CONFIRMED, or ISSUED while OpenCRVS's confirmation is recorded, or DEAD
// there), with its packet, or nil.
func (s *Store) DeathByRegistrationNumber(ctx context.Context, regNo string) (*bridge.Transaction, error) {
	// (event_kind || ''): no index by kind, which SQLite would walk in
	// creation order through every death until it met regNo
	// (TestQueryPlans); the registration number's index finds it.
	tr, err := s.getTransaction(ctx, s.rdb, transactionColumns,
		`registration_number = $1 AND (event_kind || '') = 'death' AND corrects = ''
		AND (state IN ('CONFIRMED', 'ISSUED') OR (state = 'DEAD' AND dead_from = 'ISSUED'))
		ORDER BY created_at DESC LIMIT 1`, regNo)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return nil, nil
	}
	return tr, err
}

// RegistrationsOfIdentity returns the birth registrations (not corrections)
// that got the identity with uin or vid ("" matches nothing): CONFIRMED, or
// ISSUED while OpenCRVS is being told.
func (t *Tx) RegistrationsOfIdentity(ctx context.Context, uin, vid string) ([]*bridge.Transaction, error) {
	// Only the UIN's and VID's indexes apply: SQLite would otherwise walk
	// every birth, or every CONFIRMED transaction (TestQueryPlans).
	return t.s.queryTransactionsOn(ctx, t.tx, "find the identity's registrations", `SELECT `+summaryColumns+` FROM transactions
		WHERE ((uin = $1 AND uin <> '') OR (vid = $2 AND vid <> '')) AND (event_kind || '') = 'birth' AND corrects = ''
		AND (state || '') IN ('CONFIRMED', 'ISSUED')
		ORDER BY created_at, id`, uin, vid)
}

// CountDeliveries counts WebSub deliveries by outcome.
func (s *Store) CountDeliveries(ctx context.Context) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT outcome, count(*) FROM websub_deliveries GROUP BY outcome`)
	if err != nil {
		return nil, unavailable("count deliveries", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, unavailable("count deliveries", err)
		}
		out[o] = n
	}
	return out, rows.Err()
}
