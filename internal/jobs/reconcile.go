package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// IdentityLookup finds the UIN and VID MOSIP gave the identity a
// registration (RID) created: how reconciliation completes a birth whose
// credential never arrived.
type IdentityLookup interface {
	NationalIDOf(ctx context.Context, rid string) (uin, vid string, err error)
}

// ReconcileArgs asks MOSIP for the status of the transactions that were
// SUBMITTED a while ago and heard nothing since: a lost WebSub delivery, a
// rejection MOSIP announces to nobody, a death MOSIP publishes no credential
// for, or a packet MOSIP lost. It runs every ReconcileInterval.
type ReconcileArgs struct{}

func (ReconcileArgs) Kind() string { return "reconcile" }

// Registration statuses, as the status search answers them: MOSIP's
// internal codes (RegistrationStatusCode) or its external ones
// (RegistrationExternalStatusCode).
var (
	statusDone    = []string{"PROCESSED", "UIN_GENERATED"}
	statusRefused = []string{"REJECTED", "FAILED", "REPROCESS_FAILED", "REREGISTER"}
	statusResend  = []string{"RESEND"}
)

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	r *Runner
}

// Timeout: one status search per 100 transactions, and a look-up per birth
// completed without its credential.
func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration {
	return 10 * w.r.cfg.CallTimeout
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	r := w.r
	due, err := r.cfg.Store.DueForCheck(ctx, r.cfg.Now(), r.cfg.Reconcile.Batch)
	if err != nil || len(due) == 0 {
		return err
	}
	ids := make([]string, len(due))
	for i, tr := range due {
		ids[i] = tr.ID
	}
	callCtx, cancel := context.WithTimeout(ctx, 2*r.cfg.CallTimeout)
	statuses, err := r.cfg.MOSIP.SearchStatus(callCtx, ids)
	cancel()
	if err != nil {
		r.noteCallError(err)
		// The next run asks again; nothing is lost meanwhile.
		r.log.WarnContext(ctx, "reconciliation: MOSIP status search failed; will ask again", "transactions", len(ids), "err", err)
		return nil
	}
	byID := make(map[string]string, len(statuses))
	for _, st := range statuses {
		byID[st.RegistrationID] = st.StatusCode
	}
	var counts = map[string]int{}
	for _, tr := range due {
		if ctx.Err() != nil {
			break
		}
		outcome, err := w.apply(ctx, tr, byID[tr.ID])
		if err != nil {
			r.log.WarnContext(ctx, "reconciliation: could not apply MOSIP's status; will ask again", "transaction_id", tr.ID, "err", err)
			outcome = "error"
		}
		counts[outcome]++
	}
	if counts["done-birth"] > 0 && r.cfg.Subscriber != nil {
		// Births finished without their credential: deliveries may have
		// stopped because the hub forgot us.
		r.cfg.Subscriber.Suspect(ctx)
	}
	counts["done"] += counts["done-birth"]
	r.log.InfoContext(ctx, "reconciliation", "checked", len(due), "completed", counts["done"], "refused", counts["refused"],
		"resubmitted", counts["resubmitted"], "waiting", counts["waiting"], "errors", counts["error"])
	return nil
}

// apply acts on one transaction's status ("" when MOSIP does not know it)
// and names what it did.
func (w *reconcileWorker) apply(ctx context.Context, tr *bridge.Transaction, status string) (string, error) {
	r := w.r
	submitted := []bridge.State{bridge.StateSubmitted}
	switch {
	case status == "" && tr.Checks == 0:
		// Unknown: look once more before sending again.
		return "waiting", r.cfg.Store.NoteCheck(ctx, tr.ID, r.cfg.Now().Add(r.cfg.Reconcile.After))
	case status == "" || slices.Contains(statusResend, status):
		// MOSIP lost the packet (or asks for it again): send it again. The
		// same AID makes createPacket replace it and the workflow start
		// idempotent, so a packet MOSIP did have is not duplicated.
		why := "MOSIP does not know the registration: sending the packet again"
		if status != "" {
			why = "MOSIP asks for the packet again (status " + status + ")"
		}
		return "resubmitted", r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			ok, err := tx.Transition(ctx, tr.ID, store.Change{From: submitted, To: bridge.StateQueued, Reason: why})
			if err != nil || !ok {
				return err
			}
			return r.EnqueueSubmit(ctx, tx, tr.ID)
		})
	case slices.Contains(statusRefused, status):
		technical := "registration status " + status
		reason := r.cfg.Reasons.Explain(StatusKey(status))
		return "refused", r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			ok, err := tx.Transition(ctx, tr.ID, store.Change{
				From: submitted, To: bridge.StateRejectedByMOSIP, Reason: "MOSIP's registration status is " + status,
				LastError: &technical, RejectReason: &reason,
			})
			if err != nil || !ok {
				return err
			}
			return r.EnqueueReject(ctx, tx, tr.ID)
		})
	case slices.Contains(statusDone, status):
		change := store.Change{From: submitted, To: bridge.StateIssued,
			Reason: fmt.Sprintf("MOSIP processed the registration (status %s) and no credential arrived", status)}
		if tr.IssuesNationalID() {
			if r.cfg.Identities == nil {
				r.log.WarnContext(ctx, "reconciliation: MOSIP processed a birth whose credential never arrived, and no ID repository is configured to read its UIN (MOSIP_IDENTITY_URL)", "transaction_id", tr.ID)
				return "waiting", r.cfg.Store.NoteCheck(ctx, tr.ID, r.nextCheck(tr))
			}
			callCtx, cancel := context.WithTimeout(ctx, 2*r.cfg.CallTimeout)
			uin, vid, err := r.cfg.Identities.NationalIDOf(callCtx, tr.ID)
			cancel()
			r.noteCallError(err)
			if err != nil || uin == "" && vid == "" {
				if err == nil {
					err = errors.New("the ID repository has no UIN for the registration yet")
				}
				return "waiting", errors.Join(fmt.Errorf("read the UIN from MOSIP's ID repository: %w", err),
					r.cfg.Store.NoteCheck(ctx, tr.ID, r.nextCheck(tr)))
			}
			change.UIN, change.VID = &uin, &vid
			change.Reason += "; the national ID was read from MOSIP's ID repository"
		}
		outcome := "done"
		if tr.IssuesNationalID() {
			outcome = "done-birth"
		}
		return outcome, r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			ok, err := tx.Transition(ctx, tr.ID, change)
			if err != nil || !ok {
				return err
			}
			return r.EnqueueConfirmOf(ctx, tx, tr)
		})
	default:
		// Still being processed (or paused for manual adjudication).
		return "waiting", r.cfg.Store.NoteCheck(ctx, tr.ID, r.nextCheck(tr))
	}
}

// nextCheck backs off: After, doubled per check already made, capped at
// MaxInterval.
func (r *Runner) nextCheck(tr *bridge.Transaction) time.Time {
	d := r.cfg.Reconcile.After
	for i := 0; i < tr.Checks && d < r.cfg.Reconcile.MaxInterval; i++ {
		d *= 2
	}
	return r.cfg.Now().Add(min(d, r.cfg.Reconcile.MaxInterval))
}
