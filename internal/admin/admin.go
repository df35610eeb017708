// Package admin is what operators do with transactions, shared by the admin
// API (/admin/), the dashboard (/ui/) and, through the API, the `tx`
// command: list and search them, show one with its event log, retry or
// cancel one, count them by state and measure throughput.
//
// Every value it returns is safe to show to an operator: never an OpenCRVS
// token, a credential, a national ID or the packet's personal data (see
// pipeline.TransactionView).
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// Service answers operators. Store and Pipeline are required; Now and
// Logger default to time.Now and a discarding logger.
type Service struct {
	Store    *store.Store
	Pipeline *pipeline.Service
	Now      func() time.Time
	Logger   *slog.Logger
}

// Query selects transactions. Zero fields do not filter.
type Query struct {
	State bridge.State
	Kind  bridge.EventKind
	// Version is the OpenCRVS version: "1.8", "1.9" or "" for any.
	Version string
	// OlderThan keeps transactions created at least this long ago.
	OlderThan time.Duration
	// Search is an AID, tracking id, registration number or OpenCRVS record
	// id, matched exactly.
	Search string
	// Limit is the page size (default DefaultLimit, at most MaxLimit).
	Limit int
	// Cursor continues a listing where the page that returned it ended.
	Cursor string
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Page is one page of a listing, newest transaction first.
type Page struct {
	Transactions []pipeline.TransactionView `json:"transactions"`
	// NextCursor continues the listing ("" on the last page).
	NextCursor string `json:"nextCursor,omitempty"`
}

// Detail is one transaction with its full event log and what an operator
// can do with it.
type Detail struct {
	// TransactionView has the event log (Events) and the last error
	// (LastError).
	pipeline.TransactionView
	// Age is how long ago the transaction was created (JSON: AgeSeconds).
	Age        time.Duration `json:"-"`
	AgeSeconds int64         `json:"ageSeconds"`
	// Retry says what a retry would do ("": the transaction cannot be
	// retried); CanCancel whether it can be cancelled.
	Retry     string `json:"retry,omitempty"`
	CanCancel bool   `json:"canCancel"`
	// Related are the other transactions of the same OpenCRVS record and
	// event (a registration sent again, its corrections), oldest first,
	// without their events.
	Related []pipeline.TransactionView `json:"related,omitempty"`
	// Stage is, on the MOSIP side of the split design, the record's row
	// in birth_transactions or death_transactions: how far its packet got
	// (the statuses MOSIP's operators know from the Java mediator).
	Stage *StageView `json:"stage,omitempty"`
}

// StageView is a birth_transactions / death_transactions row.
type StageView struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	RID       string    `json:"rid"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Counts is the pipeline at a glance.
type Counts struct {
	// ByState counts transactions in every state (zero counts included).
	ByState map[bridge.State]int `json:"byState"`
	// Waiting counts the transactions that are not final (the mediator
	// still has work to do on them).
	Waiting int `json:"waiting"`
	// OldestWaiting is the age of the oldest transaction that is not in a
	// final state (0: none; JSON: OldestWaitingSeconds); OldestWaitingID
	// is its AID.
	OldestWaiting        time.Duration `json:"-"`
	OldestWaitingSeconds int64         `json:"oldestWaitingSeconds"`
	OldestWaitingID      string        `json:"oldestWaitingId,omitempty"`
	// At is when the counts were taken.
	At time.Time `json:"at"`
}

// Point is one step of a throughput series: what happened in [At, At+step).
type Point struct {
	At time.Time `json:"at"`
	// Received counts transactions created; Completed those that reached
	// CONFIRMED; Failed those that went DEAD or REJECTED_BY_MOSIP.
	Received  int `json:"received"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// List returns a page of transactions matching q, newest first (by
// creation time). EInvalid for a bad filter or cursor.
func (s *Service) List(ctx context.Context, q Query) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	lq := store.ListQuery{
		State: q.State, Kind: q.Kind, Version: bridge.OpenCRVSVersion(q.Version),
		Search: strings.TrimSpace(q.Search), Limit: limit + 1, // one more: is there a next page?
	}
	if q.OlderThan > 0 {
		lq.CreatedBefore = s.now().Add(-q.OlderThan)
	}
	if q.Cursor != "" {
		pos, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, err
		}
		lq.After = &pos
	}
	list, err := s.Store.ListTransactions(ctx, lq)
	if err != nil {
		return Page{}, err
	}
	page := Page{Transactions: make([]pipeline.TransactionView, 0, min(len(list), limit))}
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		page.NextCursor = encodeCursor(store.Position{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	for _, tr := range list {
		page.Transactions = append(page.Transactions, pipeline.View(tr, nil))
	}
	return page, nil
}

// Show returns transaction id with its event log, what an operator can do
// with it, and the other transactions of its record. ENotFound if none.
func (s *Service) Show(ctx context.Context, id string) (Detail, error) {
	tr, err := s.Store.Transaction(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	events, err := s.Store.Events(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{TransactionView: pipeline.View(tr, events), Retry: retryAction(tr), CanCancel: cancellable(tr.State)}
	if tr.Intake == bridge.IntakePeer && tr.PeerID != "" {
		st, err := s.Store.StageOf(ctx, tr.Kind, tr.PeerID)
		switch {
		case err == nil:
			d.Stage = &StageView{Status: st.Status, Reason: st.Reason, RID: st.RID, UpdatedAt: st.UpdatedAt}
		case bridge.ErrorCodeOf(err) != bridge.ENotFound:
			return Detail{}, err
		}
	}
	d.Age = max(0, s.now().Sub(tr.CreatedAt))
	d.AgeSeconds = int64(d.Age / time.Second)
	if tr.RecordID != "" {
		others, err := s.Store.TransactionsByRecord(ctx, tr.RecordID)
		if err != nil {
			return Detail{}, err
		}
		for _, o := range others {
			if o.ID != tr.ID && len(d.Related) < maxRelated {
				d.Related = append(d.Related, pipeline.View(o, nil))
			}
		}
	}
	return d, nil
}

// maxRelated bounds Detail.Related (a record has a handful of transactions).
const maxRelated = 50

// Retry starts transaction id again for an operator (who names the tool in
// the event log: "admin API", "dashboard"):
//
//   - DEAD: it resumes in the state it died in, with fresh attempts
//     (pipeline.Service.Retry): the failed call is made again.
//   - REJECTED_BY_MOSIP (MOSIP refused it; OpenCRVS has not yet been told):
//     it is resubmitted to MOSIP. MOSIP keeps its decision on an
//     application id (sending the same one again only finds the refused
//     application), so the packet goes out under a new AID: a new
//     transaction takes over the record (its packet, OpenCRVS token and
//     dedupe key), QUEUED with fresh attempts, and the refused one is
//     CANCELLED saying which AID replaced it. The job that would have told
//     OpenCRVS of the refusal finds it cancelled and does nothing (a call
//     to OpenCRVS already in flight may still land: the new transaction's
//     confirmation is then refused and it goes DEAD saying why). The
//     returned view is the new transaction.
//
// A REPORTED transaction is not retried (EConflict): OpenCRVS already
// rejected the record and the mediator no longer holds its token, so an
// answer from MOSIP could not be given back; the registrar sends the record
// again from OpenCRVS, which starts a new transaction. ENotFound if there is
// no transaction id; EConflict in any other state.
func (s *Service) Retry(ctx context.Context, id, who string) (pipeline.TransactionView, error) {
	tr, err := s.Store.Transaction(ctx, id)
	if err != nil {
		return pipeline.TransactionView{}, err
	}
	switch tr.State {
	case bridge.StateDead:
		out, err := s.Pipeline.Retry(ctx, id, who)
		if err != nil {
			return pipeline.TransactionView{}, err
		}
		return pipeline.View(out, nil), nil
	case bridge.StateRejectedByMOSIP:
		return s.resubmit(ctx, id, who)
	case bridge.StateReported:
		return pipeline.TransactionView{}, bridge.Errorf(bridge.EConflict,
			"transaction %s is REPORTED: OpenCRVS was already told that MOSIP refused the record, and its token is gone; send the record again from OpenCRVS, which starts a new transaction", id)
	}
	return pipeline.TransactionView{}, bridge.Errorf(bridge.EConflict,
		"transaction %s is %s: only a DEAD or REJECTED_BY_MOSIP transaction can be retried", id, tr.State)
}

// resubmit sends the packet of a transaction MOSIP refused again under a
// new AID (see Retry).
func (s *Service) resubmit(ctx context.Context, id, who string) (pipeline.TransactionView, error) {
	var out *bridge.Transaction
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		old, key, err := tx.TransactionForResubmission(ctx, id)
		if err != nil {
			return err
		}
		if old.State != bridge.StateRejectedByMOSIP {
			return bridge.Errorf(bridge.EConflict, "transaction %s changed while it was being retried (it is %s); look again", id, old.State)
		}
		if old.Packet.Process == "" {
			return bridge.Errorf(bridge.EConflict, "transaction %s has no packet to send to MOSIP again", id)
		}
		newID, err := tx.NextAID(ctx, s.Pipeline.AID)
		if err != nil {
			return err
		}
		ok, err := tx.Transition(ctx, id, store.Change{
			From: []bridge.State{bridge.StateRejectedByMOSIP}, To: bridge.StateCancelled, ClearToken: true,
			Reason: fmt.Sprintf("resubmitted to MOSIP as %s by an operator (%s)", newID, who),
		})
		if err != nil {
			return err
		}
		if !ok {
			return bridge.Errorf(bridge.EConflict, "transaction %s changed while it was being retried; look again", id)
		}
		tr := &bridge.Transaction{
			ID: newID, Kind: old.Kind, Version: old.Version, Intake: old.Intake, RecordID: old.RecordID,
			ActionID: old.ActionID, TrackingID: old.TrackingID, RegistrationNumber: old.RegistrationNumber,
			State: bridge.StateQueued, Token: old.Token, Packet: old.Packet, Corrects: old.Corrects,
		}
		if err := tx.Insert(ctx, tr, key, fmt.Sprintf("resubmitted by an operator (%s): MOSIP refused %s", who, id)); err != nil {
			return err
		}
		if err := s.Pipeline.Jobs.EnqueueSubmit(ctx, tx, newID); err != nil {
			return err
		}
		out, err = tx.Transaction(ctx, newID)
		return err
	})
	if err != nil {
		return pipeline.TransactionView{}, err
	}
	s.log().Info("refused transaction resubmitted by an operator", "transaction_id", id, "new_transaction_id", out.ID, "by", who)
	return pipeline.View(out, nil), nil
}

// retryAction says what Retry would do with tr ("": nothing).
func retryAction(tr *bridge.Transaction) string {
	switch tr.State {
	case bridge.StateDead:
		if tr.DeadFrom != "" {
			return "resume in " + string(tr.DeadFrom) + " with fresh attempts"
		}
		return "resume where it stopped, with fresh attempts"
	case bridge.StateRejectedByMOSIP:
		return "resubmit the packet to MOSIP under a new AID"
	}
	return ""
}

// cancellable reports whether a transaction in st can be cancelled: any
// but a finished one (a DEAD one can: cancelling is giving up on it).
func cancellable(st bridge.State) bool {
	return st != bridge.StateConfirmed && st != bridge.StateReported && st != bridge.StateCancelled
}

// maxReason bounds a cancellation's reason.
const maxReason = 500

// Cancel stops transaction id for good, for operator who: it becomes
// CANCELLED, with "cancelled by an operator (who): reason" in its event
// log, and its OpenCRVS token is deleted. OpenCRVS is not told. Jobs still
// pending for it find it CANCELLED and do nothing (every job acts only in
// the states it expects); a call to MOSIP or OpenCRVS already in flight may
// still complete, but its answer changes nothing. Once cancelled, the
// record no longer counts as being processed: OpenCRVS may send it again,
// which starts a new transaction.
//
// EInvalid without a reason (or one longer than 500 characters); ENotFound;
// EConflict when it is CONFIRMED, REPORTED or CANCELLED already.
func (s *Service) Cancel(ctx context.Context, id, reason, who string) (pipeline.TransactionView, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return pipeline.TransactionView{}, bridge.FieldErrorf(bridge.EInvalid, "reason", "say why the transaction is cancelled")
	case utf8.RuneCountInString(reason) > maxReason:
		return pipeline.TransactionView{}, bridge.FieldErrorf(bridge.EInvalid, "reason", "the reason is longer than %d characters", maxReason)
	}
	var out *bridge.Transaction
	var from bridge.State
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		tr, err := tx.Transaction(ctx, id)
		if err != nil {
			return err
		}
		if !cancellable(tr.State) {
			return bridge.Errorf(bridge.EConflict, "transaction %s is %s already: there is nothing left to cancel", id, tr.State)
		}
		from = tr.State
		ok, err := tx.Transition(ctx, id, store.Change{
			From: []bridge.State{tr.State}, To: bridge.StateCancelled, ClearToken: true,
			Reason: "cancelled by an operator (" + who + "): " + telemetry.Printable(reason, maxReason),
		})
		if err != nil {
			return err
		}
		if !ok {
			return bridge.Errorf(bridge.EConflict, "transaction %s changed while it was being cancelled; look again", id)
		}
		out, err = tx.Transaction(ctx, id)
		return err
	})
	if err != nil {
		return pipeline.TransactionView{}, err
	}
	// The reason is free text and may name someone: it stays in the
	// event log, out of the process log.
	s.log().Info("transaction cancelled by an operator", "transaction_id", id, "from", from, "by", who)
	return pipeline.View(out, nil), nil
}

// Counts counts transactions by state and finds the oldest one waiting. It
// reads one row per state, however long the history.
func (s *Service) Counts(ctx context.Context) (Counts, error) {
	byState, err := s.Store.CountByState(ctx)
	if err != nil {
		return Counts{}, err
	}
	now := s.now()
	c := Counts{ByState: make(map[bridge.State]int, len(bridge.States)), At: now.UTC()}
	var waiting []bridge.State
	for _, st := range bridge.States {
		c.ByState[st] = byState[st]
		if st.Waiting() {
			waiting = append(waiting, st)
			c.Waiting += byState[st]
		}
	}
	oldest, err := s.Store.OldestWaiting(ctx, waiting)
	if err != nil {
		return Counts{}, err
	}
	if oldest != nil {
		c.OldestWaiting = max(0, now.Sub(oldest.CreatedAt))
		c.OldestWaitingSeconds = int64(c.OldestWaiting / time.Second)
		c.OldestWaitingID = oldest.ID
	}
	return c, nil
}

// MaxPoints bounds a throughput series.
const MaxPoints = 1440

// Throughput returns what happened in the last window, one Point per step,
// oldest first. Steps are aligned to multiples of step (UTC); the last one
// is the current, partly elapsed, step. EInvalid unless step is positive,
// window at least step, and the series at most MaxPoints long.
func (s *Service) Throughput(ctx context.Context, window, step time.Duration) ([]Point, error) {
	switch {
	case step < time.Second || window < step:
		return nil, bridge.Errorf(bridge.EInvalid, "the step must be at least a second and the window at least a step")
	case (window+step-1)/step > MaxPoints:
		return nil, bridge.Errorf(bridge.EInvalid, "a window of %s in steps of %s makes more than %d points", window, step, MaxPoints)
	}
	n := int((window + step - 1) / step)
	end := s.now().UTC().Truncate(step).Add(step)
	since := end.Add(-time.Duration(n) * step)
	buckets, err := s.Store.Throughput(ctx, since, step, n)
	if err != nil {
		return nil, err
	}
	points := make([]Point, n)
	for i, b := range buckets {
		points[i] = Point{At: since.Add(time.Duration(i) * step), Received: b.Received, Completed: b.Completed, Failed: b.Failed}
	}
	return points, nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
