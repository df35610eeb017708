package bridge

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error for callers: the HTTP layer turns each code
// into one status, jobs decide on retries by it.
type ErrorCode string

const (
	EInvalid      ErrorCode = "invalid"      // the input is malformed or incomplete
	EUnauthorized ErrorCode = "unauthorized" // missing or bad credentials
	EForbidden    ErrorCode = "forbidden"    // credentials do not allow this
	ENotFound     ErrorCode = "not_found"    // no such thing
	EConflict     ErrorCode = "conflict"     // the state does not allow this
	ETooLarge     ErrorCode = "too_large"    // the body is above the limit
	EUnavailable  ErrorCode = "unavailable"  // a dependency is down; try later
	EBusy         ErrorCode = "busy"         // too much work waiting, or shutting down; try later
	ERateLimited  ErrorCode = "rate_limited" // this client sent more than its share; try later
	EInternal     ErrorCode = "internal"     // a bug or an unexpected failure
	EUnsupported  ErrorCode = "unsupported"  // a well-formed input we do not handle
	EUpstream     ErrorCode = "upstream"     // a dependency answered something wrong or untrustworthy (HTTP 502)
)

// Error is the application error. Message is safe to show to the caller;
// Err keeps the cause for logs.
type Error struct {
	Code ErrorCode
	// Field names the offending input (a JSON path, a header), if any.
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one input field.
func FieldErrorf(code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
