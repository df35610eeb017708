package envelope

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"opencrvs-mosip/internal/mosip"
)

const (
	// MaxBytes bounds an envelope's JSON text: Decode refuses more and Seal
	// refuses to make more. Read request bodies with at most this limit.
	MaxBytes = 16 << 20
	// MaxIDBytes bounds the id field.
	MaxIDBytes = 256

	versionV2 = "2"
	// timeLayout is how Seal writes requestTime: RFC 3339 in UTC with
	// milliseconds, as the existing mediators write it.
	timeLayout = "2006-01-02T15:04:05.000Z"
)

// Envelope is the JSON object one mediator posts to the other. Data is the
// base64 of the VER_R2 ciphertext of the record; Signature the base64 of an
// RSASSA-PKCS1-v1_5 SHA-512 signature whose coverage depends on the
// protocol (see the package comment). Marshal it with encoding/json.
type Envelope struct {
	ID          string `json:"id"`
	RequestTime string `json:"requestTime"`
	Data        string `json:"data"`
	Signature   string `json:"signature"`
	Version     string `json:"version,omitempty"`
}

// SentTo reports whether the envelope's data names cert as its recipient
// (its thumbprint is SHA-256 of cert's DER). Legacy peers write random
// thumbprints, so false does not mean the envelope cannot be opened; it
// helps to tell, when a peer's data does not decrypt, whether it used an
// old certificate of ours. It does not authenticate anything.
func (e *Envelope) SentTo(cert *x509.Certificate) bool {
	raw, err := decodeBase64(e.Data)
	return err == nil && mosip.ThumbprintMatches(raw, cert)
}

// Decode parses an envelope strictly: one JSON object whose members are the
// string fields id, requestTime, data, signature and (V2) version, each at
// most once, nothing after it, at most MaxBytes. data and signature must be
// present and non-empty; which of id and requestTime are required depends on
// the protocol and is checked by Open.
//
// Unknown fields are refused in every protocol: the known senders (our
// Sealer, the Node OpenCRVS-side and the Java MOSIP-side mediators) send
// exactly these fields, and a stray field means a misdirected request (a
// raw webhook posted to the envelope endpoint, say), not an extension.
// Errors wrap ErrFormat.
func Decode(body []byte) (*Envelope, error) {
	if len(body) > MaxBytes {
		return nil, fmt.Errorf("%w: body is %d bytes, over the %d-byte limit", ErrFormat, len(body), MaxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty body, want a JSON object {id, requestTime, data, signature}", ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrFormat, err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: body is %s, want a JSON object {id, requestTime, data, signature}", ErrFormat, describe(tok))
	}
	var e Envelope
	fields := map[string]*string{"id": &e.ID, "requestTime": &e.RequestTime, "data": &e.Data, "signature": &e.Signature, "version": &e.Version}
	seen := make(map[string]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not JSON: %v", ErrFormat, err)
		}
		name, _ := tok.(string) // object keys are always strings
		dst, known := fields[name]
		if !known {
			return nil, fmt.Errorf("%w: unknown field %q; an envelope has only id, requestTime, data, signature and version", ErrFormat, truncate(name))
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: field %q appears twice", ErrFormat, name)
		}
		seen[name] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not JSON: %v", ErrFormat, err)
		}
		s, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: field %q is %s, want a string", ErrFormat, name, describe(tok))
		}
		*dst = s
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%w: not JSON: %v", ErrFormat, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more data after the envelope object", ErrFormat)
	}
	if e.Data == "" {
		return nil, fmt.Errorf("%w: field \"data\" is missing or empty", ErrFormat)
	}
	if e.Signature == "" {
		return nil, fmt.Errorf("%w: field \"signature\" is missing or empty", ErrFormat)
	}
	return &e, nil
}

// describe names a JSON token's kind for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// checkID refuses ids that could not be signed unambiguously or logged
// safely: too long, not UTF-8, or with control characters (V2 separates the
// signed fields with newlines).
func checkID(id string) error {
	if len(id) > MaxIDBytes {
		return fmt.Errorf("id is %d bytes, over the %d-byte limit", len(id), MaxIDBytes)
	}
	if !utf8.ValidString(id) {
		return errors.New("id is not valid UTF-8")
	}
	if i := strings.IndexFunc(id, unicode.IsControl); i >= 0 {
		return fmt.Errorf("id has a control character at byte %d", i)
	}
	return nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, and
// nothing else: no whitespace, no stray characters, no non-zero padding bits.
func decodeBase64(s string) ([]byte, error) {
	t := strings.TrimRight(s, "=")
	if pad := len(s) - len(t); pad > 0 && (pad > 2 || len(s)%4 != 0) {
		return nil, errors.New("bad base64 padding")
	}
	b := []byte(t)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '+':
			b[i] = '-'
		case c == '/':
			b[i] = '_'
		default:
			return nil, fmt.Errorf("character %q at offset %d is not base64", c, i)
		}
	}
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(b)))
	n, err := base64.RawURLEncoding.Strict().Decode(out, b)
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	return out[:n], nil
}
