package mosip

// Identity updates in MOSIP's ID repository: the PATCH that changes an
// identity's fields or status, and the WebSub event that tells subscribers
// an identity changed.
//
// MOSIP's ID repository has no general "identity updated" topic. On an
// update it asks the credential service to re-issue credentials to its
// online verification partners, and when the UIN stops being ACTIVATED it
// publishes <partner>/DEACTIVATE_ID or <partner>/REMOVE_ID (BLOCKED) to
// them, in an EventModel envelope {publisher "ID_REPO", topic, publishedOn,
// event {id, transactionId = the registration id, type, timestamp, data}}
// (id-repository CredentialServiceManager, IdRepoProxyServiceImpl). The
// IdentityEvent below keeps that envelope; its topic and data are a
// deployment's (or the simulator's) choice, not MOSIP's.

// Identity service request and response ids of the update.
const (
	IdentityUpdateID      = "mosip.id.update"
	IdentityUpdateVersion = "v1"
)

// IdentityUpdateRequest is the request of the ID repository's identity
// update, PATCH /idrepository/v1/identity/ (MOSIP's RequestDTO), wrapped in
// a Request with id IdentityUpdateID.
type IdentityUpdateRequest struct {
	// RegistrationID names the change. MOSIP refuses one it has seen
	// before, on any identity (IDR-IDC-012 Record already exists in DB),
	// so a retried update needs the same id and a new update a new one.
	RegistrationID string `json:"registrationId"`
	// Status is UINActivated, UINBlocked or UINDeactivated; empty leaves
	// the status as it is.
	Status string `json:"status,omitempty"`
	// Identity holds "UIN", "IDSchemaVersion" and the fields to change, as
	// the ID schema types them (simpleType values are lists of
	// {language, value}).
	Identity           map[string]any `json:"identity"`
	Documents          []any          `json:"documents,omitempty"`
	VerifiedAttributes []any          `json:"verifiedAttributes,omitempty"`
}

// IdentityUpdateResponse is the response of the identity update: MOSIP
// answers the UIN's status and no identity (only reads return it).
type IdentityUpdateResponse struct {
	Status string `json:"status"`
}

// TopicIdentityUpdated is the default topic of identity update events.
const TopicIdentityUpdated = "IDENTITY_UPDATED"

// PublisherIDRepo is the publisher the ID repository puts on its events.
const PublisherIDRepo = "ID_REPO"

// IdentityEvent is a WebSub delivery telling that an identity changed. It
// names the identity, not its data: read the identity with the ID
// repository's GET /idrepository/v1/identity/idvid/{UIN}.
type IdentityEvent struct {
	Publisher   string           `json:"publisher"`
	Topic       string           `json:"topic"`
	PublishedOn string           `json:"publishedOn"`
	Event       IdentityEventMsg `json:"event"`
}

// IdentityEventMsg is the event inside an IdentityEvent. ID is unique per
// change (redeliveries repeat it: deduplicate on it).
type IdentityEventMsg struct {
	ID string `json:"id"`
	// TransactionID is the registration id of the change, as MOSIP's ID
	// repository events carry it, or a fresh UUID for a change without one.
	TransactionID string            `json:"transactionId"`
	Type          EventType         `json:"type"`
	Timestamp     string            `json:"timestamp"`
	Data          IdentityEventData `json:"data"`
}

// IdentityEventData says which identity changed, by what and how.
type IdentityEventData struct {
	UIN string `json:"UIN"`
	VID string `json:"VID,omitempty"`
	// RegistrationID is the packet or request that made the change; empty
	// for a change without one.
	RegistrationID string `json:"registrationId,omitempty"`
	// Process is the registration process (CRVS_UPDATE, CRVS_DEATH, ...)
	// or the kind of request that changed the identity.
	Process string `json:"process"`
	// Status and Deceased are the identity's state after the change.
	Status   string `json:"status"`
	Deceased bool   `json:"deceased"`
	// ChangedAttributes are the names of the identity fields whose value
	// changed, sorted; "status" and "deceased" are listed when they
	// changed.
	ChangedAttributes []string `json:"changedAttributes"`
}
