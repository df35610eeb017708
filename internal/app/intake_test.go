package app

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/bridge"
)

// problemAnswer is an RFC 9457 problem as the mediator writes it.
type problemAnswer struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

const sampleRecordID = "b3821b1b-0cf8-4bdc-b94e-ecbc9af4a30e" // incoming-birth-bundle.json

// editBundle returns the sample birth bundle changed by edit.
func editBundle(t *testing.T, edit func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(mustRead(t, "../../testdata/opencrvs-1.8/incoming-birth-bundle.json"), &b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entries(b map[string]any) []any { return b["entry"].([]any) }

func resource(b map[string]any, typ string) map[string]any {
	for _, e := range entries(b) {
		r := e.(map[string]any)["resource"].(map[string]any)
		if r["resourceType"] == typ {
			return r
		}
	}
	return nil
}

// foreignToken is a well-formed OpenCRVS-looking token signed by a key
// OpenCRVS does not have.
func foreignToken(t *testing.T, recordID string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"recordId": recordID, "scope": []string{"record.confirm-registration", "record.reject-registration"},
		"iss": "opencrvs:auth-service", "exp": time.Now().Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Every kind of bad input gets a clear problem answer, and nothing is stored.
func TestIntakeRefusesBadInput(t *testing.T) {
	s := startSystem(t, systemOptions{})
	valid := mustRead(t, "../../testdata/opencrvs-1.8/incoming-birth-bundle.json")
	good := bearer(s.token(t, sampleRecordID, time.Hour))
	mapped := func(edit func(p map[string]any)) []byte {
		p := map[string]any{
			"trackingId":    "BXXDBIC",
			"requestFields": map[string]any{"birthCertificateNumber": "2026BXXDBIC", "fullName": `[{"language":"eng","value":"Toni Sami"}]`},
			"metaInfo":      map[string]any{}, "audit": map[string]any{},
		}
		edit(p)
		b, _ := json.Marshal(p)
		return b
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		field  string
		detail string
	}{
		{"no token", nil, valid, 401, "Authorization", "bearer token"},
		{"not a bearer token", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, valid, 401, "Authorization", "bearer token"},
		{"expired token", bearer(s.token(t, sampleRecordID, -time.Minute)), valid, 401, "", "expired"},
		{"token signed by another key", bearer(foreignToken(t, sampleRecordID)), valid, 401, "", "signature"},
		{"garbage token", bearer("abc.def.ghi"), valid, 401, "", ""},
		{"token for another record", bearer(s.token(t, "another-record", time.Hour)), valid, 403, "", "another-record"},
		{"malformed JSON", good, []byte(`{"resourceType": "Bundle", "entry": [`), 400, "", "JSON"},
		{"not an object", good, []byte(`[1, 2, 3]`), 400, "", "JSON object"},
		{"neither shape", good, []byte(`{"hello": "world"}`), 400, "", "neither"},
		{"not a bundle", good, []byte(`{"resourceType": "Patient", "id": "x"}`), 400, "resourceType", "Bundle"},
		{"bundle without Composition", good, editBundle(t, func(b map[string]any) {
			var kept []any
			for _, e := range entries(b) {
				if e.(map[string]any)["resource"].(map[string]any)["resourceType"] != "Composition" {
					kept = append(kept, e)
				}
			}
			b["entry"] = kept
		}), 400, "entry", "Composition"},
		{"unknown event type", good, editBundle(t, func(b map[string]any) {
			c := resource(b, "Composition")
			c["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] = "marriage-declaration"
		}), 400, "type.coding[0].code", "marriage"},
		{"no tracking id", good, editBundle(t, func(b map[string]any) {
			delete(resource(b, "Composition"), "identifier")
			task := resource(b, "Task")
			var ids []any
			for _, id := range task["identifier"].([]any) {
				if !strings.HasSuffix(id.(map[string]any)["system"].(string), "tracking-id") {
					ids = append(ids, id)
				}
			}
			task["identifier"] = ids
		}), 400, "", "tracking id"},
		{"mapped without tracking id", good, mapped(func(p map[string]any) { delete(p, "trackingId") }), 400, "trackingId", ""},
		{"mapped without certificate numbers", good, mapped(func(p map[string]any) {
			p["requestFields"] = map[string]any{"fullName": "x"}
		}), 400, "requestFields", "neither"},
		{"mapped with a number for the certificate", good, mapped(func(p map[string]any) {
			p["requestFields"] = map[string]any{"birthCertificateNumber": 12}
		}), 400, "requestFields.birthCertificateNumber", "string"},
		{"mapped with a list for requestFields", good, []byte(`{"trackingId":"B1","requestFields":[1]}`), 400, "requestFields", "object"},
		{"JSON nested too deep", good, []byte(`{"resourceType":"Bundle","entry":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`), 400, "", "nests deeper"},
		{"oversize body", good, append([]byte(`{"resourceType":"Bundle","x":"`), append(bytes.Repeat([]byte("a"), int(s.cfg.MaxBodyBytes)), []byte(`"}`)...)...), 413, "", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problemAnswer
			st := do(t, "POST", s.mediatorURL+"/events/registration", tt.header, tt.body, &p)
			if st != tt.status || p.Status != tt.status {
				t.Fatalf("status %d (problem %+v), want %d", st, p, tt.status)
			}
			if !strings.HasPrefix(p.Type, "urn:opencrvs-mosip:problem:") || p.Title == "" || p.Detail == "" {
				t.Errorf("problem %+v lacks a type, title or detail", p)
			}
			if tt.field != "" && !strings.Contains(p.Field, tt.field) {
				t.Errorf("problem field %q, want it to name %q", p.Field, tt.field)
			}
			if !strings.Contains(strings.ToLower(p.Detail), strings.ToLower(tt.detail)) {
				t.Errorf("problem detail %q, want it to mention %q", p.Detail, tt.detail)
			}
		})
	}
	counts, err := s.mediator.Store().CountByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Errorf("bad input left transactions behind: %v", counts)
	}
}

// A mapped payload with both certificate numbers starts a birth and a death
// packet, as the Node mosip-api did; the same payload again starts nothing.
func TestIntakeMappedBirthAndDeath(t *testing.T) {
	s := startSystem(t, systemOptions{})
	tok := bearer(s.token(t, "record-1", time.Hour))
	body := map[string]any{
		"trackingId":   "BTEST01",
		"notification": map[string]any{"recipientFullName": "A B", "recipientEmail": "a@b.org", "recipientPhone": "0911111111"},
		"requestFields": map[string]any{
			"birthCertificateNumber": "2026BTEST01", "deathCertificateNumber": "2026DTEST01",
			"fullName": []map[string]string{{"language": "eng", "value": "Toni Sami"}}, "dateOfBirth": "2026/01/01",
			"nationalIdNumber": "5823467190",
		},
		"metaInfo": map[string]any{}, "audit": map[string]any{},
	}
	type answer struct {
		Transactions []struct {
			ID, Event, State, RegistrationNumber string
			Duplicate                            bool
		} `json:"transactions"`
	}
	var first, second answer
	if st := do(t, "POST", s.mediatorURL+"/events/registration", tok, body, &first); st != http.StatusAccepted {
		t.Fatalf("status %d", st)
	}
	if len(first.Transactions) != 2 || first.Transactions[0].Event != "birth" || first.Transactions[1].Event != "death" ||
		first.Transactions[0].RegistrationNumber != "2026BTEST01" || first.Transactions[1].RegistrationNumber != "2026DTEST01" {
		t.Fatalf("answer %+v, want a birth and a death transaction", first)
	}
	if st := do(t, "POST", s.mediatorURL+"/events/registration", tok, body, &second); st != http.StatusAccepted {
		t.Fatalf("resend: status %d", st)
	}
	for i, tr := range second.Transactions {
		if !tr.Duplicate || tr.ID != first.Transactions[i].ID {
			t.Errorf("resend answered %+v, want the existing transaction %s", tr, first.Transactions[i].ID)
		}
	}
	death, err := s.mediator.Store().TransactionWithPacket(t.Context(), first.Transactions[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := death.Packet.Fields["deathCertificateNumber"]; ok {
		t.Error("the death packet carries deathCertificateNumber, which MOSIP's ID schema refuses")
	}
	if _, ok := death.Packet.Fields["birthCertificateNumber"]; ok {
		t.Error("the death packet carries the birth certificate number")
	}
	if death.Packet.Process != bridge.ProcessDeath || death.Packet.Notification.Email != "a@b.org" {
		t.Errorf("death packet: process %s, notification %+v", death.Packet.Process, death.Packet.Notification)
	}

	// A death that names no national ID is registered without MOSIP: there
	// is nobody there to mark.
	delete(body["requestFields"].(map[string]any), "nationalIdNumber")
	delete(body["requestFields"].(map[string]any), "birthCertificateNumber")
	body["trackingId"] = "DTEST02"
	var third answer
	tok2 := bearer(s.token(t, "record-2", time.Hour))
	if st := do(t, "POST", s.mediatorURL+"/events/registration", tok2, body, &third); st != http.StatusAccepted || len(third.Transactions) != 1 {
		t.Fatalf("death without a national ID: status %d %+v", st, third)
	}
	if tr := third.Transactions[0]; tr.Event != "death" || tr.State != string(bridge.StateSkipped) {
		t.Errorf("death without a national ID: %+v, want SKIPPED", tr)
	}
}

// Two records with one tracking ID (two OpenCRVS instances sending to one
// mediator, say): the second is refused with a reason, not taken for a
// resend of the first, which would leave it unregistered for good.
func TestIntakeRefusesATrackingIDOfAnotherRecord(t *testing.T) {
	s := startSystem(t, systemOptions{})
	body := map[string]any{
		"trackingId":    "BTEST03",
		"notification":  map[string]any{"recipientFullName": "A B", "recipientEmail": "a@b.org", "recipientPhone": "0911111111"},
		"requestFields": map[string]any{"birthCertificateNumber": "2026BTEST03", "fullName": []map[string]string{{"language": "eng", "value": "Toni Sami"}}, "dateOfBirth": "2026/01/01"},
		"metaInfo":      map[string]any{}, "audit": map[string]any{},
	}
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.token(t, "record-3", time.Hour)), body, nil); st != http.StatusAccepted {
		t.Fatalf("first record: status %d", st)
	}
	// The same record again is a resend.
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.token(t, "record-3", time.Hour)), body, nil); st != http.StatusAccepted {
		t.Fatalf("resend of the first record: status %d", st)
	}
	var p problemAnswer
	if st := do(t, "POST", s.mediatorURL+"/events/registration", bearer(s.token(t, "record-4", time.Hour)), body, &p); st != http.StatusConflict {
		t.Fatalf("another record with the same tracking ID: status %d (%+v), want 409", st, p)
	}
	if !strings.Contains(p.Detail, "tracking ID BTEST03 already belongs to another record") || p.Field != "trackingId" {
		t.Errorf("problem %+v does not say the tracking ID is taken", p)
	}
	counts, err := s.mediator.Store().CountByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1 {
		t.Errorf("transactions by state %v, want the first record's one only", counts)
	}
}
