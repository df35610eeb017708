package opencrvssim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/opencrvs"
)

// hookDelivery is one POST a subscriber received.
type hookDelivery struct {
	body                   []byte
	signature, contentType string
}

// hookSubscriber is a webhook subscriber: it answers OpenCRVS's callback
// check with the challenge (or with echo's answer) and keeps the
// deliveries. Deliveries get status (0: 200); the first drop of them are
// answered by closing the connection.
type hookSubscriber struct {
	srv    *httptest.Server
	status int
	echo   func(challenge string) string

	mu         sync.Mutex
	drop       int
	intents    []url.Values
	deliveries []hookDelivery
}

func newHookSubscriber(t *testing.T, status, drop int) *hookSubscriber {
	t.Helper()
	h := &hookSubscriber{status: status, drop: drop}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSubscriber) url() string { return h.srv.URL + "/webhooks" }

func (h *hookSubscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		h.mu.Lock()
		h.intents = append(h.intents, r.URL.Query())
		h.mu.Unlock()
		challenge, err := opencrvs.AnswerIntent(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if h.echo != nil {
			challenge = h.echo(challenge)
		}
		opencrvs.WriteIntentAnswer(w, challenge)
		return
	}
	h.mu.Lock()
	drop := h.drop > 0
	if drop {
		h.drop--
	}
	h.mu.Unlock()
	if drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.deliveries = append(h.deliveries, hookDelivery{body, r.Header.Get(opencrvs.WebhookSignatureHeader), r.Header.Get("Content-Type")})
	h.mu.Unlock()
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
}

func (h *hookSubscriber) received() []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookDelivery(nil), h.deliveries...)
}

func systemBearer(t *testing.T, s *Sim) string {
	t.Helper()
	tok, err := s.SystemToken(DevSystemClient)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

func hub(callback, topic, secret string) map[string]any {
	return map[string]any{"hub": map[string]any{"callback": callback, "mode": "subscribe", "topic": topic, "secret": secret}}
}

// subscribe subscribes callback to topic and returns the status and the
// denial's reason.
func (e *testEnv) subscribe(t *testing.T, auth string, body any) (int, string) {
	t.Helper()
	ctx := t.Context()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/webhooks", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	var denial struct {
		Hub struct{ Mode, Reason string } `json:"hub"`
	}
	if json.Unmarshal(answer, &denial) == nil && denial.Hub.Mode == "denied" {
		return resp.StatusCode, denial.Hub.Reason
	}
	return resp.StatusCode, string(answer)
}

type webhookList struct {
	Entries []webhookEntry `json:"entries"`
}

func (e *testEnv) listWebhooks(t *testing.T) []webhookEntry {
	t.Helper()
	var l webhookList
	if resp := do(t, http.MethodGet, e.srv.URL+"/webhooks", systemBearer(t, e.sim), nil, &l); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /webhooks: %d", resp.StatusCode)
	}
	return l.Entries
}

type simStats struct {
	Registered                 int `json:"registered"`
	IdentifierUpserts          int `json:"identifierUpserts"`
	WebhookSubscriptions       int `json:"webhookSubscriptions"`
	WebhookSubscribes          int `json:"webhookSubscribes"`
	WebhookSubscriptionsDenied int `json:"webhookSubscriptionsDenied"`
	WebhookDeliveries          int `json:"webhookDeliveries"`
	WebhookDeliveryFailures    int `json:"webhookDeliveryFailures"`
	WebhookAttempts            int `json:"webhookAttempts"`
	WriteBacks                 int `json:"writeBacks"`
}

func (e *testEnv) stats(t *testing.T) simStats {
	t.Helper()
	var st simStats
	do(t, http.MethodGet, e.srv.URL+"/sim/stats", "", nil, &st)
	return st
}

func TestWebhookSubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	sub := newHookSubscriber(t, 0, 0)
	auth := systemBearer(t, e.sim)

	if status, answer := e.subscribe(t, auth, hub(sub.url(), "BIRTH_REGISTERED", DevSHASecret)); status != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s, want 202", status, answer)
	}
	sub.mu.Lock()
	intents := sub.intents
	sub.mu.Unlock()
	if len(intents) != 1 {
		t.Fatalf("%d callback checks, want 1", len(intents))
	}
	q := intents[0]
	raw, err := base64.StdEncoding.DecodeString(q.Get("challenge"))
	if q.Get("mode") != "subscribe" || q.Get("topic") != "BIRTH_REGISTERED" || err != nil || len(raw) != 16 {
		t.Errorf("callback check %v: want mode subscribe, topic BIRTH_REGISTERED, challenge base64 of 16 bytes", q)
	}
	list := e.listWebhooks(t)
	if len(list) != 1 || list[0].Callback != sub.url() || list[0].Topic != "BIRTH_REGISTERED" || list[0].ID == "" || list[0].CreatedBy.ClientID != DevSystemClient {
		t.Errorf("subscriptions %+v", list)
	}

	recordToken, err := e.sim.RecordToken("some-record", 0)
	if err != nil {
		t.Fatal(err)
	}
	denials := []struct {
		name, auth, callback, topic, secret, mode, reason string
	}{
		{"unknown topic", auth, sub.url(), "BIRTH_DECLARED", DevSHASecret, "subscribe", "Unsupported topic: BIRTH_DECLARED"},
		{"not a system client", "Bearer " + recordToken, sub.url(), "BIRTH_REGISTERED", DevSHASecret, "subscribe", "Active system details cannot be found.  This system is no longer authorized"},
		{"wrong secret", auth, sub.url(), "BIRTH_REGISTERED", "guess", "subscribe", "hub.secret is incorrect"},
		{"wrong mode", auth, sub.url(), "BIRTH_REGISTERED", DevSHASecret, "unsubscribe", "hub.mode must be set to subscribe"},
	}
	for _, d := range denials {
		body := hub(d.callback, d.topic, d.secret)
		body["hub"].(map[string]any)["mode"] = d.mode
		if status, reason := e.subscribe(t, d.auth, body); status != http.StatusBadRequest || reason != d.reason {
			t.Errorf("%s: %d %q, want 400 denied %q", d.name, status, reason, d.reason)
		}
	}

	liar := newHookSubscriber(t, 0, 0)
	liar.echo = func(c string) string { return c + "x" }
	gone := newHookSubscriber(t, 0, 0)
	gone.srv.Close()
	for name, callback := range map[string]string{"wrong challenge": liar.url(), "unreachable": gone.url(), "not a URL": "callback"} {
		if status, answer := e.subscribe(t, auth, hub(callback, "BIRTH_REGISTERED", DevSHASecret)); status != http.StatusBadRequest || answer != "Subscription callback check failed" {
			t.Errorf("%s: %d %q, want 400 Subscription callback check failed", name, status, answer)
		}
	}
	if status, _ := e.subscribe(t, "", hub(sub.url(), "BIRTH_REGISTERED", DevSHASecret)); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
	if status, _ := e.subscribe(t, auth, map[string]any{"hub": map[string]any{"callback": sub.url()}, "extra": 1}); status != http.StatusBadRequest {
		t.Errorf("unknown key: %d, want 400", status)
	}

	st := e.stats(t)
	if st.WebhookSubscriptions != 1 || st.WebhookSubscribes != 1 || st.WebhookSubscriptionsDenied != 7 {
		t.Errorf("stats %+v, want 1 subscription, 1 subscribe, 7 denied", st)
	}
	if got := len(e.listWebhooks(t)); got != 1 {
		t.Errorf("%d subscriptions after refusals, want 1", got)
	}
}

// webhookSend is the answer of POST /sim/records with "delivery":"webhook".
type webhookSend struct {
	ID                 string          `json:"id"`
	TrackingID         string          `json:"trackingId"`
	Kind               string          `json:"kind"`
	Status             string          `json:"status"`
	Delivery           string          `json:"delivery"`
	RegistrationNumber string          `json:"registrationNumber"`
	Subscribers        []webhookResult `json:"subscribers"`
}

func (e *testEnv) sendWebhook(t *testing.T, kind string) webhookSend {
	t.Helper()
	var out webhookSend
	if resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", map[string]any{"kind": kind, "delivery": "webhook"}, &out); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /sim/records: %d %+v", resp.StatusCode, out)
	}
	return out
}

// checkDelivery verifies and reads a delivery as the mediator would.
func checkDelivery(t *testing.T, d hookDelivery, topic, subscriptionID string) *bridge.Record {
	t.Helper()
	if d.contentType != "application/json" {
		t.Errorf("content type %q", d.contentType)
	}
	if err := opencrvs.VerifyWebhook([]byte(DevSHASecret), d.body, d.signature); err != nil {
		t.Fatalf("signature: %v", err)
	}
	wd, err := opencrvs.ParseWebhook(d.body)
	if err != nil {
		t.Fatal(err)
	}
	if wd.Topic != topic || wd.SubscriptionID != subscriptionID || wd.Timestamp.IsZero() {
		t.Errorf("delivery topic %q id %q at %v, want %q %q", wd.Topic, wd.SubscriptionID, wd.Timestamp, topic, subscriptionID)
	}
	rec, err := fhir.Parse(wd.Bundle)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if again, err := fhir.ParseDelivered(wd.Bundle); err != nil || again.RecordID != rec.RecordID {
		t.Errorf("ParseDelivered: %+v, %v", again, err)
	}
	return rec
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	auth := systemBearer(t, e.sim)
	births, failing, deaths := newHookSubscriber(t, 0, 0), newHookSubscriber(t, http.StatusInternalServerError, 0), newHookSubscriber(t, 0, 0)
	for _, s := range []struct {
		sub   *hookSubscriber
		topic string
	}{{births, "BIRTH_REGISTERED"}, {failing, "BIRTH_REGISTERED"}, {deaths, "DEATH_REGISTERED"}} {
		if status, answer := e.subscribe(t, auth, hub(s.sub.url(), s.topic, DevSHASecret)); status != http.StatusAccepted {
			t.Fatalf("subscribe: %d %s", status, answer)
		}
	}

	birth := e.sendWebhook(t, KindBirth)
	wantNumber := time.Now().Format("2006") + birth.TrackingID
	if birth.Status != StatusRegistered || birth.Delivery != "webhook" || birth.RegistrationNumber != wantNumber {
		t.Errorf("answer %+v, want registered under %s", birth, wantNumber)
	}
	if len(birth.Subscribers) != 2 || birth.Subscribers[0].Status != 200 || birth.Subscribers[1].Status != 500 ||
		birth.Subscribers[0].Attempts != 1 || birth.Subscribers[1].Attempts != 1 || birth.Subscribers[0].Callback != births.url() {
		t.Errorf("subscribers %+v, want the two birth subscribers, answered 200 and 500 at the first attempt", birth.Subscribers)
	}
	got := births.received()
	if len(got) != 1 {
		t.Fatalf("birth subscriber got %d deliveries, want 1", len(got))
	}
	rec := checkDelivery(t, got[0], "BIRTH_REGISTERED", birth.Subscribers[0].Subscription)
	if rec.RecordID != birth.ID || rec.TrackingID != birth.TrackingID || rec.RegistrationNumber != wantNumber || rec.Status != "REGISTERED" || rec.Event != bridge.EventBirth {
		t.Errorf("record %s %s %s %s %s", rec.RecordID, rec.TrackingID, rec.RegistrationNumber, rec.Status, rec.Event)
	}
	if !hasIdentifier(rec.Child, "BIRTH_REGISTRATION_NUMBER", wantNumber) || rec.Mother == nil {
		t.Errorf("child %+v, mother %v: want the registration number on the child, and a mother", rec.Child, rec.Mother)
	}
	if n := len(deaths.received()); n != 0 {
		t.Errorf("the death subscriber got %d deliveries of a birth", n)
	}

	death := e.sendWebhook(t, KindDeath)
	if len(death.Subscribers) != 1 || death.Subscribers[0].Status != 200 {
		t.Fatalf("death subscribers %+v", death.Subscribers)
	}
	got = deaths.received()
	if len(got) != 1 {
		t.Fatalf("death subscriber got %d deliveries", len(got))
	}
	drec := checkDelivery(t, got[0], "DEATH_REGISTERED", death.Subscribers[0].Subscription)
	if drec.Event != bridge.EventDeath || !hasIdentifier(drec.Deceased, "DEATH_REGISTRATION_NUMBER", death.RegistrationNumber) {
		t.Errorf("death record %s, deceased %+v", drec.Event, drec.Deceased)
	}

	v := e.record(t, birth.ID, "")
	if v.Status != StatusRegistered || v.Delivery != "webhook" || len(v.Webhooks) != 2 || v.RegistrationNumber == nil || *v.RegistrationNumber != wantNumber {
		t.Errorf("record view %+v", v)
	}
	st := e.stats(t)
	if st.WebhookDeliveries != 3 || st.WebhookDeliveryFailures != 1 || st.WebhookAttempts != 3 || st.Registered != 2 {
		t.Errorf("stats %+v, want 3 deliveries, 1 failure, 3 attempts, 2 registered", st)
	}

	// The mediator gives the national ID with upsertRegistrationIdentifier.
	status, ans := e.graphql(t, strings.TrimPrefix(auth, "Bearer "), upsertMutationForTest, map[string]any{
		"id": birth.ID, "identifierType": "NATIONAL_ID", "identifierValue": "4738291056"})
	if status != http.StatusOK || ans.code() != "" {
		t.Fatalf("upsertRegistrationIdentifier: %d %+v", status, ans)
	}
	if v := e.record(t, birth.ID, ""); v.NationalID == nil || *v.NationalID != "4738291056" || v.IdentifierUpserts != 1 {
		t.Errorf("after upsert: %+v", v)
	}
}

const upsertMutationForTest = `mutation upsertRegistrationIdentifier($id: ID!, $identifierType: String!, $identifierValue: String!) {
  upsertRegistrationIdentifier(id: $id, identifierType: $identifierType, identifierValue: $identifierValue)
}`

func hasIdentifier(p *bridge.Person, typ, value string) bool {
	if p == nil {
		return false
	}
	for _, id := range p.Identifiers {
		if id.Type == typ && id.Value == value {
			return true
		}
	}
	return false
}

// A subscriber that cannot be reached is tried 3 times; one that answers,
// whatever it answers, once.
func TestWebhookDeliveryRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	auth := systemBearer(t, e.sim)
	flaky, dead, unavailable := newHookSubscriber(t, 0, 2), newHookSubscriber(t, 0, 1000), newHookSubscriber(t, http.StatusServiceUnavailable, 0)
	for _, s := range []*hookSubscriber{flaky, dead, unavailable} {
		if status, answer := e.subscribe(t, auth, hub(s.url(), "BIRTH_REGISTERED", DevSHASecret)); status != http.StatusAccepted {
			t.Fatalf("subscribe: %d %s", status, answer)
		}
	}
	out := e.sendWebhook(t, KindBirth)
	if len(out.Subscribers) != 3 {
		t.Fatalf("subscribers %+v", out.Subscribers)
	}
	want := []struct{ status, attempts int }{{200, 3}, {0, 3}, {503, 1}}
	for i, w := range want {
		got := out.Subscribers[i]
		if got.Status != w.status || got.Attempts != w.attempts || (w.status == 0) != (got.Error != "") {
			t.Errorf("subscriber %d: %+v, want status %d after %d attempts", i, got, w.status, w.attempts)
		}
	}
	if n := len(flaky.received()); n != 1 {
		t.Errorf("flaky subscriber got %d deliveries, want 1", n)
	}
	if st := e.stats(t); st.WebhookAttempts != 7 || st.WebhookDeliveryFailures != 2 {
		t.Errorf("stats %+v, want 7 attempts, 2 failures", st)
	}
}

func TestWebhookUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{DefaultVersion: Version19}, nil)
	auth := systemBearer(t, e.sim)
	var raw json.RawMessage
	do(t, http.MethodPost, e.srv.URL+"/sim/records", "", map[string]any{"kind": "birth", "delivery": "webhook"}, &raw)
	if !strings.Contains(string(raw), `"subscribers":[]`) || !strings.Contains(string(raw), `"version":"1.8"`) {
		t.Errorf("answer without subscribers %s: want \"subscribers\":[] and version 1.8", raw)
	}
	sub := newHookSubscriber(t, 0, 0)
	if status, answer := e.subscribe(t, auth, hub(sub.url(), "DEATH_REGISTERED", DevSHASecret)); status != http.StatusAccepted {
		t.Fatalf("subscribe: %d %s", status, answer)
	}
	list := e.listWebhooks(t)
	if len(list) != 1 {
		t.Fatalf("subscriptions %+v", list)
	}
	for _, id := range []string{list[0].ID, "unknown"} {
		if resp := do(t, http.MethodDelete, e.srv.URL+"/webhooks/"+id, auth, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Errorf("DELETE %s: %d, want 204", id, resp.StatusCode)
		}
	}
	if resp := do(t, http.MethodDelete, e.srv.URL+"/webhooks/x", "", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("DELETE without token: %d, want 401", resp.StatusCode)
	}
	if n := len(e.listWebhooks(t)); n != 0 {
		t.Errorf("%d subscriptions after delete", n)
	}
	if out := e.sendWebhook(t, KindDeath); len(out.Subscribers) != 0 || len(sub.received()) != 0 {
		t.Errorf("delivered after unsubscribing: %+v", out.Subscribers)
	}
}

func TestWebhookRecordRequestChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	for _, body := range []string{
		`{"kind":"birth","delivery":"pigeon"}`,
		`{"kind":"birth","delivery":"webhook","mode":"mapped"}`,
		`{"kind":"birth","delivery":"webhook","version":"1.9"}`,
		`{"kind":"birth","delivery":"webhook","bundle":{"resourceType":"Bundle"}}`,
		`{"kind":"birth-correction","delivery":"webhook","of":"x"}`,
	} {
		var p struct {
			Title, Detail string
		}
		if resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", body, &p); resp.StatusCode != http.StatusBadRequest || p.Detail == "" {
			t.Errorf("%s: %d %+v, want a 400 problem", body, resp.StatusCode, p)
		}
	}
	var p struct{ Detail string }
	if resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", `{"kind":"death","delivery":"webhook","of":"nobody"}`, &p); resp.StatusCode != http.StatusConflict {
		t.Errorf("death of an unknown record: %d %+v, want 409", resp.StatusCode, p)
	}
}

func TestWriteBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	auth := systemBearer(t, e.sim)
	birth, death := e.sendWebhook(t, KindBirth), e.sendWebhook(t, KindDeath)
	post := func(auth string, body any) (int, map[string]any) {
		t.Helper()
		var out map[string]any
		resp := do(t, http.MethodPost, e.srv.URL+PathWriteBack, auth, body, &out)
		return resp.StatusCode, out
	}

	if status, out := post(auth, map[string]string{"BRN": birth.RegistrationNumber, "MOSIP_AID": "10001100770000320240307064400"}); status != 200 || out["recordId"] != birth.ID {
		t.Fatalf("AID: %d %v", status, out)
	}
	if status, out := post(auth, map[string]string{"BRN": birth.RegistrationNumber, "MOSIP_PSUT_TOKEN_ID": "psut-1"}); status != 200 || out["writeBacks"] != 2.0 {
		t.Fatalf("PSUT token: %d %v", status, out)
	}
	if status, out := post(auth, map[string]string{"DRN": death.RegistrationNumber, "MOSIP_AID": "10001100770000320240307064401"}); status != 200 || out["recordId"] != death.ID {
		t.Fatalf("death AID: %d %v", status, out)
	}
	v := e.record(t, birth.ID, "")
	if v.MosipAID == nil || *v.MosipAID != "10001100770000320240307064400" || v.MosipPSUTTokenID == nil || *v.MosipPSUTTokenID != "psut-1" || v.WriteBacks != 2 {
		t.Errorf("birth after write-backs: aid %v psut %v count %d", v.MosipAID, v.MosipPSUTTokenID, v.WriteBacks)
	}

	// A record registered through the mediator's confirmation, and a
	// historic one, are found by their numbers too.
	sent := e.send(t, map[string]any{"kind": "birth"})
	token, err := e.sim.RecordToken(sent.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if status, ans := e.graphql(t, token, confirmMutation, confirmVars(sent.ID, "2024CONFIRMED", "")); status != 200 || ans.code() != "" {
		t.Fatalf("confirm: %d %+v", status, ans)
	}
	if status, out := post(auth, map[string]string{"BRN": "2024CONFIRMED", "MOSIP_AID": "a"}); status != 200 || out["recordId"] != sent.ID {
		t.Errorf("confirmed record: %d %v", status, out)
	}
	var buf strings.Builder
	if _, err := e.sim.WriteHistoric(t.Context(), &buf, HistoricRequest{Count: 1}); err != nil {
		t.Fatal(err)
	}
	hist, err := fhir.Parse([]byte(strings.TrimSpace(buf.String())))
	if err != nil {
		t.Fatal(err)
	}
	if status, out := post(auth, map[string]string{"BRN": hist.RegistrationNumber, "MOSIP_AID": "h"}); status != 200 || out["recordId"] != hist.RecordID {
		t.Errorf("historic record: %d %v", status, out)
	}
	if v := e.record(t, hist.RecordID, ""); v.MosipAID == nil || *v.MosipAID != "h" || v.WriteBacks != 1 {
		t.Errorf("historic after write-back: %+v", v)
	}

	recordToken, err := e.sim.RecordToken(birth.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, auth string
		body       any
		status     int
	}{
		{"unknown BRN", auth, map[string]string{"BRN": "2024NOBODY", "MOSIP_AID": "a"}, 404},
		{"a death's number as BRN", auth, map[string]string{"BRN": death.RegistrationNumber, "MOSIP_AID": "a"}, 404},
		{"BRN and DRN", auth, map[string]string{"BRN": birth.RegistrationNumber, "DRN": death.RegistrationNumber, "MOSIP_AID": "a"}, 400},
		{"no number", auth, map[string]string{"MOSIP_AID": "a"}, 400},
		{"nothing to store", auth, map[string]string{"BRN": birth.RegistrationNumber}, 400},
		{"PSUT token of a death", auth, map[string]string{"DRN": death.RegistrationNumber, "MOSIP_PSUT_TOKEN_ID": "t"}, 400},
		{"unknown key", auth, map[string]string{"BRN": birth.RegistrationNumber, "MOSIP_AID": "a", "UIN": "1"}, 400},
		{"no token", "", map[string]string{"BRN": birth.RegistrationNumber, "MOSIP_AID": "a"}, 401},
		{"a record's token", "Bearer " + recordToken, map[string]string{"BRN": birth.RegistrationNumber, "MOSIP_AID": "a"}, 403},
	}
	for _, r := range refusals {
		var p struct{ Type, Title, Detail string }
		resp := do(t, http.MethodPost, e.srv.URL+PathWriteBack, r.auth, r.body, &p)
		if resp.StatusCode != r.status || resp.Header.Get("Content-Type") != "application/problem+json" || p.Detail == "" {
			t.Errorf("%s: %d %q %+v, want a %d problem", r.name, resp.StatusCode, resp.Header.Get("Content-Type"), p, r.status)
		}
	}
	if st := e.stats(t); st.WriteBacks != 5 {
		t.Errorf("stats: %d write-backs, want 5", st.WriteBacks)
	}
	if v := e.record(t, birth.ID, ""); v.WriteBacks != 2 {
		t.Errorf("refused write-backs were counted: %d", v.WriteBacks)
	}
}
