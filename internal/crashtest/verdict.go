package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// recordFacts is everything the run learnt about one record.
type recordFacts struct {
	ID string
	// Created: the OpenCRVS simulator has the record (we sent it).
	Created bool
	// Accepted: the mediator answered 202 at least once; AIDs are the
	// transaction ids of its answers; Refused says why the relay gave up.
	Accepted bool
	AIDs     []string
	Refused  string
	// Status, Reason and NationalID are the OpenCRVS simulator's view.
	Status, Reason, NationalID string
	// Feedback is how the mediator's GraphQL calls about it were answered.
	Feedback feedback
	// Transactions are the mediator's, from its database, with MOSIP's view.
	Transactions []txFacts
}

// txFacts is one transaction of the mediator and MOSIP's registration of it.
type txFacts struct {
	ID, State, LastError string
	Attempts             int
	HasUIN, HasVID       bool
	// MOSIPStatus is the registration's status at MOSIP ("" when MOSIP
	// never got it); MOSIPUIN and MOSIPVID what it issued.
	MOSIPStatus, MOSIPUIN, MOSIPVID string
	Events                          []string // from -> to (reason), oldest first
}

// verdict fills res from the facts. identities is the number of identities
// MOSIP holds; strayTransactions are transactions in the mediator's database
// for records never sent.
func verdict(res *Result, recs []recordFacts, identities int, strayTransactions []string) {
	uins := map[string]string{} // UIN -> record
	for _, r := range recs {
		fb := r.Feedback
		calls := fb.confirmed + fb.repeats + fb.conflicts + fb.rejected + fb.otherErrors
		if !r.Accepted {
			if r.Created {
				res.Refused++
				res.Problems = append(res.Problems, fmt.Sprintf("record %s: never accepted: %s", r.ID, r.Refused))
			}
			if calls > 0 || len(r.Transactions) > 0 {
				res.Unexpected++
				res.Problems = append(res.Problems, fmt.Sprintf("record %s: not accepted (or never sent) yet the mediator has %d transaction(s) and made %d call(s) about it: %s",
					r.ID, len(r.Transactions), calls, describe(r)))
			}
			continue
		}
		res.Accepted++
		res.Repeats += fb.repeats

		var dup []string
		if len(r.AIDs) > 1 {
			dup = append(dup, fmt.Sprintf("accepted under %d transaction ids", len(r.AIDs)))
		}
		if len(r.Transactions) > 1 {
			dup = append(dup, fmt.Sprintf("%d transactions in the database", len(r.Transactions)))
		}
		if fb.confirmed > 1 {
			dup = append(dup, fmt.Sprintf("registered %d times", fb.confirmed))
		}
		if fb.conflicts > 0 {
			dup = append(dup, fmt.Sprintf("%d confirmation(s) with other details after the first", fb.conflicts))
		}
		var recUINs []string
		for _, t := range r.Transactions {
			if t.MOSIPUIN != "" && !slices.Contains(recUINs, t.MOSIPUIN) {
				recUINs = append(recUINs, t.MOSIPUIN)
			}
		}
		if len(recUINs) > 1 {
			dup = append(dup, fmt.Sprintf("%d MOSIP identities", len(recUINs)))
		}
		for _, u := range recUINs {
			uins[u] = r.ID
		}
		if len(dup) > 0 {
			res.Duplicates++
			res.Problems = append(res.Problems, fmt.Sprintf("record %s: duplicate: %s: %s", r.ID, strings.Join(dup, ", "), describe(r)))
		}

		for _, t := range r.Transactions {
			final := r.Status == "registered" || r.Status == "rejected"
			if final && len(dup) == 0 && t.State != "CONFIRMED" && t.State != "REPORTED" {
				res.Unfinished++
				res.Problems = append(res.Problems, fmt.Sprintf("record %s: transaction %s ended %s: %s", r.ID, t.ID, t.State, describe(r)))
			}
		}
		switch {
		case r.Status == "registered":
			res.Confirmed++
			if r.NationalID != "" && !issuedFor(r) {
				res.Unexpected++
				res.Problems = append(res.Problems, fmt.Sprintf("record %s: registered with a national ID MOSIP did not issue for its transaction: %s", r.ID, describe(r)))
			}
		case r.Status == "rejected" && fb.rejected > 0:
			res.Rejected++
			res.Problems = append(res.Problems, fmt.Sprintf("record %s: rejected by the mediator (%s): %s", r.ID, r.Reason, describe(r)))
		case r.Status == "rejected":
			res.Rejected++
			res.Problems = append(res.Problems, fmt.Sprintf("record %s: accepted by the mediator but rejected by OpenCRVS itself (%s): %s", r.ID, r.Reason, describe(r)))
		default:
			res.Lost++
			res.Problems = append(res.Problems, fmt.Sprintf("record %s: lost (OpenCRVS: %q): %s", r.ID, r.Status, describe(r)))
		}
	}
	if extra := identities - len(uins); extra > 0 {
		res.Duplicates += extra
		res.Problems = append(res.Problems, fmt.Sprintf("MOSIP holds %d identities no accepted record's transaction accounts for", extra))
	}
	for _, s := range strayTransactions {
		res.Unexpected++
		res.Problems = append(res.Problems, "transaction for a record never sent: "+s)
	}
}

// issuedFor reports whether a registered record's national ID is the VID or
// UIN MOSIP issued for one of its transactions.
func issuedFor(r recordFacts) bool {
	for _, t := range r.Transactions {
		if t.MOSIPStatus == "" {
			return true // MOSIP forgot the registration: nothing to compare
		}
		if r.NationalID == t.MOSIPVID || r.NationalID == t.MOSIPUIN {
			return true
		}
	}
	return false
}

// describe renders a record for a problem line: ids, states and the event
// log, never a UIN, VID or name.
func describe(r recordFacts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "OpenCRVS status %q", r.Status)
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	fb := r.Feedback
	fmt.Fprintf(&b, "; gateway: %d registered, %d repeated, %d conflicting, %d rejected, %d other errors",
		fb.confirmed, fb.repeats, fb.conflicts, fb.rejected, fb.otherErrors)
	if fb.lastError != "" {
		fmt.Fprintf(&b, " (last: %s)", fb.lastError)
	}
	if len(r.AIDs) > 0 {
		fmt.Fprintf(&b, "; 202 with %s", strings.Join(r.AIDs, ", "))
	}
	if len(r.Transactions) == 0 {
		b.WriteString("; no transaction in the database")
	}
	for _, t := range r.Transactions {
		fmt.Fprintf(&b, "; transaction %s %s attempts=%d uin=%t vid=%t", t.ID, t.State, t.Attempts, t.HasUIN, t.HasVID)
		if t.LastError != "" {
			fmt.Fprintf(&b, " last_error=%q", truncate(t.LastError, 200))
		}
		if t.MOSIPStatus == "" {
			b.WriteString(", MOSIP: no registration")
		} else {
			fmt.Fprintf(&b, ", MOSIP: %s", t.MOSIPStatus)
		}
		if len(t.Events) > 0 {
			fmt.Fprintf(&b, ", events: %s", strings.Join(t.Events, " | "))
		}
	}
	return b.String()
}

// tally gathers the facts from the simulators, the relay, the gateway and
// the mediator's database (the mediator is stopped), and fills the Result.
func (e *env) tally(ctx context.Context) error {
	e.idsMu.Lock()
	ids := slices.Clone(e.recordIDs)
	sendErrs := slices.Clone(e.sendErrs)
	e.idsMu.Unlock()
	created := map[string]bool{}
	for _, id := range ids {
		created[id] = true
	}
	for _, id := range append(e.relay.ids(), e.gateway.ids()...) {
		if !created[id] {
			ids = append(ids, id)
			created[id] = false
		}
	}
	for _, s := range sendErrs {
		e.res.Problems = append(e.res.Problems, s)
		e.res.Refused++
	}

	txs, stray, err := e.readTransactions(ctx, created)
	if err != nil {
		return err
	}
	recs := make([]recordFacts, 0, len(ids))
	for _, id := range ids {
		r := recordFacts{ID: id, Created: created[id], Feedback: e.gateway.view(id), Transactions: txs[id]}
		r.Accepted, r.AIDs, r.Refused = e.relay.view(id)
		slices.Sort(r.AIDs)
		var view struct {
			Status     string  `json:"status"`
			Reason     *string `json:"reason"`
			NationalID *string `json:"nationalId"`
		}
		status, err := getJSON(ctx, e.client, e.opencrvsURL+"/sim/records/"+url.PathEscape(id), &view)
		switch {
		case err != nil:
			return fmt.Errorf("crashtest: read record %s from the OpenCRVS simulator: %w", id, err)
		case status == http.StatusOK:
			r.Status = view.Status
			if view.Reason != nil {
				r.Reason = *view.Reason
			}
			if view.NationalID != nil {
				r.NationalID = *view.NationalID
			}
		}
		recs = append(recs, r)
	}
	ms := e.mosip.Stats()
	verdict(e.res, recs, ms.Identities, stray)
	if err := e.checkShared(ctx); err != nil {
		return err
	}

	st, err := e.opencrvsStats(ctx)
	if err == nil && st.Records != len(e.recordIDs) {
		e.res.Unexpected++
		e.res.Problems = append(e.res.Problems, fmt.Sprintf("the OpenCRVS simulator holds %d records, %d were sent", st.Records, len(e.recordIDs)))
	}
	e.logf("OpenCRVS: %d confirmRegistration calls (%d harmless repeats), %d rejectRegistration calls; MOSIP: %d packets, %d workflows, %d processed, %d identities, deliveries %d sent / %d failed attempts / %d undelivered; relay retries %d, retried records found already accepted %d",
		st.Confirmations, e.res.Repeats, st.Rejections, ms.Packets, ms.Workflows, ms.Processed, ms.Identities,
		ms.Deliveries.Sent, ms.Deliveries.Failed, ms.Deliveries.Undelivered, e.relay.retries.Load(), e.relay.resent.Load())
	return nil
}

// readTransactions reads the mediator's transactions by record id, each with
// its event log and MOSIP's registration. Transactions of records not in
// known are returned as stray.
func (e *env) readTransactions(ctx context.Context, known map[string]bool) (map[string][]txFacts, []string, error) {
	db, err := e.openDB()
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	events, err := readEvents(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, record_id, state, uin <> '', vid <> '', attempts, last_error FROM transactions ORDER BY created_at, id`)
	if err != nil {
		return nil, nil, fmt.Errorf("crashtest: read the mediator's transactions: %w", err)
	}
	defer rows.Close()
	out := map[string][]txFacts{}
	var stray []string
	for rows.Next() {
		var t txFacts
		var recordID string
		if err := rows.Scan(&t.ID, &recordID, &t.State, &t.HasUIN, &t.HasVID, &t.Attempts, &t.LastError); err != nil {
			return nil, nil, fmt.Errorf("crashtest: read the mediator's transactions: %w", err)
		}
		t.Events = events[t.ID]
		if reg, ok := e.mosip.Registration(t.ID); ok {
			t.MOSIPStatus, t.MOSIPUIN, t.MOSIPVID = reg.Status, reg.UIN, reg.VID
		}
		if _, ok := known[recordID]; !ok {
			stray = append(stray, fmt.Sprintf("%s (record %s, %s)", t.ID, recordID, t.State))
		}
		out[recordID] = append(out[recordID], t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("crashtest: read the mediator's transactions: %w", err)
	}
	return out, stray, nil
}

func readEvents(ctx context.Context, db *sql.DB) (map[string][]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT transaction_id, from_state, to_state, reason, attempt FROM transaction_events ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("crashtest: read the mediator's event log: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, from, to, reason string
		var attempt int
		if err := rows.Scan(&id, &from, &to, &reason, &attempt); err != nil {
			return nil, fmt.Errorf("crashtest: read the mediator's event log: %w", err)
		}
		ev := from + "->" + to
		if reason != "" {
			ev += " (" + truncate(reason, 120) + ")"
		}
		if attempt > 0 {
			ev += fmt.Sprintf(" #%d", attempt)
		}
		out[id] = append(out[id], ev)
	}
	return out, rows.Err()
}

// checkShared fills in what the mediators must do once for all: subscribe
// (counted at the hub), and on PostgreSQL run reconciliation one at a time
// (its finished runs in the job table); and the packets MOSIP was sent
// again under the same id.
func (e *env) checkShared(ctx context.Context) error {
	r := e.res
	r.Subscribes = int(e.mosipWatch.subscribes.Load())
	r.SubscribesAllowed = 1 + int(time.Since(e.started)/(5*time.Minute))
	if r.Subscribes > r.SubscribesAllowed {
		r.Problems = append(r.Problems, fmt.Sprintf("MOSIP's hub received %d subscribe requests, at most %d expected: the mediators subscribed each on its own",
			r.Subscribes, r.SubscribesAllowed))
	}
	r.PacketRepeatIDs, r.PacketRepeats, _, r.WorkflowRepeats = e.mosipWatch.repeats()
	e.logf("MOSIP: %d packet ids sent more than once (%d repeated createPacket calls), %d repeated workflow starts: jobs run again after a kill, which MOSIP takes as the same packet",
		r.PacketRepeatIDs, r.PacketRepeats, r.WorkflowRepeats)
	if e.dbURL == "" {
		return nil
	}
	db, err := e.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if r.ReconcileRuns, r.ReconcileReplicas, r.ReconcileOverlaps, err = periodicRuns(ctx, db, "reconcile"); err != nil {
		return err
	}
	if r.ReconcileOverlaps > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d of %d reconciliation runs started before the one before had finished: it ran on two replicas at once",
			r.ReconcileOverlaps, r.ReconcileRuns))
	}
	subRuns, subReplicas, subOverlaps, err := periodicRuns(ctx, db, "websub_subscribe")
	if err != nil {
		return err
	}
	e.logf("subscription: %d subscribe requests at the hub (at most %d allowed); the subscription job ran %d times on %d replica(s), %d overlapping; reconciliation ran %d times on %d replica(s), %d overlapping",
		r.Subscribes, r.SubscribesAllowed, subRuns, subReplicas, subOverlaps, r.ReconcileRuns, r.ReconcileReplicas, r.ReconcileOverlaps)
	return nil
}
