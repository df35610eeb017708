package mosip

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Credential is what the mediator needs from a decrypted credential.
type Credential struct {
	// RegistrationID is the AID the credential was issued for: the last path
	// segment of credentialSubject.id (MOSIP puts the bare RID there; W3C
	// style credentials a URL ending in it).
	RegistrationID string
	UIN            string
	VID            string
	// BRN and RequestID are not read from the credential but from its
	// delivery: the opencrvsBRN MOSIP's OpenCRVS stage added (the split
	// design finds the record by it) and the credential request id (the
	// event's transactionId).
	BRN, RequestID string
}

// ParseCredential reads a decrypted credential. Subject values may be
// strings or numbers; both MOSIP's formatted credential
// ({credentialSubject:{id, UIN, VID, ...}}) and the W3C verifiable credential
// ({credentialSubject:{id:"http://.../credentials/<rid>", VID, ...}}) are
// understood. A death credential may carry no UIN or VID. Keys match
// exactly (not case-insensitively, as encoding/json's struct fields do):
// what is read is what a verifiable credential's proof covers.
func ParseCredential(plain []byte) (*Credential, error) {
	var vc map[string]json.RawMessage
	if err := json.Unmarshal(plain, &vc); err != nil {
		return nil, fmt.Errorf("mosip: credential is not JSON: %w", err)
	}
	var subject map[string]json.RawMessage
	if raw, ok := vc["credentialSubject"]; ok {
		if err := json.Unmarshal(raw, &subject); err != nil {
			return nil, fmt.Errorf("mosip: credentialSubject is not an object: %w", err)
		}
	}
	if subject == nil {
		return nil, fmt.Errorf("mosip: credential has no credentialSubject")
	}
	c := &Credential{
		UIN: scalar(subject["UIN"]),
		VID: scalar(subject["VID"]),
	}
	if c.VID == "" {
		c.VID = scalar(subject["vid"])
	}
	id := strings.TrimRight(scalar(subject["id"]), "/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if id == "" {
		return nil, fmt.Errorf("mosip: credentialSubject has no id")
	}
	c.RegistrationID = id
	return c, nil
}

// SubjectFieldsRead are the credentialSubject properties ParseCredential
// reads: a credential proof must cover them for what is read to be what
// MOSIP signed.
func SubjectFieldsRead() []string { return []string{"id", "UIN", "VID", "vid"} }

// scalar returns a JSON string or number as text, "" for anything else.
func scalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
