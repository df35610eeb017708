package opencrvssim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/opencrvs"
)

// Test keys are generated once per test binary: 2048-bit generation is slow
// and go-jose refuses shorter RS256 keys.
var (
	testKey    = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
	foreignKey = sync.OnceValue(func() *rsa.PrivateKey { return mustKey() })
)

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// delivery is one record the fake mediator received.
type delivery struct {
	token       string
	claims      opencrvs.Claims
	contentType string
	body        []byte
}

// fakeMediator is a test double of the mediator's /events/registration: it
// verifies the record token with the key the simulator publishes at
// /.well-known, keeps what it received and answers with respond.
type fakeMediator struct {
	t       *testing.T
	srv     *httptest.Server
	respond func(d delivery) (status int, body string)

	mu       sync.Mutex
	simURL   string
	pub      *rsa.PublicKey
	received []delivery
}

func newFakeMediator(t *testing.T, respond func(d delivery) (int, string)) *fakeMediator {
	t.Helper()
	m := &fakeMediator{t: t, respond: respond}
	if m.respond == nil {
		m.respond = func(delivery) (int, string) { return http.StatusAccepted, "{}" }
	}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeMediator) setSim(url string) {
	m.mu.Lock()
	m.simURL = url
	m.mu.Unlock()
}

func (m *fakeMediator) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/events/registration" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	pub, err := m.publicKey(r.Context())
	if err != nil {
		http.Error(w, "public key: "+err.Error(), http.StatusInternalServerError)
		return
	}
	raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims, err := parseToken(raw, pub)
	if err != nil {
		http.Error(w, `{"error":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	d := delivery{token: raw, claims: claims, contentType: r.Header.Get("Content-Type"), body: body}
	m.mu.Lock()
	m.received = append(m.received, d)
	m.mu.Unlock()
	status, answer := m.respond(d)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// publicKey fetches the simulator's key once, as the mediator does.
func (m *fakeMediator) publicKey(ctx context.Context) (*rsa.PublicKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pub != nil {
		return m.pub, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.simURL+"/.well-known", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKeyPEM(text)
	if err != nil {
		return nil, err
	}
	m.pub = pub
	return pub, nil
}

func (m *fakeMediator) deliveries() []delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivery(nil), m.received...)
}

func (m *fakeMediator) last(t *testing.T) delivery {
	t.Helper()
	ds := m.deliveries()
	if len(ds) == 0 {
		t.Fatal("the mediator received no record")
	}
	return ds[len(ds)-1]
}

func parsePublicKeyPEM(text []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(text)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("no PUBLIC KEY PEM block in %q", text)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want RSA", k)
	}
	return pub, nil
}

func parseToken(raw string, pub *rsa.PublicKey) (opencrvs.Claims, error) {
	var c opencrvs.Claims
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return c, err
	}
	err = tok.Claims(pub, &c)
	return c, err
}

// testEnv is a simulator on a real loopback server with a fake mediator.
type testEnv struct {
	sim      *Sim
	srv      *httptest.Server
	mediator *fakeMediator
}

func newEnv(t *testing.T, cfg Config, respond func(delivery) (int, string)) *testEnv {
	t.Helper()
	m := newFakeMediator(t, respond)
	if cfg.MediatorURL == "" {
		cfg.MediatorURL = m.srv.URL
	}
	if cfg.Key == nil {
		cfg.Key = testKey()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close()
	})
	m.setSim(srv.URL)
	return &testEnv{sim: s, srv: srv, mediator: m}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func do(t *testing.T, method, url, auth string, body any, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer %d %q is not the expected JSON: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp
}

// sendResult is the answer of POST /sim/records.
type sendResult struct {
	ID             string          `json:"id"`
	TrackingID     string          `json:"trackingId"`
	Kind           string          `json:"kind"`
	Mode           string          `json:"mode"`
	CorrectionOf   *string         `json:"correctionOf"`
	Changed        []string        `json:"changed"`
	DeathOf        *string         `json:"deathOf"`
	Status         string          `json:"status"`
	MediatorStatus int             `json:"mediatorStatus"`
	Mediator       json.RawMessage `json:"mediator"`
}

func (e *testEnv) send(t *testing.T, req any) sendResult {
	t.Helper()
	var out sendResult
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", req, &out)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /sim/records: status %d, want 202 (answer %+v)", resp.StatusCode, out)
	}
	return out
}

func (e *testEnv) record(t *testing.T, id, query string) recordView {
	t.Helper()
	var v recordView
	resp := do(t, http.MethodGet, e.srv.URL+"/sim/records/"+id+query, "", nil, &v)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET record %s: status %d", id, resp.StatusCode)
	}
	return v
}

// gqlAnswer is a GraphQL response.
type gqlAnswer struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (a gqlAnswer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	c, _ := a.Errors[0].Extensions["code"].(string)
	return c
}

const (
	confirmMutation = `mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) {
  confirmRegistration(id: $id, details: $details)
}`
	rejectMutation = `mutation rejectRegistration($id: ID!, $details: RejectRegistrationInput!) {
  rejectRegistration(id: $id, details: $details)
}`
)

func (e *testEnv) graphql(t *testing.T, token, query string, vars map[string]any) (int, gqlAnswer) {
	t.Helper()
	var a gqlAnswer
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	resp := do(t, http.MethodPost, e.srv.URL+"/graphql", auth, map[string]any{"query": query, "variables": vars}, &a)
	return resp.StatusCode, a
}

func confirmVars(id, regNumber, nid string) map[string]any {
	details := map[string]any{"registrationNumber": regNumber}
	if nid != "" {
		details["identifiers"] = []any{map[string]any{"type": "NATIONAL_ID", "value": nid}}
	}
	return map[string]any{"id": id, "details": details}
}

func rejectVars(id, reason, comment string) map[string]any {
	return map[string]any{"id": id, "details": map[string]any{"reason": reason, "comment": comment}}
}

func ptr[T any](v T) *T { return &v }

// hmacToken signs record claims with HS256 keyed by the public key PEM: the
// classic algorithm-confusion attack on RS256 verifiers.
func hmacToken(t *testing.T, key []byte, recordID string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(opencrvs.Claims{
		Issuer: DefaultIssuer, RecordID: recordID, UserType: "user",
		Scope: recordScopes(), Expiry: time.Now().Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// inProcessClient serves requests with h without a network, for benchmarks
// and synctest bubbles.
func inProcessClient(h http.HandlerFunc) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		h(w, r)
		return w.Result(), nil
	})}
}
