// Package opencrvs talks to OpenCRVS: it verifies the JWTs OpenCRVS signs
// (public key fetched from the auth service and refreshed on rotation) and
// sends feedback on records (GraphQL for 1.8, tRPC for 1.9).
package opencrvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Scopes OpenCRVS puts in record tokens.
const (
	ScopeConfirmRegistration = "record.confirm-registration"
	ScopeRejectRegistration  = "record.reject-registration"
)

// Claims are the claims of an OpenCRVS token the mediator uses.
type Claims struct {
	Subject  string   `json:"sub,omitempty"`
	Issuer   string   `json:"iss,omitempty"`
	Audience []string `json:"aud,omitempty"`
	Scope    []string `json:"scope,omitempty"`
	// RecordID is set in 1.8 record-specific tokens (the Composition id).
	RecordID string `json:"recordId,omitempty"`
	// EventID and ActionID are set in 1.9 action confirmation tokens.
	EventID  string `json:"eventId,omitempty"`
	ActionID string `json:"actionId,omitempty"`
	UserType string `json:"userType,omitempty"`
	// Expiry, NotBefore and IssuedAt are Unix seconds (fractions dropped);
	// 0 when the token does not carry them.
	Expiry    int64 `json:"exp,omitempty"`
	NotBefore int64 `json:"nbf,omitempty"`
	IssuedAt  int64 `json:"iat,omitempty"`
}

// HasScope reports whether the token carries scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scope, scope) }

// UnmarshalJSON decodes claims as JWTs write them: RFC 7519 lets "aud" be
// one string or a list, OAuth servers write "scope" as a space-separated
// string where OpenCRVS writes a list, and NumericDates may have fractions.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var raw struct {
		Subject   string          `json:"sub"`
		Issuer    string          `json:"iss"`
		Audience  json.RawMessage `json:"aud"`
		Scope     json.RawMessage `json:"scope"`
		RecordID  string          `json:"recordId"`
		EventID   string          `json:"eventId"`
		ActionID  string          `json:"actionId"`
		UserType  string          `json:"userType"`
		Expiry    json.RawMessage `json:"exp"`
		NotBefore json.RawMessage `json:"nbf"`
		IssuedAt  json.RawMessage `json:"iat"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := Claims{
		Subject:  raw.Subject,
		Issuer:   raw.Issuer,
		RecordID: raw.RecordID,
		EventID:  raw.EventID,
		ActionID: raw.ActionID,
		UserType: raw.UserType,
	}
	var err error
	if out.Audience, err = stringOrList(raw.Audience, false); err != nil {
		return fmt.Errorf("claim aud: %w", err)
	}
	if out.Scope, err = stringOrList(raw.Scope, true); err != nil {
		return fmt.Errorf("claim scope: %w", err)
	}
	if out.Expiry, err = numericDate(raw.Expiry); err != nil {
		return fmt.Errorf("claim exp: %w", err)
	}
	if out.NotBefore, err = numericDate(raw.NotBefore); err != nil {
		return fmt.Errorf("claim nbf: %w", err)
	}
	if out.IssuedAt, err = numericDate(raw.IssuedAt); err != nil {
		return fmt.Errorf("claim iat: %w", err)
	}
	*c = out
	return nil
}

// isNull reports whether a raw claim is absent or JSON null.
func isNull(b json.RawMessage) bool {
	return len(b) == 0 || bytes.Equal(bytes.TrimSpace(b), []byte("null"))
}

// stringOrList decodes a string or a list of strings. splitSpaces splits a
// single string on spaces (OAuth scope syntax).
func stringOrList(b json.RawMessage, splitSpaces bool) ([]string, error) {
	if isNull(b) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if splitSpaces {
			return strings.Fields(s), nil
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, errors.New("want a string or a list of strings")
	}
	return list, nil
}

// numericDate decodes an RFC 7519 NumericDate into whole Unix seconds.
func numericDate(b json.RawMessage) (int64, error) {
	if isNull(b) {
		return 0, nil
	}
	var n json.Number
	// json.Number would also take a quoted number; RFC 7519 wants a number.
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return 0, errors.New("want a number of seconds, not a string")
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return 0, errors.New("want a number of seconds")
	}
	// The bound keeps time.Unix and later arithmetic far from overflow
	// (2^53 s is some 285 million years).
	const maxSeconds = 1 << 53
	if i, err := n.Int64(); err == nil {
		if i > maxSeconds || i < -maxSeconds {
			return 0, errors.New("number of seconds out of range")
		}
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxSeconds {
		return 0, errors.New("number of seconds out of range")
	}
	return int64(math.Floor(f)), nil
}
