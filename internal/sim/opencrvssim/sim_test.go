package opencrvssim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/opencrvs"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"relative mediator URL", Config{MediatorURL: "mediator:2024", Key: testKey()}},
		{"ftp mediator URL", Config{MediatorURL: "ftp://127.0.0.1/", Key: testKey()}},
		{"negative token TTL", Config{TokenTTL: -time.Hour, Key: testKey()}},
		{"negative send timeout", Config{SendTimeout: -time.Second, Key: testKey()}},
		{"short key", Config{Key: shortKey(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = nil error, want an error", tt.cfg)
			}
		})
	}
}

func shortKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWellKnownKeyVerifiesRecordTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 14, 13, 0, 0, 0, time.UTC)
	e := newEnv(t, Config{Now: func() time.Time { return now }}, nil)

	resp, err := http.Get(e.srv.URL + "/.well-known")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("content type = %q, want text/plain", got)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("-----BEGIN PUBLIC KEY-----")) {
		t.Errorf("body starts %q, want a PUBLIC KEY PEM block", buf.String()[:min(40, buf.Len())])
	}
	if !bytes.Equal(buf.Bytes(), e.sim.PublicKeyPEM()) {
		t.Error("/.well-known differs from PublicKeyPEM()")
	}
	pub, err := parsePublicKeyPEM(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}

	tok, err := e.sim.RecordToken("rec-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseToken(tok, pub)
	if err != nil {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
	want := opencrvs.Claims{
		Subject:  got.Subject,
		Issuer:   "opencrvs:auth-service",
		Audience: DefaultAudience(),
		Scope:    []string{"record.confirm-registration", "record.reject-registration"},
		RecordID: "rec-1",
		UserType: "user",
		IssuedAt: now.Unix(),
		Expiry:   now.Add(7 * 24 * time.Hour).Unix(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if len(got.Subject) != 24 {
		t.Errorf("sub = %q, want a 24-hex user id", got.Subject)
	}
	if !slices.Contains(got.Audience, "opencrvs:gateway-user") {
		t.Errorf("aud %v lacks opencrvs:gateway-user", got.Audience)
	}

	// A token of another auth service does not verify with this key.
	other, err := New(Config{Key: foreignKey(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.RecordToken("rec-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseToken(foreign, pub); err == nil {
		t.Error("a token signed with another key verified")
	}
}

func TestSimTokens(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 14, 13, 0, 0, 0, time.UTC)
	e := newEnv(t, Config{Now: func() time.Time { return now }}, nil)
	pub := &testKey().PublicKey

	var out struct{ Token string }
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/tokens", "",
		`{"recordId":"r-9","scope":["record.reject-registration"],"expiresIn":"-1h"}`, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	c, err := parseToken(out.Token, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Expiry, now.Add(-time.Hour).Unix(); got != want {
		t.Errorf("exp = %d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"record.reject-registration"}, c.Scope); diff != "" {
		t.Errorf("scope (-want +got):\n%s", diff)
	}
	if c.RecordID != "r-9" {
		t.Errorf("recordId = %q, want r-9", c.RecordID)
	}

	resp = do(t, http.MethodPost, e.srv.URL+"/sim/tokens", "", `{"recordId":"r-9"}`, &out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if c, err = parseToken(out.Token, pub); err != nil {
		t.Fatal(err)
	}
	if !c.HasScope(opencrvs.ScopeConfirmRegistration) || !c.HasScope(opencrvs.ScopeRejectRegistration) {
		t.Errorf("default scope = %v, want both record scopes", c.Scope)
	}

	for _, body := range []string{`{"expiresIn":"soon"}`, `{"expiresIn":"0s"}`, `{"record":"x"}`, `[`} {
		var p problem
		resp := do(t, http.MethodPost, e.srv.URL+"/sim/tokens", "", body, &p)
		if resp.StatusCode != http.StatusBadRequest || p.Status != http.StatusBadRequest {
			t.Errorf("body %s: status %d (problem %+v), want 400", body, resp.StatusCode, p)
		}
	}
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func TestSendRecordRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	birth := readTestdata(t, "incoming-birth-bundle.json")
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", `{"kind":`},
		{"unknown kind", `{"kind":"marriage"}`},
		{"unknown mode", `{"mode":"xml"}`},
		{"unknown field", `{"knd":"birth"}`},
		{"trailing data", `{} {}`},
		{"bundle is an array", `{"bundle":[1]}`},
		{"bundle without composition", `{"bundle":{"resourceType":"Bundle","entry":[]}}`},
		{"not a bundle", `{"bundle":{"resourceType":"Patient"}}`},
		{"kind contradicts bundle", `{"kind":"death","bundle":` + string(birth) + `}`},
		{"mapped payload not an object", `{"mode":"mapped","bundle":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p problem
			resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", tt.body, &p)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q, want application/problem+json", ct)
			}
			if p.Status != http.StatusBadRequest || p.Title == "" || p.Detail == "" || p.Type == "" {
				t.Errorf("problem = %+v, want type, title, status 400 and detail", p)
			}
		})
	}
	if n := len(e.mediator.deliveries()); n != 0 {
		t.Errorf("the mediator received %d records, want 0", n)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "opencrvs-1.8", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func TestGivenBundleIsSentUnchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	tests := []struct {
		file, id, tracking, kind string
	}{
		{"incoming-birth-bundle.json", "b3821b1b-0cf8-4bdc-b94e-ecbc9af4a30e", "BXXDBIC", "birth"},
		{"incoming-birth-bundle-mother-father.json", "be3d5c4a-3100-4501-80e3-d19d65b371d3", "BN6TQN5", "birth"},
		{"incoming-death-bundle.json", "db72168c-a689-4845-9877-8dae2eb25932", "DYC3RFC", "death"},
	}
	for _, tt := range tests {
		bundle := readTestdata(t, tt.file)
		got := e.send(t, `{ "bundle" : `+string(bundle)+"\n}")
		want := sendResult{ID: tt.id, TrackingID: tt.tracking, Kind: tt.kind, Mode: "fhir", Status: "waiting",
			MediatorStatus: 202, Mediator: json.RawMessage(`{}`)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: answer (-want +got):\n%s", tt.file, diff)
		}
		d := e.mediator.last(t)
		if !bytes.Equal(d.body, bundle) {
			t.Errorf("%s: the mediator received %d bytes that differ from the %d given", tt.file, len(d.body), len(bundle))
		}
		if d.claims.RecordID != tt.id {
			t.Errorf("%s: token recordId = %q, want %q", tt.file, d.claims.RecordID, tt.id)
		}
		if d.contentType != "application/json" {
			t.Errorf("%s: content type %q, want application/json", tt.file, d.contentType)
		}
	}

	// A mapped payload is sent as is too; without compositionId it gets a fresh id.
	payload := `{"trackingId":"BABCDEF","requestFields":{"deathCertificateNumber":"2025DABCDEF"},"metaInfo":{},"audit":{}}`
	got := e.send(t, `{"mode":"mapped","bundle":`+payload+`}`)
	if got.Kind != "death" || got.TrackingID != "BABCDEF" || got.ID == "" {
		t.Errorf("mapped answer = %+v, want kind death, tracking BABCDEF and an id", got)
	}
	d := e.mediator.last(t)
	if string(d.body) != payload {
		t.Errorf("mapped payload sent as %s, want %s", d.body, payload)
	}
	if d.claims.RecordID != got.ID {
		t.Errorf("token recordId = %q, want the record id %q", d.claims.RecordID, got.ID)
	}
}

func TestResendOnlyAfterRejection(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	e := newEnv(t, Config{}, func(delivery) (int, string) {
		if fail.Load() {
			return http.StatusInternalServerError, `{"error":"An unexpected error occurred"}`
		}
		return http.StatusAccepted, "{}"
	})
	body := `{"bundle":` + string(readTestdata(t, "incoming-birth-bundle.json")) + `}`

	first := e.send(t, body)
	if first.Status != StatusRejected || first.MediatorStatus != 500 {
		t.Fatalf("first send = %+v, want rejected after HTTP 500", first)
	}
	if string(first.Mediator) != `{"error":"An unexpected error occurred"}` {
		t.Errorf("mediator answer = %s, want the mediator's JSON", first.Mediator)
	}
	fail.Store(false)

	second := e.send(t, body)
	if second.Status != StatusWaiting || second.ID != first.ID {
		t.Fatalf("second send = %+v, want the same record waiting again", second)
	}
	v := e.record(t, first.ID, "")
	if v.Reason != nil {
		t.Errorf("reason = %q after the resend, want none", *v.Reason)
	}

	var p problem
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", body, &p)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("third send of a waiting record: status %d, want 409", resp.StatusCode)
	}
}

func TestMediatorFailureRejectsRecord(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name        string
		cfg         Config
		respond     func(delivery) (int, string)
		wantStatus  int
		wantComment string
	}{
		{
			name:        "connection refused",
			cfg:         Config{MediatorURL: downURL},
			wantStatus:  0,
			wantComment: "mediator unreachable",
		},
		{
			name:        "HTTP 500",
			respond:     func(delivery) (int, string) { return 500, `{"error":"An unexpected error occurred"}` },
			wantStatus:  500,
			wantComment: "mediator answered HTTP 500",
		},
		{
			name:        "HTTP 401",
			respond:     func(delivery) (int, string) { return 401, `{"error":"Unauthorized"}` },
			wantStatus:  401,
			wantComment: "mediator answered HTTP 401",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.cfg, tt.respond)
			got := e.send(t, `{"kind":"birth"}`)
			if got.Status != StatusRejected || got.MediatorStatus != tt.wantStatus {
				t.Errorf("answer = %+v, want rejected with mediator status %d", got, tt.wantStatus)
			}
			v := e.record(t, got.ID, "")
			if v.Status != StatusRejected || v.Reason == nil || *v.Reason != "REG_NUMBER_GENERATION_FAILED" {
				t.Errorf("record = %+v, want rejected with REG_NUMBER_GENERATION_FAILED", v)
			}
			if v.Comment == nil || !strings.Contains(*v.Comment, tt.wantComment) {
				t.Errorf("comment = %v, want it to contain %q", v.Comment, tt.wantComment)
			}
			if v.Rejections != 0 {
				t.Errorf("rejections = %d, want 0 (no rejectRegistration was called)", v.Rejections)
			}
		})
	}
}

func TestMediatorTimeoutRejectsRecord(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	e := newEnv(t, Config{MediatorURL: slow.URL, SendTimeout: 50 * time.Millisecond}, nil)
	got := e.send(t, `{}`)
	if got.Status != StatusRejected || got.MediatorStatus != 0 {
		t.Errorf("answer = %+v, want rejected without a mediator status", got)
	}
}

func TestConfirmRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{"kind":"birth"}`)
	token := e.mediator.last(t).token

	status, a := e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "2025"+rec.TrackingID, "1234567890"))
	if status != http.StatusOK || len(a.Errors) != 0 || a.Data["confirmRegistration"] != rec.ID {
		t.Fatalf("confirm: status %d, answer %+v; want data.confirmRegistration = %s", status, a, rec.ID)
	}
	want := recordView{
		ID: rec.ID, TrackingID: rec.TrackingID, Kind: "birth", Mode: "fhir", Version: "1.8", Status: "registered",
		NationalID: ptr("1234567890"), RegistrationNumber: ptr("2025" + rec.TrackingID), Confirmations: 1,
		MediatorStatus: 202, Mediator: json.RawMessage(`{}`),
	}
	if diff := cmp.Diff(want, e.record(t, rec.ID, "")); diff != "" {
		t.Errorf("record after confirm (-want +got):\n%s", diff)
	}

	// A retried confirmation is recognisable and counted.
	status, a = e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "2025"+rec.TrackingID, "1234567890"))
	if status != http.StatusOK || a.code() != CodeAlreadyRegistered || a.Errors[0].Message != "record is already registered" ||
		a.Errors[0].Extensions["sameDetails"] != true || a.Data != nil {
		t.Errorf("repeated confirm: status %d, answer %+v; want ALREADY_REGISTERED, same details", status, a)
	}
	// So is a different one, which does not change the record.
	status, a = e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "2025"+rec.TrackingID, "9999999999"))
	if status != http.StatusOK || a.code() != CodeAlreadyRegistered || a.Errors[0].Extensions["sameDetails"] != false {
		t.Errorf("different confirm: status %d, answer %+v; want ALREADY_REGISTERED, different details", status, a)
	}
	// A rejection of a registered record fails and is counted.
	status, a = e.graphql(t, token, rejectMutation, rejectVars(rec.ID, "other", ""))
	if status != http.StatusOK || a.code() != CodeAlreadyRegistered {
		t.Errorf("reject after confirm: status %d, answer %+v; want ALREADY_REGISTERED", status, a)
	}
	want.Confirmations, want.Rejections = 3, 1
	if diff := cmp.Diff(want, e.record(t, rec.ID, "")); diff != "" {
		t.Errorf("record after repeats (-want +got):\n%s", diff)
	}

	// A confirmation without identifiers registers without a national id.
	rec2 := e.send(t, `{"kind":"death"}`)
	status, a = e.graphql(t, e.mediator.last(t).token, confirmMutation, confirmVars(rec2.ID, "2025"+rec2.TrackingID, ""))
	if status != http.StatusOK || a.Data["confirmRegistration"] != rec2.ID {
		t.Fatalf("confirm without identifiers: status %d, answer %+v", status, a)
	}
	if v := e.record(t, rec2.ID, ""); v.Status != StatusRegistered || v.NationalID != nil {
		t.Errorf("record = %+v, want registered without a national id", v)
	}
}

func TestRejectRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{"kind":"death","mode":"mapped"}`)
	token := e.mediator.last(t).token

	status, a := e.graphql(t, token, rejectMutation, rejectVars(rec.ID, "other", "MOSIP: duplicate identity"))
	if status != http.StatusOK || a.Data["rejectRegistration"] != rec.ID {
		t.Fatalf("reject: status %d, answer %+v", status, a)
	}
	status, a = e.graphql(t, token, rejectMutation, rejectVars(rec.ID, "other", "again"))
	if status != http.StatusOK || a.code() != CodeAlreadyRejected {
		t.Errorf("repeated reject: status %d, answer %+v; want ALREADY_REJECTED", status, a)
	}
	status, a = e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "2025"+rec.TrackingID, "1234567890"))
	if status != http.StatusOK || a.code() != CodeAlreadyRejected {
		t.Errorf("confirm after reject: status %d, answer %+v; want ALREADY_REJECTED", status, a)
	}
	want := recordView{
		ID: rec.ID, TrackingID: rec.TrackingID, Kind: "death", Mode: "mapped", Version: "1.8", Status: "rejected",
		Reason: ptr("other"), Comment: ptr("MOSIP: duplicate identity"), Confirmations: 1, Rejections: 2,
		MediatorStatus: 202, Mediator: json.RawMessage(`{}`),
	}
	if diff := cmp.Diff(want, e.record(t, rec.ID, "")); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

func TestGraphQLRefusesBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{}`)

	foreign, err := New(Config{Key: foreignKey(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	foreignTok, err := foreign.RecordToken(rec.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, err := New(Config{Key: testKey(), Issuer: "someone-else", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	otherIssuerTok, err := otherIssuer.RecordToken(rec.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrongRecord, err := e.sim.RecordToken("another-record", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(body string) string {
		var out struct{ Token string }
		do(t, http.MethodPost, e.srv.URL+"/sim/tokens", "", body, &out)
		return out.Token
	}
	expired := mint(`{"recordId":"` + rec.ID + `","expiresIn":"-1h"}`)
	rejectOnly := mint(`{"recordId":"` + rec.ID + `","scope":["record.reject-registration"]}`)
	confirmOnly := mint(`{"recordId":"` + rec.ID + `","scope":["record.confirm-registration"]}`)
	hs256 := hmacToken(t, e.sim.PublicKeyPEM(), rec.ID)

	tests := []struct {
		name, auth, query string
		vars              map[string]any
	}{
		{"no header", "", confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"basic auth", "Basic dXNlcjpwYXNz", confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"not a JWT", "Bearer not-a-token", confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"wrong key", "Bearer " + foreignTok, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"HS256 keyed with the public key", "Bearer " + hs256, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"wrong issuer", "Bearer " + otherIssuerTok, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"expired", "Bearer " + expired, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"token for another record", "Bearer " + wrongRecord, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"confirm without its scope", "Bearer " + rejectOnly, confirmMutation, confirmVars(rec.ID, "R1", "1")},
		{"reject without its scope", "Bearer " + confirmOnly, rejectMutation, rejectVars(rec.ID, "other", "")},
	}
	for _, tt := range tests {
		var a gqlAnswer
		resp := do(t, http.MethodPost, e.srv.URL+"/graphql", tt.auth, map[string]any{"query": tt.query, "variables": tt.vars}, &a)
		if resp.StatusCode != http.StatusUnauthorized || a.code() != CodeUnauthenticated || a.Data != nil {
			t.Errorf("%s: status %d, answer %+v; want 401 UNAUTHENTICATED", tt.name, resp.StatusCode, a)
		}
	}
	want := recordView{ID: rec.ID, TrackingID: rec.TrackingID, Kind: "birth", Mode: "fhir", Version: "1.8", Status: "waiting",
		MediatorStatus: 202, Mediator: json.RawMessage(`{}`)}
	if diff := cmp.Diff(want, e.record(t, rec.ID, "")); diff != "" {
		t.Errorf("record after refused calls (-want +got):\n%s", diff)
	}
	var st map[string]int
	do(t, http.MethodGet, e.srv.URL+"/sim/stats", "", nil, &st)
	if st["unauthorized"] != len(tests) || st["confirmations"] != 0 || st["rejections"] != 0 {
		t.Errorf("stats = %v, want %d unauthorized and nothing recorded", st, len(tests))
	}
}

func TestGraphQLValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{}`)
	token := e.mediator.last(t).token
	unknownTok, err := e.sim.RecordToken("no-such-record", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"body not JSON", token, `{"query":`, 400, CodeBadRequest},
		{"no query", token, `{"variables":{}}`, 400, CodeBadRequest},
		{"syntax error", token, map[string]any{"query": "mutation { confirmRegistration(id: ", "variables": nil}, 400, CodeParseFailed},
		{"unknown mutation", token, map[string]any{"query": `mutation m($id: ID!) { markEventAsVoided(id: $id) }`,
			"variables": map[string]any{"id": rec.ID}}, 200, CodeValidationFailed},
		{"a query", token, map[string]any{"query": `query { fetchBirthRegistration(id: "x") { id } }`}, 200, CodeValidationFailed},
		{"two fields", token, map[string]any{"query": `mutation { a: confirmRegistration(id: "x", details: {registrationNumber: "1"}) b: rejectRegistration(id: "x", details: {reason: "r"}) }`}, 200, CodeValidationFailed},
		{"selection on a scalar", token, map[string]any{"query": `mutation ($id: ID!, $details: ConfirmRegistrationInput!) { confirmRegistration(id: $id, details: $details) { id } }`,
			"variables": confirmVars(rec.ID, "R", "")}, 200, CodeValidationFailed},
		{"missing id", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"details": map[string]any{"registrationNumber": "R"}}}, 200, CodeBadUserInput},
		{"missing registration number", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"id": rec.ID, "details": map[string]any{}}}, 200, CodeBadUserInput},
		{"missing details", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"id": rec.ID}}, 200, CodeBadUserInput},
		{"unknown input field", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"id": rec.ID,
			"details": map[string]any{"registrationNumber": "R", "nid": "1"}}}, 200, CodeBadUserInput},
		{"unknown identifier type", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"id": rec.ID,
			"details": map[string]any{"registrationNumber": "R", "identifiers": []any{map[string]any{"type": "UIN", "value": "1"}}}}}, 200, CodeBadUserInput},
		{"empty identifier value", token, map[string]any{"query": confirmMutation, "variables": map[string]any{"id": rec.ID,
			"details": map[string]any{"registrationNumber": "R", "identifiers": []any{map[string]any{"type": "NATIONAL_ID", "value": ""}}}}}, 200, CodeBadUserInput},
		{"missing reason", token, map[string]any{"query": rejectMutation, "variables": map[string]any{"id": rec.ID, "details": map[string]any{"comment": "c"}}}, 200, CodeBadUserInput},
		{"unknown record", unknownTok, map[string]any{"query": confirmMutation, "variables": confirmVars("no-such-record", "R", "")}, 200, CodeNotFound},
	}
	for _, tt := range tests {
		var a gqlAnswer
		resp := do(t, http.MethodPost, e.srv.URL+"/graphql", "Bearer "+tt.token, tt.body, &a)
		if resp.StatusCode != tt.wantStatus || a.code() != tt.wantCode || a.Errors[0].Message == "" || a.Data != nil {
			t.Errorf("%s: status %d, answer %+v; want %d %s with a message", tt.name, resp.StatusCode, a, tt.wantStatus, tt.wantCode)
		}
	}
	if v := e.record(t, rec.ID, ""); v.Status != StatusWaiting || v.Confirmations != 0 || v.Rejections != 0 {
		t.Errorf("record = %+v, want waiting with nothing counted", v)
	}

	// Literal arguments, an alias, comments and a chosen operation work too.
	query := `# feedback from MOSIP
query other { x }
mutation feedback {
  result: confirmRegistration(id: "` + rec.ID + `", details: {registrationNumber: "2025` + rec.TrackingID + `",
    identifiers: [{type: "NATIONAL_ID", value: "5555555555"}]})
}`
	var a gqlAnswer
	resp := do(t, http.MethodPost, e.srv.URL+"/graphql", "Bearer "+token,
		map[string]any{"query": query, "operationName": "feedback"}, &a)
	if resp.StatusCode != http.StatusOK || a.Data["confirmRegistration"] != rec.ID {
		t.Fatalf("literal confirm: status %d, answer %+v", resp.StatusCode, a)
	}
	if v := e.record(t, rec.ID, ""); v.NationalID == nil || *v.NationalID != "5555555555" {
		t.Errorf("record = %+v, want national id 5555555555", v)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{}`)
	token := e.mediator.last(t).token
	put := func(body string) (int, problem) {
		var p problem
		resp := do(t, http.MethodPut, e.srv.URL+"/sim/faults", "", body, &p)
		return resp.StatusCode, p
	}

	var f faults
	do(t, http.MethodGet, e.srv.URL+"/sim/faults", "", nil, &f)
	if diff := cmp.Diff(faults{Mode: "http500"}, f); diff != "" {
		t.Errorf("initial faults (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"errorRate":1.5}`, `{"latencyMs":-1}`, `{"latencyMs":600000}`, `{"mode":"timeout"}`, `{"outge":true}`} {
		if status, p := put(bad); status != http.StatusBadRequest || p.Detail == "" {
			t.Errorf("PUT %s: status %d, problem %+v; want 400 with a detail", bad, status, p)
		}
	}

	tests := []struct {
		faults     string
		wantStatus int
		wantCode   string
	}{
		{`{"outage":true}`, 503, "SERVICE_UNAVAILABLE"},
		{`{"errorRate":1,"mode":"http500"}`, 500, CodeInternalServerError},
		{`{"errorRate":1,"mode":"graphqlError"}`, 200, CodeInternalServerError},
	}
	for _, tt := range tests {
		if status, _ := put(tt.faults); status != http.StatusOK {
			t.Fatalf("PUT %s: status %d", tt.faults, status)
		}
		status, a := e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "R", "1"))
		if status != tt.wantStatus || a.code() != tt.wantCode {
			t.Errorf("faults %s: status %d, answer %+v; want %d %s", tt.faults, status, a, tt.wantStatus, tt.wantCode)
		}
	}
	if v := e.record(t, rec.ID, ""); v.Status != StatusWaiting || v.Confirmations != 0 {
		t.Errorf("record = %+v, want untouched by failed calls", v)
	}
	if status, _ := put(`{"latencyMs":1}`); status != http.StatusOK {
		t.Fatal("reset faults failed")
	}
	if status, a := e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "R", "1")); status != 200 || len(a.Errors) != 0 {
		t.Errorf("after reset: status %d, answer %+v; want success", status, a)
	}
	var st map[string]int
	do(t, http.MethodGet, e.srv.URL+"/sim/stats", "", nil, &st)
	want := map[string]int{"records": 1, "waiting": 0, "registered": 1, "rejected": 0, "confirmations": 1, "rejections": 0,
		"sent": 1, "mediatorFailures": 0, "graphqlRequests": 4, "unauthorized": 0, "faultsInjected": 3,
		"historic": 0, "identifierUpserts": 0, "systemTokens": 0}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestGetRecordErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	rec := e.send(t, `{}`)
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/sim/records/unknown", 404},
		{"/sim/records/" + rec.ID + "?wait=soon", 400},
		{"/sim/records/" + rec.ID + "?wait=-1s", 400},
		{"/graphiql", 404},
		{"/graphql", 405},
		{"/sim/records", 405},
	}
	for _, tt := range tests {
		var p problem
		resp := do(t, http.MethodGet, e.srv.URL+tt.path, "", nil, &p)
		if resp.StatusCode != tt.wantStatus || p.Status != tt.wantStatus ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: status %d, problem %+v; want %d problem JSON", tt.path, resp.StatusCode, p, tt.wantStatus)
		}
	}
}

func TestCloseStopsSending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	if err := e.sim.Close(); err != nil {
		t.Fatal(err)
	}
	var p problem
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", `{}`, &p)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("send after Close: status %d, want 503", resp.StatusCode)
	}
	if n := len(e.mediator.deliveries()); n != 0 {
		t.Errorf("the mediator received %d records after Close, want 0", n)
	}
}

func TestSentDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	var ids []string
	for _, req := range []string{`{"kind":"birth"}`, `{"kind":"death","mode":"mapped"}`} {
		rec := e.send(t, req)
		ids = append(ids, rec.ID)
		sent := e.mediator.last(t).body
		got, ok := e.sim.Bundle(rec.ID)
		if !ok || !bytes.Equal(got, sent) {
			t.Errorf("Bundle(%s) = %d bytes, %v; want the %d bytes the mediator received", rec.ID, len(got), ok, len(sent))
		}
		resp, err := http.Get(e.srv.URL + "/sim/records/" + rec.ID + "/document")
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body.Bytes(), sent) {
			t.Errorf("GET document: %d, %d bytes; want 200 and the sent document", resp.StatusCode, body.Len())
		}
	}
	if _, ok := e.sim.Bundle("unknown"); ok {
		t.Error("Bundle of an unknown record is ok")
	}

	// Beyond the budget the oldest documents are dropped; the records stay.
	e.sim.mu.Lock()
	e.sim.docs.budget = 1
	e.sim.mu.Unlock()
	last := e.send(t, `{}`)
	for _, id := range ids {
		if _, ok := e.sim.Bundle(id); ok {
			t.Errorf("document of %s kept beyond the budget", id)
		}
		if v := e.record(t, id, ""); v.Status != StatusWaiting {
			t.Errorf("record %s: %+v, want it kept", id, v)
		}
	}
	if _, ok := e.sim.Bundle(last.ID); !ok {
		t.Error("the newest document was dropped")
	}
	var p problem
	if resp := do(t, http.MethodGet, e.srv.URL+"/sim/records/"+ids[0]+"/document", "", nil, &p); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET dropped document: %d, want 404", resp.StatusCode)
	}
}
