package mosipsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
)

func FuzzDecodePacketRequest(f *testing.F) {
	good, _ := json.Marshal(packetBody("100010000000001", "CRVS_NEW", birthFields(infant("Fuzz Seed"))))
	f.Add(good)
	f.Add([]byte(`{"request":{"id":"1","source":"OPENCRVS","process":"CRVS_DEATH","refId":"1_2","schemaVersion":"0.1","schemaJson":"{}","fields":{"a":1,"b":true,"c":null},"metaInfo":{"m":"x"},"audits":[{}]}}`))
	f.Add([]byte(`{"request":{"fields":{"a":{"b":1}}}}`))
	f.Add([]byte(`{"request":{"documents":{"d":{"document":"!!"}}}}`))
	f.Add([]byte(`{"request":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"request":{"id":"x","source":"crvs1","process":"CRVS_NEW","refId":"1_2","schemaVersion":"1","schemaJson":"\"s\""}} trailing`))
	providers := map[string]map[string]bool{}
	for src, procs := range DefaultProviders() {
		providers[src] = map[string]bool{}
		for _, p := range procs {
			providers[src][p] = true
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, verr := decodePacketRequest(body, providers)
		if verr != nil {
			if p != nil || verr.ErrorCode == "" || verr.Message == "" {
				t.Fatalf("refusal without a code and message: %+v", verr)
			}
			return
		}
		d := p.dto
		if !packetIDPattern.MatchString(d.ID) || !refIDPattern.MatchString(d.RefID) || d.SchemaVersion == "" ||
			!json.Valid([]byte(d.SchemaJSON)) || !providers[strings.ToUpper(d.Source)][d.Process] {
			t.Fatalf("accepted an invalid request: %+v", d)
		}
		if sc, err := parseIDSchema(d.SchemaJSON); err == nil {
			sc.validate(&packet{dto: d, biometrics: p.biometrics, schema: sc}, true, time.Now())
			(&packet{dto: d, schema: sc}).subPackets()
		}
	})
}

func FuzzParseHubForm(f *testing.F) {
	f.Add("hub.mode=subscribe&hub.topic=CREDENTIAL_ISSUED&hub.callback=http%3A%2F%2Fx%2Fcb&hub.secret=s&hub.lease_seconds=60")
	f.Add("hub.mode=unsubscribe&hub.topic=a%2Fb&hub.callback=https://h/cb?x=1")
	f.Add("hub.mode=publish")
	f.Add("hub.mode=subscribe&hub.topic=%00&hub.callback=http://h")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		req, reason := parseHubForm([]byte(body))
		if reason != "" {
			return
		}
		if req.mode != "subscribe" && req.mode != "unsubscribe" {
			t.Fatalf("accepted mode %q", req.mode)
		}
		u, err := url.Parse(req.callback)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted callback %q", req.callback)
		}
		if req.topic == "" || len(req.topic) > maxTopicBytes || req.leaseSeconds <= 0 || req.leaseSeconds > maxLeaseSeconds || len(req.secret) > maxSecretBytes {
			t.Fatalf("accepted %+v", req)
		}
	})
}

func FuzzIDSchema(f *testing.F) {
	f.Add(testSchema, "fullName", simpleValue("Ama"))
	f.Add(`{"properties":{"identity":{"properties":{"x":{"validators":[{"type":"regex","validator":"^(?=a"}]}}}}}`, "x", "a")
	f.Add(`{"properties":{"identity":{"properties":{"x":{"type":["null","integer"]}}}}}`, "x", "1.5")
	f.Add(`{"properties":{"identity":null}}`, "", "")
	f.Fuzz(func(t *testing.T, schema, field, value string) {
		sc, err := parseIDSchema(schema)
		if err != nil {
			return
		}
		p := &packet{schema: sc}
		p.dto.Fields = map[string]string{field: value, "dateOfBirth": value}
		p.dto.SchemaVersion = value
		p.dto.MetaInfo = map[string]string{"operationsData": value}
		sc.validate(p, true, time.Now())
		sc.validate(p, false, time.Now())
		dedupeKey(p.dto.Fields)
	})
}

func FuzzJavaRegex(f *testing.F) {
	f.Add(`^(?=.{3,50}$).*`, "abc")
	f.Add(`^[(?i)A-Z0-9]{5}$|^NA$`, "NA")
	f.Add(`^(?=[\(]`, "(")
	f.Add(`^(?=(?=a)b)`, "ab")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		re, err := compileJavaRegex(pattern)
		if err != nil {
			return
		}
		re.match(value)
	})
}

func FuzzCanonicalJSON(f *testing.F) {
	f.Add(`{"b":[1,true,null],"a":"\u2028\u0000"}`)
	f.Add(`{"\ud83d\ude00":1,"\ufb33":2}`)
	f.Add(`"\ud800"`)
	f.Fuzz(func(t *testing.T, in string) {
		var v any
		if json.Unmarshal([]byte(in), &v) != nil {
			return
		}
		out, err := canonicalJSON(v)
		if err != nil {
			return // fractional or huge numbers
		}
		var back any
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("canonical form %q is not JSON: %v", out, err)
		}
		if !reflect.DeepEqual(v, back) {
			t.Fatalf("canonical form %q decodes to %v, want %v", out, back, v)
		}
		again, err := canonicalJSON(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
	})
}

// FuzzMOSIPEndpoints throws arbitrary bodies at the JSON endpoints: each
// must answer a MOSIP response wrapper and never fail.
func FuzzMOSIPEndpoints(f *testing.F) {
	wf, _ := json.Marshal(workflowBody("100010000000001", "CRVS_NEW"))
	st, _ := json.Marshal(statusBody("100010000000001"))
	auth, _ := json.Marshal(authRequest(DevRegprocClient, DevSecret))
	for i, b := range [][]byte{wf, st, auth, []byte(`{"request":[null]}`), []byte(`{"id":"mosip.registration.status","version":"1.0","requesttime":"2025-01-01T00:00:00.000Z","request":[null,{}]}`)} {
		f.Add(uint8(i), b)
	}
	var once sync.Once
	var sim *Sim
	var token string
	f.Cleanup(func() {
		if sim != nil {
			sim.Close()
		}
	})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		once.Do(func() {
			k := mustKeys(t)
			var err error
			sim, err = New(Config{PartnerCert: k.cert, CredentialKey: k.vc, StageDelay: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathAuth, strings.NewReader(string(auth))))
			token = strings.TrimPrefix(strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], "Authorization=")
		})
		path := []string{PathWorkflow, PathStatusSearch, PathAuth}[int(which)%3]
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
		req.Header.Set("Cookie", "Authorization="+token)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s answered HTTP %d", path, rec.Code)
		}
		var r mosip.Response[json.RawMessage]
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s answered %q", path, rec.Body)
		}
	})
}
