package mosipsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
)

func (e *env) putFaults(f any) (*http.Response, []byte) {
	e.t.Helper()
	return e.do(http.MethodPut, "/sim/faults", "", f)
}

func TestFaultsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	body := `{"latency":"5ms","errorRate":0.25,"errorMode":"errors200","outage":false,"endpoints":["createPacket","hub"],
		"rejectRate":0.1,"failRate":0.2,"duplicateDeliveryRate":0.3,"lostDeliveryRate":0.4,"disableDemoDedupe":true}`
	resp, data := e.putFaults(body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: HTTP %d %s", resp.StatusCode, data)
	}
	want := Faults{
		Latency: Duration(5 * time.Millisecond), ErrorRate: 0.25, ErrorMode: ModeErrors200,
		Endpoints: []string{EndpointCreatePacket, EndpointHub}, RejectRate: 0.1, FailRate: 0.2,
		DuplicateDeliveryRate: 0.3, LostDeliveryRate: 0.4, DisableDemoDedupe: true,
	}
	_, data = e.do(http.MethodGet, "/sim/faults", "", nil)
	var got Faults
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET after PUT (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(data), `"latency":"5ms"`) {
		t.Errorf("latency not written as a duration string: %s", data)
	}

	for _, tc := range []struct {
		name, body, detail string
	}{
		{"rate above 1", `{"errorRate":1.5}`, "errorRate must be between 0 and 1"},
		{"negative rate", `{"lostDeliveryRate":-0.1}`, "lostDeliveryRate"},
		{"unknown mode", `{"errorMode":"explode"}`, "errorMode"},
		{"unknown endpoint", `{"endpoints":["printing"]}`, "endpoint \"printing\""},
		{"numeric latency", `{"latency":250}`, "duration string"},
		{"huge latency", `{"latency":"1h"}`, "latency must be between"},
		{"unknown field", `{"errorRat":0.5}`, "errorRat"},
		{"not an object", `[]`, "faults object"},
		{"two problems at once", `{"errorRate":2,"failRate":3}`, "failRate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := e.putFaults(tc.body)
			var p map[string]any
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal(data, &p) != nil || !strings.Contains(fmt.Sprint(p["detail"]), tc.detail) {
				t.Errorf("HTTP %d %s; want a 400 problem mentioning %q", resp.StatusCode, data, tc.detail)
			}
		})
	}
	// A refused PUT changes nothing.
	_, data = e.do(http.MethodGet, "/sim/faults", "", nil)
	got = Faults{}
	_ = json.Unmarshal(data, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("faults changed by refused PUTs (-want +got):\n%s", diff)
	}
}

func TestErrorFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	calls := map[string]func() (*http.Response, []byte){
		EndpointAuth: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathAuth, "", authRequest(DevRegprocClient, DevSecret))
		},
		EndpointCreatePacket: func() (*http.Response, []byte) {
			return e.do(http.MethodPut, PathCreatePacket, token, packetBody("990010000000001", "CRVS_NEW", birthFields(infant("Fault Packet"))))
		},
		EndpointWorkflow: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathWorkflow, token, workflowBody("990010000000001", "CRVS_NEW"))
		},
		EndpointStatus: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathStatusSearch, token, statusBody("990010000000001"))
		},
		EndpointHub: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathHub, token, form("subscribe", "t", "http://127.0.0.1:1/cb", "s"))
		},
		EndpointIDRepo: func() (*http.Response, []byte) {
			return e.do(http.MethodGet, PathIdentity+"/idvid/990010000000001?type=demo&idType=RID", token, nil)
		},
		EndpointIDA: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathIDAAuth+"/lk/partner/key", "", map[string]any{"id": "mosip.identity.auth"})
		},
		EndpointTokenID: func() (*http.Response, []byte) {
			return e.do(http.MethodGet, PathTokenID+"/2000000000/opencrvs-partner", token, nil)
		},
		EndpointRIDGenerator: func() (*http.Response, []byte) {
			return e.do(http.MethodGet, PathRIDGenerator+"/10001/10004", token, nil)
		},
		EndpointKeymanager: func() (*http.Response, []byte) {
			return e.do(http.MethodPost, PathKeymanagerEncrypt, token, kmRequestBody(mosip.AppRegistration, testRefID, []byte("x"), randomBytes(12), randomBytes(32), true))
		},
		EndpointSync: func() (*http.Response, []byte) {
			return e.post(PathSync, token, "application/json", syncHeaders(), []byte(`"x"`))
		},
		EndpointPacketReceiver: func() (*http.Response, []byte) {
			return e.post(PathPacketReceiver, token, "application/json", nil, []byte(`{}`))
		},
	}
	errors200 := map[string]string{
		EndpointAuth: "KER-ATH-002", EndpointCreatePacket: "KER-PUT-015", EndpointWorkflow: "RPR-WIS-000", EndpointStatus: "RPR-RGS-018",
		EndpointIDRepo: "IDR-IDC-004", EndpointIDA: "IDA-MLC-007", EndpointTokenID: CodeTokenIDInternal,
		EndpointRIDGenerator: CodeRIDExhausted, EndpointKeymanager: CodeKeymanagerInternal, EndpointSync: CodeStatusUnknown,
		EndpointPacketReceiver: CodePacketUnknown,
	}
	for _, endpoint := range allEndpoints {
		t.Run(endpoint, func(t *testing.T) {
			set := func(f Faults) {
				t.Helper()
				f.Endpoints = []string{endpoint}
				if err := e.sim.SetFaults(f); err != nil {
					t.Fatal(err)
				}
			}

			set(Faults{Outage: true})
			if resp, body := calls[endpoint](); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("outage: HTTP %d %s", resp.StatusCode, body)
			}

			set(Faults{ErrorRate: 1, ErrorMode: ModeHTTP500})
			resp, body := calls[endpoint]()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("http500: HTTP %d %s", resp.StatusCode, body)
			}
			if endpoint != EndpointHub && !strings.Contains(string(body), `"error":"Internal Server Error"`) {
				t.Errorf("http500 body %s", body)
			}

			set(Faults{ErrorRate: 1, ErrorMode: ModeErrors200})
			resp, body = calls[endpoint]()
			if endpoint == EndpointHub {
				if resp.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(string(body), "hub.mode=denied&hub.reason=") {
					t.Errorf("errors200 at the hub: HTTP %d %s", resp.StatusCode, body)
				}
			} else {
				r := decodeMOSIP[any](t, body)
				// IDA answers its errors with response {authStatus: false}.
				if resp.StatusCode != http.StatusOK || (r.Response != nil && endpoint != EndpointIDA) || len(r.Errors) != 1 || r.Errors[0].ErrorCode != errors200[endpoint] {
					t.Errorf("errors200: HTTP %d %s; want 200 with %s", resp.StatusCode, body, errors200[endpoint])
				}
			}
			if endpoint == EndpointAuth && resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a failed authentication set a cookie")
			}

			// Other endpoints are untouched.
			if endpoint != EndpointAuth {
				if resp, _ := calls[EndpointAuth](); resp.StatusCode != http.StatusOK || resp.Header.Get("Set-Cookie") == "" {
					t.Errorf("auth affected by a fault aimed at %s", endpoint)
				}
			}
			// errorRate 0 injects nothing.
			set(Faults{ErrorRate: 0, ErrorMode: ModeHTTP500})
			if resp, body := calls[endpoint](); resp.StatusCode/100 != 2 && endpoint != EndpointHub {
				t.Errorf("no fault: HTTP %d %s", resp.StatusCode, body)
			}
		})
	}
	if err := e.sim.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Stats().Packets; got != 1 {
		t.Errorf("%d packets written; only the fault-free request should have written one", got)
	}
}

func TestErrorRateIsAFraction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if err := e.sim.SetFaults(Faults{ErrorRate: 0.5, Endpoints: []string{EndpointAuth}}); err != nil {
		t.Fatal(err)
	}
	failures := 0
	const n = 200
	for range n {
		if resp, _ := e.do(http.MethodPost, PathAuth, "", authRequest(DevRegprocClient, DevSecret)); resp.StatusCode != http.StatusOK {
			failures++
		}
	}
	// Binomial(200, 0.5): outside 60..140 has probability below 1e-8.
	if failures < 60 || failures > 140 {
		t.Errorf("%d of %d requests failed at errorRate 0.5", failures, n)
	}
}

func TestRejectAndFailRates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)

	if err := e.sim.SetFaults(Faults{RejectRate: 1}); err != nil {
		t.Fatal(err)
	}
	e.register(token, "991010000000001", "CRVS_NEW", birthFields(infant("Rejected Anyway")))
	v := e.finished("991010000000001")
	if last := lastStage(t, v); v.Status != mosip.StatusRejected || last.Stage != StageDemoDedupe || !strings.Contains(last.Reason, "injected") {
		t.Errorf("rejectRate 1: %s at %s %q", v.Status, last.Stage, last.Reason)
	}
	// The death route has no dedupe: rejected at the CMD validator.
	id, _ := e.sim.AddIdentity(SeedIdentity{})
	e.register(token, "991010000000002", "CRVS_DEATH", map[string]any{"UIN": id.UIN})
	v = e.finished("991010000000002")
	if last := lastStage(t, v); v.Status != mosip.StatusRejected || last.Stage != StageCMDValidator {
		t.Errorf("rejectRate 1 on a death: %s at %s", v.Status, last.Stage)
	}

	if err := e.sim.SetFaults(Faults{FailRate: 1}); err != nil {
		t.Fatal(err)
	}
	stagesSeen := map[string]bool{}
	for i := range 12 {
		rid := fmt.Sprintf("9920100000000%02d", i)
		e.register(token, rid, "CRVS_NEW", birthFields(infant(fmt.Sprintf("Failing Child %02d", i))))
		v := e.finished(rid)
		last := lastStage(t, v)
		if v.Status != mosip.StatusFailed || last.Reason != "injected failure (failRate)" {
			t.Errorf("failRate 1: %s at %s %q", v.Status, last.Stage, last.Reason)
		}
		stagesSeen[last.Stage] = true
	}
	if len(stagesSeen) < 2 {
		t.Errorf("injected failures all at %v; want random stages", stagesSeen)
	}
	st := e.sim.Stats()
	if st.Rejected != 2 || st.Failed != 12 {
		t.Errorf("stats rejected %d failed %d", st.Rejected, st.Failed)
	}
}

func TestDuplicateAndLostDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)

	if err := e.sim.SetFaults(Faults{DuplicateDeliveryRate: 1}); err != nil {
		t.Fatal(err)
	}
	e.register(token, "993010000000001", "CRVS_NEW", birthFields(infant("Twice Delivered")))
	first, second := sub.next(), sub.next()
	if first.event.Event.ID != second.event.Event.ID || string(first.body) != string(second.body) {
		t.Errorf("the duplicate differs from the original")
	}
	eventually(t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })

	if err := e.sim.SetFaults(Faults{LostDeliveryRate: 1}); err != nil {
		t.Fatal(err)
	}
	e.register(token, "993010000000002", "CRVS_NEW", birthFields(infant("Never Arrives")))
	eventually(t, "the loss", func() bool { return e.sim.Stats().Deliveries.Lost == 1 })
	sub.none()
	st := e.sim.Stats().Deliveries
	if st.Sent != 2 || st.Duplicated != 1 || st.Pending != 0 {
		t.Errorf("delivery stats = %+v", st)
	}
	if v := e.finished("993010000000002"); v.Status != mosip.StatusProcessed {
		t.Errorf("a lost delivery changed the registration: %s", v.Status)
	}
}

func TestStatsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	e.register(token, "994010000000001", "CRVS_NEW", birthFields(infant("Counted Child")))
	e.finished("994010000000001")
	_, body := e.do(http.MethodGet, "/sim/stats", "", nil)
	var st Stats
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Packets != 1 || st.Workflows != 1 || st.Processed != 1 || st.Identities != 1 || st.Deliveries.Backlog != 2 {
		t.Errorf("stats = %+v", st)
	}
	_, body = e.do(http.MethodGet, "/sim/registrations/994010000000001", "", nil)
	var v RegistrationView
	if err := json.Unmarshal(body, &v); err != nil || v.Status != mosip.StatusProcessed || len(v.Stages) != 9 || v.UIN == "" {
		t.Errorf("GET /sim/registrations: %s", body)
	}
	_, body = e.do(http.MethodGet, "/sim/identities/"+v.UIN, "", nil)
	if !strings.Contains(string(body), `"registrationIds":["994010000000001"]`) {
		t.Errorf("GET /sim/identities: %s", body)
	}
	_, body = e.do(http.MethodGet, "/sim/subscriptions", "", nil)
	if string(body) != "[]" {
		t.Errorf("GET /sim/subscriptions with none: %s", body)
	}
}
