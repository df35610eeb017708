package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/store"
)

// IdentityUpdateConfig is where identity changes MOSIP announces go.
type IdentityUpdateConfig struct {
	// Reader reads the changed identity from MOSIP's ID repository.
	Reader interface {
		IdentityByNationalID(ctx context.Context, id, idType string) (*mosip.Identity, error)
	}
	// Sink is OpenCRVS's end (the country configuration's endpoint).
	Sink *opencrvs.UpdateSink
}

// IdentityUpdateArgs sends OpenCRVS the data of an identity MOSIP changed
// (a resident updated it in MOSIP), for the civil record the mediator
// registered it from.
type IdentityUpdateArgs struct {
	TransactionID string   `json:"transaction_id"`
	EventID       string   `json:"event_id"`
	Changed       []string `json:"changed,omitempty"`
}

func (IdentityUpdateArgs) Kind() string { return "identity_update" }

// EnqueueIdentityUpdate schedules telling OpenCRVS that the identity of
// transaction id changed.
func (r *Runner) EnqueueIdentityUpdate(ctx context.Context, tx *store.Tx, args IdentityUpdateArgs) error {
	return r.insert(ctx, tx, args, QueueFeedback)
}

type identityUpdateWorker struct {
	river.WorkerDefaults[IdentityUpdateArgs]
	r *Runner
}

func (w *identityUpdateWorker) NextRetry(job *river.Job[IdentityUpdateArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

// notDemographic are identity fields never sent to OpenCRVS: identifiers
// it has or must not have, and what is not demographic data.
var notDemographic = []string{"UIN", "VID", "vid", "IDSchemaVersion", "registrationType", "individualBiometrics",
	"individualAuthBiometrics", "introducerBiometrics", "selectedHandles", "handleIdType", "handleIdValue"}

// IdentityUpdate is what OpenCRVS receives: which civil record, which
// identity (its VID, else its UIN), what changed and the identity's data
// now, as MOSIP holds it.
type IdentityUpdate struct {
	EventID            string                     `json:"eventId"`
	RecordID           string                     `json:"recordId"`
	TrackingID         string                     `json:"trackingId"`
	RegistrationNumber string                     `json:"registrationNumber"`
	TransactionID      string                     `json:"transactionId"`
	NationalID         string                     `json:"nationalId"`
	Status             string                     `json:"status"`
	Changed            []string                   `json:"changed"`
	Fields             map[string]json.RawMessage `json:"fields"`
}

func (w *identityUpdateWorker) Work(ctx context.Context, job *river.Job[IdentityUpdateArgs]) error {
	r := w.r
	cfg := r.cfg.IdentityUpdates
	tr, err := r.cfg.Store.Transaction(ctx, job.Args.TransactionID)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	id, idType := tr.UIN, "UIN"
	if id == "" { // a credential may carry the VID alone
		id, idType = tr.VID, "VID"
	}
	ident, err := cfg.Reader.IdentityByNationalID(callCtx, id, idType)
	cancel()
	if err != nil {
		r.noteCallError(err)
		return w.failed(job, fmt.Errorf("read the identity: %w", err), mosip.IsTransient(err))
	}
	fields := map[string]json.RawMessage{}
	for k, v := range ident.Fields {
		if slices.Contains(notDemographic, k) {
			continue
		}
		if len(job.Args.Changed) > 0 && !slices.Contains(job.Args.Changed, k) {
			continue
		}
		fields[k] = v
	}
	body, err := json.Marshal(IdentityUpdate{
		EventID: job.Args.EventID, RecordID: tr.RecordID, TrackingID: tr.TrackingID, RegistrationNumber: tr.RegistrationNumber,
		TransactionID: tr.ID, NationalID: tr.NationalID(), Status: ident.Status, Changed: job.Args.Changed, Fields: fields,
	})
	if err != nil {
		return river.JobCancel(err)
	}
	callCtx, cancel = context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	if err := cfg.Sink.Send(callCtx, job.Args.EventID, body); err != nil {
		return w.failed(job, fmt.Errorf("send to OpenCRVS: %w", err), opencrvs.IsTransient(err))
	}
	r.log.InfoContext(ctx, "identity update sent to OpenCRVS", "transaction_id", tr.ID, "event_id", job.Args.EventID, "changed", len(fields))
	return nil
}

// failed retries a transient failure and gives up on another, loudly: the
// civil record keeps its old data until an operator looks.
func (w *identityUpdateWorker) failed(job *river.Job[IdentityUpdateArgs], err error, transient bool) error {
	if transient && job.Attempt < job.MaxAttempts {
		return err
	}
	w.r.log.Error("identity update not delivered to OpenCRVS", "transaction_id", job.Args.TransactionID,
		"event_id", job.Args.EventID, "attempt", job.Attempt, "err", err)
	return river.JobCancel(err)
}
