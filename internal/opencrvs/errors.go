package opencrvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"

	"opencrvs-mosip/internal/telemetry"
)

// What can go wrong with a GraphQL answer besides the errors it lists.
// They are wrapped in GraphQLError.Err; test with errors.Is.
var (
	// ErrNoResponse: no complete HTTP answer (connection refused or reset,
	// timeout, cancelled context, body cut short).
	ErrNoResponse = errors.New("no complete response")
	// ErrNotGraphQL: a 2xx body that is not GraphQL JSON (a proxy's page).
	ErrNotGraphQL = errors.New("response is not GraphQL JSON")
	// ErrNoData: a 2xx GraphQL answer without errors and without the
	// mutation's result.
	ErrNoData = errors.New("response has no data for the mutation")
	// ErrBodyTooLarge: the body is above 1 MiB.
	ErrBodyTooLarge = errors.New("response body too large")
)

// Bounds on what a GraphQLError keeps, so that a hostile or broken answer
// cannot blow up logs and job rows.
const (
	maxGraphQLErrors  = 20
	maxGraphQLCodeLen = 60
	maxGraphQLMsgLen  = 300
	redacted          = "[redacted]"
)

// GraphQLError is a failed OpenCRVS GraphQL call. It never holds the token,
// the variables or the response body; identifier values the call sent are
// blanked out of Messages.
type GraphQLError struct {
	Op       string // OpConfirmRegistration or OpRejectRegistration
	RecordID string
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Messages and Codes come from the answer's errors[] (message and
	// extensions.code), index for index; a missing code is "".
	Messages []string
	Codes    []string
	// Err is what went wrong besides listed errors: ErrNoResponse (wrapping
	// the transport error), ErrNotGraphQL, ErrNoData, ErrBodyTooLarge, or nil.
	Err error
}

func (e *GraphQLError) Error() string {
	var b strings.Builder
	b.WriteString("opencrvs: ")
	b.WriteString(e.Op)
	if e.RecordID != "" {
		b.WriteString(" ")
		b.WriteString(e.RecordID)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	for i, msg := range e.Messages {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if i < len(e.Codes) && e.Codes[i] != "" {
			b.WriteString(e.Codes[i])
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%q", msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.StatusCode == 0 && len(e.Messages) == 0 && e.Err == nil {
		b.WriteString(": failed")
	}
	return b.String()
}

func (e *GraphQLError) Unwrap() error { return e.Err }

// addErrors keeps a bounded, printable, redacted copy of errors.
func (e *GraphQLError) addErrors(items []graphQLErrorItem, secrets []string) {
	if len(items) > maxGraphQLErrors {
		items = items[:maxGraphQLErrors]
	}
	for _, it := range items {
		code, _ := it.Extensions["code"].(string)
		e.Messages = append(e.Messages, telemetry.Printable(redact(it.Message, secrets), maxGraphQLMsgLen))
		e.Codes = append(e.Codes, telemetry.Printable(code, maxGraphQLCodeLen))
	}
}

// redact blanks out what an error message may quote of the request: the
// identifier values sent, and the value graphql-js prints in
// `Variable "$details" got invalid value {...}; <reason>`.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, redacted)
		}
	}
	const marker = "got invalid value "
	if i := strings.Index(msg, marker); i >= 0 {
		rest := msg[i+len(marker):]
		reason := ""
		if j := strings.LastIndex(rest, "; "); j >= 0 {
			reason = rest[j:]
		}
		msg = msg[:i+len(marker)] + redacted + reason
	}
	return msg
}

// transientCodes are the extensions.code values that say "OpenCRVS failed,
// not this request". Apollo Server gives INTERNAL_SERVER_ERROR to any
// exception a resolver throws, which in OpenCRVS 1.8 includes a workflow
// service being down.
var transientCodes = []string{
	"INTERNAL_SERVER_ERROR",
	"INTERNAL_ERROR",
	"INTERNAL",
	"SERVICE_UNAVAILABLE",
	"UNAVAILABLE",
}

// IsTransient reports whether retrying the call that returned err can
// succeed. The rules, first match wins:
//
//	nil                                        no
//	context.Canceled, context.DeadlineExceeded yes (the job runs again; our
//	                                           shutdown cancels too)
//	GraphQLError with ErrNoResponse            yes (network, timeout)
//	HTTP 401, 403                              no: the record token is bad or
//	                                           expired; retrying cannot help
//	HTTP 408, 429, 5xx                         yes
//	GraphQL errors                             yes only if every error's
//	                                           extensions.code is in
//	                                           transientCodes
//	ErrNotGraphQL on a 2xx                     yes (a proxy failing, not the
//	                                           record)
//	any other GraphQLError (other 4xx, ErrNoData, ErrBodyTooLarge)  no
//	TRPCError (1.9)                            yes for no answer, a tRPC code
//	                                           in transientTRPCCodes, or
//	                                           without a code HTTP 408, 429,
//	                                           5xx or a 2xx that is not tRPC;
//	                                           no for any other code
//	                                           (UNAUTHORIZED, FORBIDDEN,
//	                                           NOT_FOUND, BAD_REQUEST, ...)
//	WebhookError (webhooks service)            yes for no answer, HTTP 408,
//	                                           429, 5xx, or a transient
//	                                           TokenError; no for a denial,
//	                                           a failed callback check, 401
//	TokenError (system client token)           yes for no answer, HTTP 408,
//	                                           429, 5xx; no for a refusal
//	                                           (400, 401: the client id or
//	                                           secret is wrong)
//	net.Error, *url.Error, io.ErrUnexpectedEOF yes (outside a GraphQLError)
//	anything else (e.g. bridge EInvalid)       no
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ge *GraphQLError
	if errors.As(err, &ge) {
		return ge.transient()
	}
	var se *SinkError
	if errors.As(err, &se) {
		return se.transient()
	}
	var te *TRPCError
	if errors.As(err, &te) {
		return te.transient()
	}
	var we *WebhookError
	if errors.As(err, &we) {
		return we.transient()
	}
	var tke *TokenError
	if errors.As(err, &tke) {
		return tke.transient()
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (e *GraphQLError) transient() bool {
	switch code := e.StatusCode; {
	case errors.Is(e.Err, ErrNoResponse):
		return true
	case code == 401 || code == 403:
		return false
	case code == 408 || code == 429 || (code >= 500 && code <= 599):
		return true
	case len(e.Codes) > 0:
		for _, c := range e.Codes {
			if !slices.Contains(transientCodes, strings.ToUpper(c)) {
				return false
			}
		}
		return true
	case errors.Is(e.Err, ErrNotGraphQL):
		return true
	default:
		return false
	}
}

// AlreadyDoneRule recognises an error that says the mutation's effect is
// already there: a confirmation of a record that is registered, a
// rejection of a record that is rejected.
type AlreadyDoneRule struct {
	// Op is OpConfirmRegistration or OpRejectRegistration (1.8 GraphQL),
	// ProcRegisterAccept or ProcRegisterReject (1.9 tRPC).
	Op string
	// Code matches extensions.code exactly; Phrase matches a message
	// case-insensitively as a substring. One of them is set.
	Code, Phrase string
	Why          string
}

// AlreadyDoneRules returns the table IsAlreadyDone applies, in a fresh
// slice (for documentation). OpenCRVS 1.8 has no dedicated code for these
// cases; its gateway wraps workflow errors into messages, hence the
// phrases. To extend, add a row.
func AlreadyDoneRules() []AlreadyDoneRule {
	return []AlreadyDoneRule{
		{Op: OpConfirmRegistration, Code: "ALREADY_REGISTERED", Why: "the OpenCRVS simulator's answer to a repeated confirmation"},
		{Op: OpConfirmRegistration, Phrase: "already registered", Why: `e.g. "record is already registered"`},
		{Op: OpConfirmRegistration, Phrase: "already been registered", Why: `e.g. "record has already been registered"`},
		{Op: OpConfirmRegistration, Phrase: "already confirmed", Why: `e.g. "registration already confirmed"`},
		{Op: OpConfirmRegistration, Phrase: "already been confirmed", Why: `e.g. "registration has already been confirmed"`},
		{Op: OpConfirmRegistration, Phrase: "not in waiting_validation", Why: "1.8 workflow: the record left WAITING_VALIDATION (our earlier confirmation went through)"},
		{Op: OpConfirmRegistration, Phrase: "not in waiting validation", Why: "the same, spelled with a space"},
		{Op: OpRejectRegistration, Code: "ALREADY_REJECTED", Why: "the OpenCRVS simulator's answer to a repeated rejection"},
		{Op: OpRejectRegistration, Phrase: "already rejected", Why: `e.g. "record is already rejected"`},
		{Op: OpRejectRegistration, Phrase: "already been rejected", Why: `e.g. "record has already been rejected"`},
		// OpenCRVS 1.9 answers a repeated accept or reject with success; these
		// rows cover gateways and versions that answer an error instead.
		{Op: ProcRegisterAccept, Phrase: "already been accepted", Why: `1.9: e.g. "Action has already been accepted."`},
		{Op: ProcRegisterAccept, Phrase: "already accepted", Why: `1.9: e.g. "action already accepted"`},
		{Op: ProcRegisterReject, Phrase: "already been rejected", Why: `1.9: e.g. "Action has already been rejected."`},
		{Op: ProcRegisterReject, Phrase: "already rejected", Why: `1.9: e.g. "action already rejected"`},
	}
}

// IsAlreadyDone reports whether err is OpenCRVS saying the mutation's
// effect already exists (AlreadyDoneRules), so that a repeated confirmation
// or rejection after a crash or a lost answer counts as success.
func IsAlreadyDone(err error) bool {
	if te := (*TRPCError)(nil); errors.As(err, &te) {
		return te.alreadyDone()
	}
	var ge *GraphQLError
	if !errors.As(err, &ge) {
		return false
	}
	for _, rule := range AlreadyDoneRules() {
		if rule.Op != ge.Op {
			continue
		}
		for i, msg := range ge.Messages {
			if rule.Code != "" && i < len(ge.Codes) && ge.Codes[i] == rule.Code {
				return true
			}
			if rule.Phrase != "" && strings.Contains(strings.ToLower(msg), rule.Phrase) {
				return true
			}
		}
	}
	return false
}
