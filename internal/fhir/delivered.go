package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"opencrvs-mosip/internal/bridge"
)

// Registration number identifier types OpenCRVS adds to the registered
// person.
const (
	identifierBRN = "BIRTH_REGISTRATION_NUMBER"
	identifierDRN = "DEATH_REGISTRATION_NUMBER"
)

// ParseDelivered reads the FHIR bundle of an OpenCRVS 1.8 webhook delivery
// (opencrvs.ParseWebhook's Bundle). A bundle with a Composition is read
// exactly as Parse reads it. The bundles OpenCRVS's webhooks service sends
// have none: the registered record's Task first, then the resources the
// subscriber may read, fetched section by section of the Composition but
// sent as a list without the section names (for a national ID client: the
// child, mother, father, informant and a supporting document of a birth;
// the deceased, informant and encounter of a death). From such a bundle:
//
//   - RecordID is the Composition id the Task's focus names, Event the
//     Task's code (BIRTH, DEATH); tracking id (required), registration
//     number, status, contact and last change come from the Task as Parse
//     reads them.
//   - The child or the deceased is the Patient that carries the
//     registration number as an identifier of type
//     BIRTH_REGISTRATION_NUMBER or DEATH_REGISTRATION_NUMBER, as OpenCRVS
//     adds it on registration (either identifier form); failing that, for a
//     death, the one Patient marked deceased. Without it the bundle is
//     refused: nothing else says which Patient the record is about.
//   - The informant is the first RelatedPerson: its relationship, and the
//     Patient it refers to when the bundle has it. That Patient is also the
//     mother, father or spouse when the relationship says so.
//   - Any other parent or spouse is left nil: a Patient's place in the list
//     does not say whose it is (a bundle without the mother's details has
//     the father's where hers would be), and taking the wrong person for
//     the mother is worse than taking none. Mappings that need the mother
//     then refuse the record, saying so.
//
// Errors are *bridge.Error, as for Parse.
func ParseDelivered(data []byte) (*bridge.Record, error) {
	rec, _, err := parseDelivered(data)
	return rec, err
}

func parseDelivered(data []byte) (*bridge.Record, *parser, error) {
	p, err := load(data)
	if err != nil {
		return nil, nil, err
	}
	var rec *bridge.Record
	if p.first("Composition") >= 0 {
		rec, err = p.finish(p.record())
	} else {
		rec, err = p.finish(p.taskRecord())
	}
	return rec, p, err
}

// WithSubjectIdentifier returns the delivered bundle data with the
// identifier {type: typ as an OpenCRVS identifier-type coding, value} on
// the Patient ParseDelivered takes for the record's subject (the child of
// a birth, the deceased of a death), in place of any identifier of type
// typ it had. The other entries, and the other fields of that Patient,
// are kept as they came. A bundle ParseDelivered refuses is refused with
// the same error; a document bundle without the subject's section is
// returned as it is (no other Patient is the record's subject, and the
// receiver refuses or maps the record as it would without the identifier).
func WithSubjectIdentifier(data []byte, typ, value string) ([]byte, error) {
	rec, p, err := parseDelivered(data)
	if err != nil {
		return nil, err
	}
	subject := rec.Child
	if rec.Event == bridge.EventDeath {
		subject = rec.Deceased
	}
	si := -1
	for i, person := range p.persons {
		if subject != nil && person == subject {
			si = i
		}
	}
	if si < 0 {
		return data, nil
	}

	// The parser read the bundle into structs, matching member names
	// without regard to case, as encoding/json does: the edit below finds
	// the same members.
	var bundle, resource map[string]json.RawMessage
	var entries []map[string]json.RawMessage
	var ids []json.RawMessage
	if err := json.Unmarshal(data, &bundle); err != nil {
		return nil, err
	}
	entryKey, err := member(bundle, "entry", "")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(bundle[entryKey], &entries); err != nil {
		return nil, err
	}
	at := fmt.Sprintf("entry[%d]", si)
	resKey, err := member(entries[si], "resource", at)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(entries[si][resKey], &resource); err != nil {
		return nil, err
	}
	idKey, err := member(resource, "identifier", at+".resource")
	if err != nil {
		return nil, err
	}
	if raw, ok := resource[idKey]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, decodeError(at+".resource.identifier", err)
		}
	}
	kept := ids[:0]
	for _, raw := range ids {
		var id identifier
		if json.Unmarshal(raw, &id) != nil || !id.Type.is(typ) {
			kept = append(kept, raw)
		}
	}
	added, err := json.Marshal(map[string]any{
		"type":  map[string]any{"coding": []coding{{System: sysIdentifierType, Code: typ}}},
		"value": value,
	})
	if err != nil {
		return nil, err
	}
	if resource[idKey], err = json.Marshal(append(kept, added)); err != nil {
		return nil, err
	}
	if entries[si][resKey], err = json.Marshal(resource); err != nil {
		return nil, err
	}
	if bundle[entryKey], err = json.Marshal(entries); err != nil {
		return nil, err
	}
	return json.Marshal(bundle)
}

// errCaseVariants marks a JSON object with two members whose names differ
// only in case (WithSubjectIdentifier).
var errCaseVariants = errors.New("members whose names differ only in case")

// member returns the name of obj's member that encoding/json decodes into
// a struct field called name: name itself, or the one member equal to it
// under case folding; name when there is none. Two candidates are
// refused: encoding/json takes the last in the text, which a map does not
// keep.
func member(obj map[string]json.RawMessage, name, path string) (string, error) {
	found := ""
	for k := range obj {
		if !strings.EqualFold(k, name) {
			continue
		}
		if found != "" {
			return "", &bridge.Error{Code: bridge.EInvalid, Field: strings.TrimPrefix(path+"."+name, "."),
				Message: fmt.Sprintf("the object has both %q and %q: write the member once", found, k), Err: errCaseVariants}
		}
		found = k
	}
	if found == "" {
		return name, nil
	}
	return found, nil
}

// taskRecord reads a bundle without a Composition (ParseDelivered).
func (p *parser) taskRecord() (*bridge.Record, error) {
	ti := p.first("Task")
	if ti < 0 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "entry", "the bundle has neither a Composition nor a Task resource")
	}
	tpath := fmt.Sprintf("entry[%d].resource", ti)
	var t task
	if err := p.decode(ti, &t); err != nil {
		return nil, err
	}
	if t.Focus == nil || strings.TrimSpace(t.Focus.Reference) == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, tpath+".focus.reference", "the Task names no Composition, so the record id is unknown")
	}
	typ, id := refParts(t.Focus.Reference)
	if typ != "Composition" || id == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, tpath+".focus.reference", "%q is not a Composition reference (Composition/<record id>)", t.Focus.Reference)
	}
	rec := &bridge.Record{RecordID: id}
	regType := identifierBRN
	var event codeableConcept
	if !isNull(t.Code) {
		if err := json.Unmarshal(t.Code, &event); err != nil {
			return nil, decodeError(tpath+".code", err)
		}
	}
	switch code := event.code(); strings.ToUpper(strings.TrimSpace(code)) {
	case "BIRTH":
		rec.Event = bridge.EventBirth
	case "DEATH":
		rec.Event, regType = bridge.EventDeath, identifierDRN
	case "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, tpath+".code.coding[0].code", "the Task has no event code (want BIRTH or DEATH)")
	default:
		return nil, bridge.FieldErrorf(bridge.EUnsupported, tpath+".code.coding[0].code", "event %q is not supported (want BIRTH or DEATH)", code)
	}
	fillFromTask(rec, &t)
	if rec.TrackingID == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, tpath+".identifier", "no tracking id: no Task identifier has a system ending in %s", sysTrackingID)
	}

	p.persons = make(map[int]*bridge.Person, 8)
	si, err := p.registeredPatient(rec, regType)
	if err != nil {
		return nil, err
	}
	subject, err := p.person(si)
	if err != nil {
		return nil, err
	}
	if subject == nil {
		return nil, bridge.FieldErrorf(bridge.EInvalid, fmt.Sprintf("entry[%d].resource", si), "the registered person's Patient is marked absent (active false, no name)")
	}
	if rec.Event == bridge.EventBirth {
		rec.Child = subject
	} else {
		rec.Deceased = subject
	}
	if err := p.deliveredInformant(rec, si); err != nil {
		return nil, err
	}
	rec.Answers = p.answers()
	return rec, nil
}

// registeredPatient finds the Patient the record registers: the one with
// the registration number identifier (regType) equal to the Task's, or
// with that type when the Task has no number; for a death, else the one
// Patient marked deceased.
func (p *parser) registeredPatient(rec *bridge.Record, regType string) (int, error) {
	var patients []patient
	var index []int
	for i, t := range p.types {
		if t != resourcePatient {
			continue
		}
		var pt patient
		if err := p.decode(i, &pt); err != nil {
			return -1, err
		}
		patients, index = append(patients, pt), append(index, i)
	}
	var other string // a registration number that is not the Task's
	for k, pt := range patients {
		for _, id := range pt.Identifier {
			if !id.Type.is(regType) {
				continue
			}
			v := strings.TrimSpace(id.Value)
			if rec.RegistrationNumber == "" || v == rec.RegistrationNumber {
				return index[k], nil
			}
			other = v
		}
	}
	if rec.Event == bridge.EventDeath {
		found := -1
		for k, pt := range patients {
			if string(bytes.TrimSpace(pt.DeceasedBoolean)) == "true" || strings.TrimSpace(pt.DeceasedDateTime) != "" {
				if found >= 0 {
					found = -2 // more than one: do not guess
					break
				}
				found = index[k]
			}
		}
		if found >= 0 {
			return found, nil
		}
	}
	msg := fmt.Sprintf("the bundle has no Composition and no Patient carries a %s identifier", regType)
	if rec.RegistrationNumber != "" {
		msg += fmt.Sprintf(" equal to the Task's registration number %q", rec.RegistrationNumber)
	}
	if other != "" {
		msg += fmt.Sprintf(" (one carries %q)", other)
	}
	if rec.Event == bridge.EventDeath {
		msg += ", nor is exactly one Patient marked deceased"
	}
	return -1, bridge.FieldErrorf(bridge.EInvalid, "entry", "%s: cannot tell whom the record registers", msg)
}

// deliveredInformant reads the first RelatedPerson: the informant, and the
// parent or spouse it names. A patient reference that is not in the bundle
// leaves the informant without person data (the webhooks service sends
// only the sections the client may read).
func (p *parser) deliveredInformant(rec *bridge.Record, subject int) error {
	ri := p.first("RelatedPerson")
	if ri < 0 {
		return nil
	}
	var rp relatedPerson
	if err := p.decode(ri, &rp); err != nil {
		return err
	}
	inf := &bridge.Informant{Relationship: rp.Relationship.code()}
	rec.Informant = inf
	if rp.Patient == nil || rp.Patient.Reference == "" {
		return nil
	}
	pi := p.resolve(rp.Patient.Reference)
	if pi < 0 || p.types[pi] != resourcePatient || pi == subject {
		return nil
	}
	person, err := p.person(pi)
	if err != nil || person == nil {
		return err
	}
	inf.Person = *person
	inf.Identifiers = clone(person.Identifiers)
	inf.Addresses = cloneAddresses(person.Addresses)
	switch {
	case inf.Relationship == "MOTHER" && rec.Event == bridge.EventBirth:
		rec.Mother = person
	case inf.Relationship == "FATHER" && rec.Event == bridge.EventBirth:
		rec.Father = person
	case inf.Relationship == "SPOUSE" && rec.Event == bridge.EventDeath:
		rec.Spouse = person
	}
	return nil
}

// refParts splits a reference ("Type/id", "/fhir/Type/id/_history/v",
// "http://host/fhir/Type/id") into type and id.
func refParts(ref string) (typ, id string) {
	parts := strings.Split(strings.Trim(strings.TrimSpace(ref), "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	if n := len(parts); n >= 2 {
		return parts[n-2], parts[n-1]
	}
	return "", ""
}
