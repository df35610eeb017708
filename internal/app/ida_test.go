package app

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/sim/mosipsim"
)

// IDA partner values the tests register in the MOSIP simulator.
const (
	testMISPLK     = "test-misp-license-key"
	testIDAPartner = "crvs-partner"
	testIDAAPIKey  = "test-api-key"
)

// startIDASystem is startSystem with identity verification wired: the
// MOSIP simulator holds IDA's key and the mock identities, the mediator
// encrypts to IDA's certificate and signs with its partner key.
func startIDASystem(t *testing.T) *system {
	t.Helper()
	idaKeys := mustPartner(t)
	certPath := filepath.Join(t.TempDir(), "ida-partner.crt")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idaKeys.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	seeds, err := mosipsim.LoadMockIdentities("../../testdata/mock-identities.json")
	if err != nil {
		t.Fatal(err)
	}
	return startSystem(t, systemOptions{
		mosip: func(c *mosipsim.Config) {
			c.IDAKey, c.IDACert = idaKeys.Key, idaKeys.Cert
			c.IDAPartner = &mosipsim.IDAPartner{MISPLicenseKey: testMISPLK, PartnerID: testIDAPartner, APIKey: testIDAAPIKey, Cert: c.PartnerCert}
			c.SeedIdentities = seeds
		},
		config: func(c *Config) {
			c.IDAAuthURL = strings.Replace(c.MOSIPAuthURL, "/v1/authmanager/authenticate/clientidsecretkey", mosipsim.PathIDAAuth, 1)
			c.IDADomainURI = "http://ida.test"
			c.PartnerMISPLK, c.PartnerID, c.PartnerAPIKey = testMISPLK, testIDAPartner, testIDAAPIKey
			c.IDAEncryptCert = certPath
			c.IDASignP12, c.IDASignPassword = c.P12Path, c.P12Password
		},
	})
}

// postVerify sends POST /verify and returns the status and the body.
func postVerify(t *testing.T, s *system, token string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", s.mediatorURL+"/verify", strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(out)
}

// charles is mock identity 1234567890: a family name with a space, a
// middle name, born on a leap day.
func charles() map[string]any {
	return map[string]any{
		"nid": "1234567890", "dob": "2008-02-29", "gender": "male", "transactionId": "mother-e2e",
		"name": map[string]any{"firstname": "Charles", "middlename": "Dikkens", "surname": "Doe 2nd"},
	}
}

// POST /verify answers verified for a mock identity and failed when the
// name, the date of birth or the gender differ, or the NID is unknown.
func TestVerifyAgainstMockIdentities(t *testing.T) {
	s := startIDASystem(t)
	token := s.token(t, "verify-e2e", time.Hour)
	tests := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"matching identity", func(map[string]any) {}, "verified"},
		{"no gender given", func(b map[string]any) { delete(b, "gender") }, "verified"},
		{"name as a string, other case and spacing", func(b map[string]any) { b["name"] = "  charles DIKKENS doe 2nd" }, "verified"},
		{"mismatched name", func(b map[string]any) {
			b["name"] = map[string]any{"firstname": "Charles", "middlename": "Dikkens", "surname": "Doe"}
		}, "failed"},
		{"middle name left out", func(b map[string]any) {
			b["name"] = map[string]any{"firstname": "Charles", "surname": "Doe 2nd"}
		}, "failed"},
		{"mismatched date", func(b map[string]any) { b["dob"] = "2008-02-28" }, "failed"},
		{"mismatched gender", func(b map[string]any) { b["gender"] = "female" }, "failed"},
		{"unknown NID", func(b map[string]any) { b["nid"] = "9999999999" }, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := charles()
			tt.edit(body)
			st, got := postVerify(t, s, token, body)
			if st != http.StatusOK || got != tt.want {
				t.Errorf("POST /verify = %d %q, want 200 %q", st, got, tt.want)
			}
		})
	}
	stats := s.mosip.IDAStats()
	if stats.Authenticated != 3 || stats.NotMatched != 5 || stats.Refused != 0 {
		t.Errorf("IDA stats = %+v, want 3 authenticated, 5 not matched, 0 refused", stats)
	}
}

// Bad input and callers without an OpenCRVS token are refused before IDA
// is asked.
func TestVerifyRefusesBadInput(t *testing.T) {
	s := startIDASystem(t)
	token := s.token(t, "verify-e2e", time.Hour)
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"no token", "", charles(), http.StatusUnauthorized, "Authorization"},
		{"foreign token", foreignToken(t, "verify-e2e"), charles(), http.StatusUnauthorized, ""},
		{"not JSON", token, "nid=1", http.StatusBadRequest, ""},
		{"letters in the NID", token, map[string]any{"nid": "12ab", "dob": "2008-02-29", "name": "Charles Doe"}, http.StatusBadRequest, "nid"},
		{"no name", token, map[string]any{"nid": "1234567890", "dob": "2008-02-29"}, http.StatusBadRequest, "name"},
		{"impossible date", token, map[string]any{"nid": "1234567890", "dob": "2007-02-29", "name": "Charles Doe"}, http.StatusBadRequest, "dob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := postVerify(t, s, tt.token, tt.body)
			if st != tt.status {
				t.Fatalf("status = %d (%s), want %d", st, body, tt.status)
			}
			var p problemAnswer
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("answer is not problem JSON: %s", body)
			}
			if p.Field != tt.field {
				t.Errorf("problem field = %q, want %q (%s)", p.Field, tt.field, body)
			}
		})
	}
	if got := s.mosip.IDAStats(); got != (mosipsim.IDAStats{}) {
		t.Errorf("IDA was asked: %+v", got)
	}
}

// When IDA answers with errors about the request itself, or cannot be
// reached, /verify answers 502 problem JSON (neither verified nor failed:
// the form can retry).
func TestVerifyWhenIDACannotAnswer(t *testing.T) {
	s := startIDASystem(t)
	token := s.token(t, "verify-e2e", time.Hour)

	t.Run("IDA answers with errors", func(t *testing.T) {
		if err := s.mosip.SetFaults(mosipsim.Faults{ErrorRate: 1, ErrorMode: mosipsim.ModeErrors200, Endpoints: []string{mosipsim.EndpointIDA}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.mosip.SetFaults(mosipsim.Faults{}) })
		st, body := postVerify(t, s, token, charles())
		if st != http.StatusBadGateway || !strings.Contains(body, "IDA-MLC-007") {
			t.Errorf("POST /verify = %d %s, want 502 naming IDA-MLC-007", st, body)
		}
	})
	t.Run("IDA unreachable", func(t *testing.T) {
		s.stopMOSIP()
		t.Cleanup(func() { s.startMOSIP(t) })
		st, body := postVerify(t, s, token, charles())
		var p problemAnswer
		if err := json.Unmarshal([]byte(body), &p); err != nil || st != http.StatusBadGateway {
			t.Fatalf("POST /verify = %d %s, want 502 problem JSON", st, body)
		}
		if !strings.Contains(p.Detail, "did not answer") {
			t.Errorf("detail = %q, want it to say IDA did not answer", p.Detail)
		}
	})
	// Back on the network, the same request is answered.
	if st, got := postVerify(t, s, token, charles()); st != http.StatusOK || got != "verified" {
		t.Errorf("after IDA is back: %d %q, want 200 verified", st, got)
	}
}

// Without IDA configuration the verification routes say that it is off.
func TestVerifyOffWithoutIDAConfiguration(t *testing.T) {
	s := startSystem(t, systemOptions{})
	token := s.token(t, "verify-e2e", time.Hour)
	st, body := postVerify(t, s, token, charles())
	if st != http.StatusNotFound || !strings.Contains(body, "identity verification is off") {
		t.Errorf("POST /verify = %d %s, want 404 saying verification is off", st, body)
	}
}

// POST /events/review verifies the mother and the father of a 1.8 bundle
// and sets their sections' verified fields in OpenCRVS.
func TestReviewMarksSections(t *testing.T) {
	s := startIDASystem(t)
	var b map[string]any
	if err := json.Unmarshal(mustRead(t, "../../testdata/opencrvs-1.8/incoming-birth-bundle-mother-father.json"), &b); err != nil {
		t.Fatal(err)
	}
	const (
		motherID = "a9ba0d40-6d22-4eb6-8772-162368f7dbbe"
		fatherID = "86880033-b076-4a75-a9e1-37e792985d0d"
	)
	for _, e := range entries(b) {
		r := e.(map[string]any)["resource"].(map[string]any)
		switch r["id"] {
		case motherID: // mock identity 1234567891
			r["name"] = []any{map[string]any{"use": "en", "given": []any{"Jenny", "Debra"}, "family": "Doe"}}
			r["birthDate"] = "2002-02-01"
			setNID(r, "1234567891")
		case fatherID: // mock identity 1234567892, a day off
			r["name"] = []any{map[string]any{"use": "en", "given": []any{"John", "Dino"}, "family": "Doe"}}
			r["birthDate"] = "2001-02-21"
			setNID(r, "1234567892")
		}
	}
	bundle, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	rec := s.sendRecord(t, map[string]any{"bundle": json.RawMessage(bundle)})

	// A token for another record may not write to this one.
	var refused map[string]any
	if st := do(t, "POST", s.mediatorURL+"/events/review", bearer(s.token(t, "another-record", time.Hour)), bundle, &refused); st != http.StatusForbidden {
		t.Errorf("review with another record's token = %d %v, want 403", st, refused)
	}

	var got map[string]any
	st := do(t, "POST", s.mediatorURL+"/events/review", bearer(s.token(t, rec.ID, time.Hour)), bundle, &got)
	if st != http.StatusOK {
		t.Fatalf("POST /events/review = %d %v", st, got)
	}
	want := map[string]any{
		"mother": true, "father": false, "informant": false, "deceased": false, "spouse": false,
		"persons": map[string]any{"mother": "verified", "father": "failed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("review answer (-want +got):\n%s", diff)
	}
	var view struct {
		Fields map[string]string `json:"fields"`
	}
	do(t, "GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &view)
	wantFields := map[string]string{
		"birth.mother.mother-view-group.verified": "verified",
		"birth.father.father-view-group.verified": "failed",
	}
	if diff := cmp.Diff(wantFields, view.Fields); diff != "" {
		t.Errorf("OpenCRVS fields (-want +got):\n%s", diff)
	}

	// IDA unreachable: nothing is written, 502 so that the hook retries.
	s.stopMOSIP()
	defer s.startMOSIP(t)
	var p problemAnswer
	if st := do(t, "POST", s.mediatorURL+"/events/review", bearer(s.token(t, rec.ID, time.Hour)), bundle, &p); st != http.StatusBadGateway {
		t.Fatalf("POST /events/review with IDA down = %d %+v, want 502", st, p)
	}
	if !strings.Contains(p.Detail, "mother, father") {
		t.Errorf("detail = %q, want it to name mother, father", p.Detail)
	}
}

// setNID sets a Patient's NATIONAL_ID identifier.
func setNID(patient map[string]any, nid string) {
	patient["identifier"] = []any{map[string]any{
		"value": nid,
		"type": map[string]any{"coding": []any{map[string]any{
			"system": "http://opencrvs.org/specs/identifier-type", "code": "NATIONAL_ID",
		}}},
	}}
}
