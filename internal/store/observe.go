package store

import (
	"context"
	"database/sql"
	"errors"

	"opencrvs-mosip/internal/bridge"
)

// TraceParent returns the W3C traceparent kept with transaction id ("" when
// it was accepted with tracing off); ENotFound if there is no such
// transaction.
func (s *Store) TraceParent(ctx context.Context, id string) (string, error) {
	var tp sql.NullString
	err := s.rdb.QueryRowContext(ctx, `SELECT traceparent FROM transactions WHERE id = $1`, id).Scan(&tp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", bridge.Errorf(bridge.ENotFound, "no transaction %v", id)
	}
	if err != nil {
		return "", unavailable("read traceparent", err)
	}
	return tp.String, nil
}

// CheckWritable proves that the database takes writes: it commits a write
// of the one row of readiness_probe, through the writers' connection (on
// SQLite the one every write uses, so it waits its turn behind them). The
// database does not grow.
// Errors are EUnavailable (or ctx's).
func (s *Store) CheckWritable(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO readiness_probe (id, at) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET at = excluded.at`, s.now().UnixMilli())
		if err != nil {
			return unavailable("write the readiness probe", err)
		}
		return nil
	})
}
