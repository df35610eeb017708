package vc

import (
	"errors"
)

// The kinds of verification failure. Verify's errors match exactly one of
// them with errors.Is. ErrKeyUnavailable is transient (the issuer's key
// could not be fetched: try again later); the others say the credential is
// not authentic as it stands and never will be.
var (
	// ErrNotAllowed: proof.verificationMethod is not in the allow-list.
	ErrNotAllowed = errors.New("verification method not allow-listed")
	// ErrUnknownContext: the credential uses a JSON-LD context that is
	// neither bundled nor configured; it was not fetched.
	ErrUnknownContext = errors.New("unknown JSON-LD context")
	// ErrBadSignature: the signature does not match the credential and the
	// key of its verification method.
	ErrBadSignature = errors.New("bad signature")
	// ErrMalformed: the credential or its proof is not what an
	// RsaSignature2018 proof of MOSIP's is (no proof, another proof type,
	// an algorithm other than PS256/RS256, not JSON, ...).
	ErrMalformed = errors.New("malformed credential or proof")
	// ErrKeyUnavailable: the verification method's key could not be
	// fetched or read. Transient.
	ErrKeyUnavailable = errors.New("issuer key fetch failed")
)

// Error is a verification failure: Kind is one of the Err values above,
// Detail says what failed (no personal data: never a credential value).
type Error struct {
	Kind   error
	Detail string
	// URL is the context or key URL concerned, if any.
	URL string
	Err error
}

func (e *Error) Error() string {
	msg := "vc: " + e.Kind.Error() + ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes errors.Is(err, ErrBadSignature) and the like work.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether err is a failure worth retrying later (the
// issuer's key could not be fetched) rather than a refusal.
func Transient(err error) bool { return errors.Is(err, ErrKeyUnavailable) }

// Reason is a short, stable name of err's kind for logs and counters:
// not_allowed, unknown_context, bad_signature, malformed, key_unavailable
// ("" for nil, "error" for an error of no kind).
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotAllowed):
		return "not_allowed"
	case errors.Is(err, ErrUnknownContext):
		return "unknown_context"
	case errors.Is(err, ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrKeyUnavailable):
		return "key_unavailable"
	}
	return "error"
}
