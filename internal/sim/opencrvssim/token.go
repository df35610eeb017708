package opencrvssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/opencrvs"
)

func recordScopes() []string {
	return []string{opencrvs.ScopeConfirmRegistration, opencrvs.ScopeRejectRegistration}
}

// defaultSubject is the sub of tokens minted outside a record send: the
// first registrar's user id.
func defaultSubject() string { return userID(registrars[0].username) }

// mintToken signs a token shaped like OpenCRVS's single-record token (auth
// token exchange): sub is the registrar whose token was exchanged.
func (s *Sim) mintToken(sub, recordID string, scope []string, ttl time.Duration) (string, error) {
	now := s.now()
	claims := opencrvs.Claims{
		Subject:  sub,
		Issuer:   s.issuer,
		Audience: s.audience,
		Scope:    scope,
		RecordID: recordID,
		UserType: "user",
		IssuedAt: now.Unix(),
		Expiry:   now.Add(ttl).Unix(),
	}
	if claims.Scope == nil {
		claims.Scope = []string{}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("opencrvssim: token for %s: %w", recordID, err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("opencrvssim: sign token for %s: %w", recordID, err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("opencrvssim: serialize token for %s: %w", recordID, err)
	}
	return tok, nil
}

// errUnauthenticated is the class of token errors the gateway answers 401.
var errUnauthenticated = errors.New("unauthenticated")

// verifyToken checks a bearer token as the OpenCRVS gateway does: RS256 with
// the auth service's key, not expired, issued by the auth service.
func (s *Sim) verifyToken(header string) (*opencrvs.Claims, error) {
	scheme, raw, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%w: missing Authorization: Bearer <token>", errUnauthenticated)
	}
	tok, err := jwt.ParseSigned(strings.TrimSpace(raw), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: token is not an RS256 JWT", errUnauthenticated)
	}
	var c opencrvs.Claims
	if err := tok.Claims(&s.key.PublicKey, &c); err != nil {
		return nil, fmt.Errorf("%w: token signature does not verify with this auth service's key", errUnauthenticated)
	}
	if c.Expiry == 0 {
		return nil, fmt.Errorf("%w: token has no exp claim", errUnauthenticated)
	}
	if !s.now().Before(time.Unix(c.Expiry, 0)) {
		return nil, fmt.Errorf("%w: token expired", errUnauthenticated)
	}
	if c.Issuer != s.issuer {
		return nil, fmt.Errorf("%w: token issuer %q is not %q", errUnauthenticated, c.Issuer, s.issuer)
	}
	return &c, nil
}

// tokenRequest is the body of POST /sim/tokens.
type tokenRequest struct {
	RecordID string `json:"recordId"`
	// EventID and ActionID make a 1.9 action confirmation token instead.
	EventID  string `json:"eventId"`
	ActionID string `json:"actionId"`
	// Scope nil means the record scopes; an empty list means none.
	Scope     []string `json:"scope"`
	ExpiresIn string   `json:"expiresIn"`
}

func decodeTokenRequest(body []byte) (tokenRequest, time.Duration, error) {
	var req tokenRequest
	if err := decodeStrict(body, &req); err != nil {
		return req, 0, err
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			return req, 0, fmt.Errorf("expiresIn %q is not a Go duration such as 1h or -1h", req.ExpiresIn)
		}
		if d == 0 {
			return req, 0, errors.New("expiresIn must not be 0")
		}
		ttl = d
	}
	return req, ttl, nil
}

func (s *Sim) handleMintToken(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readBody(w, r, maxControlBody)
	if err != nil {
		if tooLarge {
			writeProblem(w, http.StatusRequestEntityTooLarge, "body too large", "the token request is above 64 KiB")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	req, ttl, err := decodeTokenRequest(body)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid token request", err.Error())
		return
	}
	if ttl == 0 {
		ttl = s.tokenTTL
	}
	scope := req.Scope
	if scope == nil {
		scope = recordScopes()
	}
	var tok string
	if req.EventID != "" || req.ActionID != "" {
		tok, err = s.mintActionToken(defaultSubject(), req.EventID, req.ActionID, scope, ttl)
	} else {
		tok, err = s.mintToken(defaultSubject(), req.RecordID, scope, ttl)
	}
	if err != nil {
		s.log.Error("opencrvssim: mint token", "record_id", req.RecordID, "error", err)
		writeProblem(w, http.StatusInternalServerError, "token not minted", "the simulator could not sign the token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}
