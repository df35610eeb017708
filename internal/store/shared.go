package store

import (
	"context"
	"database/sql"
	"errors"
)

// Shared state: small values, by key, that every mediator on the database
// reads and changes (the WebSub subscriptions' state). A change locks the
// key's row, so that mediators changing it at once take turns and none
// loses another's change.

// LoadShared returns the value stored under key, nil when there is none.
func (s *Store) LoadShared(ctx context.Context, key string) ([]byte, error) {
	var v string
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM shared_state WHERE key = $1`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, unavailable("read shared state", err)
	case v == "":
		return nil, nil
	}
	return []byte(v), nil
}

// UpdateShared replaces the value under key with what update returns, given
// the current value (nil when there is none), in one transaction during
// which no other mediator can change it. An error from update changes
// nothing and is returned as it is.
func (s *Store) UpdateShared(ctx context.Context, key string, update func(old []byte) ([]byte, error)) error {
	return s.InTx(ctx, func(tx *Tx) error {
		now := s.now().UnixMilli()
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO shared_state (key, value, updated_at) VALUES ($1, '', $2)
			ON CONFLICT (key) DO NOTHING`, key, now); err != nil {
			return unavailable("create shared state", err)
		}
		query := `SELECT value FROM shared_state WHERE key = $1`
		if s.pg {
			query += ` FOR UPDATE` // SQLite's write transaction already excludes the others
		}
		var old string
		if err := tx.tx.QueryRowContext(ctx, query, key).Scan(&old); err != nil {
			return unavailable("read shared state", err)
		}
		var oldValue []byte
		if old != "" {
			oldValue = []byte(old)
		}
		value, err := update(oldValue)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE shared_state SET value = $2, updated_at = $3 WHERE key = $1`,
			key, string(value), now); err != nil {
			return unavailable("write shared state", err)
		}
		return nil
	})
}
