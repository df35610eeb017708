package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/store"
)

// Historic records (bridge.IntakeBackfill, `opencrvs-mosip backfill`) are
// already registered in OpenCRVS. Their packets go to MOSIP through
// QueueSubmitBackfill: workers of its own, and calls spaced by a rate
// every mediator on the database shares (store.TakeSlot), so that live
// records never wait behind a backfill and MOSIP is not flooded. A birth's
// national ID goes back with GraphQL upsertRegistrationIdentifier under
// the mediator's system client, not confirmRegistration (the record is
// registered); a refusal by MOSIP ends REPORTED without a call to OpenCRVS
// (there is nothing to reject), its reason kept for operators.

// BackfillConfig configures the jobs of historic records.
type BackfillConfig struct {
	// Workers is how many historic records are with MOSIP at once
	// (BACKFILL_WORKERS; at least 1).
	Workers int
	// System is the mediator's OpenCRVS system client, whose token adds
	// the national IDs (nil: their feedback fails until one is configured
	// and an operator retries them).
	System *opencrvs.SystemClient
	// IdentifierType is the OpenCRVS identifier type of the national ID
	// (default NATIONAL_ID).
	IdentifierType string
	// SlotReach is how far ahead a job reserves its slot of the rate and
	// waits for it; a slot further away snoozes the job instead (default
	// 2s).
	SlotReach time.Duration
}

// defaultSlotReach keeps a worker waiting for its slot no longer than this.
const defaultSlotReach = 2 * time.Second

// rateReadEvery is how often the backfill rate is read from the database:
// a backfill changes it (POST /admin/backfill), every mediator follows.
const rateReadEvery = time.Second

// EnqueueBackfillSubmit schedules sending historic transaction id's packet
// to MOSIP, on the backfill queue.
func (r *Runner) EnqueueBackfillSubmit(ctx context.Context, tx *store.Tx, id string) error {
	return r.insert(ctx, tx, SubmitArgs{TransactionID: id}, QueueSubmitBackfill)
}

// EnqueueConfirmOf schedules confirming tr's record in OpenCRVS (or, for
// a historic record, adding its national ID): historic records at River's
// lowest priority, so that on the shared feedback queue live
// confirmations go first.
func (r *Runner) EnqueueConfirmOf(ctx context.Context, tx *store.Tx, tr *bridge.Transaction) error {
	if tr.Intake != bridge.IntakeBackfill {
		return r.EnqueueConfirm(ctx, tx, tr.ID)
	}
	opts := r.opts(QueueFeedback)
	opts.Priority = backfillPriority
	if _, err := r.client.InsertTx(ctx, tx.SQL(), ConfirmArgs{TransactionID: tr.ID}, opts); err != nil {
		return &bridge.Error{Code: bridge.EUnavailable, Message: "the job queue is not available", Err: fmt.Errorf("jobs: enqueue confirm: %w", err)}
	}
	tx.AfterCommit(func() { r.cfg.Store.NotifyQueue(QueueFeedback) })
	return nil
}

// backfillPriority is River's lowest priority (1 is the highest, and the
// default).
const backfillPriority = 4

// backfillPace caches the backfill rate's interval (0: no limit), read at
// most every rateReadEvery.
type backfillPace struct {
	mu       sync.Mutex
	interval time.Duration
	readAt   time.Time
}

func (p *backfillPace) current(ctx context.Context, r *Runner) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := r.cfg.Now()
	if !p.readAt.IsZero() && now.Sub(p.readAt) < rateReadEvery {
		return p.interval, nil
	}
	iv, err := r.cfg.Store.RateInterval(ctx, store.RateBackfill)
	if err != nil {
		return 0, err
	}
	p.interval, p.readAt = iv, now
	return iv, nil
}

// backfillSubmit gets a historic transaction's packet ready to go: moved to
// the backfill queue if it was scheduled on the live one (an operator's
// retry, reconciliation's resend), then given its slot of the rate. A nil
// return means send it now; anything else is the job's result.
func (w *submitWorker) backfillSubmit(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs]) error {
	r := w.r
	if job.Queue != QueueSubmitBackfill {
		err := r.cfg.Store.InTx(ctx, func(tx *store.Tx) error { return r.EnqueueBackfillSubmit(ctx, tx, tr.ID) })
		if err != nil {
			return river.JobSnooze(r.cfg.Retry.Delay(job.Attempt))
		}
		return nil
	}
	interval, err := w.pace.current(ctx, r)
	if err != nil {
		return river.JobSnooze(time.Second) // the database is down: no attempt spent
	}
	if interval == 0 {
		return nil
	}
	wait, ok, err := r.cfg.Store.TakeSlot(ctx, store.RateBackfill, r.cfg.Now(), cmpDuration(r.cfg.Backfill.SlotReach, defaultSlotReach))
	switch {
	case err != nil:
		return river.JobSnooze(time.Second)
	case !ok:
		// Every slot within reach is taken: come back when one could be.
		return river.JobSnooze(max(wait, 10*time.Millisecond))
	case wait <= 0:
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// Stopping: run again at the next start, no attempt spent. The
		// slot is lost, which only slows the backfill down.
		return river.JobSnooze(0)
	}
}

// confirmBackfilled ends a historic transaction MOSIP completed: a birth's
// national ID is added to the registered record in OpenCRVS
// (upsertRegistrationIdentifier, with the system client's token); a death
// needs nothing back.
func (r *Runner) confirmBackfilled(ctx context.Context, tr *bridge.Transaction, job *rivertype.JobRow) error {
	reason := "MOSIP completed the historic " + string(tr.Kind) + "; OpenCRVS needs nothing back (the record stays as registered)"
	if tr.IssuesNationalID() {
		typ := cmpString(r.cfg.Backfill.IdentifierType, NationalIDType)
		if err := r.upsertNationalID(ctx, tr, typ); err != nil {
			return r.failure(ctx, tr.ID, confirmable, job, isTransientUpsert(err), fmt.Errorf("add the national ID to the registered record: %w", err))
		}
		reason = "OpenCRVS added the national ID to the registered record (" + typ + ")"
	}
	applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: confirmable, To: bridge.StateConfirmed, Attempt: job.Attempt, Reason: reason, ClearToken: true,
	})
	if applied {
		r.cfg.Metrics.RecordConfirmed(tr)
	}
	return err
}

// errSystemTokenRefused marks a system token OpenCRVS refused (401): it
// may have expired early or been revoked, so a new one is fetched and the
// call retried.
var errSystemTokenRefused = errors.New("OpenCRVS refused the system client's token; a new one is fetched for the next attempt")

func (r *Runner) upsertNationalID(ctx context.Context, tr *bridge.Transaction, typ string) error {
	nid := tr.NationalID()
	if nid == "" {
		return bridge.Errorf(bridge.EConflict, "MOSIP issued no national ID for this birth")
	}
	return r.upsertIdentifier(ctx, tr, typ, nid)
}

// upsertIdentifiers adds a split-design birth's UIN token as the record's
// MOSIP_PSUT_TOKEN_ID identifier (OpenCRVS side, WRITEBACK=graphql); a
// death has nothing to add (its AID is written with
// WRITEBACK=country-config only: OpenCRVS's GraphQL has no MOSIP_AID
// identifier type).
func (r *Runner) upsertIdentifiers(ctx context.Context, tr *bridge.Transaction) error {
	tok := tr.UINToken()
	if tr.Kind != bridge.EventBirth {
		return nil
	}
	if tok == "" {
		return bridge.Errorf(bridge.EConflict, "the MOSIP side sent no UIN token for this birth, so there is nothing to write to OpenCRVS")
	}
	return r.upsertIdentifier(ctx, tr, "MOSIP_PSUT_TOKEN_ID", tok)
}

// upsertIdentifier adds the identifier typ=value to the registered record
// of tr with the system client's token.
func (r *Runner) upsertIdentifier(ctx context.Context, tr *bridge.Transaction, typ, value string) error {
	sys := r.cfg.Backfill.System
	if sys == nil {
		return bridge.Errorf(bridge.EInvalid, "no OpenCRVS system client is configured (OPENCRVS_CLIENT_ID, OPENCRVS_CLIENT_SECRET): registered records get their national ID with it; configure it, restart, then retry the transaction")
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	token, err := sys.Token(callCtx)
	if err != nil {
		return err
	}
	err = r.cfg.OpenCRVS.UpsertRegistrationIdentifier(callCtx, token, tr.RecordID, typ, value)
	if ge := (*opencrvs.GraphQLError)(nil); errors.As(err, &ge) && ge.StatusCode == 401 {
		sys.Invalidate(token)
		return fmt.Errorf("%w: %w", errSystemTokenRefused, err)
	}
	if err != nil {
		r.noteCallError(err)
	}
	return err
}

func isTransientUpsert(err error) bool {
	return errors.Is(err, errSystemTokenRefused) || opencrvs.IsTransient(err)
}

// reportBackfilled ends a historic transaction MOSIP refused: OpenCRVS
// has nothing to reject (the record is registered), so the refusal stays
// with the transaction (its reason and MOSIP's codes) for operators.
func (r *Runner) reportBackfilled(ctx context.Context, tr *bridge.Transaction, job *rivertype.JobRow) error {
	applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: rejectable, To: bridge.StateReported, Attempt: job.Attempt, ClearToken: true,
		Reason: "MOSIP refused the historic record; OpenCRVS is not told (the record stays registered there): the reason is kept here",
	})
	if applied {
		r.cfg.Metrics.RecordRejected(tr)
		r.log.WarnContext(ctx, "MOSIP refused a backfilled record", "transaction_id", tr.ID)
	}
	return err
}

func cmpString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
