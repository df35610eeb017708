// Package country is the country configuration of the mediator: which
// registered OpenCRVS records go to MOSIP, and what MOSIP receives for them.
// It is data, not code: a YAML file an integrator edits for their country,
// with forwarding rules written in expr (https://expr-lang.org) and the
// MOSIP packet written as jq programs (https://jqlang.org, run by gojq).
//
// The mediator loads the file named by COUNTRY_CONFIG, or the embedded
// Farajaland default (default.yaml) when it is unset, and compiles every rule
// and program once at start-up. A mistake stops the start with the file,
// the line and the reason:
//
//	country.yaml:31: birth.forward: unknown name chlid (rule line 1, column 12)
//
// `opencrvs-mosip config check --record bundle.json` loads the file and
// shows what it decides for a record and the packet it builds.
//
// # The file
//
// Every key is optional except that at least one of birth and death must be
// present, and each present event needs forward and fields. Unknown keys are
// errors (a typo must not silently change a country's rules).
//
//	timeZone: Africa/Lusaka       # IANA zone of "now" (ages, the year); default UTC
//	language: eng                 # ISO 639-3 language of MOSIP multilingual values; default eng
//	registrationNumber: "{year}{trackingId}"  # when OpenCRVS sent none; also {recordId}
//	passed: [verified, authenticated]         # verification results that count; this is the default
//	idSchema: idschema.json       # MOSIP ID schema, relative to this file; default built in
//	vars:                         # $name in jq, vars.name in rules
//	  officerId: opencrvs
//	jq: |                         # your own jq functions, usable in every program
//	  def fullAddress: [.lines[]?, .district, .state] | map(select(. != null)) | join(", ");
//	metaInfo: |                   # packet metaInfo, audit and notification programs
//	  { ... }                     #   shared by both events unless an event sets its own
//	audit: |
//	  { ... }
//	notification: |
//	  {name: .informant.name.full, email: .contact.email, phone: .contact.phone}
//	birth:
//	  process: CRVS_NEW           # MOSIP process; default CRVS_NEW (birth), CRVS_DEATH (death)
//	  correctionProcess: CRVS_UPDATE  # MOSIP process of a correction; default CRVS_UPDATE
//	  verification:               # where each person's in-form ID check is recorded
//	    mother: {answers: [birth.mother.mother-view-group.verified]}
//	    informant: {answers: [birth.informant.informant-view-group.verified], identifierType: MOSIP_PSUT_TOKEN_ID}
//	  forward: ageInYears(child.birthDate) < 10 && mother.authenticated
//	  fields: |
//	    {fullName: (.child.name.full | mosipText), dateOfBirth: (.child.birthDate | mosipDate)}
//	  metaInfo: |                 # optional: overrides the shared one for births
//	    { ... }
//	death:
//	  ...
//	rejectionReasons:             # what registrars read when MOSIP refuses a record, by
//	  status:REJECTED: "..."      #   MOSIP error code (KER-PUT-020), registration status
//	  KER-PUT-020: "..."          #   (status:REJECTED, status:FAILED) or default; overrides
//	                              #   the mediator's table (README, "When MOSIP says no")
//
// The deployment adds variables that belong to the installation rather than
// the country: the mediator passes centerId and machineId (from
// MOSIP_CENTER_ID and MOSIP_MACHINE_ID); they override vars of the same name.
// A program that uses a variable nobody defines fails to load.
//
// # The record
//
// Rules and programs see the same record, whatever OpenCRVS version sent it
// (bridge.Record; jq sees its JSON form):
//
//	event               "birth" or "death"
//	recordId            the OpenCRVS record id
//	trackingId          e.g. "BXXDBIC"
//	registrationNumber  OpenCRVS's own, else made from registrationNumber (so never empty)
//	status              OpenCRVS registration status, e.g. "WAITING_VALIDATION"
//	child, mother, father, deceased, spouse, informant   persons (see below)
//	contact             {email, phone}: who OpenCRVS notifies
//	placeOfEvent        {id, name, type}: where the birth or death happened (rules also have present)
//	answers             custom form answers by key, e.g. answers["birth.mother.mother-view-group.motherIdType"]
//	lastModified        when OpenCRVS last changed the record (jq only)
//
// A person is
//
//	name                {given: [..], family, full}   full = given names and family name, single spaces
//	birthDate, deathDate   "YYYY-MM-DD"
//	gender              as OpenCRVS records it: "male", "female", ...
//	nationalId          the NATIONAL_ID identifier
//	identifiers         [{type, value}]
//	addresses           [{type, lines, city, district, state, postalCode, country}] (jq only)
//	nationality         e.g. "FAR"
//	verification        the in-form check result: verified, authenticated, failed, pending or ""
//	authenticated       true when verification is one of passed
//	relationship        the informant's relationship: MOTHER, FATHER, SPOUSE, LEGAL_GUARDIAN, ...
//
// In jq a missing person is null (and .mother.name.full is then null too);
// in rules a missing person is a person with present == false and empty
// fields, so rules never fail on a missing mother.
//
// # Verification
//
// OpenCRVS 1.8 forms record the outcome of in-form authentication as a form
// answer "<event>.<section>.<section>-view-group.verified": "verified" (the
// ID was checked against MOSIP through a QR code or ID authentication),
// "authenticated" (the person logged in with E-Signet), "failed" or
// "pending". For each person, verification lists the answer keys to read,
// first non-empty wins; identifierType names an identifier whose presence
// means "authenticated" (for forms that store an E-Signet token on the
// person). A person without a configured result keeps what the intake
// recorded (OpenCRVS 1.9 payloads carry it). An informant who is the mother,
// father or spouse and has no result of their own takes that person's.
// Then every person's authenticated is set from passed.
//
// # Forwarding rules
//
// forward is an expr expression that must be true or false. It is checked
// against the record's shape when the file loads: a misspelt name, a
// comparison of a date with a number or a rule that is not boolean fails the
// load. Besides expr's own operators and functions (and, or, not, in,
// len, any, all, ...), rules have:
//
//	ageInYears(date)         whole years from date to today in timeZone;
//	                         someone born on 29 February turns a year older on 1 March in common years
//	yearsBetween(from, to)   whole years between two dates, e.g. the age at death
//	today                    today's date in timeZone, "YYYY-MM-DD"
//	vars.name                a variable
//
// A date that is empty or not YYYY-MM-DD makes the rule fail for that record
// (the record is refused with the reason); guard with child.birthDate != ""
// where a date may be missing.
//
// The decision's reason names the rule and tells whether each condition
// held, with the numbers it compared, e.g.
//
//	birth.forward is false: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 3),
//	mother.authenticated is false, father.authenticated is false, informant.authenticated is false
//
// It never shows a text value (a name, a date, an ID number), so it can be
// logged and shown to operators. A record that is not forwarded is
// registered by OpenCRVS without a national ID.
//
// # Mapping
//
// fields, metaInfo, audit and notification are jq programs that turn the
// record into one JSON object each. In the result, strings are sent as they
// are; arrays and objects are sent as JSON text (MOSIP's convention, e.g. a
// multilingual [{language, value}] list); null and "" values are left out,
// so optional data that is missing never breaks a packet.
//
// fields are MOSIP ID schema fields: every key must be a field of the ID
// schema, and each value must pass that field's validators (a list
// [{language, value}] for multilingual fields), or the record is refused
// with the field and the validator (not the value). The schema is sent with
// every packet; validators must be regular expressions Java and Go both
// read (no lookaheads: ^.{3,50}$, not ^(?=.{3,50}$).*). notification has
// the keys name, email and phone.
//
// jq helpers, besides jq's own functions:
//
//	mosipDate              "2024-01-31" -> "2024/01/31" (MOSIP's date format)
//	mosipText              "Jane" -> [{"language": "eng", "value": "Jane"}] in language
//	titleCase              "male" -> "Male"
//	compactTime            "2025-03-14T13:17:55.034Z" -> "20250314131755" (packet creationDate)
//	firstNonEmpty(a, b)    the first of the values that is neither null nor ""
//	primaryAddress         a person's PRIMARY_ADDRESS, else their first address, else null
//	labelled               {a: 1} -> [{"label": "a", "value": 1}] (metaData, operationsData)
//
// The first four give null for null or "" input, so
// (.father.name.full | mosipText) is simply left out when there is no father.
//
// Variables: $now (the time, MOSIP format, UTC), $today and $year (in
// timeZone), $uuid (an id unique to the record and time, the same on a
// repeated mapping), $process (the event's MOSIP process), $language, and
// every var.
//
// A program that fails on a record refuses that record with the program's
// name and jq's reason (without the values jq would quote).
//
// # The default
//
// The embedded default reproduces the example rules of the OpenCRVS
// documentation for Farajaland: a birth goes to MOSIP when the child is
// under 10 and the mother, the father or the informant passed in-form
// authentication; a death when the spouse or the informant did. Its mapping
// fills the MOSIP ID schema fields MOSIP's CRVS processes use (see
// default.yaml).
package country
