package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

// SubmitArgs sends a transaction's packet to MOSIP: createPacket, then the
// registration processor's workflow instance.
type SubmitArgs struct {
	TransactionID string `json:"transaction_id"`
}

func (SubmitArgs) Kind() string { return "submit" }

type submitWorker struct {
	river.WorkerDefaults[SubmitArgs]
	r *Runner
	// pace is the backfill queue's rate (backfill.go).
	pace backfillPace
}

func (w *submitWorker) NextRetry(job *river.Job[SubmitArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

// submittable are the states a submit job acts in (an operator's retry of a
// DEAD submission moves it back to QUEUED first).
var submittable = []bridge.State{bridge.StateQueued}

func (w *submitWorker) Work(ctx context.Context, job *river.Job[SubmitArgs]) error {
	r := w.r
	id := job.Args.TransactionID
	tr, err := r.cfg.Store.TransactionWithPacket(ctx, id)
	if bridge.ErrorCodeOf(err) == bridge.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	// Work only while the packet waits. Anything else is past submission,
	// e.g. MOSIP answered before this job recorded its own success.
	if tr.State != bridge.StateQueued {
		return nil
	}
	if tr.Intake == bridge.IntakeBackfill {
		// A historic record: on its own queue, at its rate (backfill.go).
		if err := w.backfillSubmit(ctx, tr, job); err != nil || job.Queue != QueueSubmitBackfill {
			return err
		}
	}
	switch {
	case tr.Intake == bridge.IntakeWebhook:
		return w.forward(ctx, tr, job) // split.go
	case tr.Intake == bridge.IntakePeer && tr.Kind == bridge.EventDeath && r.cfg.Split.DeactivateDeaths:
		return w.deactivate(ctx, tr, job)
	case tr.Intake == bridge.IntakePeer && tr.Kind == bridge.EventBirth && r.cfg.Split.Uploader != nil:
		return w.uploadPacket(ctx, tr, job)
	}
	if tr.Packet.Process == "" {
		// Imported from the Node mosip-api, which kept no packet: sending
		// an empty one would make MOSIP refuse the record in the
		// registrar's name. An operator decides instead.
		return r.failure(ctx, id, submittable, job.JobRow, false, bridge.Errorf(bridge.EConflict,
			"no packet is kept for this transaction (imported from mosip-api, which kept none), so it cannot be sent to MOSIP again: cancel it (tx cancel), then send the record again from OpenCRVS"))
	}
	if tr.Packet.Process == bridge.ProcessIDRepoUpdate {
		return w.updateIdentity(ctx, tr, job)
	}
	dto, err := packetRequest(tr, r.cfg.Packet)
	if err != nil {
		return r.failure(ctx, id, submittable, job.JobRow, false, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	if _, err := r.cfg.MOSIP.CreatePacket(callCtx, dto); err != nil {
		return w.failed(ctx, tr, job, fmt.Errorf("create packet: %w", err))
	}
	callCtx, cancel = context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	notify := tr.Packet.Notification
	_, err = r.cfg.MOSIP.StartWorkflow(callCtx, &mosip.WorkflowRequest{
		RegistrationID:   tr.ID,
		Process:          tr.Packet.Process,
		Source:           r.cfg.Packet.Source,
		NotificationInfo: mosip.NotificationInfo{Name: notify.Name, Phone: notify.Phone, Email: notify.Email},
	})
	if err != nil {
		return w.failed(ctx, tr, job, fmt.Errorf("start workflow: %w", err))
	}
	checkAt := r.cfg.Now().Add(r.cfg.Reconcile.After)
	_, err = r.cfg.Store.Transition(ctx, id, store.Change{
		From: submittable, To: bridge.StateSubmitted, Attempt: job.Attempt, CheckAt: &checkAt,
		Reason: "MOSIP accepted the packet and started process " + tr.Packet.Process,
	})
	return err
}

// updateIdentity makes a transaction's change through the ID repository's
// update API (a death reversal's reactivation): the UIN ACTIVATED and the
// packet's fields set. MOSIP answers at once, so the transaction is ISSUED
// (done in MOSIP) on success. The AID names the change: a repeat after a
// crash is refused as already recorded (IDR-IDC-012), which is success.
func (w *submitWorker) updateIdentity(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs]) error {
	r := w.r
	identity := make(map[string]any, len(tr.Packet.Fields)+1)
	for k, v := range tr.Packet.Fields {
		identity[k] = v
	}
	// MOSIP picks the schema to check the update against by it, and
	// refuses an update without it (IDR-IDC-001).
	if _, ok := identity["IDSchemaVersion"]; !ok {
		identity["IDSchemaVersion"] = json.Number(r.cfg.Packet.SchemaVersion)
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	err := r.cfg.MOSIP.UpdateIdentity(callCtx, tr.UIN, mosip.IdentityUpdateRequest{
		RegistrationID: tr.ID, Status: mosip.UINActivated, Identity: identity,
	})
	reason := "MOSIP's ID repository reactivated the identity"
	var ae *mosip.APIError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.HasCode(mosip.CodeRecordExists):
		reason = "MOSIP's ID repository had already made this change"
	default:
		return w.failed(ctx, tr, job, fmt.Errorf("update identity: %w", err))
	}
	return r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{From: submittable, To: bridge.StateIssued, Attempt: job.Attempt, Reason: reason})
		if err != nil || !ok {
			return err
		}
		return r.EnqueueConfirm(ctx, tx, tr.ID)
	})
}

// failed handles a MOSIP failure: transient ones are retried; a refusal
// retrying cannot fix means MOSIP rejected the record, which OpenCRVS must
// learn.
func (w *submitWorker) failed(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs], err error) error {
	r := w.r
	r.noteCallError(err)
	if mosip.IsTransient(err) {
		return r.failure(ctx, tr.ID, submittable, job.JobRow, true, err)
	}
	msg := err.Error()
	reason := r.cfg.Reasons.ExplainError(err)
	txErr := r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{
			From: submittable, To: bridge.StateRejectedByMOSIP, Attempt: job.Attempt,
			Reason: "MOSIP refused the packet", LastError: &msg, RejectReason: &reason,
		})
		if err != nil || !ok {
			return err
		}
		return r.EnqueueReject(ctx, tx, tr.ID)
	})
	if txErr != nil {
		return txErr // River retries the whole submission; MOSIP treats it as the same packet
	}
	r.log.WarnContext(ctx, "MOSIP refused a packet", "transaction_id", tr.ID, "attempt", job.Attempt, "err", msg)
	return nil
}

// packetRequest builds the createPacket request of a transaction. Field
// values that are JSON strings are sent as they are; other JSON values as
// their JSON text (MOSIP's convention for multilingual and structured
// fields).
func packetRequest(tr *bridge.Transaction, cfg PacketConfig) (*mosip.PacketDto, error) {
	fields, err := stringMap(tr.Packet.Fields)
	if err != nil {
		return nil, fmt.Errorf("packet fields: %w", err)
	}
	meta, err := stringMap(tr.Packet.MetaInfo)
	if err != nil {
		return nil, fmt.Errorf("packet metaInfo: %w", err)
	}
	audit, err := stringMap(tr.Packet.Audit)
	if err != nil {
		return nil, fmt.Errorf("packet audit: %w", err)
	}
	schema := tr.Packet.SchemaJSON
	if schema == "" {
		schema = cfg.SchemaJSON
	}
	return &mosip.PacketDto{
		ID:            tr.ID,
		RefID:         cfg.RefID,
		OfflineMode:   false,
		Process:       tr.Packet.Process,
		Source:        cfg.Source,
		SchemaVersion: cfg.SchemaVersion,
		SchemaJSON:    schema,
		Fields:        fields,
		MetaInfo:      meta,
		Audits:        []map[string]string{audit},
	}, nil
}

func stringMap(m map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, raw := range m {
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = s
			continue
		}
		out[k] = string(raw)
	}
	return out, nil
}
