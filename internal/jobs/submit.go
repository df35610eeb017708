package jobs

import (
	"context"
	"encoding/json"
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
}

func (w *submitWorker) NextRetry(job *river.Job[SubmitArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

// submittable are the states a submit job acts in. DEAD is there so that an
// operator's retry of a dead submission runs.
var submittable = []bridge.State{bridge.StateQueued, bridge.StateDead}

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
	// Work only while the packet waits: QUEUED, or DEAD before MOSIP issued
	// anything (an operator's retry). Anything else is past submission, e.g.
	// MOSIP answered before this job recorded its own success.
	deadBeforeMOSIP := tr.State == bridge.StateDead && tr.UIN == "" && tr.VID == "" && tr.Packet.Process != ""
	if tr.State != bridge.StateQueued && !deadBeforeMOSIP {
		return nil
	}
	dto, err := packetRequest(tr, r.cfg.Packet)
	if err != nil {
		return r.failure(ctx, id, submittable, job.Attempt, job.MaxAttempts, false, err)
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
	_, err = r.cfg.Store.Transition(ctx, id, store.Change{
		From: submittable, To: bridge.StateSubmitted, Attempt: job.Attempt,
		Reason: "MOSIP accepted the packet and started process " + tr.Packet.Process,
	})
	return err
}

// failed handles a MOSIP failure: transient ones are retried; a refusal
// retrying cannot fix means MOSIP rejected the record, which OpenCRVS must
// learn.
func (w *submitWorker) failed(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs], err error) error {
	r := w.r
	if mosip.IsTransient(err) {
		return r.failure(ctx, tr.ID, submittable, job.Attempt, job.MaxAttempts, true, err)
	}
	msg := err.Error()
	txErr := r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{
			From: submittable, To: bridge.StateRejectedByMOSIP, Attempt: job.Attempt,
			Reason: "MOSIP refused the packet", LastError: &msg,
		})
		if err != nil || !ok {
			return err
		}
		return r.EnqueueReject(ctx, tx, tr.ID)
	})
	if txErr != nil {
		return txErr // River retries the whole submission; MOSIP treats it as the same packet
	}
	r.log.Warn("MOSIP refused a packet", "transaction_id", tr.ID, "attempt", job.Attempt, "err", msg)
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
