// Package fhir reads the FHIR STU3 document bundles OpenCRVS 1.8 sends (to
// the country configuration's event-registration hook and to webhooks) into
// a bridge.Record, the shape country rules and mappings work on.
//
// It reads only what the mediator needs and ignores everything else. Every
// error is a *bridge.Error whose Field is a JSON path into the bundle (for
// example entry[0].resource.section[2].entry[0].reference), so whoever sent
// the bundle can find what is wrong.
package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// OpenCRVS codes and URLs the parser relies on.
const (
	docTypeBirth = "birth-declaration"
	docTypeDeath = "death-declaration"

	extNationality   = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
	extContactEmail  = "/contact-person-email"
	extContactPhone  = "/contact-person-phone-number"
	sysTrackingID    = "-tracking-id"
	sysRegistration  = "-registration-number"
	identifierNID    = "NATIONAL_ID"
	historySuffix    = "History"
	resourcePatient  = "Patient"
	resourceLocation = "Location"
)

// Parse reads an OpenCRVS 1.8 FHIR STU3 document bundle.
//
// References ("Patient/<id>", also absolute URLs and "urn:uuid:" full URLs)
// are resolved inside the bundle; the first entry with a given type and id
// wins and *History resources are ignored. A section that names a person
// who is marked absent (active false and no name, like an unknown father)
// gives a nil person.
func Parse(data []byte) (*bridge.Record, error) {
	p, err := load(data)
	if err != nil {
		return nil, err
	}
	return p.finish(p.record())
}

// load decodes and indexes a bundle.
func load(data []byte) (*parser, error) {
	var b bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, bundleError(data, err)
	}
	if b.ResourceType != "Bundle" {
		return nil, &bridge.Error{Code: bridge.EInvalid, Field: "resourceType",
			Message: fmt.Sprintf("is %q, want \"Bundle\"", b.ResourceType)}
	}
	if len(b.Entry) == 0 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "entry", "the bundle has no entries")
	}
	p := &parser{
		meta:  b.Meta,
		raw:   make([]json.RawMessage, len(b.Entry)),
		types: make([]string, len(b.Entry)),
		byRef: make(map[string]int, len(b.Entry)),
		byURL: make(map[string]int, len(b.Entry)),
		names: make(map[int]string),
	}
	for i := range b.Entry {
		if err := p.index(i, &b.Entry[i]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// finish completes what record or taskRecord read with the bundle's
// lastUpdated.
func (p *parser) finish(rec *bridge.Record, err error) (*bridge.Record, error) {
	if err != nil {
		return nil, err
	}
	if rec.LastModified == nil && p.meta != nil {
		rec.LastModified = parseTime(p.meta.LastUpdated)
	}
	return rec, nil
}

type parser struct {
	meta  *meta             // the bundle's
	raw   []json.RawMessage // resource of each entry (nil when absent)
	types []string          // resourceType of each entry
	byRef map[string]int    // "Type/id" -> entry index
	byURL map[string]int    // fullUrl -> entry index
	// persons caches the Patients already read, by entry index, so that an
	// informant who is the mother repeats exactly the mother's data.
	persons map[int]*bridge.Person
	// names caches Location names: OpenCRVS Locations carry large
	// boundary and statistics extensions, worth reading once.
	names map[int]string
}

func (p *parser) index(i int, ent *entry) error {
	if isNull(ent.Resource) {
		return nil
	}
	var h resourceHeader
	if err := json.Unmarshal(ent.Resource, &h); err != nil {
		return decodeError(fmt.Sprintf("entry[%d].resource", i), err)
	}
	if h.ResourceType == "" || strings.HasSuffix(h.ResourceType, historySuffix) {
		return nil
	}
	p.raw[i], p.types[i] = ent.Resource, h.ResourceType
	if h.ID != "" {
		if _, dup := p.byRef[h.ResourceType+"/"+h.ID]; !dup {
			p.byRef[h.ResourceType+"/"+h.ID] = i
		}
	}
	if ent.FullURL != "" {
		if _, dup := p.byURL[ent.FullURL]; !dup {
			p.byURL[ent.FullURL] = i
		}
	}
	return nil
}

// resolve returns the entry a reference points to, or -1.
func (p *parser) resolve(ref string) int {
	if ref == "" {
		return -1
	}
	if i, ok := p.byURL[ref]; ok {
		return i
	}
	// "Type/id", "/fhir/Type/id/_history/v", "http://host/fhir/Type/id".
	parts := strings.Split(strings.Trim(ref, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	if n := len(parts); n >= 2 {
		if i, ok := p.byRef[parts[n-2]+"/"+parts[n-1]]; ok {
			return i
		}
	}
	return -1
}

func (p *parser) decode(i int, v any) error {
	if err := json.Unmarshal(p.raw[i], v); err != nil {
		return decodeError(fmt.Sprintf("entry[%d].resource", i), err)
	}
	return nil
}

func (p *parser) first(resourceType string) int {
	for i, t := range p.types {
		if t == resourceType {
			return i
		}
	}
	return -1
}

func (p *parser) record() (*bridge.Record, error) {
	ci := p.first("Composition")
	if ci < 0 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "entry", "the bundle has no Composition resource")
	}
	cpath := fmt.Sprintf("entry[%d].resource", ci)
	var comp composition
	if err := p.decode(ci, &comp); err != nil {
		return nil, err
	}
	rec := &bridge.Record{RecordID: comp.ID}
	if comp.ID == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, cpath+".id", "the Composition has no id")
	}
	switch code := comp.Type.code(); code {
	case docTypeBirth:
		rec.Event = bridge.EventBirth
	case docTypeDeath:
		rec.Event = bridge.EventDeath
	case "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, cpath+".type.coding[0].code",
			"the Composition has no document type (want %s or %s)", docTypeBirth, docTypeDeath)
	default:
		return nil, bridge.FieldErrorf(bridge.EUnsupported, cpath+".type.coding[0].code",
			"document type %q is not supported (want %s or %s)", code, docTypeBirth, docTypeDeath)
	}

	if err := p.readTask(rec, ci); err != nil {
		return nil, err
	}
	if rec.TrackingID == "" && comp.Identifier != nil {
		rec.TrackingID = strings.TrimSpace(comp.Identifier.Value)
	}
	if rec.TrackingID == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, cpath+".identifier.value",
			"no tracking id: no Task identifier has a system ending in %s and the Composition has no identifier", sysTrackingID)
	}

	p.persons = make(map[int]*bridge.Person, 8)
	var informant = -1 // section index of informant-details, read after the others
	for s, sec := range comp.Section {
		code := sec.Code.code()
		target := p.sectionTarget(rec, code)
		if target == nil && code != "informant-details" && code != "birth-encounter" && code != "death-encounter" {
			continue
		}
		if len(sec.Entry) == 0 {
			continue
		}
		refPath := fmt.Sprintf("%s.section[%d].entry[0].reference", cpath, s)
		ref := sec.Entry[0].Reference
		ei := p.resolve(ref)
		if ei < 0 {
			return nil, bridge.FieldErrorf(bridge.EInvalid, refPath,
				"reference %q does not resolve to a resource in the bundle", ref)
		}
		switch {
		case code == "informant-details":
			if informant < 0 {
				informant = s
			}
		case code == "birth-encounter" || code == "death-encounter":
			if rec.PlaceOfEvent != nil {
				continue
			}
			place, err := p.place(ei, refPath)
			if err != nil {
				return nil, err
			}
			rec.PlaceOfEvent = place
		default:
			if *target != nil {
				continue // the first section of a kind wins
			}
			if p.types[ei] != resourcePatient {
				return nil, bridge.FieldErrorf(bridge.EInvalid, refPath,
					"section %s refers to a %s, want a Patient", code, p.types[ei])
			}
			person, err := p.person(ei)
			if err != nil {
				return nil, err
			}
			*target = person
		}
	}
	if informant >= 0 {
		refPath := fmt.Sprintf("%s.section[%d].entry[0].reference", cpath, informant)
		inf, err := p.informant(p.resolve(comp.Section[informant].Entry[0].Reference), refPath)
		if err != nil {
			return nil, err
		}
		rec.Informant = inf
	}
	rec.Answers = p.answers()
	return rec, nil
}

// sectionTarget returns where a person section's Patient goes.
func (p *parser) sectionTarget(rec *bridge.Record, code string) **bridge.Person {
	switch code {
	case "child-details":
		return &rec.Child
	case "mother-details":
		return &rec.Mother
	case "father-details":
		return &rec.Father
	case "deceased-details":
		return &rec.Deceased
	case "spouse-details":
		return &rec.Spouse
	}
	return nil
}

// readTask fills what the record's Task carries: the Task focused on the
// Composition, else the first Task.
func (p *parser) readTask(rec *bridge.Record, ci int) error {
	ti := -1
	for i, t := range p.types {
		if t != "Task" {
			continue
		}
		if ti < 0 {
			ti = i
		}
		var t task
		if json.Unmarshal(p.raw[i], &t) == nil && t.Focus != nil && p.resolve(t.Focus.Reference) == ci {
			ti = i
			break
		}
	}
	if ti < 0 {
		return nil
	}
	var t task
	if err := p.decode(ti, &t); err != nil {
		return err
	}
	fillFromTask(rec, &t)
	return nil
}

// fillFromTask copies what a Task says of the record: tracking id,
// registration number, contact, status, last change.
func fillFromTask(rec *bridge.Record, t *task) {
	for _, id := range t.Identifier {
		v := strings.TrimSpace(id.Value)
		switch {
		case strings.HasSuffix(id.System, sysTrackingID) && rec.TrackingID == "":
			rec.TrackingID = v
		case strings.HasSuffix(id.System, sysRegistration) && rec.RegistrationNumber == "":
			rec.RegistrationNumber = v
		}
	}
	for _, ext := range t.Extension {
		switch {
		case strings.HasSuffix(ext.URL, extContactEmail) && rec.Contact.Email == "":
			rec.Contact.Email = strings.TrimSpace(ext.ValueString)
		case strings.HasSuffix(ext.URL, extContactPhone) && rec.Contact.Phone == "":
			rec.Contact.Phone = strings.TrimSpace(ext.ValueString)
		}
	}
	rec.Status = t.BusinessStatus.code()
	rec.LastModified = parseTime(t.LastModified)
}

// person reads the Patient at entry i; nil when the Patient is marked absent.
func (p *parser) person(i int) (*bridge.Person, error) {
	if person, ok := p.persons[i]; ok {
		return person, nil
	}
	var pt patient
	if err := p.decode(i, &pt); err != nil {
		return nil, err
	}
	name := personName(pt.Name)
	if pt.Active != nil && !*pt.Active && name.Full == "" {
		p.persons[i] = nil
		return nil, nil
	}
	person := &bridge.Person{
		Name:      name,
		BirthDate: datePart(pt.BirthDate),
		DeathDate: datePart(pt.DeceasedDateTime),
		Gender:    strings.TrimSpace(pt.Gender),
	}
	for _, id := range pt.Identifier {
		v := strings.TrimSpace(id.Value)
		if v == "" {
			continue
		}
		person.Identifiers = append(person.Identifiers, bridge.Identifier{Type: id.Type.code(), Value: v})
		if id.Type.is(identifierNID) && person.NationalID == "" {
			person.NationalID = v
		}
	}
	for _, a := range pt.Address {
		addr := bridge.Address{
			Type:       a.Type,
			City:       strings.TrimSpace(a.City),
			District:   p.locationName(strings.TrimSpace(a.District)),
			State:      p.locationName(strings.TrimSpace(a.State)),
			PostalCode: strings.TrimSpace(a.PostalCode),
			Country:    strings.TrimSpace(a.Country),
		}
		for _, l := range a.Line {
			if l = strings.TrimSpace(l); l != "" {
				addr.Lines = append(addr.Lines, l)
			}
		}
		person.Addresses = append(person.Addresses, addr)
	}
	for _, ext := range pt.Extension {
		if ext.URL != extNationality || person.Nationality != "" {
			continue
		}
		for _, sub := range ext.Extension {
			if sub.URL == "code" {
				person.Nationality = sub.ValueCodeableConcept.code()
				break
			}
		}
	}
	p.persons[i] = person
	return person, nil
}

// informant reads the informant-details section's resource: a RelatedPerson
// (or, leniently, a Patient).
func (p *parser) informant(i int, refPath string) (*bridge.Informant, error) {
	switch p.types[i] {
	case resourcePatient:
		person, err := p.person(i)
		if err != nil || person == nil {
			return nil, err
		}
		return &bridge.Informant{Person: *person}, nil
	case "RelatedPerson":
	default:
		return nil, bridge.FieldErrorf(bridge.EInvalid, refPath,
			"section informant-details refers to a %s, want a RelatedPerson", p.types[i])
	}
	var rp relatedPerson
	if err := p.decode(i, &rp); err != nil {
		return nil, err
	}
	inf := &bridge.Informant{Relationship: rp.Relationship.code()}
	if rp.Patient == nil || rp.Patient.Reference == "" {
		return inf, nil
	}
	pi := p.resolve(rp.Patient.Reference)
	patientPath := fmt.Sprintf("entry[%d].resource.patient.reference", i)
	if pi < 0 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, patientPath,
			"reference %q does not resolve to a resource in the bundle", rp.Patient.Reference)
	}
	if p.types[pi] != resourcePatient {
		return nil, bridge.FieldErrorf(bridge.EInvalid, patientPath,
			"the informant's patient is a %s, want a Patient", p.types[pi])
	}
	person, err := p.person(pi)
	if err != nil {
		return nil, err
	}
	if person != nil {
		inf.Person = *person
		inf.Identifiers = clone(person.Identifiers)
		inf.Addresses = cloneAddresses(person.Addresses)
	}
	return inf, nil
}

// place reads the location of a birth or death Encounter.
func (p *parser) place(i int, refPath string) (*bridge.Place, error) {
	if p.types[i] != "Encounter" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, refPath,
			"the encounter section refers to a %s, want an Encounter", p.types[i])
	}
	var enc encounter
	if err := p.decode(i, &enc); err != nil {
		return nil, err
	}
	for _, l := range enc.Location {
		if l.Location == nil || l.Location.Reference == "" {
			continue
		}
		li := p.resolve(l.Location.Reference)
		if li < 0 || p.types[li] != resourceLocation {
			ref := strings.TrimSuffix(l.Location.Reference, "/")
			return &bridge.Place{ID: ref[strings.LastIndexByte(ref, '/')+1:]}, nil
		}
		var loc location
		if err := p.decode(li, &loc); err != nil {
			return nil, err
		}
		return &bridge.Place{ID: loc.ID, Name: strings.TrimSpace(loc.Name), Type: loc.Type.code()}, nil
	}
	return nil, nil
}

// locationName returns the name of the Location with this id when the
// bundle carries it, else the id itself.
func (p *parser) locationName(id string) string {
	if id == "" {
		return ""
	}
	i, ok := p.byRef[resourceLocation+"/"+id]
	if !ok {
		return id
	}
	name, ok := p.names[i]
	if !ok {
		var loc location
		if json.Unmarshal(p.raw[i], &loc) == nil {
			name = strings.TrimSpace(loc.Name)
		}
		p.names[i] = name
	}
	if name == "" {
		return id
	}
	return name
}

// answers collects every QuestionnaireResponse item: text -> first answer.
func (p *parser) answers() map[string]string {
	var out map[string]string
	for i, t := range p.types {
		if t != "QuestionnaireResponse" {
			continue
		}
		var qr questionnaireResponse
		if json.Unmarshal(p.raw[i], &qr) != nil {
			continue // custom answers are optional; a malformed one is ignored
		}
		if out == nil {
			out = make(map[string]string)
		}
		collectAnswers(out, qr.Item)
	}
	return out
}

func collectAnswers(out map[string]string, items []qrItem) {
	for _, it := range items {
		if _, seen := out[it.Text]; it.Text != "" && !seen && len(it.Answer) > 0 {
			if v, ok := answerText(it.Answer[0]); ok {
				out[it.Text] = v
			}
		}
		collectAnswers(out, it.Item)
	}
}

func answerText(a qrAnswer) (string, bool) {
	switch {
	case a.ValueString != nil:
		return *a.ValueString, true
	case a.ValueBoolean != nil:
		return strconv.FormatBool(*a.ValueBoolean), true
	case a.ValueInteger != nil:
		return a.ValueInteger.String(), true
	case a.ValueCoding != nil:
		return a.ValueCoding.Code, true
	case a.ValueDate != nil:
		return *a.ValueDate, true
	case a.ValueDateTime != nil:
		return *a.ValueDateTime, true
	}
	return "", false
}

// personName picks the name with use "en", else the first, and joins its
// non-empty parts with single spaces.
func personName(names []humanName) bridge.Name {
	if len(names) == 0 {
		return bridge.Name{}
	}
	hn := names[0]
	for _, n := range names {
		if n.Use == "en" {
			hn = n
			break
		}
	}
	var name bridge.Name
	parts := make([]string, 0, len(hn.Given)+1)
	for _, g := range hn.Given {
		if g = strings.Join(strings.Fields(g), " "); g != "" {
			name.Given = append(name.Given, g)
			parts = append(parts, g)
		}
	}
	if name.Family = strings.Join(strings.Fields(string(hn.Family)), " "); name.Family != "" {
		parts = append(parts, name.Family)
	}
	name.Full = strings.Join(parts, " ")
	return name
}

// datePart returns the date of a FHIR date or dateTime ("2024-12-02T10:00:00Z"
// -> "2024-12-02"); partial dates are returned as they are.
func datePart(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		return s[:10]
	}
	return s
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func clone(ids []bridge.Identifier) []bridge.Identifier {
	if ids == nil {
		return nil
	}
	return append([]bridge.Identifier(nil), ids...)
}

func cloneAddresses(as []bridge.Address) []bridge.Address {
	if as == nil {
		return nil
	}
	out := make([]bridge.Address, len(as))
	for i, a := range as {
		out[i] = a
		if a.Lines != nil {
			out[i].Lines = append([]string(nil), a.Lines...)
		}
	}
	return out
}

// bundleError explains why the bundle did not decode. The whole bundle is
// decoded in one pass; only when that fails are the entries decoded one by
// one, to name the entry at fault.
func bundleError(data []byte, err error) *bridge.Error {
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) || !strings.HasPrefix(typ.Field, "entry.") {
		return decodeError("", err)
	}
	var b struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if json.Unmarshal(data, &b) != nil {
		return decodeError("", err)
	}
	for i, raw := range b.Entry {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return decodeError(fmt.Sprintf("entry[%d]", i), err)
		}
	}
	return decodeError("", err)
}

// decodeError turns an encoding/json error into an *bridge.Error naming the
// place in the bundle.
func decodeError(path string, err error) *bridge.Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &bridge.Error{Code: bridge.EInvalid, Field: path,
			Message: fmt.Sprintf("not valid JSON (at byte %d)", syn.Offset), Err: err}
	case errors.As(err, &typ):
		field := path
		if typ.Field != "" {
			if field != "" {
				field += "."
			}
			field += typ.Field
		}
		return &bridge.Error{Code: bridge.EInvalid, Field: field,
			Message: fmt.Sprintf("is a JSON %s, want %s", typ.Value, kindName(typ.Type)), Err: err}
	}
	return &bridge.Error{Code: bridge.EInvalid, Field: path, Message: "not valid JSON", Err: err}
}

func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage
			return "a JSON value"
		}
		return "an array"
	case reflect.Pointer:
		return kindName(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	}
	return "another type"
}
