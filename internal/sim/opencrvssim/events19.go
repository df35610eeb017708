package opencrvssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/eventsv2"
	"opencrvs-mosip/internal/opencrvs"
)

// OpenCRVS versions the simulator speaks.
const (
	Version18 = "1.8"
	Version19 = "1.9"
)

// ModeEvent sends an OpenCRVS 1.9 record as the EventDocument core posts
// to the country config's REGISTER trigger (the mediator decides and maps).
const ModeEvent = "event"

// versionOf returns the OpenCRVS version a send request asks for: its
// "version", else the mode's ("event" is 1.9), else the simulator's
// default. A correction goes in the version of the record it corrects.
func (s *Sim) versionOf(req sendRequest) (string, error) {
	v := req.Version
	switch v {
	case "", Version18, Version19:
	default:
		return "", fmt.Errorf("version %q: want %q or %q", v, Version18, Version19)
	}
	if v == "" && req.Mode == ModeEvent {
		v = Version19
	}
	if isCorrection(req.Kind) {
		s.mu.Lock()
		orig, ok := s.records[req.Of]
		origVersion := ""
		if ok {
			origVersion = orig.version
		}
		s.mu.Unlock()
		if origVersion == Version19 || v == Version19 {
			return "", unusable("corrections of OpenCRVS 1.9 records are not simulated (the mediator does not support them yet)")
		}
		return Version18, nil
	}
	if v == "" {
		v = s.defaultVersion
	}
	switch {
	case v == Version19 && req.Mode == ModeFHIR && req.modeGiven:
		return "", errors.New(`mode "fhir": OpenCRVS 1.9 sends an EventDocument ("mode":"event", the default) or the mapped payload ("mode":"mapped")`)
	case v == Version18 && req.Mode == ModeEvent:
		return "", errors.New(`mode "event": an EventDocument is an OpenCRVS 1.9 record; give "version":"1.9" or mode "fhir" or "mapped"`)
	}
	return v, nil
}

// prepare19 builds an OpenCRVS 1.9 record: the caller's EventDocument or
// mapped payload, or a generated one. The record id is the event id; the
// action is the REGISTER action waiting for the mediator.
func (s *Sim) prepare19(req sendRequest) (outgoing, error) {
	if !req.modeGiven || req.Mode == ModeFHIR {
		req.Mode = ModeEvent
	}
	if req.Bundle != nil {
		return s.given19(req)
	}
	kind, d, trackingID, err := s.generate(req)
	if err != nil {
		return outgoing{}, err
	}
	o := outgoing{id: newUUID(), actionID: newUUID(), version: Version19, trackingID: trackingID, kind: kind, mode: req.Mode,
		sub: userID(registrars[d.registrar].username), subject: d.subjectSummary(), deathOf: req.Of}
	var doc obj
	if req.Mode == ModeMapped {
		doc = buildMapped(d, "", trackingID)
		delete(doc, "compositionId") // MosipInteropPayload: the token names the event
	} else {
		doc = buildEventDocument(d, o.id, o.actionID, trackingID)
	}
	if o.payload, err = json.Marshal(doc); err != nil {
		return outgoing{}, fmt.Errorf("opencrvssim: encode %s record: %w", kind, err)
	}
	return o, nil
}

// given19 takes a caller's 1.9 document as it is: an EventDocument names
// its event and its waiting REGISTER action; a mapped payload gets a fresh
// event and action (only the token carries them).
func (s *Sim) given19(req sendRequest) (outgoing, error) {
	if req.Mode == ModeMapped {
		id, trackingID, kind, err := inspectMapped(req.Bundle)
		if err != nil {
			return outgoing{}, err
		}
		kind, err = agreeKind(req.Kind, kind)
		if err != nil {
			return outgoing{}, err
		}
		return outgoing{id: id, actionID: newUUID(), version: Version19, trackingID: trackingID, kind: kind, mode: ModeMapped,
			sub: defaultSubject(), payload: req.Bundle, subject: readSubject(req.Bundle, ModeMapped, kind)}, nil
	}
	doc, err := eventsv2.Parse(req.Bundle)
	if err != nil {
		return outgoing{}, fmt.Errorf("bundle is not an EventDocument: %w", err)
	}
	ek, err := doc.Kind()
	if err != nil {
		return outgoing{}, fmt.Errorf("bundle: %w", err)
	}
	kind, err := agreeKind(req.Kind, string(ek))
	if err != nil {
		return outgoing{}, err
	}
	var pending []string
	for i := range doc.Actions {
		a := &doc.Actions[i]
		if a.Type == eventsv2.ActionRegister && a.OriginalActionID == "" && doc.Pending(a) == eventsv2.StatusRequested {
			pending = append(pending, a.ID)
		}
	}
	if len(pending) != 1 {
		return outgoing{}, fmt.Errorf("bundle has %d REGISTER actions waiting (status Requested, not confirmed); OpenCRVS sends an event with exactly one", len(pending))
	}
	o := outgoing{id: doc.ID, actionID: pending[0], version: Version19, trackingID: doc.TrackingID, kind: kind, mode: ModeEvent,
		sub: defaultSubject(), payload: req.Bundle}
	if rec, err := eventsv2.Record(doc); err == nil {
		o.subject = subjectOfRecord(rec.Child, rec.Deceased)
	}
	return o, nil
}

func agreeKind(asked, found string) (string, error) {
	switch {
	case found == "" && asked == "":
		return KindBirth, nil
	case found == "":
		return asked, nil
	case asked != "" && asked != found:
		return "", fmt.Errorf("kind %q contradicts the bundle, which is a %s", asked, found)
	}
	return found, nil
}

// tokenFor mints the token a record goes with: the 1.8 record token
// (claim recordId) or the 1.9 action confirmation token (claims eventId
// and actionId).
func (s *Sim) tokenFor(o outgoing) (string, error) {
	if o.version == Version19 {
		return s.mintActionToken(o.sub, o.id, o.actionID, recordScopes(), s.tokenTTL)
	}
	return s.mintToken(o.sub, o.id, recordScopes(), s.tokenTTL)
}

// ActionToken mints an OpenCRVS 1.9 action confirmation token for action
// actionID of event eventID, as core's token exchange does (scopes
// record.confirm-registration and record.reject-registration), valid for
// ttl; ttl 0 means Config.TokenTTL.
func (s *Sim) ActionToken(eventID, actionID string, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = s.tokenTTL
	}
	return s.mintActionToken(defaultSubject(), eventID, actionID, recordScopes(), ttl)
}

func (s *Sim) mintActionToken(sub, eventID, actionID string, scope []string, ttl time.Duration) (string, error) {
	now := s.now()
	claims := opencrvs.Claims{
		Subject: sub, Issuer: s.issuer, Audience: s.audience, Scope: scope,
		EventID: eventID, ActionID: actionID, UserType: "user",
		IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(),
	}
	if claims.Scope == nil {
		claims.Scope = []string{}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("opencrvssim: token for event %s: %w", eventID, err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("opencrvssim: sign token for event %s: %w", eventID, err)
	}
	return jws.CompactSerialize()
}

// subjectOfRecord turns the child or the deceased of a parsed document into
// the simulator's person.
func subjectOfRecord(candidates ...*bridge.Person) *person {
	for _, bp := range candidates {
		if bp == nil {
			continue
		}
		p := &person{family: bp.Name.Family, gender: bp.Gender, nid: bp.NationalID,
			birthDate: parseDay(bp.BirthDate), deathDate: parseDay(bp.DeathDate)}
		if len(bp.Name.Given) > 0 {
			p.given, p.middle = bp.Name.Given[0], strings.Join(bp.Name.Given[1:], " ")
		}
		if p.given == "" && p.family == "" {
			return nil
		}
		return p
	}
	return nil
}

// buildEventDocument renders a declaration as the EventDocument OpenCRVS
// 1.9 core posts to the country config's REGISTER trigger: CREATE, DECLARE
// (with the form answers, Farajaland v1.9 field ids) and VALIDATE accepted,
// and the REGISTER action actionID Requested.
func buildEventDocument(d *declaration, eventID, actionID, trackingID string) obj {
	reg := registrars[d.registrar]
	created := d.createdAt.UTC()
	office := officeID(d.office)
	action := func(typ, id, status string, at time.Time, decl obj) obj {
		return obj{
			"id": id, "type": typ, "status": status, "transactionId": newUUID(),
			"createdAt": at.Format(fhirInstant), "createdBy": userID(reg.username),
			"createdByRole": "LOCAL_REGISTRAR", "createdByUserType": "user", "createdBySignature": nil,
			"createdAtLocation": office, "declaration": decl, "annotation": nil, "originalActionId": nil,
		}
	}
	return obj{
		"id": eventID, "type": d.kind, "trackingId": trackingID,
		"createdAt": created.Format(fhirInstant), "updatedAt": created.Add(3 * time.Minute).Format(fhirInstant),
		"actions": []any{
			action("CREATE", newUUID(), eventsv2.StatusAccepted, created, obj{}),
			action("DECLARE", newUUID(), eventsv2.StatusAccepted, created.Add(time.Minute), declaration19(d)),
			action("VALIDATE", newUUID(), eventsv2.StatusAccepted, created.Add(2*time.Minute), obj{}),
			action(eventsv2.ActionRegister, actionID, eventsv2.StatusRequested, created.Add(3*time.Minute), obj{}),
		},
	}
}

// declaration19 is the declaration of a generated record in Farajaland
// v1.9 field ids.
func declaration19(d *declaration) obj {
	out := obj{}
	person := func(prefix string, p *person, withGender bool) {
		if p == nil {
			return
		}
		name := obj{"firstname": p.given, "surname": p.family}
		if p.middle != "" {
			name["middlename"] = p.middle
		}
		out[prefix+".name"] = name
		out[prefix+".dob"] = p.birthDate.Format(fhirDate)
		if withGender {
			out[prefix+".gender"] = p.gender
		}
		if p.nid != "" {
			out[prefix+".idType"] = "NATIONAL_ID"
			out[prefix+".nid"] = p.nid
		}
		if prefix != "child" {
			out[prefix+".nationality"] = countryCode
		}
		if p.addr != nil {
			out[prefix+".address"] = address19(p.addr)
		}
	}
	switch d.kind {
	case KindBirth:
		person("child", d.subject, true)
		out["child.placeOfBirth"] = "HEALTH_FACILITY"
		out["child.birthLocation"] = facilityID(d.facility)
		person("mother", d.mother, false)
		if d.father != nil {
			person("father", d.father, false)
			if d.father.addr == d.mother.addr {
				delete(out, "father.address")
				out["father.addressSameAs"] = "YES"
			}
		} else {
			out["father.detailsNotAvailable"] = true
			out["father.reason"] = "Father unknown"
		}
	case KindDeath:
		person("deceased", d.subject, true)
		if d.spouse != nil {
			out["deceased.maritalStatus"] = "MARRIED"
			person("spouse", d.spouse, false)
		}
		out["eventDetails.date"] = d.deathDate.Format(fhirDate)
		out["eventDetails.placeOfDeath"] = "HEALTH_FACILITY"
		out["eventDetails.deathLocation"] = facilityID(d.facility)
	}
	out["informant.relation"] = d.informantRel
	if d.informant != nil {
		person("informant", d.informant, false)
	}
	out["informant.email"] = d.email
	out["informant.phoneNo"] = d.phone
	// In-form verification results, as the 1.8 form answers
	// "<event>.<section>.<section>-view-group.verified" are in 1.9
	// "<section>.verified".
	for _, it := range d.items {
		parts := strings.Split(it.text, ".")
		if len(parts) == 4 && parts[3] == "verified" {
			out[parts[1]+".verified"] = it.value
		}
	}
	return out
}

func address19(a *address) obj {
	return obj{
		"country": countryCode, "addressType": "DOMESTIC",
		"province": stateID(a.district), "district": districtID(a.district),
		"urbanOrRural": "URBAN", "town": a.district.name, "residentialArea": a.area,
		"street": a.street, "number": a.number, "zipCode": a.district.postalCode,
	}
}
