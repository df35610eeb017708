package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Operations of Error.Op.
const (
	OpForwardBirth = "forward birth"
	OpForwardDeath = "forward death"
	OpGenerateAID  = "generate AID"
	OpSendResult   = "send result"
)

var (
	// ErrNoAnswer: the peer could not be reached or did not answer in time
	// (Error.Err wraps the network error too).
	ErrNoAnswer = errors.New("no answer from the peer mediator")
	// ErrToken: no token could be obtained to call the peer (Error.Err
	// wraps the token source's error too).
	ErrToken = errors.New("no token to call the peer mediator")
	// ErrBadAnswer: the peer answered 2xx with something that is not one of
	// the answers this package knows.
	ErrBadAnswer = errors.New("the peer mediator's answer is not understood")
)

// Error is a failed call to the other mediator. It never holds the record,
// the token or the envelope.
type Error struct {
	Op string // one of the Op constants
	// Status is the HTTP status of the answer; 0 when there was none.
	Status int
	// Code is the peer's error code: the Java mediator's errorCode (e.g.
	// OPN-AUT-002) or the last part of our problem type (e.g. conflict).
	Code string
	// Message is the peer's own explanation, as it gave it.
	Message string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("peer: " + e.Op)
	if e.Status != 0 {
		b.WriteString(": HTTP " + strconv.Itoa(e.Status))
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// hint says what to check for the answers whose cause is on our side.
func (e *Error) hint() string {
	switch e.Status {
	case 401:
		return "the peer refused our token: check the token source's client and credentials"
	case 403:
		return "the peer accepted our token but not its roles: give the client the role the peer requires"
	case 404:
		return "no such endpoint: check the peer's base URL"
	case 409:
		return "the peer received this envelope before"
	case 413:
		return "the record is over the peer's size limit"
	}
	return ""
}

// IsTransient reports whether sending again later may succeed. The rules,
// first match wins:
//
//	nil                                          no
//	context.Canceled, context.DeadlineExceeded   yes (our shutdown cancels too)
//	ErrToken                                     yes: the token is the
//	                                             system's, not the record's
//	ErrNoAnswer, net.Error, *url.Error,
//	io.ErrUnexpectedEOF                          yes
//	HTTP 408, 429, 5xx                           yes
//	any other status (400, 401, 403, 404, 409,
//	413, odd 2xx) and anything else              no
//
// 401 and 403 are not transient: a token the peer refuses or a missing role
// will be refused again until someone fixes the configuration, and the
// operator should see that rather than a retry loop. A 409 means the peer
// already has the envelope; the caller decides whether that is success.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrToken) || errors.Is(err, ErrNoAnswer) {
		return true
	}
	var pe *Error
	if errors.As(err, &pe) && pe.Status != 0 {
		return pe.Status == 408 || pe.Status == 429 || pe.Status >= 500
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF)
}

// noAnswer wraps a transport error so that it is ErrNoAnswer and keeps its
// cause. The *url.Error's URL has no secrets (the token is in headers).
func noAnswer(err error) error {
	return fmt.Errorf("%w: %w", ErrNoAnswer, err)
}
