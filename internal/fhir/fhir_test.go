package fhir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

const testdata = "../../testdata/opencrvs-1.8"

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(t testing.TB, s string) *time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return &tm
}

// farAddress is the primary address the sample bundles give every adult:
// 16 empty lines, district and state as Location ids that the bundle
// resolves to Ibombo and Central.
var farAddress = []bridge.Address{{Type: "PRIMARY_ADDRESS", District: "Ibombo", State: "Central", Country: "FAR"}}

func nid(v string) []bridge.Identifier { return []bridge.Identifier{{Type: "NATIONAL_ID", Value: v}} }

func TestParseSamples(t *testing.T) {
	t.Parallel()
	mom := bridge.Person{
		Name:      bridge.Name{Given: []string{"Mom"}, Family: "Sami", Full: "Mom Sami"},
		BirthDate: "1990-01-01", NationalID: "1234567893", Identifiers: nid("1234567893"),
		Addresses: farAddress, Nationality: "FAR",
	}
	jane := bridge.Person{
		Name:      bridge.Name{Given: []string{"Jane"}, Family: "Doe", Full: "Jane Doe"},
		BirthDate: "1990-02-02", NationalID: "1234567890", Identifiers: nid("1234567890"),
		Addresses: farAddress, Nationality: "FAR",
	}
	spouse := bridge.Person{
		Name:      bridge.Name{Given: []string{"Sam"}, Family: "Wan", Full: "Sam Wan"},
		BirthDate: "1990-02-02", NationalID: "1234234233", Identifiers: nid("1234234233"),
		Addresses: farAddress, Nationality: "FAR",
	}
	tests := []struct {
		file string
		want *bridge.Record
	}{
		{"incoming-birth-bundle.json", &bridge.Record{
			Event: bridge.EventBirth, RecordID: "b3821b1b-0cf8-4bdc-b94e-ecbc9af4a30e",
			TrackingID: "BXXDBIC", Status: "WAITING_VALIDATION",
			Child: &bridge.Person{
				Name:      bridge.Name{Given: []string{"Toni"}, Family: "Sami", Full: "Toni Sami"},
				BirthDate: "2024-01-01", Gender: "male",
			},
			Mother:       &mom,
			Informant:    &bridge.Informant{Person: mom, Relationship: "MOTHER"},
			Contact:      bridge.Contact{Email: "mother@mother.com"},
			PlaceOfEvent: &bridge.Place{ID: "cf6136bf-0e15-4d87-be92-22669572384e", Name: "Chamakubi Health Post", Type: "HEALTH_FACILITY"},
			Answers:      map[string]string{"birth.mother.mother-view-group.motherIdType": "NATIONAL_ID"},
			LastModified: mustTime(t, "2024-10-31T14:09:24.107Z"),
		}},
		{"incoming-birth-bundle-mother-father.json", &bridge.Record{
			Event: bridge.EventBirth, RecordID: "be3d5c4a-3100-4501-80e3-d19d65b371d3",
			TrackingID: "BN6TQN5", Status: "WAITING_VALIDATION",
			Child: &bridge.Person{
				Name:      bridge.Name{Given: []string{"John"}, Family: "Doe", Full: "John Doe"},
				BirthDate: "2025-01-01", Gender: "male",
			},
			Mother: &jane,
			Father: &bridge.Person{
				Name:      bridge.Name{Given: []string{"John"}, Family: "Wick", Full: "John Wick"},
				BirthDate: "1992-02-02", NationalID: "1234512345", Identifiers: nid("1234512345"),
				Addresses: farAddress, Nationality: "FAR",
			},
			Informant:    &bridge.Informant{Person: jane, Relationship: "MOTHER"},
			Contact:      bridge.Contact{Email: "mother@mother.com"},
			PlaceOfEvent: &bridge.Place{ID: "0a5fbe15-407a-4679-9555-391c9732dad8", Name: "Chamakubi Health Post", Type: "HEALTH_FACILITY"},
			Answers: map[string]string{
				"birth.mother.mother-view-group.motherIdType": "NATIONAL_ID",
				"birth.father.father-view-group.fatherIdType": "NATIONAL_ID",
			},
			LastModified: mustTime(t, "2025-03-14T13:17:55.034Z"),
		}},
		{"incoming-death-bundle.json", &bridge.Record{
			Event: bridge.EventDeath, RecordID: "db72168c-a689-4845-9877-8dae2eb25932",
			TrackingID: "DYC3RFC", Status: "WAITING_VALIDATION",
			Deceased: &bridge.Person{
				Name:      bridge.Name{Given: []string{"Some"}, Family: "One", Full: "Some One"},
				BirthDate: "1990-01-01", DeathDate: "2024-12-02", Gender: "male",
				NationalID: "0000000001", Identifiers: nid("0000000001"),
				Addresses: farAddress, Nationality: "FAR",
			},
			Spouse:       &spouse,
			Informant:    &bridge.Informant{Person: spouse, Relationship: "SPOUSE"},
			Contact:      bridge.Contact{Email: "spouse@spouse.com"},
			PlaceOfEvent: &bridge.Place{ID: "944a3f01-a4ef-4133-b235-f2368bdba88f", Name: "Chamakubi Health Post", Type: "HEALTH_FACILITY"},
			Answers: map[string]string{
				"death.deceased.deceased-view-group.deceasedIdType": "NATIONAL_ID",
				"death.spouse.spouse-view-group.spouseIdType":       "NATIONAL_ID",
			},
			LastModified: mustTime(t, "2024-12-09T16:25:44.395Z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(mustRead(t, tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseInformantCopies checks that an informant who is the mother
// repeats her data without sharing it: changing one does not change the
// other (the country configuration fills each one's verification).
func TestParseInformantCopies(t *testing.T) {
	t.Parallel()
	rec, err := Parse(mustRead(t, "incoming-birth-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	rec.Informant.Verification = "verified"
	rec.Informant.Addresses[0].District = "changed"
	if rec.Mother.Verification != "" || rec.Mother.Addresses[0].District != "Ibombo" {
		t.Errorf("mother changed with the informant: %+v", rec.Mother)
	}
}

// bundleJSON is a generic form of a sample bundle that tests edit.
type bundleJSON = map[string]any

func edit(t *testing.T, file string, change func(b bundleJSON)) []byte {
	t.Helper()
	var b bundleJSON
	if err := json.Unmarshal(mustRead(t, file), &b); err != nil {
		t.Fatal(err)
	}
	change(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entries(b bundleJSON) []any { return b["entry"].([]any) }

func resource(b bundleJSON, i int) map[string]any {
	return entries(b)[i].(map[string]any)["resource"].(map[string]any)
}

// find returns the index of the first entry of a resource type.
func find(t *testing.T, b bundleJSON, typ string) int {
	t.Helper()
	for i := range entries(b) {
		if resource(b, i)["resourceType"] == typ {
			return i
		}
	}
	t.Fatalf("no %s in the bundle", typ)
	return -1
}

func section(b bundleJSON, code string) map[string]any {
	for _, s := range resource(b, 0)["section"].([]any) {
		sec := s.(map[string]any)
		if sec["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] == code {
			return sec
		}
	}
	return nil
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const birth = "incoming-birth-bundle.json"
	tests := []struct {
		name      string
		data      func(t *testing.T) []byte
		code      bridge.ErrorCode
		field     string
		msgSubstr string
	}{
		{"not JSON", func(*testing.T) []byte { return []byte("{\"resourceType\": ") }, bridge.EInvalid, "", "not valid JSON"},
		{"empty body", func(*testing.T) []byte { return nil }, bridge.EInvalid, "", "not valid JSON"},
		{"JSON array", func(*testing.T) []byte { return []byte(`[1,2]`) }, bridge.EInvalid, "", "want an object"},
		{"not a bundle", func(*testing.T) []byte { return []byte(`{"resourceType":"Patient"}`) }, bridge.EInvalid, "resourceType", `"Patient"`},
		{"no entries", func(*testing.T) []byte { return []byte(`{"resourceType":"Bundle","entry":[]}`) }, bridge.EInvalid, "entry", "no entries"},
		{"entry not an array", func(*testing.T) []byte { return []byte(`{"resourceType":"Bundle","entry":{}}`) }, bridge.EInvalid, "entry", "want an array"},
		{"entry field of the wrong type", func(*testing.T) []byte {
			return []byte(`{"resourceType":"Bundle","entry":[{"fullUrl":"a"},{"fullUrl":5}]}`)
		}, bridge.EInvalid, "entry[1].fullUrl", "is a JSON number, want a string"},
		{"resource not an object", func(*testing.T) []byte {
			return []byte(`{"resourceType":"Bundle","entry":[{"resource":"x"}]}`)
		}, bridge.EInvalid, "entry[0].resource", "want an object"},
		{"no composition", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) { b["entry"] = entries(b)[1:] })
		}, bridge.EInvalid, "entry", "no Composition"},
		{"composition without id", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) { delete(resource(b, 0), "id") })
		}, bridge.EInvalid, "entry[0].resource.id", "no id"},
		{"marriage", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) {
				resource(b, 0)["type"] = map[string]any{"coding": []any{map[string]any{"code": "marriage-declaration"}}}
			})
		}, bridge.EUnsupported, "entry[0].resource.type.coding[0].code", "marriage-declaration"},
		{"no document type", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) { delete(resource(b, 0), "type") })
		}, bridge.EInvalid, "entry[0].resource.type.coding[0].code", "no document type"},
		{"section reference does not resolve", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) {
				section(b, "mother-details")["entry"] = []any{map[string]any{"reference": "Patient/nobody"}}
			})
		}, bridge.EInvalid, "entry[0].resource.section[1].entry[0].reference", `"Patient/nobody" does not resolve`},
		{"section refers to the wrong type", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) {
				section(b, "child-details")["entry"] = []any{map[string]any{"reference": "Task/6c3a989e-81d1-4ccf-970b-b07de138d1d6"}}
			})
		}, bridge.EInvalid, "entry[0].resource.section[2].entry[0].reference", "want a Patient"},
		{"informant patient does not resolve", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) {
				resource(b, find(t, b, "RelatedPerson"))["patient"] = map[string]any{"reference": "Patient/gone"}
			})
		}, bridge.EInvalid, "entry[2].resource.patient.reference", `"Patient/gone" does not resolve`},
		{"no tracking id", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) {
				delete(resource(b, 0), "identifier")
				resource(b, find(t, b, "Task"))["identifier"] = []any{}
			})
		}, bridge.EInvalid, "entry[0].resource.identifier.value", "no tracking id"},
		{"patient name of the wrong type", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) { resource(b, 3)["name"] = "Mom Sami" })
		}, bridge.EInvalid, "entry[3].resource.name", "is a JSON string, want an array"},
		{"composition identifier is an array", func(t *testing.T) []byte {
			return edit(t, birth, func(b bundleJSON) { resource(b, 0)["identifier"] = []any{} })
		}, bridge.EInvalid, "entry[0].resource.identifier", "want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, err := Parse(tt.data(t))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", rec)
			}
			var be *bridge.Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v (%T) is not a *bridge.Error", err, err)
			}
			if be.Code != tt.code || be.Field != tt.field {
				t.Errorf("error code %q field %q, want %q %q (%v)", be.Code, be.Field, tt.code, tt.field, err)
			}
			if !strings.Contains(be.Message, tt.msgSubstr) {
				t.Errorf("message %q does not contain %q", be.Message, tt.msgSubstr)
			}
		})
	}
}

func TestParseTrackingIDFromComposition(t *testing.T) {
	t.Parallel()
	data := edit(t, "incoming-death-bundle.json", func(b bundleJSON) {
		resource(b, find(t, b, "Task"))["identifier"] = []any{
			map[string]any{"system": "http://opencrvs.org/specs/id/death-registration-number", "value": "2024DYC3RFC"},
		}
	})
	rec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.TrackingID, "DYC3RFC"; got != want {
		t.Errorf("TrackingID = %q, want %q (the Composition identifier)", got, want)
	}
	if got, want := rec.RegistrationNumber, "2024DYC3RFC"; got != want {
		t.Errorf("RegistrationNumber = %q, want %q", got, want)
	}
}

// TestParseReferences covers the ways OpenCRVS bundles refer to resources:
// absolute full URLs, *History copies with the same id, duplicates (first
// wins), urn:uuid full URLs, and versioned references.
func TestParseReferences(t *testing.T) {
	t.Parallel()
	data := edit(t, "incoming-birth-bundle.json", func(b bundleJSON) {
		es := entries(b)
		child := resource(b, 4)
		// A PatientHistory with the child's id placed first must be ignored,
		// and a later duplicate Patient with the same id must lose.
		history := map[string]any{"fullUrl": "/fhir/PatientHistory/x", "resource": map[string]any{
			"resourceType": "PatientHistory", "id": child["id"], "name": []any{map[string]any{"given": []any{"Old"}}},
		}}
		dup := map[string]any{"fullUrl": "/fhir/Patient/dup", "resource": map[string]any{
			"resourceType": "Patient", "id": child["id"], "name": []any{map[string]any{"given": []any{"Duplicate"}}},
		}}
		// The mother is found through an absolute reference with a version.
		mother := resource(b, 3)
		section(b, "mother-details")["entry"] = []any{map[string]any{
			"reference": "http://localhost:3447/fhir/Patient/" + mother["id"].(string) + "/_history/1",
		}}
		// The father is a urn:uuid full URL without an id.
		father := es[5].(map[string]any)
		father["fullUrl"] = "urn:uuid:5b0b8b4a-0000-4000-8000-000000000001"
		delete(father["resource"].(map[string]any), "id")
		father["resource"].(map[string]any)["active"] = true
		father["resource"].(map[string]any)["name"] = []any{
			map[string]any{"use": "fr", "given": []any{"Jean"}, "family": "Dupont"},
			map[string]any{"use": "en", "given": []any{" John ", "", "Paul"}, "family": "  Smith  Jones "},
		}
		section(b, "father-details")["entry"] = []any{map[string]any{"reference": "urn:uuid:5b0b8b4a-0000-4000-8000-000000000001"}}
		b["entry"] = append([]any{es[0], history}, append(es[1:], dup)...)
	})
	rec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Child.Name.Full, "Toni Sami"; got != want {
		t.Errorf("child name %q, want %q (first Patient with the id, History ignored)", got, want)
	}
	if got, want := rec.Mother.NationalID, "1234567893"; got != want {
		t.Errorf("mother NID %q, want %q", got, want)
	}
	if rec.Father == nil {
		t.Fatal("father not resolved through its urn:uuid full URL")
	}
	want := bridge.Name{Given: []string{"John", "Paul"}, Family: "Smith Jones", Full: "John Paul Smith Jones"}
	if diff := cmp.Diff(want, rec.Father.Name); diff != "" {
		t.Errorf("father name (-want +got):\n%s", diff)
	}
}

func TestParseDetails(t *testing.T) {
	t.Parallel()
	data := edit(t, "incoming-birth-bundle-mother-father.json", func(b bundleJSON) {
		// A legal guardian informant with a Patient of their own.
		rp := resource(b, find(t, b, "RelatedPerson"))
		rp["relationship"] = map[string]any{"coding": []any{map[string]any{"code": "LEGAL_GUARDIAN"}}}
		rp["patient"] = map[string]any{"reference": "Patient/guardian"}
		b["entry"] = append(entries(b), map[string]any{"fullUrl": "/fhir/Patient/guardian", "resource": map[string]any{
			"resourceType": "Patient", "id": "guardian",
			"name":       []any{map[string]any{"use": "en", "given": []any{"Gina"}, "family": "Guard"}},
			"identifier": []any{map[string]any{"value": "1111111111", "type": map[string]any{"coding": []any{map[string]any{"code": "NATIONAL_ID"}}}}},
			"address": []any{map[string]any{"type": "PRIMARY_ADDRESS", "line": []any{"", " 12 Main St ", "", "Plot 7"},
				"district": "unknown-district", "state": "a6e54c51-ef97-48d5-986e-55ba0542dbed", "postalCode": "10101"}},
			"deceasedDateTime": "2024-12-02T10:00:00+02:00",
		}})
		// Answers of every supported type, and a nested item.
		qr := resource(b, find(t, b, "QuestionnaireResponse"))
		qr["item"] = []any{
			map[string]any{"text": "birth.mother.mother-view-group.verified", "answer": []any{map[string]any{"valueString": "verified"}}},
			map[string]any{"text": "birth.mother.mother-view-group.verified", "answer": []any{map[string]any{"valueString": "failed"}}},
			map[string]any{"text": "b", "answer": []any{map[string]any{"valueBoolean": true}}},
			map[string]any{"text": "i", "answer": []any{map[string]any{"valueInteger": 42}}},
			map[string]any{"text": "c", "answer": []any{map[string]any{"valueCoding": map[string]any{"code": "YES"}}}},
			map[string]any{"text": "none", "answer": []any{}},
			map[string]any{"text": "group", "item": []any{
				map[string]any{"text": "inner", "answer": []any{map[string]any{"valueString": "deep"}}},
			}},
		}
		// Contact phone, and a registration number on the Task.
		task := resource(b, find(t, b, "Task"))
		task["extension"] = append(task["extension"].([]any),
			map[string]any{"url": "http://opencrvs.org/specs/extension/contact-person-phone-number", "valueString": "+260911111111"})
		task["identifier"] = append(task["identifier"].([]any),
			map[string]any{"system": "http://opencrvs.org/specs/id/birth-registration-number", "value": "2025BN6TQN5"})
	})
	rec, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	wantInformant := &bridge.Informant{Relationship: "LEGAL_GUARDIAN", Person: bridge.Person{
		Name:       bridge.Name{Given: []string{"Gina"}, Family: "Guard", Full: "Gina Guard"},
		DeathDate:  "2024-12-02",
		NationalID: "1111111111", Identifiers: nid("1111111111"),
		Addresses: []bridge.Address{{Type: "PRIMARY_ADDRESS", Lines: []string{"12 Main St", "Plot 7"},
			District: "unknown-district", State: "Central", PostalCode: "10101"}},
	}}
	if diff := cmp.Diff(wantInformant, rec.Informant); diff != "" {
		t.Errorf("informant (-want +got):\n%s", diff)
	}
	wantAnswers := map[string]string{
		"birth.mother.mother-view-group.verified": "verified",
		"b": "true", "i": "42", "c": "YES", "inner": "deep",
	}
	if diff := cmp.Diff(wantAnswers, rec.Answers); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if got, want := rec.Contact, (bridge.Contact{Email: "mother@mother.com", Phone: "+260911111111"}); got != want {
		t.Errorf("contact %+v, want %+v", got, want)
	}
	if got, want := rec.RegistrationNumber, "2025BN6TQN5"; got != want {
		t.Errorf("RegistrationNumber %q, want %q", got, want)
	}
}

func BenchmarkParse(b *testing.B) {
	data := mustRead(b, "incoming-birth-bundle-mother-father.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that what it
// accepts is a record the rest of the mediator can use.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"incoming-birth-bundle.json", "incoming-birth-bundle-mother-father.json", "incoming-death-bundle.json"} {
		f.Add(mustRead(f, name))
	}
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Composition","id":"c","type":{"coding":[{"code":"birth-declaration"}]},"identifier":{"value":"T"},"section":[{"code":{"coding":[{"code":"informant-details"}]},"entry":[{"reference":"RelatedPerson/r"}]}]}},{"resource":{"resourceType":"RelatedPerson","id":"r","patient":{"reference":"Patient/r"}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Parse(data)
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
		for _, p := range []*bridge.Person{rec.Child, rec.Mother, rec.Father, rec.Deceased, rec.Spouse} {
			if p != nil && strings.Contains(p.Name.Full, "  ") {
				t.Fatalf("full name %q has a double space", p.Name.Full)
			}
		}
	})
}
