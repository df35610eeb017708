package envelope

import (
	"errors"
	"fmt"
	"time"
)

// What Open and Decode return; test with errors.Is. Each is wrapped with a
// detail that says what to check.
var (
	// ErrFormat: the envelope is not well formed (not the JSON object
	// {id, requestTime, data, signature}, a field missing or not base64, an
	// unknown field, too large).
	ErrFormat = errors.New("envelope: malformed")
	// ErrSignature: the signature does not verify with the peer's public
	// key: the sender signed with another key, or the envelope was altered
	// on the way.
	ErrSignature = errors.New("envelope: signature does not verify")
	// ErrStale: requestTime is outside the replay window. The error is a
	// *StaleError, which says how far off it is.
	ErrStale = errors.New("envelope: requestTime outside the replay window")
	// ErrDecrypt: data does not decrypt with our private key: it was
	// encrypted to another certificate, or it is cut short or corrupt.
	ErrDecrypt = errors.New("envelope: data does not decrypt")
	// ErrProtocol: the envelope was made with another protocol than the one
	// this end is configured for.
	ErrProtocol = errors.New("envelope: protocol mismatch")
)

// StaleError is the ErrStale of a V2 envelope whose requestTime is too far
// from the receiver's clock.
type StaleError struct {
	RequestTime time.Time     // as the envelope says
	Now         time.Time     // the receiver's clock
	Window      time.Duration // allowed each side of Now
}

// Offset is how far requestTime is from the receiver's clock: negative in
// the past, positive in the future.
func (e *StaleError) Offset() time.Duration { return e.RequestTime.Sub(e.Now) }

func (e *StaleError) Error() string {
	off, where := e.Offset(), "in the future"
	if off < 0 {
		off, where = -off, "in the past"
	}
	return fmt.Sprintf("%v: requestTime %s is %v %s, outside the %v window (the sender's or our clock is off, or the envelope is replayed)",
		ErrStale, e.RequestTime.Format(time.RFC3339Nano), off, where, e.Window)
}

// Is makes errors.Is(err, ErrStale) hold.
func (e *StaleError) Is(target error) bool { return target == ErrStale }
