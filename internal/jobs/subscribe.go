package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// SubscribeArgs (re)subscribes to MOSIP's credential topic. It runs when the
// job queue starts and then periodically, so the subscription outlives hub
// restarts and lease ends; MOSIP's hub answers a repeated subscription with
// "already registered", which is harmless.
type SubscribeArgs struct{}

func (SubscribeArgs) Kind() string { return "websub_subscribe" }

type subscribeWorker struct {
	river.WorkerDefaults[SubscribeArgs]
	r *Runner
}

func (w *subscribeWorker) NextRetry(job *river.Job[SubscribeArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

func (w *subscribeWorker) Work(ctx context.Context, job *river.Job[SubscribeArgs]) error {
	callCtx, cancel := context.WithTimeout(ctx, w.r.cfg.CallTimeout)
	defer cancel()
	if err := w.r.cfg.Subscriber.Subscribe(callCtx); err != nil {
		w.r.log.Warn("WebSub subscription failed; will retry", "attempt", job.Attempt, "err", err)
		return err
	}
	w.r.log.Info("WebSub subscription requested", "attempt", job.Attempt)
	return nil
}
