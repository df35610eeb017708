package bridge

import (
	"slices"
	"time"
)

// State is where a transaction is in the pipeline. States are stored as text.
type State string

const (
	// StateReceived: stored, not yet decided (intakes that store first).
	StateReceived State = "RECEIVED"
	// StateSkipped: the country rules said not to forward; OpenCRVS is being
	// told to register the record without a national ID.
	StateSkipped State = "SKIPPED"
	// StateQueued: accepted, waiting to be submitted to MOSIP.
	StateQueued State = "QUEUED"
	// StateSubmitted: MOSIP accepted the packet and started its workflow.
	StateSubmitted State = "SUBMITTED"
	// StateIssued: MOSIP finished (for a birth: issued the credential with the
	// UIN/VID); OpenCRVS is being told.
	StateIssued State = "ISSUED"
	// StateConfirmed: OpenCRVS registered the record. Final.
	StateConfirmed State = "CONFIRMED"
	// StateRejectedByMOSIP: MOSIP refused the record; OpenCRVS is being told.
	StateRejectedByMOSIP State = "REJECTED_BY_MOSIP"
	// StateReported: OpenCRVS was told why MOSIP refused the record. Final.
	StateReported State = "REPORTED"
	// StateDead: retries exhausted; waits for an operator.
	StateDead State = "DEAD"
	// StateCancelled: an operator stopped the transaction (the reason is in
	// its event log); OpenCRVS is not told. Final.
	StateCancelled State = "CANCELLED"
)

// States lists every state, in pipeline order.
var States = []State{
	StateReceived, StateSkipped, StateQueued, StateSubmitted, StateIssued,
	StateConfirmed, StateRejectedByMOSIP, StateReported, StateDead, StateCancelled,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Final reports whether nothing more will happen to a transaction in s
// without an operator.
func (s State) Final() bool {
	return s == StateConfirmed || s == StateReported || s == StateDead || s == StateCancelled
}

// Waiting reports whether the mediator still has work to do on a
// transaction in s, without an operator.
func (s State) Waiting() bool { return s.Valid() && !s.Final() }

// Transaction carries one record through MOSIP and back to OpenCRVS.
type Transaction struct {
	// ID is the MOSIP application id (AID): the registration id of the
	// packet, which MOSIP echoes in the credential.
	ID string
	// PeerID is, in the split design, the id of the same record at the
	// other mediator: on the OpenCRVS side the AID the MOSIP side gave it,
	// on the MOSIP side the OpenCRVS side's transaction id (the envelope
	// id). "" until known, and for a mediator that does both sides. Set
	// once: no two transactions have the same.
	PeerID  string
	Kind    EventKind
	Version OpenCRVSVersion
	Intake  Intake
	// RecordID is the OpenCRVS record the feedback goes to: the
	// Composition id (1.8) or the event id (1.9).
	RecordID string
	// ActionID is, for OpenCRVS 1.9, the id of the REGISTER action waiting
	// for the mediator's accept or reject ("" for 1.8).
	ActionID           string
	TrackingID         string
	RegistrationNumber string
	State              State
	// Token is the OpenCRVS bearer token that authorises feedback on the
	// record. Secret: never logged, never shown.
	Token  string
	Packet Packet
	// SkipReason says why the rules did not forward the record.
	SkipReason string
	Attempts   int
	LastError  string
	// UIN and VID are known once MOSIP issued them. On the OpenCRVS side
	// of the split design (IntakeWebhook) UIN holds instead the UIN token
	// (PSUT) MOSIP made for OpenCRVS: the UIN never leaves MOSIP (see
	// UINToken).
	UIN string
	VID string
	// Corrects is, for a correction, the ID of the transaction of the
	// registration it corrects; "" for a registration.
	Corrects string
	// RejectReason is what the registrar is told when MOSIP refused the
	// record, in plain words (LastError keeps MOSIP's codes).
	RejectReason string
	// DeadFrom is the state a DEAD transaction was in when it died: a retry
	// resumes there.
	DeadFrom State
	// CheckAt is when MOSIP is next asked for the status of a SUBMITTED
	// transaction (zero: as soon as reconciliation runs); Checks counts the
	// times it was asked.
	CheckAt   time.Time
	Checks    int
	CreatedAt time.Time
	UpdatedAt time.Time
	// TraceParent is the W3C traceparent of the intake that created the
	// transaction ("" with tracing off): its jobs join that trace. Written
	// at insert; read with Store.TraceParent.
	TraceParent string
}

// IssuesNationalID reports whether MOSIP's answer to this transaction is a
// new national ID that OpenCRVS must store: a birth registration, not a
// death or a correction.
func (t *Transaction) IssuesNationalID() bool {
	return t.Kind == EventBirth && t.Corrects == ""
}

// UINToken is, on the OpenCRVS side of the split design, the UIN token
// (PSUT) the MOSIP side sent back for a birth; "" for other transactions.
func (t *Transaction) UINToken() string {
	if t.Intake != IntakeWebhook {
		return ""
	}
	return t.UIN
}

// NationalID is the identifier OpenCRVS stores for the person: the VID when
// MOSIP issued one (the UIN stays private to MOSIP), else the UIN.
func (t *Transaction) NationalID() string {
	if t.VID != "" {
		return t.VID
	}
	return t.UIN
}

// Event is one entry of a transaction's append-only log.
type Event struct {
	TransactionID string
	At            time.Time
	From          State
	To            State
	Reason        string
	Attempt       int
}
