package mosip

import (
	"encoding/json"
	"time"
)

// Wire types of MOSIP's kernel APIs, shared by the clients and the simulator.

// TimeLayout is the request/response time format MOSIP validates
// (yyyy-MM-dd'T'HH:mm:ss.SSS'Z').
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeLayout, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Request is MOSIP's RequestWrapper.
type Request[T any] struct {
	ID          string         `json:"id"`
	Version     string         `json:"version"`
	RequestTime string         `json:"requesttime"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Request     T              `json:"request"`
}

// Response is MOSIP's ResponseWrapper. Errors come back as HTTP 200 with
// Errors populated.
type Response[T any] struct {
	ID           string         `json:"id"`
	Version      string         `json:"version"`
	ResponseTime string         `json:"responsetime"`
	Metadata     map[string]any `json:"metadata"`
	Response     T              `json:"response"`
	Errors       []ServiceError `json:"errors"`
}

// ServiceError is one entry of a response's errors list.
type ServiceError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// AuthRequest is the body of authmanager clientidsecretkey.
type AuthRequest struct {
	ClientID  string `json:"clientId"`
	SecretKey string `json:"secretKey"`
	AppID     string `json:"appId"`
}

// AuthResponse is the response of authmanager clientidsecretkey; the token
// itself comes in the Authorization cookie.
type AuthResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// PacketDto is the request of packet manager createPacket.
type PacketDto struct {
	ID                  string              `json:"id"`
	AdditionalInfoReqID string              `json:"additionalInfoReqId,omitempty"`
	RefID               string              `json:"refId"`
	OfflineMode         bool                `json:"offlineMode"`
	Process             string              `json:"process"`
	Source              string              `json:"source"`
	SchemaVersion       string              `json:"schemaVersion"`
	SchemaJSON          string              `json:"schemaJson"`
	Fields              map[string]string   `json:"fields"`
	MetaInfo            map[string]string   `json:"metaInfo"`
	Audits              []map[string]string `json:"audits"`
	Documents           map[string]Document `json:"documents,omitempty"`
}

// Document is a packet document.
type Document struct {
	Document  []byte `json:"document"`
	Value     string `json:"value"`
	Type      string `json:"type"`
	Format    string `json:"format"`
	RefNumber string `json:"refNumber,omitempty"`
}

// PacketInfo is one sub-packet that createPacket wrote.
type PacketInfo struct {
	ID              string `json:"id"`
	PacketName      string `json:"packetName"`
	Source          string `json:"source"`
	Process         string `json:"process"`
	RefID           string `json:"refId"`
	SchemaVersion   string `json:"schemaVersion"`
	Signature       string `json:"signature"`
	EncryptedHash   string `json:"encryptedHash"`
	ProviderName    string `json:"providerName"`
	ProviderVersion string `json:"providerVersion"`
	CreationDate    string `json:"creationDate"`
}

// Workflow instance API constants the registration processor validates.
const (
	WorkflowInstanceID      = "mosip.registration.processor.workflow.instance"
	WorkflowInstanceVersion = "v1"
	// CodeWorkflowExists is the registration processor's answer when the
	// workflow for (registration id, process) was already started: for a
	// retry it means success.
	CodeWorkflowExists = "RPR-WIS-001"
)

// WorkflowRequest is the request of workflowmanager workflowinstance.
type WorkflowRequest struct {
	RegistrationID      string           `json:"registrationId"`
	Process             string           `json:"process"`
	Source              string           `json:"source"`
	AdditionalInfoReqID string           `json:"additionalInfoReqId"`
	NotificationInfo    NotificationInfo `json:"notificationInfo"`
}

// NotificationInfo is who MOSIP notifies about a registration.
type NotificationInfo struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// WorkflowResponse is the response of workflowinstance.
type WorkflowResponse struct {
	WorkflowInstanceID string `json:"workflowInstanceId"`
}

// Registration status search API.
const (
	StatusSearchID      = "mosip.registration.status"
	StatusSearchVersion = "1.0"
)

// StatusQuery is one entry of a registration status search.
type StatusQuery struct {
	RegistrationID string `json:"registrationId"`
}

// RegistrationStatus is one entry of a status search response.
type RegistrationStatus struct {
	RegistrationID      string `json:"registrationId"`
	StatusCode          string `json:"statusCode"`
	AdditionalInfoReqID string `json:"additionalInfoReqId,omitempty"`
}

// Registration status codes the search returns.
const (
	StatusProcessing   = "PROCESSING"
	StatusProcessed    = "PROCESSED"
	StatusRejected     = "REJECTED"
	StatusFailed       = "FAILED"
	StatusReprocess    = "REPROCESS"
	StatusResumable    = "RESUMABLE"
	StatusReceived     = "RECEIVED"
	StatusUINGenerated = "UIN_GENERATED"
)

// CredentialEvent is a WebSub CREDENTIAL_ISSUED delivery from MOSIP's
// credential service.
type CredentialEvent struct {
	Publisher   string        `json:"publisher"`
	Topic       string        `json:"topic"`
	PublishedOn string        `json:"publishedOn"`
	Event       CredentialMsg `json:"event"`
}

// CredentialMsg is the event inside a CredentialEvent.
type CredentialMsg struct {
	ID            string         `json:"id"`
	TransactionID string         `json:"transactionId"`
	Type          EventType      `json:"type"`
	Timestamp     string         `json:"timestamp"`
	DataShareURI  *string        `json:"dataShareUri,omitempty"`
	Data          CredentialData `json:"data"`
}

// EventType names the publisher's event type.
type EventType struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// CredentialData is the payload of a CREDENTIAL_ISSUED event: the
// credential request's additionalData (registrationId and
// templateTypeCode from the credential requestor stage, partner metaInfo
// fields, opencrvsBRN from the OpenCRVS stage) and the credential.
type CredentialData struct {
	RegistrationID   string `json:"registrationId,omitempty"`
	TemplateTypeCode string `json:"templateTypeCode,omitempty"`
	// OpencrvsBRN is the birth registration number the OpenCRVS stage
	// read from the packet's metaInfo (credentialType "opencrvs").
	OpencrvsBRN string `json:"opencrvsBRN,omitempty"`
	// Credential is the VER_R2-encrypted credential JSON.
	Credential     string          `json:"credential"`
	Proof          json.RawMessage `json:"proof,omitempty"`
	CredentialType string          `json:"credentialType,omitempty"`
	ProtectionKey  string          `json:"protectionKey,omitempty"`
}

// CredentialAck is what the subscriber answers a delivery with (the shape of
// a CREDENTIAL_STATUS_UPDATE event).
type CredentialAck struct {
	Publisher   string    `json:"publisher"`
	Topic       string    `json:"topic"`
	PublishedOn string    `json:"publishedOn"`
	Event       AckStatus `json:"event"`
}

// AckStatus is the event of a CredentialAck.
type AckStatus struct {
	ID        string `json:"id"`
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
	Status    string `json:"status"`
	URL       string `json:"url"`
}

// Acknowledgement statuses.
const (
	AckReceived = "RECEIVED"
	AckError    = "ERROR"
)

// NewAck acknowledges ev with status at now.
func NewAck(ev *CredentialEvent, status string, now time.Time) CredentialAck {
	ts := FormatTime(now)
	return CredentialAck{
		Publisher:   ev.Publisher,
		Topic:       ev.Topic,
		PublishedOn: ts,
		Event: AckStatus{
			ID:        ev.Event.ID,
			RequestID: ev.Event.TransactionID,
			Timestamp: ts,
			Status:    status,
		},
	}
}
