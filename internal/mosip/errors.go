package mosip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"opencrvs-mosip/internal/telemetry"
)

// Operations named in an APIError.
const (
	OpAuthenticate  = "authenticate"
	OpCreatePacket  = "create packet"
	OpStartWorkflow = "start workflow"
	OpSearchStatus  = "search status"
	OpReadIdentity  = "read identity"
	OpListVIDs      = "list VIDs"
)

// MOSIP error codes the clients treat specially.
const (
	// CodeRIDNotFound is how the status search reports, per id, a
	// registration it does not know: not an error for SearchStatus.
	CodeRIDNotFound = "RPR-RGS-031"
	// CodeNoRecordFound is the ID repository's "No Record(s) found": no
	// identity has the id, or the UIN has no active VID. IsNotFound
	// detects it.
	CodeNoRecordFound = "IDR-IDC-007"
	// CodeRecordExists is the ID repository's "Record already exists in
	// DB": an update under a registration id it has seen (a repeat).
	CodeRecordExists = "IDR-IDC-012"
)

// What can go wrong with a MOSIP answer besides the errors MOSIP lists.
// They are wrapped in APIError.Err; test with errors.Is.
var (
	// ErrNoResponse: no complete HTTP answer (connection refused or reset,
	// timeout, cancelled context, body cut short).
	ErrNoResponse = errors.New("no complete response")
	// ErrNotMOSIPJSON: the body is not a MOSIP response wrapper (a proxy's
	// HTML error page, an empty body, a truncated document).
	ErrNotMOSIPJSON = errors.New("response is not MOSIP JSON")
	// ErrNullResponse: MOSIP answered without errors and without a result.
	// The packet manager does this when it swallows an internal exception.
	ErrNullResponse = errors.New("response is null")
	// ErrBodyTooLarge: the body is above MaxResponseBytes.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrNoToken: the auth manager answered without an Authorization cookie.
	ErrNoToken = errors.New("no Authorization cookie in response")
	// ErrNoUIN: the ID repository answered an identity without a usable
	// UIN.
	ErrNoUIN = errors.New("identity has no UIN")
)

// MaxResponseBytes bounds how much of any MOSIP response body is read.
const MaxResponseBytes = 4 << 20

// Bounds on what an APIError keeps of MOSIP's errors, so that a hostile or
// broken answer cannot blow up logs and job rows.
const (
	maxErrorsKept  = 20
	maxCodeLen     = 40
	maxMessageLen  = 200
	errorSeparator = "; "
)

// APIError is a failed MOSIP call. It carries MOSIP's error codes and
// messages but never a response body, a token or a secret: bodies may hold
// personal data.
type APIError struct {
	Op string // OpAuthenticate, OpCreatePacket, ...
	// ID is the registration id the call was about ("" for authenticate,
	// search status and list VIDs: a UIN is never put in an error).
	ID string
	// StatusCode is the HTTP status; 0 when no answer came. MOSIP answers
	// most errors with 200 and a non-empty Errors.
	StatusCode int
	// Errors are MOSIP's errors (at most 20, codes and messages shortened).
	Errors []ServiceError
	// Err is what went wrong besides MOSIP's errors: ErrNoResponse (wrapping
	// the transport error), ErrNotMOSIPJSON, ErrNullResponse,
	// ErrBodyTooLarge, ErrNoToken, ErrNoUIN, or nil.
	Err error
}

func newAPIError(op, id string, status int, errs []ServiceError, err error) *APIError {
	return &APIError{Op: op, ID: id, StatusCode: status, Errors: cleanErrors(errs), Err: err}
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("mosip: ")
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	for i, se := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(errorSeparator)
		}
		b.WriteString(se.ErrorCode)
		if se.Message != "" {
			b.WriteString(" (")
			b.WriteString(se.Message)
			b.WriteString(")")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.StatusCode == 0 && len(e.Errors) == 0 && e.Err == nil {
		b.WriteString(": failed")
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// Codes returns MOSIP's error codes, in order.
func (e *APIError) Codes() []string {
	codes := make([]string, 0, len(e.Errors))
	for _, se := range e.Errors {
		codes = append(codes, se.ErrorCode)
	}
	return codes
}

// HasCode reports whether MOSIP listed code.
func (e *APIError) HasCode(code string) bool {
	for _, se := range e.Errors {
		if se.ErrorCode == code {
			return true
		}
	}
	return false
}

// ErrorClass says whether retrying a failed call can succeed.
type ErrorClass int

const (
	// Permanent: the request itself is wrong; retrying cannot fix it and
	// the registrar must be told.
	Permanent ErrorClass = iota
	// Transient: the system's problem (network, MOSIP down or overloaded,
	// auth, storage); the job retries later.
	Transient
)

func (c ErrorClass) String() string {
	if c == Transient {
		return "transient"
	}
	return "permanent"
}

// ErrorCode is one row of the MOSIP error code table.
type ErrorCode struct {
	// Code is a MOSIP error code, or a prefix ending in "*".
	Code    string
	Class   ErrorClass
	Meaning string
}

// ErrorCodes returns the table of MOSIP error codes the clients know, in a
// fresh slice (for documentation and for the jobs).
//
// To extend it, add a row: codes not listed are Permanent, so that an
// error nobody has looked at yet reaches a person instead of being retried
// for ever. Sources: mosip/registration PlatformErrorMessages.java (RPR-*),
// mosip/packet-manager PacketUtilityErrorCodes.java and ErrorCode.java
// (KER-PUT-*, KER-KPM-*), mosip/commons kernel-auth AuthErrorCode.java
// (KER-ATH-*), mosip/id-repository IdRepoErrorConstants.java (IDR-*).
func ErrorCodes() []ErrorCode {
	return []ErrorCode{
		// Kernel auth: the system's credentials or roles, never the record's.
		{"KER-ATH-*", Transient, "kernel auth: authentication or authorisation failed (credentials, token, roles)"},

		// Registration processor, workflow instance API and service.
		{"RPR-WIN-000", Permanent, "workflow instance: missing request value"},
		{"RPR-WIN-001", Permanent, "workflow instance: invalid request value"},
		{"RPR-WIN-002", Transient, "workflow instance API: unknown exception"},
		{"RPR-WIS-000", Transient, "workflow instance service: unknown exception"},
		{CodeWorkflowExists, Permanent, "workflow instance already present (StartWorkflow returns success)"},

		// Registration processor, registration status.
		{"RPR-RGS-001", Transient, "registration status: registration table not accessible"},
		{"RPR-RGS-002", Transient, "registration status: transaction table not accessible"},
		{"RPR-RGS-006", Permanent, "registration status: registration id is empty"},
		{"RPR-RGS-008", Permanent, "registration status: registration id must be numeric"},
		{"RPR-RGS-009", Permanent, "registration status: registration id length is wrong"},
		{"RPR-RGS-013", Permanent, "registration status: missing request value"},
		{"RPR-RGS-014", Permanent, "registration status: invalid request value"},
		{"RPR-RGS-015", Permanent, "registration status: input data is incorrect"},
		{"RPR-RGS-016", Permanent, "registration status: request JSON mapping failed"},
		{"RPR-RGS-017", Permanent, "registration status: request JSON parsing failed"},
		{"RPR-RGS-018", Transient, "registration status: unknown exception"},
		{"RPR-RGS-019", Permanent, "registration status: missing version"},
		{"RPR-RGS-020", Permanent, "registration status: missing requesttime"},
		{"RPR-RGS-021", Permanent, "registration status: missing id"},
		{"RPR-RGS-022", Permanent, "registration status: invalid version"},
		{"RPR-RGS-023", Permanent, "registration status: invalid requesttime"},
		{"RPR-RGS-024", Permanent, "registration status: invalid id"},
		{"RPR-RGS-030", Transient, "registration status: data access exception"},
		{CodeRIDNotFound, Permanent, "registration status: registration id not found (SearchStatus leaves it out of the result)"},

		// Packet manager (packet utility).
		{"KER-PUT-004", Transient, "packet manager: I/O error"},
		{"KER-PUT-005", Transient, "packet manager: API not accessible"},
		{"KER-PUT-006", Permanent, "packet manager: no available provider for the source and process"},
		{"KER-PUT-010", Transient, "packet manager: failed to generate the digital signature"},
		{"KER-PUT-013", Transient, "packet manager: no object store adapter"},
		{"KER-PUT-014", Transient, "packet manager: packet keeper error (get)"},
		{"KER-PUT-015", Transient, "packet manager: packet keeper error (put)"},
		{"KER-PUT-016", Transient, "packet manager: packet keeper error (get meta)"},
		{"KER-PUT-017", Transient, "packet manager: packet keeper error (integrity)"},
		{"KER-PUT-018", Transient, "packet manager: no available crypto service"},
		{"KER-PUT-020", Permanent, "packet manager: packet validation failed"},
		{"KER-PUT-025", Permanent, "packet manager: invalid source or process"},
		{"KER-PUT-028", Transient, "packet manager: unknown exception"},

		// Packet manager (packet creator).
		{"KER-KPM-001", Transient, "packet creator: failed to encrypt the packet"},
		{"KER-KPM-002", Permanent, "packet creator: failed to parse JSON"},
		{"KER-KPM-003", Transient, "packet creator: failed to add a zip entry"},
		{"KER-KPM-004", Permanent, "packet creator: failed to generate XML from biometrics"},
		{"KER-KPM-005", Permanent, "packet creator: failed to serialise an object"},
		{"KER-KPM-006", Transient, "packet creator: failed to create the zip"},
		{"KER-KPM-007", Permanent, "packet creator: invalid input"},
		{"KER-KPM-008", Permanent, "packet creator: registration audits are empty"},
		{"KER-KPM-009", Transient, "packet creator: not initialised"},

		// ID repository (identity and VID services).
		{"IDR-IDC-001", Permanent, "ID repository: missing input parameter"},
		{"IDR-IDC-002", Permanent, "ID repository: invalid input parameter (id, type, idType, UIN or VID)"},
		{"IDR-IDC-003", Permanent, "ID repository: invalid request"},
		{"IDR-IDC-004", Transient, "ID repository: unknown error"},
		{"IDR-IDC-005", Permanent, "ID repository: input data validation failed"},
		{"IDR-IDC-006", Transient, "ID repository: database access error"},
		{CodeNoRecordFound, Permanent, "ID repository: no record found (IsNotFound)"},
		{"IDR-IDC-008", Transient, "ID repository: a service it called answered 4xx"},
		{"IDR-IDC-009", Transient, "ID repository: a service it called answered 5xx"},
		{"IDR-IDC-010", Transient, "ID repository: connection timed out"},
		{"IDR-IDC-011", Transient, "ID repository: authorisation failed (the system's roles)"},
		{CodeRecordExists, Permanent, "ID repository: record already exists (an update repeated under the same registration id: success)"},
		{"IDR-IDS-003", Transient, "ID repository: encryption or decryption failed (key manager)"},
		{"IDR-IDS-004", Transient, "ID repository: object store not accessible"},
		{"IDR-IDS-008", Transient, "ID repository: identity schema not retrievable"},
		{"IDR-IDS-010", Transient, "ID repository: VID service not accessible"},
		{"IDR-VID-001", Permanent, "VID service: the VID is expired, blocked or otherwise unusable"},
		{"IDR-VID-004", Permanent, "VID service: the UIN is not active"},
		{"IDR-VID-005", Transient, "VID service: UIN not retrievable from the identity service"},
		{"IDR-VID-006", Permanent, "VID service: UIN hash mismatch (MOSIP's data needs a person)"},

		// Key manager, token ID generator (UINToken).
		{"KER-TIG-010", Permanent, "token ID generator: UIN or partner code empty"},
		{"KER-UIG-005", Transient, "token ID generator: internal server error"},

		// Upload path (uploader.go): RID generator (RidGeneratorExceptionConstant),
		// key manager (KeymanagerErrorConstant, CryptomanagerErrorCode),
		// registration status sync and packet receiver (PlatformErrorMessages).
		{"KER-RIG-001", Permanent, "RID generator: null centre or machine id"},
		{"KER-RIG-002", Permanent, "RID generator: empty centre or machine id"},
		{"KER-RIG-003", Permanent, "RID generator: centre or machine id length is wrong"},
		{"KER-RIG-005", Transient, "RID generator: error fetching the sequence"},
		{"KER-RIG-006", Transient, "RID generator: error storing the sequence"},
		{"KER-KMS-002", Permanent, "key manager: application id not in the key policy"},
		{"KER-KMS-005", Permanent, "key manager: invalid request"},
		{"KER-KMS-006", Permanent, "key manager: timestamp not in ISO 8601 format"},
		{"KER-KMS-010", Permanent, "key manager: reference id not supported for the application id"},
		{"KER-KMS-012", Transient, "key manager: key generation not completed"},
		{"KER-KMS-500", Transient, "key manager: internal server error"},
		{"KER-CRY-003", Permanent, "crypto manager: data is invalid or not base64"},
		{"KER-CRY-004", Permanent, "crypto manager: a request value is null or empty"},
		{"KER-CRY-005", Transient, "crypto manager: cannot connect to the key manager"},
		{"KER-CRY-006", Transient, "crypto manager: the key manager answered an error"},
		{"KER-CRY-007", Permanent, "crypto manager: timestamp not in ISO 8601 format"},
		{"RPR-RGS-003", Permanent, "sync: invalid registration type"},
		{"RPR-RGS-004", Permanent, "sync: language code must have three characters"},
		{"RPR-RGS-007", Permanent, "sync: invalid timestamp in the registration id"},
		{"RPR-RGS-026", Permanent, "sync: supervisor status must be APPROVED or REJECTED"},
		{"RPR-RGS-027", Permanent, "sync: packet hash is missing"},
		{"RPR-RGS-028", Transient, "sync: request decryption failed (key manager keys)"},
		{"RPR-RGS-029", Transient, "sync: sync failed"},
		{"RPR-PKR-001", Transient, "packet receiver: registration id not in the sync table (sync again, then upload)"},
		{"RPR-PKR-002", Permanent, "packet receiver: packet larger than allowed"},
		{"RPR-PKR-003", Permanent, "packet receiver: invalid packet format"},
		{"RPR-PKR-004", Permanent, "packet receiver: packet validation failed"},
		{CodeDuplicatePacket, Permanent, "packet receiver: duplicate upload (UploadPacket returns success)"},
		{"RPR-PKR-006", Permanent, "packet receiver: no packet in the request"},
		{"RPR-PKR-007", Transient, "packet receiver: unknown exception"},
		{"RPR-PKR-008", Transient, "packet receiver: virus scanner not responding"},
		{"RPR-PKR-009", Permanent, "packet receiver: packet hash differs from the sync"},
		{"RPR-PKR-010", Permanent, "packet receiver: virus found in the packet"},
		{"RPR-PKR-011", Transient, "packet receiver: API resource not accessible"},
		{"RPR-PKR-012", Transient, "packet receiver: database not accessible"},
		{"RPR-PKR-013", Permanent, "packet receiver: packet size differs from the sync"},
		{"RPR-PKR-014", Permanent, "packet receiver: packet hash sequence differs from the sync"},
		{"RPR-PKR-015", Transient, "packet receiver: packet decryption failed (key manager keys)"},
	}
}

// CodeClass returns the class of one MOSIP error code and whether the table
// lists it; unlisted codes are Permanent.
func CodeClass(code string) (ErrorClass, bool) {
	table := ErrorCodes()
	for _, row := range table {
		if row.Code == code {
			return row.Class, true
		}
	}
	for _, row := range table {
		if prefix, ok := strings.CutSuffix(row.Code, "*"); ok && strings.HasPrefix(code, prefix) {
			return row.Class, true
		}
	}
	return Permanent, false
}

// IsTransient reports whether a job should retry after err. It is the one
// place that decides; the rules, first match wins:
//
//	nil                                          no (nothing to retry)
//	context.Canceled, context.DeadlineExceeded   transient: the job runs again
//	                                             (our shutdown cancels too)
//	APIError of OpAuthenticate                   transient: credentials are the
//	                                             system's, not the record's
//	APIError with ErrNoResponse                  transient (network, timeout)
//	HTTP 401, 403, 408, 429, 5xx                 transient
//	APIError with MOSIP error codes              transient only if every code is
//	                                             Transient in ErrorCodes (unknown
//	                                             codes are Permanent)
//	ErrNotMOSIPJSON, ErrNullResponse,
//	ErrBodyTooLarge, ErrNoToken, ErrNoUIN        transient (a proxy or MOSIP
//	                                             failing, not the record)
//	any other HTTP status (other 4xx, odd 2xx)   permanent
//	net.Error, *url.Error, io.ErrUnexpectedEOF   transient (outside an APIError)
//	anything else                                permanent (e.g. a record the
//	                                             client refused to send)
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class() == Transient
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return false
}

// Class classifies the error by the rules of IsTransient.
func (e *APIError) Class() ErrorClass {
	switch {
	case e.Op == OpAuthenticate:
		return Transient
	case errors.Is(e.Err, context.Canceled), errors.Is(e.Err, context.DeadlineExceeded):
		return Transient
	case errors.Is(e.Err, ErrNoResponse):
		return Transient
	case transientStatus(e.StatusCode):
		return Transient
	case len(e.Errors) > 0:
		for _, se := range e.Errors {
			if c, _ := CodeClass(se.ErrorCode); c != Transient {
				return Permanent
			}
		}
		return Transient
	case errors.Is(e.Err, ErrNotMOSIPJSON), errors.Is(e.Err, ErrNullResponse),
		errors.Is(e.Err, ErrBodyTooLarge), errors.Is(e.Err, ErrNoToken), errors.Is(e.Err, ErrNoUIN):
		return Transient
	default:
		return Permanent
	}
}

// IsNotFound reports whether err is the ID repository's answer that it has
// no such record (CodeNoRecordFound and no other code): for IdentityByRID,
// MOSIP has no identity for the registration (yet: it may still be in the
// registration processor); for VIDsByUIN, the UIN is unknown or has no
// active VID. It is false for every transient error.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Class() == Permanent && onlyCode(ae.Errors, CodeNoRecordFound)
}

// transientStatus lists the HTTP statuses that say "not now" rather than
// "not this request". 401 and 403 are here because MOSIP's kernel auth uses
// them for the system's token and roles.
func transientStatus(code int) bool {
	switch code {
	case 401, 403, 408, 429:
		return true
	}
	return code >= 500 && code <= 599
}

// cleanErrors keeps a bounded, printable copy of MOSIP's errors.
func cleanErrors(errs []ServiceError) []ServiceError {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) > maxErrorsKept {
		errs = errs[:maxErrorsKept]
	}
	out := make([]ServiceError, len(errs))
	for i, se := range errs {
		out[i] = ServiceError{ErrorCode: telemetry.Printable(se.ErrorCode, maxCodeLen), Message: telemetry.Printable(se.Message, maxMessageLen)}
	}
	return out
}
