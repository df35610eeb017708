package opencrvssim

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

const upsertMutation = `mutation upsertRegistrationIdentifier($id: ID!, $identifierType: String!, $identifierValue: String!) {
  upsertRegistrationIdentifier(id: $id, identifierType: $identifierType, identifierValue: $identifierValue)
}`

// systemToken asks the token endpoint for a system client's token.
func (e *testEnv) systemToken(t *testing.T, q url.Values) (int, map[string]string) {
	t.Helper()
	var out map[string]string
	resp := do(t, http.MethodPost, e.srv.URL+"/token?"+q.Encode(), "", nil, &out)
	return resp.StatusCode, out
}

// The token endpoint gives a system client a token for the client
// credentials grant, as OpenCRVS auth does, and refuses the rest with the
// OAuth error codes.
func TestSystemClientToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{SystemClients: map[string]string{"mediator": "s3cret"}}, nil)
	grant := func(id, secret, grant string) url.Values {
		q := url.Values{}
		for k, v := range map[string]string{"client_id": id, "client_secret": secret, "grant_type": grant} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return q
	}
	for _, tc := range []struct {
		name      string
		q         url.Values
		status    int
		wantError string
	}{
		{"good", grant("mediator", "s3cret", "client_credentials"), 200, ""},
		{"wrong secret", grant("mediator", "nope", "client_credentials"), 401, "invalid_client"},
		{"unknown client", grant("stranger", "s3cret", "client_credentials"), 401, "invalid_client"},
		{"the dev client is not configured here", grant(DevSystemClient, DevSystemSecret, "client_credentials"), 401, "invalid_client"},
		{"other grant", grant("mediator", "s3cret", "password"), 400, "unsupported_grant_type"},
		{"no grant", grant("mediator", "s3cret", ""), 400, "invalid_request"},
		{"no secret", grant("mediator", "", "client_credentials"), 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := e.systemToken(t, tc.q)
			if status != tc.status || out["error"] != tc.wantError {
				t.Fatalf("status %d, answer %v; want %d, error %q", status, out, tc.status, tc.wantError)
			}
			if status != 200 {
				return
			}
			if out["token_type"] != "Bearer" || out["access_token"] == "" {
				t.Fatalf("answer %v, want a bearer token", out)
			}
			claims, err := parseToken(out["access_token"], &testKey().PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if claims.UserType != "system" || claims.Subject != "mediator" || claims.RecordID != "" {
				t.Errorf("claims %+v, want a system token of mediator for no record", claims)
			}
			if ttl := time.Unix(claims.Expiry, 0).Sub(time.Unix(claims.IssuedAt, 0)); ttl != SystemTokenTTL {
				t.Errorf("token lives %v, want %v", ttl, SystemTokenTTL)
			}
		})
	}
	// A form body works too (the v2-era client sends one).
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/token", strings.NewReader("client_id=mediator&client_secret=s3cret&grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("form body: status %d, want 200", resp.StatusCode)
	}
}

// Historic records are registered FHIR bundles that the mediator's parser
// reads as registered births of infants, with their registration number;
// the simulator knows them as registered.
func TestWriteHistoric(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Key: testKey()}, nil)
	var buf bytes.Buffer
	n, err := e.sim.WriteHistoric(context.Background(), &buf, HistoricRequest{Count: 20})
	if err != nil || n != 20 {
		t.Fatalf("WriteHistoric = %d, %v", n, err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	lines := 0
	seen := map[string]bool{}
	for sc.Scan() {
		lines++
		rec, err := fhir.Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if rec.Event != bridge.EventBirth || rec.Status != "REGISTERED" || rec.RegistrationNumber == "" ||
			!strings.HasSuffix(rec.RegistrationNumber, rec.TrackingID) {
			t.Errorf("line %d: %s %s, registration number %q, tracking id %q; want a registered birth", lines, rec.Event, rec.Status, rec.RegistrationNumber, rec.TrackingID)
		}
		if seen[rec.RecordID] || seen[rec.TrackingID] {
			t.Errorf("line %d: record or tracking id repeated", lines)
		}
		seen[rec.RecordID], seen[rec.TrackingID] = true, true
		born, err := time.Parse("2006-01-02", rec.Child.BirthDate)
		if err != nil || time.Since(born) >= 5*365*24*time.Hour {
			t.Errorf("line %d: child born %q: want an infant (under 5, MOSIP's CRVS_NEW route)", lines, rec.Child.BirthDate)
		}
		v := e.record(t, rec.RecordID, "")
		if v.Status != StatusRegistered || !v.Historic || v.RegistrationNumber == nil || *v.RegistrationNumber != rec.RegistrationNumber {
			t.Errorf("line %d: the simulator shows %+v", lines, v)
		}
	}
	if lines != 20 {
		t.Errorf("%d lines, want 20", lines)
	}
	// Over HTTP, as NDJSON.
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/historic", "", map[string]any{"count": 3, "authenticated": false}, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("POST /sim/historic: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var stats struct{ Historic int }
	do(t, http.MethodGet, e.srv.URL+"/sim/stats", "", nil, &stats)
	if stats.Historic != 23 {
		t.Errorf("stats: %d historic records, want 23", stats.Historic)
	}
	if resp := do(t, http.MethodPost, e.srv.URL+"/sim/historic", "", map[string]any{"count": 0}, nil); resp.StatusCode != 400 {
		t.Errorf("count 0: status %d, want 400", resp.StatusCode)
	}
}

// upsertRegistrationIdentifier adds the identifier to a registered record
// (historic or registered through the simulator) with a system token, is
// counted per call, replaces an identifier of the same type, and refuses
// what OpenCRVS would.
func TestUpsertRegistrationIdentifier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Key: testKey()}, nil)
	var buf bytes.Buffer
	if _, err := e.sim.WriteHistoric(context.Background(), &buf, HistoricRequest{Count: 1}); err != nil {
		t.Fatal(err)
	}
	rec, err := fhir.Parse(bytes.TrimSpace(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	_, tok := e.systemToken(t, url.Values{"client_id": {DevSystemClient}, "client_secret": {DevSystemSecret}, "grant_type": {"client_credentials"}})
	system := tok["access_token"]
	vars := func(id, typ, value string) map[string]any {
		return map[string]any{"id": id, "identifierType": typ, "identifierValue": value}
	}
	for i, value := range []string{"1234567890", "1234567890", "9876543210"} {
		status, a := e.graphql(t, system, upsertMutation, vars(rec.RecordID, "NATIONAL_ID", value))
		if status != 200 || len(a.Errors) > 0 || a.Data["upsertRegistrationIdentifier"] != rec.RecordID {
			t.Fatalf("upsert %d: %d %+v", i, status, a)
		}
	}
	got, ok := e.sim.RecordIdentifiers(rec.RecordID)
	if !ok || got != (Identifiers{NationalID: "9876543210", Upserts: 3, Historic: true}) {
		t.Errorf("identifiers %+v, %v; want the last national ID after 3 upserts", got, ok)
	}
	if v := e.record(t, rec.RecordID, ""); v.IdentifierUpserts != 3 || v.NationalID == nil || *v.NationalID != "9876543210" {
		t.Errorf("GET record: %+v", v)
	}

	// A record sent through the simulator takes identifiers once registered.
	sent := e.send(t, map[string]any{"kind": "birth"})
	if status, a := e.graphql(t, system, upsertMutation, vars(sent.ID, "NATIONAL_ID", "1111111111")); status != 200 || a.code() != CodeBadUserInput {
		t.Errorf("upsert on a waiting record: %d %s, want BAD_USER_INPUT", status, a.code())
	}
	token, err := e.sim.RecordToken(sent.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, a := e.graphql(t, token, confirmMutation, confirmVars(sent.ID, "2026"+sent.TrackingID, "")); len(a.Errors) > 0 {
		t.Fatalf("confirm: %+v", a)
	}
	// The record's own token may add an identifier too.
	if status, a := e.graphql(t, token, upsertMutation, vars(sent.ID, "NATIONAL_ID", "2222222222")); status != 200 || len(a.Errors) > 0 {
		t.Errorf("upsert with the record token: %d %+v", status, a)
	}
	if got, _ := e.sim.RecordIdentifiers(sent.ID); got != (Identifiers{NationalID: "2222222222", Upserts: 1}) {
		t.Errorf("registered record's identifiers %+v", got)
	}

	for _, tc := range []struct {
		name, token string
		vars        map[string]any
		status      int
		code        string
	}{
		{"unknown record", system, vars("no-such-record", "NATIONAL_ID", "1"), 200, CodeNotFound},
		{"unknown type", system, vars(rec.RecordID, "SHOE_SIZE", "1"), 200, CodeBadUserInput},
		{"empty value", system, vars(rec.RecordID, "NATIONAL_ID", ""), 200, CodeBadUserInput},
		{"another record's token", token, vars(rec.RecordID, "NATIONAL_ID", "1"), 401, CodeUnauthenticated},
		{"no token", "", vars(rec.RecordID, "NATIONAL_ID", "1"), 401, CodeUnauthenticated},
	} {
		status, a := e.graphql(t, tc.token, upsertMutation, tc.vars)
		if status != tc.status || a.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, a.code(), tc.status, tc.code)
		}
	}
	if got, _ := e.sim.RecordIdentifiers(rec.RecordID); got.Upserts != 3 {
		t.Errorf("refused calls were counted: %d upserts, want 3", got.Upserts)
	}
	var stats struct{ IdentifierUpserts, SystemTokens int }
	do(t, http.MethodGet, e.srv.URL+"/sim/stats", "", nil, &stats)
	if stats.IdentifierUpserts != 4 || stats.SystemTokens != 1 {
		t.Errorf("stats %+v, want 4 upserts and 1 system token", stats)
	}
}
