package app

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/peer"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

// webhookSampleDirs hold OpenCRVS webhook deliveries (*.json) that must go
// through the OpenCRVS side's intake: the project's own, and the shared
// and held-out ones next to the repository when present.
var webhookSampleDirs = []string{"../fhir/testdata/webhooks", "../../testdata/webhooks", "../../../shared/testdata/webhooks"}

func webhookSamples(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range webhookSampleDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[f] = raw
		}
	}
	if len(out) < 2 {
		t.Fatalf("found %d webhook samples in %v, want at least the project's two", len(out), webhookSampleDirs)
	}
	return out
}

func postWebhook(t *testing.T, url string, body []byte, signature string) (int, map[string]any) {
	t.Helper()
	h := http.Header{}
	if signature != "" {
		h.Set("X-Hub-Signature", signature)
	}
	var out map[string]any
	st, err := call("POST", url+"/webhooks/opencrvs", h, body, &out)
	if err != nil && st == 0 {
		t.Fatal(err)
	}
	return st, out
}

// Every webhook sample (the old identifier form "type": "BIRTH_REGISTRATION_NUMBER"
// and type.coding) is accepted by the OpenCRVS side and reaches the MOSIP
// side under one AID; delivered again, it keeps its transaction.
func TestSplitWebhookSamplesGoThroughIntake(t *testing.T) {
	// The samples' informants did not authenticate, which the default
	// rules want: here every registered record is forwarded.
	def, err := os.ReadFile("../country/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules := regexp.MustCompile(`(?m)^  forward: >-\n(    .*\n)+`).ReplaceAllString(string(def), "  forward: \"true\"\n")
	rules = regexp.MustCompile(`(?m)^  forward: deceased.*$`).ReplaceAllString(rules, `  forward: deceased.nationalId != ""`)
	if rules == string(def) {
		t.Fatal("the default rules changed shape: update this test")
	}
	countryFile := filepath.Join(t.TempDir(), "country.yaml")
	if err := os.WriteFile(countryFile, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	forwardAll := func(c *Config) { c.CountryConfig = countryFile }
	s := startSplit(t, splitOptions{opencrvs: forwardAll, mosip: forwardAll})
	for name, raw := range webhookSamples(t) {
		st, out := postWebhook(t, s.ocSide.url, raw, opencrvs.SignWebhook([]byte(opencrvssim.DevSHASecret), raw))
		if st != http.StatusAccepted {
			t.Errorf("%s: answer %d %v, want 202", filepath.Base(name), st, out)
			continue
		}
		trs := out["transactions"].([]any)
		first := trs[0].(map[string]any)
		id := first["id"].(string)
		st, again := postWebhook(t, s.ocSide.url, raw, opencrvs.SignWebhook([]byte(opencrvssim.DevSHASecret), raw))
		if again2 := again["transactions"].([]any)[0].(map[string]any); st != http.StatusAccepted || again2["id"] != id || again2["duplicate"] != true {
			t.Errorf("%s delivered again: %d %v, want the same transaction %s as a duplicate", filepath.Base(name), st, again, id)
		}
		// The MOSIP side got it (under the same AID) and worked on it.
		var ms *bridge.Transaction
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
			if tr, err := s.mosipSide.m.Store().TransactionByPeerID(t.Context(), id); err == nil && tr.State != bridge.StateQueued {
				ms = tr
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if ms == nil || ms.ID != id {
			tr, err := s.ocSide.m.Store().Transaction(t.Context(), id)
			t.Errorf("%s: the MOSIP side has no transaction for %s past QUEUED (%+v); OpenCRVS side: %+v %v", filepath.Base(name), id, ms, tr, err)
		}
	}
}

// Deliveries that are not OpenCRVS's, or not for this mediator, change
// nothing: a wrong or missing signature, a body changed after signing, a
// topic not subscribed to, a body that is not a delivery.
func TestSplitWebhookRefusals(t *testing.T) {
	s := startSplit(t, splitOptions{})
	raw := webhookSamples(t)["../fhir/testdata/webhooks/sampleDataFromOpencrvs1.json"]
	secret := []byte(opencrvssim.DevSHASecret)
	certified := bytes.Replace(raw, []byte(`"BIRTH_REGISTERED"`), []byte(`"BIRTH_CERTIFIED"`), 1)
	tests := []struct {
		name      string
		body      []byte
		signature string
		want      int
	}{
		{"no signature", raw, "", http.StatusUnauthorized},
		{"another secret", raw, opencrvs.SignWebhook([]byte("not-the-secret"), raw), http.StatusUnauthorized},
		{"changed after signing", bytes.Replace(raw, []byte("2022"), []byte("2023"), 1), opencrvs.SignWebhook(secret, raw), http.StatusUnauthorized},
		{"sha1", raw, "sha1=" + strings.Repeat("ab", 20), http.StatusUnauthorized},
		{"unknown topic", certified, opencrvs.SignWebhook(secret, certified), http.StatusNoContent},
		{"not JSON", []byte("{not json"), opencrvs.SignWebhook(secret, []byte("{not json")), http.StatusBadRequest},
	}
	for _, tt := range tests {
		st, out := postWebhook(t, s.ocSide.url, tt.body, tt.signature)
		if st != tt.want {
			t.Errorf("%s: answer %d %v, want %d", tt.name, st, out, tt.want)
		}
		if st >= 400 && out["detail"] == nil && out["title"] == nil {
			t.Errorf("%s: answer %v is not a problem with a reason", tt.name, out)
		}
	}
	if n, err := s.ocSide.m.Store().CountByState(t.Context()); err != nil || len(n) != 0 {
		t.Errorf("transactions after refused deliveries: %v (%v), want none", n, err)
	}
}

// The MOSIP side's record endpoints refuse what did not come, fresh and
// whole, from the OpenCRVS side: no token, a token without the role, a
// signature of another key, a replay, a stale envelope, a ciphertext for
// another key, a record on the wrong endpoint. None is stored.
func TestSplitEnvelopeRefusals(t *testing.T) {
	s := startSplit(t, splitOptions{mosipSim: func(c *mosipsim.Config) {
		c.ClientRoles = map[string][]string{"mosip-regproc-client": {"OPENCRVS_MEDIATOR"}, "mosip-websub-client": {"REGISTRATION_PROCESSOR"}}
	}})
	payload := webhookSamples(t)["../fhir/testdata/webhooks/sampleDataFromOpencrvs1.json"]
	token := func(client string) string {
		a := mosip.NewAuthClient(mosip.AuthConfig{URL: s.mosipURL + mosipsim.PathAuth, ClientID: client, SecretKey: "abcdeABCDE123456", AppID: "regproc"})
		tok, err := a.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := token("mosip-regproc-client")
	oc := s.ocSide.cfg.Split
	sealer := &envelope.Sealer{Own: oc.OwnKey, Peer: oc.PeerKey, Protocol: envelope.V2}
	seal := func(sl *envelope.Sealer, id string) []byte {
		e, err := sl.Seal(id, payload)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(e)
		return b
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPeer, err := envelope.LoadPeerKey(filepath.Join(filepath.Dir(s.mosipSide.cfg.DatabasePath), "opencrvs-side.crt")) // a cert that is not the MOSIP side's
	if err != nil {
		t.Fatal(err)
	}
	post := func(path, tok string, body []byte) (int, map[string]any) {
		h := http.Header{}
		if tok != "" {
			h.Set("Cookie", "Authorization="+tok)
		}
		var out map[string]any
		st, err := call("POST", s.mosipSide.url+"/opencrvs/v1"+path, h, body, &out)
		if err != nil && st == 0 {
			t.Fatal(err)
		}
		return st, out
	}
	replayed := seal(sealer, "REPLAY-1")
	if st, out := post("/birth", good, replayed); st != http.StatusOK {
		t.Fatalf("a good envelope: %d %v", st, out)
	}
	tests := []struct {
		name, path, token string
		body              []byte
		want              int
	}{
		{"no token", "/birth", "", seal(sealer, "T-1"), http.StatusUnauthorized},
		{"a token without the role", "/birth", token("mosip-websub-client"), seal(sealer, "T-2"), http.StatusForbidden},
		{"a forged token", "/birth", good[:len(good)-4] + "AAAA", seal(sealer, "T-3"), http.StatusUnauthorized},
		{"signed by another key", "/birth", good, seal(&envelope.Sealer{Own: otherKey, Peer: oc.PeerKey}, "T-4"), http.StatusUnauthorized},
		{"replayed", "/birth", good, replayed, http.StatusConflict},
		{"stale", "/birth", good, seal(&envelope.Sealer{Own: oc.OwnKey, Peer: oc.PeerKey, Now: func() time.Time { return time.Now().Add(-time.Hour) }}, "T-5"), http.StatusBadRequest},
		{"encrypted to another key", "/birth", good, seal(&envelope.Sealer{Own: oc.OwnKey, Peer: otherPeer}, "T-6"), http.StatusBadRequest},
		{"a birth sent as a death", "/death", good, seal(sealer, "T-7"), http.StatusBadRequest},
		{"not an envelope", "/birth", good, []byte(`{"id":"x"}`), http.StatusBadRequest},
	}
	for _, tt := range tests {
		st, out := post(tt.path, tt.token, tt.body)
		if st != tt.want {
			t.Errorf("%s: answer %d %v, want %d", tt.name, st, out, tt.want)
		}
	}
	for _, id := range []string{"T-1", "T-2", "T-3", "T-4", "T-5", "T-6", "T-7"} {
		if tr, err := s.mosipSide.m.Store().TransactionByPeerID(t.Context(), id); err == nil {
			t.Errorf("refused envelope %s stored as transaction %s", id, tr.ID)
		}
	}
	if counts, _ := s.mosipSide.m.Store().CountByState(t.Context()); countAll(counts) != 1 {
		t.Errorf("MOSIP side transactions %v, want only the good envelope's", counts)
	}
}

func countAll(m map[bridge.State]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// The existing mediators' protocol (ENVELOPE_PROTOCOL=java-compat): records
// signed over the ciphertext only, results sealed as the Java MOSIP side
// seals them; a birth still gets its UIN token and a death marks the
// identity.
func TestSplitJavaCompatProtocol(t *testing.T) {
	s := startSplit(t, splitOptions{javaCompat: true})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if oc.UIN == "" || ms.UIN == "" {
		t.Errorf("UIN token %q, UIN %q: want both", oc.UIN, ms.UIN)
	}
	death := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": ms.UIN})
	s.waitState(t, s.ocSide, death.ID, bridge.StateConfirmed)

	// The Java MOSIP side's result (no id; signed over the plaintext, so
	// the same result sent twice is the same envelope) is matched by its
	// registration number and answered as done each time.
	tok, err := s.opencrvs.SystemToken(opencrvssim.DevSystemClient)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(map[string]string{"uinToken": oc.UIN, "opencrvsBRN": oc.RegistrationNumber})
	e, err := (&envelope.Sealer{Own: s.mosipSide.cfg.Split.OwnKey, Peer: s.mosipSide.cfg.Split.PeerKey, Protocol: envelope.LegacyResult}).Seal("", plain)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	for i := range 2 {
		var out map[string]any
		if st, err := call("POST", s.ocSide.url+"/birthReceiveNid", bearer(tok), body, &out); err != nil || st != http.StatusOK || out["outcome"] != "duplicate" || out["transactionId"] != oc.ID {
			t.Errorf("legacy result, post %d: %d %v %v, want 200, duplicate, transaction %s", i+1, st, out, err, oc.ID)
		}
	}
}

// The OpenCRVS side's /birthReceiveNid takes only the MOSIP side's sealed
// results, with an OpenCRVS token, for the record they name: a result for
// another record, of another key, without a token or for no record changes
// nothing; the same result again is answered as done.
func TestSplitResultRefusals(t *testing.T) {
	s := startSplit(t, splitOptions{})
	s.waitSubscribed(t)
	a := s.waitState(t, s.ocSide, s.sendWebhookRecord(t, map[string]any{"kind": "birth"}).ID, bridge.StateConfirmed)
	b := s.waitState(t, s.ocSide, s.sendWebhookRecord(t, map[string]any{"kind": "birth"}).ID, bridge.StateConfirmed)
	tok, err := s.opencrvs.SystemToken(opencrvssim.DevSystemClient)
	if err != nil {
		t.Fatal(err)
	}
	ms := s.mosipSide.cfg.Split
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	result := func(own *rsa.PrivateKey, id string, res peer.Result) []byte {
		plain, _ := json.Marshal(res)
		e, err := (&envelope.Sealer{Own: own, Peer: ms.PeerKey}).Seal(id, plain)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(e)
		return body
	}
	issued := func(tr *bridge.Transaction) peer.Result {
		return peer.Result{BRN: tr.RegistrationNumber, UINToken: "forged-token-123", AID: tr.ID, Event: bridge.EventBirth, Status: peer.ResultIssued}
	}
	tests := []struct {
		name, token string
		body        []byte
		want        int
	}{
		{"no token", "", result(ms.OwnKey, a.ID, issued(a)), http.StatusUnauthorized},
		{"a token OpenCRVS did not sign", tok[:len(tok)-6] + "AAAAAA", result(ms.OwnKey, a.ID, issued(a)), http.StatusUnauthorized},
		{"signed by another key", tok, result(other, a.ID, issued(a)), http.StatusUnauthorized},
		{"another record's result", tok, result(ms.OwnKey, a.ID, issued(b)), http.StatusConflict},
		{"no such transaction", tok, result(ms.OwnKey, "10001100040000999999999999999", issued(a)), http.StatusNotFound},
		{"a result again", tok, result(ms.OwnKey, a.ID, issued(a)), http.StatusOK},
	}
	for _, tt := range tests {
		var out map[string]any
		st, err := call("POST", s.ocSide.url+"/birthReceiveNid", bearer(tt.token), tt.body, &out)
		if err != nil && st == 0 {
			t.Fatal(err)
		}
		if st != tt.want {
			t.Errorf("%s: answer %d %v, want %d", tt.name, st, out, tt.want)
		}
		if st == http.StatusOK && out["outcome"] != "duplicate" {
			t.Errorf("%s: outcome %v, want duplicate", tt.name, out["outcome"])
		}
	}
	for _, tr := range []*bridge.Transaction{a, b} {
		got, err := s.ocSide.m.Store().Transaction(t.Context(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UIN != tr.UIN || got.State != bridge.StateConfirmed {
			t.Errorf("transaction %s: token %q state %s after the refused results, want %q CONFIRMED", tr.ID, got.UIN, got.State, tr.UIN)
		}
	}
}
