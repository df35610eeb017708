package app

import (
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// waitState waits (bounded) until the record's transaction is in state.
func (s *system) waitState(t *testing.T, recordID string, state bridge.State) *bridge.Transaction {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr := s.transactionByRecord(t, recordID)
		if tr.State == state {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction of %s is %s (last error %q), want %s", recordID, tr.State, tr.LastError, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// MOSIP refuses our credentials (a 401 after a token renewal): a problem of
// the system, not of the record. The mediator retries and, out of attempts,
// leaves the transaction DEAD with the reason; OpenCRVS is not told the
// record failed.
func TestMOSIPAuthFailureEndsDead(t *testing.T) {
	s := startSystem(t, systemOptions{retryAttempts: 3, config: func(c *Config) { c.PacketSecret = "wrong" }})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"})
	tr := s.waitState(t, rec.ID, bridge.StateDead)
	if !strings.Contains(tr.LastError, "authenticat") {
		t.Errorf("last error %q does not say MOSIP refused the credentials", tr.LastError)
	}
	events, _ := s.mediator.Store().Events(t.Context(), tr.ID)
	if last := events[len(events)-1]; last.To != bridge.StateDead || last.Attempt != 3 || last.Reason != "retries exhausted" {
		t.Errorf("last event %+v, want DEAD at attempt 3, retries exhausted", last)
	}
	var r simRecord
	do(t, "GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &r)
	if r.Status != "waiting" || r.Rejections != 0 {
		t.Errorf("record %+v, want still waiting (an operator retries)", r)
	}
}

// MOSIP does not answer in time: the call is abandoned, retried, and the
// record completes once MOSIP is back.
func TestMOSIPTimeoutsAreRetried(t *testing.T) {
	s := startSystem(t, systemOptions{callTimeout: 300 * time.Millisecond})
	s.setMOSIPFaults(t, map[string]any{"errorRate": 1.0, "errorMode": "timeout", "timeout": "2s", "endpoints": []string{"createPacket"}})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"})
	deadline := time.Now().Add(30 * time.Second)
	for s.transactionByRecord(t, rec.ID).Attempts < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	tr := s.transactionByRecord(t, rec.ID)
	// The call's context deadline or the client's timeout (both are
	// CALL_TIMEOUT), whichever fires first.
	timedOut := strings.Contains(tr.LastError, "deadline") || strings.Contains(tr.LastError, "Timeout exceeded")
	if tr.State != bridge.StateQueued || !timedOut {
		t.Fatalf("during the timeouts: state %s, last error %q", tr.State, tr.LastError)
	}
	s.setMOSIPFaults(t, map[string]any{})
	s.assertRegistered(t, []simRecord{s.waitRecord(t, rec.ID)})
}

// OpenCRVS answers GraphQL errors (an internal error): the confirmation is
// retried until it sticks, and happens once.
func TestOpenCRVSGraphQLErrorsAreRetried(t *testing.T) {
	s := startSystem(t, systemOptions{})
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{"errorRate": 1.0, "mode": "graphqlError"}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr := s.transactionByRecord(t, rec.ID)
		if tr.State == bridge.StateIssued && tr.Attempts >= 2 {
			if !strings.Contains(tr.LastError, "confirm registration") {
				t.Errorf("last error %q", tr.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s after %d attempts, want ISSUED and failing to confirm", tr.State, tr.Attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
	do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{}, nil)
	s.assertRegistered(t, []simRecord{s.waitRecord(t, rec.ID)})
}

// The OpenCRVS token of a record expires before MOSIP answers: the mediator
// does not call OpenCRVS with it; the transaction is DEAD with a reason that
// says what to do.
func TestExpiredRecordTokenEndsDeadWithAReason(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"outage": true})
	tok := s.token(t, "rec-short", 3*time.Second)
	body := validMapped("BSHORT1")
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(tok), body, nil); st != 202 {
		t.Fatalf("intake: %d", st)
	}
	time.Sleep(3 * time.Second) // the token's lifetime; nothing else to wait on
	s.setMOSIPFaults(t, map[string]any{})
	tr := s.waitState(t, "rec-short", bridge.StateDead)
	if !strings.Contains(tr.LastError, "token expired") || !strings.Contains(tr.LastError, "send the record again") {
		t.Errorf("last error %q does not explain the expired token", tr.LastError)
	}
	if tr.UIN == "" && tr.VID == "" {
		t.Error("the national id MOSIP issued was not kept")
	}
}

// validMapped is a mapped payload MOSIP accepts, as a country config sends it.
func validMapped(trackingID string) map[string]any {
	text := func(v string) []map[string]string { return []map[string]string{{"language": "eng", "value": v}} }
	return map[string]any{
		"trackingId":   trackingID,
		"notification": map[string]string{"recipientFullName": "Mwila Tembo", "recipientEmail": "mwila@example.org", "recipientPhone": "0971234567"},
		"requestFields": map[string]any{
			"birthCertificateNumber": "2026" + trackingID,
			"fullName":               text("Chanda Tembo " + trackingID),
			"dateOfBirth":            time.Now().AddDate(0, -2, 0).Format("2006/01/02"),
			"gender":                 text("Female"),
			"guardianOrParentName":   text("Mwila Tembo"),
			"addressLine1":           text("Ibombo"),
		},
		"metaInfo": map[string]any{
			"metaData":       `[{"label":"registrationType","value":"CRVS_NEW"},{"label":"centerId","value":"10001"},{"label":"machineId","value":"10004"}]`,
			"operationsData": `[{"label":"officerId","value":"opencrvs"}]`,
			"registrationId": "2026" + trackingID,
		},
		"audit": map[string]any{"id": trackingID},
	}
}
