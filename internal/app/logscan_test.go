package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/telemetry/otlptest"
)

// The mediator's log, at debug level, holds none of the personal values
// that went through it (issue 9 item 6): births (FHIR and mapped), a death
// of a registered person, corrections, a death reversal and an IDA
// verification run end to end, and every name, date of birth, national ID,
// UIN, VID, contact, bearer token, credential and configured secret the
// mediator was sent or received is looked for in every line it logged.
// The simulators' lines are left out: they are test tools.
func TestLogScanNoPersonalDataInMediatorLog(t *testing.T) {
	logs := &lockedBuffer{}
	// Tracing is on, and every span the mediator exports is scanned too.
	traces := otlptest.NewCollector(t)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Everything OpenCRVS sends the mediator and every WebSub delivery
	// MOSIP makes goes through a recording proxy, so that the test knows
	// the tokens, documents and (encrypted) credentials exactly as sent.
	rec := &recordingProxy{}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)

	idaKeys := mustPartner(t)
	certPath := filepath.Join(t.TempDir(), "ida-partner.crt")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idaKeys.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	seeds, err := mosipsim.LoadMockIdentities("../../testdata/mock-identities.json")
	if err != nil {
		t.Fatal(err)
	}
	s := startSystem(t, systemOptions{
		logger: logger,
		opencrvs: func(c *opencrvssim.Config) {
			target, err := url.Parse(c.MediatorURL)
			if err != nil {
				t.Fatal(err)
			}
			rec.setTarget(target)
			c.MediatorURL = proxy.URL
		},
		mosip: func(c *mosipsim.Config) {
			c.IDAKey, c.IDACert = idaKeys.Key, idaKeys.Cert
			c.IDAPartner = &mosipsim.IDAPartner{MISPLicenseKey: testMISPLK, PartnerID: testIDAPartner, APIKey: testIDAAPIKey, Cert: c.PartnerCert}
			c.SeedIdentities = seeds
		},
		config: func(c *Config) {
			c.CallbackURL = proxy.URL + "/websub/callback"
			c.IDAAuthURL = strings.Replace(c.MOSIPAuthURL, "/v1/authmanager/authenticate/clientidsecretkey", mosipsim.PathIDAAuth, 1)
			c.IDADomainURI = "http://ida.test"
			c.PartnerMISPLK, c.PartnerID, c.PartnerAPIKey = testMISPLK, testIDAPartner, testIDAAPIKey
			c.IDAEncryptCert = certPath
			c.IDASignP12, c.IDASignPassword = c.P12Path, c.P12Password
			c.OTLPTracesEndpoint = traces.URL + otlptest.TracesPath
		},
	})

	var secrets personalValues
	// Births in both payload forms; the FHIR-born child dies and the death
	// is corrected; the mapped birth is corrected.
	fhirBirth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "fhir"}).ID)
	mappedBirth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID)
	for _, b := range []simRecord{fhirBirth, mappedBirth} {
		if b.Status != "registered" || b.NationalID == nil {
			t.Fatalf("birth: %+v", b)
		}
	}
	death := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "mode": "mapped", "of": fhirBirth.ID}).ID)
	if death.Status != "registered" {
		t.Fatalf("death: %+v", death)
	}
	for _, r := range []map[string]any{
		{"kind": "death-correction", "of": death.ID, "changes": true},
		{"kind": "birth-correction", "of": fhirBirth.ID, "changes": true},
	} {
		if c := s.waitRecord(t, s.sendRecord(t, r).ID); c.Status != "registered" {
			t.Fatalf("%s: %+v", r["kind"], c)
		}
	}
	s.settle(t)

	// The death reversal, with the demographics MOSIP holds.
	var minted struct{ Token string }
	if st := do(t, "POST", s.opencrvsURL+"/sim/tokens", nil, map[string]any{"scope": []string{"record.registration-correct"}}, &minted); st != http.StatusOK {
		t.Fatalf("mint token: %d", st)
	}
	secrets.add("reversal token", minted.Token)
	deceased := s.identity(t, *fhirBirth.NationalID)
	reversal := map[string]any{
		"deathRegistrationNumber": *death.RegistrationNumber,
		"fullName":                fieldValue(deceased.Fields["fullName"]),
		"dateOfBirth":             strings.ReplaceAll(deceased.Fields["dateOfBirth"], "/", "-"),
		"gender":                  fieldValue(deceased.Fields["gender"]),
	}
	secrets.addJSON("reversal request", reversal)
	var ans map[string]any
	if st := do(t, "POST", s.mediatorURL+"/events/death-reversal", bearer(minted.Token), reversal, &ans); st != http.StatusAccepted {
		t.Fatalf("reversal: %d %v", st, ans)
	}
	id := ans["transactions"].([]any)[0].(map[string]any)["id"].(string)
	if got := s.waitReversal(t, id); got["state"] != "CONFIRMED" {
		t.Fatalf("reversal ended %v", got)
	}

	// IDA verification of a mock identity, matching and not.
	verifyToken := s.token(t, "verify-logscan", time.Hour)
	secrets.add("verify token", verifyToken)
	for _, edit := range []func(map[string]any){
		func(map[string]any) {},
		func(b map[string]any) { b["dob"] = "2008-02-28" },
	} {
		body := charles()
		edit(body)
		secrets.addJSON("verify request", body)
		if st, got := postVerify(t, s, verifyToken, body); st != http.StatusOK {
			t.Fatalf("verify: %d %s", st, got)
		}
	}
	s.stop() // flush: every line the mediator will write is written

	// What the mediator received, as sent.
	for _, tok := range rec.tokens() {
		secrets.add("record token", tok)
	}
	for _, body := range rec.bodies("/events/registration") {
		secrets.addJSON("OpenCRVS document", body)
	}
	deliveries := rec.bodies("/websub/callback")
	if len(deliveries) == 0 {
		t.Fatal("no WebSub delivery went through the proxy")
	}
	credentials := 0
	for _, body := range deliveries {
		var ev mosip.CredentialEvent
		if json.Unmarshal(body, &ev) != nil || ev.Event.Data.Credential == "" {
			continue
		}
		secrets.add("encrypted credential", ev.Event.Data.Credential)
		plain, err := mosip.DecryptCredential(s.partner.Key, ev.Event.Data.Credential)
		if err != nil {
			t.Fatalf("decrypt the delivered credential: %v", err)
		}
		credentials++
		secrets.add("decrypted credential", string(plain))
		secrets.addJSON("decrypted credential", plain)
		var vc struct {
			ID    string `json:"id"`
			Proof struct {
				JWS string `json:"jws"`
			} `json:"proof"`
		}
		if json.Unmarshal(plain, &vc) == nil {
			secrets.add("credential id", vc.ID)
			secrets.add("credential proof", vc.Proof.JWS)
		}
		var proof struct{ Signature string }
		if json.Unmarshal(ev.Event.Data.Proof, &proof) == nil {
			secrets.add("credential event signature", proof.Signature)
		}
	}
	if credentials == 0 {
		t.Fatal("no credential was delivered")
	}
	// What MOSIP holds for the people registered.
	for _, b := range []simRecord{fhirBirth, mappedBirth} {
		idv := s.identity(t, *b.NationalID)
		secrets.add("UIN", idv.UIN)
		secrets.add("VID", idv.VID)
		for k, v := range idv.Fields {
			if personalKey(k) {
				secrets.addField(k, v)
			}
		}
	}
	// The mediator's own secrets.
	secrets.add("packet secret", s.cfg.PacketSecret)
	secrets.add("WebSub client secret", s.cfg.WebSubClientSecret)
	secrets.add("WebSub secret", s.cfg.WebSubSecret)
	secrets.add("P12 password", s.cfg.P12Password)
	secrets.add("partner API key", s.cfg.PartnerAPIKey)
	secrets.add("MISP license key", s.cfg.PartnerMISPLK)

	lines := logs.lines()
	mediatorLines := 0
	for _, line := range lines {
		if componentOf(line) != "mediator" {
			continue
		}
		mediatorLines++
		scanned := withoutTime(line)
		for _, v := range secrets.values {
			if containsValue(scanned, v.text) {
				t.Errorf("the mediator logged a %s (%q):\n%s", v.kind, v.text, line)
			}
		}
	}
	if mediatorLines < 20 || !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, `"level":"DEBUG"`) && componentOf(l) == "mediator" }) {
		t.Fatalf("only %d mediator log lines, none at DEBUG: the scan saw nothing", mediatorLines)
	}
	t.Logf("scanned %d mediator log lines for %d personal values and secrets", mediatorLines, len(secrets.values))

	spans := traces.Spans()
	if len(spans) < 20 {
		t.Fatalf("only %d spans exported: the scan saw nothing", len(spans))
	}
	for _, sp := range spans {
		texts := []string{sp.Name}
		for k, v := range sp.Attributes {
			texts = append(texts, k+"="+v)
		}
		for _, text := range texts {
			for _, v := range secrets.values {
				if containsValue(text, v.text) {
					t.Errorf("span %q holds a %s (%q): %s", sp.Name, v.kind, v.text, text)
				}
			}
		}
	}
	t.Logf("scanned %d spans", len(spans))
}

// The log scan's matcher finds values as whole tokens, in JSON-escaped
// text too, and tells the mediator's lines from the simulators'.
func TestLogScanMatcher(t *testing.T) {
	tests := []struct {
		line, value string
		want        bool
	}{
		{`"msg":"x","name":"Tamara Simukonda"`, "Simukonda", true},
		{`"error":"field \"fullName\" is [{\"value\":\"Tamara\"}]"`, "Tamara", true},
		{`"msg":"Tamaras"`, "Tamara", false},
		{`"uin":"6423107963"`, "6423107963", true},
		{`"id":"16423107963"`, "6423107963", false},
		{`"dob":"2026-09-15"`, "2026-09-15", true},
		{`"next":"2026-09-15T10:00:00Z"`, "2026-09-15", false},
		{`"token":"eyJh.eyJw.c2ln"`, "eyJh.eyJw.c2ln", true},
		{`"duration_ms":21.636}`, "636", false},
		{`"ms":636.2}`, "636", false},
		{`"addressLine1":"636"`, "636", true},
		{`"msg":"plot 636."`, "636", true},
	}
	for _, tt := range tests {
		if got := containsValue(tt.line, tt.value); got != tt.want {
			t.Errorf("containsValue(%s, %s) = %v, want %v", tt.line, tt.value, got, tt.want)
		}
	}
	for line, want := range map[string]string{
		`{"time":"t","level":"INFO","msg":"a \",\"component\":\"x","component":"mediator","component":"river"}`: "mediator",
		`{"time":"t","level":"INFO","msg":"m","component":"mosip-sim"}`:                                         "mosip-sim",
		`{"time":"t","level":"INFO","msg":"m"}`:                                                                 "",
	} {
		if got := componentOf(line); got != want {
			t.Errorf("componentOf(%s) = %q, want %q", line, got, want)
		}
	}
}

// personalValue is one value that must not appear in the log.
type personalValue struct{ kind, text string }

// personalValues collects the values to look for.
type personalValues struct {
	values []personalValue
	seen   map[string]bool
}

// add adds text, and for a JWT its payload and signature (each leaks
// on its own), for a name each word of it, for a date its other spelling.
func (p *personalValues) add(kind, text string) {
	text = strings.TrimSpace(text)
	if len(text) < 3 || p.seen[text] {
		return
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	p.seen[text] = true
	p.values = append(p.values, personalValue{kind, text})
	if parts := strings.Split(text, "."); len(parts) == 3 && strings.HasPrefix(text, "ey") {
		p.add(kind+" payload", parts[1])
		p.add(kind+" signature", parts[2])
	}
}

// addField adds a personal field's value: text or a [{language, value}]
// list; names word by word and dates in both spellings.
func (p *personalValues) addField(key, raw string) {
	v := fieldValue(raw)
	p.add(key, v)
	lower := strings.ToLower(key)
	switch {
	case strings.Contains(lower, "name") || key == "given" || key == "family":
		for _, w := range strings.Fields(v) {
			if utf8.RuneCountInString(w) >= 3 && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
				p.add(key+" (word)", w)
			}
		}
	case strings.Contains(lower, "date") || lower == "dob":
		p.add(key, strings.ReplaceAll(v, "/", "-"))
		p.add(key, strings.ReplaceAll(v, "-", "/"))
	}
}

// addJSON adds the personal fields of a JSON document (or of a value
// that marshals to one): FHIR Patients' names, birth dates and
// identifiers, mapped payload fields, contacts, IDA requests.
func (p *personalValues) addJSON(kind string, doc any) {
	var v any
	switch d := doc.(type) {
	case []byte:
		if json.Unmarshal(d, &v) != nil {
			return
		}
	default:
		data, err := json.Marshal(d)
		if err != nil || json.Unmarshal(data, &v) != nil {
			return
		}
	}
	p.walk(kind, "", v, false)
}

func (p *personalValues) walk(kind, key string, v any, patient bool) {
	switch x := v.(type) {
	case map[string]any:
		if x["resourceType"] == "Patient" || x["resourceType"] == "RelatedPerson" {
			patient = true
		}
		// A [{language, value}] element belongs to its parent's key.
		if _, ok := x["language"]; ok {
			if s, ok := x["value"].(string); ok && personalKey(key) {
				p.addField(key, s)
				return
			}
		}
		for k, child := range x {
			if patient && k == "identifier" {
				p.walk(kind, "nationalId", child, patient)
				continue
			}
			if key == "nationalId" && k == "value" {
				p.walk(kind, key, child, patient)
				continue
			}
			p.walk(kind, k, child, patient)
		}
	case []any:
		for _, e := range x {
			p.walk(kind, key, e, patient)
		}
	case string:
		if personalKey(key) {
			p.addField(key, x)
		}
	case float64:
		_ = x // numbers are not personal here
	}
}

// personalKey reports whether a field of that name holds personal data.
func personalKey(key string) bool {
	switch strings.ToLower(key) {
	case "given", "family", "fullname", "firstname", "firstnames", "middlename", "surname", "familyname",
		"guardianorparentname", "recipientfullname",
		"birthdate", "dateofbirth", "dob",
		"email", "recipientemail", "phone", "recipientphone", "phonenumber", "mobilenumber",
		"nationalid", "nationalidnumber", "nid", "uin", "vid", "individualid",
		"addressline1", "addressline2", "addressline3":
		return true
	}
	return false
}

// containsValue reports whether line holds v as a whole token: not as
// part of a longer word or number, and a date not as the date of a
// timestamp (…T12:00).
func containsValue(line, v string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], v)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(v)
		i = start + 1
		if start > 0 && isWordByte(line[start-1]) && isWordByte(v[0]) {
			continue
		}
		if end < len(line) && isWordByte(line[end]) && isWordByte(v[len(v)-1]) {
			continue
		}
		if end < len(line) && line[end] == 'T' && len(v) == 10 && v[4] == '-' {
			continue
		}
		// A number inside a decimal number ("636" in a duration of
		// 21.636 ms) is not the value.
		if start > 1 && line[start-1] == '.' && isDigit(line[start-2]) && isDigit(v[0]) {
			continue
		}
		if end+1 < len(line) && line[end] == '.' && isDigit(line[end+1]) && isDigit(v[len(v)-1]) {
			continue
		}
		return true
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// componentOf returns the first "component" attribute of a JSON log line:
// the one the harness gave the logger (the mediator's own sub-loggers may
// add another). JSON escapes quotes inside the message, so the first
// unescaped key is an attribute.
func componentOf(line string) string {
	const key = `,"component":"`
	i := strings.Index(line, key)
	if i < 0 {
		return ""
	}
	rest := line[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// withoutTime drops the line's own timestamp, which may share a date with
// someone's birth.
func withoutTime(line string) string {
	if strings.HasPrefix(line, `{"time":"`) {
		if i := strings.Index(line[len(`{"time":"`):], `"`); i >= 0 {
			return line[len(`{"time":"`)+i+1:]
		}
	}
	return line
}

// lockedBuffer is a log sink safe for concurrent writers and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// recordingProxy forwards requests to the mediator and keeps their bearer
// tokens and bodies.
type recordingProxy struct {
	mu     sync.Mutex
	proxy  *httputil.ReverseProxy
	toks   []string
	bodyOf map[string][][]byte // by path
}

func (p *recordingProxy) setTarget(target *url.URL) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
}

func (p *recordingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	p.mu.Lock()
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		p.toks = append(p.toks, tok)
	}
	if len(body) > 0 {
		if p.bodyOf == nil {
			p.bodyOf = map[string][][]byte{}
		}
		p.bodyOf[r.URL.Path] = append(p.bodyOf[r.URL.Path], body)
	}
	proxy := p.proxy
	p.mu.Unlock()
	if proxy == nil {
		http.Error(w, "no target yet", http.StatusServiceUnavailable)
		return
	}
	proxy.ServeHTTP(w, r)
}

func (p *recordingProxy) tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.toks)
}

func (p *recordingProxy) bodies(path string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.bodyOf[path])
}
