package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"opencrvs-mosip/internal/bridge"
)

// exchange is one request the mediator served and its answer, as they
// crossed the wire.
type exchange struct {
	method, target string // target: the request URI
	reqHeader      http.Header
	reqBody        []byte
	status         int
	respHeader     http.Header
	respBody       []byte
}

// exchanges records every request the mediator serves (systemOptions.wrap).
type exchanges struct {
	mu   sync.Mutex
	list []exchange
}

// maxRecorded bounds what is kept of a body.
const maxRecorded = 16 << 20

func (x *exchanges) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRecorded))
		if err != nil {
			http.Error(w, "test recorder: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		cw := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		if cw.header == nil { // nothing written: an empty 200
			cw.WriteHeader(http.StatusOK)
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		x.list = append(x.list, exchange{
			method: r.Method, target: r.RequestURI, reqHeader: r.Header.Clone(), reqBody: body,
			status: cw.status, respHeader: cw.header, respBody: cw.body.Bytes(),
		})
	})
}

func (x *exchanges) snapshot() []exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.list)
}

// captureWriter keeps the status, headers and body a handler wrote.
type captureWriter struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(code int) {
	if c.header == nil {
		c.status, c.header = code, c.ResponseWriter.Header().Clone()
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.header == nil {
		c.WriteHeader(http.StatusOK)
	}
	if c.body.Len() < maxRecorded {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// probe is a request the test sends itself.
type probe struct {
	name         string
	method, path string
	header       http.Header
	body         []byte
	status       int // wanted
	// invalid: the request breaks the document on purpose (no token, bad
	// JSON...); only the answer is held to it.
	invalid bool
	// undocumented: no operation describes the request (an unknown route);
	// the answer must be a Problem.
	undocumented bool
}

// probeIDPrefix marks the test's own requests (X-Request-Id).
const probeIDPrefix = "openapi-probe-"

// Every request and answer of a real run validates against openapi.yaml:
// births end to end (FHIR and mapped: OpenCRVS's sends, MOSIP's intent
// checks and deliveries), bad requests of every kind, health and
// readiness, each admin endpoint, the optional routes when they are off,
// the dashboard and the API description. Each exchange is validated with
// libopenapi-validator; the test fails listing every violation.
func TestOpenAPIEndToEndExchangesValidate(t *testing.T) {
	rec := &exchanges{}
	s := startSystem(t, systemOptions{
		retryAttempts: 3,
		config:        func(c *Config) { c.AdminToken = testAdminToken },
		wrap:          rec.wrap,
	})

	// Births end to end, then two that die (OpenCRVS refuses to confirm)
	// for the admin API to retry and cancel.
	var done []simRecord
	for _, mode := range []string{"fhir", "mapped"} {
		r := s.sendRecord(t, map[string]any{"kind": "birth", "mode": mode})
		done = append(done, s.waitRecord(t, r.ID))
	}
	s.assertRegistered(t, done)
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{"errorRate": 1.0, "mode": "graphqlError"}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	toRetry := s.waitState(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"}).ID, bridge.StateDead)
	toCancel := s.waitState(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID, bridge.StateDead)
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	confirmed := s.transactionByRecord(t, done[0].ID)

	record := bearer(s.token(t, sampleRecordID, time.Hour))
	var minted struct{ Token string }
	if st := do(t, "POST", s.opencrvsURL+"/sim/tokens", nil, map[string]any{"recordId": sampleRecordID, "scope": []string{"record.read"}}, &minted); st != http.StatusOK {
		t.Fatalf("POST /sim/tokens: %d", st)
	}
	readOnly := bearer(minted.Token)
	admin := bearer(testAdminToken)
	reversal := s.reversalToken(t)
	asJSON := func(h http.Header) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
		return h
	}
	bundle := mustRead(t, "../../testdata/opencrvs-1.8/incoming-birth-bundle.json")
	oversize := append([]byte(`{"resourceType":"Bundle","x":"`), append(bytes.Repeat([]byte("a"), int(s.cfg.MaxBodyBytes)), `"}`...)...)

	probes := []probe{
		{name: "malformed JSON", method: "POST", path: "/events/registration", header: asJSON(record), body: []byte(`{"resourceType": "Bundle", "entry": [`), status: 400, invalid: true},
		{name: "neither shape", method: "POST", path: "/events/registration", header: asJSON(record), body: []byte(`{"hello": "world"}`), status: 400, invalid: true},
		{name: "no token", method: "POST", path: "/events/registration", header: asJSON(nil), body: bundle, status: 401, invalid: true},
		{name: "garbage token", method: "POST", path: "/events/registration", header: asJSON(bearer("abc.def.ghi")), body: bundle, status: 401},
		{name: "token without the scope", method: "POST", path: "/events/registration", header: asJSON(readOnly), body: bundle, status: 403},
		{name: "oversize body", method: "POST", path: "/events/registration", header: asJSON(record), body: oversize, status: 413},
		{name: "reversal without a token", method: "GET", path: "/events/death-reversal/unknown", status: 401, invalid: true},
		{name: "reversal of an unknown death", method: "POST", path: "/events/death-reversal", header: asJSON(reversal), body: []byte(`{"deathRegistrationNumber":"2026DXXXXXX","fullName":"Toni Sami","dateOfBirth":"1950-03-01"}`), status: 404},
		{name: "status of an unknown reversal", method: "GET", path: "/events/death-reversal/unknown", header: reversal, status: 404},
		{name: "verification off", method: "POST", path: "/verify", header: asJSON(record), body: []byte(`{"nid":"1234567890","dob":"2008-02-29","name":"Charles Doe"}`), status: 404},
		{name: "review off", method: "POST", path: "/events/review", header: asJSON(record), body: bundle, status: 404},
		{name: "QR codes off", method: "POST", path: "/verify-qr", header: asJSON(record), body: []byte(`{"qr":"x"}`), status: 404},
		{name: "E-Signet off", method: "POST", path: "/esignet/get-oidp-user-info?code=abc&state=fetch-on-mount", header: asJSON(record), body: []byte(`{"clientId":"c","redirectUri":"https://x.example/form"}`), status: 404},
		{name: "CORS preflight", method: "OPTIONS", path: "/esignet/get-oidp-user-info", header: http.Header{"Origin": {"https://elsewhere.example"}}, status: 204},
		{name: "intent check without a mode", method: "GET", path: "/websub/callback?hub.topic=CREDENTIAL_ISSUED", status: 400, invalid: true},
		{name: "intent check for no subscription", method: "GET", path: "/websub/callback/?hub.mode=unsubscribe&hub.topic=CREDENTIAL_ISSUED&hub.challenge=c1", status: 404},
		{name: "identity intent, not subscribed", method: "GET", path: "/websub/identity?hub.mode=subscribe&hub.topic=IDENTITY_UPDATED&hub.challenge=c2", status: 404},
		{name: "delivery with a wrong signature", method: "POST", path: "/websub/callback", header: asJSON(http.Header{"X-Hub-Signature": {"sha256=00"}}), body: []byte(`{"event":{}}`), status: 401},
		{name: "delivery without a signature", method: "POST", path: "/websub/callback", header: asJSON(nil), body: []byte(`{"event":{}}`), status: 401, invalid: true},
		{name: "delivery with a wrong signature, trailing slash", method: "POST", path: "/websub/callback/", header: asJSON(http.Header{"X-Hub-Signature": {"sha256=00"}}), body: []byte(`{"event":{}}`), status: 401},
		{name: "identity intent, not subscribed, trailing slash", method: "GET", path: "/websub/identity/?hub.mode=subscribe&hub.topic=IDENTITY_UPDATED&hub.challenge=c3", status: 404},
		{name: "identity delivery, not subscribed", method: "POST", path: "/websub/identity", header: asJSON(http.Header{"X-Hub-Signature": {"sha256=00"}}), body: []byte(`{"event":{}}`), status: 404},
		{name: "identity delivery, not subscribed, trailing slash", method: "POST", path: "/websub/identity/", header: asJSON(http.Header{"X-Hub-Signature": {"sha256=00"}}), body: []byte(`{"event":{}}`), status: 404},
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "readyz", method: "GET", path: "/readyz", status: 200},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
		{name: "metrics, OpenMetrics", method: "GET", path: "/metrics", header: http.Header{"Accept": {"application/openmetrics-text; version=1.0.0"}}, status: 200},
		{name: "admin list", method: "GET", path: "/admin/transactions", header: admin, status: 200},
		{name: "admin list filtered", method: "GET", path: "/admin/transactions?state=confirmed&kind=birth&version=1.8&older_than=0s&limit=1", header: admin, status: 200},
		{name: "admin search", method: "GET", path: "/admin/transactions?q=" + confirmed.TrackingID, header: admin, status: 200},
		{name: "admin list, unknown state", method: "GET", path: "/admin/transactions?state=LOST", header: admin, status: 400, invalid: true},
		{name: "admin list, bad cursor", method: "GET", path: "/admin/transactions?cursor=%21%21", header: admin, status: 400},
		{name: "admin list without a token", method: "GET", path: "/admin/transactions", status: 401, invalid: true},
		{name: "admin list with a wrong token", method: "GET", path: "/admin/transactions", header: bearer("not-the-admin-token"), status: 401},
		{name: "admin show", method: "GET", path: "/admin/transactions/" + confirmed.ID, header: admin, status: 200},
		{name: "admin show DEAD", method: "GET", path: "/admin/transactions/" + toRetry.ID, header: admin, status: 200},
		{name: "admin show unknown", method: "GET", path: "/admin/transactions/no-such-transaction", header: admin, status: 404},
		{name: "admin retry", method: "POST", path: "/admin/transactions/" + toRetry.ID + "/retry", header: admin, status: 200},
		{name: "admin retry CONFIRMED", method: "POST", path: "/admin/transactions/" + confirmed.ID + "/retry", header: admin, status: 409},
		{name: "admin cancel without a reason", method: "POST", path: "/admin/transactions/" + toCancel.ID + "/cancel", header: asJSON(admin), body: []byte(`{}`), status: 400, invalid: true},
		{name: "admin cancel, bad JSON", method: "POST", path: "/admin/transactions/" + toCancel.ID + "/cancel", header: asJSON(admin), body: []byte(`{"reason":`), status: 400, invalid: true},
		{name: "admin cancel", method: "POST", path: "/admin/transactions/" + toCancel.ID + "/cancel", header: asJSON(admin), body: []byte(`{"reason":"sent twice by mistake"}`), status: 200},
		{name: "admin cancel again", method: "POST", path: "/admin/transactions/" + toCancel.ID + "/cancel", header: asJSON(admin), body: []byte(`{"reason":"again"}`), status: 409},
		{name: "admin counts", method: "GET", path: "/admin/counts", header: admin, status: 200},
		{name: "dashboard, not signed in", method: "GET", path: "/ui/", status: 303, invalid: true},
		{name: "OpenAPI document", method: "GET", path: "/openapi.yaml", status: 200},
		{name: "API reference", method: "GET", path: "/docs/", status: 200},
		{name: "unknown route", method: "GET", path: "/no-such-route", status: 404, undocumented: true},
		{name: "unknown method", method: "DELETE", path: "/healthz", status: 404, undocumented: true},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	byID := map[string]probe{}
	var nextPage string
	for i, p := range probes {
		id := probeIDPrefix + strconv.Itoa(i)
		byID[id] = p
		req, err := http.NewRequest(p.method, s.mediatorURL+p.path, bytes.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range p.header {
			req.Header[k] = v
		}
		req.Header.Set("X-Request-Id", id)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != p.status {
			t.Errorf("%s: %s %s answered %d, want %d: %.300s", p.name, p.method, p.path, resp.StatusCode, p.status, body)
		}
		if p.name == "admin list filtered" {
			var page struct{ NextCursor string }
			if err := json.Unmarshal(body, &page); err != nil || page.NextCursor == "" {
				t.Errorf("%s: no nextCursor in %.300s", p.name, body)
			}
			nextPage = page.NextCursor
		}
	}
	// The next page, through the cursor.
	if nextPage != "" {
		st, body := s.admin(t, "GET", "/admin/transactions?state=confirmed&kind=birth&version=1.8&older_than=0s&limit=1&cursor="+url.QueryEscape(nextPage), testAdminToken, nil)
		if st != http.StatusOK {
			t.Errorf("the next page: %d %.300s", st, body)
		}
	}
	if r := s.waitRecord(t, toRetry.RecordID); r.Status != "registered" {
		t.Errorf("the retried record is %s, want registered", r.Status)
	}

	list := rec.snapshot()
	// Besides the probes, the recorder saw OpenCRVS send the records and
	// MOSIP's hub verify the subscription and deliver the credentials.
	for _, want := range []struct {
		method, path string
		status       int
	}{{"POST", "/events/registration", 202}, {"GET", "/websub/callback", 200}, {"POST", "/websub/callback", 200}} {
		found := false
		for _, x := range list {
			path, _, _ := strings.Cut(x.target, "?")
			found = found || (x.method == want.method && path == want.path && x.status == want.status && !strings.HasPrefix(x.reqHeader.Get("X-Request-Id"), probeIDPrefix))
		}
		if !found {
			t.Errorf("the recorder saw no %s %s answered %d from the simulators", want.method, want.path, want.status)
		}
	}
	for _, v := range validateExchanges(t, list, byID) {
		t.Error(v)
	}
}

// validateExchanges holds every exchange to openapi.yaml and returns the
// violations, each naming the exchange.
func validateExchanges(t *testing.T, list []exchange, probes map[string]probe) []string {
	t.Helper()
	spec, err := os.ReadFile("../httpapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi.yaml: %v", errs)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	problem := model.Model.Components.Schemas.GetOrZero("Problem").Schema()

	var violations []string
	seen := map[string]bool{} // operations exercised
	for _, x := range list {
		where := fmt.Sprintf("%s %s -> %d", x.method, x.target, x.status)
		p, isProbe := probes[x.reqHeader.Get("X-Request-Id")]
		if isProbe {
			where = p.name + ": " + where
		}
		req, err := http.NewRequest(x.method, "http://mediator"+x.target, bytes.NewReader(x.reqBody))
		if err != nil {
			violations = append(violations, where+": "+err.Error())
			continue
		}
		req.Header = x.reqHeader.Clone()
		resp := &http.Response{StatusCode: x.status, Header: x.respHeader.Clone(), Body: io.NopCloser(bytes.NewReader(x.respBody)), Request: req}
		var verrs []string
		switch {
		case isProbe && p.undocumented:
			if ct := x.respHeader.Get("Content-Type"); ct != "application/problem+json" {
				violations = append(violations, fmt.Sprintf("%s: answered %s, want application/problem+json", where, ct))
			}
			if ok, es := schema_validation.NewSchemaValidator().ValidateSchemaBytes(problem, x.respBody); !ok {
				verrs = append(verrs, describe(es)...)
			}
		case isProbe && p.invalid:
			_, es := v.ValidateHttpResponse(req, resp)
			verrs = describe(es)
		default:
			_, es := v.ValidateHttpRequestResponse(req, resp)
			verrs = describe(es)
		}
		if !isProbe || !p.undocumented {
			seen[x.method+" "+operationPath(&model.Model, req)] = true
		}
		for _, e := range verrs {
			violations = append(violations, fmt.Sprintf("%s: %s (body %.200q)", where, e, x.respBody))
		}
	}
	var missed []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().KeysFromOldest() {
			if op := strings.ToUpper(method) + " " + path; !seen[op] {
				missed = append(missed, op)
			}
		}
	}
	if len(missed) > 0 {
		t.Logf("operations this run did not exercise: %s", strings.Join(missed, ", "))
	}
	return violations
}

// describe puts validation errors in words, with the schema failures
// inside them.
func describe(list []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range list {
		text := e.Message + ": " + e.Reason
		for _, f := range e.SchemaValidationErrors {
			text += "; " + f.Error()
		}
		out = append(out, text)
	}
	return out
}

// operationPath is the document path a request is for ("?" if none).
func operationPath(m *v3.Document, r *http.Request) string {
	best := "?"
	for path := range m.Paths.PathItems.KeysFromOldest() {
		if pathMatches(path, r.URL.Path) {
			best = path
		}
	}
	return best
}

// pathMatches reports whether a request path matches a document path with
// {parameters}.
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] && !(strings.HasPrefix(ps[i], "{") && xs[i] != "") {
			return false
		}
	}
	return true
}
