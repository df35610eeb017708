package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode"
	"unicode/utf8"

	"opencrvs-mosip/internal/bridge"
)

// ResultStatus is what became of a forwarded record in MOSIP.
type ResultStatus string

const (
	// ResultIssued: MOSIP issued (or already had) a UIN; UINToken is the
	// PSUT token for OpenCRVS when the MOSIP side made one.
	ResultIssued ResultStatus = "issued"
	// ResultDeactivated: a death was recorded in MOSIP.
	ResultDeactivated ResultStatus = "deactivated"
	// ResultRejected: MOSIP refused the record; Reason says why.
	ResultRejected ResultStatus = "rejected"
)

// Limits of Result's fields.
const (
	maxBRNBytes    = 128
	maxTokenBytes  = 512
	maxReasonBytes = 2000
)

// Result is what the MOSIP side sends back to the OpenCRVS side. The JSON
// names opencrvsBRN and uinToken are those the Node OpenCRVS-side mediator
// reads, so a Node receiver works with our MOSIP side; it ignores the rest.
// Never the UIN: OpenCRVS gets only the token (opencrvs-core #3603).
type Result struct {
	// BRN is the OpenCRVS registration number (BRN, or DRN for a death).
	BRN string `json:"opencrvsBRN"`
	// UINToken is the partner-specific UIN token (PSUT); may be "".
	UINToken string           `json:"uinToken"`
	AID      string           `json:"aid,omitempty"`
	Event    bridge.EventKind `json:"event"`
	Status   ResultStatus     `json:"status"`
	// Reason says in plain words why MOSIP rejected the record; required
	// when Status is rejected, no personal data.
	Reason string `json:"reason,omitempty"`
}

// Validate checks what a receiver needs: a BRN, a known status and event,
// a reason for a rejection, bounded printable fields. Errors are bridge
// EInvalid errors naming the JSON field.
func (r Result) Validate() error {
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"opencrvsBRN", r.BRN, maxBRNBytes},
		{"uinToken", r.UINToken, maxTokenBytes},
		{"aid", r.AID, maxAIDBytes},
		{"reason", r.Reason, maxReasonBytes},
	} {
		if len(f.value) > f.max {
			return bridge.FieldErrorf(bridge.EInvalid, f.name, "is %d bytes, over the %d-byte limit", len(f.value), f.max)
		}
		if !utf8.ValidString(f.value) {
			return bridge.FieldErrorf(bridge.EInvalid, f.name, "is not valid UTF-8")
		}
		if f.name != "reason" {
			for _, c := range f.value {
				if unicode.IsControl(c) || unicode.IsSpace(c) {
					return bridge.FieldErrorf(bridge.EInvalid, f.name, "has a space or control character")
				}
			}
		}
	}
	if r.BRN == "" {
		return bridge.FieldErrorf(bridge.EInvalid, "opencrvsBRN", "is required: the registration number the result is about")
	}
	if r.AID != "" {
		if err := checkAID(r.AID); err != nil {
			return bridge.FieldErrorf(bridge.EInvalid, "aid", "%v", err)
		}
	}
	if !r.Event.Valid() {
		return bridge.FieldErrorf(bridge.EInvalid, "event", "is %q, want birth or death", r.Event)
	}
	switch r.Status {
	case ResultIssued, ResultDeactivated:
	case ResultRejected:
		if r.Reason == "" {
			return bridge.FieldErrorf(bridge.EInvalid, "reason", "is required when status is rejected: say why MOSIP refused the record")
		}
	default:
		return bridge.FieldErrorf(bridge.EInvalid, "status", "is %q, want issued, deactivated or rejected", r.Status)
	}
	return nil
}

// ParseResult reads the plaintext of a result envelope: ours, or the Java
// mediator's minimal {"uinToken": "...", "opencrvsBRN": "..."}. A result
// without status is the minimal form: status issued, event birth (the Java
// mediator returns only birth credentials). Unknown fields are ignored so
// that a newer peer can add some. Errors are bridge EInvalid errors.
func ParseResult(plain []byte) (Result, error) {
	dec := json.NewDecoder(bytes.NewReader(plain))
	var r Result
	if err := dec.Decode(&r); err != nil {
		return Result{}, bridge.Errorf(bridge.EInvalid, "the result is not the JSON object {opencrvsBRN, uinToken, status, ...}: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Result{}, bridge.Errorf(bridge.EInvalid, "the result has more data after its JSON object")
	}
	if r.Status == "" {
		r.Status = ResultIssued
		if r.Event == "" {
			r.Event = bridge.EventBirth
		}
	}
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	return r, nil
}

// jsonProblem describes a decoding error without echoing the input (it may
// hold a token).
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "it is a JSON " + typeErr.Value + ", want an object"
		}
		return "field " + typeErr.Field + " is a JSON " + typeErr.Value + ", want " + typeErr.Type.String()
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "not valid JSON"
	}
	return "cannot decode"
}
