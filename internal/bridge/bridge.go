// Package bridge holds the domain of the mediator: the OpenCRVS record as the
// country rules and mapping see it, the transaction that carries one record
// through MOSIP and back, its states, and the coded error every layer returns.
//
// It imports nothing of ours, so every other package can depend on it.
package bridge

import "time"

// EventKind is the civil registration event a record is about.
type EventKind string

const (
	EventBirth EventKind = "birth"
	EventDeath EventKind = "death"
	// EventDeathReversal is not an OpenCRVS record but a request to undo, in
	// MOSIP, a death registered by mistake: only transactions have it.
	EventDeathReversal EventKind = "death-reversal"
)

// Valid reports whether k is an event kind of an OpenCRVS record.
func (k EventKind) Valid() bool { return k == EventBirth || k == EventDeath }

// HasOpenCRVSRecord reports whether transactions of kind k end with feedback
// to an OpenCRVS record (confirm or reject); a death reversal's caller reads
// its outcome instead.
func (k EventKind) HasOpenCRVSRecord() bool { return k != EventDeathReversal }

// OpenCRVSVersion is the OpenCRVS release family a record came from. It decides
// how feedback goes back (GraphQL for 1.8, tRPC for 1.9).
type OpenCRVSVersion string

const (
	OpenCRVS18 OpenCRVSVersion = "1.8"
	OpenCRVS19 OpenCRVSVersion = "1.9"
)

// Intake says in which shape a record reached the mediator.
type Intake string

const (
	// IntakeFHIR is an OpenCRVS 1.8 FHIR bundle: the mediator applied the
	// country rules and mapping.
	IntakeFHIR Intake = "fhir"
	// IntakeMapped is the payload of the @opencrvs/mosip country-config
	// library: the country config already decided and mapped.
	IntakeMapped Intake = "mapped"
	// IntakeReversal is a death reversal request (POST /events/death-reversal).
	IntakeReversal Intake = "death-reversal"
	// IntakeEventDocument is an OpenCRVS 1.9 EventDocument: the mediator
	// applied the country rules and mapping to its declaration.
	IntakeEventDocument Intake = "event-document"
	// IntakeMosipAPI is a transaction imported from the database of the Node
	// mosip-api (`migrate --from-mosip-api`): a packet it sent to MOSIP,
	// waiting for its credential. The mediator never had its packet.
	IntakeMosipAPI Intake = "mosip-api"
	// IntakeBackfill is a historic record, already registered in OpenCRVS,
	// sent by `opencrvs-mosip backfill`: the mediator applied the country
	// rules and mapping; its packet goes through the backfill queue, and
	// the national ID is added to the registered record
	// (upsertRegistrationIdentifier) instead of confirming it.
	IntakeBackfill Intake = "backfill"
	// IntakeWebhook is a signed OpenCRVS webhook delivery (BIRTH_REGISTERED,
	// DEATH_REGISTERED) received by the OpenCRVS-side mediator: the record
	// is forwarded, sealed, to the MOSIP-side mediator, and MOSIP's answer
	// is written to the registered record.
	IntakeWebhook Intake = "webhook"
	// IntakePeer is a record the MOSIP-side mediator received, sealed, from
	// the OpenCRVS-side mediator: MOSIP's answer goes back to that peer.
	IntakePeer Intake = "peer"
)

// Record is one OpenCRVS record, normalised so that country rules and
// mappings do not depend on FHIR or events-v2 shapes. Its JSON form is the
// input of the country mapping (jq); keep the tags stable, they are a
// contract with country configuration files.
type Record struct {
	Event EventKind `json:"event"`
	// RecordID is the OpenCRVS record id: the Composition id (1.8) or the
	// event id (1.9).
	RecordID   string `json:"recordId"`
	TrackingID string `json:"trackingId"`
	// RegistrationNumber is the number OpenCRVS assigned, when the record
	// carries one (a Task identifier ending in -registration-number).
	RegistrationNumber string `json:"registrationNumber,omitempty"`
	// Status is the OpenCRVS business status (e.g. WAITING_VALIDATION).
	Status string `json:"status,omitempty"`

	Child     *Person    `json:"child,omitempty"`
	Mother    *Person    `json:"mother,omitempty"`
	Father    *Person    `json:"father,omitempty"`
	Informant *Informant `json:"informant,omitempty"`
	Deceased  *Person    `json:"deceased,omitempty"`
	Spouse    *Person    `json:"spouse,omitempty"`

	// Contact is who OpenCRVS notifies about the record.
	Contact Contact `json:"contact"`
	// PlaceOfEvent is where the birth or death happened, when known.
	PlaceOfEvent *Place `json:"placeOfEvent,omitempty"`
	// Answers holds the custom form answers of the record (1.8
	// QuestionnaireResponse items keyed by their text, e.g.
	// "birth.mother.mother-view-group.verified"; 1.9 declaration keys).
	Answers map[string]string `json:"answers,omitempty"`
	// LastModified is when OpenCRVS last changed the record, if known.
	LastModified *time.Time `json:"lastModified,omitempty"`
}

// Person is a person named in a record.
type Person struct {
	Name Name `json:"name"`
	// BirthDate is YYYY-MM-DD, or empty; DeathDate likewise (deceased only).
	BirthDate   string       `json:"birthDate,omitempty"`
	DeathDate   string       `json:"deathDate,omitempty"`
	Gender      string       `json:"gender,omitempty"`
	NationalID  string       `json:"nationalId,omitempty"`
	Identifiers []Identifier `json:"identifiers,omitempty"`
	Addresses   []Address    `json:"addresses,omitempty"`
	Nationality string       `json:"nationality,omitempty"`
	// Verification is the in-form identity verification status as the form
	// recorded it: "verified" (ID checked against MOSIP), "authenticated"
	// (E-Signet), "failed", "pending" or empty.
	Verification string `json:"verification,omitempty"`
	// Authenticated is true when Verification is one the country counts as
	// passed (set by the country configuration).
	Authenticated bool `json:"authenticated"`
}

// Informant is the person who declared the event, with their relationship to
// the subject (MOTHER, FATHER, SPOUSE, LEGAL_GUARDIAN, ...). When the
// informant is also the mother, father or spouse, their details repeat that
// person's.
type Informant struct {
	Person
	Relationship string `json:"relationship"`
}

// Name is a person's name. Full is the given names and family name joined by
// single spaces, empty parts left out.
type Name struct {
	Given  []string `json:"given,omitempty"`
	Family string   `json:"family,omitempty"`
	Full   string   `json:"full,omitempty"`
}

// Identifier is an identity document number with its OpenCRVS type code
// (NATIONAL_ID, PASSPORT, BIRTH_REGISTRATION_NUMBER, ...).
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Address is a postal address. District and State are names when the record
// resolved them, else the OpenCRVS location ids.
type Address struct {
	Type       string   `json:"type,omitempty"`
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Contact is the record's contact person.
type Contact struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Place is a location named in a record.
type Place struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}
