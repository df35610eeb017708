package envelope

import "fmt"

// Protocol is the envelope dialect both ends are configured with. A receiver
// accepts only its own protocol, so an attacker cannot downgrade a V2
// receiver to a weaker dialect.
type Protocol int

const (
	// V2 is ours and the default: the signature covers the protocol
	// version, id, requestTime and data, and the receiver enforces a replay
	// window.
	V2 Protocol = iota
	// JavaCompat is what the existing OpenCRVS-side (Node) mediator sends
	// to the existing MOSIP-side (Java) mediator: the signature covers only
	// the binary ciphertext. A receiver cannot check freshness, and id and
	// requestTime are not protected.
	JavaCompat
	// LegacyResult is what the existing MOSIP-side (Java) mediator sends
	// back to the OpenCRVS side with the credential: URL-safe base64 without
	// padding, the signature over the plaintext, id and requestTime empty.
	LegacyResult
)

var protocolNames = [...]string{V2: "v2", JavaCompat: "java-compat", LegacyResult: "legacy-result"}

// String is the protocol's configuration name: "v2", "java-compat" or
// "legacy-result".
func (p Protocol) String() string {
	if p >= 0 && int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// ParseProtocol reads a configuration name (see String); "" is V2.
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return V2, nil
	}
	for p, name := range protocolNames {
		if s == name {
			return Protocol(p), nil
		}
	}
	return 0, fmt.Errorf("envelope: unknown protocol %q, want one of v2, java-compat, legacy-result", s)
}

func (p Protocol) valid() error {
	if p < 0 || int(p) >= len(protocolNames) {
		return fmt.Errorf("envelope: unknown protocol %v", p)
	}
	return nil
}

// wireVersion is the "version" field each protocol writes.
func (p Protocol) wireVersion() string {
	if p == V2 {
		return versionV2
	}
	return ""
}

// checkVersion refuses an envelope made with another protocol, naming both.
func (p Protocol) checkVersion(got string) error {
	if got == p.wireVersion() {
		return nil
	}
	switch got {
	case "":
		return fmt.Errorf("%w: the envelope has no version field, as the existing Java/Node mediators send (java-compat or legacy-result), but this end is configured for %v; configure both ends with the same protocol", ErrProtocol, p)
	case versionV2:
		return fmt.Errorf("%w: the envelope is version %q (v2), but this end is configured for %v; configure both ends with the same protocol", ErrProtocol, got, p)
	default:
		return fmt.Errorf("%w: unknown envelope version %q; this end is configured for %v", ErrProtocol, got, p)
	}
}
