package mosipsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
)

// identityAnswer is the response of the identity read.
type identityAnswer struct {
	Status    string                     `json:"status"`
	Identity  map[string]json.RawMessage `json:"identity"`
	Documents []json.RawMessage          `json:"documents"`
}

// readIdentity calls the identity read; idType "" leaves the parameter out.
func (e *env) readIdentity(token, id, idType string) (*http.Response, mosip.Response[*identityAnswer]) {
	e.t.Helper()
	q := url.Values{"type": {"demo"}}
	if idType != "" {
		q.Set("idType", idType)
	}
	resp, body := e.do(http.MethodGet, PathIdentity+"/idvid/"+url.PathEscape(id)+"?"+q.Encode(), token, nil)
	return resp, decodeMOSIP[*identityAnswer](e.t, body)
}

func TestIdentityReadByRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	const rid = "600010000000001"
	p := infant("Chipo Mwale")
	e.register(token, rid, "CRVS_NEW", birthFields(p))
	reg := e.finished(rid)
	if reg.Status != mosip.StatusProcessed || reg.UIN == "" || reg.VID == "" {
		t.Fatalf("registration %s: UIN %q VID %q %+v", reg.Status, reg.UIN, reg.VID, reg.Stages)
	}

	for _, tc := range []struct{ name, id, idType string }{
		{"by RID", rid, "RID"},
		{"by UIN", reg.UIN, "UIN"},
		{"by VID", reg.VID, "VID"},
		{"RID without idType", rid, ""},
		{"UIN without idType", reg.UIN, ""},
		{"idType in lower case", rid, "rid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, r := e.readIdentity(token, tc.id, tc.idType)
			if resp.StatusCode != http.StatusOK || len(r.Errors) != 0 || r.Response == nil {
				t.Fatalf("HTTP %d, errors %v, response %v", resp.StatusCode, r.Errors, r.Response)
			}
			if r.ID != "mosip.id.read" || r.Version != "v1" || r.ResponseTime == "" {
				t.Errorf("wrapper id %q version %q responsetime %q", r.ID, r.Version, r.ResponseTime)
			}
			got := r.Response
			if got.Status != IdentityActivated || string(got.Identity["UIN"]) != `"`+reg.UIN+`"` {
				t.Errorf("status %q, UIN %s; want ACTIVATED, %s", got.Status, got.Identity["UIN"], reg.UIN)
			}
			// simpleType fields come back as JSON lists, the rest as strings.
			var name []struct{ Language, Value string }
			if err := json.Unmarshal(got.Identity["fullName"], &name); err != nil || len(name) != 1 || name[0].Value != p.name {
				t.Errorf("fullName = %s (%v); want a simpleType list with %q", got.Identity["fullName"], err, p.name)
			}
			if want := `"` + mosipDay(p.dob) + `"`; string(got.Identity["dateOfBirth"]) != want {
				t.Errorf("dateOfBirth = %s, want %s", got.Identity["dateOfBirth"], want)
			}
			if got.Documents == nil || len(got.Documents) != 0 {
				t.Errorf("documents = %v, want []", got.Documents)
			}
		})
	}

	// The death of that person links the death's RID to the same identity.
	const deathRID = "600010000000002"
	e.register(token, deathRID, "CRVS_DEATH", map[string]any{"UIN": reg.UIN, "dateOfDeath": mosipDay(time.Now().AddDate(0, 0, -1))})
	if v := e.finished(deathRID); v.Status != mosip.StatusProcessed {
		t.Fatalf("death: %s %+v", v.Status, v.Stages)
	}
	if _, r := e.readIdentity(token, deathRID, "RID"); r.Response == nil || string(r.Response.Identity["UIN"]) != `"`+reg.UIN+`"` {
		t.Errorf("identity by the death's RID: %+v", r)
	}
}

func TestVIDsByUIN(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	const rid = "600020000000001"
	e.register(token, rid, "CRVS_NEW", birthFields(infant("Mphatso Tembo")))
	reg := e.finished(rid)
	if reg.Status != mosip.StatusProcessed {
		t.Fatalf("registration %s %+v", reg.Status, reg.Stages)
	}

	resp, body := e.do(http.MethodGet, PathVID+"/uin/"+reg.UIN, token, nil)
	r := decodeMOSIP[[]map[string]json.RawMessage](t, body)
	if resp.StatusCode != http.StatusOK || len(r.Errors) != 0 || len(r.Response) != 1 {
		t.Fatalf("HTTP %d %s", resp.StatusCode, body)
	}
	v := r.Response[0]
	for name, want := range map[string]string{
		"vid": `"` + reg.VID + `"`, "vidType": `"PERPETUAL"`, "expiryTimestamp": "null",
		"transactionLimit": "null", "transactionsLeftCount": "null",
	} {
		if string(v[name]) != want {
			t.Errorf("%s = %s, want %s", name, v[name], want)
		}
	}
	var generated string
	if err := json.Unmarshal(v["genratedOnTimestamp"], &generated); err != nil {
		t.Errorf("genratedOnTimestamp = %s: %v", v["genratedOnTimestamp"], err)
	} else if _, err := time.Parse(mosip.TimeLayout, generated); err != nil {
		t.Errorf("genratedOnTimestamp %q: %v", generated, err)
	}
	var hash map[string]string
	if err := json.Unmarshal(v["hashAttributes"], &hash); err != nil || len(hash["id_hash"]) != 64 {
		t.Errorf("hashAttributes = %s", v["hashAttributes"])
	}

	// A seeded identity has its VID listed too.
	seeded, err := e.sim.AddIdentity(SeedIdentity{UIN: "5555", VID: "66666666"})
	if err != nil {
		t.Fatal(err)
	}
	_, body = e.do(http.MethodGet, PathVID+"/uin/5555", token, nil)
	if r := decodeMOSIP[[]struct{ VID string }](t, body); len(r.Response) != 1 || r.Response[0].VID != seeded.VID {
		t.Errorf("VIDs of a seeded identity: %s", body)
	}
}

func TestIDRepoErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	seeded, err := e.sim.AddIdentity(SeedIdentity{UIN: "7777", Fields: map[string]string{"fullName": "Charles Dikkens"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       mosip.ServiceError
	}{
		{
			name: "unknown RID",
			path: PathIdentity + "/idvid/100010000099999?type=demo&idType=RID",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
		{
			name: "UIN asked as a RID",
			path: PathIdentity + "/idvid/" + seeded.UIN + "?type=demo&idType=RID",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
		{
			name: "VID asked as a UIN",
			path: PathIdentity + "/idvid/" + seeded.VID + "?type=demo&idType=UIN",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
		{
			name: "unknown id without idType",
			path: PathIdentity + "/idvid/nobody",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
		{
			name: "bad idType",
			path: PathIdentity + "/idvid/7777?type=demo&idType=NID",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-002", Message: "Invalid Input Parameter - idType"},
		},
		{
			name: "bad type",
			path: PathIdentity + "/idvid/7777?type=photo&idType=UIN",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-002", Message: "Invalid Input Parameter - type"},
		},
		{
			name: "VIDs of an unknown UIN",
			path: PathVID + "/uin/8888",
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
		{
			name: "VIDs asked by VID",
			path: PathVID + "/uin/" + seeded.VID,
			want: mosip.ServiceError{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, tc.path, token, nil)
			r := decodeMOSIP[json.RawMessage](t, body)
			if resp.StatusCode != http.StatusOK || string(r.Response) != "null" {
				t.Errorf("HTTP %d %s; want 200 with a null response", resp.StatusCode, body)
			}
			if diff := cmp.Diff([]mosip.ServiceError{tc.want}, r.Errors); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}

	// type=bio and type=all are accepted (there are no biometrics), as is
	// MOSIP's comma-separated list.
	for _, typ := range []string{"bio", "all", "demo,bio"} {
		resp, body := e.do(http.MethodGet, PathIdentity+"/idvid/7777?idType=UIN&type="+url.QueryEscape(typ), token, nil)
		if r := decodeMOSIP[*identityAnswer](t, body); resp.StatusCode != http.StatusOK || len(r.Errors) != 0 || r.Response == nil {
			t.Errorf("type=%s: HTTP %d %s", typ, resp.StatusCode, body)
		}
	}
}

// FuzzIDRepoRead throws arbitrary ids and queries at the ID repository
// reads: each must answer HTTP 200 with a MOSIP response wrapper.
func FuzzIDRepoRead(f *testing.F) {
	f.Add("100010000000001", "type=demo&idType=RID")
	f.Add("..", "idType=uin")
	f.Add("a/b", "type=bio,demo&type=all")
	f.Add("", "%zz")
	var once sync.Once
	var sim *Sim
	var token string
	f.Cleanup(func() {
		if sim != nil {
			sim.Close()
		}
	})
	f.Fuzz(func(t *testing.T, id, query string) {
		once.Do(func() {
			k := mustKeys(t)
			var err error
			sim, err = New(Config{PartnerCert: k.cert, CredentialKey: k.vc, StageDelay: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.AddIdentity(SeedIdentity{UIN: "1234567890", Fields: map[string]string{"fullName": `[{"language":"eng","value":"x"}]`}}); err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(authRequest(DevRegprocClient, DevSecret))
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathAuth, bytes.NewReader(body)))
			token = strings.TrimPrefix(strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], "Authorization=")
		})
		// Escaped as the mediator's client does: ServeMux would resolve a
		// bare "." or "..".
		seg := url.PathEscape(id)
		switch id {
		case "", "/":
			return // not a route; ServeMux does not route a lone %2F segment either
		case ".", "..":
			seg = strings.ReplaceAll(id, ".", "%2E")
		}
		for _, target := range []string{
			PathIdentity + "/idvid/" + seg + "?" + query,
			PathVID + "/uin/" + seg + "?" + query,
		} {
			u, err := url.ParseRequestURI(target)
			if err != nil {
				continue
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL, req.RequestURI = u, target
			req.Header.Set("Cookie", "Authorization="+token)
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			var r mosip.Response[json.RawMessage]
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
				t.Fatalf("GET %s answered HTTP %d %q", target, rec.Code, rec.Body)
			}
		}
	})
}
