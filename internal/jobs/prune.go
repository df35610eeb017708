package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// DefaultDeliveryRetention is how long WebSub deliveries are remembered to
// recognise redeliveries: MOSIP's hub gives up on a delivery within hours.
const DefaultDeliveryRetention = 30 * 24 * time.Hour

// pruneBatch bounds each delete, so that the single writer is never held
// long; pruneMaxBatches bounds one run (the next run goes on).
const (
	pruneBatch      = 1000
	pruneMaxBatches = 100
)

// PruneArgs forgets WebSub deliveries older than the retention. It runs
// every hour.
type PruneArgs struct{}

func (PruneArgs) Kind() string { return "prune_deliveries" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	r *Runner
}

func (w *pruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	r := w.r
	cutoff := r.cfg.Now().Add(-r.cfg.DeliveryRetention)
	total := 0
	for range pruneMaxBatches {
		n, err := r.cfg.Store.PruneDeliveries(ctx, cutoff, pruneBatch)
		total += n
		if err != nil {
			return err
		}
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		r.log.InfoContext(ctx, "forgot old WebSub deliveries", "count", total, "received_before", cutoff.UTC().Format(time.RFC3339))
	}
	return nil
}
