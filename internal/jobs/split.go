package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/peer"
	"opencrvs-mosip/internal/store"
)

// The split design's jobs. Which path a transaction takes is decided by
// its intake, not by the role, so that an operator reading a transaction
// knows where it went:
//   - bridge.IntakeWebhook (OpenCRVS side): submit forwards the record,
//     sealed, to the MOSIP side; MOSIP's answer comes back through
//     /birthReceiveNid and confirm writes it to the registered record.
//   - bridge.IntakePeer (MOSIP side): submit syncs and uploads the packet
//     (or deactivates the deceased's UIN); confirm and reject send the
//     outcome, sealed, back to the OpenCRVS side.

// Peer is the other mediator (peer.Client).
type Peer interface {
	Forward(ctx context.Context, kind bridge.EventKind, id string, payload []byte) (peer.ForwardAnswer, error)
	GenerateAID(ctx context.Context) (string, error)
	SendResult(ctx context.Context, id string, res peer.Result) error
}

// WriteBack writes MOSIP's answer to a registered OpenCRVS record
// (OpenCRVS side).
type WriteBack interface {
	// WriteBack stores what MOSIP's answer gives the record: for a birth
	// the UIN token (tr.UINToken()), and, where the target has a place
	// for it, the AID.
	WriteBack(ctx context.Context, tr *bridge.Transaction) error
}

// SplitConfig configures the split design's jobs.
type SplitConfig struct {
	// Peer is the other mediator (nil: not the split design).
	Peer Peer
	// OpenCRVS side: AIDFromPeer makes AIDs with the MOSIP side's
	// generateAid; WriteBack writes MOSIP's answers.
	AIDFromPeer bool
	WriteBack   WriteBack
	// MOSIP side: Uploader syncs and uploads birth packets (nil: the
	// packet manager, as the direct mediator); DeactivateDeaths marks a
	// deceased's UIN DEACTIVATED instead of sending a death packet; PSUT
	// names the partners of the UIN token sent back; HubURL is where the
	// credential status is published.
	Uploader         *mosip.Uploader
	DeactivateDeaths bool
	PSUT             mosip.PSUTPartners
	HubURL           string
	// CentreID and MachineID make the packets' reference id.
	CentreID, MachineID string
	// Webhooks keeps the OpenCRVS side's webhook subscriptions, checked
	// every WebhookCheck (nil: no subscription job).
	Webhooks     WebhookSubscriptions
	WebhookCheck time.Duration
}

// EnqueueSubmitOnce schedules the submission of transaction id unless one
// is already waiting or running: the hand-off (Kafka) may deliver a record
// twice, and two submissions at once would upload its packet twice.
func (r *Runner) EnqueueSubmitOnce(ctx context.Context, tx *store.Tx, id string) error {
	opts := r.opts(QueueSubmit)
	opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}
	if _, err := r.client.InsertTx(ctx, tx.SQL(), SubmitArgs{TransactionID: id}, opts); err != nil {
		return &bridge.Error{Code: bridge.EUnavailable, Message: "the job queue is not available", Err: fmt.Errorf("jobs: enqueue submit: %w", err)}
	}
	tx.AfterCommit(func() { r.cfg.Store.NotifyQueue(QueueSubmit) })
	return nil
}

// forward sends a webhook record, sealed, to the MOSIP side (OpenCRVS
// side). The envelope's id is the transaction id, so the MOSIP side
// recognises a resend; the record carries its AID as MOSIP_AID.
func (w *submitWorker) forward(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs]) error {
	r := w.r
	sp := r.cfg.Split
	aid := tr.ID
	if sp.AIDFromPeer {
		aid = tr.PeerID
		if aid == "" {
			callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
			got, err := sp.Peer.GenerateAID(callCtx)
			cancel()
			if err != nil {
				return r.failure(ctx, tr.ID, submittable, job.JobRow, peer.IsTransient(err), fmt.Errorf("generate AID at the MOSIP side: %w", err))
			}
			if aid, err = r.setPeerID(ctx, tr.ID, got); err != nil {
				return err
			}
		}
	}
	payload, err := withMOSIPAID(tr.Packet.Record, aid)
	if err != nil {
		return r.failure(ctx, tr.ID, submittable, job.JobRow, false, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	ans, err := sp.Peer.Forward(callCtx, tr.Kind, tr.ID, payload)
	if err != nil {
		r.noteCallError(err)
		// A refusal at the MOSIP side's door is not MOSIP refusing the
		// record (that comes back as a result): a token or role, a key, a
		// clock out of the envelope window, a bug. The transaction waits,
		// DEAD with the reason, for an operator to fix it and retry it:
		// OpenCRVS will not deliver the record again.
		return r.failure(ctx, tr.ID, submittable, job.JobRow, peer.IsTransient(err), fmt.Errorf("forward to the MOSIP side: %w", err))
	}
	if ans.AID != "" {
		if _, err := r.setPeerID(ctx, tr.ID, ans.AID); err != nil {
			return err
		}
	}
	checkAt := r.cfg.Now().Add(100 * 365 * 24 * time.Hour) // no MOSIP to ask from here: the answer comes back
	_, err = r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: submittable, To: bridge.StateSubmitted, Attempt: job.Attempt, CheckAt: &checkAt,
		Reason: "the MOSIP-side mediator accepted the record (AID " + cmpString(ans.AID, aid) + ")",
	})
	return err
}

func (r *Runner) setPeerID(ctx context.Context, id, peerID string) (string, error) {
	var kept string
	err := r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		kept, err = tx.SetPeerID(ctx, id, peerID)
		return err
	})
	return kept, err
}

// refused records a refusal retrying cannot fix: the transaction is
// REJECTED_BY_MOSIP with the reason, and its reject job tells whoever
// waits.
func (r *Runner) refused(ctx context.Context, tr *bridge.Transaction, attempt int, what string, cause error) error {
	msg := cause.Error()
	reason := r.cfg.Reasons.ExplainError(cause)
	err := r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{
			From: submittable, To: bridge.StateRejectedByMOSIP, Attempt: attempt,
			Reason: what, LastError: &msg, RejectReason: &reason,
		})
		if err != nil || !ok {
			return err
		}
		if tr.Intake == bridge.IntakePeer {
			if err := tx.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageFailed, Reason: msg}); err != nil {
				return err
			}
		}
		return r.EnqueueReject(ctx, tx, tr.ID)
	})
	if err == nil {
		r.log.WarnContext(ctx, what, "transaction_id", tr.ID, "attempt", attempt, "err", msg)
	}
	return err
}

// withMOSIPAID adds the identifier MOSIP_AID=aid to the subject of the
// webhook payload's bundle, the Patient the MOSIP side will read as the
// record's subject (fhir.WithSubjectIdentifier), replacing one it has. The
// rest of the payload is kept as it came.
func withMOSIPAID(payload []byte, aid string) ([]byte, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, fmt.Errorf("the stored webhook payload is not a JSON object: %w", err)
	}
	var event map[string]json.RawMessage
	if err := json.Unmarshal(body["event"], &event); err != nil {
		return nil, fmt.Errorf("the stored webhook payload has no event: %w", err)
	}
	var contexts []json.RawMessage
	if err := json.Unmarshal(event["context"], &contexts); err != nil || len(contexts) == 0 {
		return nil, fmt.Errorf("the stored webhook payload has no event.context bundle")
	}
	var err error
	if contexts[0], err = fhir.WithSubjectIdentifier(contexts[0], "MOSIP_AID", aid); err != nil {
		return nil, fmt.Errorf("the stored webhook bundle: %w", err)
	}
	if event["context"], err = json.Marshal(contexts); err != nil {
		return nil, err
	}
	if body["event"], err = json.Marshal(event); err != nil {
		return nil, err
	}
	return json.Marshal(body)
}

// uploadPacket builds a birth's packet, syncs it with the registration
// processor and uploads it to the packet receiver (MOSIP side). Each
// attempt builds, syncs and uploads anew: a build is encrypted with a
// fresh nonce, so an attempt that stopped between sync and upload (a
// restart) syncs the new build before uploading it. The packet receiver
// answers a packet it already has as done.
func (w *submitWorker) uploadPacket(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs]) error {
	r := w.r
	sp := r.cfg.Split
	fields, err := stringMap(tr.Packet.Fields)
	if err != nil {
		return r.failure(ctx, tr.ID, submittable, job.JobRow, false, err)
	}
	meta := map[string]string{}
	if tr.RegistrationNumber != "" {
		meta["opencrvsBRN"] = tr.RegistrationNumber
	}
	stage := func(status, reason string) error {
		return r.cfg.Store.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: status, Reason: reason})
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	pkt, err := sp.Uploader.BuildPacket(callCtx, mosip.PacketInput{
		RID: tr.ID, CenterID: sp.CentreID, MachineID: sp.MachineID, Process: tr.Packet.Process,
		Source: r.cfg.Packet.Source, SchemaVersion: r.cfg.Packet.SchemaVersion, Fields: fields, MetaData: meta,
		OperationsData: map[string]string{"officerId": "opencrvs"},
	})
	if err != nil {
		return w.failedPeer(ctx, tr, job, "build the packet", err)
	}
	if err := stage(store.StagePacketCreated, ""); err != nil {
		return err
	}
	callCtx, cancel = context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	if err := sp.Uploader.SyncPacket(callCtx, pkt.SyncRequest("UIN for a birth registered in OpenCRVS ("+tr.RegistrationNumber+")")); err != nil {
		return w.failedPeer(ctx, tr, job, "sync the packet", err)
	}
	if err := stage(store.StagePacketSynced, ""); err != nil {
		return err
	}
	callCtx, cancel = context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	if err := sp.Uploader.UploadPacket(callCtx, tr.ID, pkt.Zip); err != nil {
		return w.failedPeer(ctx, tr, job, "upload the packet", err)
	}
	checkAt := r.cfg.Now().Add(r.cfg.Reconcile.After)
	return r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{
			From: submittable, To: bridge.StateSubmitted, Attempt: job.Attempt, CheckAt: &checkAt,
			Reason: "the packet was synced and uploaded to MOSIP's registration processor (process " + tr.Packet.Process + ")",
		})
		if err != nil || !ok {
			return err
		}
		return tx.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageUploaded})
	})
}

// failedPeer is submitWorker.failed for the MOSIP side: transient
// failures are retried, others recorded as MOSIP's refusal (with the
// stage Failed and the reason) and sent back to the OpenCRVS side.
func (w *submitWorker) failedPeer(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs], step string, err error) error {
	r := w.r
	r.noteCallError(err)
	err = fmt.Errorf("%s: %w", step, err)
	if mosip.IsTransient(err) || (syncMismatch(err) && job.Attempt < mismatchRetries) {
		return r.failure(ctx, tr.ID, submittable, job.JobRow, true, err)
	}
	return r.refused(ctx, tr, job.Attempt, "MOSIP refused the packet", err)
}

// mismatchRetries is how many attempts a packet the receiver found
// different from its sync gets: each attempt builds, syncs and uploads
// anew, so a packet damaged on the way (or a sync from an attempt cut
// short) is fixed by the next one; a mismatch that stays is a fault
// retrying cannot fix, and MOSIP's refusal is reported.
const mismatchRetries = 3

// syncMismatch reports whether the packet receiver refused an upload for
// differing from its sync (hash, size, hash sequence).
func syncMismatch(err error) bool {
	var ae *mosip.APIError
	return errors.As(err, &ae) && (ae.HasCode("RPR-PKR-009") || ae.HasCode("RPR-PKR-013") || ae.HasCode("RPR-PKR-014"))
}

// deactivate marks a deceased's identity DEACTIVATED in MOSIP's ID
// repository (MOSIP side, DEATH_MODE=deactivate): the UIN is found from the
// national ID the record names (a UIN or a VID). MOSIP answers at once, so
// the transaction is ISSUED and the OpenCRVS side is told.
func (w *submitWorker) deactivate(ctx context.Context, tr *bridge.Transaction, job *river.Job[SubmitArgs]) error {
	r := w.r
	_, nid := bridge.IdentityRef(tr.Packet.Fields)
	if nid == "" {
		return r.refused(ctx, tr, job.Attempt, "the death names no national ID", bridge.Errorf(bridge.EInvalid, "the death record names no UIN or VID of the deceased, so no identity can be marked"))
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	uin, err := r.cfg.MOSIP.ResolveUIN(callCtx, nid)
	if err != nil {
		return w.failedPeer(ctx, tr, job, "find the deceased's UIN", err)
	}
	if err := r.cfg.MOSIP.DeactivateUIN(callCtx, uin, tr.ID, r.cfg.Packet.SchemaVersion); err != nil {
		return w.failedPeer(ctx, tr, job, "deactivate the deceased's UIN", err)
	}
	return r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.Transition(ctx, tr.ID, store.Change{From: submittable, To: bridge.StateIssued, Attempt: job.Attempt,
			Reason: "MOSIP's ID repository marked the deceased's identity DEACTIVATED"})
		if err != nil || !ok {
			return err
		}
		if err := tx.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageDeactivated}); err != nil {
			return err
		}
		return r.EnqueueConfirm(ctx, tx, tr.ID)
	})
}

// sendResult tells the OpenCRVS side MOSIP's outcome of a record it sent
// (MOSIP side): for a birth the UIN token (PSUT) made for OpenCRVS, never
// the UIN. Sent under the OpenCRVS side's transaction id; the OpenCRVS side
// answers a result it has as done.
func (r *Runner) sendResult(ctx context.Context, tr *bridge.Transaction, res peer.Result) error {
	res.AID, res.BRN, res.Event = tr.ID, tr.RegistrationNumber, tr.Kind
	if res.Status == peer.ResultIssued && tr.IssuesNationalID() {
		if tr.UIN == "" {
			return bridge.Errorf(bridge.EConflict, "MOSIP's credential named no UIN, so no UIN token can be made for OpenCRVS")
		}
		callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
		defer cancel()
		token, err := r.cfg.MOSIP.PSUT(callCtx, tr.UIN, r.cfg.Split.PSUT)
		if err != nil {
			return fmt.Errorf("make the UIN token: %w", err)
		}
		res.UINToken = token
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	if err := r.cfg.Split.Peer.SendResult(callCtx, tr.PeerID, res); err != nil {
		return fmt.Errorf("send the result to the OpenCRVS side: %w", err)
	}
	return nil
}

// splitTransient says whether a failed result delivery or write-back may
// succeed later.
func splitTransient(err error) bool {
	var be *bridge.Error
	if errors.As(err, &be) {
		return be.Code == bridge.EUnavailable
	}
	return peer.IsTransient(err) || mosip.IsTransient(err) || isTransientUpsert(err)
}

// confirmSplit finishes a split-design transaction MOSIP completed (or the
// rules skipped): the OpenCRVS side writes the answer to the record, the
// MOSIP side sends it back.
func (r *Runner) confirmSplit(ctx context.Context, tr *bridge.Transaction, job *river.Job[ConfirmArgs]) error {
	var reason string
	var err error
	switch {
	case tr.Intake == bridge.IntakeWebhook && tr.State == bridge.StateSkipped:
		reason = "not forwarded to MOSIP (" + tr.SkipReason + "); the record is registered in OpenCRVS without a national ID"
	case tr.Intake == bridge.IntakeWebhook:
		callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
		err = r.cfg.Split.WriteBack.WriteBack(callCtx, tr)
		cancel()
		reason = "MOSIP's answer was written to the OpenCRVS record"
	case tr.State == bridge.StateSkipped: // MOSIP side: the rules did not forward it
		err = r.sendResult(ctx, tr, peer.Result{Status: peer.ResultRejected, Reason: "not forwarded to MOSIP: " + tr.SkipReason})
		reason = "the OpenCRVS side was told the record was not forwarded to MOSIP"
	default:
		status := peer.ResultIssued
		if tr.Kind == bridge.EventDeath {
			status = peer.ResultDeactivated
		}
		err = r.sendResult(ctx, tr, peer.Result{Status: status})
		reason = "MOSIP's answer was sent to the OpenCRVS side"
	}
	if err != nil {
		r.noteCallError(err)
		return r.failure(ctx, tr.ID, confirmable, job.JobRow, splitTransient(err), err)
	}
	var applied bool
	err = r.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		applied, err = tx.Transition(ctx, tr.ID, store.Change{From: confirmable, To: bridge.StateConfirmed, Attempt: job.Attempt, Reason: reason, ClearToken: true})
		if err != nil || !applied || tr.Intake != bridge.IntakePeer || tr.State == bridge.StateSkipped {
			return err
		}
		return tx.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageSentToOpenCRVS})
	})
	if applied {
		r.cfg.Metrics.RecordConfirmed(tr)
		if tr.Intake == bridge.IntakePeer && job.Args.CredentialRequestID != "" {
			r.publishCredentialStatus(ctx, job.Args.CredentialRequestID, "served")
		}
	}
	return err
}

// reportSplit finishes a split-design transaction MOSIP refused: the MOSIP
// side tells the OpenCRVS side why; the OpenCRVS side, whose record is
// registered already, keeps the reason for its operators.
func (r *Runner) reportSplit(ctx context.Context, tr *bridge.Transaction, job *river.Job[RejectArgs]) error {
	reason := cmpString(tr.RejectReason, r.cfg.Reasons.Explain())
	outcome := "MOSIP refused the record: " + reason + " (the record stays registered in OpenCRVS without a national ID)"
	if tr.Intake == bridge.IntakePeer {
		// Whichever step found the refusal (the upload, reconciliation),
		// the stage table says so.
		if err := r.cfg.Store.SetStage(ctx, tr.Kind, store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageFailed, Reason: cmpString(tr.LastError, reason)}); err != nil {
			return err
		}
		if err := r.sendResult(ctx, tr, peer.Result{Status: peer.ResultRejected, Reason: reason}); err != nil {
			r.noteCallError(err)
			return r.failure(ctx, tr.ID, rejectable, job.JobRow, splitTransient(err), err)
		}
		outcome = "the OpenCRVS side was told why MOSIP refused the record"
	}
	applied, err := r.cfg.Store.Transition(ctx, tr.ID, store.Change{
		From: rejectable, To: bridge.StateReported, Attempt: job.Attempt, Reason: outcome, ClearToken: true,
	})
	if applied {
		r.cfg.Metrics.RecordRejected(tr)
	}
	return err
}

// publishCredentialStatus tells MOSIP's credential service what became of
// a credential it issued (CREDENTIAL_STATUS_UPDATE). Best effort: the
// credential is served already, and the credential service only records
// the status.
func (r *Runner) publishCredentialStatus(ctx context.Context, requestID, status string) {
	if r.cfg.Split.HubURL == "" {
		return
	}
	callCtx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
	defer cancel()
	err := r.cfg.MOSIP.PublishCredentialStatus(callCtx, r.cfg.Split.HubURL, mosip.CredentialStatusEvent{
		Publisher: "OPENCRVS_MEDIATOR", Event: mosip.AckStatus{RequestID: requestID, Status: status},
	})
	if err != nil {
		r.log.WarnContext(ctx, "credential status not published", "credential_request_id", requestID, "err", err)
	}
}

// countryConfigWriteBack posts MOSIP's answer to the country config's
// endpoint, as the Node OpenCRVS-side mediator does: {BRN|DRN, MOSIP_AID},
// then, for a birth, {BRN, MOSIP_PSUT_TOKEN_ID}; the country config stores
// them as identifiers of the record.
type countryConfigWriteBack struct {
	url    string
	token  func(ctx context.Context) (string, error)
	client *http.Client
}

// NewCountryConfigWriteBack is the WRITEBACK=country-config write-back:
// POSTs to url with the system client's token.
func NewCountryConfigWriteBack(url string, token func(ctx context.Context) (string, error), client *http.Client) WriteBack {
	return &countryConfigWriteBack{url: url, token: token, client: client}
}

func (c *countryConfigWriteBack) WriteBack(ctx context.Context, tr *bridge.Transaction) error {
	numberKey := "BRN"
	if tr.Kind == bridge.EventDeath {
		numberKey = "DRN"
	}
	bodies := []map[string]string{{numberKey: tr.RegistrationNumber, "MOSIP_AID": cmpString(tr.PeerID, tr.ID)}}
	if tok := tr.UINToken(); tok != "" && tr.Kind == bridge.EventBirth {
		bodies = append(bodies, map[string]string{"BRN": tr.RegistrationNumber, "MOSIP_PSUT_TOKEN_ID": tok})
	}
	token, err := c.token(ctx)
	if err != nil {
		return err
	}
	for _, b := range bodies {
		body, _ := json.Marshal(b)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.client.Do(req)
		if err != nil {
			return &bridge.Error{Code: bridge.EUnavailable, Message: "the country config write-back endpoint did not answer", Err: err}
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusUnauthorized:
			return &bridge.Error{Code: bridge.EUnavailable, Message: fmt.Sprintf("the country config write-back endpoint answered %d", resp.StatusCode)}
		case resp.StatusCode >= 300:
			return bridge.Errorf(bridge.EInvalid, "the country config write-back endpoint refused the identifiers (HTTP %d): check WRITEBACK_URL and the country config's MOSIP handler", resp.StatusCode)
		}
	}
	return nil
}

// graphQLWriteBack adds the record's AID and, for a birth, its UIN token
// as identifiers with upsertRegistrationIdentifier, by the system client
// (WRITEBACK=graphql).
type graphQLWriteBack struct{ r *Runner }

// WriteBack implements WriteBack.
func (g graphQLWriteBack) WriteBack(ctx context.Context, tr *bridge.Transaction) error {
	return g.r.upsertIdentifiers(ctx, tr)
}

// EnqueueConfirmOfCredential is EnqueueConfirmOf for a transaction a
// credential completed: on the MOSIP side of the split design the
// credential's request id goes with the job, whose status is published once
// the OpenCRVS side has the result.
func (r *Runner) EnqueueConfirmOfCredential(ctx context.Context, tx *store.Tx, tr *bridge.Transaction, requestID string) error {
	if tr.Intake != bridge.IntakePeer || requestID == "" {
		return r.EnqueueConfirmOf(ctx, tx, tr)
	}
	return r.insert(ctx, tx, ConfirmArgs{TransactionID: tr.ID, CredentialRequestID: requestID}, QueueFeedback)
}

// WebhookSubscriptions keeps the OpenCRVS side's webhook subscriptions
// (BIRTH_REGISTERED, DEATH_REGISTERED): Ensure makes the ones OpenCRVS
// does not have.
type WebhookSubscriptions interface {
	Ensure(ctx context.Context) error
}

// WebhookSubscribeArgs checks the OpenCRVS webhook subscriptions
// (periodic, one at a time for every mediator on the database).
type WebhookSubscribeArgs struct{}

func (WebhookSubscribeArgs) Kind() string { return "opencrvs_webhook_subscribe" }

type webhookSubscribeWorker struct {
	river.WorkerDefaults[WebhookSubscribeArgs]
	r *Runner
}

func (w *webhookSubscribeWorker) NextRetry(job *river.Job[WebhookSubscribeArgs]) time.Time {
	return w.r.cfg.Retry.next(job.Attempt, w.r.cfg.Now())
}

func (w *webhookSubscribeWorker) Work(ctx context.Context, job *river.Job[WebhookSubscribeArgs]) error {
	callCtx, cancel := context.WithTimeout(ctx, 3*w.r.cfg.CallTimeout)
	defer cancel()
	if err := w.r.cfg.Split.Webhooks.Ensure(callCtx); err != nil {
		w.r.log.WarnContext(ctx, "OpenCRVS webhook subscriptions not made; trying again", "attempt", job.Attempt, "err", err)
		return err
	}
	return nil
}

// addSplitJobs registers the split design's periodic jobs.
func (r *Runner) addSplitJobs(workers *river.Workers) []*river.PeriodicJob {
	sp := r.cfg.Split
	if sp.Webhooks == nil {
		return nil
	}
	river.AddWorker(workers, &webhookSubscribeWorker{r: r})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cmpDuration(sp.WebhookCheck, time.Hour)),
		func() (river.JobArgs, *river.InsertOpts) {
			return WebhookSubscribeArgs{}, r.periodicOpts(QueueMaintenance, r.cfg.Retry.MaxAttempts)
		},
		&river.PeriodicJobOpts{RunOnStart: true, ID: "opencrvs_webhook_subscribe"})}
}
