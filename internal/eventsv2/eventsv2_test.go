package eventsv2

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

const birthDoc = `{
  "id": "0e1f0bd5-9a1d-4d1f-8a59-3c7e3a1b2c3d", "type": "birth", "trackingId": "BX3K9QP",
  "createdAt": "2025-06-01T10:00:00.000Z", "updatedAt": "2025-06-01T10:03:00.000Z",
  "actions": [
    {"id": "a1", "type": "CREATE", "status": "Accepted", "declaration": {}},
    {"id": "a2", "type": "DECLARE", "status": "Accepted", "declaration": {
      "child.name": {"firstname": "Chanda", "middlename": "Mutale", "surname": "Tembo"},
      "child.dob": "2025-05-30", "child.gender": "female",
      "child.placeOfBirth": "HEALTH_FACILITY", "child.birthLocation": "loc-1",
      "mother.name": {"firstname": "Mwila", "surname": "Tembo"}, "mother.dob": "1995-02-03",
      "mother.idType": "NATIONAL_ID", "mother.nid": "1234567890", "mother.verified": "verified",
      "mother.address": {"country": "FAR", "addressType": "DOMESTIC", "province": "p-1", "district": "d-1",
        "town": "Ibombo", "residentialArea": "Zone 2", "street": "Great North Road", "number": "12", "zipCode": "10101"},
      "father.detailsNotAvailable": true,
      "informant.relation": "MOTHER", "informant.email": "mwila@example.org", "informant.phoneNo": "+260971234567"
    }},
    {"id": "a3", "type": "VALIDATE", "status": "Rejected", "declaration": {"child.gender": "male"}},
    {"id": "a4", "type": "VALIDATE", "status": "Accepted", "declaration": {"child.dob": "2025-05-31T00:00:00.000Z"}},
    {"id": "a5", "type": "REGISTER", "status": "Requested", "declaration": {}}
  ]}`

func TestRecordOfABirth(t *testing.T) {
	t.Parallel()
	doc, err := Parse([]byte(birthDoc))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(doc)
	if err != nil {
		t.Fatal(err)
	}
	mother := bridge.Person{
		Name: bridge.Name{Given: []string{"Mwila"}, Family: "Tembo", Full: "Mwila Tembo"}, BirthDate: "1995-02-03",
		NationalID: "1234567890", Verification: "verified",
		Identifiers: []bridge.Identifier{{Type: "NATIONAL_ID", Value: "1234567890"}},
		Addresses: []bridge.Address{{Type: "PRIMARY_ADDRESS", Lines: []string{"12 Great North Road", "Zone 2"},
			City: "Ibombo", District: "d-1", State: "p-1", PostalCode: "10101", Country: "FAR"}},
	}
	if diff := cmp.Diff(&mother, rec.Mother); diff != "" {
		t.Errorf("mother (-want +got):\n%s", diff)
	}
	child := &bridge.Person{Name: bridge.Name{Given: []string{"Chanda", "Mutale"}, Family: "Tembo", Full: "Chanda Mutale Tembo"},
		BirthDate: "2025-05-31", Gender: "female"} // the rejected VALIDATE's answer is left out
	if diff := cmp.Diff(child, rec.Child); diff != "" {
		t.Errorf("child (-want +got):\n%s", diff)
	}
	if rec.Father != nil {
		t.Errorf("father %+v, want none (details not available)", rec.Father)
	}
	if rec.Informant == nil || rec.Informant.Relationship != "MOTHER" || rec.Informant.NationalID != "1234567890" || rec.Informant.Verification != "verified" {
		t.Errorf("informant %+v, want the mother", rec.Informant)
	}
	if rec.Event != bridge.EventBirth || rec.RecordID != doc.ID || rec.TrackingID != "BX3K9QP" || rec.RegistrationNumber != "" ||
		rec.Contact != (bridge.Contact{Email: "mwila@example.org", Phone: "+260971234567"}) {
		t.Errorf("record %+v", rec)
	}
	if rec.Answers["mother.verified"] != "verified" || rec.Answers["father.detailsNotAvailable"] != "true" {
		t.Errorf("answers %v", rec.Answers)
	}
	if a := doc.Action("a5"); a == nil || doc.Pending(a) != StatusRequested {
		t.Errorf("REGISTER action a5 not pending")
	}
}

func TestRecordOfADeathAndRegisteredEvents(t *testing.T) {
	t.Parallel()
	doc, err := Parse([]byte(`{"id":"e","type":"v2.death","trackingId":"D1","actions":[
	  {"id":"d","type":"DECLARE","status":"Accepted","declaration":{
	    "deceased.name":{"firstname":"Bwalya","surname":"Phiri"},"deceased.nid":"9876543210","deceased.dob":"1950-01-01",
	    "eventDetails.date":"2025-06-01","spouse.name":{"firstname":"Ruth","surname":"Phiri"},"spouse.verified":"authenticated",
	    "informant.relation":"SPOUSE"}},
	  {"id":"r","type":"REGISTER","status":"Requested"},
	  {"id":"c","type":"REGISTER","status":"Accepted","originalActionId":"r","registrationNumber":"2025D1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(doc)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Event != bridge.EventDeath || rec.Deceased == nil || rec.Deceased.NationalID != "9876543210" || rec.Deceased.DeathDate != "2025-06-01" {
		t.Errorf("deceased %+v", rec.Deceased)
	}
	if rec.Informant == nil || rec.Informant.Verification != "authenticated" || rec.Informant.Name.Full != "Ruth Phiri" {
		t.Errorf("informant %+v, want the spouse", rec.Informant)
	}
	if rec.RegistrationNumber != "2025D1" || doc.Pending(doc.Action("r")) != StatusAccepted {
		t.Errorf("registration number %q, pending %s; want the accepted REGISTER's", rec.RegistrationNumber, doc.Pending(doc.Action("r")))
	}
}

func TestParseRefusesBadDocuments(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ doc, field string }{
		{`{"type":"birth","actions":[{"id":"a","type":"CREATE"}]}`, "id"},
		{`{"id":"e","actions":[{"id":"a","type":"CREATE"}]}`, "type"},
		{`{"id":"e","type":"birth","actions":[]}`, "actions"},
		{`{"id":"e","type":"birth","actions":[{"type":"CREATE"}]}`, "actions[0].id"},
		{`{"id":"e","type":"birth","actions":{}}`, "actions"},
		{`[]`, ""},
	} {
		_, err := Parse([]byte(tt.doc))
		var be *bridge.Error
		if err == nil || bridge.ErrorCodeOf(err) != bridge.EInvalid {
			t.Errorf("%s: %v, want EInvalid", tt.doc, err)
			continue
		}
		if errors.As(err, &be) && be.Field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.doc, be.Field, tt.field)
		}
	}
	doc, _ := Parse([]byte(`{"id":"e","type":"tennis-club-membership","actions":[{"id":"a","type":"CREATE"}]}`))
	if _, err := Record(doc); bridge.ErrorCodeOf(err) != bridge.EUnsupported {
		t.Errorf("unknown event type: %v, want EUnsupported", err)
	}
}

func FuzzRecord(f *testing.F) {
	f.Add([]byte(birthDoc))
	f.Add([]byte(`{"id":"e","type":"death","actions":[{"id":"a","type":"DECLARE","declaration":{"deceased.name":"A B","x":[1]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			if bridge.ErrorCodeOf(err) != bridge.EInvalid {
				t.Fatalf("parse error %v is not EInvalid", err)
			}
			return
		}
		rec, err := Record(doc)
		if err == nil && rec.RecordID != doc.ID {
			t.Fatalf("record id %q, want %q", rec.RecordID, doc.ID)
		}
	})
}
