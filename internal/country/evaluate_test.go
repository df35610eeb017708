package country

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

var testNow = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

func mustDefault(t testing.TB) *Config {
	t.Helper()
	c, err := Load("", deployment)
	if err != nil {
		t.Fatalf("Load default: %v", err)
	}
	return c
}

func mustBundle(t testing.TB, name string) *bridge.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/opencrvs-1.8", name))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := fhir.Parse(data)
	if err != nil {
		t.Fatalf("fhir.Parse %s: %v", name, err)
	}
	return rec
}

// text turns packet values into their JSON text, for readable diffs.
func text(m map[string]json.RawMessage) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func eng(s string) string { return `[{"language":"eng","value":"` + s + `"}]` }

func wantError(t *testing.T, err error, code bridge.ErrorCode, field, msg string) {
	t.Helper()
	var be *bridge.Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T), want a *bridge.Error", err, err)
	}
	if be.Code != code || be.Field != field || !strings.Contains(be.Message, msg) {
		t.Errorf("error code %q field %q message %q, want %q %q containing %q", be.Code, be.Field, be.Message, code, field, msg)
	}
}

// The sample bundles carry no verification answers: the default rules keep
// them all from MOSIP, and say why.
func TestDefaultOnSamples(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	tests := []struct {
		file, regNo, reason string
	}{
		{"incoming-birth-bundle.json", "2025BXXDBIC",
			"birth.forward is false: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 1), mother.authenticated is false, father.authenticated is false, informant.authenticated is false"},
		{"incoming-birth-bundle-mother-father.json", "2025BN6TQN5",
			"birth.forward is false: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 0), mother.authenticated is false, father.authenticated is false, informant.authenticated is false"},
		{"incoming-death-bundle.json", "2025DYC3RFC",
			"death.forward is false: deceased.nationalId != \"\" is true, spouse.authenticated is false, informant.authenticated is false"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			rec := mustBundle(t, tt.file)
			out, err := c.Evaluate(rec, testNow)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			want := &Outcome{Forward: false, Reason: tt.reason, RegistrationNumber: tt.regNo}
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if rec.RegistrationNumber != tt.regNo {
				t.Errorf("record registration number %q, want %q", rec.RegistrationNumber, tt.regNo)
			}
		})
	}
}

// With the verification answers the in-form authentication would record,
// the default forwards the sample bundles with these exact packets.
func TestDefaultForwarded(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	metaInfo := func(process, regNo string) map[string]string {
		return map[string]string{
			"metaData":                  `[{"label":"centerId","value":"10002"},{"label":"machineId","value":"10003"},{"label":"registrationType","value":"` + process + `"}]`,
			"operationsData":            `[{"label":"officerId","value":"opencrvs"}]`,
			"registrationId":            `"` + regNo + `"`,
			"creationDate":              `"20250315100000"`,
			"capturedRegisteredDevices": `[]`,
		}
	}
	audit := func(recordID, trackingID string) map[string]string {
		return map[string]string{
			"createdAt": `"2025-03-15T10:00:00.000Z"`, "actionTimeStamp": `"2025-03-15T10:00:00.000Z"`,
			"eventId": `"REG-EVT-066"`, "eventName": `"PACKET_CREATION_SUCCESS"`, "eventType": `"USER"`,
			"hostName": `"opencrvs-mosip"`, "hostIp": `"127.0.0.1"`,
			"applicationId": `"REG"`, "applicationName": `"REGISTRATION"`,
			"sessionUserId": `"opencrvs"`, "sessionUserName": `"opencrvs"`, "createdBy": `"opencrvs"`,
			"id": `"` + recordID + `"`, "idType": `"REGISTRATION_ID"`,
			"moduleName": `"Packet Handler"`, "moduleId": `"REG-MOD-117"`,
			"description": `"Packet created for OpenCRVS record ` + trackingID + `"`,
		}
	}
	tests := []struct {
		file         string
		answers      map[string]string
		reason       string
		process      string
		fields       map[string]string
		notification bridge.Notification
	}{
		{
			file:    "incoming-birth-bundle.json",
			answers: map[string]string{"birth.mother.mother-view-group.verified": "verified"},
			reason:  "birth.forward is true: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 1), mother.authenticated is true, father.authenticated is false, informant.authenticated is true",
			process: "CRVS_NEW",
			fields: map[string]string{
				"fullName": eng("Toni Sami"), "dateOfBirth": `"2024/01/01"`, "gender": eng("Male"),
				"guardianOrParentName": eng("Mom Sami"), "birthCertificateNumber": `"2025BXXDBIC"`,
				"addressLine1": eng("Ibombo"), "district": eng("Ibombo"), "province": eng("Central"),
				"email": `"mother@mother.com"`,
			},
			notification: bridge.Notification{Name: "Mom Sami", Email: "mother@mother.com"},
		},
		{
			file:    "incoming-birth-bundle-mother-father.json",
			answers: map[string]string{"birth.father.father-view-group.verified": "authenticated", "birth.mother.mother-view-group.verified": "failed"},
			reason:  "birth.forward is true: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 0), mother.authenticated is false, father.authenticated is true, informant.authenticated is false",
			process: "CRVS_NEW",
			fields: map[string]string{
				"fullName": eng("John Doe"), "dateOfBirth": `"2025/01/01"`, "gender": eng("Male"),
				"guardianOrParentName": eng("Jane Doe"), "birthCertificateNumber": `"2025BN6TQN5"`,
				"addressLine1": eng("Ibombo"), "district": eng("Ibombo"), "province": eng("Central"),
				"email": `"mother@mother.com"`,
			},
			notification: bridge.Notification{Name: "Jane Doe", Email: "mother@mother.com"},
		},
		{
			file:    "incoming-death-bundle.json",
			answers: map[string]string{"death.spouse.spouse-view-group.verified": "authenticated"},
			reason:  "death.forward is true: deceased.nationalId != \"\" is true, spouse.authenticated is true, informant.authenticated is true",
			process: "CRVS_DEATH",
			fields: map[string]string{
				"fullName": eng("Some One"), "dateOfBirth": `"1990/01/01"`, "gender": eng("Male"),
				"nationalIdNumber": `"0000000001"`, "deathDeclared": `"yes"`, "dateOfDeath": `"2024/12/02"`,
			},
			notification: bridge.Notification{Name: "Sam Wan", Email: "spouse@spouse.com"},
		},
	}
	uuid := regexp.MustCompile(`^"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			rec := mustBundle(t, tt.file)
			for k, v := range tt.answers {
				rec.Answers[k] = v
			}
			out, err := c.Evaluate(rec, testNow)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if !out.Forward || out.Reason != tt.reason {
				t.Fatalf("forward %v reason %q, want true %q", out.Forward, out.Reason, tt.reason)
			}
			pkt := out.Packet
			if pkt.Process != tt.process {
				t.Errorf("process %q, want %q", pkt.Process, tt.process)
			}
			if diff := cmp.Diff(tt.fields, text(pkt.Fields)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(metaInfo(tt.process, out.RegistrationNumber), text(pkt.MetaInfo)); diff != "" {
				t.Errorf("metaInfo (-want +got):\n%s", diff)
			}
			gotAudit := text(pkt.Audit)
			if !uuid.MatchString(gotAudit["uuid"]) {
				t.Errorf("audit uuid %s is not a version 5 UUID", gotAudit["uuid"])
			}
			delete(gotAudit, "uuid")
			if diff := cmp.Diff(audit(rec.RecordID, rec.TrackingID), gotAudit); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
			if pkt.Notification != tt.notification {
				t.Errorf("notification %+v, want %+v", pkt.Notification, tt.notification)
			}
			// A repeated mapping of the same record at the same time is
			// identical (a retried intake stores the same packet).
			again, err := c.Map(rec, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(pkt, again); diff != "" {
				t.Errorf("a second mapping differs (-first +second):\n%s", diff)
			}
			later, err := c.Map(rec, testNow.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if string(later.Audit["uuid"]) == string(pkt.Audit["uuid"]) {
				t.Error("the audit uuid did not change with the time")
			}
		})
	}
}

func person(given, family, born string) *bridge.Person {
	return &bridge.Person{Name: bridge.Name{Given: []string{given}, Family: family, Full: given + " " + family}, BirthDate: born}
}

func birthRecord(childBorn string, relationship string, answers map[string]string) *bridge.Record {
	return &bridge.Record{
		Event: bridge.EventBirth, RecordID: "r-1", TrackingID: "BTEST01",
		Child:     person("Ada", "Banda", childBorn),
		Mother:    person("Mary", "Banda", "1990-05-05"),
		Father:    person("Peter", "Banda", "1988-08-08"),
		Informant: &bridge.Informant{Relationship: relationship, Person: *person("Grace", "Phiri", "1970-01-01")},
		Answers:   answers,
	}
}

func at(date string) time.Time {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	return t.Add(12 * time.Hour)
}

// TestBirthRule covers every branch of the default birth rule.
func TestBirthRule(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	const (
		mother    = "birth.mother.mother-view-group.verified"
		father    = "birth.father.father-view-group.verified"
		informant = "birth.informant.informant-view-group.verified"
	)
	tests := []struct {
		name        string
		born, now   string
		informantOf string
		answers     map[string]string
		forward     bool
		age         string
	}{
		{"mother verified", "2020-06-01", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, true, "4"},
		{"father only", "2020-06-01", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{father: "authenticated", mother: "failed"}, true, "4"},
		{"informant only", "2020-06-01", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{informant: "verified"}, true, "4"},
		{"informant is the mother", "2020-06-01", "2025-03-15", "MOTHER", map[string]string{mother: "authenticated"}, true, "4"},
		{"nobody authenticated", "2020-06-01", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{mother: "failed", father: "pending", informant: ""}, false, "4"},
		{"no answers", "2020-06-01", "2025-03-15", "LEGAL_GUARDIAN", nil, false, "4"},
		{"day before the 10th birthday", "2015-03-16", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, true, "9"},
		{"10th birthday", "2015-03-15", "2025-03-15", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, false, "10"},
		{"born 29 February, 28 February of the 10th year", "2016-02-29", "2026-02-28", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, true, "9"},
		{"born 29 February, 1 March of the 10th year", "2016-02-29", "2026-03-01", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, false, "10"},
		{"born 29 February, a leap year", "2016-02-29", "2024-02-29", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, true, "8"},
		{"born 29 February, the day before in a leap year", "2016-02-29", "2024-02-28", "LEGAL_GUARDIAN", map[string]string{mother: "verified"}, true, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := birthRecord(tt.born, tt.informantOf, tt.answers)
			out, err := c.Evaluate(rec, at(tt.now))
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if out.Forward != tt.forward {
				t.Errorf("forward %v, want %v (%s)", out.Forward, tt.forward, out.Reason)
			}
			if want := "(ageInYears(child.birthDate) = " + tt.age + ")"; !strings.Contains(out.Reason, want) {
				t.Errorf("reason %q does not contain %q", out.Reason, want)
			}
			if (out.Packet != nil) != tt.forward {
				t.Errorf("packet %v with forward %v", out.Packet != nil, tt.forward)
			}
			for _, name := range []string{"Ada", "Banda", tt.born} {
				if strings.Contains(out.Reason, name) {
					t.Errorf("the reason %q shows personal data %q", out.Reason, name)
				}
			}
		})
	}
}

func TestVerificationFilled(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	rec := birthRecord("2020-06-01", "MOTHER", map[string]string{"birth.mother.mother-view-group.verified": " authenticated "})
	rec.Father.Verification = "verified" // set by an intake (1.9), no answer in the record
	if _, err := c.Evaluate(rec, testNow); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range []struct {
		name string
		p    *bridge.Person
	}{{"child", rec.Child}, {"mother", rec.Mother}, {"father", rec.Father}, {"informant", &rec.Informant.Person}} {
		got[p.name] = p.p.Verification + "/" + map[bool]string{true: "passed", false: "not passed"}[p.p.Authenticated]
	}
	want := map[string]string{
		"child": "/not passed", "mother": "authenticated/passed", "father": "verified/passed", "informant": "authenticated/passed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verification (-want +got):\n%s", diff)
	}
}

func TestVerificationConfigured(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
passed: [verified]
birth:
  verification:
    mother: {answers: [mother.qr, mother.esignet]}
    informant: {identifierType: MOSIP_PSUT_TOKEN_ID}
  forward: mother.authenticated || informant.authenticated
  fields: '{}'
`, Options{})
	tests := []struct {
		name     string
		answers  map[string]string
		token    bool
		forward  bool
		verified string
	}{
		{"first answer wins", map[string]string{"mother.qr": "verified", "mother.esignet": "failed"}, false, true, "verified"},
		{"second answer when the first is empty", map[string]string{"mother.qr": "", "mother.esignet": "verified"}, false, true, "verified"},
		{"authenticated does not count here", map[string]string{"mother.esignet": "authenticated"}, false, false, "authenticated"},
		{"E-Signet token on the informant", nil, true, false, ""},
	}
	for _, tt := range tests {
		rec := birthRecord("2020-01-01", "LEGAL_GUARDIAN", tt.answers)
		if tt.token {
			rec.Informant.Identifiers = []bridge.Identifier{{Type: "MOSIP_PSUT_TOKEN_ID", Value: "psut"}}
		}
		out, err := c.Evaluate(rec, testNow)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.Forward != tt.forward || rec.Mother.Verification != tt.verified {
			t.Errorf("%s: forward %v mother %q, want %v %q", tt.name, out.Forward, rec.Mother.Verification, tt.forward, tt.verified)
		}
		if tt.token && rec.Informant.Verification != "authenticated" {
			t.Errorf("%s: informant verification %q, want authenticated", tt.name, rec.Informant.Verification)
		}
	}
}

func deathRecord(relationship string, answers map[string]string, spouse bool) *bridge.Record {
	rec := &bridge.Record{
		Event: bridge.EventDeath, RecordID: "d-1", TrackingID: "DTEST01",
		Deceased:  &bridge.Person{Name: bridge.Name{Full: "Old Man"}, BirthDate: "1940-01-01", DeathDate: "2025-01-02", NationalID: "1234512345"},
		Informant: &bridge.Informant{Relationship: relationship, Person: *person("Son", "Man", "1970-01-01")},
		Answers:   answers,
	}
	if spouse {
		rec.Spouse = person("Old", "Woman", "1945-01-01")
	}
	return rec
}

func TestDeathRule(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	const (
		spouse    = "death.spouse.spouse-view-group.verified"
		informant = "death.informant.informant-view-group.verified"
	)
	tests := []struct {
		name    string
		rec     *bridge.Record
		forward bool
		reason  string
	}{
		{"spouse authenticated", deathRecord("SON", map[string]string{spouse: "authenticated"}, true), true,
			"death.forward is true: deceased.nationalId != \"\" is true, spouse.authenticated is true, informant.authenticated is false"},
		{"informant authenticated, no spouse", deathRecord("SON", map[string]string{informant: "verified"}, false), true,
			"death.forward is true: deceased.nationalId != \"\" is true, spouse.authenticated is false, informant.authenticated is true"},
		{"the spouse informs", deathRecord("SPOUSE", map[string]string{spouse: "verified"}, true), true,
			"death.forward is true: deceased.nationalId != \"\" is true, spouse.authenticated is true, informant.authenticated is true"},
		{"nobody", deathRecord("SON", map[string]string{spouse: "failed", informant: "pending"}, true), false,
			"death.forward is false: deceased.nationalId != \"\" is true, spouse.authenticated is false, informant.authenticated is false"}, {"no national ID: MOSIP has nobody to mark", func() *bridge.Record {
			r := deathRecord("SON", map[string]string{spouse: "authenticated"}, true)
			r.Deceased.NationalID = ""
			return r
		}(), false,
			"death.forward is false: deceased.nationalId != \"\" is false, spouse.authenticated is true, informant.authenticated is false"},
	}
	for _, tt := range tests {
		out, err := c.Evaluate(tt.rec, testNow)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if out.Forward != tt.forward || out.Reason != tt.reason {
			t.Errorf("%s: forward %v reason %q, want %v %q", tt.name, out.Forward, out.Reason, tt.forward, tt.reason)
		}
	}
}

func TestTimeZone(t *testing.T) {
	t.Parallel()
	zoned := mustParse(t, "timeZone: Africa/Lusaka\nbirth:\n  forward: ageInYears(child.birthDate) < 10\n  fields: '{}'\n", Options{})
	utc := mustParse(t, "birth:\n  forward: ageInYears(child.birthDate) < 10\n  fields: '{}'\n", Options{})
	// 23:30 UTC on 28 February is already 1 March in Lusaka (UTC+2): the
	// child turned 10 there.
	now := time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		c       *Config
		forward bool
	}{{zoned, false}, {utc, true}} {
		rec := birthRecord("2016-03-01", "MOTHER", nil)
		out, err := tt.c.Evaluate(rec, now)
		if err != nil {
			t.Fatal(err)
		}
		if out.Forward != tt.forward {
			t.Errorf("%s: forward %v, want %v (%s)", tt.c.loc, out.Forward, tt.forward, out.Reason)
		}
	}
	// New Year's Eve 23:30 UTC is next year in Lusaka: so is the number.
	for _, tt := range []struct {
		c     *Config
		regNo string
	}{{zoned, "2026BTEST01"}, {utc, "2025BTEST01"}} {
		rec := birthRecord("2020-01-01", "MOTHER", nil)
		out, err := tt.c.Evaluate(rec, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if out.RegistrationNumber != tt.regNo {
			t.Errorf("%s: registration number %q, want %q", tt.c.loc, out.RegistrationNumber, tt.regNo)
		}
	}
}

func TestRegistrationNumber(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	answers := map[string]string{"birth.mother.mother-view-group.verified": "verified"}

	fromTask := mustBundle(t, "incoming-birth-bundle.json")
	fromTask.RegistrationNumber = "2024BXXDBIC"
	fromTask.Answers = answers
	out, err := c.Evaluate(fromTask, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.RegistrationNumber, "2024BXXDBIC"; got != want {
		t.Errorf("registration number %q, want OpenCRVS's %q", got, want)
	}
	if got, want := string(out.Packet.Fields["birthCertificateNumber"]), `"2024BXXDBIC"`; got != want {
		t.Errorf("birthCertificateNumber %s, want %s", got, want)
	}
	if got, want := string(out.Packet.MetaInfo["registrationId"]), `"2024BXXDBIC"`; got != want {
		t.Errorf("registrationId %s, want %s", got, want)
	}

	generated := mustBundle(t, "incoming-birth-bundle.json")
	generated.Answers = answers
	if out, err = c.Evaluate(generated, testNow); err != nil {
		t.Fatal(err)
	}
	if got, want := out.RegistrationNumber, "2025BXXDBIC"; got != want {
		t.Errorf("generated registration number %q, want %q", got, want)
	}

	custom := mustParse(t, "registrationNumber: 'B-{year}-{trackingId}-{recordId}'\nbirth: {forward: false, fields: '{}'}\n", Options{})
	if out, err = custom.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow); err != nil {
		t.Fatal(err)
	}
	if got, want := out.RegistrationNumber, "B-2025-BTEST01-r-1"; got != want {
		t.Errorf("custom registration number %q, want %q", got, want)
	}

	noTracking := birthRecord("2020-01-01", "MOTHER", nil)
	noTracking.TrackingID = ""
	_, err = c.Evaluate(noTracking, testNow)
	wantError(t, err, bridge.EInvalid, "trackingId", "no tracking id")
}

func TestRuleRuntime(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	noChild := birthRecord("", "MOTHER", nil)
	noChild.Child = nil
	_, err := c.Evaluate(noChild, testNow)
	wantError(t, err, bridge.EInvalid, "birth.forward", "the forwarding rule failed: ageInYears: the date is empty")

	badDate := birthRecord("01/02/2020", "MOTHER", nil)
	_, err = c.Evaluate(badDate, testNow)
	wantError(t, err, bridge.EInvalid, "birth.forward", "ageInYears: the date is not YYYY-MM-DD")
	if strings.Contains(err.Error(), "01/02/2020") {
		t.Errorf("the error %q shows the date of birth", err)
	}

	// Missing persons are values with present false: rules do not fail.
	nilSafe := mustParse(t, `
vars: {minAge: "0"}
birth:
  forward: |
    !father.present && father.name.full == "" && len(father.identifiers) == 0
    && informant.relationship == "" && !placeOfEvent.present && vars.minAge == "0"
    && yearsBetween(mother.birthDate, today) > 30 && today == "2025-03-15"
  fields: '{}'
`, Options{})
	rec := birthRecord("2020-01-01", "", nil)
	rec.Father, rec.Informant = nil, nil
	out, err := nilSafe.Evaluate(rec, testNow)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if !out.Forward {
		t.Errorf("forward false: %s", out.Reason)
	}
	want := `birth.forward is true: father.present is false, father.name.full == "" is true, ` +
		`len(father.identifiers) == 0 is true (len(father.identifiers) = 0), informant.relationship == "" is true, ` +
		`placeOfEvent.present is false, vars.minAge == "0" is true, ` +
		`yearsBetween(mother.birthDate, today) > 30 is true (yearsBetween(mother.birthDate, today) = 34), today == "2025-03-15" is true`
	if out.Reason != want {
		t.Errorf("reason\n%s\nwant\n%s", out.Reason, want)
	}
}

func TestFullYears(t *testing.T) {
	t.Parallel()
	tests := []struct {
		born, at string
		want     int
	}{
		{"2016-02-29", "2017-02-28", 0},
		{"2016-02-29", "2017-03-01", 1},
		{"2016-02-29", "2020-02-28", 3},
		{"2016-02-29", "2020-02-29", 4},
		{"2000-12-31", "2001-12-30", 0},
		{"2000-12-31", "2001-12-31", 1},
		{"2025-03-15", "2025-03-15", 0},
		{"2026-01-01", "2025-01-01", -1},
	}
	for _, tt := range tests {
		got, err := yearsBetween(tt.born, tt.at)
		if err != nil || got != tt.want {
			t.Errorf("yearsBetween(%s, %s) = %d, %v; want %d", tt.born, tt.at, got, err, tt.want)
		}
	}
}

// mappingConfig is a birth configuration whose fields program a test sets.
func mappingConfig(t *testing.T, fields string) *Config {
	t.Helper()
	return mustParse(t, "jq: |\n  def shout: ascii_upcase;\nbirth:\n  forward: 'true'\n  fields: |\n"+indent(fields, "    ")+
		"  notification: '{name: .informant.name.full, phone: null}'\n", Options{})
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields string
		want   map[string]string
		field  string // of the expected error
		msg    string
	}{
		{name: "null and empty values are left out",
			fields: `{fullName: (.child.name.full | shout | mosipText), phone: null, email: "", addressLine2: (.nothing | mosipText), gender: (.child.gender | titleCase | mosipText), selectedHandles: ["nationalIdNumber"], deceasedStatus: false}`,
			want:   map[string]string{"fullName": eng("ADA BANDA"), "gender": eng("Female"), "selectedHandles": `["nationalIdNumber"]`, "deceasedStatus": `false`}},
		{name: "helpers", fields: `{dateOfBirth: (.child.birthDate | mosipDate), guardianOrParentName: (firstNonEmpty(.nobody.name.full, "", .father.name.full) | mosipText), introducerName: ({b: 1, a: "x"} | labelled | tojson | mosipText)}`,
			want: map[string]string{"dateOfBirth": `"2020/06/01"`, "guardianOrParentName": eng("Peter Banda"), "introducerName": eng(`[{\"label\":\"a\",\"value\":\"x\"},{\"label\":\"b\",\"value\":1}]`)}},
		{name: "runtime jq error", fields: `{fullName: (.child.name.full | keys)}`,
			field: "birth.fields", msg: "the jq program failed: keys cannot be applied to: string"},
		{name: "integrator's error", fields: `if .child.nationalId == null then error("the child has no national ID") else {} end`,
			field: "birth.fields", msg: "the jq program failed: the child has no national ID"},
		{name: "not an object", fields: `.child.name.full`, field: "birth.fields", msg: "gave a string, want an object"},
		{name: "two objects", fields: `{}, {}`, field: "birth.fields", msg: "more than one value"},
		{name: "nothing", fields: `empty`, field: "birth.fields", msg: "gave no value"},
		{name: "not a schema field", fields: `{fullname: (.child.name.full | mosipText)}`,
			field: "birth.fields.fullname", msg: `"fullname" is not a field of the MOSIP ID schema`},
		{name: "simple type given as a string", fields: `{fullName: .child.name.full}`,
			field: "birth.fields.fullName", msg: "must be a non-empty [{language, value}] list (use mosipText), got a string"},
		{name: "string given as a list", fields: `{dateOfBirth: (.child.birthDate | mosipText)}`,
			field: "birth.fields.dateOfBirth", msg: "must be a string, got an array"},
		{name: "validator in a simple type", fields: `{fullName: ("A" | mosipText)}`,
			field: "birth.fields.fullName", msg: "field fullName does not match the ID schema validator ^.{3,50}$"},
		{name: "date validator", fields: `{dateOfBirth: .child.birthDate}`,
			field: "birth.fields.dateOfBirth", msg: "does not match"},
		{name: "helper on a number", fields: `{dateOfBirth: (12 | mosipDate)}`,
			field: "birth.fields", msg: "mosipDate: want a string, got a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mappingConfig(t, tt.fields)
			rec := birthRecord("2020-06-01", "MOTHER", nil)
			rec.Child.Gender = "FEMALE"
			out, err := c.Evaluate(rec, testNow)
			if tt.msg != "" {
				wantError(t, err, bridge.EInvalid, tt.field, tt.msg)
				if err != nil && (strings.Contains(err.Error(), "Ada") || strings.Contains(err.Error(), "call-me")) {
					t.Errorf("the error %q shows the record's data", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tt.want, text(out.Packet.Fields)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if got, want := out.Packet.Notification, (bridge.Notification{Name: "Grace Phiri"}); got != want {
				t.Errorf("notification %+v, want %+v", got, want)
			}
		})
	}
}

func TestMappingTimeLimit(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "birth:\n  forward: 'true'\n  fields: 'last(repeat(1)) | {}'\n", Options{})
	c.jqLimit, c.jqSlowLimit = 50*time.Millisecond, 100*time.Millisecond
	_, err := c.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow)
	wantError(t, err, bridge.EInvalid, "birth.fields", "the jq program failed: took too long (is there a loop?)")
}

// A busy machine can stretch a good mapping past the time limit: it is run
// again with the longer limit before it counts as a loop.
func TestMappingTimeLimitRetriesSlowRecords(t *testing.T) {
	t.Parallel()
	// The program ends, but not within a nanosecond: its first run always
	// runs out of time.
	c := mustParse(t, "birth:\n  forward: 'true'\n  fields: '[range(20000)] | {fullName: [{language: \"eng\", value: (length | tostring)}]}'\n", Options{})
	c.jqLimit, c.jqSlowLimit = time.Nanosecond, time.Minute
	out, err := c.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow)
	if err != nil {
		t.Fatalf("a mapping that ends within the second limit failed: %v", err)
	}
	if got := string(out.Packet.Fields["fullName"]); got != `[{"language":"eng","value":"20000"}]` {
		t.Errorf("fullName %s, want the count 20000", got)
	}
	c.jqSlowLimit = time.Nanosecond
	_, err = c.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow)
	wantError(t, err, bridge.EInvalid, "birth.fields", "the jq program failed: took too long (is there a loop?)")
}

func TestNotificationErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ program, field, msg string }{
		{`{recipient: .informant.name.full}`, "birth.notification.recipient", "unknown key (want name, email, phone)"},
		{`{name: 42}`, "birth.notification.name", "want a string, got a number"},
	} {
		c := mustParse(t, "birth:\n  forward: 'true'\n  fields: '{}'\n  notification: '"+tt.program+"'\n", Options{})
		_, err := c.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow)
		wantError(t, err, bridge.EInvalid, tt.field, tt.msg)
	}
}

func TestVarsAndEvents(t *testing.T) {
	t.Parallel()
	yaml := "vars: {officerId: from-file, other: x}\nbirth:\n  forward: vars.officerId == \"registrar-7\"\n  fields: '{}'\n  metaInfo: '{officer: $officerId, other: $other, center: $centerId, process: $process, year: $year, today: $today, language: $language}'\n"
	c := mustParse(t, yaml, Options{Vars: map[string]string{"officerId": "registrar-7", "centerId": "10002"}})
	out, err := c.Evaluate(birthRecord("2020-01-01", "MOTHER", nil), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Forward {
		t.Fatalf("the deployment variable did not override the file's: %s", out.Reason)
	}
	want := map[string]string{"officer": `"registrar-7"`, "other": `"x"`, "center": `"10002"`, "process": `"CRVS_NEW"`,
		"year": `"2025"`, "today": `"2025-03-15"`, "language": `"eng"`}
	if diff := cmp.Diff(want, text(out.Packet.MetaInfo)); diff != "" {
		t.Errorf("metaInfo (-want +got):\n%s", diff)
	}

	// No death section: deaths are not forwarded, and cannot be mapped.
	out, err = c.Evaluate(deathRecord("SPOUSE", nil, true), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if out.Forward || out.Reason != "the country configuration test.yaml has no death section, so death records are not sent to MOSIP" || out.RegistrationNumber != "2025DTEST01" {
		t.Errorf("outcome %+v", out)
	}
	_, err = c.Map(deathRecord("SPOUSE", nil, true), testNow)
	wantError(t, err, bridge.EUnsupported, "event", "no death section")

	_, err = c.Evaluate(&bridge.Record{Event: "marriage"}, testNow)
	wantError(t, err, bridge.EUnsupported, "event", `"marriage"`)
	_, err = c.Evaluate(nil, testNow)
	wantError(t, err, bridge.EInvalid, "", "no record")
}

// TestRecordValue keeps the jq input equal to the record's JSON, for every
// field bridge.Record has now or gets later.
func TestRecordValue(t *testing.T) {
	t.Parallel()
	full := &bridge.Record{}
	fill(reflect.ValueOf(full).Elem())
	recs := []*bridge.Record{full, {}, {Informant: &bridge.Informant{}}, mustBundle(t, "incoming-death-bundle.json")}
	for i, rec := range recs {
		data, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, recordValue(rec)); diff != "" {
			t.Errorf("record %d: recordValue differs from the JSON form (-json +recordValue):\n%s", i, diff)
		}
	}
}

// fill sets every field to a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(testNow))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i))
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	c := mustDefault(b)
	rec := mustBundle(b, "incoming-birth-bundle-mother-father.json")
	rec.Answers["birth.mother.mother-view-group.verified"] = "verified"
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.Evaluate(rec, testNow)
		if err != nil || !out.Forward {
			b.Fatalf("Evaluate: %v %+v", err, out)
		}
	}
}

// An optional field MOSIP's schema would refuse is left out with a note;
// the record is not lost for it.
func TestOptionalFieldFailingItsValidatorIsLeftOut(t *testing.T) {
	c := mappingConfig(t, `{fullName: (.child.name.full | mosipText), phone: "call-me-maybe", email: "a@b.org"}`)
	rec := birthRecord("2020-06-01", "MOTHER", nil)
	out, err := c.Evaluate(rec, testNow)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if _, ok := out.Packet.Fields["phone"]; ok {
		t.Error("the invalid phone reached the packet")
	}
	if _, ok := out.Packet.Fields["email"]; !ok {
		t.Error("the valid email was dropped too")
	}
	if want := "left out field phone does not match the ID schema validator"; !strings.Contains(out.Reason, want) {
		t.Errorf("reason %q does not say %q", out.Reason, want)
	}
	if strings.Contains(out.Reason, "call-me") {
		t.Errorf("reason %q shows the value", out.Reason)
	}
}

func TestMOSIPPhone(t *testing.T) {
	c := mappingConfig(t, `{phone: (.contact.phone | mosipPhone("+260"))}`)
	for in, want := range map[string]string{
		"+260971234567":    "0971234567",
		"+260 97 123-4567": "0971234567",
		"0971234567":       "0971234567",
	} {
		rec := birthRecord("2020-06-01", "MOTHER", nil)
		rec.Contact.Phone = in
		pkt, err := c.Map(rec, testNow)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := string(pkt.Fields["phone"]); got != `"`+want+`"` {
			t.Errorf("mosipPhone(%q) = %s, want %q", in, got, want)
		}
	}
}
