package opencrvssim

// FHIR systems and URLs OpenCRVS 1.8 uses (see testdata/opencrvs-1.8).
const (
	sysDocTypes         = "http://opencrvs.org/doc-types"
	sysDocClasses       = "http://opencrvs.org/doc-classes"
	sysDocSections      = "http://opencrvs.org/doc-sections"
	sysSpecSections     = "http://opencrvs.org/specs/sections"
	sysTaskTypes        = "http://opencrvs.org/specs/types"
	sysRegStatus        = "http://opencrvs.org/specs/reg-status"
	sysDraftID          = "http://opencrvs.org/specs/id/draft-id"
	sysTrackingIDPrefix = "http://opencrvs.org/specs/id/" // + birth-tracking-id | death-tracking-id
	sysIdentifierType   = "http://opencrvs.org/specs/identifier-type"
	sysRelationship     = "http://hl7.org/fhir/ValueSet/relatedperson-relationshiptype"
	sysLocationType     = "http://opencrvs.org/specs/location-type"
	sysStatisticalCode  = "http://opencrvs.org/specs/id/statistical-code"
	sysJurisdictionType = "http://opencrvs.org/specs/id/jurisdiction-type"
	sysInternalID       = "http://opencrvs.org/specs/id/internal-id"
	sysRoles            = "http://opencrvs.org/specs/roles"
	sysISO3166          = "urn:iso:std:iso:3166"
	sysRFC3986          = "urn:ietf:rfc:3986"
	sysLOINC            = "http://loinc.org"
	sysObsCategory      = "http://hl7.org/fhir/observation-category"
	sysCauseEstablished = "http://opencrvs.org/specs/cause-of-death-established"

	extPrefix          = "http://opencrvs.org/specs/extension/"
	extNationality     = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
	extReasonNotApply  = extPrefix + "reason-not-applying"
	extContactEmail    = extPrefix + "contact-person-email"
	extContactPhone    = extPrefix + "contact-person-phone-number"
	extTimeLogged      = extPrefix + "timeLoggedMS"
	extRegLastUser     = extPrefix + "regLastUser"
	extRegLastOffice   = extPrefix + "regLastOffice"
	extPartOf          = extPrefix + "part-of"
	countryCode        = "FAR"
	fhirDate           = "2006-01-02"
	fhirInstant        = "2006-01-02T15:04:05.000Z07:00"
	addressLineEntries = 16
)

type obj = map[string]any

func coding(system, code string) obj {
	return obj{"coding": []any{obj{"system": system, "code": code}}}
}

func ref(typ, id string) obj { return obj{"reference": typ + "/" + id} }

// bundleBuilder collects entries with OpenCRVS-style fullUrls
// (/fhir/<Type>/<id>/_history/<version>).
type bundleBuilder struct {
	at      string
	entries []any
}

func (b *bundleBuilder) add(typ, id string, res obj) {
	version := newUUID()
	res["resourceType"] = typ
	res["id"] = id
	res["meta"] = obj{"lastUpdated": b.at, "versionId": version}
	b.entries = append(b.entries, obj{"fullUrl": "/fhir/" + typ + "/" + id + "/_history/" + version, "resource": res})
}

// Stable ids of the shared resources, as a real OpenCRVS keeps them.
func stateID(d *districtInfo) string        { return stableUUID("location:state:" + d.state) }
func districtID(d *districtInfo) string     { return stableUUID("location:district:" + d.name) }
func officeID(d *districtInfo) string       { return stableUUID("location:office:" + d.name) }
func facilityID(name string) string         { return stableUUID("location:facility:" + name) }
func practitionerID(username string) string { return stableUUID("practitioner:" + username) }

// buildBundle renders a declaration as the FHIR document bundle OpenCRVS 1.8
// core sends to the country config's /event-registration (record in
// WAITING_VALIDATION).
func buildBundle(d *declaration, compositionID, trackingID string) obj {
	b := &bundleBuilder{at: d.createdAt.UTC().Format(fhirInstant)}
	taskID, relatedID, encounterID, qrID := newUUID(), newUUID(), newUUID(), newUUID()
	reg := registrars[d.registrar]
	practID := practitionerID(reg.username)

	type section struct{ title, code, system, ref string }
	var sections []section
	var patients []func()
	addPatient := func(p *person, withGender bool) string {
		id := newUUID()
		patients = append(patients, func() { b.add("Patient", id, patientResource(p, withGender, d)) })
		return id
	}

	docType, taskCode, title, encounterCode := "birth-declaration", "BIRTH", "Birth Declaration", "birth-encounter"
	if d.kind == "death" {
		docType, taskCode, title, encounterCode = "death-declaration", "DEATH", "Death Declaration", "death-encounter"
	}
	var informantPatientID string
	if d.kind == "birth" {
		motherID := addPatient(d.mother, false)
		childID := addPatient(d.subject, true)
		var fatherID string
		if d.father != nil {
			fatherID = addPatient(d.father, false)
		} else {
			fatherID = newUUID()
			patients = append(patients, func() {
				b.add("Patient", fatherID, obj{
					"extension": []any{obj{"url": extReasonNotApply, "valueString": "No father"}},
					"active":    false,
					"name":      []any{},
				})
			})
		}
		switch d.informantRel {
		case "MOTHER":
			informantPatientID = motherID
		case "FATHER":
			informantPatientID = fatherID
		default:
			informantPatientID = addPatient(d.informant, false)
		}
		sections = []section{
			{"Informant's details", "informant-details", sysDocSections, "RelatedPerson/" + relatedID},
			{"Mother's details", "mother-details", sysDocSections, "Patient/" + motherID},
			{"Child details", "child-details", sysDocSections, "Patient/" + childID},
			{"Father's details", "father-details", sysDocSections, "Patient/" + fatherID},
		}
	} else {
		deceasedID := addPatient(d.subject, true)
		var spouseID string
		if d.spouse != nil {
			spouseID = addPatient(d.spouse, false)
		} else { // the death of a child: no spouse, marked absent as an undeclared father is
			spouseID = newUUID()
			patients = append(patients, func() {
				b.add("Patient", spouseID, obj{
					"extension": []any{obj{"url": extReasonNotApply, "valueString": "No spouse"}},
					"active":    false,
					"name":      []any{},
				})
			})
		}
		if d.informantRel == "SPOUSE" {
			informantPatientID = spouseID
		} else {
			informantPatientID = addPatient(d.informant, false)
		}
		sections = []section{
			{"Informant's details", "informant-details", sysDocSections, "RelatedPerson/" + relatedID},
			{"Spouse's details", "spouse-details", sysDocSections, "Patient/" + spouseID},
			{"Deceased details", "deceased-details", sysDocSections, "Patient/" + deceasedID},
		}
	}
	encounterTitle := "Birth encounter"
	if d.kind == "death" {
		encounterTitle = "Death encounter"
	}
	sections = append(sections, section{encounterTitle, encounterCode, sysSpecSections, "Encounter/" + encounterID})

	compSections := make([]any, 0, len(sections))
	for _, s := range sections {
		c := coding(s.system, s.code)
		c["text"] = s.title
		compSections = append(compSections, obj{"title": s.title, "code": c, "entry": []any{obj{"reference": s.ref}}})
	}
	typ := coding(sysDocTypes, docType)
	typ["text"] = title
	class := coding(sysDocClasses, "crvs-document")
	class["text"] = "CRVS Document"
	b.add("Composition", compositionID, obj{
		"identifier": obj{"system": sysRFC3986, "value": trackingID},
		"status":     "preliminary",
		"type":       typ,
		"class":      class,
		"title":      title,
		"section":    compSections,
		"subject":    obj{},
		"date":       b.at,
		"author":     []any{},
	})

	b.add("Task", taskID, obj{
		"status":    "ready",
		"intent":    "proposal",
		"code":      coding(sysTaskTypes, taskCode),
		"focus":     ref("Composition", compositionID),
		"requester": obj{"agent": ref("Practitioner", practID)},
		"identifier": []any{
			obj{"system": sysDraftID, "value": newUUID()},
			obj{"system": sysTrackingIDPrefix + d.kind + "-tracking-id", "value": trackingID},
		},
		"extension": []any{
			obj{"url": extContactEmail, "valueString": d.email},
			obj{"url": extContactPhone, "valueString": d.phone},
			obj{"url": extTimeLogged, "valueInteger": 0},
			obj{"url": extRegLastUser, "valueReference": ref("Practitioner", practID)},
			obj{"url": extRegLastOffice, "valueReference": ref("Location", officeID(d.office))},
		},
		"lastModified":   b.at,
		"businessStatus": coding(sysRegStatus, "WAITING_VALIDATION"),
	})

	b.add("RelatedPerson", relatedID, obj{
		"relationship": coding(sysRelationship, d.informantRel),
		"patient":      ref("Patient", informantPatientID),
	})
	for _, add := range patients {
		add()
	}
	b.add("Encounter", encounterID, obj{
		"status":   "finished",
		"location": []any{obj{"location": ref("Location", facilityID(d.facility))}},
	})

	items := make([]any, 0, len(d.items))
	for _, it := range d.items {
		items = append(items, obj{"text": it.text, "linkId": "", "answer": []any{obj{"valueString": it.value}}})
	}
	b.add("QuestionnaireResponse", qrID, obj{
		"extension": []any{},
		"status":    "completed",
		"subject":   ref("Encounter", encounterID),
		"item":      items,
	})
	if d.kind == "death" {
		cat := obj{"coding": []any{obj{"system": sysObsCategory, "code": "vital-signs", "display": "Vital Signs"}}}
		b.add("Observation", newUUID(), obj{
			"extension": []any{},
			"status":    "final",
			"code": obj{"coding": []any{obj{
				"system": sysLOINC, "code": "cause-of-death-established", "display": "Cause of death established",
			}}},
			"context":              ref("Encounter", encounterID),
			"category":             []any{cat},
			"valueCodeableConcept": coding(sysCauseEstablished, "false"),
		})
	}

	b.add("Practitioner", practID, obj{
		"telecom": []any{
			obj{"system": "phone", "value": "+260933333333"},
			obj{"system": "email", "value": reg.username + "@opencrvs.example"},
		},
		"name": []any{obj{"use": "en", "family": reg.family, "given": []any{reg.given}}},
	})
	b.add("PractitionerRole", stableUUID("practitionerrole:"+reg.username), obj{
		"practitioner": ref("Practitioner", practID),
		"code":         []any{coding(sysRoles, "LOCAL_REGISTRAR")},
		"location":     []any{ref("Location", officeID(d.office))},
	})
	addLocations(b, d)

	return obj{
		"resourceType": "Bundle",
		"type":         "document",
		"meta":         obj{"lastUpdated": b.at},
		"entry":        b.entries,
	}
}

// addLocations adds the administrative areas, the CRVS office and the
// facility a bundle refers to, each once.
func addLocations(b *bundleBuilder, d *declaration) {
	seen := map[string]bool{}
	add := func(id string, res func() obj) {
		if !seen[id] {
			seen[id] = true
			b.add("Location", id, res())
		}
	}
	admin := func(dist *districtInfo) {
		add(stateID(dist), func() obj {
			return locationResource(dist.state, sysStatisticalCode, "ADMIN_STRUCTURE_"+dist.state, "ADMIN_STRUCTURE", "0", "STATE")
		})
		add(districtID(dist), func() obj {
			return locationResource(dist.name, sysStatisticalCode, "ADMIN_STRUCTURE_"+dist.name, "ADMIN_STRUCTURE", stateID(dist), "DISTRICT")
		})
	}
	for _, p := range []*person{d.subject, d.mother, d.father, d.spouse, d.informant} {
		if p != nil && p.addr != nil {
			admin(p.addr.district)
		}
	}
	admin(d.office)
	admin(d.facilityDist)
	add(officeID(d.office), func() obj {
		return locationResource(d.office.name+" District Office", sysInternalID, "CRVS_OFFICE_"+d.office.name,
			"CRVS_OFFICE", districtID(d.office), "")
	})
	add(facilityID(d.facility), func() obj {
		return locationResource(d.facility, sysInternalID, "HEALTH_FACILITY_"+d.facility,
			"HEALTH_FACILITY", districtID(d.facilityDist), "")
	})
}

func locationResource(name, idSystem, idValue, locType, partOf, jurisdiction string) obj {
	identifiers := []any{obj{"system": idSystem, "value": idValue}}
	physical := obj{"coding": []any{obj{"code": "bu", "display": "Building"}}}
	if jurisdiction != "" {
		identifiers = append(identifiers, obj{"system": sysJurisdictionType, "value": jurisdiction})
		physical = obj{"coding": []any{obj{"code": "jdn", "display": "Jurisdiction"}}}
	}
	return obj{
		"identifier":   identifiers,
		"name":         name,
		"alias":        []any{name},
		"status":       "active",
		"mode":         "instance",
		"partOf":       ref("Location", partOf),
		"type":         coding(sysLocationType, locType),
		"physicalType": physical,
	}
}

func patientResource(p *person, withGender bool, d *declaration) obj {
	res := obj{
		"extension": []any{},
		"active":    true,
		"name":      []any{obj{"use": "en", "given": []any{p.given, p.middle}, "family": p.family}},
		"birthDate": p.birthDate.Format(fhirDate),
	}
	if withGender {
		res["gender"] = p.gender
	}
	if p.nid != "" {
		res["identifier"] = []any{obj{"value": p.nid, "type": coding(sysIdentifierType, "NATIONAL_ID")}}
	}
	if p.addr != nil {
		res["extension"] = []any{obj{
			"url": extNationality,
			"extension": []any{
				obj{"url": "code", "valueCodeableConcept": coding(sysISO3166, countryCode)},
				obj{"url": "period", "valuePeriod": obj{"start": "", "end": ""}},
			},
		}}
		res["address"] = []any{addressResource(p.addr)}
	}
	if p == d.subject && d.kind == "death" {
		res["deceasedBoolean"] = true
		res["deceasedDateTime"] = d.deathDate.Format(fhirDate)
	}
	return res
}

// addressResource renders a PRIMARY_ADDRESS. OpenCRVS 1.8 keeps positional
// address lines (16 strings, mostly empty); the simulator fills the house
// number, street and residential area and marks the address URBAN.
func addressResource(a *address) obj {
	lines := make([]any, addressLineEntries)
	for i := range lines {
		lines[i] = ""
	}
	lines[0], lines[1], lines[2], lines[5] = a.number, a.street, a.area, "URBAN"
	return obj{
		"type":     "PRIMARY_ADDRESS",
		"line":     lines,
		"district": districtID(a.district),
		"state":    stateID(a.district),
		"country":  countryCode,
		"extension": []any{obj{
			"url":            extPartOf,
			"valueReference": ref("Location", districtID(a.district)),
		}},
	}
}
