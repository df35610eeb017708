package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// defaultSubscriptionCheck is how often the subscription job looks whether
// the WebSub subscription needs to be made or renewed.
const defaultSubscriptionCheck = time.Minute

// SubscribeArgs makes sure the mediator is subscribed to MOSIP's credential
// topic. It runs when the job queue starts and then every minute, and
// subscribes when the subscription is due: never verified (retried with
// backoff), its lease nearly over, or not renewed for RenewInterval (a hub
// that restarted may have forgotten it; MOSIP's hub answers a repeated
// subscription with "already registered", which is harmless).
type SubscribeArgs struct {
	// Identity selects the identity update subscription; false (and jobs
	// stored before there were two) the credential one.
	Identity bool `json:"identity,omitempty"`
}

func (SubscribeArgs) Kind() string { return "websub_subscribe" }

type subscribeWorker struct {
	river.WorkerDefaults[SubscribeArgs]
	r *Runner
}

func (w *subscribeWorker) NextRetry(job *river.Job[SubscribeArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

func (w *subscribeWorker) Work(ctx context.Context, job *river.Job[SubscribeArgs]) error {
	sub := w.r.cfg.Subscriber
	if job.Args.Identity {
		sub = w.r.cfg.IdentitySubscriber
	}
	if sub == nil {
		return nil // no longer configured
	}
	// What the other mediators did (subscribed, received the hub's
	// verification) decides too.
	if err := sub.Refresh(ctx); err != nil {
		w.r.log.WarnContext(ctx, "WebSub subscription state not read; deciding on this mediator's copy", "identity_updates", job.Args.Identity, "err", err)
	}
	renewAt, requested := sub.RenewAt(), sub.Status().Requested
	now := w.r.cfg.Now() // after RenewAt, which answers "now" when due at once
	// A retry of a failed request subscribes whatever RenewAt says: River's
	// retry policy paces failures. A job run again because its mediator
	// died is no such retry: the last request did not fail (or the state
	// would say so), and RenewAt decides. A zero RenewAt: unsubscribed.
	due := !renewAt.IsZero() && ((job.Attempt > 1 && sub.LastAttemptFailed()) || !now.Before(renewAt) ||
		(!requested.IsZero() && now.Sub(requested) >= w.r.cfg.RenewInterval))
	if !due {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, w.r.cfg.CallTimeout)
	defer cancel()
	if err := sub.Subscribe(callCtx); err != nil {
		w.r.log.WarnContext(ctx, "WebSub subscription failed; will retry", "identity_updates", job.Args.Identity, "attempt", job.Attempt, "err", err)
		return err
	}
	w.r.log.InfoContext(ctx, "WebSub subscription requested", "identity_updates", job.Args.Identity, "attempt", job.Attempt)
	return nil
}
