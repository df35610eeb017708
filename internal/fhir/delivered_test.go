package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// webhookBundle returns event.context[0] of a webhook sample in
// testdata/webhooks (raw payloads of OpenCRVS 2022, from
// mosip/mosip-opencrvs samples).
func webhookBundle(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Event struct {
			Context []json.RawMessage `json:"context"`
		} `json:"event"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Event.Context) != 1 {
		t.Fatalf("%s: %d bundles", name, len(d.Event.Context))
	}
	return d.Event.Context[0]
}

// The webhook samples have no Composition: Parse, which reads the
// event-registration document, refuses them as before; ParseDelivered
// reads them from the Task and the Patient carrying the registration
// number. Both use the old identifier form ("type": "<code>") and family
// names as arrays.
func TestParseDeliveredSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want *bridge.Record
	}{
		{"sampleDataFromOpencrvs1.json", &bridge.Record{
			Event: bridge.EventBirth, RecordID: "6c20af51-6af7-46a4-bd1e-07c44e0214e9", TrackingID: "B60QW1Y",
			RegistrationNumber: "2022B60QW1Y", Status: "REGISTERED",
			Child: &bridge.Person{
				Name:      bridge.Name{Given: []string{"One"}, Family: "Mosip", Full: "One Mosip"},
				BirthDate: "2022-03-07", Gender: "male",
				Identifiers: []bridge.Identifier{{Type: "BIRTH_REGISTRATION_NUMBER", Value: "2022B60QW1Y"}},
			},
			// The sample carries no mother Patient and no RelatedPerson: there
			// is no mother to read, and none is invented.
			Contact:      bridge.Contact{Phone: "+260999999999"},
			LastModified: mustTime(t, "2022-03-07T06:44:00.507Z"),
		}},
		{"sampleDataFromOpencrvsDeath1.json", &bridge.Record{
			Event: bridge.EventDeath, RecordID: "5620f23b-e67d-4ac6-af62-c3ac5d61c79e", TrackingID: "DJK5F5R",
			RegistrationNumber: "2022DJK5F5R", Status: "REGISTERED",
			Deceased: &bridge.Person{
				Name:      bridge.Name{Given: []string{"Frank"}, Family: "Spencer", Full: "Frank Spencer"},
				BirthDate: "1990-09-20", DeathDate: "2022-06-23", Gender: "male", NationalID: "2784528096",
				Identifiers: []bridge.Identifier{
					{Type: "NATIONAL_ID", Value: "2784528096"},
					{Type: "MOSIP_UINTOKEN", Value: "XXXXXXXX"},
					{Type: "DEATH_REGISTRATION_NUMBER", Value: "2022DJK5F5R"},
				},
				// The bundle carries no Location resources: ids stay ids.
				Addresses: []bridge.Address{{Type: "PRIMARY_ADDRESS", Lines: []string{"URBAN"},
					District: "b09122df-81f8-41a0-b5c6-68cba4145cab", State: "7dbf10a9-23d9-4038-8b1c-9f6547ab4877", Country: "FAR"}},
				Nationality: "FAR",
			},
			Contact:      bridge.Contact{Phone: "+260765656568"},
			LastModified: mustTime(t, "2022-08-03T20:14:22.367Z"),
		}},
	}
	for _, tt := range tests {
		data := webhookBundle(t, tt.file)
		if _, err := Parse(data); err == nil || !strings.Contains(err.Error(), "no Composition") {
			t.Errorf("%s: Parse = %v, want the error for a bundle without Composition", tt.file, err)
		}
		rec, err := ParseDelivered(data)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if diff := cmp.Diff(tt.want, rec); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.file, diff)
		}
	}
}

// asDelivered turns the event-registration sample into what the webhooks
// service sends: no Composition, the Task first, registered (registration
// number on the Task and, in form, on the child).
func asDelivered(t *testing.T, idForm func(value string) map[string]any, change func(b bundleJSON)) []byte {
	t.Helper()
	return edit(t, "incoming-birth-bundle.json", func(b bundleJSON) {
		task := resource(b, 1)
		task["identifier"] = append(task["identifier"].([]any), map[string]any{
			"system": "http://opencrvs.org/specs/id/birth-registration-number", "value": "2024BXXDBIC"})
		task["businessStatus"] = map[string]any{"coding": []any{map[string]any{"code": "REGISTERED"}}}
		if idForm != nil {
			resource(b, 4)["identifier"] = []any{idForm("2024BXXDBIC")}
		}
		b["entry"] = entries(b)[1:]
		if change != nil {
			change(b)
		}
	})
}

func TestParseDeliveredTaskBundle(t *testing.T) {
	t.Parallel()
	full, err := Parse(mustRead(t, "incoming-birth-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]func(string) map[string]any{
		"coding": func(v string) map[string]any {
			return map[string]any{"value": v, "type": map[string]any{"coding": []any{
				map[string]any{"system": "http://opencrvs.org/specs/identifier-type", "code": "BIRTH_REGISTRATION_NUMBER"}}}}
		},
		"coding not first": func(v string) map[string]any {
			return map[string]any{"value": v, "type": map[string]any{"coding": []any{
				map[string]any{"system": "urn:other", "code": "BRN"},
				map[string]any{"system": "http://opencrvs.org/specs/identifier-type", "code": "BIRTH_REGISTRATION_NUMBER"}}}}
		},
		"string": func(v string) map[string]any { return map[string]any{"value": v, "type": "BIRTH_REGISTRATION_NUMBER"} },
	}
	for name, form := range forms {
		rec, err := ParseDelivered(asDelivered(t, form, nil))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.RecordID != full.RecordID || rec.TrackingID != full.TrackingID || rec.RegistrationNumber != "2024BXXDBIC" || rec.Status != "REGISTERED" {
			t.Errorf("%s: record %s tracking %s number %s status %s", name, rec.RecordID, rec.TrackingID, rec.RegistrationNumber, rec.Status)
		}
		if rec.Child == nil || !cmp.Equal(rec.Child.Name, full.Child.Name) {
			t.Errorf("%s: child %+v, want %+v", name, rec.Child, full.Child)
		}
		if got := rec.Child.Identifiers; len(got) != 1 || got[0] != (bridge.Identifier{Type: "BIRTH_REGISTRATION_NUMBER", Value: "2024BXXDBIC"}) {
			t.Errorf("%s: child identifiers %+v", name, got)
		}
		// The informant is the mother, and says so: she is found through
		// the RelatedPerson. The father has no such link and is not guessed.
		if diff := cmp.Diff(full.Mother, rec.Mother); diff != "" {
			t.Errorf("%s: mother (-document +delivered):\n%s", name, diff)
		}
		if diff := cmp.Diff(full.Informant, rec.Informant); diff != "" {
			t.Errorf("%s: informant (-document +delivered):\n%s", name, diff)
		}
		if rec.Father != nil || rec.PlaceOfEvent != nil {
			t.Errorf("%s: father %+v, place %+v: want none without sections", name, rec.Father, rec.PlaceOfEvent)
		}
		if diff := cmp.Diff(full.Answers, rec.Answers); diff != "" {
			t.Errorf("%s: answers (-document +delivered):\n%s", name, diff)
		}
	}

	// Without the RelatedPerson's link nothing says which Patient is the
	// mother: none is taken.
	rec, err := ParseDelivered(asDelivered(t, forms["string"], func(b bundleJSON) {
		delete(resource(b, find(t, b, "RelatedPerson")), "patient")
	}))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Mother != nil || rec.Informant == nil || rec.Informant.Relationship != "MOTHER" || rec.Informant.Name.Full != "" {
		t.Errorf("unlinked informant: mother %+v, informant %+v; want no mother, an informant MOTHER without data", rec.Mother, rec.Informant)
	}

	// A bundle with a Composition is read as Parse reads it.
	doc := mustRead(t, "incoming-birth-bundle.json")
	rec, err = ParseDelivered(doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, rec); diff != "" {
		t.Errorf("document bundle (-Parse +ParseDelivered):\n%s", diff)
	}
}

func TestParseDeliveredErrors(t *testing.T) {
	t.Parallel()
	brn := func(v string) map[string]any { return map[string]any{"value": v, "type": "BIRTH_REGISTRATION_NUMBER"} }
	tests := []struct {
		name      string
		data      []byte
		code      bridge.ErrorCode
		field     string
		msgSubstr string
	}{
		{"no task", asDelivered(t, brn, func(b bundleJSON) { b["entry"] = entries(b)[1:] }), bridge.EInvalid, "entry", "neither a Composition nor a Task"},
		{"no focus", asDelivered(t, brn, func(b bundleJSON) { delete(resource(b, 0), "focus") }), bridge.EInvalid, "entry[0].resource.focus.reference", "names no Composition"},
		{"focus not a Composition", asDelivered(t, brn, func(b bundleJSON) {
			resource(b, 0)["focus"] = map[string]any{"reference": "Patient/x"}
		}), bridge.EInvalid, "entry[0].resource.focus.reference", "not a Composition reference"},
		{"no event code", asDelivered(t, brn, func(b bundleJSON) { delete(resource(b, 0), "code") }), bridge.EInvalid, "entry[0].resource.code.coding[0].code", "no event code"},
		{"event code of the wrong type", asDelivered(t, brn, func(b bundleJSON) { resource(b, 0)["code"] = "BIRTH" }), bridge.EInvalid, "entry[0].resource.code", "want an object"},
		{"marriage", asDelivered(t, brn, func(b bundleJSON) {
			resource(b, 0)["code"] = map[string]any{"coding": []any{map[string]any{"code": "MARRIAGE"}}}
		}), bridge.EUnsupported, "entry[0].resource.code.coding[0].code", "MARRIAGE"},
		{"no tracking id", asDelivered(t, brn, func(b bundleJSON) { resource(b, 0)["identifier"] = []any{} }), bridge.EInvalid, "entry[0].resource.identifier", "no tracking id"},
		{"no patient with the number", asDelivered(t, nil, nil), bridge.EInvalid, "entry", "no Patient carries a BIRTH_REGISTRATION_NUMBER"},
		{"another number", asDelivered(t, func(string) map[string]any { return brn("2023OTHER") }, nil), bridge.EInvalid, "entry", `one carries "2023OTHER"`},
		{"identifier type of the wrong kind", asDelivered(t, func(v string) map[string]any {
			return map[string]any{"value": v, "type": 7}
		}, nil), bridge.EInvalid, "entry[3].resource.identifier.type", "want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, err := ParseDelivered(tt.data)
			var be *bridge.Error
			if !errors.As(err, &be) {
				t.Fatalf("ParseDelivered = %+v, %v; want a *bridge.Error", rec, err)
			}
			if be.Code != tt.code || be.Field != tt.field || !strings.Contains(be.Message, tt.msgSubstr) {
				t.Errorf("error %q on %q: %q; want %q on %q containing %q", be.Code, be.Field, be.Message, tt.code, tt.field, tt.msgSubstr)
			}
		})
	}
}

// A death whose deceased carries no registration number is still read when
// exactly one Patient is marked deceased, and refused when two are.
func TestParseDeliveredDeceasedFallback(t *testing.T) {
	t.Parallel()
	var sample map[string]any
	if err := json.Unmarshal(webhookBundle(t, "sampleDataFromOpencrvsDeath1.json"), &sample); err != nil {
		t.Fatal(err)
	}
	deceased := resource(sample, 1)
	deceased["identifier"] = []any{}
	one, _ := json.Marshal(sample)
	rec, err := ParseDelivered(one)
	if err != nil || rec.Deceased == nil || rec.Deceased.Name.Full != "Frank Spencer" {
		t.Fatalf("one deceased Patient: %+v, %v", rec, err)
	}
	twin := map[string]any{"resource": map[string]any{"resourceType": "Patient", "id": "twin", "deceasedBoolean": true, "name": []any{map[string]any{"given": []any{"Other"}}}}}
	sample["entry"] = append(entries(sample), twin)
	two, _ := json.Marshal(sample)
	if _, err := ParseDelivered(two); err == nil || !strings.Contains(err.Error(), "exactly one Patient marked deceased") {
		t.Errorf("two deceased Patients: %v, want a refusal", err)
	}
}

// Identifier types are read in both forms wherever identifiers are read,
// and family names as strings or arrays, in document bundles too.
func TestParseIdentifierAndFamilyForms(t *testing.T) {
	t.Parallel()
	data := edit(t, "incoming-birth-bundle.json", func(b bundleJSON) {
		mother := resource(b, 3)
		mother["identifier"] = []any{
			map[string]any{"value": "P123", "type": "PASSPORT"},
			map[string]any{"value": "1234567893", "type": map[string]any{"coding": []any{
				map[string]any{"system": "urn:other", "code": "NID"},
				map[string]any{"system": "http://opencrvs.org/specs/identifier-type", "code": "NATIONAL_ID"}}}},
			map[string]any{"value": "x", "type": nil},
		}
		mother["name"] = []any{map[string]any{"use": "en", "given": []any{"Mom"}, "family": []any{"Sami", "Banda"}}}
		// The Composition's and the Task's identifiers may use the old
		// form too (their type is not read).
		resource(b, 0)["identifier"].(map[string]any)["type"] = "TRACKING"
	})
	rec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []bridge.Identifier{{Type: "PASSPORT", Value: "P123"}, {Type: "NATIONAL_ID", Value: "1234567893"}, {Type: "", Value: "x"}}
	if diff := cmp.Diff(want, rec.Mother.Identifiers); diff != "" {
		t.Errorf("identifiers (-want +got):\n%s", diff)
	}
	if rec.Mother.NationalID != "1234567893" {
		t.Errorf("national ID %q, want the identifier whose second coding is NATIONAL_ID", rec.Mother.NationalID)
	}
	if got, want := rec.Mother.Name, (bridge.Name{Given: []string{"Mom"}, Family: "Sami Banda", Full: "Mom Sami Banda"}); !cmp.Equal(got, want) {
		t.Errorf("name %+v, want %+v", got, want)
	}
	bad := edit(t, "incoming-birth-bundle.json", func(b bundleJSON) {
		resource(b, 3)["name"] = []any{map[string]any{"family": 5}}
	})
	if _, err := Parse(bad); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("family as a number: %v, want EInvalid", err)
	}
}

// FuzzParseDelivered checks that no input makes ParseDelivered panic and
// that what it accepts is a usable record.
func FuzzParseDelivered(f *testing.F) {
	for _, name := range []string{"sampleDataFromOpencrvs1.json", "sampleDataFromOpencrvsDeath1.json"} {
		f.Add(webhookBundle(f, name))
	}
	f.Add(mustRead(f, "incoming-death-bundle.json"))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Task","code":{"coding":[{"code":"DEATH"}]},"focus":{"reference":"Composition/c"},` +
		`"identifier":[{"system":"x-tracking-id","value":"T"}]}},{"resource":{"resourceType":"Patient","deceasedBoolean":true,"identifier":[{"type":"DEATH_REGISTRATION_NUMBER"}]}}]}`))
	// Found by this target: member names in another case (WithSubjectIdentifier).
	f.Add([]byte(`{"resourCeTYpe":"Bundle","entrY":[{"resourCe":{"resourCeTYpe":"Task","Code":{"Coding":[{"Code":"DEATH"}]},"foCus":{"referenCe":"Composition/0"},` +
		`"identifier":[{"sYstem":"-tracking-id","vAlue":"0"}]}},{"resourCE":{"resourCeTYpe":"Patient","identifier":[{"tYpe":"DEATH_REGISTRATION_NUMBER"}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParseDelivered(data)
		if err != nil {
			var be *bridge.Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v (%T) is not a *bridge.Error", err, err)
			}
			return
		}
		if !rec.Event.Valid() || rec.RecordID == "" || rec.TrackingID == "" {
			t.Fatalf("accepted an unusable record: event %q id %q tracking %q", rec.Event, rec.RecordID, rec.TrackingID)
		}
		// A document bundle may lack the subject's section; a Task bundle
		// is accepted only with the registered person.
		subject := rec.Child
		if rec.Event == bridge.EventDeath {
			subject = rec.Deceased
		}
		if subject == nil && !hasComposition(data) {
			t.Fatalf("accepted a Task bundle without the registered person")
		}
		// The identifier the OpenCRVS side adds is the one the MOSIP side
		// reads back, on the same person.
		out, err := WithSubjectIdentifier(data, "MOSIP_AID", "fuzz-aid")
		if errors.Is(err, errCaseVariants) {
			return // which of the two ParseDelivered read is not known
		}
		if err != nil {
			t.Fatalf("WithSubjectIdentifier refused a bundle ParseDelivered accepts: %v", err)
		}
		again, err := ParseDelivered(out)
		if err != nil {
			t.Fatalf("the bundle with the identifier added no longer parses: %v", err)
		}
		if subject == nil {
			if !bytes.Equal(out, data) {
				t.Fatalf("a bundle without the subject was changed")
			}
			return
		}
		got := again.Child
		if again.Event == bridge.EventDeath {
			got = again.Deceased
		}
		n := 0
		for _, id := range got.Identifiers {
			if id.Type == "MOSIP_AID" {
				n++
				if id.Value != "fuzz-aid" {
					t.Fatalf("subject's MOSIP_AID %q, want the one added", id.Value)
				}
			}
		}
		if n != 1 {
			t.Fatalf("subject has %d MOSIP_AID identifiers, want 1", n)
		}
	})
}

func hasComposition(data []byte) bool {
	var b struct {
		Entry []struct {
			Resource *struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(data, &b) != nil {
		return true // not decodable this way: say nothing
	}
	for _, e := range b.Entry {
		if e.Resource != nil && e.Resource.ResourceType == "Composition" {
			return true
		}
	}
	return false
}

// WithSubjectIdentifier puts the identifier on the Patient ParseDelivered
// reads as the subject, wherever it stands in the bundle, and replaces one
// of the same type in either form.
func TestWithSubjectIdentifier(t *testing.T) {
	t.Parallel()
	aidOf := func(p *bridge.Person) []string {
		var got []string
		for _, id := range p.Identifiers {
			if id.Type == "MOSIP_AID" {
				got = append(got, id.Value)
			}
		}
		return got
	}

	// A death without a registration number identifier: the deceased is
	// found by its deceased flag, after another Patient (the informant).
	var death map[string]any
	if err := json.Unmarshal(webhookBundle(t, "sampleDataFromOpencrvsDeath1.json"), &death); err != nil {
		t.Fatal(err)
	}
	resource(death, 1)["identifier"] = []any{}
	informant := map[string]any{"resource": map[string]any{"resourceType": "Patient", "id": "informant", "name": []any{map[string]any{"given": []any{"Ann"}}}}}
	death["entry"] = append([]any{entries(death)[0], informant}, entries(death)[1:]...)
	data, _ := json.Marshal(death)
	out, err := WithSubjectIdentifier(data, "MOSIP_AID", "10001100010000120250101000000")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ParseDelivered(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := aidOf(rec.Deceased); !cmp.Equal(got, []string{"10001100010000120250101000000"}) {
		t.Errorf("deceased's MOSIP_AID %v, want the one added", got)
	}
	var after map[string]any
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	if ids, ok := resource(after, 1)["identifier"]; ok {
		t.Errorf("the informant's Patient got identifiers %v, want none", ids)
	}

	// A birth whose child has a MOSIP_AID already (the old string form):
	// it is replaced, the registration number kept.
	var birth map[string]any
	if err := json.Unmarshal(webhookBundle(t, "sampleDataFromOpencrvs1.json"), &birth); err != nil {
		t.Fatal(err)
	}
	before, err := ParseDelivered(webhookBundle(t, "sampleDataFromOpencrvs1.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries(birth) {
		if r := resource(birth, i); r["resourceType"] == "Patient" {
			r["identifier"] = append(r["identifier"].([]any), map[string]any{"type": "MOSIP_AID", "value": "old"})
		}
	}
	data, _ = json.Marshal(birth)
	if out, err = WithSubjectIdentifier(data, "MOSIP_AID", "new"); err != nil {
		t.Fatal(err)
	}
	if rec, err = ParseDelivered(out); err != nil {
		t.Fatal(err)
	}
	if got := aidOf(rec.Child); !cmp.Equal(got, []string{"new"}) {
		t.Errorf("child's MOSIP_AID %v, want only the new one", got)
	}
	if rec.Child.Identifiers[0] != before.Child.Identifiers[0] {
		t.Errorf("child's first identifier %+v, want %+v kept", rec.Child.Identifiers[0], before.Child.Identifiers[0])
	}

	// Member names are matched as the parser matches them, without regard
	// to case (a fuzzed input found that the edit missed "entrY"); two
	// spellings of one member are refused, not guessed.
	odd := []byte(`{"resourceType":"Bundle","entrY":[{"resourcE":{"resourceType":"Task","code":{"coding":[{"code":"DEATH"}]},` +
		`"focus":{"reference":"Composition/c"},"identifier":[{"system":"x-tracking-id","value":"T"}]}},` +
		`{"Resource":{"resourceType":"Patient","deceasedBoolean":true,"IDENTIFIER":[{"type":"DEATH_REGISTRATION_NUMBER","value":"D1"}]}}]}`)
	if out, err = WithSubjectIdentifier(odd, "MOSIP_AID", "A2"); err != nil {
		t.Fatal(err)
	}
	if rec, err = ParseDelivered(out); err != nil {
		t.Fatal(err)
	}
	if got := aidOf(rec.Deceased); !cmp.Equal(got, []string{"A2"}) || len(rec.Deceased.Identifiers) != 2 {
		t.Errorf("identifiers %+v, want the registration number and MOSIP_AID A2", rec.Deceased.Identifiers)
	}
	twice := bytes.Replace(odd, []byte(`"deceasedBoolean"`), []byte(`"identifier":[],"deceasedBoolean"`), 1)
	if _, err := ParseDelivered(twice); err != nil {
		t.Fatal(err)
	}
	if _, err := WithSubjectIdentifier(twice, "MOSIP_AID", "A2"); !errors.Is(err, errCaseVariants) || bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("\"identifier\" and \"IDENTIFIER\": %v, want EInvalid naming both", err)
	}

	// A bundle ParseDelivered refuses is refused the same way.
	resource(death, 2)["deceasedBoolean"] = false
	delete(resource(death, 2), "deceasedDateTime")
	data, _ = json.Marshal(death)
	_, want := ParseDelivered(data)
	if _, err := WithSubjectIdentifier(data, "MOSIP_AID", "x"); err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("no subject: %v, want ParseDelivered's refusal %v", err, want)
	}
}
