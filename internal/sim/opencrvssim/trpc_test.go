package opencrvssim

import (
	"net/http"
	"strings"
	"testing"

	"opencrvs-mosip/internal/eventsv2"
)

// trpcAnswer is one answer of a batch.
type trpcAnswer struct {
	Result *struct {
		Data struct {
			JSON map[string]any `json:"json"`
		} `json:"data"`
	} `json:"result"`
	Error *struct {
		JSON struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
			Data    struct {
				Code       string `json:"code"`
				HTTPStatus int    `json:"httpStatus"`
				Path       string `json:"path"`
			} `json:"data"`
		} `json:"json"`
	} `json:"error"`
}

func (e *testEnv) trpc(t *testing.T, proc, token string, input any) (int, trpcAnswer) {
	t.Helper()
	var out []trpcAnswer
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	resp := do(t, http.MethodPost, e.srv.URL+"/events/"+proc+"?batch=1", auth, map[string]any{"0": map[string]any{"json": input}}, &out)
	if len(out) != 1 {
		t.Fatalf("%s: %d answers, want 1", proc, len(out))
	}
	return resp.StatusCode, out[0]
}

// A 1.9 record goes as an EventDocument with an action token; its REGISTER
// action is accepted or rejected through tRPC with OpenCRVS's checks.
func TestOpenCRVS19RecordAndTRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{DefaultVersion: Version19}, func(delivery) (int, string) { return 202, `{}` })
	sent := e.send(t, map[string]any{"kind": "birth"})
	d := e.mediator.last(t)
	doc, err := eventsv2.Parse(d.body)
	if err != nil {
		t.Fatalf("the record is not an EventDocument: %v", err)
	}
	if d.claims.EventID != sent.ID || doc.ID != sent.ID || d.claims.RecordID != "" || !d.claims.HasScope("record.reject-registration") {
		t.Fatalf("token claims %+v for event %s", d.claims, doc.ID)
	}
	action := doc.Action(d.claims.ActionID)
	if action == nil || action.Type != "REGISTER" || doc.Pending(action) != eventsv2.StatusRequested {
		t.Fatalf("the token's action %s is not the waiting REGISTER action", d.claims.ActionID)
	}
	rec, err := eventsv2.Record(doc)
	if err != nil || rec.Child == nil || rec.Mother == nil || rec.Mother.NationalID == "" || rec.TrackingID != sent.TrackingID {
		t.Fatalf("record %+v, %v", rec, err)
	}
	v := e.record(t, sent.ID, "")
	if v.Version != Version19 || v.Mode != ModeEvent || v.ActionID == nil || *v.ActionID != action.ID || v.Status != StatusWaiting {
		t.Fatalf("view %+v", v)
	}

	in := func(actionID string, extra map[string]any) map[string]any {
		m := map[string]any{"transactionId": "tx", "eventId": sent.ID, "actionId": actionID, "registrationNumber": "2025" + sent.TrackingID}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	other, err := e.sim.ActionToken(sent.ID, newUUID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	unknownID := newUUID()
	unknown, err := e.sim.ActionToken(unknownID, action.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, token string
		input       map[string]any
		status      int
		code        string
	}{
		{"no token", "", in(action.ID, nil), 401, "UNAUTHORIZED"},
		{"token for another action", other, in(action.ID, nil), 403, "FORBIDDEN"},
		{"unknown key", d.token, in(action.ID, map[string]any{"reason": "x"}), 400, "BAD_REQUEST"},
		{"national ID not a string", d.token, in(action.ID, map[string]any{"declaration": map[string]any{"child.nid": 7}}), 400, "BAD_REQUEST"},
		{"field of another form", d.token, in(action.ID, map[string]any{"declaration": map[string]any{"deceased.nid": "1"}}), 400, "BAD_REQUEST"},
	} {
		st, a := e.trpc(t, "event.actions.register.accept", tt.token, tt.input)
		if st != tt.status || a.Error == nil || a.Error.JSON.Data.Code != tt.code || a.Error.JSON.Data.HTTPStatus != tt.status ||
			a.Error.JSON.Data.Path != "event.actions.register.accept" {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, st, a.Error, tt.status, tt.code)
		}
	}
	if st, a := e.trpc(t, "event.actions.register.accept", unknown, map[string]any{
		"transactionId": "tx", "eventId": unknownID, "actionId": action.ID, "registrationNumber": "1",
	}); st != 404 || a.Error == nil || a.Error.JSON.Data.Code != "NOT_FOUND" {
		t.Errorf("unknown event: %d %+v, want NOT_FOUND", st, a.Error)
	}
	if v := e.record(t, sent.ID, ""); v.Confirmations != 0 || v.Status != StatusWaiting {
		t.Fatalf("refused calls changed the record: %+v", v)
	}

	accept := in(action.ID, map[string]any{"declaration": map[string]any{"child.nid": "4716392850"}})
	for range 2 { // a repeat is answered like the first
		if st, a := e.trpc(t, "event.actions.register.accept", d.token, accept); st != 200 || a.Result == nil || a.Result.Data.JSON["id"] != sent.ID {
			t.Fatalf("accept: %d %+v", st, a.Error)
		}
	}
	v = e.record(t, sent.ID, "")
	if v.Status != StatusRegistered || v.Confirmations != 2 || v.NationalID == nil || *v.NationalID != "4716392850" ||
		v.RegistrationNumber == nil || *v.RegistrationNumber != "2025"+sent.TrackingID {
		t.Errorf("after accept: %+v", v)
	}
	st, a := e.trpc(t, "event.actions.register.reject", d.token, map[string]any{"transactionId": "tx2", "eventId": sent.ID, "actionId": action.ID})
	if st != 500 || a.Error == nil || !strings.Contains(a.Error.JSON.Message, "already been accepted") {
		t.Errorf("reject of an accepted action: %d %+v", st, a.Error)
	}
}

// Faults give tRPC errors of the chosen code to every call.
func TestOpenCRVS19TRPCFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, func(delivery) (int, string) { return 202, `{}` })
	if resp := do(t, http.MethodPut, e.srv.URL+"/sim/faults", "", map[string]any{"errorRate": 1, "trpcCode": "NO_SUCH_CODE"}, nil); resp.StatusCode != 400 {
		t.Errorf("unknown trpcCode: %d, want 400", resp.StatusCode)
	}
	do(t, http.MethodPut, e.srv.URL+"/sim/faults", "", map[string]any{"errorRate": 1, "trpcCode": "NOT_FOUND"}, nil)
	st, a := e.trpc(t, "event.actions.register.reject", "", map[string]any{})
	if st != 404 || a.Error == nil || a.Error.JSON.Code != -32004 {
		t.Errorf("injected fault: %d %+v, want NOT_FOUND", st, a.Error)
	}
}
