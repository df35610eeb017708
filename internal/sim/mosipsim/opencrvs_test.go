package mosipsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/websub"
)

// openCRVSPacket is an OPENCRVS_NEW packet whose metaInfo metaData carries
// brn under label ("" leaves it out).
func openCRVSPacket(rid string, fields map[string]any, label, brn string) map[string]any {
	body := packetBody(rid, "OPENCRVS_NEW", fields)
	meta := []map[string]string{{"label": "registrationType", "value": "OPENCRVS_NEW"}}
	if brn != "" {
		meta = append(meta, map[string]string{"label": label, "value": brn})
	}
	b, _ := json.Marshal(meta)
	body["request"].(map[string]any)["metaInfo"].(map[string]any)["metaData"] = string(b)
	return body
}

// settle waits until no delivery is pending or waiting.
func (e *env) settle() {
	e.t.Helper()
	eventually(e.t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })
}

// ended waits until the registration's status is final, REPROCESS
// included.
func (e *env) ended(rid string) RegistrationView {
	e.t.Helper()
	var v RegistrationView
	eventually(e.t, "registration "+rid+" to end", func() bool {
		var ok bool
		v, ok = e.sim.Registration(rid)
		switch v.Status {
		case mosip.StatusProcessed, mosip.StatusRejected, mosip.StatusFailed, mosip.StatusReprocess:
			return ok
		}
		return false
	})
	return v
}

func stageNames(v RegistrationView) []string {
	var out []string
	for _, st := range v.Stages {
		out = append(out, st.Stage)
	}
	return out
}

func TestOpenCRVSRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	topic := "opencrvs-partner/CREDENTIAL_ISSUED"
	e.subscribe(e.token(DevWebsubClient), sub, topic)

	// The stage compares the label case-insensitively.
	const rid = "800010000000001"
	e.createPacket(token, openCRVSPacket(rid, birthFields(infant("Route Child")), "OpencrvsBRN", "2025B000123"))
	e.startWorkflow(token, rid, "OPENCRVS_NEW")
	v := e.ended(rid)

	want := []string{
		StagePacketReceiver, StageSecurezone, StagePacketUploader, StagePacketValidator, StageClassifier,
		StageIntroducer, StageUINGenerator, StageFinalization, StagePrinting, StageOpenCRVS,
	}
	if diff := cmp.Diff(want, stageNames(v)); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	for _, st := range v.Stages {
		if st.Status != StageSuccess {
			t.Errorf("stage %s: %s (%s)", st.Stage, st.Status, st.Reason)
		}
	}
	last := lastStage(t, v)
	if v.Status != mosip.StatusProcessed || last.Code != CodeOpenCRVSSubmitted || v.UIN == "" || v.VID == "" {
		t.Fatalf("registration %s, UIN %q, VID %q, last stage %+v", v.Status, v.UIN, v.VID, last)
	}

	got := sub.next()
	ev := got.event
	if ev.Topic != topic || ev.Publisher != "CREDENTIAL_SERVICE" || !uuidPattern.MatchString(ev.Event.TransactionID) {
		t.Errorf("event envelope: topic %q publisher %q transactionId %q", ev.Topic, ev.Publisher, ev.Event.TransactionID)
	}
	if !strings.Contains(last.Reason, ev.Event.TransactionID) {
		t.Errorf("stage reason %q does not name the credential request %s", last.Reason, ev.Event.TransactionID)
	}
	// event.data is the request's additionalData plus the credential: no
	// registrationId or template (those come from the credential requestor
	// stage, which this route does not run).
	var raw struct {
		Event struct {
			Data map[string]json.RawMessage `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(got.body, &raw); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(raw.Event.Data))
	for k := range raw.Event.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"credential", "credentialType", "opencrvsBRN", "proof", "protectionKey"}, keys); diff != "" {
		t.Errorf("event.data keys (-want +got):\n%s", diff)
	}
	d := ev.Event.Data
	if d.CredentialType != CredentialTypeOpenCRVS || d.OpencrvsBRN != "2025B000123" || len(d.ProtectionKey) != 6 {
		t.Errorf("event data: credentialType %q opencrvsBRN %q protectionKey %q", d.CredentialType, d.OpencrvsBRN, d.ProtectionKey)
	}

	// The subscriber decrypted the credential with the partner key; it is
	// MOSIP's formatted credential of the perpetual VID, sharing the UIN.
	cred, err := mosip.ParseCredential(got.credential)
	if err != nil {
		t.Fatal(err)
	}
	if cred.UIN != v.UIN || cred.RegistrationID != v.VID {
		t.Errorf("credential UIN %q subject id %q; want the registration's UIN %q and VID %q", cred.UIN, cred.RegistrationID, v.UIN, v.VID)
	}
	var c struct {
		Type     []string `json:"type"`
		IssuedTo string   `json:"issuedTo"`
	}
	if err := json.Unmarshal(got.credential, &c); err != nil || c.IssuedTo != "opencrvs-partner" || !slices.Equal(c.Type, []string{"MOSIPVerifiableCredential"}) {
		t.Errorf("credential type %v issuedTo %q (%v)", c.Type, c.IssuedTo, err)
	}
	var proof struct {
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(d.Proof, &proof); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseDetached(proof.Signature, got.credential, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("proof.signature: %v", err)
	}
	set := e.sim.JWKS()
	if _, err := jws.Verify(set.Key("credential-service")[0].Key); err != nil {
		t.Errorf("proof.signature does not verify: %v", err)
	}

	// Without a BRN the stage warns and the credential goes without one.
	const noBRN = "800010000000002"
	e.createPacket(token, openCRVSPacket(noBRN, birthFields(infant("Nameless Number")), "", ""))
	e.startWorkflow(token, noBRN, "OPENCRVS_NEW")
	v = e.ended(noBRN)
	if last := lastStage(t, v); v.Status != mosip.StatusProcessed || !strings.Contains(last.Reason, "has no opencrvsBRN") {
		t.Errorf("without a BRN: %s, last stage %+v", v.Status, last)
	}
	got = sub.next()
	if strings.Contains(string(got.body), "opencrvsBRN") {
		t.Errorf("event without a BRN names one: %s", got.body)
	}

	// Only the partner's topic got events: the bare CREDENTIAL_ISSUED,
	// which has no subscriber, would have kept them in its backlog.
	e.settle()
	sub.none()
	if st := e.sim.Stats(); st.Deliveries.Backlog != 0 || st.Processed != 2 {
		t.Errorf("stats: backlog %d processed %d", st.Deliveries.Backlog, st.Processed)
	}
}

func TestOpenCRVSPartnerConfigurable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.OpenCRVSPartnerID = "crvs-partner-2" })
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(e.token(DevWebsubClient), sub, "crvs-partner-2/CREDENTIAL_ISSUED")
	e.createPacket(token, openCRVSPacket("810010000000001", birthFields(infant("Partner Two")), "opencrvsBRN", "2025B9"))
	e.startWorkflow(token, "810010000000001", "OPENCRVS_NEW")
	got := sub.next()
	var c struct {
		IssuedTo string `json:"issuedTo"`
	}
	if err := json.Unmarshal(got.credential, &c); err != nil || got.event.Topic != "crvs-partner-2/CREDENTIAL_ISSUED" || c.IssuedTo != "crvs-partner-2" {
		t.Errorf("topic %q issuedTo %q (%v)", got.event.Topic, c.IssuedTo, err)
	}
	e.settle()
	if st := e.sim.Stats(); st.Deliveries.Backlog != 0 {
		t.Errorf("%d events in a backlog: published to another topic as well", st.Deliveries.Backlog)
	}

	if _, err := New(Config{PartnerCert: e.keys.cert, OpenCRVSPartnerID: "bad\npartner"}); err == nil {
		t.Errorf("New accepted a partner id with a control character")
	}
}

func TestOpenCRVSWithoutPerpetualVID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(e.token(DevWebsubClient), sub, "opencrvs-partner/CREDENTIAL_ISSUED")
	if err := e.sim.SetFaults(Faults{DisablePerpetualVID: true}); err != nil {
		t.Fatal(err)
	}
	const rid = "820010000000001"
	e.createPacket(token, openCRVSPacket(rid, birthFields(infant("Vidless Child")), "opencrvsBRN", "2025B7"))
	e.startWorkflow(token, rid, "OPENCRVS_NEW")
	v := e.ended(rid)
	last := lastStage(t, v)
	if v.Status != mosip.StatusReprocess || last.Stage != StageOpenCRVS || last.Status != StageReprocess || last.Code != CodeOpenCRVSVIDNotAvailable {
		t.Fatalf("ended %s at %+v; want REPROCESS at %s with %s", v.Status, last, StageOpenCRVS, CodeOpenCRVSVIDNotAvailable)
	}
	if v.UIN == "" || v.VID != "" {
		t.Errorf("UIN %q VID %q; want a UIN and no VID", v.UIN, v.VID)
	}

	// The status search and the VID list agree.
	_, body := e.do(http.MethodPost, PathStatusSearch, token, statusBody(rid))
	if r := decodeMOSIP[[]mosip.RegistrationStatus](t, body); len(r.Response) != 1 || r.Response[0].StatusCode != mosip.StatusReprocess {
		t.Errorf("status search: %s", body)
	}
	_, body = e.do(http.MethodGet, PathVID+"/uin/"+v.UIN, token, nil)
	if r := decodeMOSIP[any](t, body); !slices.Equal(errorCodes(r.Errors), []string{CodeIDRepoNoRecord}) {
		t.Errorf("VIDs of a UIN without one: %s", body)
	}
	e.settle()
	sub.none()
}

func TestOpenCRVSValidators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	parent := e.born(token, "830010000000001", "Parent Person")
	now := time.Now()
	for i, tc := range []struct {
		name   string
		fields map[string]any
		faults Faults
		status string
		stage  string
		reason string
	}{
		{
			name: "adult: no introducer check", status: mosip.StatusProcessed, stage: StageIntroducer, reason: "skipped",
			fields: func() map[string]any {
				p := infant("Grown Registrant")
				p.dob = now.AddDate(-30, 0, 0)
				return birthFields(p)
			}(),
		},
		{
			name: "infant without an introducer", status: mosip.StatusProcessed, stage: StageIntroducer, reason: "names no introducer",
			fields: birthFields(infant("Lone Infant")),
		},
		{
			name: "introducer known by registration", status: mosip.StatusProcessed, stage: StageIntroducer, reason: "introducer found by introducerRID",
			fields: func() map[string]any {
				f := birthFields(infant("Introduced Infant"))
				f["introducerRID"] = parent.RegistrationID
				return f
			}(),
		},
		{
			name: "unknown introducer", status: mosip.StatusRejected, stage: StageIntroducer, reason: "introducer not found",
			fields: func() map[string]any {
				f := birthFields(infant("Badly Introduced"))
				f["introducerRID"] = "830019999999999"
				return f
			}(),
		},
		{
			name: "injected rejection", status: mosip.StatusRejected, stage: StagePacketValidator, reason: "injected rejection",
			fields: birthFields(infant("Unlucky Infant")), faults: Faults{RejectRate: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.sim.SetFaults(tc.faults); err != nil {
				t.Fatal(err)
			}
			rid := fmt.Sprintf("83002%010d", i)
			e.createPacket(token, openCRVSPacket(rid, tc.fields, "opencrvsBRN", "2025B"+fmt.Sprint(i)))
			e.startWorkflow(token, rid, "OPENCRVS_NEW")
			v := e.ended(rid)
			var st StageRecord
			for _, s := range v.Stages {
				if s.Stage == tc.stage {
					st = s
				}
			}
			if v.Status != tc.status || !strings.Contains(st.Reason, tc.reason) {
				t.Errorf("ended %s; stage %s: %+v; want %s with %q", v.Status, tc.stage, st, tc.status, tc.reason)
			}
		})
	}
}

func TestTokenID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	a := e.born(token, "840010000000001", "Token Holder")
	b := e.born(token, "840010000000002", "Other Holder")

	get := func(id, partner string) mosip.Response[*struct {
		TokenID string `json:"tokenID"`
	}] {
		t.Helper()
		resp, body := e.do(http.MethodGet, PathTokenID+"/"+id+"/"+partner, token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET tokenid: HTTP %d %s", resp.StatusCode, body)
		}
		return decodeMOSIP[*struct {
			TokenID string `json:"tokenID"`
		}](t, body)
	}
	tok := func(id, partner string) string {
		t.Helper()
		r := get(id, partner)
		if len(r.Errors) > 0 || r.Response == nil || r.ID != "mosip.kernel.tokenid.generate" {
			t.Fatalf("token of %s for %s: %+v", id, partner, r)
		}
		return r.Response.TokenID
	}

	first := tok(a.UIN, "mpartner-default-auth")
	if !isTokenID(first) {
		t.Errorf("token %q is not 36 digits", first)
	}
	if again := tok(a.UIN, "mpartner-default-auth"); again != first {
		t.Errorf("the same UIN and partner gave %q then %q", first, again)
	}
	if other := tok(a.UIN, "opencrvs-partner"); other == first {
		t.Errorf("two partners got the same token")
	}
	if other := tok(b.UIN, "mpartner-default-auth"); other == first {
		t.Errorf("two UINs got the same token")
	}
	// The second hop takes the first hop's token.
	psut := tok(first, "opencrvs-partner")
	if psut == first || psut != TokenID(first, "opencrvs-partner") || !isTokenID(psut) {
		t.Errorf("second hop = %q", psut)
	}

	for _, id := range []string{a.VID, "2000000000", "840010000000001"} {
		if r := get(id, "opencrvs-partner"); r.Response != nil || !slices.Equal(errorCodes(r.Errors), []string{CodeIDRepoNoRecord}) {
			t.Errorf("token of %s (not a UIN): %+v", id, r)
		}
	}
	if r := get("%20", "opencrvs-partner"); !slices.Equal(errorCodes(r.Errors), []string{CodeTokenIDEmpty}) {
		t.Errorf("blank UIN: %+v", r)
	}
	if resp, _ := e.do(http.MethodGet, PathTokenID+"/"+a.UIN+"/opencrvs-partner", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: HTTP %d", resp.StatusCode)
	}
}

func TestVIDRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	birth := e.born(token, "850010000000001", "Vid Reader")

	read := func(vid string) mosip.Response[map[string]any] {
		t.Helper()
		resp, body := e.do(http.MethodGet, PathVID+"/"+vid, token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET vid: HTTP %d %s", resp.StatusCode, body)
		}
		return decodeMOSIP[map[string]any](t, body)
	}
	r := read(birth.VID)
	if r.ID != "mosip.vid.read" || len(r.Errors) != 0 || r.Response["UIN"] != birth.UIN {
		t.Errorf("VID read: %+v", r)
	}
	for _, id := range []string{birth.UIN, "2000000000000000"} {
		if r := read(id); r.Response != nil || !slices.Equal(errorCodes(r.Errors), []string{CodeIDRepoNoRecord}) {
			t.Errorf("VID read of %s (not a VID): %+v", id, r)
		}
	}
	if p := e.patch(token, patchBody("850010000000002", IdentityDeactivated, map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5})); len(p.Errors) > 0 {
		t.Fatalf("deactivation: %+v", p.Errors)
	}
	if r := read(birth.VID); r.Response != nil || len(r.Errors) != 1 || r.Errors[0] != (mosip.ServiceError{ErrorCode: CodeUINNotActive, Message: "DEACTIVATED UIN"}) {
		t.Errorf("VID read of a deactivated UIN: %+v", r)
	}
}

func TestCredentialStatusPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newRawSubscriber(t, "s")
	e.subscribe(token, sub, TopicCredentialStatusUpdate)
	event := func(requestID, status string) []byte {
		b, _ := json.Marshal(map[string]any{
			"publishedOn": "2025-01-01T10:00:00.000Z", "publisher": "OPENCRVS_MEDIATOR", "topic": TopicCredentialStatusUpdate,
			"event": map[string]any{"id": "e-" + status, "requestId": requestID, "status": status, "timestamp": "2025-01-01 10:00:00.0", "url": nil},
		})
		return b
	}
	publish := func(topic, tok, contentType string, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.url+PathHub+"?hub.mode=publish&hub.topic="+topic, strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if tok != "" {
			req.AddCookie(&http.Cookie{Name: "Authorization", Value: tok})
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}

	if status, body := publish(TopicCredentialStatusUpdate, token, "application/json", event("req-1", "served")); status != http.StatusOK || body != "hub.mode=accepted" {
		t.Fatalf("publish: HTTP %d %q", status, body)
	}
	if status, _ := publish(TopicCredentialStatusUpdate, token, "application/json; charset=utf-8", event("req-1", "RECEIVED")); status != http.StatusOK {
		t.Fatalf("second publish: HTTP %d", status)
	}
	// The Java mediator's publishedOn is a Joda DateTime: Jackson may
	// write it as a number.
	joda := `{"publishedOn":1735725600000,"publisher":"OPENCRVS_MEDIATOR","topic":"CREDENTIAL_STATUS_UPDATE",` +
		`"event":{"id":"e-joda","requestId":"req-1","status":"serving_error_decrypt","timestamp":"2025-01-01 10:00:00.0","url":null}}`
	if status, body := publish(TopicCredentialStatusUpdate, token, "application/json", []byte(joda)); status != http.StatusOK {
		t.Fatalf("publish with a numeric publishedOn: HTTP %d %q", status, body)
	}
	recs := e.sim.CredentialStatus("req-1")
	if len(recs) != 3 || recs[0].Status != "served" || recs[1].Status != "RECEIVED" || recs[0].EventID != "e-served" ||
		recs[0].Publisher != "OPENCRVS_MEDIATOR" || recs[0].Client != DevWebsubClient || recs[0].URL != "" ||
		recs[2].PublishedOn != "1735725600000" || recs[2].Timestamp != "2025-01-01 10:00:00.0" {
		t.Errorf("records = %+v", recs)
	}
	resp, body := e.do(http.MethodGet, "/sim/credential-status/req-1", "", nil)
	var view struct {
		RequestID string                   `json:"requestId"`
		Events    []CredentialStatusRecord `json:"events"`
	}
	if err := json.Unmarshal(body, &view); resp.StatusCode != http.StatusOK || err != nil || view.RequestID != "req-1" || len(view.Events) != 3 {
		t.Errorf("GET /sim/credential-status/req-1: HTTP %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(http.MethodGet, "/sim/credential-status/unknown", "", nil); resp.StatusCode != http.StatusNotFound ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown request id: HTTP %d %s", resp.StatusCode, body)
	}
	// The topic's subscribers get the events as they were published (in
	// any order: deliveries run in parallel).
	var delivered []string
	for range 3 {
		var ev struct {
			Event struct {
				Status string `json:"status"`
			} `json:"event"`
		}
		if err := json.Unmarshal(sub.next().body, &ev); err != nil {
			t.Fatal(err)
		}
		delivered = append(delivered, ev.Event.Status)
	}
	slices.Sort(delivered)
	if want := []string{"RECEIVED", "served", "serving_error_decrypt"}; !slices.Equal(delivered, want) {
		t.Errorf("delivered statuses %v, want %v", delivered, want)
	}

	for _, tc := range []struct {
		name, topic, token, contentType string
		body                            []byte
		status                          int
		reason                          string
	}{
		{"credential topic", "opencrvs-partner%2FCREDENTIAL_ISSUED", token, "application/json", event("req-2", "x"), 400, "not supported"},
		{"other topic", "IDENTITY_UPDATED", token, "application/json", event("req-2", "x"), 400, "not supported"},
		{"no topic", "", token, "application/json", event("req-2", "x"), 400, "hub.topic"},
		{"form body", TopicCredentialStatusUpdate, token, "application/x-www-form-urlencoded", event("req-2", "x"), 400, "Content-Type"},
		{"not JSON", TopicCredentialStatusUpdate, token, "application/json", []byte("served"), 400, "not a credential status event"},
		{"no requestId", TopicCredentialStatusUpdate, token, "application/json", event("", "x"), 400, "event.requestId"},
		{"no status", TopicCredentialStatusUpdate, token, "application/json", event("req-2", ""), 400, "event.status"},
		{"no token", TopicCredentialStatusUpdate, "", "application/json", event("req-2", "x"), 500, "Authorization token cannot be found"},
		{"bad token", TopicCredentialStatusUpdate, "garbage", "application/json", event("req-2", "x"), 500, "not authorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := publish(tc.topic, tc.token, tc.contentType, tc.body)
			answer, err := url.ParseQuery(body)
			if status != tc.status || err != nil || answer.Get("hub.mode") != "denied" || !strings.Contains(answer.Get("hub.reason"), tc.reason) {
				t.Errorf("HTTP %d %q; want %d denied about %q", status, body, tc.status, tc.reason)
			}
		})
	}
	if recs := e.sim.CredentialStatus("req-2"); recs != nil {
		t.Errorf("refused publishes were recorded: %+v", recs)
	}
	e.settle()
	sub.none()
}

// newRawSubscriber is a subscriber that checks each delivery's signature
// and passes its body on undecoded.
func newRawSubscriber(t *testing.T, secret string) *subscriber {
	t.Helper()
	s := &subscriber{t: t, secret: []byte(secret), events: make(chan received, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil || !websub.Verify(s.secret, r.Header.Get(websub.SignatureHeader), body) {
			t.Errorf("raw subscriber: unreadable or unsigned delivery (%v)", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.events <- received{header: r.Header.Clone(), body: body}
	}))
	t.Cleanup(s.srv.Close)
	return s
}
