package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/store"
)

// NationalIDType is the OpenCRVS identifier type the national id is
// confirmed with.
const NationalIDType = "NATIONAL_ID"

// ConfirmArgs confirms a record in OpenCRVS: with the national id MOSIP
// issued, or without one when the rules did not forward the record.
type ConfirmArgs struct {
	TransactionID string `json:"transaction_id"`
	// CredentialRequestID is, on the MOSIP side of the split design, the
	// credential's request id (the CREDENTIAL_ISSUED event's
	// transactionId): its status is published once the OpenCRVS side has
	// the result.
	CredentialRequestID string `json:"credential_request_id,omitempty"`
}

func (ConfirmArgs) Kind() string { return "confirm" }

type confirmWorker struct {
	river.WorkerDefaults[ConfirmArgs]
	r *Runner
}

func (w *confirmWorker) NextRetry(job *river.Job[ConfirmArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

var confirmable = []bridge.State{bridge.StateIssued, bridge.StateSkipped}

func (w *confirmWorker) Work(ctx context.Context, job *river.Job[ConfirmArgs]) error {
	r := w.r
	tr, ok, err := r.load(ctx, job.Args.TransactionID, bridge.StateIssued, bridge.StateSkipped)
	if !ok {
		return err
	}
	if !tr.Kind.HasOpenCRVSRecord() {
		// A death reversal: its caller reads the outcome; no OpenCRVS record
		// waits for it.
		applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
			From: confirmable, To: bridge.StateConfirmed, Attempt: job.Attempt, ClearToken: true,
			Reason: "MOSIP completed the " + string(tr.Kind),
		})
		if applied {
			r.cfg.Metrics.RecordConfirmed(tr)
		}
		return err
	}
	if tr.Intake == bridge.IntakeBackfill {
		// Registered before: its national ID is added (backfill.go).
		return r.confirmBackfilled(ctx, tr, job.JobRow)
	}
	if tr.Intake == bridge.IntakeWebhook || tr.Intake == bridge.IntakePeer {
		return r.confirmSplit(ctx, tr, job) // split.go
	}
	if err := r.checkToken(tr); err != nil {
		return r.failure(ctx, tr.ID, confirmable, job.JobRow, false, err)
	}
	var ids []opencrvs.Identifier
	// Only a birth registration brings OpenCRVS a national ID; a death or a
	// correction is confirmed with its registration number alone.
	if nid := tr.NationalID(); nid != "" && tr.IssuesNationalID() {
		ids = []opencrvs.Identifier{{Type: NationalIDType, Value: nid}}
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	err = r.confirmInOpenCRVS(callCtx, tr, ids) // GraphQL (1.8) or tRPC (1.9)
	reason := "OpenCRVS registered the record"
	switch {
	case err == nil:
	case opencrvs.IsAlreadyDone(err):
		reason = "OpenCRVS had already registered the record"
	default:
		r.noteCallError(err)
		return r.failure(ctx, tr.ID, confirmable, job.JobRow, opencrvs.IsTransient(err), fmt.Errorf("confirm registration: %w", err))
	}
	if tr.State == bridge.StateSkipped {
		reason += " without a national ID (not forwarded to MOSIP)"
	}
	// Counted only by the run that made the change: a job run again after
	// it (a crash before River recorded the success) counts nothing.
	applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: confirmable, To: bridge.StateConfirmed, Attempt: job.Attempt, Reason: reason, ClearToken: true,
	})
	if applied {
		r.cfg.Metrics.RecordConfirmed(tr)
	}
	return err
}

// RejectArgs tells OpenCRVS that MOSIP refused a record, and why.
type RejectArgs struct {
	TransactionID string `json:"transaction_id"`
}

func (RejectArgs) Kind() string { return "reject" }

type rejectWorker struct {
	river.WorkerDefaults[RejectArgs]
	r *Runner
}

func (w *rejectWorker) NextRetry(job *river.Job[RejectArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

// RejectReason is the OpenCRVS rejection reason code used for MOSIP
// refusals; the comment carries MOSIP's explanation.
const RejectReason = "other"

var rejectable = []bridge.State{bridge.StateRejectedByMOSIP}

func (w *rejectWorker) Work(ctx context.Context, job *river.Job[RejectArgs]) error {
	r := w.r
	tr, ok, err := r.load(ctx, job.Args.TransactionID, bridge.StateRejectedByMOSIP)
	if !ok {
		return err
	}
	if !tr.Kind.HasOpenCRVSRecord() {
		applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
			From: rejectable, To: bridge.StateReported, Attempt: job.Attempt, ClearToken: true,
			Reason: "MOSIP refused the " + string(tr.Kind) + "; its caller reads why",
		})
		if applied {
			r.cfg.Metrics.RecordRejected(tr)
		}
		return err
	}
	if tr.Intake == bridge.IntakeBackfill {
		// Registered before: nothing to reject in OpenCRVS (backfill.go).
		return r.reportBackfilled(ctx, tr, job.JobRow)
	}
	if tr.Intake == bridge.IntakeWebhook || tr.Intake == bridge.IntakePeer {
		return r.reportSplit(ctx, tr, job) // split.go
	}
	if err := r.checkToken(tr); err != nil {
		return r.failure(ctx, tr.ID, rejectable, job.JobRow, false, err)
	}
	reason := tr.RejectReason
	if reason == "" {
		reason = r.cfg.Reasons.Explain()
	}
	comment := rejectComment(reason, tr.ID, tr.LastError)
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	err = r.rejectInOpenCRVS(callCtx, tr, comment) // GraphQL (1.8) or tRPC (1.9)
	if err != nil && !opencrvs.IsAlreadyDone(err) {
		r.noteCallError(err)
		return r.failure(ctx, tr.ID, rejectable, job.JobRow, opencrvs.IsTransient(err), fmt.Errorf("reject registration: %w", err))
	}
	applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: rejectable, To: bridge.StateReported, Attempt: job.Attempt,
		Reason: "OpenCRVS was told why MOSIP refused the record", ClearToken: true,
	})
	if applied {
		r.cfg.Metrics.RecordRejected(tr)
	}
	return err
}

// load reads a transaction for a job and says whether the job has work:
// the transaction is in one of states. (An operator's retry moves a DEAD
// transaction back to the state it died in before its job runs.)
func (r *Runner) load(ctx context.Context, id string, states ...bridge.State) (*bridge.Transaction, bool, error) {
	tr, err := r.cfg.Store.Transaction(ctx, id)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return nil, false, river.JobCancel(err)
	}
	if err != nil {
		return nil, false, err
	}
	for _, s := range states {
		if tr.State == s {
			return tr, true, nil
		}
	}
	return nil, false, nil
}

// checkToken refuses to call OpenCRVS with a token that is gone or expired:
// OpenCRVS would answer 401 forever.
func (r *Runner) checkToken(tr *bridge.Transaction) error {
	if tr.Token == "" {
		return bridge.Errorf(bridge.EConflict, "no OpenCRVS token is kept for this record")
	}
	if exp, ok := tokenExpiry(tr.Token); ok && !r.cfg.Now().Before(exp) {
		return bridge.Errorf(bridge.EConflict, "the OpenCRVS record token expired at %s before the record could be completed: send the record again from OpenCRVS (its new token replaces the old one), then retry", exp.UTC().Format(time.RFC3339))
	}
	return nil
}
