package mosipsim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/websub"
)

//go:embed testdata/idschema.json
var testSchema string

// RSA key generation is slow; every test shares these.
var testKeys = sync.OnceValues(func() (*keys, error) {
	partner, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "opencrvs-partner"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &partner.PublicKey, partner)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	vc, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &keys{partner: partner, cert: cert, vc: vc}, nil
})

type keys struct {
	partner *rsa.PrivateKey
	cert    *x509.Certificate
	vc      *rsa.PrivateKey
}

func mustKeys(t testing.TB) *keys {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatalf("generating test keys: %v", err)
	}
	return k
}

// testClock is time.Now shifted by an adjustable offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type env struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	url   string
	clock *testClock
	keys  *keys
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// newEnv starts a simulator behind a real HTTP server on 127.0.0.1.
func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	k := mustKeys(t)
	clock := &testClock{}
	cfg := Config{
		Logger:            testLogger(t),
		Now:               clock.now,
		PartnerCert:       k.cert,
		CredentialKey:     k.vc,
		DeliveryRetryBase: 5 * time.Millisecond,
		DeliveryRetryMax:  50 * time.Millisecond,
		Seed:              1,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, sim: sim, srv: srv, url: srv.URL, clock: clock, keys: k}
}

// do sends a request and returns the response with its body read.
func (e *env) do(method, path, token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
		contentType = "application/x-www-form-urlencoded"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encoding request: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatalf("building request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Cookie", "Authorization="+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return resp, data
}

func authRequest(clientID, secret string) map[string]any {
	return map[string]any{
		"id": "string", "version": "string", "requesttime": mosip.FormatTime(time.Now()), "metadata": map[string]any{},
		"request": map[string]any{"clientId": clientID, "secretKey": secret, "appId": "regproc"},
	}
}

// token authenticates a dev client and returns its token.
func (e *env) token(clientID string) string {
	e.t.Helper()
	resp, body := e.do(http.MethodPost, PathAuth, "", authRequest(clientID, DevSecret))
	for _, c := range resp.Cookies() {
		if c.Name == "Authorization" && c.Value != "" {
			return c.Value
		}
	}
	e.t.Fatalf("authentication of %s gave no token: %s", clientID, body)
	return ""
}

func decodeMOSIP[T any](t testing.TB, body []byte) mosip.Response[T] {
	t.Helper()
	var r mosip.Response[T]
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("response is not a MOSIP response wrapper: %v: %s", err, body)
	}
	return r
}

func errorCodes(errs []mosip.ServiceError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.ErrorCode)
	}
	return out
}

func mosipDay(t time.Time) string { return t.Format("2006/01/02") }

func simpleValue(v string) string {
	b, _ := json.Marshal([]map[string]string{{"language": "eng", "value": v}})
	return string(b)
}

// person is the demographic data of a test packet.
type person struct {
	name, parent, gender string
	dob                  time.Time
}

func infant(name string) person {
	return person{name: name, parent: "Grace Banda", gender: "Female", dob: time.Now().AddDate(-1, 0, 0)}
}

const operationsData = `[{"label":"officerId","value":"officer.k.mweene"},{"label":"officerPIN","value":null},{"label":"supervisorId","value":null}]`

// birthFields are MOSIP ID schema fields of a birth.
func birthFields(p person) map[string]any {
	return map[string]any{
		"fullName":               simpleValue(p.name),
		"dateOfBirth":            mosipDay(p.dob),
		"gender":                 simpleValue(p.gender),
		"addressLine1":           simpleValue("12 Market Street"),
		"guardianOrParentName":   simpleValue(p.parent),
		"birthCertificateNumber": "2025B" + strings.ToUpper(strings.ReplaceAll(p.name, " ", ""))[:4],
		"postalCode":             "NA",
	}
}

// packetBody is a createPacket request as mosip-api sends it.
func packetBody(rid, process string, fields map[string]any) map[string]any {
	return map[string]any{
		"id": "string", "version": "string", "requesttime": mosip.FormatTime(time.Now()),
		"request": map[string]any{
			"id":            rid,
			"refId":         "10001_10004",
			"offlineMode":   false,
			"process":       process,
			"source":        "OPENCRVS",
			"schemaVersion": "0.100",
			"schemaJson":    testSchema,
			"fields":        fields,
			"metaInfo": map[string]any{
				"operationsData": operationsData,
				"metaData":       `[{"label":"registrationType","value":"` + process + `"}]`,
				"creationDate":   "20250101120000",
			},
			"audits": []any{map[string]any{"eventId": "REG-EVT-066", "eventName": "PACKET_CREATION_SUCCESS"}},
		},
	}
}

func workflowBody(rid, process string) map[string]any {
	return map[string]any{
		"id": mosip.WorkflowInstanceID, "version": mosip.WorkflowInstanceVersion, "requesttime": mosip.FormatTime(time.Now()),
		"request": map[string]any{
			"registrationId": rid, "process": process, "source": "OPENCRVS", "additionalInfoReqId": "",
			"notificationInfo": map[string]any{"name": "Grace Banda", "phone": "", "email": ""},
		},
	}
}

// createPacket sends a packet and fails the test unless it was written.
func (e *env) createPacket(token string, body map[string]any) []mosip.PacketInfo {
	e.t.Helper()
	resp, data := e.do(http.MethodPut, PathCreatePacket, token, body)
	r := decodeMOSIP[[]mosip.PacketInfo](e.t, data)
	if resp.StatusCode != http.StatusOK || len(r.Errors) > 0 || len(r.Response) != 3 {
		e.t.Fatalf("createPacket: HTTP %d: %s", resp.StatusCode, data)
	}
	return r.Response
}

// startWorkflow starts the workflow and fails the test unless it started.
func (e *env) startWorkflow(token, rid, process string) string {
	e.t.Helper()
	_, data := e.do(http.MethodPost, PathWorkflow, token, workflowBody(rid, process))
	r := decodeMOSIP[*mosip.WorkflowResponse](e.t, data)
	if len(r.Errors) > 0 || r.Response == nil || r.Response.WorkflowInstanceID == "" {
		e.t.Fatalf("workflowinstance %s: %s", rid, data)
	}
	return r.Response.WorkflowInstanceID
}

// register sends a packet and starts its workflow.
func (e *env) register(token, rid, process string, fields map[string]any) {
	e.t.Helper()
	e.createPacket(token, packetBody(rid, process, fields))
	e.startWorkflow(token, rid, process)
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// finished waits for the registration to end and returns it.
func (e *env) finished(rid string) RegistrationView {
	e.t.Helper()
	var v RegistrationView
	eventually(e.t, "registration "+rid+" to finish", func() bool {
		var ok bool
		v, ok = e.sim.Registration(rid)
		return ok && (v.Status == mosip.StatusProcessed || v.Status == mosip.StatusRejected || v.Status == mosip.StatusFailed)
	})
	return v
}

// lastStage is the final stage record of a registration.
func lastStage(t testing.TB, v RegistrationView) StageRecord {
	t.Helper()
	if len(v.Stages) == 0 {
		t.Fatalf("registration %s has no stage history", v.RegistrationID)
	}
	return v.Stages[len(v.Stages)-1]
}

// received is one delivery the test subscriber got.
type received struct {
	header     http.Header
	body       []byte
	event      mosip.CredentialEvent
	credential []byte // decrypted
	identity   mosip.IdentityEvent
}

// subscriber is a WebSub subscriber as the mediator is: it answers intent
// verification, checks each delivery's HMAC and decrypts the credential
// with its own key.
type subscriber struct {
	t      *testing.T
	srv    *httptest.Server
	secret []byte
	key    *rsa.PrivateKey

	mu             sync.Mutex
	intents        []url.Values
	statuses       []int                         // answers for the next deliveries; then 200
	intentStatuses []int                         // answers for the next verifications; then the echo
	echo           func(challenge string) string // nil: echo the challenge
	events         chan received
	posts          atomic.Int64
	// identityEvents makes the subscriber take identity update events
	// instead of credentials.
	identityEvents bool
}

func newSubscriber(t *testing.T, key *rsa.PrivateKey, secret string) *subscriber {
	t.Helper()
	return startSubscriber(t, &subscriber{t: t, secret: []byte(secret), key: key, events: make(chan received, 64)})
}

// newEventSubscriber is a subscriber of identity update events.
func newEventSubscriber(t *testing.T, secret string) *subscriber {
	t.Helper()
	return startSubscriber(t, &subscriber{t: t, secret: []byte(secret), events: make(chan received, 64), identityEvents: true})
}

func startSubscriber(t *testing.T, s *subscriber) *subscriber {
	t.Helper()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) callback() string { return s.srv.URL + "/websub/callback" }

func (s *subscriber) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		s.mu.Lock()
		s.intents = append(s.intents, q)
		echo := s.echo
		status := 0
		if len(s.intentStatuses) > 0 {
			status, s.intentStatuses = s.intentStatuses[0], s.intentStatuses[1:]
		}
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		challenge := q.Get("hub.challenge")
		if echo != nil {
			challenge = echo(challenge)
		}
		_, _ = io.WriteString(w, challenge)
	case http.MethodPost:
		s.posts.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s.t.Errorf("subscriber: reading delivery: %v", err)
			return
		}
		s.mu.Lock()
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		if !websub.Verify(s.secret, r.Header.Get(websub.SignatureHeader), body) {
			s.t.Errorf("subscriber: delivery signature %q does not verify", r.Header.Get(websub.SignatureHeader))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if s.identityEvents {
			var ev mosip.IdentityEvent
			if err := json.Unmarshal(body, &ev); err != nil {
				s.t.Errorf("subscriber: delivery is not an identity event: %v", err)
				return
			}
			s.events <- received{header: r.Header.Clone(), body: body, identity: ev}
			return
		}
		var ev mosip.CredentialEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			s.t.Errorf("subscriber: delivery is not a credential event: %v", err)
			return
		}
		plain, err := mosip.DecryptCredential(s.key, ev.Event.Data.Credential)
		if err != nil {
			s.t.Errorf("subscriber: decrypting credential: %v", err)
			return
		}
		ack := mosip.NewAck(&ev, mosip.AckReceived, time.Now())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ack)
		s.events <- received{header: r.Header.Clone(), body: body, event: ev, credential: plain}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// next waits for the next delivery.
func (s *subscriber) next() received {
	s.t.Helper()
	select {
	case r := <-s.events:
		return r
	case <-time.After(10 * time.Second):
		s.t.Fatalf("no delivery within 10s")
		return received{}
	}
}

// none checks that no delivery is waiting.
func (s *subscriber) none() {
	s.t.Helper()
	select {
	case r := <-s.events:
		s.t.Fatalf("unexpected delivery: %s", r.body)
	default:
	}
}

// answer sets how the next deliveries are answered (then 200).
func (s *subscriber) answer(statuses ...int) {
	s.mu.Lock()
	s.statuses = statuses
	s.mu.Unlock()
}

// answerIntents sets how the next verifications are answered (then the
// challenge is echoed).
func (s *subscriber) answerIntents(statuses ...int) {
	s.mu.Lock()
	s.intentStatuses = statuses
	s.mu.Unlock()
}

// echoWith changes what the subscriber answers a challenge with.
func (s *subscriber) echoWith(f func(challenge string) string) {
	s.mu.Lock()
	s.echo = f
	s.mu.Unlock()
}

func (s *subscriber) intentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.intents)
}

// subscribe subscribes sub to topic and waits until the subscription is
// active.
func (e *env) subscribe(token string, sub *subscriber, topic string) {
	e.t.Helper()
	resp, body := e.do(http.MethodPost, PathHub, token, url.Values{
		"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {sub.callback()}, "hub.secret": {string(sub.secret)},
	})
	if resp.StatusCode != http.StatusAccepted || string(body) != "hub.mode=accepted" {
		e.t.Fatalf("subscribe: HTTP %d %q", resp.StatusCode, body)
	}
	eventually(e.t, "subscription to "+topic, func() bool {
		for _, s := range e.sim.Subscriptions() {
			if s.Topic == topic && s.Callback == sub.callback() {
				return true
			}
		}
		return false
	})
}
