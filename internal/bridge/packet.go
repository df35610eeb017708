package bridge

import (
	"encoding/json"
	"strings"
)

// MOSIP registration processes the mediator starts.
const (
	ProcessNew    = "CRVS_NEW"
	ProcessDeath  = "CRVS_DEATH"
	ProcessUpdate = "CRVS_UPDATE"
	// ProcessIDRepoUpdate is not a MOSIP process: the transaction's change
	// (a death reversal's reactivation) is made through the ID repository's
	// identity update API instead of a packet.
	ProcessIDRepoUpdate = "IDREPO_UPDATE"
)

// IdentityRefFields are the packet fields, in order, that name the MOSIP
// identity a death or an update is about (MOSIP's ID schema has UIN and vid;
// the Node mosip-api sends nationalIdNumber).
var IdentityRefFields = []string{"UIN", "VID", "vid", "nationalIdNumber"}

// IdentityRef is the first of IdentityRefFields that fields give as a
// non-blank string, and its value (trimmed); "", "" when none does.
func IdentityRef(fields map[string]json.RawMessage) (field, value string) {
	for _, f := range IdentityRefFields {
		var v string
		if raw, ok := fields[f]; ok && json.Unmarshal(raw, &v) == nil {
			if v = strings.TrimSpace(v); v != "" {
				return f, v
			}
		}
	}
	return "", ""
}

// Packet is what the mediator sends to MOSIP for one transaction: the
// identity fields of the MOSIP ID schema and the packet's meta information.
// It is decided at intake and stored with the transaction, so that a retry
// sends exactly what was accepted.
type Packet struct {
	Process string `json:"process"`
	// Fields are MOSIP ID schema fields. A JSON string is sent as it is; any
	// other JSON value (a [{language,value}] list, an object) is sent as its
	// JSON text, the convention of MOSIP's packet manager.
	Fields map[string]json.RawMessage `json:"fields"`
	// MetaInfo and Audit follow the same convention. Audit is sent as the
	// single element of the packet's audits list.
	MetaInfo map[string]json.RawMessage `json:"metaInfo,omitempty"`
	Audit    map[string]json.RawMessage `json:"audit,omitempty"`
	// SchemaJSON overrides the configured MOSIP ID schema when the sender
	// supplied one.
	SchemaJSON   string       `json:"schemaJson,omitempty"`
	Notification Notification `json:"notification"`
	// Record is, on the OpenCRVS-side mediator, the OpenCRVS webhook
	// payload as received: what is forwarded, sealed, to the MOSIP side,
	// which maps it itself (the existing Java mediator expects exactly
	// that payload).
	Record json.RawMessage `json:"record,omitempty"`
}

// Notification is who MOSIP notifies about the registration (workflow
// notificationInfo).
type Notification struct {
	Name  string `json:"recipientFullName,omitempty"`
	Email string `json:"recipientEmail,omitempty"`
	Phone string `json:"recipientPhone,omitempty"`
}
