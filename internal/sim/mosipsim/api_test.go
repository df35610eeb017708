package mosipsim

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.TokenTTL = 30 * time.Minute })

	t.Run("good credentials", func(t *testing.T) {
		resp, body := e.do(http.MethodPost, PathAuth, "", authRequest(DevRegprocClient, DevSecret))
		r := decodeMOSIP[*mosip.AuthResponse](t, body)
		if resp.StatusCode != http.StatusOK || r.Response == nil || r.Errors != nil {
			t.Fatalf("HTTP %d %s", resp.StatusCode, body)
		}
		want := mosip.AuthResponse{Status: "Success", Message: "Clientid and Token combination had been validated successfully"}
		if diff := cmp.Diff(want, *r.Response); diff != "" {
			t.Errorf("response (-want +got):\n%s", diff)
		}
		if r.ID != "string" || r.Version != "string" || r.ResponseTime == "" {
			t.Errorf("wrapper = id %q version %q responsetime %q", r.ID, r.Version, r.ResponseTime)
		}
		setCookie := resp.Header.Get("Set-Cookie")
		for _, part := range []string{"Max-Age=1800", "Path=/", "Secure", "HttpOnly"} {
			if !strings.Contains(setCookie, part) {
				t.Errorf("Set-Cookie %q lacks %s", setCookie, part)
			}
		}
		token := strings.TrimPrefix(strings.SplitN(setCookie, ";", 2)[0], "Authorization=")
		tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			t.Fatalf("token is not an HS256 JWT: %v", err)
		}
		var claims jwt.Claims
		if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.Subject != DevRegprocClient || claims.IssuedAt == nil || claims.Expiry == nil ||
			claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 30*time.Minute {
			t.Errorf("claims = sub %q iat %v exp %v", claims.Subject, claims.IssuedAt, claims.Expiry)
		}
	})

	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"wrong secret", authRequest(DevRegprocClient, "nope"), CodeAuthFailed},
		{"unknown client", authRequest("someone", DevSecret), CodeAuthFailed},
		{"not JSON", "{", CodeAuthBadRequest},
		{"no request", map[string]any{"id": "string"}, CodeAuthBadRequest},
		{"no appId", map[string]any{"request": map[string]any{"clientId": DevRegprocClient, "secretKey": DevSecret}}, CodeAuthBadRequest},
		{"clientId a number", `{"request":{"clientId":5,"secretKey":"x","appId":"y"}}`, CodeAuthBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, PathAuth, "", tc.body)
			r := decodeMOSIP[any](t, body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("HTTP %d, Set-Cookie %q; want 200 without a cookie", resp.StatusCode, resp.Header.Get("Set-Cookie"))
			}
			if diff := cmp.Diff([]string{tc.code}, errorCodes(r.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, body)
			}
		})
	}
}

func TestEndpointsNeedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.TokenTTL = time.Hour })
	good := e.token(DevRegprocClient)
	expired := e.token(DevRegprocClient)
	e.clock.advance(2 * time.Hour)
	fresh := e.token(DevRegprocClient)

	endpoints := []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, PathCreatePacket, packetBody("100010000000001", "CRVS_NEW", birthFields(infant("Tiwonge Phiri")))},
		{http.MethodPost, PathWorkflow, workflowBody("100010000000001", "CRVS_NEW")},
		{http.MethodPost, PathStatusSearch, statusBody("100010000000001")},
		{http.MethodGet, PathIdentity + "/idvid/100010000000001?type=demo&idType=RID", nil},
		{http.MethodGet, PathVID + "/uin/2345678901", nil},
		{http.MethodPatch, PathIdentity + "/", patchBody("100010000000002", "ACTIVATED", map[string]any{"UIN": "2345678901", "IDSchemaVersion": 0.5})},
	}
	for _, ep := range endpoints {
		for _, tc := range []struct {
			name, token string
		}{
			{"no token", ""},
			{"garbage token", "not-a-jwt"},
			{"forged token", forgeToken(t)},
			{"expired token", expired},
			{"token issued before the clock moved", good},
		} {
			t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
				resp, body := e.do(ep.method, ep.path, tc.token, ep.body)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, body)
				}
				r := decodeMOSIP[any](t, body)
				want := []mosip.ServiceError{{ErrorCode: "KER-ATH-401", Message: "Authentication Failed"}}
				if diff := cmp.Diff(want, r.Errors); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
			})
		}
		t.Run(ep.path+"/fresh token", func(t *testing.T) {
			resp, body := e.do(ep.method, ep.path, fresh, ep.body)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP %d with a valid token: %s", resp.StatusCode, body)
			}
		})
	}
}

// forgeToken signs a token with a key the simulator does not know.
func forgeToken(t *testing.T) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Subject: DevRegprocClient, Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCreatePacketValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	req := func(mutate func(r map[string]any)) map[string]any {
		body := packetBody("100010000000002", "CRVS_NEW", birthFields(infant("Chikondi Mwale")))
		mutate(body["request"].(map[string]any))
		return body
	}
	for _, tc := range []struct {
		name     string
		body     any
		code     string
		contains string
	}{
		{"not JSON", "{{", CodePacketValidation, "invalid JSON"},
		{"a list", "[]", CodePacketValidation, "want a JSON object"},
		{"no request", map[string]any{"id": "string"}, CodePacketValidation, "request is required"},
		{"null request", map[string]any{"request": nil}, CodePacketValidation, "request is required"},
		{"empty id", req(func(r map[string]any) { r["id"] = "" }), CodePacketValidation, "id is required"},
		{"id with a slash", req(func(r map[string]any) { r["id"] = "a/b" }), CodePacketValidation, "id must be"},
		{"no source", req(func(r map[string]any) { delete(r, "source") }), CodeSourceMissing, "Source not present"},
		{"no process", req(func(r map[string]any) { r["process"] = "" }), CodePacketValidation, "process is required"},
		{"unknown process", req(func(r map[string]any) { r["process"] = "BIRTH" }), CodeNoProvider, `process "BIRTH"`},
		{"source without writer", req(func(r map[string]any) { r["source"] = "REGISTRATION_CLIENT" }), CodeNoProvider, "No available provider"},
		{"CRVS1 cannot write NEW", req(func(r map[string]any) { r["source"] = "CRVS1"; r["process"] = "NEW" }), CodeNoProvider, "source CRVS1"},
		{"no refId", req(func(r map[string]any) { delete(r, "refId") }), CodePacketValidation, "refId"},
		{"refId without machine", req(func(r map[string]any) { r["refId"] = "10001" }), CodePacketValidation, "refId"},
		{"refId with letters", req(func(r map[string]any) { r["refId"] = "10001_ab" }), CodePacketValidation, "refId"},
		{"refId with three parts", req(func(r map[string]any) { r["refId"] = "1_2_3" }), CodePacketValidation, "refId"},
		{"no schemaVersion", req(func(r map[string]any) { r["schemaVersion"] = "" }), CodePacketValidation, "schemaVersion is required"},
		{"no schemaJson", req(func(r map[string]any) { delete(r, "schemaJson") }), CodePacketValidation, "schemaJson is required"},
		{"schemaJson not JSON", req(func(r map[string]any) { r["schemaJson"] = "{identity" }), CodePacketValidation, "schemaJson is not valid JSON"},
		{"schemaJson as an object", req(func(r map[string]any) { r["schemaJson"] = map[string]any{} }), CodePacketValidation, "schemaJson"},
		{"field as an object", req(func(r map[string]any) {
			r["fields"].(map[string]any)["fullName"] = map[string]any{"language": "eng", "value": "x"}
		}), CodePacketValidation, "fields.fullName: cannot deserialize an object"},
		{"field as a list", req(func(r map[string]any) {
			r["fields"].(map[string]any)["gender"] = []any{map[string]any{"language": "eng", "value": "Male"}}
		}), CodePacketValidation, "fields.gender: cannot deserialize a list"},
		{"metaInfo value as a list", req(func(r map[string]any) {
			r["metaInfo"].(map[string]any)["operationsData"] = []any{}
		}), CodePacketValidation, "metaInfo.operationsData"},
		{"audit value as an object", req(func(r map[string]any) {
			r["audits"] = []any{map[string]any{"x": map[string]any{}}}
		}), CodePacketValidation, "audits[0].x"},
		{"offlineMode a string", req(func(r map[string]any) { r["offlineMode"] = "no" }), CodePacketValidation, "offlineMode"},
		{"trailing data", `{"request":{}} {}`, CodePacketValidation, "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPut, PathCreatePacket, token, tc.body)
			r := decodeMOSIP[[]mosip.PacketInfo](t, body)
			if resp.StatusCode != http.StatusOK || r.Response != nil {
				t.Errorf("HTTP %d response %v; want 200 with no response", resp.StatusCode, r.Response)
			}
			if len(r.Errors) != 1 || r.Errors[0].ErrorCode != tc.code || !strings.Contains(r.Errors[0].Message, tc.contains) {
				t.Errorf("errors = %+v, want %s containing %q", r.Errors, tc.code, tc.contains)
			}
		})
	}
	if got := e.sim.Stats().Packets; got != 0 {
		t.Errorf("%d packets stored after refused requests", got)
	}
}

func TestCreatePacketStoresAndOverwrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	const rid = "100010000000003"

	fields := birthFields(infant("Mphatso Tembo"))
	// Jackson takes numbers and booleans as their text; null is absent.
	fields["phone"] = 2609712345
	fields["deceasedStatus"] = false
	fields["village"] = nil
	e.createPacket(token, packetBody(rid, "CRVS_NEW", fields))
	p, ok := e.sim.Packet(rid)
	if !ok {
		t.Fatal("packet not stored")
	}
	if p.Creates != 1 {
		t.Errorf("creates = %d after one createPacket, want 1", p.Creates)
	}
	if p.Fields["phone"] != "2609712345" || p.Fields["deceasedStatus"] != "false" {
		t.Errorf("coerced fields = phone %q deceasedStatus %q", p.Fields["phone"], p.Fields["deceasedStatus"])
	}
	if _, present := p.Fields["village"]; present {
		t.Errorf("a null field was stored")
	}
	if p.SchemaJSON != testSchema || p.MetaInfo["operationsData"] != operationsData || len(p.Audits) != 1 {
		t.Errorf("stored packet lost its schema, metaInfo or audits")
	}

	second := birthFields(infant("Mphatso Tembo Jr"))
	infos := e.createPacket(token, packetBody(rid, "CRVS_NEW", second))
	p, _ = e.sim.Packet(rid)
	if p.Fields["fullName"] != second["fullName"] {
		t.Errorf("writing the same id again did not replace the packet")
	}
	if p.Creates != 2 {
		t.Errorf("creates = %d after the same id twice, want 2 (the count of sends)", p.Creates)
	}
	if diff := cmp.Diff(infos, p.PacketInfos); diff != "" {
		t.Errorf("stored packet infos (-answered +stored):\n%s", diff)
	}

	// Served at /sim/packets/{id}.
	resp, body := e.do(http.MethodGet, "/sim/packets/"+rid, "", nil)
	var view PacketView
	if err := json.Unmarshal(body, &view); resp.StatusCode != http.StatusOK || err != nil || view.ID != rid {
		t.Errorf("GET /sim/packets: HTTP %d %v", resp.StatusCode, err)
	}
	resp, _ = e.do(http.MethodGet, "/sim/packets/nope", "", nil)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown packet: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestCreatePacketNotAnIDSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	body := packetBody("100010000000004", "CRVS_NEW", birthFields(infant("Thoko Zulu")))
	body["request"].(map[string]any)["schemaJson"] = `{"title":"no identity here"}`
	resp, data := e.do(http.MethodPut, PathCreatePacket, token, body)
	// MOSIP logs and swallows the exception: null response, no errors.
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"response":null`) || !strings.Contains(string(data), `"errors":[]`) {
		t.Errorf("HTTP %d %s; want 200 with a null response and no errors", resp.StatusCode, data)
	}
	if _, ok := e.sim.Packet("100010000000004"); ok {
		t.Errorf("the packet was stored")
	}
}

func TestCreatePacketProviders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Providers = map[string][]string{"CRVS1": {"CRVS_NEW"}} })
	token := e.token(DevRegprocClient)
	body := packetBody("100010000000005", "CRVS_NEW", birthFields(infant("Lusungu Banda")))
	_, data := e.do(http.MethodPut, PathCreatePacket, token, body)
	if r := decodeMOSIP[any](t, data); len(r.Errors) != 1 || r.Errors[0].ErrorCode != CodeNoProvider {
		t.Errorf("OPENCRVS source with only CRVS1 configured: %s", data)
	}
	body["request"].(map[string]any)["source"] = "crvs1" // provider lookup ignores case
	e.createPacket(token, body)

	if _, err := New(Config{PartnerCert: mustKeys(t).cert, CredentialKey: mustKeys(t).vc, Providers: map[string][]string{"X": {"BIRTH"}}}); err == nil {
		t.Errorf("New accepted a provider for a process without a route")
	}
}

func TestWorkflowValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	with := func(mutate func(b, r map[string]any)) map[string]any {
		b := workflowBody("100010000000006", "CRVS_NEW")
		mutate(b, b["request"].(map[string]any))
		return b
	}
	for _, tc := range []struct {
		name string
		body any
		want mosip.ServiceError
	}{
		{"no id", with(func(b, r map[string]any) { delete(b, "id") }), svcErr("RPR-WIN-000", "Missing Request Value - id")},
		{"wrong id", with(func(b, r map[string]any) { b["id"] = "mosip.registration.sync" }), svcErr("RPR-WIN-001", "Invalid Request Value - id")},
		{"no version", with(func(b, r map[string]any) { b["version"] = "" }), svcErr("RPR-WIN-000", "Missing Request Value - version")},
		{"wrong version", with(func(b, r map[string]any) { b["version"] = "1.0" }), svcErr("RPR-WIN-001", "Invalid Request Value - version")},
		{"no requesttime", with(func(b, r map[string]any) { delete(b, "requesttime") }), svcErr("RPR-WIN-000", "Missing Request Value - requesttime")},
		{"requesttime without millis", with(func(b, r map[string]any) { b["requesttime"] = "2025-01-01T10:00:00Z" }), svcErr("RPR-WIN-001", "Invalid Request Value - requesttime")},
		{"requesttime with offset", with(func(b, r map[string]any) { b["requesttime"] = "2025-01-01T10:00:00.000+02:00" }), svcErr("RPR-WIN-001", "Invalid Request Value - requesttime")},
		{"no request", with(func(b, r map[string]any) { delete(b, "request") }), svcErr("RPR-WIN-000", "Missing Request Value - request")},
		{"no registrationId", with(func(b, r map[string]any) { r["registrationId"] = "" }), svcErr("RPR-WIN-000", "Missing Request Value - registrationId")},
		{"registrationId with spaces", with(func(b, r map[string]any) { r["registrationId"] = "1 2" }), svcErr("RPR-WIN-001", "Invalid Request Value - registrationId")},
		{"no process", with(func(b, r map[string]any) { delete(r, "process") }), svcErr("RPR-WIN-000", "Missing Request Value - process")},
		{"no source", with(func(b, r map[string]any) { delete(r, "source") }), svcErr("RPR-WIN-000", "Missing Request Value - source")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, PathWorkflow, token, tc.body)
			r := decodeMOSIP[*mosip.WorkflowResponse](t, body)
			if resp.StatusCode != http.StatusOK || r.Response != nil {
				t.Errorf("HTTP %d response %v; want 200 with no response", resp.StatusCode, r.Response)
			}
			if diff := cmp.Diff([]mosip.ServiceError{tc.want}, r.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	resp, body := e.do(http.MethodPost, PathWorkflow, token, "not json")
	if r := decodeMOSIP[any](t, body); resp.StatusCode != http.StatusOK || len(r.Errors) != 1 || r.Errors[0].ErrorCode != "RPR-WIN-001" {
		t.Errorf("malformed body: HTTP %d %s", resp.StatusCode, body)
	}
	if got := e.sim.Stats().Workflows; got != 0 {
		t.Errorf("%d workflows started by refused requests", got)
	}
}

func TestWorkflowAlreadyPresent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	const rid = "100010000000007"
	e.register(token, rid, "CRVS_NEW", birthFields(infant("Kondwani Phiri")))
	for range 2 {
		_, body := e.do(http.MethodPost, PathWorkflow, token, workflowBody(rid, "CRVS_NEW"))
		r := decodeMOSIP[*mosip.WorkflowResponse](t, body)
		want := []mosip.ServiceError{{ErrorCode: mosip.CodeWorkflowExists, Message: "WorkflowInstance already present"}}
		if diff := cmp.Diff(want, r.Errors); diff != "" || r.Response != nil {
			t.Errorf("second start: (-want +got):\n%s", diff)
		}
	}
	if v := e.finished(rid); v.Status != mosip.StatusProcessed {
		t.Errorf("status = %s, want PROCESSED", v.Status)
	}
	if got := e.sim.Stats().Workflows; got != 1 {
		t.Errorf("workflows = %d, want 1", got)
	}
}

func TestStatusSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StageDelay = time.Hour })
	token := e.token(DevRegprocClient)
	const rid = "100010000000008"
	e.register(token, rid, "CRVS_NEW", birthFields(infant("Chisomo Banda")))

	_, body := e.do(http.MethodPost, PathStatusSearch, token, statusBody("unknown", rid))
	r := decodeMOSIP[[]mosip.RegistrationStatus](t, body)
	// The re-processor has not picked it up yet.
	if diff := cmp.Diff([]mosip.RegistrationStatus{{RegistrationID: rid, StatusCode: mosip.StatusResumable}}, r.Response); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if r.ID != mosip.StatusSearchID || r.Version != mosip.StatusSearchVersion {
		t.Errorf("wrapper id %q version %q", r.ID, r.Version)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = strconv.Itoa(i)
	}
	with := func(mutate func(b map[string]any)) map[string]any {
		b := statusBody(rid)
		mutate(b)
		return b
	}
	for _, tc := range []struct {
		name string
		body any
		code string
	}{
		{"not JSON", "[", "RPR-RGS-017"},
		{"no id", with(func(b map[string]any) { delete(b, "id") }), "RPR-RGS-021"},
		{"wrong id", with(func(b map[string]any) { b["id"] = "x" }), "RPR-RGS-024"},
		{"no version", with(func(b map[string]any) { delete(b, "version") }), "RPR-RGS-019"},
		{"wrong version", with(func(b map[string]any) { b["version"] = "v1" }), "RPR-RGS-022"},
		{"no requesttime", with(func(b map[string]any) { delete(b, "requesttime") }), "RPR-RGS-020"},
		{"bad requesttime", with(func(b map[string]any) { b["requesttime"] = "yesterday" }), "RPR-RGS-023"},
		{"empty request", with(func(b map[string]any) { b["request"] = []any{} }), "RPR-RGS-013"},
		{"too many ids", statusBody(many...), "RPR-RGS-014"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := e.do(http.MethodPost, PathStatusSearch, token, tc.body)
			r := decodeMOSIP[any](t, body)
			if diff := cmp.Diff([]string{tc.code}, errorCodes(r.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSimAPINotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, path := range []string{"/sim/registrations/none", "/sim/identities/2000000000", "/sim/packets/none"} {
		resp, body := e.do(http.MethodGet, path, "", nil)
		var p map[string]any
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &p) != nil || p["status"] != float64(404) || p["detail"] == "" {
			t.Errorf("GET %s: HTTP %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestAddIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	fields := map[string]string{"fullName": "Charles Dikkens", "dateOfBirth": "2008/02/29"}
	resp, body := e.do(http.MethodPost, "/sim/identities", "", map[string]any{"UIN": "1234567890", "fields": fields})
	var v IdentityView
	if err := json.Unmarshal(body, &v); resp.StatusCode != http.StatusCreated || err != nil {
		t.Fatalf("POST /sim/identities: HTTP %d %s", resp.StatusCode, body)
	}
	if v.UIN != "1234567890" || v.Status != IdentityActivated || !maps.Equal(v.Fields, fields) {
		t.Errorf("identity = %+v", v)
	}
	checkNumber(t, "generated VID", v.VID, 16)
	resp, body = e.do(http.MethodGet, "/sim/identities/"+v.VID, "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"UIN":"1234567890"`) {
		t.Errorf("lookup by VID: HTTP %d %s", resp.StatusCode, body)
	}
	for _, bad := range []any{
		map[string]any{"UIN": "1234567890"},          // in use
		map[string]any{"UIN": "12ab"},                // not digits
		map[string]any{"UIN": "5555", "VID": "5555"}, // same number twice
		"[1]",
		map[string]any{"fields": map[string]any{"x": 1}},
	} {
		resp, body := e.do(http.MethodPost, "/sim/identities", "", bad)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %v: HTTP %d %s", bad, resp.StatusCode, body)
		}
	}
}
