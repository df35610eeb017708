package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
)

// Replay records the envelopes a Receiver has opened. The store implements
// it.
type Replay interface {
	// RememberEnvelope records key until expires and reports whether it was
	// new (fresh); false means an unexpired record of key exists: the
	// envelope was received before.
	RememberEnvelope(ctx context.Context, key string, expires time.Time) (fresh bool, err error)
}

// ErrReplay is wrapped by the error Receiver.Open returns for an envelope it
// has seen before. The error's bridge code is EConflict; a handler that
// prefers to answer a peer's honest retry as success (LegacyResult results,
// whose replay key is the same for a resent result) tests errors.Is(err,
// ErrReplay).
var ErrReplay = errors.New("peer: envelope replayed")

// Receiver opens the envelopes the other mediator posts.
type Receiver struct {
	// Opener checks and opens envelopes; its Now is the receiver's clock.
	Opener *envelope.Opener
	// Replay records replay keys. Required: without it a captured envelope
	// could be delivered again.
	Replay Replay
	// Window is how long, each side of now, an envelope is accepted; replay
	// keys are kept for twice that. Zero: the Opener's Window (or
	// envelope.DefaultWindow). In the java-compat and legacy-result
	// protocols, which have no freshness, the keys still catch replays for
	// 2×Window only.
	Window time.Duration
}

// Open decodes and opens body (a request body read with at most
// envelope.MaxBytes+1 bytes) and records its replay key.
//
// Errors are bridge errors; with the status httpapi gives each code:
//
//	body over envelope.MaxBytes              ETooLarge     413
//	not an envelope, wrong protocol          EInvalid      400
//	signature does not verify                EUnauthorized 401
//	requestTime outside the window           EInvalid      400 (names the window)
//	data does not decrypt with our key       EInvalid      400
//	received before                          EConflict     409 (wraps ErrReplay)
//	the Replay store failing                 its error, wrapped (the store's
//	                                         code, e.g. EUnavailable 503)
//
// The key is remembered before the caller processes the plaintext: if that
// fails, the same bytes sent again are refused as a replay. Client seals
// afresh on every attempt, so its retries are new envelopes.
//
// The envelope is returned with its error-free plaintext only; nothing is
// returned with an error (an unverified id is not worth logging). Messages
// say what the sender should check and never include the data.
func (r *Receiver) Open(ctx context.Context, body []byte) (envelope.Envelope, []byte, error) {
	if r.Opener == nil || r.Replay == nil {
		return envelope.Envelope{}, nil, errors.New("peer: Receiver needs an Opener and a Replay store")
	}
	if len(body) > envelope.MaxBytes {
		return envelope.Envelope{}, nil, bridge.Errorf(bridge.ETooLarge, "the envelope is over %d bytes", envelope.MaxBytes)
	}
	env, err := envelope.Decode(body)
	if err != nil {
		return envelope.Envelope{}, nil, &bridge.Error{Code: bridge.EInvalid, Message: err.Error(), Err: err}
	}
	plain, key, err := r.Opener.Open(env)
	if err != nil {
		return envelope.Envelope{}, nil, openError(err, r.Opener.Protocol)
	}
	now := time.Now
	if r.Opener.Now != nil {
		now = r.Opener.Now
	}
	fresh, err := r.Replay.RememberEnvelope(ctx, key, now().Add(2*r.window()))
	if err != nil {
		return envelope.Envelope{}, nil, fmt.Errorf("peer: remember envelope: %w", err)
	}
	if !fresh {
		return envelope.Envelope{}, nil, &bridge.Error{Code: bridge.EConflict,
			Message: "this envelope was received before (replayed); seal the record again to resend it", Err: ErrReplay}
	}
	return *env, plain, nil
}

func (r *Receiver) window() time.Duration {
	w := r.Window
	if w <= 0 {
		w = r.Opener.Window
	}
	if w <= 0 {
		w = envelope.DefaultWindow
	}
	return w
}

// openError maps an envelope error to a bridge error. The envelope's own
// messages say what to check and hold no data; they are kept.
func openError(err error, p envelope.Protocol) error {
	var code bridge.ErrorCode
	var msg string
	switch {
	case errors.Is(err, envelope.ErrSignature):
		code, msg = bridge.EUnauthorized, "the envelope's signature does not verify with the sender's key configured here: the sender signs with another key, or the envelope was altered on the way"
	case errors.Is(err, envelope.ErrStale):
		code = bridge.EInvalid
		var se *envelope.StaleError
		if errors.As(err, &se) {
			off, where := se.Offset(), "ahead of"
			if off < 0 {
				off, where = -off, "behind"
			}
			msg = fmt.Sprintf("the envelope's requestTime is %v %s our clock, outside the ±%v window: check both clocks (NTP), or seal the record again", off.Round(time.Second), where, se.Window)
		} else {
			msg = err.Error()
		}
	case errors.Is(err, envelope.ErrDecrypt):
		code, msg = bridge.EInvalid, "the envelope's data does not decrypt with our key: the sender encrypts to another certificate (an old one of ours?), or the data is corrupt"
	case errors.Is(err, envelope.ErrFormat), errors.Is(err, envelope.ErrProtocol):
		code, msg = bridge.EInvalid, err.Error()
	default:
		// A misconfigured Opener: our fault, not the sender's.
		return fmt.Errorf("peer: open envelope (%v): %w", p, err)
	}
	return &bridge.Error{Code: code, Message: msg, Err: err}
}

// mediatorID is the id of the Java mediator's answers.
const mediatorID = "mosip-opencrvs-mediator"

// javaResponse is the Java mediator's BaseResponse/ErrorResponse; ours adds
// response.aid.
type javaResponse struct {
	Version      string          `json:"version"`
	ID           string          `json:"id"`
	ResponseTime string          `json:"responseTime"`
	Response     *answerResponse `json:"response"`
	Errors       []JavaError     `json:"errors,omitempty"`
}

type answerResponse struct {
	Message string `json:"message"`
	AID     string `json:"aid,omitempty"`
}

// WriteAnswer answers as the Java mediator does on success:
//
//	{"version":"1.0","id":"mosip-opencrvs-mediator","responseTime":"...","response":{"message":"...","aid":"..."}}
//
// aid is left out when "". The Node side logs the answer; Client.Forward
// reads message and aid.
func WriteAnswer(w http.ResponseWriter, status int, message, aid string) {
	writeJava(w, status, javaResponse{Response: &answerResponse{Message: message, AID: aid}})
}

// WriteJavaError answers as the Java mediator does on error:
//
//	{"version":"1.0","id":"mosip-opencrvs-mediator","responseTime":"...","response":null,
//	 "errors":[{"errorCode":"OPN-CRVS-026","errorMessage":"..."}]}
func WriteJavaError(w http.ResponseWriter, status int, code, message string) {
	writeJava(w, status, javaResponse{Errors: []JavaError{{ErrorCode: code, ErrorMessage: message}}})
}

func writeJava(w http.ResponseWriter, status int, r javaResponse) {
	r.Version, r.ID = "1.0", mediatorID
	r.ResponseTime = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}
