// Package opencrvs talks to OpenCRVS: it verifies the JWTs OpenCRVS signs
// (public key fetched from the auth service and refreshed on rotation) and
// sends feedback on records (GraphQL for 1.8).
package opencrvs

import "slices"

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
	// Expiry and IssuedAt are Unix seconds.
	Expiry   int64 `json:"exp,omitempty"`
	IssuedAt int64 `json:"iat,omitempty"`
}

// HasScope reports whether the token carries scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scope, scope) }
