package pipeline

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"opencrvs-mosip/internal/bridge"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestChangedFields(t *testing.T) {
	cur := map[string]json.RawMessage{
		"fullName":    raw(`[{"language":"eng","value":"Ana Bo"}]`),
		"dateOfBirth": raw(`"2026/01/01"`),
		"gender":      raw(`[{"language":"eng","value":"Female"}]`),
	}
	next := map[string]json.RawMessage{
		"fullName":               raw(`[ {"language": "eng", "value": "Ana Bo"} ]`), // same, other spacing
		"dateOfBirth":            raw(`"2026/01/02"`),                               // changed
		"email":                  raw(`"a@b.org"`),                                  // new
		"phone":                  raw(`null`),                                       // nothing to send
		"birthCertificateNumber": raw(`"2026B1"`),                                   // tells the event
		"UIN":                    raw(`"1234567890"`),                               // the packet names the person itself
	}
	got := changedFields(cur, next)
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"dateOfBirth", "email"}) {
		t.Fatalf("changed = %v, want dateOfBirth and email", keys)
	}
	if len(changedFields(cur, cur)) != 0 {
		t.Errorf("the same fields changed something")
	}
	// The key follows the changes, not their order or spacing.
	a := correctionKey(bridge.EventBirth, "T1", got)
	b := correctionKey(bridge.EventBirth, "T1", map[string]json.RawMessage{"email": raw(`"a@b.org"`), "dateOfBirth": raw(` "2026/01/02" `)})
	if a != b {
		t.Errorf("keys differ for the same changes: %s %s", a, b)
	}
	if a == correctionKey(bridge.EventBirth, "T1", map[string]json.RawMessage{"email": raw(`"c@d.org"`)}) {
		t.Errorf("different changes share a key")
	}
}

func TestCurrentFieldsAndIdentityRef(t *testing.T) {
	reg := &bridge.Transaction{ID: "R", Kind: bridge.EventBirth, UIN: "7346597054", VID: "4759308162938475",
		Packet: bridge.Packet{Fields: map[string]json.RawMessage{"fullName": raw(`"A"`), "dateOfBirth": raw(`"2026/01/01"`)}}}
	history := []*bridge.Transaction{reg,
		{ID: "C1", Corrects: "R", State: bridge.StateConfirmed, Packet: bridge.Packet{Fields: map[string]json.RawMessage{"fullName": raw(`"B"`)}}},
		{ID: "C2", Corrects: "R", State: bridge.StateReported, Packet: bridge.Packet{Fields: map[string]json.RawMessage{"fullName": raw(`"X"`)}}},
	}
	cur := currentFields(reg, history)
	if string(cur["fullName"]) != `"B"` || string(cur["dateOfBirth"]) != `"2026/01/01"` {
		t.Errorf("current = %s %s; want the confirmed correction applied, the refused one not", cur["fullName"], cur["dateOfBirth"])
	}
	if string(reg.Packet.Fields["fullName"]) != `"A"` {
		t.Errorf("currentFields changed the registration's packet")
	}
	if f, v := identityRef(reg); f != "UIN" || v != "7346597054" {
		t.Errorf("birth: %s=%s, want the UIN MOSIP issued", f, v)
	}
	death := &bridge.Transaction{Kind: bridge.EventDeath, UIN: "ignored",
		Packet: bridge.Packet{Fields: map[string]json.RawMessage{"nationalIdNumber": raw(`"5823467190"`)}}}
	if f, v := identityRef(death); f != "nationalIdNumber" || v != "5823467190" {
		t.Errorf("death: %s=%s, want the national ID its packet named", f, v)
	}
	if f, _ := identityRef(&bridge.Transaction{Kind: bridge.EventBirth}); f != "" {
		t.Errorf("a birth without a national ID named %s", f)
	}
}
