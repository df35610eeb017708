package opencrvssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// unusableError is why the record a request names with "of" cannot be
// used: unknown, of the wrong kind, not registered, ... (HTTP 409).
type unusableError struct{ detail string }

func (e *unusableError) Error() string { return e.detail }

func unusable(format string, args ...any) error {
	return &unusableError{detail: fmt.Sprintf(format, args...)}
}

// registered is what a death with "of" or a correction takes from a
// registered original, copied under the lock.
type registered struct {
	id, trackingID, kind, mode     string
	registrationNumber, nationalID string
	// subject and doc are the record as it stands: as its latest registered
	// correction states it, else as it was registered. docOf is the id of
	// the record doc was sent for; doc is nil when it was dropped.
	subject *person
	doc     []byte
	docOf   string
}

// registeredOriginal looks up the registered record of kind want that of
// names. purpose completes error messages ("a death with \"of\" names").
func (s *Sim) registeredOriginal(of, want, purpose string) (registered, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[of]
	switch {
	case !ok:
		return registered{}, unusable("of %q: no record with this id was sent through this simulator", of)
	case rec.correctionOf != "":
		return registered{}, unusable("of %q is a %s of record %s: %s the original %s record, %s",
			of, rec.kind, rec.correctionOf, purpose, want, rec.correctionOf)
	case rec.kind != want:
		return registered{}, unusable("of %q is a %s, not a %s: %s a registered %s", of, rec.kind, want, purpose, want)
	case rec.status != StatusRegistered:
		return registered{}, unusable("%s %q is %s, not registered: wait until the mediator has confirmed it", want, of, rec.status)
	}
	r := registered{
		id: rec.id, trackingID: rec.trackingID, kind: rec.kind, mode: rec.mode,
		registrationNumber: rec.registrationNumber, nationalID: rec.nationalID,
		subject: rec.subject, doc: rec.document, docOf: rec.id,
	}
	for i := len(rec.corrections) - 1; i >= 0; i-- {
		if c, ok := s.records[rec.corrections[i]]; ok && c.status == StatusRegistered {
			r.subject, r.doc, r.docOf = c.subject, c.document, c.id
			break
		}
	}
	return r, nil
}

// deceasedOf returns the person whose death a death with "of" declares:
// the child of a registered birth, as corrected, with the national ID the
// mediator confirmed the birth with.
func (s *Sim) deceasedOf(of string) (*person, error) {
	birth, err := s.registeredOriginal(of, KindBirth, `a death with "of" names`)
	if err != nil {
		return nil, err
	}
	if birth.nationalID == "" {
		return nil, unusable("birth %q was registered without a national ID (its confirmation carried no NATIONAL_ID identifier), so MOSIP holds no identity for the child to mark deceased; send a death without \"of\" instead", of)
	}
	if birth.subject == nil {
		return nil, unusable("the simulator could not read the child of birth %q from the document it was sent with", of)
	}
	p := *birth.subject
	p.nid, p.deathDate = birth.nationalID, time.Time{}
	return &p, nil
}

// prepareCorrection builds a correction of a registered record: its
// current document with the drawn changes (or none), sent as a new record
// with the original's tracking id and registration number.
func (s *Sim) prepareCorrection(req sendRequest) (outgoing, error) {
	want := strings.TrimSuffix(req.Kind, "-correction")
	orig, err := s.registeredOriginal(req.Of, want, "a "+req.Kind+" corrects")
	if err != nil {
		return outgoing{}, err
	}
	if req.modeGiven && req.Mode != orig.mode {
		return outgoing{}, fmt.Errorf("mode %q: a correction is sent in the mode of the record it corrects, %s %q was sent as %s (leave mode out)",
			req.Mode, want, orig.id, orig.mode)
	}
	if orig.doc == nil {
		return outgoing{}, unusable("the document of record %q, which the correction starts from, was dropped to bound memory (the simulator keeps about 5,000 recent documents): correct a more recent record", orig.docOf)
	}
	if orig.subject == nil {
		return outgoing{}, unusable("the simulator could not read the %s's subject from the document of record %q, so it cannot correct it", want, orig.docOf)
	}
	now := s.now()
	var c correction
	if req.Changes == nil || *req.Changes {
		s.genMu.Lock()
		c = s.gen.correct(want, orig.subject, now)
		s.genMu.Unlock()
	}
	spec := correctionSpec{
		id: newUUID(), kind: want, registrationNumber: orig.registrationNumber, nationalID: orig.nationalID,
		change: c, now: now,
	}
	var payload []byte
	if orig.mode == ModeMapped {
		payload, err = correctMapped(orig.doc, spec)
	} else {
		payload, err = correctBundle(orig.doc, spec)
	}
	if err != nil {
		return outgoing{}, unusable("record %q cannot be corrected: %v", orig.docOf, err)
	}
	return outgoing{
		id: spec.id, trackingID: orig.trackingID, kind: req.Kind, mode: orig.mode,
		sub: defaultSubject(), payload: payload,
		subject: readSubject(payload, orig.mode, want), correctionOf: orig.id, changes: c.names(),
	}, nil
}

// correctionSpec is one correction to apply to a document.
type correctionSpec struct {
	id                             string // the correction's record id
	kind                           string // birth | death: the corrected record's kind
	registrationNumber, nationalID string
	change                         correction
	now                            time.Time
}

// decodeTree decodes a JSON object keeping numbers as they are written.
func decodeTree(doc []byte) (obj, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root obj
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	if root == nil {
		return nil, errors.New("the document is not a JSON object")
	}
	return root, nil
}

// encodeTree encodes a decoded document again, without escaping <, > and &
// that the original did not escape either.
func encodeTree(root obj) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ---- FHIR bundles ----

// fhirTree indexes the resources of a decoded bundle.
type fhirTree struct {
	root      obj
	resources []obj
	byURL     map[string]obj
	byRef     map[string]obj // "Type/id"
	comp      obj
}

func parseTree(doc []byte) (*fhirTree, error) {
	root, err := decodeTree(doc)
	if err != nil {
		return nil, err
	}
	t := &fhirTree{root: root, byURL: map[string]obj{}, byRef: map[string]obj{}}
	entries, _ := root["entry"].([]any)
	for _, e := range entries {
		ent, _ := e.(obj)
		res, _ := ent["resource"].(obj)
		if res == nil {
			continue
		}
		t.resources = append(t.resources, res)
		typ, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		if url, _ := ent["fullUrl"].(string); url != "" {
			if _, dup := t.byURL[url]; !dup {
				t.byURL[url] = res
			}
		}
		if typ != "" && id != "" {
			if _, dup := t.byRef[typ+"/"+id]; !dup {
				t.byRef[typ+"/"+id] = res
			}
		}
		if typ == "Composition" && t.comp == nil {
			t.comp = res
		}
	}
	if t.comp == nil {
		return nil, errors.New("the bundle has no Composition")
	}
	return t, nil
}

// resolve finds the resource of a reference: a fullUrl, "Type/id" or a
// URL ending in Type/id (optionally /_history/version).
func (t *fhirTree) resolve(ref string) obj {
	if res, ok := t.byURL[ref]; ok {
		return res
	}
	parts := strings.Split(strings.Trim(ref, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	if n := len(parts); n >= 2 {
		return t.byRef[parts[n-2]+"/"+parts[n-1]]
	}
	return nil
}

// subjectPatient returns the Patient of the child-details (birth) or
// deceased-details (death) section.
func (t *fhirTree) subjectPatient(kind string) obj {
	want := "child-details"
	if kind == KindDeath {
		want = "deceased-details"
	}
	sections, _ := t.comp["section"].([]any)
	for _, s := range sections {
		sec, _ := s.(obj)
		if codeOf(sec["code"]) != want {
			continue
		}
		entries, _ := sec["entry"].([]any)
		if len(entries) == 0 {
			return nil
		}
		e, _ := entries[0].(obj)
		ref, _ := e["reference"].(string)
		if res := t.resolve(ref); res != nil && res["resourceType"] == "Patient" {
			return res
		}
		return nil
	}
	return nil
}

// task returns the Task focused on the Composition, else the first Task.
func (t *fhirTree) task() obj {
	var first obj
	for _, res := range t.resources {
		if res["resourceType"] != "Task" {
			continue
		}
		if first == nil {
			first = res
		}
		if focus, _ := res["focus"].(obj); focus != nil {
			ref, _ := focus["reference"].(string)
			if target := t.resolve(ref); target != nil && target["resourceType"] == "Composition" && target["id"] == t.comp["id"] {
				return res
			}
		}
	}
	return first
}

// codeOf returns coding[0].code of a CodeableConcept.
func codeOf(v any) string {
	cc, _ := v.(obj)
	codings, _ := cc["coding"].([]any)
	if len(codings) == 0 {
		return ""
	}
	c, _ := codings[0].(obj)
	code, _ := c["code"].(string)
	return code
}

// patientName returns the name a Patient is known by: use "en", else the
// first.
func patientName(p obj) obj {
	names, _ := p["name"].([]any)
	var first obj
	for _, n := range names {
		name, _ := n.(obj)
		if name == nil {
			continue
		}
		if first == nil {
			first = name
		}
		if name["use"] == "en" {
			return name
		}
	}
	return first
}

// parseDay reads the date of a FHIR date, dateTime or MOSIP date
// (YYYY/MM/DD) as UTC midnight; zero when it is none.
func parseDay(s string) time.Time {
	if len(s) < 10 {
		return time.Time{}
	}
	for _, layout := range []string{fhirDate, "2006/01/02"} {
		if t, err := time.Parse(layout, s[:10]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// withDay replaces the date of a FHIR date or dateTime, keeping a time part.
func withDay(old string, day time.Time) string {
	d := day.Format(fhirDate)
	if len(old) > 10 && old[10] == 'T' {
		return d + old[10:]
	}
	return d
}

// readSubject reads the child (birth) or the deceased (death) of a
// document; nil when the document does not say who it is.
func readSubject(doc []byte, mode, kind string) *person {
	if mode == ModeMapped {
		return readMappedSubject(doc)
	}
	t, err := parseTree(doc)
	if err != nil {
		return nil
	}
	pt := t.subjectPatient(kind)
	if pt == nil {
		return nil
	}
	p := &person{}
	if name := patientName(pt); name != nil {
		given, _ := name["given"].([]any)
		var rest []string
		for _, g := range given {
			s, _ := g.(string)
			switch s = strings.TrimSpace(s); {
			case s == "":
			case p.given == "":
				p.given = s
			default:
				rest = append(rest, s)
			}
		}
		p.middle = strings.Join(rest, " ")
		p.family, _ = name["family"].(string)
	}
	p.gender, _ = pt["gender"].(string)
	bd, _ := pt["birthDate"].(string)
	dd, _ := pt["deceasedDateTime"].(string)
	p.birthDate, p.deathDate = parseDay(bd), parseDay(dd)
	ids, _ := pt["identifier"].([]any)
	for _, i := range ids {
		id, _ := i.(obj)
		if codeOf(id["type"]) == "NATIONAL_ID" {
			if v, _ := id["value"].(string); v != "" {
				p.nid = v
				break
			}
		}
	}
	if p.given == "" && p.family == "" {
		return nil
	}
	return p
}

// correctBundle applies a correction to a FHIR bundle: the Composition gets
// the correction's id, the Task the registration number, the subject's
// Patient the changes and (a birth) the national ID the birth was
// confirmed with. Everything else stays as it was.
func correctBundle(doc []byte, c correctionSpec) ([]byte, error) {
	t, err := parseTree(doc)
	if err != nil {
		return nil, err
	}
	oldID, _ := t.comp["id"].(string)
	pt := t.subjectPatient(c.kind)
	if pt == nil {
		return nil, fmt.Errorf("the bundle has no Patient in its %s section", map[string]string{KindBirth: "child-details", KindDeath: "deceased-details"}[c.kind])
	}
	task := t.task()
	if task == nil {
		return nil, errors.New("the bundle has no Task to carry the registration number")
	}

	t.comp["id"] = c.id
	renameComposition(t.root, oldID, c.id)

	regSystem := sysTrackingIDPrefix + c.kind + "-registration-number"
	ids, _ := task["identifier"].([]any)
	replaced := false
	for _, i := range ids {
		if id, _ := i.(obj); id != nil {
			if sys, _ := id["system"].(string); strings.HasSuffix(sys, "-registration-number") {
				id["value"], replaced = c.registrationNumber, true
			}
		}
	}
	if !replaced {
		task["identifier"] = append(ids, obj{"system": regSystem, "value": c.registrationNumber})
	}

	ch := c.change
	if ch.given != "" {
		name := patientName(pt)
		if name == nil {
			name = obj{"use": "en"}
			pt["name"] = []any{name}
		}
		given, _ := name["given"].([]any)
		if len(given) == 0 {
			given = []any{ch.given}
		} else {
			given[0] = ch.given
		}
		name["given"] = given
	}
	if !ch.birthDate.IsZero() {
		old, _ := pt["birthDate"].(string)
		pt["birthDate"] = withDay(old, ch.birthDate)
	}
	if !ch.deathDate.IsZero() {
		old, _ := pt["deceasedDateTime"].(string)
		pt["deceasedDateTime"] = withDay(old, ch.deathDate)
	}
	if c.kind == KindBirth && c.nationalID != "" {
		addNationalID(pt, c.nationalID)
	}
	return encodeTree(t.root)
}

// renameComposition points every reference and fullUrl naming the
// Composition at its new id.
func renameComposition(v any, oldID, newID string) {
	if oldID == "" {
		return
	}
	switch x := v.(type) {
	case obj:
		for k, e := range x {
			s, ok := e.(string)
			if !ok {
				renameComposition(e, oldID, newID)
				continue
			}
			if k != "reference" && k != "fullUrl" {
				continue
			}
			switch {
			case s == "urn:uuid:"+oldID:
				x[k] = "urn:uuid:" + newID
			case strings.Contains(s, "Composition/"+oldID):
				x[k] = strings.Replace(s, "Composition/"+oldID, "Composition/"+newID, 1)
			}
		}
	case []any:
		for _, e := range x {
			renameComposition(e, oldID, newID)
		}
	}
}

// addNationalID gives a Patient a NATIONAL_ID identifier unless it has one,
// as OpenCRVS stores the identifiers of confirmRegistration on the child.
func addNationalID(pt obj, nid string) {
	ids, _ := pt["identifier"].([]any)
	for _, i := range ids {
		if id, _ := i.(obj); id != nil && codeOf(id["type"]) == "NATIONAL_ID" {
			return
		}
	}
	pt["identifier"] = append(ids, obj{"value": nid, "type": coding(sysIdentifierType, "NATIONAL_ID")})
}

// ---- mapped payloads ----

// mappedText returns the value of a MOSIP field: a string, or the first
// value of [{language, value}].
func mappedText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		for _, e := range x {
			if m, _ := e.(obj); m != nil {
				if s, ok := m["value"].(string); ok {
					return s
				}
			}
		}
	}
	return ""
}

func readMappedSubject(doc []byte) *person {
	root, err := decodeTree(doc)
	if err != nil {
		return nil
	}
	rf, _ := root["requestFields"].(obj)
	words := strings.Fields(mappedText(rf["fullName"]))
	if len(words) == 0 {
		return nil
	}
	p := &person{given: words[0]}
	if len(words) > 1 {
		p.family = words[len(words)-1]
		p.middle = strings.Join(words[1:len(words)-1], " ")
	}
	p.gender = strings.ToLower(mappedText(rf["gender"]))
	p.birthDate = parseDay(mappedText(rf["dateOfBirth"]))
	p.deathDate = parseDay(mappedText(rf["dateOfDeath"]))
	p.nid = mappedText(rf["nationalIdNumber"])
	return p
}

// replaceFirstWord puts given in place of the first word of a full name.
func replaceFirstWord(full, given string) string {
	full = strings.TrimSpace(full)
	if i := strings.IndexByte(full, ' '); i >= 0 {
		return given + full[i:]
	}
	return given
}

// correctMapped applies a correction to a mapped payload: top-level
// "correction": true, compositionId the correction's id, the certificate
// number the registration number, the changed requestFields, the person's
// national ID (nationalIdNumber, which a death has already), registration
// type CRVS_UPDATE in metaInfo and a new audit event.
func correctMapped(doc []byte, c correctionSpec) ([]byte, error) {
	p, err := decodeTree(doc)
	if err != nil {
		return nil, err
	}
	rf, _ := p["requestFields"].(obj)
	if rf == nil {
		return nil, errors.New("the mapped payload has no requestFields")
	}
	p["compositionId"] = c.id
	p["correction"] = true
	if c.kind == KindBirth {
		rf["birthCertificateNumber"] = c.registrationNumber
	} else {
		rf["deathCertificateNumber"] = c.registrationNumber
	}
	ch := c.change
	if ch.given != "" {
		switch x := rf["fullName"].(type) {
		case string:
			rf["fullName"] = replaceFirstWord(x, ch.given)
		case []any:
			for _, e := range x {
				if m, _ := e.(obj); m != nil {
					if s, ok := m["value"].(string); ok {
						m["value"] = replaceFirstWord(s, ch.given)
					}
				}
			}
		default:
			rf["fullName"] = eng(ch.given)
		}
	}
	if !ch.birthDate.IsZero() {
		rf["dateOfBirth"] = mosipDate(ch.birthDate)
	}
	if !ch.deathDate.IsZero() {
		rf["dateOfDeath"] = mosipDate(ch.deathDate)
	}
	if c.nationalID != "" && mappedText(rf["nationalIdNumber"]) == "" {
		rf["nationalIdNumber"] = c.nationalID
	}
	if meta, _ := p["metaInfo"].(obj); meta != nil {
		if text, ok := meta["metaData"].(string); ok {
			var list []obj
			if json.Unmarshal([]byte(text), &list) == nil {
				for _, l := range list {
					if l["label"] == "registrationType" {
						l["value"] = "CRVS_UPDATE"
					}
				}
				if b, err := json.Marshal(list); err == nil {
					meta["metaData"] = string(b)
				}
			}
		}
	}
	if audit, _ := p["audit"].(obj); audit != nil {
		at := c.now.UTC().Format(fhirInstant)
		audit["uuid"], audit["createdAt"], audit["actionTimeStamp"] = newUUID(), at, at
	}
	return encodeTree(p)
}
