package envelope

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// DefaultWindow is how far from the receiver's clock a V2 requestTime may
// be, each side, when Opener.Window is zero.
const DefaultWindow = 5 * time.Minute

// Opener checks and opens envelopes: it verifies the signature with Peer
// and decrypts with Own. It holds no mutable state and may be used from many
// goroutines.
type Opener struct {
	Own      *rsa.PrivateKey
	Peer     *rsa.PublicKey
	Protocol Protocol
	// Window is how far requestTime may be from Now, each side (V2 only);
	// DefaultWindow if zero.
	Window time.Duration
	Now    func() time.Time // time.Now if nil
}

// Open verifies e and returns its plaintext and a replay key.
//
// The replay key is the hex SHA-256 of the signature bytes. Open does not
// remember what it has opened; the caller makes replay protection complete:
// it records the key and refuses (or answers as a duplicate) an envelope
// whose key it has already recorded. In V2 an envelope is accepted only
// while its requestTime is within Window of the clock, so a key needs to be
// kept for 2×Window after it was first seen and can be forgotten after
// that. In JavaCompat and LegacyResult there is no window, so a key only
// catches replays for as long as it is kept; in LegacyResult the signature
// covers the plaintext, so a peer's honest retry of the same result has the
// same key and should be answered as already done.
//
// The checks, in order (the error wraps the sentinel named):
//   - the envelope's version matches o.Protocol (ErrProtocol);
//   - the fields the protocol needs are there and well formed (ErrFormat):
//     V2 needs id and an RFC 3339 requestTime, JavaCompat needs id;
//   - V2: the signature covers version, id, requestTime and data
//     (ErrSignature), then requestTime is within Window (*StaleError,
//     ErrStale), then data decrypts (ErrDecrypt);
//   - JavaCompat: the signature covers the ciphertext (ErrSignature), then
//     data decrypts (ErrDecrypt). id and requestTime are NOT covered and
//     freshness cannot be enforced: e.ID and e.RequestTime are whatever the
//     sender (or anyone on the way) wrote;
//   - LegacyResult: data decrypts (ErrDecrypt), then the signature covers
//     the plaintext (ErrSignature). id and requestTime are not covered and
//     freshness cannot be enforced.
//
// Nothing is returned unless every check passed.
func (o *Opener) Open(e *Envelope) (plaintext []byte, replayKey string, err error) {
	if o.Own == nil || o.Peer == nil {
		return nil, "", errors.New("envelope: Opener needs our private key (Own) and the peer's public key (Peer)")
	}
	if err := o.Protocol.valid(); err != nil {
		return nil, "", err
	}
	if o.Window < 0 {
		return nil, "", fmt.Errorf("envelope: Opener.Window is negative (%v)", o.Window)
	}
	if err := o.Protocol.checkVersion(e.Version); err != nil {
		return nil, "", err
	}
	if e.ID == "" && o.Protocol != LegacyResult {
		return nil, "", fmt.Errorf("%w: field \"id\" is missing or empty; %v needs the record's id", ErrFormat, o.Protocol)
	}
	if err := checkID(e.ID); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrFormat, err)
	}
	var sent time.Time
	if o.Protocol == V2 {
		if e.RequestTime == "" {
			return nil, "", fmt.Errorf("%w: field \"requestTime\" is missing or empty; v2 needs the time the envelope was sealed", ErrFormat)
		}
		sent, err = time.Parse(time.RFC3339Nano, e.RequestTime)
		if err != nil {
			return nil, "", fmt.Errorf("%w: requestTime %q is not an RFC 3339 time like 2026-01-02T15:04:05.000Z", ErrFormat, truncate(e.RequestTime))
		}
	}
	raw, err := decodeBase64(e.Data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: field \"data\": %v", ErrFormat, err)
	}
	sig, err := decodeBase64(e.Signature)
	if err != nil {
		return nil, "", fmt.Errorf("%w: field \"signature\": %v", ErrFormat, err)
	}
	if len(raw) == 0 || len(sig) == 0 {
		return nil, "", fmt.Errorf("%w: field \"data\" or \"signature\" is empty", ErrFormat)
	}

	switch o.Protocol {
	case V2:
		if err := o.verify(signedMessageV2(e), sig); err != nil {
			return nil, "", err
		}
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		window := o.Window
		if window == 0 {
			window = DefaultWindow
		}
		if t := now(); sent.Before(t.Add(-window)) || sent.After(t.Add(window)) {
			return nil, "", &StaleError{RequestTime: sent, Now: t, Window: window}
		}
		plaintext, err = o.decrypt(raw)
	case JavaCompat:
		if err := o.verify(raw, sig); err != nil {
			return nil, "", err
		}
		plaintext, err = o.decrypt(raw)
	case LegacyResult:
		if plaintext, err = o.decrypt(raw); err == nil {
			err = o.verify(plaintext, sig)
		}
	}
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(sig)
	return plaintext, hex.EncodeToString(h[:]), nil
}

func (o *Opener) verify(msg, sig []byte) error {
	if err := verify(o.Peer, msg, sig); err != nil {
		return fmt.Errorf("%w with the peer's public key (%v protocol): the peer signs with another key, the envelope was altered, or the peer uses another protocol", ErrSignature, o.Protocol)
	}
	return nil
}

func (o *Opener) decrypt(raw []byte) ([]byte, error) {
	plain, err := mosip.DecryptVERR2(o.Own, raw)
	if err != nil {
		if errors.Is(err, mosip.ErrCredentialFormat) {
			return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
		}
		return nil, fmt.Errorf("%w with our private key: the peer encrypted it to another certificate (does it have our current one?) or it is corrupt", ErrDecrypt)
	}
	return plain, nil
}
