// Package eventsv2 reads the OpenCRVS 1.9 ("events v2") EventDocument that
// core posts to the country configuration's action trigger
// (/trigger/events/{event}/actions/REGISTER) into a bridge.Record, the shape
// country rules and mappings work on.
//
// An EventDocument is a list of actions (CREATE, DECLARE, VALIDATE,
// REGISTER, ...); each action carries the form answers it set in its
// declaration, keyed by field id ("child.name", "mother.nid",
// "mother.verified", ...). The record's declaration is the merge of the
// declarations of every action that was not rejected, in order, later
// answers winning, as OpenCRVS computes the current state of an event.
//
// Like package fhir it reads only what the mediator needs and ignores the
// rest. Every error is a *bridge.Error whose Field is a JSON path into the
// document.
package eventsv2

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// Action types and statuses the mediator looks at.
const (
	ActionRegister = "REGISTER"

	StatusRequested = "Requested"
	StatusAccepted  = "Accepted"
	StatusRejected  = "Rejected"
)

// Document is an OpenCRVS 1.9 EventDocument, reduced to what the mediator
// reads.
type Document struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	TrackingID string   `json:"trackingId"`
	CreatedAt  string   `json:"createdAt"`
	UpdatedAt  string   `json:"updatedAt"`
	Actions    []Action `json:"actions"`
}

// Action is one action of an EventDocument.
type Action struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status"`
	// TransactionID is the id of the request that created the action.
	TransactionID string `json:"transactionId"`
	CreatedAt     string `json:"createdAt"`
	// Declaration holds the form answers the action set.
	Declaration map[string]json.RawMessage `json:"declaration"`
	// OriginalActionID is set on the confirmation of an asynchronous action:
	// the id of the Requested action it accepts or rejects.
	OriginalActionID   string `json:"originalActionId"`
	RegistrationNumber string `json:"registrationNumber"`
}

// Parse reads an EventDocument. It checks the shape the mediator relies on:
// an id, a type and a list of actions, each with an id and a type.
func Parse(data []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, decodeError(err)
	}
	if strings.TrimSpace(d.ID) == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "id", "the event id is missing")
	}
	if strings.TrimSpace(d.Type) == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "type", "the event type (birth or death) is missing")
	}
	if len(d.Actions) == 0 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "actions", "the event has no actions")
	}
	for i, a := range d.Actions {
		if strings.TrimSpace(a.ID) == "" {
			return nil, bridge.FieldErrorf(bridge.EInvalid, fmt.Sprintf("actions[%d].id", i), "the action id is missing")
		}
		if strings.TrimSpace(a.Type) == "" {
			return nil, bridge.FieldErrorf(bridge.EInvalid, fmt.Sprintf("actions[%d].type", i), "the action type is missing")
		}
	}
	return &d, nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &bridge.Error{Code: bridge.EInvalid, Field: te.Field,
			Message: fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}
	}
	return &bridge.Error{Code: bridge.EInvalid, Message: "the body is not a JSON EventDocument: " + err.Error()}
}

func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	}
	return "a " + kind
}

// Kind is the civil registration event of the document: "birth" and
// "death" (also spelled "v2.birth", "BIRTH", ...); anything else is
// EUnsupported.
func (d *Document) Kind() (bridge.EventKind, error) {
	t := strings.ToLower(strings.TrimSpace(d.Type))
	t = strings.TrimPrefix(t, "v2.")
	switch t {
	case "birth":
		return bridge.EventBirth, nil
	case "death":
		return bridge.EventDeath, nil
	}
	return "", bridge.FieldErrorf(bridge.EUnsupported, "type", "event type %q is not sent to MOSIP (want birth or death)", d.Type)
}

// Action returns the action with id, or nil.
func (d *Document) Action(id string) *Action {
	for i := range d.Actions {
		if d.Actions[i].ID == id {
			return &d.Actions[i]
		}
	}
	return nil
}

// Confirmation returns the action that accepted or rejected the Requested
// action id (a later action with originalActionId id), or nil.
func (d *Document) Confirmation(id string) *Action {
	for i := range d.Actions {
		if a := &d.Actions[i]; a.OriginalActionID == id && a.ID != id {
			return a
		}
	}
	return nil
}

// Pending returns the state of action a as OpenCRVS sees it: its own
// status, or the status of the action that confirmed it.
func (d *Document) Pending(a *Action) string {
	if c := d.Confirmation(a.ID); c != nil && c.Status != "" {
		return c.Status
	}
	return a.Status
}

// Declaration returns the form answers of the event: the declarations of
// its actions merged in order (later answers win), leaving out actions that
// were rejected (their own status or their confirmation's).
func (d *Document) Declaration() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage)
	for i := range d.Actions {
		a := &d.Actions[i]
		if d.Pending(a) == StatusRejected {
			continue
		}
		for k, v := range a.Declaration {
			out[k] = v
		}
	}
	return out
}

// RegistrationNumber returns the number of an accepted REGISTER action, or
// "" when the event is not registered.
func (d *Document) RegistrationNumber() string {
	for i := range d.Actions {
		a := &d.Actions[i]
		if a.Type != ActionRegister || a.OriginalActionID != "" || d.Pending(a) != StatusAccepted {
			continue
		}
		if a.RegistrationNumber != "" {
			return a.RegistrationNumber
		}
		if c := d.Confirmation(a.ID); c != nil && c.RegistrationNumber != "" {
			return c.RegistrationNumber
		}
	}
	return ""
}

// Record reads the document's declaration into a bridge.Record. RecordID is
// the event id. The declaration keys it reads are those of OpenCRVS's
// Farajaland v1.9 forms:
//
//	child.name {firstname, middlename, surname}, child.dob, child.gender,
//	child.placeOfBirth, child.birthLocation
//	mother.*, father.*, informant.*, deceased.*, spouse.*: name, dob, gender,
//	  nid, passport, brn, nationality, address, verified
//	  (mother|father.detailsNotAvailable true: the person is absent;
//	  father.addressSameAs YES: the mother's address)
//	informant.relation (MOTHER, FATHER, SPOUSE: that person informs),
//	  informant.email, informant.phoneNo (the record's contact)
//	eventDetails.date (date of death), eventDetails.placeOfDeath,
//	  eventDetails.deathLocation
//
// Every answer that is a string, number or boolean is also in
// Record.Answers under its key, for country rules that read other fields.
// "<person>.verified" becomes the person's Verification.
func Record(d *Document) (*bridge.Record, error) {
	kind, err := d.Kind()
	if err != nil {
		return nil, err
	}
	decl := declaration(d.Declaration())
	rec := &bridge.Record{
		Event:              kind,
		RecordID:           d.ID,
		TrackingID:         strings.TrimSpace(d.TrackingID),
		RegistrationNumber: d.RegistrationNumber(),
		Answers:            decl.answers(),
		Contact: bridge.Contact{
			Email: decl.str("informant.email"),
			Phone: decl.str("informant.phoneNo"),
		},
	}
	if t, err := time.Parse(time.RFC3339Nano, d.UpdatedAt); err == nil {
		t = t.UTC()
		rec.LastModified = &t
	}
	switch kind {
	case bridge.EventBirth:
		rec.Child = decl.person("child")
		rec.Mother = decl.person("mother")
		rec.Father = decl.person("father")
		if rec.Father != nil && rec.Mother != nil && len(rec.Father.Addresses) == 0 && decl.yes("father.addressSameAs") {
			rec.Father.Addresses = cloneAddresses(rec.Mother.Addresses)
		}
		if id := decl.str("child.birthLocation"); id != "" || decl.str("child.placeOfBirth") != "" {
			rec.PlaceOfEvent = &bridge.Place{ID: id, Type: decl.str("child.placeOfBirth")}
		}
	case bridge.EventDeath:
		rec.Deceased = decl.person("deceased")
		if rec.Deceased != nil {
			rec.Deceased.DeathDate = decl.date("eventDetails.date")
		}
		rec.Spouse = decl.person("spouse")
		if id := decl.str("eventDetails.deathLocation"); id != "" || decl.str("eventDetails.placeOfDeath") != "" {
			rec.PlaceOfEvent = &bridge.Place{ID: id, Type: decl.str("eventDetails.placeOfDeath")}
		}
	}
	rec.Informant = decl.informant(rec)
	return rec, nil
}

// declaration is a merged declaration: field id -> raw JSON answer.
type declaration map[string]json.RawMessage

// str returns a string answer trimmed, a number or boolean as text, and ""
// for anything else.
func (d declaration) str(key string) string {
	raw := bytes.TrimSpace(d[key])
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return strconv.FormatBool(b)
		}
	case '{', '[', 'n':
	default:
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// yes reports whether an answer is true or YES.
func (d declaration) yes(key string) bool {
	v := d.str(key)
	return strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
}

// date returns a YYYY-MM-DD answer; a date-time keeps its date part; other
// text is returned as it is, for the country rules to refuse.
func (d declaration) date(key string) string {
	v := d.str(key)
	if len(v) > 10 {
		if _, err := time.Parse("2006-01-02", v[:10]); err == nil && (v[10] == 'T' || v[10] == ' ') {
			return v[:10]
		}
	}
	return v
}

// answers returns the scalar answers as text.
func (d declaration) answers() map[string]string {
	out := make(map[string]string, len(d))
	for k := range d {
		if v := d.str(k); v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// has reports whether any answer is about the person with prefix (e.g.
// "mother").
func (d declaration) has(prefix string) bool {
	for k := range d {
		if strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// nameField is the NAME field value of v1.9 forms.
type nameField struct {
	Firstname  string `json:"firstname"`
	Middlename string `json:"middlename"`
	Surname    string `json:"surname"`
}

// name reads a NAME answer; a plain string is taken as the full name, its
// last word the family name.
func (d declaration) name(key string) bridge.Name {
	raw := bytes.TrimSpace(d[key])
	var n bridge.Name
	if len(raw) > 0 && raw[0] == '"' {
		words := strings.Fields(d.str(key))
		if len(words) == 0 {
			return n
		}
		n.Family = words[len(words)-1]
		n.Given = words[:len(words)-1]
		if len(n.Given) == 0 {
			n.Given = nil
		}
		n.Full = strings.Join(words, " ")
		return n
	}
	var f nameField
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &f) != nil {
		return n
	}
	var parts []string
	for _, g := range []string{f.Firstname, f.Middlename} {
		if g = strings.Join(strings.Fields(g), " "); g != "" {
			n.Given = append(n.Given, g)
			parts = append(parts, g)
		}
	}
	if n.Family = strings.Join(strings.Fields(f.Surname), " "); n.Family != "" {
		parts = append(parts, n.Family)
	}
	n.Full = strings.Join(parts, " ")
	return n
}

// addressField is the ADDRESS field value of v1.9 forms: Farajaland's
// (province, district, ...) and the newer administrativeArea form.
type addressField struct {
	Country            string `json:"country"`
	AddressType        string `json:"addressType"`
	AdministrativeArea string `json:"administrativeArea"`
	Province           string `json:"province"`
	State              string `json:"state"`
	District           string `json:"district"`
	Town               string `json:"town"`
	City               string `json:"city"`
	ResidentialArea    string `json:"residentialArea"`
	Village            string `json:"village"`
	Street             string `json:"street"`
	Number             string `json:"number"`
	ZipCode            string `json:"zipCode"`
	PostalCode         string `json:"postalCode"`
	AddressLine1       string `json:"addressLine1"`
	AddressLine2       string `json:"addressLine2"`
	AddressLine3       string `json:"addressLine3"`
}

// address reads an ADDRESS answer as the person's primary address. Area
// fields hold OpenCRVS location ids, as in 1.8 bundles whose locations are
// not included.
func (d declaration) address(key string) []bridge.Address {
	raw := bytes.TrimSpace(d[key])
	var f addressField
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &f) != nil {
		return nil
	}
	a := bridge.Address{
		Type:       "PRIMARY_ADDRESS",
		City:       firstNonEmpty(f.Town, f.City),
		District:   firstNonEmpty(f.District, f.AdministrativeArea),
		State:      firstNonEmpty(f.Province, f.State),
		PostalCode: firstNonEmpty(f.ZipCode, f.PostalCode),
		Country:    strings.TrimSpace(f.Country),
	}
	street := strings.TrimSpace(strings.Join(strings.Fields(f.Number+" "+f.Street), " "))
	for _, l := range []string{f.AddressLine1, street, f.AddressLine2, f.ResidentialArea, f.Village, f.AddressLine3} {
		if l = strings.TrimSpace(l); l != "" {
			a.Lines = append(a.Lines, l)
		}
	}
	if a.City == "" && a.District == "" && a.State == "" && a.PostalCode == "" && a.Country == "" && len(a.Lines) == 0 {
		return nil
	}
	return []bridge.Address{a}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// person reads the person whose answers start with prefix; nil when the
// declaration has none or says the person's details are not available.
func (d declaration) person(prefix string) *bridge.Person {
	if !d.has(prefix) || d.yes(prefix+".detailsNotAvailable") {
		return nil
	}
	p := &bridge.Person{
		Name:         d.name(prefix + ".name"),
		BirthDate:    d.date(prefix + ".dob"),
		Gender:       d.str(prefix + ".gender"),
		NationalID:   d.str(prefix + ".nid"),
		Nationality:  d.str(prefix + ".nationality"),
		Addresses:    d.address(prefix + ".address"),
		Verification: d.str(prefix + ".verified"),
	}
	for _, id := range []struct{ key, typ string }{
		{".nid", "NATIONAL_ID"}, {".passport", "PASSPORT"}, {".brn", "BIRTH_REGISTRATION_NUMBER"},
	} {
		if v := d.str(prefix + id.key); v != "" {
			p.Identifiers = append(p.Identifiers, bridge.Identifier{Type: id.typ, Value: v})
		}
	}
	return p
}

// informant reads the informant: the mother, father or spouse when
// informant.relation says so (with the informant's own answers, such as a
// verification, where given), else the informant's own answers.
func (d declaration) informant(rec *bridge.Record) *bridge.Informant {
	rel := strings.ToUpper(d.str("informant.relation"))
	var same *bridge.Person
	switch rel {
	case "MOTHER":
		same = rec.Mother
	case "FATHER":
		same = rec.Father
	case "SPOUSE":
		same = rec.Spouse
	}
	own := d.person("informant")
	if same == nil && own == nil && rel == "" {
		return nil
	}
	inf := &bridge.Informant{Relationship: rel}
	switch {
	case same != nil:
		inf.Person = *same
		inf.Identifiers = append([]bridge.Identifier(nil), same.Identifiers...)
		inf.Addresses = cloneAddresses(same.Addresses)
		if own != nil && own.Verification != "" {
			inf.Verification = own.Verification
		}
	case own != nil:
		inf.Person = *own
	}
	return inf
}

func cloneAddresses(in []bridge.Address) []bridge.Address {
	if in == nil {
		return nil
	}
	out := make([]bridge.Address, len(in))
	for i, a := range in {
		a.Lines = append([]string(nil), a.Lines...)
		out[i] = a
	}
	return out
}
