package envelope

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Sealer makes envelopes: it encrypts to Peer and signs with Own. It holds
// no mutable state and may be used from many goroutines.
type Sealer struct {
	Own      *rsa.PrivateKey
	Peer     *PeerKey
	Protocol Protocol
	Now      func() time.Time // time.Now if nil
}

// Seal encrypts plaintext to the peer and signs it in s.Protocol. id is the
// record's transaction id: required in V2 and JavaCompat, may be empty in
// LegacyResult; at most MaxIDBytes of UTF-8 without control characters.
// requestTime is the current time (UTC, milliseconds).
func (s *Sealer) Seal(id string, plaintext []byte) (*Envelope, error) {
	if s.Own == nil || s.Peer == nil || s.Peer.Public == nil {
		return nil, errors.New("envelope: Sealer needs our private key (Own) and the peer's key (Peer)")
	}
	if err := s.Protocol.valid(); err != nil {
		return nil, err
	}
	if id == "" && s.Protocol != LegacyResult {
		return nil, fmt.Errorf("envelope: seal: id is empty; %v needs the record's id", s.Protocol)
	}
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("envelope: seal: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	thumb, err := s.Peer.thumbprint()
	if err != nil {
		return nil, fmt.Errorf("envelope: seal: peer key: %w", err)
	}
	raw, err := mosip.EncryptVERR2Key(s.Peer.Public, thumb, plaintext)
	if err != nil {
		return nil, fmt.Errorf("envelope: seal: %w", err)
	}
	e := &Envelope{ID: id, RequestTime: now().UTC().Format(timeLayout), Version: s.Protocol.wireVersion()}
	var signed []byte
	enc := base64.RawURLEncoding
	switch s.Protocol {
	case V2:
		e.Data = enc.EncodeToString(raw)
		signed = signedMessageV2(e)
	case JavaCompat:
		enc = base64.StdEncoding
		e.Data = enc.EncodeToString(raw)
		signed = raw
	case LegacyResult:
		e.Data = enc.EncodeToString(raw)
		signed = plaintext
	}
	sig, err := sign(s.Own, signed)
	if err != nil {
		return nil, fmt.Errorf("envelope: seal: sign: %w", err)
	}
	e.Signature = enc.EncodeToString(sig)
	// JSON escapes at most 6 bytes per id byte; the rest is fixed or base64.
	if n := 80 + 6*len(e.ID) + len(e.RequestTime) + len(e.Data) + len(e.Signature) + len(e.Version); n > MaxBytes {
		return nil, fmt.Errorf("envelope: seal: a %d-byte record makes a %d-byte envelope, over the %d-byte limit receivers accept", len(plaintext), n, MaxBytes)
	}
	return e, nil
}

// signedMessageV2 is what a V2 signature covers: a domain-separation label
// with the protocol version, then id, requestTime and the exact data text,
// separated by newlines. id has no control characters and requestTime is
// RFC 3339, so the split is unambiguous.
func signedMessageV2(e *Envelope) []byte {
	const label = "opencrvs-mosip-envelope/" + versionV2 + "\n"
	msg := make([]byte, 0, len(label)+len(e.ID)+len(e.RequestTime)+len(e.Data)+2)
	msg = append(msg, label...)
	msg = append(msg, e.ID...)
	msg = append(msg, '\n')
	msg = append(msg, e.RequestTime...)
	msg = append(msg, '\n')
	return append(msg, e.Data...)
}

// sign is RSASSA-PKCS1-v1_5 with SHA-512 (Java's SHA512withRSA).
func sign(key *rsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha512.Sum512(msg)
	return rsa.SignPKCS1v15(nil, key, crypto.SHA512, h[:])
}

func verify(pub *rsa.PublicKey, msg, sig []byte) error {
	h := sha512.Sum512(msg)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA512, h[:], sig)
}
