package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// BackfillConfig configures the intake of historic records.
type BackfillConfig struct {
	// Ready says whether what backfill needs is there: the OpenCRVS system
	// client that adds the national IDs (nil: backfill is off, and says
	// so).
	Ready func(context.Context) error
	// MaxWaiting is how many historic records may wait to be sent to
	// MOSIP before AcceptBackfill holds a batch back (0: no limit); it
	// holds it for up to MaxHold (default 20s) for room to free, then
	// answers busy.
	MaxWaiting int
	MaxHold    time.Duration
}

// defaultMaxHold is how long a batch waits for room in the backfill queue.
const defaultMaxHold = 20 * time.Second

// holdPoll is how often a held batch looks for room.
const holdPoll = 200 * time.Millisecond

// Backfill outcomes of one record.
const (
	// BackfillAccepted: stored with its job; it goes to MOSIP.
	BackfillAccepted = "accepted"
	// BackfillDuplicate: the mediator already has a transaction for the
	// record (an earlier backfill, or OpenCRVS sent it live); nothing new.
	BackfillDuplicate = "duplicate"
	// BackfillSkipped: the country rules do not send it to MOSIP.
	BackfillSkipped = "skipped"
	// BackfillFailed: the record cannot be read, is not a registered
	// OpenCRVS 1.8 record, or the country mapping failed on it.
	BackfillFailed = "failed"
)

// BackfillResult is what became of one historic record.
type BackfillResult struct {
	// Index is the record's position in the batch (0-based).
	Index  int    `json:"index"`
	Status string `json:"status"`
	// ID, Event and State are those of the transaction (accepted,
	// duplicate).
	ID    string           `json:"id,omitempty"`
	Event bridge.EventKind `json:"event,omitempty"`
	State bridge.State     `json:"state,omitempty"`
	// RecordID and TrackingID name the record, when it could be read.
	RecordID   string `json:"recordId,omitempty"`
	TrackingID string `json:"trackingId,omitempty"`
	// Code classifies a failure (invalid, unsupported, ...); Field names
	// the part of the record at fault.
	Code  bridge.ErrorCode `json:"code,omitempty"`
	Field string           `json:"field,omitempty"`
	// Reason says why: the rule's decision, or what failed. It holds no
	// personal data.
	Reason string `json:"reason,omitempty"`
}

// BackfillAnswer is the outcome of a batch.
type BackfillAnswer struct {
	Results []BackfillResult `json:"results"`
	// Rate is the backfill queue's rate towards MOSIP (records a second,
	// 0: no limit), shared by every mediator on the database.
	Rate float64 `json:"rate"`
	// Waiting is how many historic records wait to be sent to MOSIP,
	// this batch's included.
	Waiting int `json:"waiting"`
}

// BackfillOptions are a batch's settings.
type BackfillOptions struct {
	// Rate, when set, becomes the backfill queue's rate towards MOSIP
	// (records a second, 0: no limit).
	Rate *float64
}

// notRegistered are OpenCRVS 1.8 business statuses of records not (yet)
// registered: those go through POST /events/registration, not backfill.
var notRegistered = []string{"DRAFT", "IN_PROGRESS", "DECLARED", "VALIDATED", "WAITING_VALIDATION", "REJECTED", "ARCHIVED", "DECLARATION_UPDATED"}

// AcceptBackfill takes a batch of historic records, each an OpenCRVS 1.8
// FHIR bundle of a record OpenCRVS registered before the mediator ran
// (`opencrvs-mosip backfill`). Each goes through the country rules and
// mapping as a live record does; those the rules forward are stored, with
// their job on the backfill queue (jobs.QueueSubmitBackfill), in one
// durable database transaction, so that the answer is given only once
// they are safe. A record the mediator already has a live transaction
// for (the same event and tracking id; not one MOSIP refused or an
// operator cancelled) is a duplicate and starts nothing: sending a batch
// again is harmless. Records the rules do not forward, or that cannot be
// read or mapped, are answered with their reason and not stored. OpenCRVS
// 1.9 EventDocuments are refused (unsupported): OpenCRVS 1.9 offers no way
// to add an identifier to a registered event.
//
// Errors concern the whole batch: EInvalid for a bad rate, EBusy when more
// than BackfillConfig.MaxWaiting historic records still wait for MOSIP
// after MaxHold,
// EUnavailable or EInvalid when the system client is not ready (Ready),
// EUnavailable when the database is down (nothing was stored).
func (s *Service) AcceptBackfill(ctx context.Context, records [][]byte, opts BackfillOptions) (_ *BackfillAnswer, err error) {
	ctx, span := s.tracer().Start(ctx, "backfill accept")
	defer func() { endSpan(span, err) }()
	if s.Backfill.Ready == nil {
		return nil, bridge.Errorf(bridge.EConflict, "backfill is off: set OPENCRVS_CLIENT_ID and OPENCRVS_CLIENT_SECRET (an OpenCRVS system client, which adds the national IDs to registered records)")
	}
	if err := s.Backfill.Ready(ctx); err != nil {
		return nil, err
	}
	if opts.Rate != nil {
		if err := s.Store.SetRate(ctx, store.RateBackfill, *opts.Rate); err != nil {
			return nil, err
		}
	}
	waiting, err := s.roomForBackfill(ctx)
	if err != nil {
		return nil, err
	}
	rate, err := s.Store.Rate(ctx, store.RateBackfill)
	if err != nil {
		return nil, err
	}
	out := &BackfillAnswer{Results: make([]BackfillResult, len(records)), Rate: rate, Waiting: waiting}
	type item struct {
		i      int
		tr     *bridge.Transaction
		reason string
	}
	var items []item
	now := s.now()
	for i, raw := range records {
		res := &out.Results[i]
		res.Index = i
		rec, err := readHistoric(raw)
		if rec != nil {
			res.RecordID, res.TrackingID = rec.RecordID, rec.TrackingID
		}
		if err != nil {
			failBackfill(res, err)
			continue
		}
		decision, err := s.Country.Evaluate(rec, now)
		switch {
		case err != nil:
			failBackfill(res, err)
			continue
		case !decision.Forward:
			res.Status, res.Event, res.Reason = BackfillSkipped, rec.Event, decision.Reason
			continue
		case decision.Packet == nil:
			failBackfill(res, bridge.Errorf(bridge.EInternal, "the country configuration forwarded the record without a packet"))
			continue
		}
		items = append(items, item{i: i, reason: decision.Reason, tr: &bridge.Transaction{
			Kind: rec.Event, Version: bridge.OpenCRVS18, Intake: bridge.IntakeBackfill, RecordID: rec.RecordID,
			TrackingID: rec.TrackingID, RegistrationNumber: decision.RegistrationNumber, Packet: *decision.Packet,
		}})
	}
	if len(items) == 0 {
		return out, nil
	}
	var inserted []*bridge.Transaction
	err = s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		inserted = inserted[:0]
		for _, it := range items {
			res := &out.Results[it.i]
			res.Event = it.tr.Kind
			key := string(it.tr.Kind) + ":" + it.tr.TrackingID
			live, err := tx.LiveByDedupeKey(ctx, key)
			if err != nil {
				return err
			}
			if err := trackingIDTaken(live, it.tr.RecordID); err != nil {
				failBackfill(res, err)
				continue
			}
			if live != nil {
				res.Status, res.ID, res.State = BackfillDuplicate, live.ID, live.State
				res.Reason = "the mediator already has transaction " + live.ID + " (" + string(live.State) + ") for this record"
				continue
			}
			id, err := tx.NextAID(ctx, s.AID)
			if err != nil {
				return err
			}
			tr := *it.tr
			tr.ID, tr.State, tr.TraceParent = id, bridge.StateQueued, telemetry.TraceParent(ctx)
			if err := tx.Insert(ctx, &tr, key, "historic record accepted (backfill): "+it.reason); err != nil {
				return err
			}
			if err := s.Jobs.EnqueueBackfillSubmit(ctx, tx, id); err != nil {
				return err
			}
			res.Status, res.ID, res.State, res.Reason = BackfillAccepted, id, tr.State, it.reason
			inserted = append(inserted, &tr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, tr := range inserted {
		s.Metrics.RecordReceived(tr)
	}
	out.Waiting += len(inserted)
	s.log().InfoContext(ctx, "historic records accepted", "records", len(records), "accepted", len(inserted))
	return out, nil
}

// roomForBackfill waits, up to MaxHold, until fewer than MaxWaiting
// historic records wait for MOSIP, and returns how many do: the batch's
// sender is held back rather than sent away, so that the queue never runs
// dry between batches. EBusy when no room came.
func (s *Service) roomForBackfill(ctx context.Context) (int, error) {
	limit := s.Backfill.MaxWaiting
	deadline := s.now().Add(cmp.Or(s.Backfill.MaxHold, defaultMaxHold))
	for {
		waiting, err := s.Store.QueueWaiting(ctx, jobs.QueueSubmitBackfill)
		if err != nil || limit <= 0 || waiting < limit {
			return waiting, err
		}
		if !s.now().Before(deadline) {
			return 0, bridge.Errorf(bridge.EBusy, "%d historic records wait to be sent to MOSIP (the limit is %d); send the batch again later", waiting, limit)
		}
		t := time.NewTimer(holdPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
}

// readHistoric reads one historic record: an OpenCRVS 1.8 FHIR bundle of
// a registered record. The record is returned, when it could be read, even
// with an error, so that the answer can name it.
func readHistoric(raw []byte) (*bridge.Record, error) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0 || trimmed[0] != '{':
		return nil, bridge.Errorf(bridge.EInvalid, "the record is not a JSON object")
	case IsOpenCRVS19(trimmed, Caller{}):
		return nil, bridge.Errorf(bridge.EUnsupported, "an OpenCRVS 1.9 EventDocument cannot be backfilled: OpenCRVS 1.9 offers no way to add an identifier to an event it has registered (1.8's upsertRegistrationIdentifier has no 1.9 counterpart)")
	case bytes.Contains(trimmed, []byte(`"requestFields"`)):
		return nil, bridge.Errorf(bridge.EUnsupported, "a mapped payload cannot be backfilled: give the OpenCRVS 1.8 FHIR bundle, which the country rules and mapping read")
	}
	rec, err := fhir.Parse(trimmed)
	if err != nil {
		return nil, err
	}
	switch {
	case rec.RegistrationNumber == "":
		return rec, bridge.FieldErrorf(bridge.EInvalid, "Task.identifier", "the record has no registration number, so it is not registered: send records waiting for registration through POST /events/registration")
	case slices.Contains(notRegistered, strings.ToUpper(rec.Status)):
		return rec, bridge.FieldErrorf(bridge.EInvalid, "Task.businessStatus", "the record is %s, not registered: send records waiting for registration through POST /events/registration", rec.Status)
	}
	return rec, nil
}

// failBackfill records why a record failed. Internal errors are not
// detailed (the cause is logged by whoever saw it).
func failBackfill(res *BackfillResult, err error) {
	res.Status, res.Code = BackfillFailed, bridge.ErrorCodeOf(err)
	var e *bridge.Error
	if errors.As(err, &e) && res.Code != bridge.EInternal {
		res.Reason, res.Field = e.Message, e.Field
		return
	}
	res.Reason = "an unexpected error; see the mediator's log"
}
