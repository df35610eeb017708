package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// RateBackfill is the rate limit of the backfill queue's calls to MOSIP
// (migration 0008).
const RateBackfill = "backfill"

// maxRate bounds a rate: one call a microsecond is already no limit.
const maxRate = 1e6

// SetRate sets how many calls a second rate limit name allows, shared by
// every mediator on the database (0: no limit). EInvalid for a negative or
// absurd rate, ENotFound for an unknown limit.
func (s *Store) SetRate(ctx context.Context, name string, perSecond float64) error {
	if perSecond < 0 || perSecond > maxRate || math.IsNaN(perSecond) {
		return bridge.Errorf(bridge.EInvalid, "rate %v: want 0 (no limit) to %v calls a second", perSecond, maxRate)
	}
	var interval int64
	if perSecond > 0 {
		interval = max(1, int64(math.Round(1e6/perSecond)))
	}
	res, err := s.db.ExecContext(ctx, `UPDATE rate_limits SET interval_us = $1 WHERE name = $2 AND interval_us <> $1`, interval, name)
	if err != nil {
		return unavailable("set rate", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		// Unchanged, or unknown: tell which.
		_, err := s.Rate(ctx, name)
		return err
	}
	return nil
}

// Rate returns the calls a second rate limit name allows (0: no limit).
func (s *Store) Rate(ctx context.Context, name string) (float64, error) {
	interval, err := s.rateInterval(ctx, name)
	if err != nil || interval == 0 {
		return 0, err
	}
	return 1e6 / float64(interval), nil
}

// RateInterval returns the spacing of calls of rate limit name (0: no
// limit).
func (s *Store) RateInterval(ctx context.Context, name string) (time.Duration, error) {
	interval, err := s.rateInterval(ctx, name)
	return time.Duration(interval) * time.Microsecond, err
}

func (s *Store) rateInterval(ctx context.Context, name string) (int64, error) {
	var interval int64
	err := s.rdb.QueryRowContext(ctx, `SELECT interval_us FROM rate_limits WHERE name = $1`, name).Scan(&interval)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, bridge.Errorf(bridge.ENotFound, "no rate limit %q", name)
	}
	if err != nil {
		return 0, unavailable("read rate", err)
	}
	return interval, nil
}

// TakeSlot reserves the next free call slot of rate limit name, if it
// starts no later than ahead after now: ok, and wait is how long until it
// starts (0: at once). Otherwise nothing is reserved, and wait is how long
// until a slot could be (the caller comes back then). Slots are spaced by
// the limit's interval whoever takes them, so with any number of callers
// and mediators the calls keep to the rate.
func (s *Store) TakeSlot(ctx context.Context, name string, now time.Time, ahead time.Duration) (wait time.Duration, ok bool, err error) {
	nowUS := now.UnixMicro()
	var slot int64
	err = s.db.QueryRowContext(ctx, `UPDATE rate_limits
		SET next_at_us = CASE WHEN next_at_us < $2 THEN $2 ELSE next_at_us END + interval_us
		WHERE name = $1 AND next_at_us <= $3
		RETURNING next_at_us - interval_us`, name, nowUS, nowUS+ahead.Microseconds()).Scan(&slot)
	if err == nil {
		return time.Duration(max(0, slot-nowUS)) * time.Microsecond, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, unavailable("take a rate slot", err)
	}
	var next int64
	err = s.db.QueryRowContext(ctx, `SELECT next_at_us FROM rate_limits WHERE name = $1`, name).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, bridge.Errorf(bridge.ENotFound, "no rate limit %q", name)
	}
	if err != nil {
		return 0, false, unavailable("read a rate slot", err)
	}
	return time.Duration(max(0, next-nowUS-ahead.Microseconds())) * time.Microsecond, false, nil
}

// QueueWaiting counts the River jobs of queue that wait to run or are
// running (available, scheduled, retryable, running, pending). It reads
// River's index by state and queue: the cost is the queue's length.
func (s *Store) QueueWaiting(ctx context.Context, queue string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') AND queue = $1`, queue).Scan(&n)
	if err != nil {
		return 0, unavailable("count jobs", err)
	}
	return n, nil
}

// NextSlot returns when the next free slot of rate limit name starts: with
// the interval, it tells how many slots were taken (each moved it on by
// one interval).
func (s *Store) NextSlot(ctx context.Context, name string) (time.Time, error) {
	var next int64
	err := s.rdb.QueryRowContext(ctx, `SELECT next_at_us FROM rate_limits WHERE name = $1`, name).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, bridge.Errorf(bridge.ENotFound, "no rate limit %q", name)
	}
	if err != nil {
		return time.Time{}, unavailable("read a rate slot", err)
	}
	return time.UnixMicro(next).UTC(), nil
}
