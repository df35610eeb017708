package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// Position is a place in the operators' listing, which is ordered by
// creation time and AID, newest first: both never change, so a page
// continues exactly where the last one ended, whatever happened meanwhile.
type Position struct {
	CreatedAt time.Time
	ID        string
}

// ListQuery selects transactions for operators. Zero fields do not filter.
type ListQuery struct {
	State   bridge.State
	Kind    bridge.EventKind
	Version bridge.OpenCRVSVersion
	// CreatedBefore keeps transactions created before it.
	CreatedBefore time.Time
	// Search matches an AID, tracking id, registration number or OpenCRVS
	// record id exactly.
	Search string
	// After continues a listing after this position.
	After *Position
	// Limit is how many to return at most (default 50, at most 1001).
	Limit int
}

// ListTransactions returns transactions matching q, without their packets,
// newest first (by creation time, then AID, descending).
//
// One filter picks the index, and each filter has one that yields rows in
// the listing's order, so a page reads about one page of index entries
// however long the history: a search goes through the four identifier
// indexes (and sorts the few rows they find); else the state's index, else
// the event kind's, else the version's, else creation time's. The other
// filters are checked on the rows that index yields: a page of a rare
// combination (a state and a kind few transactions in that state have)
// reads as many entries as it takes to find it.
func (s *Store) ListTransactions(ctx context.Context, q ListQuery) ([]*bridge.Transaction, error) {
	query, args := listQuery(q)
	return s.queryTransactions(ctx, "list transactions", query, args...)
}

// listQuery builds the SQL of ListTransactions. SQLite, without statistics,
// would pick any index a condition allows (the version's for a state and a
// version, say, reading every 1.9 transaction to find the DEAD ones): the
// conditions that must not pick it are written so that no index applies:
// on the column joined to an empty string, or plus zero.
func listQuery(q ListQuery) (string, []any) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1001)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	picked := false
	text := func(col string, v string) {
		if v == "" {
			return
		}
		if picked {
			col = "(" + col + " || '')"
		}
		picked = true
		where = append(where, col+" = "+arg(v))
	}
	if q.Search != "" {
		p := arg(q.Search)
		where = append(where, fmt.Sprintf("(id = %[1]s OR tracking_id = %[1]s OR registration_number = %[1]s OR record_id = %[1]s)", p))
		picked = true
	}
	// Creation time is the range part of the state, kind and version
	// indexes: indexable unless a search picked the identifier indexes.
	created, id := "created_at", "id"
	if picked {
		created, id = "created_at + 0", "id || ''"
	}
	text("state", string(q.State))
	text("event_kind", string(q.Kind))
	text("opencrvs_version", string(q.Version))
	// Of an age and a position, only the tighter bound is stated: SQLite
	// ranges over one, and ranging over the age while the position is
	// further on would read every page before it again.
	before, after := q.CreatedBefore, q.After
	if !before.IsZero() && after != nil {
		if after.CreatedAt.UnixMilli() < before.UnixMilli() {
			before = time.Time{}
		} else {
			after = nil
		}
	}
	if !before.IsZero() {
		where = append(where, created+" < "+arg(before.UnixMilli()))
	}
	if after != nil {
		where = append(where, fmt.Sprintf("(%s, %s) < (%s, %s)", created, id, arg(after.CreatedAt.UnixMilli()), arg(after.ID)))
	}
	query := `SELECT ` + summaryColumns + ` FROM transactions`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	return query + fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit), args
}

// TransactionForResubmission returns transaction id with its packet and
// its dedupe key, for an operator's resubmission.
func (t *Tx) TransactionForResubmission(ctx context.Context, id string) (*bridge.Transaction, string, error) {
	tr, err := t.s.getTransaction(ctx, t.tx, transactionColumns, `id = $1`, id)
	if err != nil {
		return nil, "", err
	}
	var key string
	if err := t.tx.QueryRowContext(ctx, `SELECT dedupe_key FROM transactions WHERE id = $1`, id).Scan(&key); err != nil {
		return nil, "", unavailable("read transaction", err)
	}
	return tr, key, nil
}

// OldestWaiting returns the oldest transaction in one of states (by
// creation time), or nil if none is. It reads one index entry per state.
func (s *Store) OldestWaiting(ctx context.Context, states []bridge.State) (*Position, error) {
	if len(states) == 0 {
		return nil, nil
	}
	parts := make([]string, len(states))
	args := make([]any, len(states))
	for i, st := range states {
		parts[i] = fmt.Sprintf(`SELECT * FROM (SELECT created_at, id FROM transactions WHERE state = $%[1]d ORDER BY created_at, id LIMIT 1) AS s%[1]d`, i+1)
		args[i] = st
	}
	var p Position
	var at int64
	err := s.rdb.QueryRowContext(ctx, strings.Join(parts, " UNION ALL ")+` ORDER BY created_at, id LIMIT 1`, args...).Scan(&at, &p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("find the oldest waiting transaction", err)
	}
	p.CreatedAt = time.UnixMilli(at).UTC()
	return &p, nil
}

// Bucket counts what happened to transactions in one interval of a
// throughput series.
type Bucket struct {
	Received  int // transactions created
	Completed int // transactions that reached CONFIRMED
	Failed    int // transactions that went DEAD or REJECTED_BY_MOSIP
}

// Throughput counts, for n intervals of step from since on, the
// transactions created, confirmed and failed in each. It reads the index
// entries of those intervals only.
func (s *Store) Throughput(ctx context.Context, since time.Time, step time.Duration, n int) ([]Bucket, error) {
	out := make([]Bucket, n)
	from, ms := since.UnixMilli(), step.Milliseconds()
	if n <= 0 || ms <= 0 {
		return out, nil
	}
	to := from + ms*int64(n)
	rows, err := s.rdb.QueryContext(ctx, `SELECT (created_at - $1) / $2, count(*) FROM transactions
		WHERE created_at >= $1 AND created_at < $3 GROUP BY 1`, from, ms, to)
	if err != nil {
		return nil, unavailable("count received transactions", err)
	}
	err = scanBuckets(rows, func(i int64, _ string, c int) { out[i].Received += c })
	if err != nil {
		return nil, unavailable("count received transactions", err)
	}
	// The state list repeats the partial index's condition word for word:
	// SQLite uses a partial index only for a query that states it.
	rows, err = s.rdb.QueryContext(ctx, `SELECT (at - $1) / $2, to_state, count(*) FROM transaction_events
		WHERE to_state IN ('CONFIRMED', 'DEAD', 'REJECTED_BY_MOSIP') AND at >= $1 AND at < $3 GROUP BY 1, 2`, from, ms, to)
	if err != nil {
		return nil, unavailable("count outcomes", err)
	}
	err = scanBuckets(rows, func(i int64, st string, c int) {
		if bridge.State(st) == bridge.StateConfirmed {
			out[i].Completed += c
		} else {
			out[i].Failed += c
		}
	})
	if err != nil {
		return nil, unavailable("count outcomes", err)
	}
	return out, nil
}

func scanBuckets(rows *sql.Rows, add func(i int64, state string, n int)) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		var i int64
		var st string
		var n int
		dest := []any{&i, &n}
		if len(cols) == 3 {
			dest = []any{&i, &st, &n}
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		add(i, st, n)
	}
	return rows.Err()
}
