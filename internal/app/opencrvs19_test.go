package app

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/loadgen"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

// sim19Record is the OpenCRVS simulator's view of a record with its
// OpenCRVS version and (1.9) REGISTER action.
type sim19Record struct {
	simRecord
	Mode     string  `json:"mode"`
	Version  string  `json:"version"`
	ActionID *string `json:"actionId"`
}

func (s *system) record19(t *testing.T, id string) sim19Record {
	t.Helper()
	s.waitRecord(t, id)
	var rec sim19Record
	if st := do(t, "GET", s.opencrvsURL+"/sim/records/"+id, nil, nil, &rec); st != http.StatusOK {
		t.Fatalf("GET /sim/records/%s: %d", id, st)
	}
	return rec
}

// trpc calls a procedure of the OpenCRVS simulator's events service in the
// batch form the mediator uses and returns the status and the answer.
func (s *system) trpc(t *testing.T, proc, token string, input map[string]any) (int, []map[string]any) {
	t.Helper()
	var out []map[string]any
	st := do(t, "POST", s.opencrvsURL+"/events/"+proc+"?batch=1", bearer(token), map[string]any{"0": map[string]any{"json": input}}, &out)
	return st, out
}

// actionToken mints a 1.9 action token through the simulator.
func (s *system) actionToken(t *testing.T, eventID, actionID string, ttl time.Duration) string {
	t.Helper()
	tok, err := s.opencrvs.ActionToken(eventID, actionID, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// copyEvent returns the EventDocument the simulator sent for record id as
// a new event nobody sent: new event id and tracking id, and a child with
// another given name (so that MOSIP's deduplication sees another person).
// It returns the document and the id of its waiting REGISTER action.
func (s *system) copyEvent(t *testing.T, id string) (doc map[string]any, eventID, actionID string) {
	t.Helper()
	if err := json.Unmarshal(s.simBundle(t, id), &doc); err != nil {
		t.Fatal(err)
	}
	eventID = newUUID(t)
	doc["id"] = eventID
	doc["trackingId"] = "B" + strings.ToUpper(eventID[:6])
	for _, a := range doc["actions"].([]any) {
		act := a.(map[string]any)
		if decl, ok := act["declaration"].(map[string]any); ok {
			if name, ok := decl["child.name"].(map[string]any); ok {
				name["firstname"] = "Copy" + strings.ToUpper(eventID[:4])
			}
		}
		if act["type"] == "REGISTER" {
			actionID = act["id"].(string)
		}
	}
	return doc, eventID, actionID
}

// OpenCRVS 1.9 births and deaths, as EventDocuments (decided and mapped by
// the mediator) and as the country config's mapped payload, are registered
// through the tRPC accept of their REGISTER action: a birth with its
// national ID in child.nid, a death without.
func TestE2EOpenCRVS19BirthAndDeath(t *testing.T) {
	for _, mode := range []string{"event", "mapped"} {
		t.Run(mode, func(t *testing.T) {
			s := startSystem(t, systemOptions{})
			birth := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth", "mode": mode}).ID)
			if birth.Status != "registered" || birth.Version != "1.9" || birth.Mode != mode || birth.Confirmations != 1 || birth.Rejections != 0 {
				t.Fatalf("birth: %+v, want a 1.9 %s record registered once", birth, mode)
			}
			if birth.NationalID == nil || !mosip.VerhoeffValid(*birth.NationalID) {
				t.Fatalf("birth accepted with child.nid %v, want the MOSIP ID", birth.NationalID)
			}
			death := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "death", "mode": mode, "of": birth.ID}).ID)
			if death.Status != "registered" || death.Confirmations != 1 || death.NationalID != nil {
				t.Fatalf("death: %+v, want registered once, without a national ID", death)
			}
			if id := s.identity(t, *birth.NationalID); !id.Deceased {
				t.Errorf("MOSIP's identity of the child is not deceased after the 1.9 death")
			}
			s.settle(t)
			intake := bridge.IntakeEventDocument
			if mode == "mapped" {
				intake = bridge.IntakeMapped
			}
			for _, r := range []sim19Record{birth, death} {
				tr := s.transactionByRecord(t, r.ID)
				if tr.Version != bridge.OpenCRVS19 || tr.Intake != intake || r.ActionID == nil || tr.ActionID != *r.ActionID ||
					tr.State != bridge.StateConfirmed || tr.Token != "" {
					t.Errorf("transaction of %s: version %s, intake %s, action %q (OpenCRVS: %v), state %s, token kept %v",
						r.Kind, tr.Version, tr.Intake, tr.ActionID, r.ActionID, tr.State, tr.Token != "")
				}
			}
		})
	}
}

// A record MOSIP refuses for good is rejected in OpenCRVS 1.9 through the
// tRPC reject of its REGISTER action, once.
func TestE2EOpenCRVS19MOSIPRefusalReachesReject(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.PacketSource = "NOT_A_SOURCE" }})
	rec := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"}).ID)
	if rec.Status != "rejected" || rec.Rejections != 1 || rec.Confirmations != 0 || rec.Reason == nil || *rec.Reason != "REGISTER_REJECTED" {
		t.Fatalf("record: %+v, want its REGISTER action rejected once", rec)
	}
	s.settle(t)
	if tr := s.transactionByRecord(t, rec.ID); tr.State != bridge.StateReported || tr.LastError == "" || tr.Version != bridge.OpenCRVS19 {
		t.Errorf("transaction: %s %s, last error %q; want a 1.9 transaction REPORTED with MOSIP's error", tr.Version, tr.State, tr.LastError)
	}
}

// The action token must be for the event and action the body names, with
// both registration scopes: otherwise 403 problem JSON and nothing stored.
func TestOpenCRVS19IntakeRefusesTokensForOtherEvents(t *testing.T) {
	s := startSystem(t, systemOptions{})
	sent := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"}).ID)
	doc, eventID, actionID := s.copyEvent(t, sent.ID)
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(req map[string]any) string {
		var out struct {
			Token string `json:"token"`
		}
		if st := do(t, "POST", s.opencrvsURL+"/sim/tokens", nil, req, &out); st != http.StatusOK {
			t.Fatalf("POST /sim/tokens %v: %d", req, st)
		}
		return out.Token
	}
	mapped := validMapped("BOTHER19")
	delete(mapped, "compositionId")
	mappedWithID := validMapped("BOTHER20")
	mappedWithID["compositionId"] = newUUID(t)
	for _, tt := range []struct {
		name  string
		token string
		body  any
		want  string
	}{
		{"token for another event", s.actionToken(t, newUUID(t), actionID, 0), body, "is for OpenCRVS event"},
		{"token for another action", s.actionToken(t, eventID, newUUID(t), 0), body, "which event"},
		{"1.8 record token", s.token(t, eventID, 0), body, "action confirmation token"},
		{"no reject scope", mint(map[string]any{"eventId": eventID, "actionId": actionID, "scope": []string{"record.confirm-registration"}}), body, "record.reject-registration"},
		{"mapped payload of another event", s.actionToken(t, newUUID(t), newUUID(t), 0), mappedWithID, "is for OpenCRVS record"},
	} {
		data, ok := tt.body.([]byte)
		if !ok {
			var err error
			if data, err = json.Marshal(tt.body); err != nil {
				t.Fatal(err)
			}
		}
		st, _, answer := rawCall(t, "POST", s.mediatorURL+"/events/registration", bearer(tt.token), data)
		assertProblem(t, tt.name, st, answer, http.StatusForbidden, "forbidden")
		if !strings.Contains(string(answer), tt.want) {
			t.Errorf("%s: %s, want the detail to say %q", tt.name, answer, tt.want)
		}
	}
	if trs, err := s.mediator.Store().TransactionsByRecord(t.Context(), eventID); err != nil || len(trs) != 0 {
		t.Errorf("refused records left %d transactions (%v)", len(trs), err)
	}
	// The right token is accepted (and a 1.9 mapped payload without
	// compositionId takes the token's event).
	var ok struct {
		Transactions []struct {
			ID    string       `json:"id"`
			State bridge.State `json:"state"`
		} `json:"transactions"`
	}
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.actionToken(t, eventID, actionID, 0)), body, &ok); st != http.StatusAccepted || len(ok.Transactions) != 1 {
		t.Fatalf("the right token: %d %+v, want 202 and one transaction", st, ok)
	}
	other := newUUID(t)
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.actionToken(t, other, newUUID(t), 0)), mapped, nil); st != http.StatusAccepted {
		t.Fatalf("1.9 mapped payload: %d, want 202", st)
	}
	if tr := s.transactionByRecord(t, other); tr.Version != bridge.OpenCRVS19 || tr.ActionID == "" {
		t.Errorf("1.9 mapped transaction: version %s, action %q", tr.Version, tr.ActionID)
	}
}

// tRPC errors are errors: FORBIDDEN and NOT_FOUND are permanent (the
// transaction goes DEAD saying why, and an operator's retry completes it
// once the cause is gone); an accept of an action someone else rejected
// meanwhile ("already been rejected") is DEAD too, while a reject of an
// action that is already rejected counts as done.
func TestOpenCRVS19FeedbackRefusals(t *testing.T) {
	t.Run("forbidden", func(t *testing.T) {
		s := startSystem(t, systemOptions{config: func(c *Config) { c.AdminToken = testAdminToken }})
		if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{"errorRate": 1.0, "trpcCode": "FORBIDDEN"}, nil); st/100 != 2 {
			t.Fatalf("PUT opencrvs /sim/faults: %d", st)
		}
		rec := s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"})
		tr := s.waitState(t, rec.ID, bridge.StateDead)
		if !strings.Contains(tr.LastError, "FORBIDDEN") || !strings.Contains(tr.LastError, "refused the action token") || tr.Attempts > 1 {
			t.Errorf("last error %q after %d attempts, want one attempt explaining FORBIDDEN", tr.LastError, tr.Attempts)
		}
		var r sim19Record
		if do(t, "GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &r); r.Status != "waiting" || r.Confirmations != 0 {
			t.Errorf("OpenCRVS record %+v, want still waiting", r)
		}
		if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{}, nil); st/100 != 2 {
			t.Fatalf("PUT opencrvs /sim/faults: %d", st)
		}
		if st, body := s.admin(t, "POST", "/admin/transactions/"+tr.ID+"/retry", testAdminToken, nil); st != http.StatusOK {
			t.Fatalf("retry: %d %s", st, body)
		}
		if r := s.record19(t, rec.ID); r.Status != "registered" || r.NationalID == nil {
			t.Errorf("after the retry: %+v, want registered with a national ID", r)
		}
	})
	t.Run("not found", func(t *testing.T) {
		s := startSystem(t, systemOptions{})
		sent := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"}).ID)
		doc, eventID, actionID := s.copyEvent(t, sent.ID) // an event this OpenCRVS never had
		if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.actionToken(t, eventID, actionID, 0)), doc, nil); st != http.StatusAccepted {
			t.Fatalf("intake: %d", st)
		}
		tr := s.waitState(t, eventID, bridge.StateDead)
		if !strings.Contains(tr.LastError, "NOT_FOUND") || !strings.Contains(tr.LastError, "does not know this event") {
			t.Errorf("last error %q, want NOT_FOUND explained", tr.LastError)
		}
		if tr.UIN == "" && tr.VID == "" {
			t.Error("the national ID MOSIP issued was not kept for the operator")
		}
	})
	// rejectFirst sends a 1.9 birth while MOSIP is down and rejects its
	// REGISTER action in OpenCRVS directly, as a registrar would, before
	// MOSIP answers.
	rejectFirst := func(t *testing.T, s *system) sim19Record {
		t.Helper()
		s.setMOSIPFaults(t, map[string]any{"outage": true})
		rec := s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"})
		var view sim19Record
		do(t, "GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &view)
		tok := s.actionToken(t, rec.ID, *view.ActionID, 0)
		st, answer := s.trpc(t, "event.actions.register.reject", tok, map[string]any{
			"transactionId": "registrar-" + rec.ID, "eventId": rec.ID, "actionId": *view.ActionID,
		})
		if st != http.StatusOK || len(answer) != 1 || answer[0]["result"] == nil {
			t.Fatalf("direct reject: %d %v", st, answer)
		}
		s.setMOSIPFaults(t, map[string]any{})
		return view
	}
	t.Run("accept of a rejected action", func(t *testing.T) {
		s := startSystem(t, systemOptions{retryAttempts: 10000})
		rec := rejectFirst(t, s)
		tr := s.waitState(t, rec.ID, bridge.StateDead)
		if !strings.Contains(tr.LastError, "already been rejected") || tr.DeadFrom != bridge.StateIssued {
			t.Errorf("DEAD from %s with %q, want from ISSUED saying the action was already rejected", tr.DeadFrom, tr.LastError)
		}
	})
	t.Run("reject of a rejected action", func(t *testing.T) {
		s := startSystem(t, systemOptions{retryAttempts: 10000, config: func(c *Config) { c.PacketSource = "NOT_A_SOURCE" }})
		rec := rejectFirst(t, s)
		tr := s.waitState(t, rec.ID, bridge.StateReported)
		if got := s.record19(t, rec.ID); got.Status != "rejected" || got.Rejections != 2 {
			t.Errorf("OpenCRVS record %+v, want rejected, by the registrar and the mediator", got)
		}
		if tr.LastError == "" {
			t.Error("MOSIP's refusal is not kept")
		}
	})
}

// An action token that expires before MOSIP answers: the transaction goes
// DEAD saying so (no call to OpenCRVS that could only fail).
func TestOpenCRVS19ExpiredTokenEndsDead(t *testing.T) {
	s := startSystem(t, systemOptions{retryAttempts: 10000})
	sent := s.record19(t, s.sendRecord(t, map[string]any{"version": "1.9", "kind": "birth"}).ID)
	doc, eventID, actionID := s.copyEvent(t, sent.ID)
	s.setMOSIPFaults(t, map[string]any{"outage": true})
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.actionToken(t, eventID, actionID, 2*time.Second)), doc, nil); st != http.StatusAccepted {
		t.Fatalf("intake: %d", st)
	}
	time.Sleep(2 * time.Second) // the token's lifetime; nothing else to wait on
	s.setMOSIPFaults(t, map[string]any{})
	tr := s.waitState(t, eventID, bridge.StateDead)
	if !strings.Contains(tr.LastError, "token expired") {
		t.Errorf("last error %q does not explain the expired token", tr.LastError)
	}
}

// One mediator takes OpenCRVS 1.8 and 1.9 records at the same time, each
// answered the way its version wants (GraphQL or tRPC).
func TestE2EOpenCRVS18And19Together(t *testing.T) {
	s := startSystem(t, systemOptions{})
	kinds := []map[string]any{
		{"version": "1.8", "mode": "fhir"}, {"version": "1.9", "mode": "event"},
		{"version": "1.8", "mode": "mapped"}, {"version": "1.9", "mode": "mapped"},
	}
	recs := s.sendAll(t, 32, 8, func(i int) map[string]any {
		req := map[string]any{"kind": "birth"}
		for k, v := range kinds[i%len(kinds)] {
			req[k] = v
		}
		return req
	})
	s.assertRegistered(t, recs)
	for i, r := range recs {
		want := bridge.OpenCRVSVersion(kinds[i%len(kinds)]["version"].(string))
		tr := s.transactionByRecord(t, r.ID)
		if tr.Version != want || (want == bridge.OpenCRVS19) != (tr.ActionID != "") {
			t.Errorf("record %d: transaction version %s action %q, want %s", i, tr.Version, tr.ActionID, want)
		}
	}
	var stats struct {
		GraphQLRequests int `json:"graphqlRequests"`
		Confirmations   int `json:"confirmations"`
	}
	do(t, "GET", s.opencrvsURL+"/sim/stats", nil, nil, &stats)
	if stats.GraphQLRequests < 16 || stats.Confirmations != len(recs) {
		t.Errorf("OpenCRVS saw %d GraphQL requests and %d confirmations, want at least 16 (the 1.8 records) and %d", stats.GraphQLRequests, stats.Confirmations, len(recs))
	}
}

// `load --version mixed` drives 1.8 and 1.9 records (births, deaths of
// earlier births of either version, corrections of 1.8 records) through
// one mediator.
func TestE2ELoadOpenCRVS19(t *testing.T) {
	s := startSystem(t, systemOptions{})
	res, err := loadgen.Run(t.Context(), loadgen.Config{OpenCRVSURL: s.opencrvsURL, Records: 48, Concurrency: 8,
		Kind: "mixed", Mode: "mixed", Version: "mixed", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 48 || res.Failed != 0 {
		t.Fatalf("load: %d completed, %d failed (%v)", res.Completed, res.Failed, res.Errors)
	}
	if res.CompletedByKind["death"] == 0 || res.CompletedByKind["birth-correction"] == 0 {
		t.Errorf("completed by kind %v, want deaths and corrections too", res.CompletedByKind)
	}
	counts := s.settle(t)
	if len(counts) != 1 || counts[bridge.StateConfirmed] != 48 {
		t.Errorf("transactions by state %v, want 48 CONFIRMED", counts)
	}
	v19, err := s.mediator.Store().List(t.Context(), store.ListFilter{State: bridge.StateConfirmed})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tr := range v19 {
		if tr.Version == bridge.OpenCRVS19 {
			n++
		}
	}
	if n < 12 {
		t.Errorf("%d of %d transactions came from OpenCRVS 1.9, want about half", n, len(v19))
	}
}
