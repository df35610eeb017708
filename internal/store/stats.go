package store

import (
	"context"
)

// QueueDepth counts the River jobs that are due, waiting for a later run,
// or running, by queue and then by state (available, scheduled,
// retryable, running, pending).
func (s *Store) QueueDepth(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT queue, state, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY queue, state`)
	if err != nil {
		return nil, unavailable("count jobs", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var queue, state string
		var n int
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return nil, unavailable("count jobs", err)
		}
		if out[queue] == nil {
			out[queue] = map[string]int{}
		}
		out[queue][state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("count jobs", err)
	}
	return out, nil
}
