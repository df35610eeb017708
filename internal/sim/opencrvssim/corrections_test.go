package opencrvssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

// registerRecord sends req and confirms the record as the mediator does,
// with registration number "2025"+tracking id and, when nid is not empty, a
// NATIONAL_ID identifier. It returns the send answer and the record token.
func (e *testEnv) registerRecord(t *testing.T, req any, nid string) (sendResult, string) {
	t.Helper()
	rec := e.send(t, req)
	token := e.mediator.last(t).token
	status, a := e.graphql(t, token, confirmMutation, confirmVars(rec.ID, "2025"+rec.TrackingID, nid))
	if status != http.StatusOK || a.Data["confirmRegistration"] != rec.ID {
		t.Fatalf("confirm %s: status %d, answer %+v", rec.ID, status, a)
	}
	return rec, token
}

// sendProblem posts req to /sim/records and expects a problem answer.
func (e *testEnv) sendProblem(t *testing.T, req any, wantStatus int) problem {
	t.Helper()
	var p problem
	resp := do(t, http.MethodPost, e.srv.URL+"/sim/records", "", req, &p)
	if resp.StatusCode != wantStatus || p.Status != wantStatus || p.Detail == "" ||
		resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST %v: status %d, problem %+v; want %d problem JSON with a detail", req, resp.StatusCode, p, wantStatus)
	}
	return p
}

func mustParseFHIR(t *testing.T, doc []byte) *bridge.Record {
	t.Helper()
	rec, err := fhir.Parse(doc)
	if err != nil {
		t.Fatalf("the mediator's FHIR parser refuses the document: %v", err)
	}
	return rec
}

// mappedFields returns the requestFields of a mapped payload, and the
// payload's top level.
func mappedFields(t *testing.T, doc []byte) (map[string]any, map[string]any) {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(doc, &p); err != nil {
		t.Fatalf("mapped payload: %v", err)
	}
	rf, ok := p["requestFields"].(map[string]any)
	if !ok {
		t.Fatalf("mapped payload without requestFields: %s", doc)
	}
	return rf, p
}

func TestDeathOfARegisteredBirth(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	e := newEnv(t, Config{Seed: 5}, nil)
	for i, birthMode := range []string{ModeFHIR, ModeMapped} {
		for j, deathMode := range []string{ModeFHIR, ModeMapped} {
			t.Run(birthMode+" birth, "+deathMode+" death", func(t *testing.T) {
				nid := fmt.Sprintf("71234567%d%d", i, j)
				birth, _ := e.registerRecord(t, map[string]any{"kind": "birth", "mode": birthMode}, nid)
				birthDoc, _ := e.sim.Bundle(birth.ID)

				// What the birth says of the child, in the birth's own shape.
				var name, dob, gender string
				if birthMode == ModeFHIR {
					c := mustParseFHIR(t, birthDoc).Child
					name, dob, gender = c.Name.Full, c.BirthDate, c.Gender
				} else {
					rf, _ := mappedFields(t, birthDoc)
					name, dob, gender = mappedText(rf["fullName"]), mappedText(rf["dateOfBirth"]), mappedText(rf["gender"])
					dob = strings.ReplaceAll(dob, "/", "-")
					gender = strings.ToLower(gender)
				}

				death := e.send(t, map[string]any{"kind": "death", "of": birth.ID, "mode": deathMode})
				if death.Kind != KindDeath || death.Mode != deathMode || death.DeathOf == nil || *death.DeathOf != birth.ID ||
					death.ID == birth.ID || death.TrackingID == birth.TrackingID || !deathTrackingRE.MatchString(death.TrackingID) {
					t.Errorf("death answer %+v, want a new death record of %s", death, birth.ID)
				}
				d := e.mediator.last(t)
				if d.claims.RecordID != death.ID {
					t.Errorf("token recordId %q, want %q", d.claims.RecordID, death.ID)
				}

				var deathDate string
				if deathMode == ModeFHIR {
					rec := mustParseFHIR(t, d.body)
					got := rec.Deceased
					if rec.Event != bridge.EventDeath || rec.RecordID != death.ID || rec.TrackingID != death.TrackingID {
						t.Errorf("record %s/%s/%s, want death %s/%s", rec.Event, rec.RecordID, rec.TrackingID, death.ID, death.TrackingID)
					}
					if got == nil || got.Name.Full != name || got.BirthDate != dob || got.Gender != gender || got.NationalID != nid {
						t.Fatalf("deceased %+v, want %s born %s (%s) with national ID %s", got, name, dob, gender, nid)
					}
					deathDate = got.DeathDate
					if rec.Spouse != nil {
						t.Errorf("the death of a child declares a spouse: %+v", rec.Spouse)
					}
					if rec.Informant == nil || (rec.Informant.Relationship != "MOTHER" && rec.Informant.Relationship != "FATHER") {
						t.Errorf("informant %+v, want the mother or the father", rec.Informant)
					}
					if v := rec.Answers["death.informant.informant-view-group.verified"]; v != "authenticated" && v != "verified" {
						t.Errorf("informant verification %q, want authenticated or verified", v)
					}
				} else {
					rf, p := mappedFields(t, d.body)
					if p["compositionId"] != death.ID || p["trackingId"] != death.TrackingID {
						t.Errorf("compositionId/trackingId %v/%v, want %s/%s", p["compositionId"], p["trackingId"], death.ID, death.TrackingID)
					}
					if mappedText(rf["fullName"]) != name || strings.ReplaceAll(mappedText(rf["dateOfBirth"]), "/", "-") != dob ||
						strings.ToLower(mappedText(rf["gender"])) != gender || rf["nationalIdNumber"] != nid {
						t.Fatalf("requestFields %v, want %s born %s (%s) with national ID %s", rf, name, dob, gender, nid)
					}
					if rf["deathCertificateNumber"] != fmt.Sprintf("%d%s", now.Year(), death.TrackingID) || rf["deathDeclared"] != "yes" {
						t.Errorf("deathCertificateNumber/deathDeclared %v/%v", rf["deathCertificateNumber"], rf["deathDeclared"])
					}
					deathDate = strings.ReplaceAll(mappedText(rf["dateOfDeath"]), "/", "-")
				}
				if deathDate < dob || deathDate > now.Format(fhirDate) {
					t.Errorf("died %s, want between the birth %s and today", deathDate, dob)
				}

				if v := e.record(t, death.ID, ""); v.DeathOf == nil || *v.DeathOf != birth.ID || v.Kind != KindDeath || v.CorrectionOf != nil {
					t.Errorf("death record %+v, want deathOf %s", v, birth.ID)
				}
				if v := e.record(t, birth.ID, ""); !slices.Equal(v.Deaths, []string{death.ID}) || v.DeathOf != nil {
					t.Errorf("birth record deaths %v, want [%s]", v.Deaths, death.ID)
				}
			})
		}
	}
}

func TestDeathOfNeedsARegisteredBirthWithANationalID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	waiting := e.send(t, `{"kind":"birth"}`)
	noNID, _ := e.registerRecord(t, `{"kind":"birth"}`, "")
	death, _ := e.registerRecord(t, `{"kind":"death"}`, "")
	birth, _ := e.registerRecord(t, `{"kind":"birth"}`, "1234567890")
	correction := e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID})
	rejected := e.send(t, `{"kind":"birth"}`)
	if status, a := e.graphql(t, e.mediator.last(t).token, rejectMutation, rejectVars(rejected.ID, "other", "")); status != 200 || len(a.Errors) > 0 {
		t.Fatalf("reject: %d %+v", status, a)
	}
	sent := len(e.mediator.deliveries())

	tests := []struct {
		name, of, want string
	}{
		{"unknown", "no-such-record", "no record with this id"},
		{"a death", death.ID, "is a death, not a birth"},
		{"a correction", correction.ID, "is a birth-correction of record " + birth.ID},
		{"waiting", waiting.ID, "is waiting, not registered"},
		{"rejected", rejected.ID, "is rejected, not registered"},
		{"without a national ID", noNID.ID, "registered without a national ID"},
	}
	for _, tt := range tests {
		p := e.sendProblem(t, map[string]any{"kind": "death", "of": tt.of}, http.StatusConflict)
		if !strings.Contains(p.Detail, tt.want) {
			t.Errorf("%s: detail %q, want it to say %q", tt.name, p.Detail, tt.want)
		}
	}
	if n := len(e.mediator.deliveries()); n != sent {
		t.Errorf("the mediator received %d more records, want none", n-sent)
	}
}

func TestSendRequestsForDeathsOfAndCorrections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	bundle := string(readTestdata(t, "incoming-birth-bundle.json"))
	for _, body := range []string{
		`{"kind":"birth-correction"}`,
		`{"kind":"death-correction","of":""}`,
		`{"kind":"birth","of":"x"}`,
		`{"of":"x"}`,
		`{"kind":"death","of":"x","bundle":` + bundle + `}`,
		`{"kind":"birth-correction","of":"x","bundle":` + bundle + `}`,
		`{"kind":"birth-correction","bundle":` + bundle + `}`,
		`{"kind":"birth","changes":true}`,
		`{"kind":"birth-correction","of":"x","authenticated":true}`,
		`{"kind":"marriage-correction","of":"x"}`,
	} {
		e.sendProblem(t, body, http.StatusBadRequest)
	}
}

// wantCorrected returns orig as the correction should state it.
func wantCorrected(orig *bridge.Record, corr sendResult, subject **bridge.Person, regNumber string, given, birthDate, deathDate string) *bridge.Record {
	want := *orig
	want.RecordID, want.RegistrationNumber = corr.ID, regNumber
	p := **subject
	if given != "" {
		p.Name.Given = append([]string{given}, p.Name.Given[1:]...)
		p.Name.Full = strings.Join(append(slices.Clone(p.Name.Given), p.Name.Family), " ")
	}
	if birthDate != "" {
		p.BirthDate = birthDate
	}
	if deathDate != "" {
		p.DeathDate = deathDate
	}
	switch subject {
	case &orig.Child:
		want.Child = &p
	case &orig.Deceased:
		want.Deceased = &p
	}
	return &want
}

func TestFHIRBirthCorrection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Seed: 9}, nil)
	const nid = "3456789012"
	birth, _ := e.registerRecord(t, `{"kind":"birth"}`, nid)
	regNumber := "2025" + birth.TrackingID
	origDoc, _ := e.sim.Bundle(birth.ID)
	orig := mustParseFHIR(t, origDoc)

	kinds := map[string]int{}
	var registeredCorrection sendResult
	var registeredChild bridge.Person
	for i := range 12 {
		corr := e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID})
		d := e.mediator.last(t)
		if corr.Kind != KindBirthCorrection || corr.Mode != ModeFHIR || corr.TrackingID != birth.TrackingID ||
			corr.CorrectionOf == nil || *corr.CorrectionOf != birth.ID || corr.ID == birth.ID || d.claims.RecordID != corr.ID {
			t.Fatalf("correction answer %+v (token for %s), want a new birth-correction of %s", corr, d.claims.RecordID, birth.ID)
		}
		if len(corr.Changed) == 0 {
			t.Fatalf("correction %d changes nothing", i)
		}
		kinds[strings.Join(corr.Changed, "+")]++

		got := mustParseFHIR(t, d.body)
		var given, dob string
		for _, c := range corr.Changed {
			switch c {
			case changeGivenName:
				given = got.Child.Name.Given[0]
				if given == orig.Child.Name.Given[0] {
					t.Errorf("given name %q unchanged", given)
				}
			case changeBirthDate:
				dob = got.Child.BirthDate
				if dob >= orig.Child.BirthDate {
					t.Errorf("birth date %s, want it corrected to an earlier day than %s", dob, orig.Child.BirthDate)
				}
			default:
				t.Errorf("a birth correction changed %q", c)
			}
		}
		want := wantCorrected(orig, corr, &orig.Child, regNumber, given, dob, "")
		want.Child.NationalID = nid
		want.Child.Identifiers = []bridge.Identifier{{Type: "NATIONAL_ID", Value: nid}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("correction %d (%v) as the mediator reads it (-want +got):\n%s", i, corr.Changed, diff)
		}
		if i == 0 {
			registeredCorrection, registeredChild = corr, *got.Child
		}
	}
	if len(kinds) < 3 {
		t.Errorf("12 corrections changed %v: want the name, the date and both", kinds)
	}

	// Confirming a correction: without identifiers, with the original's
	// registration number.
	token := ""
	for _, d := range e.mediator.deliveries() {
		if d.claims.RecordID == registeredCorrection.ID {
			token = d.token
		}
	}
	for _, bad := range []map[string]any{
		confirmVars(registeredCorrection.ID, regNumber, nid),
		confirmVars(registeredCorrection.ID, "2025OTHER", ""),
	} {
		if status, a := e.graphql(t, token, confirmMutation, bad); status != 200 || a.code() != CodeBadUserInput {
			t.Errorf("confirm %v: status %d, answer %+v; want BAD_USER_INPUT", bad["details"], status, a)
		}
	}
	if status, a := e.graphql(t, token, confirmMutation, confirmVars(registeredCorrection.ID, regNumber, "")); status != 200 || len(a.Errors) > 0 {
		t.Fatalf("confirm correction: status %d, answer %+v", status, a)
	}
	v := e.record(t, registeredCorrection.ID, "")
	want := recordView{
		ID: registeredCorrection.ID, TrackingID: birth.TrackingID, Kind: KindBirthCorrection, Mode: ModeFHIR,
		Version: Version18, Status: StatusRegistered, RegistrationNumber: ptr(regNumber), Confirmations: 1,
		CorrectionOf: ptr(birth.ID), Changed: registeredCorrection.Changed,
		MediatorStatus: 202, Mediator: json.RawMessage(`{}`),
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("correction record (-want +got):\n%s", diff)
	}
	ov := e.record(t, birth.ID, "")
	if len(ov.Corrections) != 12 || ov.Corrections[0] != registeredCorrection.ID || ov.Status != StatusRegistered ||
		ov.NationalID == nil || *ov.NationalID != nid {
		t.Errorf("original %+v, want registered with its 12 corrections, oldest first", ov)
	}

	// Later corrections start from the registered correction; an unchanged
	// one repeats it.
	same := e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID, "changes": false})
	if same.Changed == nil || len(same.Changed) != 0 {
		t.Errorf("changes %v, want []", same.Changed)
	}
	got := mustParseFHIR(t, e.mediator.last(t).body)
	if diff := cmp.Diff(&registeredChild, got.Child); diff != "" {
		t.Errorf("unchanged correction's child (-registered correction +got):\n%s", diff)
	}
	if got.RecordID != same.ID || got.RegistrationNumber != regNumber || got.TrackingID != birth.TrackingID {
		t.Errorf("unchanged correction %s/%s/%s, want %s/%s/%s", got.RecordID, got.RegistrationNumber, got.TrackingID,
			same.ID, regNumber, birth.TrackingID)
	}

	// A death of the person names them as corrected.
	e.send(t, map[string]any{"kind": "death", "of": birth.ID})
	deceased := mustParseFHIR(t, e.mediator.last(t).body).Deceased
	if deceased.Name.Full != registeredChild.Name.Full || deceased.BirthDate != registeredChild.BirthDate {
		t.Errorf("deceased %s born %s, want the corrected %s born %s", deceased.Name.Full, deceased.BirthDate,
			registeredChild.Name.Full, registeredChild.BirthDate)
	}

	// A rejected correction is not the record's state.
	rej := e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID})
	if status, a := e.graphql(t, e.mediator.last(t).token, rejectMutation, rejectVars(rej.ID, "other", "MOSIP refused the update")); status != 200 || len(a.Errors) > 0 {
		t.Fatalf("reject correction: %d %+v", status, a)
	}
	e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID, "changes": false})
	if got := mustParseFHIR(t, e.mediator.last(t).body).Child; got.Name.Full != registeredChild.Name.Full {
		t.Errorf("after a rejected correction the child is %q, want %q", got.Name.Full, registeredChild.Name.Full)
	}
}

func TestCorrectionOfAGivenBundle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	for _, tt := range []struct{ file, kind string }{
		{"incoming-birth-bundle.json", KindBirth},
		{"incoming-death-bundle.json", KindDeath},
	} {
		doc := readTestdata(t, tt.file)
		rec, _ := e.registerRecord(t, `{"bundle":`+string(doc)+`}`, "")
		corr := e.send(t, map[string]any{"kind": tt.kind + "-correction", "of": rec.ID})
		orig, got := mustParseFHIR(t, doc), mustParseFHIR(t, e.mediator.last(t).body)
		subject, gotSubject := &orig.Child, got.Child
		if tt.kind == KindDeath {
			subject, gotSubject = &orig.Deceased, got.Deceased
		}
		var given, dob, dod string
		for _, c := range corr.Changed {
			switch c {
			case changeGivenName:
				given = gotSubject.Name.Given[0]
			case changeBirthDate:
				dob = gotSubject.BirthDate
			case changeDeathDate:
				dod = gotSubject.DeathDate
			}
		}
		want := wantCorrected(orig, corr, subject, "2025"+rec.TrackingID, given, dob, dod)
		if diff := cmp.Diff(want, got); diff != "" || len(corr.Changed) == 0 {
			t.Errorf("%s: correction %v (-want +got):\n%s", tt.file, corr.Changed, diff)
		}
	}
}

func TestMappedCorrections(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := newEnv(t, Config{Seed: 13}, nil)
	const nid = "4567890123"
	birth, _ := e.registerRecord(t, `{"kind":"birth","mode":"mapped"}`, nid)
	death, _ := e.registerRecord(t, `{"kind":"death","mode":"mapped"}`, "")
	for _, tt := range []struct {
		orig                  sendResult
		kind, certificate     string
		changes               bool
		wantNationalIDNumber  string
		changeable, unchanged []string
	}{
		{birth, KindBirthCorrection, "birthCertificateNumber", true, nid, []string{"fullName", "dateOfBirth"}, nil},
		{birth, KindBirthCorrection, "birthCertificateNumber", false, nid, nil, []string{"fullName", "dateOfBirth"}},
		{death, KindDeathCorrection, "deathCertificateNumber", true, "", []string{"fullName", "dateOfDeath"}, []string{"dateOfBirth"}},
	} {
		origDoc, _ := e.sim.Bundle(tt.orig.ID)
		origFields, origTop := mappedFields(t, origDoc)
		corr := e.send(t, map[string]any{"kind": tt.kind, "of": tt.orig.ID, "changes": tt.changes})
		if corr.Mode != ModeMapped || corr.TrackingID != tt.orig.TrackingID {
			t.Errorf("correction %+v, want mapped with tracking id %s", corr, tt.orig.TrackingID)
		}
		d := e.mediator.last(t)
		fields, top := mappedFields(t, d.body)
		if top["correction"] != true || top["compositionId"] != corr.ID || top["trackingId"] != tt.orig.TrackingID || d.claims.RecordID != corr.ID {
			t.Errorf("%s: correction/compositionId/trackingId %v/%v/%v (token %s), want true/%s/%s", tt.kind,
				top["correction"], top["compositionId"], top["trackingId"], d.claims.RecordID, corr.ID, tt.orig.TrackingID)
		}
		if got, want := fields[tt.certificate], "2025"+tt.orig.TrackingID; got != want {
			t.Errorf("%s: %s = %v, want the registration number %s", tt.kind, tt.certificate, got, want)
		}
		if tt.wantNationalIDNumber != "" && fields["nationalIdNumber"] != tt.wantNationalIDNumber {
			t.Errorf("%s: nationalIdNumber %v, want %s", tt.kind, fields["nationalIdNumber"], tt.wantNationalIDNumber)
		}
		// Everything else is the original's, but what changed.
		changedFields := map[string]bool{tt.certificate: true, "nationalIdNumber": true}
		for _, c := range corr.Changed {
			name := map[string]string{changeGivenName: "fullName", changeBirthDate: "dateOfBirth", changeDeathDate: "dateOfDeath"}[c]
			if !slices.Contains(tt.changeable, name) {
				t.Errorf("%s changed %s", tt.kind, c)
			}
			changedFields[name] = true
			if cmp.Equal(origFields[name], fields[name]) {
				t.Errorf("%s: %s listed as changed but is %v as before", tt.kind, name, fields[name])
			}
		}
		if tt.changes == (len(corr.Changed) == 0) {
			t.Errorf("%s with changes=%v changed %v", tt.kind, tt.changes, corr.Changed)
		}
		for k, v := range origFields {
			if !changedFields[k] && !cmp.Equal(v, fields[k]) {
				t.Errorf("%s: requestFields.%s = %v, want the original %v", tt.kind, k, fields[k], v)
			}
		}
		if c := slices.Index(corr.Changed, changeGivenName); c >= 0 {
			o, g := strings.Fields(mappedText(origFields["fullName"])), strings.Fields(mappedText(fields["fullName"]))
			if len(o) != len(g) || o[0] == g[0] || !slices.Equal(o[1:], g[1:]) {
				t.Errorf("%s: fullName %v -> %v, want the first name changed only", tt.kind, o, g)
			}
		}
		if dod, ok := fields["dateOfDeath"].(string); ok && (dod < origFields["dateOfBirth"].(string) || dod > now.Format("2006/01/02")) {
			t.Errorf("%s: dateOfDeath %s, want between the birth and today", tt.kind, dod)
		}
		meta := top["metaInfo"].(map[string]any)["metaData"].(string)
		if !strings.Contains(meta, `{"label":"registrationType","value":"CRVS_UPDATE"}`) {
			t.Errorf("%s: metaData %s, want registrationType CRVS_UPDATE", tt.kind, meta)
		}
		if origTop["audit"].(map[string]any)["uuid"] == top["audit"].(map[string]any)["uuid"] {
			t.Errorf("%s: the audit event repeats the original's uuid", tt.kind)
		}
		for _, k := range []string{"notification"} {
			if !cmp.Equal(origTop[k], top[k]) {
				t.Errorf("%s: %s = %v, want the original %v", tt.kind, k, top[k], origTop[k])
			}
		}
	}
}

func TestCorrectionNeedsARegisteredOriginal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, nil)
	waiting := e.send(t, `{"kind":"birth"}`)
	birth, _ := e.registerRecord(t, `{"kind":"birth"}`, "1234567890")
	death, _ := e.registerRecord(t, `{"kind":"death","mode":"mapped"}`, "")
	corr := e.send(t, map[string]any{"kind": "birth-correction", "of": birth.ID})
	sent := len(e.mediator.deliveries())

	tests := []struct {
		name string
		req  map[string]any
		want string
	}{
		{"unknown", map[string]any{"kind": "birth-correction", "of": "no-such-record"}, "no record with this id"},
		{"waiting", map[string]any{"kind": "birth-correction", "of": waiting.ID}, "is waiting, not registered"},
		{"a death as a birth", map[string]any{"kind": "birth-correction", "of": death.ID}, "is a death, not a birth"},
		{"a birth as a death", map[string]any{"kind": "death-correction", "of": birth.ID}, "is a birth, not a death"},
		{"a correction", map[string]any{"kind": "birth-correction", "of": corr.ID}, "the original birth record, " + birth.ID},
	}
	for _, tt := range tests {
		if p := e.sendProblem(t, tt.req, http.StatusConflict); !strings.Contains(p.Detail, tt.want) {
			t.Errorf("%s: detail %q, want it to say %q", tt.name, p.Detail, tt.want)
		}
	}
	// A correction has its original's mode.
	if p := e.sendProblem(t, map[string]any{"kind": "death-correction", "of": death.ID, "mode": "fhir"}, http.StatusBadRequest); !strings.Contains(p.Detail, "was sent as mapped") {
		t.Errorf("mode mismatch: detail %q", p.Detail)
	}
	if n := len(e.mediator.deliveries()); n != sent {
		t.Errorf("the mediator received %d more records, want none", n-sent)
	}

	// Once its document is dropped, a record cannot be corrected.
	e.sim.mu.Lock()
	e.sim.docs.budget = 1
	e.sim.mu.Unlock()
	e.send(t, `{}`)
	if p := e.sendProblem(t, map[string]any{"kind": "death-correction", "of": death.ID}, http.StatusConflict); !strings.Contains(p.Detail, "dropped") {
		t.Errorf("dropped document: detail %q", p.Detail)
	}
}
