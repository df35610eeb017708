package opencrvssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
)

var (
	birthTrackingRE = regexp.MustCompile(`^B[0-9A-Z]{6}$`)
	deathTrackingRE = regexp.MustCompile(`^D[0-9A-Z]{6}$`)
	nidRE           = regexp.MustCompile(`^[1-9][0-9]{9}$`)
	mosipDateRE     = regexp.MustCompile(`^(1869|18[7-9]\d|19\d\d|20\d\d)/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$`)
	mosipPhoneRE    = regexp.MustCompile(`^[+]*([0-9]{1})([0-9]{9})$`)
	postalCodeRE    = regexp.MustCompile(`^[A-Za-z0-9]{5}$|^NA$`)
	emailRE         = regexp.MustCompile(`^[a-z0-9.]+@[a-z0-9.]+\.[a-z]+$`)
)

// walkedBundle indexes a FHIR bundle by "Type/id".
type walkedBundle struct {
	byRef map[string]map[string]any
	types map[string]int
}

func indexBundle(t *testing.T, b map[string]any) walkedBundle {
	t.Helper()
	w := walkedBundle{byRef: map[string]map[string]any{}, types: map[string]int{}}
	if b["resourceType"] != "Bundle" || b["type"] != "document" {
		t.Fatalf("bundle resourceType/type = %v/%v, want Bundle/document", b["resourceType"], b["type"])
	}
	for i, e := range b["entry"].([]any) {
		entry := e.(map[string]any)
		res := entry["resource"].(map[string]any)
		typ, id := res["resourceType"].(string), res["id"].(string)
		full, _ := entry["fullUrl"].(string)
		if !strings.HasPrefix(full, "/fhir/"+typ+"/"+id+"/_history/") {
			t.Errorf("entry %d: fullUrl %q does not name %s/%s", i, full, typ, id)
		}
		key := typ + "/" + id
		if _, dup := w.byRef[key]; dup {
			t.Errorf("entry %d: %s appears twice", i, key)
		}
		w.byRef[key] = res
		w.types[typ]++
	}
	return w
}

// resolve returns the resource a reference names, failing when it is not in
// the bundle or not of the wanted type.
func (w walkedBundle) resolve(t *testing.T, reference any, wantType string) map[string]any {
	t.Helper()
	r, _ := reference.(string)
	if !strings.HasPrefix(r, wantType+"/") {
		t.Errorf("reference %q, want a %s", r, wantType)
		return map[string]any{}
	}
	res, ok := w.byRef[r]
	if !ok {
		t.Errorf("reference %q does not resolve in the bundle", r)
		return map[string]any{}
	}
	return res
}

// collect walks any JSON value and calls fn for every (key, string value).
func collect(v any, fn func(key, value string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				fn(k, s)
			} else {
				collect(e, fn)
			}
		}
	case []any:
		for _, e := range x {
			collect(e, fn)
		}
	}
}

func firstCode(v any) string {
	m, _ := v.(map[string]any)
	coding, _ := m["coding"].([]any)
	if len(coding) == 0 {
		return ""
	}
	c, _ := coding[0].(map[string]any)
	s, _ := c["code"].(string)
	return s
}

func identifierOf(res map[string]any, system string) string {
	ids, _ := res["identifier"].([]any)
	for _, i := range ids {
		m := i.(map[string]any)
		if system == "" {
			if t, ok := m["type"]; ok && firstCode(t) == "NATIONAL_ID" {
				return m["value"].(string)
			}
		} else if m["system"] == system {
			return m["value"].(string)
		}
	}
	return ""
}

func extensionOf(res map[string]any, url string) (any, bool) {
	exts, _ := res["extension"].([]any)
	for _, e := range exts {
		m := e.(map[string]any)
		if m["url"] == url {
			for k, v := range m {
				if strings.HasPrefix(k, "value") {
					return v, true
				}
			}
			return m, true
		}
	}
	return nil, false
}

// vocabulary is the resource types and the system/url values of the real
// OpenCRVS 1.8 bundles.
type vocabulary struct{ types, systems map[string]bool }

func testdataVocabulary(t *testing.T) vocabulary {
	t.Helper()
	types, systems := map[string]bool{}, map[string]bool{}
	for _, f := range []string{"incoming-birth-bundle.json", "incoming-birth-bundle-mother-father.json", "incoming-death-bundle.json"} {
		var b map[string]any
		if err := json.Unmarshal(readTestdata(t, f), &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b["entry"].([]any) {
			types[e.(map[string]any)["resource"].(map[string]any)["resourceType"].(string)] = true
		}
		collect(b, func(k, v string) {
			if k == "system" || k == "url" {
				systems[v] = true
			}
		})
	}
	return vocabulary{types, systems}
}

// checkGeneratedBundle walks a generated bundle and checks its references,
// sections and content. It returns the informant relationship and whether a
// father is declared, to check that the sample covered the variants.
func checkGeneratedBundle(t *testing.T, raw []byte, kind string, authenticated bool, now time.Time, vocab vocabulary) (string, bool) {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("bundle is not JSON: %v", err)
	}
	w := indexBundle(t, b)

	// Same vocabulary as the real bundles.
	for typ := range w.types {
		if !vocab.types[typ] {
			t.Errorf("resource type %s is not in the OpenCRVS 1.8 samples", typ)
		}
	}
	collect(b, func(k, v string) {
		if (k == "system" || k == "url") && !vocab.systems[v] && v != extContactPhone {
			t.Errorf("%s %q is not in the OpenCRVS 1.8 samples", k, v)
		}
	})
	// Every reference resolves (Location/0 is the country root).
	collect(b, func(k, v string) {
		if k == "reference" && v != "Location/0" {
			if _, ok := w.byRef[v]; !ok {
				t.Errorf("reference %q does not resolve", v)
			}
		}
	})

	if w.types["Composition"] != 1 || w.types["Task"] != 1 {
		t.Fatalf("bundle has %d Compositions and %d Tasks, want 1 and 1", w.types["Composition"], w.types["Task"])
	}
	var comp, task map[string]any
	var compID string
	for ref, res := range w.byRef {
		switch res["resourceType"] {
		case "Composition":
			comp, compID = res, strings.TrimPrefix(ref, "Composition/")
		case "Task":
			task = res
		}
	}
	tracking := comp["identifier"].(map[string]any)["value"].(string)
	trackingRE, docType, taskCode := birthTrackingRE, "birth-declaration", "BIRTH"
	wantSections := []string{"informant-details", "mother-details", "child-details", "father-details", "birth-encounter"}
	if kind == "death" {
		trackingRE, docType, taskCode = deathTrackingRE, "death-declaration", "DEATH"
		wantSections = []string{"informant-details", "spouse-details", "deceased-details", "death-encounter"}
	}
	if !trackingRE.MatchString(tracking) {
		t.Errorf("tracking id %q does not look like OpenCRVS's", tracking)
	}
	if got := firstCode(comp["type"]); got != docType {
		t.Errorf("Composition type %q, want %q", got, docType)
	}

	// Sections.
	sections := map[string]map[string]any{}
	var gotSections []string
	for _, s := range comp["section"].([]any) {
		sec := s.(map[string]any)
		code := firstCode(sec["code"])
		gotSections = append(gotSections, code)
		refStr := sec["entry"].([]any)[0].(map[string]any)["reference"]
		switch {
		case code == "informant-details":
			sections[code] = w.resolve(t, refStr, "RelatedPerson")
		case strings.HasSuffix(code, "-encounter"):
			sections[code] = w.resolve(t, refStr, "Encounter")
		default:
			sections[code] = w.resolve(t, refStr, "Patient")
		}
	}
	slices.Sort(gotSections)
	slices.Sort(wantSections)
	if !slices.Equal(gotSections, wantSections) {
		t.Errorf("sections %v, want %v", gotSections, wantSections)
	}

	// Task.
	if firstCode(task["code"]) != taskCode || firstCode(task["businessStatus"]) != "WAITING_VALIDATION" {
		t.Errorf("Task code/status %s/%s, want %s/WAITING_VALIDATION", firstCode(task["code"]), firstCode(task["businessStatus"]), taskCode)
	}
	if focus := task["focus"].(map[string]any)["reference"]; focus != "Composition/"+compID {
		t.Errorf("Task focus %v, want Composition/%s", focus, compID)
	}
	if got := identifierOf(task, "http://opencrvs.org/specs/id/"+kind+"-tracking-id"); got != tracking {
		t.Errorf("Task tracking id %q, want %q", got, tracking)
	}
	if identifierOf(task, sysDraftID) == "" {
		t.Error("Task has no draft-id")
	}
	email, _ := extensionOf(task, extContactEmail)
	phone, _ := extensionOf(task, extContactPhone)
	if s, _ := email.(string); !emailRE.MatchString(s) {
		t.Errorf("contact email %v", email)
	}
	if s, _ := phone.(string); !regexp.MustCompile(`^\+260[0-9]{9}$`).MatchString(s) {
		t.Errorf("contact phone %v", phone)
	}
	if _, err := time.Parse(time.RFC3339, task["lastModified"].(string)); err != nil {
		t.Errorf("Task lastModified: %v", err)
	}

	// Encounter at a health facility in a district.
	var encounter map[string]any
	for code, res := range sections {
		if strings.HasSuffix(code, "-encounter") {
			encounter = res
		}
	}
	loc := w.resolve(t, encounter["location"].([]any)[0].(map[string]any)["location"].(map[string]any)["reference"], "Location")
	if firstCode(loc["type"]) != "HEALTH_FACILITY" {
		t.Errorf("encounter location type %s, want HEALTH_FACILITY", firstCode(loc["type"]))
	}
	// Every Location's partOf chain ends at Location/0.
	for ref, res := range w.byRef {
		if res["resourceType"] != "Location" {
			continue
		}
		cur := res
		for steps := 0; ; steps++ {
			parent := cur["partOf"].(map[string]any)["reference"].(string)
			if parent == "Location/0" {
				break
			}
			if steps > 4 {
				t.Errorf("%s: partOf chain longer than 4", ref)
				break
			}
			cur = w.resolve(t, parent, "Location")
			if len(cur) == 0 {
				break
			}
		}
	}

	checkPatientName := func(role string, p map[string]any) {
		names, _ := p["name"].([]any)
		if len(names) != 1 {
			t.Errorf("%s: %d names, want 1", role, len(names))
			return
		}
		n := names[0].(map[string]any)
		given, _ := n["given"].([]any)
		if n["use"] != "en" || len(given) != 2 || given[0] == "" || n["family"] == "" {
			t.Errorf("%s: name %v, want use en, given [first, middle], family", role, n)
		}
	}
	checkAdult := func(role string, p map[string]any) {
		checkPatientName(role, p)
		if !nidRE.MatchString(identifierOf(p, "")) || !mosip.VerhoeffValid(identifierOf(p, "")) {
			t.Errorf("%s: NATIONAL_ID %q, want 10 digits with a Verhoeff check digit", role, identifierOf(p, ""))
		}
		addrs, _ := p["address"].([]any)
		if len(addrs) != 1 {
			t.Errorf("%s: %d addresses, want 1", role, len(addrs))
			return
		}
		a := addrs[0].(map[string]any)
		district := w.resolve(t, "Location/"+a["district"].(string), "Location")
		state := w.resolve(t, "Location/"+a["state"].(string), "Location")
		if a["type"] != "PRIMARY_ADDRESS" || identifierOf(district, sysJurisdictionType) != "DISTRICT" ||
			identifierOf(state, sysJurisdictionType) != "STATE" || len(a["line"].([]any)) != addressLineEntries {
			t.Errorf("%s: address %v", role, a)
		}
		if district["partOf"].(map[string]any)["reference"] != "Location/"+a["state"].(string) {
			t.Errorf("%s: district is not part of the address's state", role)
		}
		if _, err := time.Parse(fhirDate, p["birthDate"].(string)); err != nil {
			t.Errorf("%s: birthDate: %v", role, err)
		}
	}

	// Informant.
	related := sections["informant-details"]
	rel := firstCode(related["relationship"])
	informant := w.resolve(t, related["patient"].(map[string]any)["reference"], "Patient")

	var fatherDeclared bool
	wantItems := map[string]bool{}
	if kind == "birth" {
		child, mother, father := sections["child-details"], sections["mother-details"], sections["father-details"]
		checkPatientName("child", child)
		dob, err := time.Parse(fhirDate, child["birthDate"].(string))
		if err != nil || dob.After(now) || now.Sub(dob) > 366*24*time.Hour {
			t.Errorf("child birthDate %v, want within the last year", child["birthDate"])
		}
		if g := child["gender"]; g != "male" && g != "female" {
			t.Errorf("child gender %v", g)
		}
		checkAdult("mother", mother)
		wantItems["birth.mother.mother-view-group.verified"] = true
		fatherDeclared = father["active"] != false
		if fatherDeclared {
			checkAdult("father", father)
			wantItems["birth.father.father-view-group.verified"] = true
		} else if _, ok := extensionOf(father, extReasonNotApply); !ok {
			t.Error("absent father without reason-not-applying")
		}
		switch rel {
		case "MOTHER":
			if &informant == nil || informant["id"] != mother["id"] {
				t.Error("MOTHER informant is not the mother's Patient")
			}
		case "FATHER":
			if !fatherDeclared || informant["id"] != father["id"] {
				t.Error("FATHER informant is not the declared father's Patient")
			}
		case "LEGAL_GUARDIAN":
			checkAdult("guardian", informant)
			wantItems["birth.informant.informant-view-group.verified"] = true
		default:
			t.Errorf("birth informant %q", rel)
		}
	} else {
		deceased, spouse := sections["deceased-details"], sections["spouse-details"]
		checkAdult("deceased", deceased)
		checkAdult("spouse", spouse)
		if deceased["deceasedBoolean"] != true {
			t.Error("deceased is not deceasedBoolean")
		}
		dod, err := time.Parse(fhirDate, deceased["deceasedDateTime"].(string))
		if err != nil || dod.After(now) || now.Sub(dod) > 31*24*time.Hour {
			t.Errorf("deceasedDateTime %v, want within the last month", deceased["deceasedDateTime"])
		}
		dob, _ := time.Parse(fhirDate, deceased["birthDate"].(string))
		if dod.Sub(dob) < 18*365*24*time.Hour {
			t.Errorf("deceased born %v, died %v: want an adult", dob, dod)
		}
		switch rel {
		case "SPOUSE":
			if informant["id"] != spouse["id"] {
				t.Error("SPOUSE informant is not the spouse's Patient")
			}
		case "SON", "DAUGHTER":
			checkAdult("informant", informant)
		default:
			t.Errorf("death informant %q", rel)
		}
		wantItems["death.spouse.spouse-view-group.verified"] = true
		wantItems["death.informant.informant-view-group.verified"] = true
	}

	// QuestionnaireResponse: verification answers.
	if w.types["QuestionnaireResponse"] != 1 {
		t.Fatalf("%d QuestionnaireResponses, want 1", w.types["QuestionnaireResponse"])
	}
	for _, res := range w.byRef {
		if res["resourceType"] != "QuestionnaireResponse" {
			continue
		}
		for _, it := range res["item"].([]any) {
			item := it.(map[string]any)
			text := item["text"].(string)
			if !strings.HasPrefix(text, kind+".") || !strings.Contains(text, "-view-group.") {
				t.Errorf("item text %q does not look like OpenCRVS's", text)
			}
			if !strings.HasSuffix(text, ".verified") {
				continue
			}
			if !wantItems[text] {
				t.Errorf("unexpected verification item %q", text)
			}
			v := item["answer"].([]any)[0].(map[string]any)["valueString"]
			if authenticated && v != "authenticated" && v != "verified" {
				t.Errorf("%s = %v, want authenticated or verified", text, v)
			}
			if !authenticated && v != "failed" {
				t.Errorf("%s = %v, want failed or absent", text, v)
			}
			delete(wantItems, text)
		}
	}
	if authenticated && len(wantItems) > 0 {
		t.Errorf("authenticated record lacks verification items %v", wantItems)
	}
	return rel, fatherDeclared
}

func TestGeneratedBundles(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := newEnv(t, Config{Seed: 7}, nil)
	vocab := testdataVocabulary(t)
	for _, kind := range []string{"birth", "death"} {
		for _, authenticated := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s authenticated=%v", kind, authenticated), func(t *testing.T) {
				rels := map[string]int{}
				fathers := 0
				const n = 25
				for range n {
					got := e.send(t, map[string]any{"kind": kind, "authenticated": authenticated})
					d := e.mediator.last(t)
					rel, father := checkGeneratedBundle(t, d.body, kind, authenticated, now, vocab)
					rels[rel]++
					if father {
						fathers++
					}
					if d.claims.RecordID != got.ID || got.Kind != kind || got.Mode != "fhir" || got.Status != "waiting" {
						t.Errorf("answer %+v, token recordId %q", got, d.claims.RecordID)
					}
					var b struct {
						Entry []struct {
							Resource struct {
								ResourceType string
								ID           string
								Identifier   json.RawMessage
							}
						}
					}
					if err := json.Unmarshal(d.body, &b); err != nil {
						t.Fatal(err)
					}
					if b.Entry[0].Resource.ResourceType != "Composition" || b.Entry[0].Resource.ID != got.ID ||
						!strings.Contains(string(b.Entry[0].Resource.Identifier), `"`+got.TrackingID+`"`) {
						t.Errorf("first entry %+v, want the Composition %s with tracking id %s", b.Entry[0].Resource, got.ID, got.TrackingID)
					}
				}
				// The fixed seed makes the sample cover the variants the walk checks.
				if kind == "birth" && (len(rels) < 2 || fathers == 0 || fathers == n) {
					t.Errorf("sample covered informants %v and %d/%d fathers: want variety", rels, fathers, n)
				}
				if kind == "death" && len(rels) < 2 {
					t.Errorf("sample covered informants %v: want variety", rels)
				}
			})
		}
	}
}

func TestMappedPayloads(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	e := newEnv(t, Config{Seed: 11}, nil)
	for _, kind := range []string{"birth", "death"} {
		for range 10 {
			got := e.send(t, map[string]any{"kind": kind, "mode": "mapped"})
			d := e.mediator.last(t)
			checkMapped(t, d.body, kind, got, now)
			if d.claims.RecordID != got.ID {
				t.Errorf("token recordId %q, want %q", d.claims.RecordID, got.ID)
			}
		}
	}
}

func checkMapped(t *testing.T, raw []byte, kind string, rec sendResult, now time.Time) {
	t.Helper()
	var p struct {
		CompositionID string `json:"compositionId"`
		TrackingID    string `json:"trackingId"`
		Notification  struct {
			RecipientFullName, RecipientEmail, RecipientPhone string
		} `json:"notification"`
		RequestFields map[string]json.RawMessage `json:"requestFields"`
		MetaInfo      struct {
			MetaData                  string `json:"metaData"`
			OperationsData            string `json:"operationsData"`
			RegistrationID            string `json:"registrationId"`
			CreationDate              string `json:"creationDate"`
			CapturedRegisteredDevices string `json:"capturedRegisteredDevices"`
		} `json:"metaInfo"`
		Audit map[string]string `json:"audit"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("mapped payload: %v", err)
	}
	if p.CompositionID != rec.ID || p.TrackingID != rec.TrackingID {
		t.Errorf("compositionId/trackingId %s/%s, want %s/%s", p.CompositionID, p.TrackingID, rec.ID, rec.TrackingID)
	}
	if p.Notification.RecipientFullName == "" || !emailRE.MatchString(p.Notification.RecipientEmail) || p.Notification.RecipientPhone == "" {
		t.Errorf("notification %+v", p.Notification)
	}
	str := func(name string) string {
		var s string
		if err := json.Unmarshal(p.RequestFields[name], &s); err != nil {
			t.Errorf("requestFields.%s = %s, want a string", name, p.RequestFields[name])
		}
		return s
	}
	simple := func(name string, minLen, maxLen int) string {
		var v []struct{ Language, Value string }
		if err := json.Unmarshal(p.RequestFields[name], &v); err != nil || len(v) != 1 || v[0].Language != "eng" ||
			len(v[0].Value) < minLen || len(v[0].Value) > maxLen {
			t.Errorf("requestFields.%s = %s, want [{language: eng, value: %d-%d chars}]", name, p.RequestFields[name], minLen, maxLen)
			return ""
		}
		return v[0].Value
	}
	certificate := fmt.Sprintf("%d%s", now.Year(), rec.TrackingID)
	simple("fullName", 3, 50)
	if g := simple("gender", 4, 6); g != "Male" && g != "Female" {
		t.Errorf("gender %q, want Male or Female", g)
	}
	simple("addressLine1", 0, 50)
	simple("addressLine2", 3, 50)
	simple("district", 1, 50)
	simple("province", 1, 50)
	dob := str("dateOfBirth")
	if !mosipDateRE.MatchString(dob) {
		t.Errorf("dateOfBirth %q, want YYYY/MM/DD", dob)
	}
	if !postalCodeRE.MatchString(str("postalCode")) || !mosipPhoneRE.MatchString(str("phone")) ||
		!emailRE.MatchString(str("email")) || str("preferredLang") != "eng" {
		t.Errorf("postalCode/phone/email/preferredLang %s/%s/%s/%s", p.RequestFields["postalCode"],
			p.RequestFields["phone"], p.RequestFields["email"], p.RequestFields["preferredLang"])
	}
	regType := "CRVS_NEW"
	if kind == "birth" {
		if got := str("birthCertificateNumber"); got != certificate {
			t.Errorf("birthCertificateNumber %q, want %q", got, certificate)
		}
		simple("guardianOrParentName", 1, 100)
		born, _ := time.Parse("2006/01/02", dob)
		if now.Sub(born) > 366*24*time.Hour || born.After(now) {
			t.Errorf("child born %s, want within the last year", dob)
		}
		if _, ok := p.RequestFields["deathCertificateNumber"]; ok {
			t.Error("a birth carries deathCertificateNumber")
		}
	} else {
		regType = "CRVS_DEATH"
		if got := str("deathCertificateNumber"); got != certificate {
			t.Errorf("deathCertificateNumber %q, want %q", got, certificate)
		}
		if nid := str("nationalIdNumber"); !nidRE.MatchString(nid) {
			t.Errorf("nationalIdNumber %q, want 10 digits", nid)
		}
		if str("deathDeclared") != "yes" || !mosipDateRE.MatchString(str("dateOfDeath")) {
			t.Errorf("deathDeclared/dateOfDeath %s/%s", p.RequestFields["deathDeclared"], p.RequestFields["dateOfDeath"])
		}
		if _, ok := p.RequestFields["birthCertificateNumber"]; ok {
			t.Error("a death carries birthCertificateNumber")
		}
	}

	labels := func(text string) map[string]any {
		var list []struct {
			Label string `json:"label"`
			Value any    `json:"value"`
		}
		if err := json.Unmarshal([]byte(text), &list); err != nil {
			t.Errorf("metaInfo list %q: %v", text, err)
		}
		m := map[string]any{}
		for _, l := range list {
			m[l.Label] = l.Value
		}
		return m
	}
	meta := labels(p.MetaInfo.MetaData)
	if meta["registrationType"] != regType || meta["centerId"] == nil || meta["machineId"] == nil {
		t.Errorf("metaData %v, want registrationType %s, centerId, machineId", meta, regType)
	}
	if ops := labels(p.MetaInfo.OperationsData); ops["officerId"] == nil {
		t.Errorf("operationsData %v, want officerId", ops)
	}
	if p.MetaInfo.RegistrationID != certificate || p.MetaInfo.CapturedRegisteredDevices != "[]" {
		t.Errorf("metaInfo %+v", p.MetaInfo)
	}
	if _, err := time.Parse("20060102150405", p.MetaInfo.CreationDate); err != nil {
		t.Errorf("creationDate %q: %v", p.MetaInfo.CreationDate, err)
	}
	for _, k := range []string{"uuid", "createdAt", "hostName", "hostIp", "sessionUserId", "sessionUserName", "createdBy", "description", "actionTimeStamp"} {
		if p.Audit[k] == "" {
			t.Errorf("audit.%s is empty", k)
		}
	}
	wantAudit := map[string]string{"eventId": "REG-EVT-066", "eventName": "PACKET_CREATION_SUCCESS", "eventType": "USER",
		"applicationId": "REG", "applicationName": "REGISTRATION", "idType": "REGISTRATION_ID",
		"moduleName": "Packet Handler", "moduleId": "REG-MOD-117", "id": certificate}
	for k, v := range wantAudit {
		if p.Audit[k] != v {
			t.Errorf("audit.%s = %q, want %q", k, p.Audit[k], v)
		}
	}
}

// TestChildrenAreDemographicallyUnique checks that 100,000 generated births
// never share (child's full name, date of birth, gender, mother's name): the
// MOSIP simulator rejects such duplicates as demographic dedupe does.
func TestChildrenAreDemographicallyUnique(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, seed := range []uint64{1} {
		g := newGenerator(seed)
		seen := make(map[string]struct{}, 100_000)
		for i := range 100_000 {
			child, mother, _ := g.birthIdentity(now)
			if child.birthDate.After(now) || now.Sub(child.birthDate) > 365*24*time.Hour {
				t.Fatalf("seed %d, child %d: born %s, want within the last year", seed, i, child.birthDate)
			}
			key := child.fullName() + "|" + child.birthDate.Format(fhirDate) + "|" + child.gender + "|" + mother.fullName()
			if _, dup := seen[key]; dup {
				t.Fatalf("seed %d, child %d: duplicate demographics after %d children", seed, i, len(seen))
			}
			seen[key] = struct{}{}
		}
	}
}

func TestNationalIDsAreUniqueAndValid(t *testing.T) {
	t.Parallel()
	g := newGenerator(3)
	seen := make(map[string]struct{}, 20_000)
	for range 20_000 {
		nid := g.nid()
		if !nidRE.MatchString(nid) || !mosip.VerhoeffValid(nid) {
			t.Fatalf("nid %q: want 10 digits, first not 0, Verhoeff-valid", nid)
		}
		if _, dup := seen[nid]; dup {
			t.Fatalf("nid %q repeated", nid)
		}
		seen[nid] = struct{}{}
	}
}

func TestTrackingIDsAreUnique(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Key: testKey(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 5_000 {
		kind := "birth"
		re := birthTrackingRE
		if i%2 == 1 {
			kind, re = "death", deathTrackingRE
		}
		id, err := s.reserveTrackingID(kind)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("tracking id %q: malformed or repeated", id)
		}
		seen[id] = true
	}
}

func TestSeedMakesContentRepeatable(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	a, b := newGenerator(42), newGenerator(42)
	for range 50 {
		da, db := a.birth(now, true), b.birth(now, true)
		if da.subject.fullName() != db.subject.fullName() || da.mother.nid != db.mother.nid || !da.subject.birthDate.Equal(db.subject.birthDate) {
			t.Fatalf("same seed, different records: %q/%q", da.subject.fullName(), db.subject.fullName())
		}
	}
}
