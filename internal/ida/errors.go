package ida

import (
	"fmt"
	"strings"
)

// Kind says what a failed verification means for the caller.
type Kind string

const (
	// KindNotMatched: IDA answered and did not authenticate the person:
	// a demographic did not match, or the UIN/VID is unknown or inactive.
	// The answer to give is "failed".
	KindNotMatched Kind = "not_matched"
	// KindRejected: IDA refused the request itself (signature, partner,
	// license key, encryption, timestamp, input validation). Nothing is
	// known about the person; an operator must fix the configuration.
	KindRejected Kind = "rejected"
	// KindUnavailable: no usable answer (network error, timeout, HTTP 5xx,
	// a body that is not IDA JSON). Try again later.
	KindUnavailable Kind = "unavailable"
	// KindInvalid: the person to verify is not usable (no id, a bad date).
	KindInvalid Kind = "invalid"
)

// ServiceError is one entry of IDA's errors array.
type ServiceError struct {
	ErrorCode     string `json:"errorCode"`
	ErrorMessage  string `json:"errorMessage"`
	ActionMessage string `json:"actionMessage,omitempty"`
}

// IDA error codes the client and the simulator know.
const (
	CodeInvalidTimestamp   = "IDA-MLC-001" // Request to be received at MOSIP within %s seconds
	CodeInvalidUIN         = "IDA-MLC-002" // Invalid UIN
	CodeUINDeactivated     = "IDA-MLC-003" // UIN has been deactivated
	CodeInvalidVID         = "IDA-MLC-004" // Invalid VID
	CodeExpiredVID         = "IDA-MLC-005"
	CodeMissingInput       = "IDA-MLC-006" // Missing Input Parameter - %s
	CodeUnableToProcess    = "IDA-MLC-007" // Request could not be processed. Please try again
	CodeNoAuthType         = "IDA-MLC-008" // No authentication type selected
	CodeInvalidInput       = "IDA-MLC-009" // Invalid Input Parameter - %s
	CodeVIDDeactivatedUIN  = "IDA-MLC-010" // VID corresponding to a deactivated UIN
	CodeConsentMissing     = "IDA-MLC-012" // Individual's Consent is not available
	CodeIDNotAvailable     = "IDA-MLC-018" // %s not available in database
	CodeUINBlocked         = "IDA-MLC-022" // UIN is deactivated/blocked
	CodeVIDExpired         = "IDA-MLC-023" // VID is expired/deactivated
	CodeDemoMismatch       = "IDA-DEA-001" // Demographic data %s in %s did not match
	CodeUnsupportedLang    = "IDA-DEA-002" // Unsupported Language Code - %s
	CodeDemoMissing        = "IDA-DEA-003" // Demographic data %s in %s not available in database
	CodeSignatureFailed    = "IDA-MPA-001" // Digital signature verification failed for %s
	CodeInvalidCertificate = "IDA-MPA-002" // Invalid certificate in digital signature
	CodeDecryptFailed      = "IDA-MPA-003" // Unable to decrypt Request
	CodeInvalidLicenseKey  = "IDA-MPA-007" // License key does not belong to a registered MISP
	CodePartnerUnknown     = "IDA-MPA-009" // Partner is not registered
	CodePartnerNotMapped   = "IDA-MPA-010" // MISP and Partner not mapped
	CodeHMACFailed         = "IDA-MPA-016" // HMAC Validation failed
	CodeInvalidPolicy      = "IDA-MPA-018" // Policy ID does not belong to a registered Partner
	CodeCertNotMatched     = "IDA-MPA-021" // Partner (Auth) Certificate not matching with signature header certificate.
	CodeCertNotInHeader    = "IDA-MPA-022" // Partner (Auth) Certificate not found in Request signature header.
)

// isNoMatch reports whether an IDA error code is an answer about the
// person (KindNotMatched) rather than about the request.
func isNoMatch(code string) bool {
	switch code {
	case CodeInvalidUIN, CodeUINDeactivated, CodeInvalidVID, CodeExpiredVID, CodeVIDDeactivatedUIN,
		CodeIDNotAvailable, CodeUINBlocked, CodeVIDExpired, CodeDemoMismatch, CodeDemoMissing:
		return true
	}
	return false
}

// Error is a verification that did not authenticate the person. It holds
// no personal data: IDA's error codes and messages name attributes
// ("name in eng"), never their values.
type Error struct {
	Kind Kind
	// TransactionID is the IDA transaction id of the request ("" when none
	// was sent).
	TransactionID string
	// StatusCode is IDA's HTTP status (0: no answer).
	StatusCode int
	// Errors are IDA's errors, bounded in number and length.
	Errors []ServiceError
	// Message explains a KindInvalid error.
	Message string
	// Err is the cause when IDA gave no errors (transport, HTTP status).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ida: ")
	switch e.Kind {
	case KindNotMatched:
		b.WriteString("not authenticated")
	case KindRejected:
		b.WriteString("request refused by IDA")
	case KindUnavailable:
		b.WriteString("IDA unavailable")
	default:
		b.WriteString(e.Message)
	}
	if e.TransactionID != "" {
		fmt.Fprintf(&b, " (transaction %s)", e.TransactionID)
	}
	for i, se := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(se.ErrorCode)
		if se.ErrorMessage != "" {
			fmt.Fprintf(&b, " %q", se.ErrorMessage)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Codes lists the IDA error codes, for logs.
func (e *Error) Codes() []string {
	out := make([]string, len(e.Errors))
	for i, se := range e.Errors {
		out[i] = se.ErrorCode
	}
	return out
}

// Bounds on what an Error keeps from an answer.
const (
	maxErrors     = 10
	maxCodeLen    = 40
	maxMessageLen = 200
)

func boundErrors(in []ServiceError) []ServiceError {
	if len(in) > maxErrors {
		in = in[:maxErrors]
	}
	out := make([]ServiceError, 0, len(in))
	for _, e := range in {
		out = append(out, ServiceError{
			ErrorCode: clip(e.ErrorCode, maxCodeLen), ErrorMessage: clip(e.ErrorMessage, maxMessageLen),
			ActionMessage: clip(e.ActionMessage, maxMessageLen),
		})
	}
	return out
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

func invalid(msg string) *Error { return &Error{Kind: KindInvalid, Message: msg} }
