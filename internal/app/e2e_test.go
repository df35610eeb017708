package app

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
)

// sendAll sends n records (alternating FHIR bundles and mapped payloads
// when mode is "mixed") with concurrency c and waits for each to finish.
func (s *system) sendAll(t *testing.T, n, c int, req func(i int) map[string]any) []simRecord {
	t.Helper()
	out := make([]simRecord, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range c {
		wg.Go(func() {
			for i := range next {
				rec, err := s.trySendRecord(req(i))
				if err == nil && rec.Status == "waiting" {
					rec, err = s.tryWaitRecord(rec.ID)
				}
				if err != nil {
					t.Error(err)
				}
				out[i] = rec
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func birth(i int) map[string]any {
	mode := "fhir"
	if i%2 == 1 {
		mode = "mapped"
	}
	return map[string]any{"kind": "birth", "mode": mode}
}

// assertRegistered checks that every record was registered once with a
// national id MOSIP issued, and that the mediator holds nothing more for it.
func (s *system) assertRegistered(t *testing.T, recs []simRecord) {
	t.Helper()
	nids := make(map[string]bool)
	for _, r := range recs {
		if r.Status != "registered" {
			reason := ""
			if r.Reason != nil {
				reason = *r.Reason
			}
			t.Errorf("record %s (%s): status %s %s, want registered", r.ID, r.TrackingID, r.Status, reason)
			continue
		}
		if r.Confirmations != 1 || r.Rejections != 0 {
			t.Errorf("record %s: %d confirmations, %d rejections; want exactly one confirmation", r.ID, r.Confirmations, r.Rejections)
		}
		if r.NationalID == nil || !mosip.VerhoeffValid(*r.NationalID) {
			t.Errorf("record %s: national id %v is not a MOSIP id", r.ID, r.NationalID)
			continue
		}
		if nids[*r.NationalID] {
			t.Errorf("national id %s given twice", *r.NationalID)
		}
		nids[*r.NationalID] = true
	}
	// OpenCRVS learns of the registration just before the mediator records
	// that it did: let the last confirmations commit.
	counts := s.settle(t)
	if counts[bridge.StateConfirmed] != len(recs) || len(counts) != 1 {
		t.Errorf("transactions by state: %v, want all %d CONFIRMED", counts, len(recs))
	}
}

func TestE2EBirthsGetNationalIDs(t *testing.T) {
	s := startSystem(t, systemOptions{})
	recs := s.sendAll(t, 200, 16, birth)
	s.assertRegistered(t, recs)

	// Sending a registered record again changes nothing.
	var again struct {
		Transactions []struct {
			ID        string `json:"id"`
			State     string `json:"state"`
			Duplicate bool   `json:"duplicate"`
		} `json:"transactions"`
	}
	bundle := s.simBundle(t, recs[0].ID)
	st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.token(t, recs[0].ID, time.Hour)), bundle, &again)
	if st != http.StatusAccepted || len(again.Transactions) != 1 || !again.Transactions[0].Duplicate || again.Transactions[0].State != "CONFIRMED" {
		t.Errorf("resend of a registered record: %d %+v", st, again)
	}
}

func TestE2ETransientMOSIPFailures(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"errorRate": 0.4, "errorMode": "http500", "endpoints": []string{"auth", "createPacket", "workflow"}})
	first := s.sendAll(t, 30, 8, birth)
	s.setMOSIPFaults(t, map[string]any{"errorRate": 0.4, "errorMode": "errors200", "endpoints": []string{"createPacket", "workflow"}})
	second := s.sendAll(t, 30, 8, func(i int) map[string]any { return birth(i + 1) })
	s.assertRegistered(t, append(first, second...))

	// The faults were real: some transactions needed more than one attempt.
	retried := 0
	for _, r := range append(first, second...) {
		events := s.eventsByRecord(t, r.ID)
		for _, e := range events {
			if e.To == bridge.StateSubmitted && e.Attempt > 1 {
				retried++
			}
		}
	}
	if retried == 0 {
		t.Error("no submission needed a retry: the fault injection did not bite")
	}
}

func TestE2EDuplicateAndLostWebSubDeliveries(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"duplicateDeliveryRate": 1.0})
	recs := s.sendAll(t, 20, 4, birth)
	s.assertRegistered(t, recs)
}

func TestE2ERulesSkipRecordsWithoutAuthentication(t *testing.T) {
	s := startSystem(t, systemOptions{})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir", "authenticated": false})
	rec = s.waitRecord(t, rec.ID)
	if rec.Status != "registered" || rec.NationalID != nil || rec.Confirmations != 1 {
		t.Fatalf("record not forwarded to MOSIP: %+v, want registered without a national id", rec)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, rec.ID)
	if tr.State != bridge.StateConfirmed || tr.SkipReason == "" || tr.Token != "" {
		t.Errorf("transaction: state %s, skip reason %q, token kept %v", tr.State, tr.SkipReason, tr.Token != "")
	}
}

// A packet MOSIP refuses for good (here: no packet writer for the source)
// is rejected in OpenCRVS with MOSIP's reason, once.
func TestE2EMOSIPRefusalReachesTheRegistrar(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.PacketSource = "NOT_A_SOURCE" }})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"})
	rec = s.waitRecord(t, rec.ID)
	if rec.Status != "rejected" || rec.Rejections != 1 || rec.Reason == nil {
		t.Fatalf("record: %+v, want rejected once with a reason", rec)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, rec.ID)
	if tr.State != bridge.StateReported || tr.LastError == "" {
		t.Errorf("transaction: state %s, last error %q; want REPORTED with MOSIP's error", tr.State, tr.LastError)
	}
}

// Records accepted while MOSIP is down wait; the mediator restarts on the
// same database; when MOSIP is back every record completes.
func TestE2EOutageAndRestart(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"outage": true})
	var ids []string
	for i := range 10 {
		ids = append(ids, s.sendRecord(t, birth(i)).ID)
	}
	// Let the submissions fail at least once.
	deadline := time.Now().Add(30 * time.Second)
	for s.failedSubmissions(t, ids) < len(ids) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	s.restartMediator(t)
	s.setMOSIPFaults(t, map[string]any{"outage": false})
	var recs []simRecord
	for _, id := range ids {
		recs = append(recs, s.waitRecord(t, id))
	}
	s.assertRegistered(t, recs)
}

// settle waits (bounded) until no transaction is in a state a job is about
// to leave, and returns the counts by state.
func (s *system) settle(t *testing.T) map[bridge.State]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := s.mediator.Store().CountByState(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		busy := counts[bridge.StateIssued] + counts[bridge.StateSkipped] + counts[bridge.StateRejectedByMOSIP] + counts[bridge.StateQueued] + counts[bridge.StateSubmitted]
		if busy == 0 || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *system) setMOSIPFaults(t *testing.T, faults map[string]any) {
	t.Helper()
	if st := do(t, "PUT", s.mosipURL+"/sim/faults", nil, faults, nil); st/100 != 2 {
		t.Fatalf("PUT /sim/faults: %d", st)
	}
}

func (s *system) transactionByRecord(t *testing.T, recordID string) *bridge.Transaction {
	t.Helper()
	trs, err := s.mediator.Store().TransactionsByRecord(t.Context(), recordID)
	if err != nil || len(trs) != 1 {
		t.Fatalf("transactions of record %s: %d, %v; want one", recordID, len(trs), err)
	}
	return trs[0]
}

func (s *system) eventsByRecord(t *testing.T, recordID string) []bridge.Event {
	t.Helper()
	tr := s.transactionByRecord(t, recordID)
	events, err := s.mediator.Store().Events(t.Context(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// failedSubmissions counts transactions whose submission failed at least
// once.
func (s *system) failedSubmissions(t *testing.T, recordIDs []string) int {
	t.Helper()
	n := 0
	for _, id := range recordIDs {
		if s.transactionByRecord(t, id).Attempts > 0 {
			n++
		}
	}
	return n
}

func (s *system) simBundle(t *testing.T, id string) []byte {
	t.Helper()
	b, ok := s.opencrvs.Bundle(id)
	if !ok {
		t.Fatalf("the OpenCRVS simulator has no bundle for %s", id)
	}
	return b
}
