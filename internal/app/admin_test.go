package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

// The operators' story of issue 7 end to end, through the admin API of the
// real mediator between both simulators:
//   - a record MOSIP refused, whose refusal OpenCRVS could not yet be told,
//     is retried: it goes to MOSIP again under a new AID and is registered,
//     with no rejection ever reaching OpenCRVS;
//   - a record waiting for MOSIP is cancelled: its pending job runs and does
//     nothing (MOSIP never gets it, OpenCRVS is never told);
//   - no answer of any admin endpoint, successes and errors alike, holds a
//     record token, a UIN, a VID or a personal value of a packet.
func TestGuaranteeAdminAPIRetriesRefusedCancelsAndHidesSecrets(t *testing.T) {
	s := startSystem(t, systemOptions{retryMax: 2 * time.Second, retryAttempts: 50,
		config: func(c *Config) { c.AdminToken = testAdminToken }})
	var bodies []string
	call := func(method, path string, body any, out any) (int, []byte) {
		t.Helper()
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		st, _, b := rawCall(t, method, s.mediatorURL+path, bearer(testAdminToken), raw)
		bodies = append(bodies, string(b))
		if out != nil && st/100 == 2 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return st, b
	}
	secrets := map[string]bool{}
	// addSecret keeps values that cannot turn up by chance in the AIDs,
	// UUIDs and times of an answer: a short number (a house number) could.
	addSecret := func(v string) {
		if len(v) >= 6 || (len(v) >= 4 && strings.IndexFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789abcdef-", r) }) >= 0) {
			secrets[v] = true
		}
	}
	collect := func() {
		t.Helper()
		page, err := s.mediator.Store().ListTransactions(t.Context(), store.ListQuery{Limit: 1001})
		if err != nil {
			t.Fatal(err)
		}
		for _, sum := range page {
			tr, err := s.mediator.Store().TransactionWithPacket(t.Context(), sum.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{tr.Token, tr.UIN, tr.VID, tr.Packet.Notification.Name, tr.Packet.Notification.Email, tr.Packet.Notification.Phone} {
				addSecret(v)
			}
			for k, raw := range tr.Packet.Fields {
				if personalKey(k) {
					addSecret(strings.Trim(fieldValue(string(raw)), `"`))
				}
			}
		}
	}
	transactionsOf := func(recordID string) []*bridge.Transaction {
		t.Helper()
		trs, err := s.mediator.Store().TransactionsByRecord(t.Context(), recordID)
		if err != nil {
			t.Fatal(err)
		}
		return trs
	}
	waitTx := func(what string, cond func() bool) {
		t.Helper()
		if !waitFor(60*time.Second, cond) {
			t.Fatalf("waited in vain for %s", what)
		}
	}

	// Two records registered (MOSIP gave them national IDs).
	done := []simRecord{s.sendRecord(t, birth(0)), s.sendRecord(t, birth(1))}
	for i, r := range done {
		done[i] = s.waitRecord(t, r.ID)
	}

	// A record MOSIP refuses while OpenCRVS answers 500: REJECTED_BY_MOSIP,
	// its rejection being retried.
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{"errorRate": 1.0, "mode": "http500"}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	s.setMOSIPFaults(t, map[string]any{"rejectRate": 1.0})
	refused := s.sendRecord(t, birth(3))
	refusedTx := s.waitState(t, refused.ID, bridge.StateRejectedByMOSIP)

	// A record that cannot reach MOSIP: QUEUED, its submission retried.
	s.setMOSIPFaults(t, map[string]any{"errorRate": 1.0, "endpoints": []string{"createPacket"}})
	queued := s.sendRecord(t, birth(4))
	waitTx("a failed submission attempt", func() bool { return s.transactionByRecord(t, queued.ID).Attempts > 0 })
	queuedTx := s.transactionByRecord(t, queued.ID)
	if queuedTx.State != bridge.StateQueued {
		t.Fatalf("the record that cannot reach MOSIP is %s", queuedTx.State)
	}
	collect() // the tokens of the three unfinished ones, before they go

	// Cancel the queued one; retry the refused one. The refused one has
	// its OpenCRVS token now: after the retry the resubmission has it.
	var v pipeline.TransactionView
	if st, b := call("POST", "/admin/transactions/"+queuedTx.ID+"/cancel", map[string]string{"reason": "sent by mistake"}, &v); st != http.StatusOK || v.State != bridge.StateCancelled {
		t.Fatalf("cancel: %d %s", st, b)
	}
	if st, b := call("POST", "/admin/transactions/"+refusedTx.ID+"/retry", nil, &v); st != http.StatusOK || v.ID == refusedTx.ID || v.State != bridge.StateQueued {
		t.Fatalf("retry of REJECTED_BY_MOSIP: %d %s", st, b)
	}
	resubmitted := v.ID
	s.setMOSIPFaults(t, map[string]any{})
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}

	// The resubmission is registered, and OpenCRVS never heard of the refusal.
	rec := s.waitRecord(t, refused.ID)
	if rec.Status != "registered" || rec.Confirmations != 1 || rec.Rejections != 0 || rec.NationalID == nil {
		t.Errorf("the refused record after the retry: %+v, want registered once, never rejected", rec)
	}
	var trs []*bridge.Transaction
	confirmed := waitFor(30*time.Second, func() bool { // OpenCRVS answered; the mediator records it
		trs = transactionsOf(refused.ID)
		return len(trs) == 2 && trs[1].State == bridge.StateConfirmed
	})
	if !confirmed || trs[0].ID != refusedTx.ID || trs[0].State != bridge.StateCancelled || trs[1].ID != resubmitted {
		for _, tr := range trs {
			t.Errorf("the refused record's transaction %s: %s", tr.ID, tr.State)
		}
		t.Errorf("want %s CANCELLED, then %s CONFIRMED", refusedTx.ID, resubmitted)
	}
	if reg, ok := s.mosip.Registration(resubmitted); !ok || reg.Status != "PROCESSED" {
		t.Errorf("MOSIP's registration of %s: %+v %v, want PROCESSED", resubmitted, reg, ok)
	}

	// The cancelled one's job ran and did nothing.
	waitTx("the cancelled transaction's job to finish", func() bool {
		var pending int
		_ = s.mediator.Store().InTx(t.Context(), func(tx *store.Tx) error {
			return tx.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job
				WHERE json_extract(args, '$.transaction_id') = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')`, queuedTx.ID).Scan(&pending)
		})
		return pending == 0
	})
	if _, ok := s.mosip.Registration(queuedTx.ID); ok {
		t.Errorf("MOSIP got the cancelled transaction %s", queuedTx.ID)
	}
	var cancelledRec simRecord
	if st := do(t, "GET", s.opencrvsURL+"/sim/records/"+queued.ID, nil, nil, &cancelledRec); st != http.StatusOK || cancelledRec.Status != "waiting" || cancelledRec.Confirmations+cancelledRec.Rejections != 0 {
		t.Errorf("OpenCRVS's record of the cancelled transaction: %d %+v, want waiting, never told", st, cancelledRec)
	}
	if tr := s.transactionByRecord(t, queued.ID); tr.State != bridge.StateCancelled || tr.Token != "" {
		t.Errorf("the cancelled transaction: %s, token kept: %v", tr.State, tr.Token != "")
	}

	// Every endpoint, every way: no answer holds a secret.
	collect()
	for _, r := range append(done, rec) {
		if r.NationalID != nil {
			addSecret(*r.NationalID)
		}
	}
	var all admin.Page
	call("GET", "/admin/transactions?limit=1000", nil, &all)
	if len(all.Transactions) != 5 {
		t.Errorf("listed %d transactions, want 5", len(all.Transactions))
	}
	queries := []string{"limit=2", "kind=birth", "version=1.8", "older_than=1h", "state=nope", "cursor=bad"}
	for _, st := range bridge.States {
		queries = append(queries, "state="+string(st))
	}
	for _, tv := range all.Transactions {
		for _, key := range []string{tv.ID, tv.TrackingID, tv.RegistrationNumber, tv.RecordID} {
			if key != "" {
				queries = append(queries, "q="+url.QueryEscape(key))
			}
		}
		call("GET", "/admin/transactions/"+tv.ID, nil, nil)
		call("POST", "/admin/transactions/"+tv.ID+"/cancel", map[string]string{}, nil) // 400: no reason
	}
	for _, q := range queries {
		call("GET", "/admin/transactions?"+q, nil, nil)
	}
	call("GET", "/admin/counts", nil, nil)
	call("POST", "/admin/transactions/"+resubmitted+"/retry", nil, nil) // 409: CONFIRMED
	tokens := 0
	for v := range secrets {
		if strings.HasPrefix(v, "ey") {
			tokens++
		}
	}
	if len(secrets) < 10 || tokens < 2 {
		t.Fatalf("only %d secrets collected (%d record tokens): the test would prove nothing", len(secrets), tokens)
	}
	for _, b := range bodies {
		for secret := range secrets {
			if strings.Contains(b, secret) {
				t.Errorf("an admin answer holds a secret (%d characters) %q: %.200s", len(secret), secret, b)
			}
		}
	}
}
