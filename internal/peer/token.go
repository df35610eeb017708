package peer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// maxCachedTokens bounds TokenValidator's cache: a handful of peers use a
// handful of tokens each; more means someone is trying many tokens.
const maxCachedTokens = 1024

// Caller is who a valid token belongs to, as MOSIP's auth manager says.
type Caller struct {
	UserID string
	Roles  []string
}

// TokenValidator checks MOSIP tokens at MOSIP's auth manager
// (GET /v1/authmanager/authorize/admin/validateToken, token in the cookie
// Authorization) and requires one of Roles. Its answer is a MOSIP
// ResponseWrapper whose response is a MosipUserDto: userId and role, a
// comma-separated list ("offline_access,uma_authorization,"). An invalid
// token is answered with an errors list (KER-ATH-401, HTTP 200; HTTP 401
// for a token that is not a JWT).
//
// Configure the fields, then do not change or copy it: it keeps a cache.
// It is safe for concurrent use.
type TokenValidator struct {
	// URL is the full validateToken URL, e.g.
	// https://api-internal.example/v1/authmanager/authorize/admin/validateToken.
	URL string
	// Roles: the caller needs any one of them. Required: a validator that
	// accepts any token of the realm is what the Java mediator did.
	Roles []string
	// HTTPClient nil: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Cache is how long a good answer is reused (never past the token's
	// own expiry); 0 asks the auth manager every time. Refusals are not
	// cached.
	Cache time.Duration
	Now   func() time.Time // nil: time.Now

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cachedCaller
}

type cachedCaller struct {
	caller  Caller
	expires time.Time
}

// validateAnswer is the part of MOSIP's answer Validate reads.
type validateAnswer struct {
	Response *struct {
		UserID string `json:"userId"`
		Role   string `json:"role"`
	} `json:"response"`
	Errors []struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	} `json:"errors"`
}

// Validate checks token and returns its caller. Errors are bridge errors:
// EUnauthorized (401) for a missing, invalid or expired token, EForbidden
// (403) when the caller has none of Roles (the message names them),
// EUnavailable (503) when the auth manager cannot be reached or fails,
// EUpstream (502) when it answers something else. A misconfigured
// validator (no URL, no Roles) is a plain error (500).
func (v *TokenValidator) Validate(ctx context.Context, token string) (Caller, error) {
	if v.URL == "" || len(v.Roles) == 0 {
		return Caller{}, errors.New("peer: TokenValidator needs URL and at least one role in Roles")
	}
	if token == "" {
		return Caller{}, bridge.Errorf(bridge.EUnauthorized, "no MOSIP token: send it as the cookie Authorization or as Authorization: Bearer")
	}
	if !validToken(token) {
		return Caller{}, bridge.Errorf(bridge.EUnauthorized, "the MOSIP token has characters no token has")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	key := sha256.Sum256([]byte(token))
	if c, ok := v.cached(key, now()); ok {
		return c, v.authorize(c)
	}
	c, err := v.ask(ctx, token)
	if err != nil {
		return Caller{}, err
	}
	if err := v.authorize(c); err != nil {
		return Caller{}, err
	}
	v.remember(key, c, token, now())
	return c, nil
}

func (v *TokenValidator) authorize(c Caller) error {
	for _, r := range v.Roles {
		if slices.Contains(c.Roles, r) {
			return nil
		}
	}
	has := "no roles"
	if len(c.Roles) > 0 {
		has = "roles " + strings.Join(c.Roles, ", ")
	}
	return bridge.Errorf(bridge.EForbidden, "the MOSIP token is valid but its client has %s; it needs the role %s: assign it to the client in MOSIP's Keycloak",
		has, strings.Join(v.Roles, " or "))
}

// ask calls the auth manager.
func (v *TokenValidator) ask(ctx context.Context, token string) (Caller, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.URL, nil)
	if err != nil {
		return Caller{}, fmt.Errorf("peer: validate token: %w", err)
	}
	req.Header.Set("Cookie", authorizationKey+"="+token)
	req.Header.Set("Accept", "application/json")
	hc := v.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Caller{}, &bridge.Error{Code: bridge.EUnavailable, Message: "MOSIP's auth manager cannot be reached to check the token; try again later", Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return Caller{}, &bridge.Error{Code: bridge.EUnavailable, Message: "MOSIP's auth manager did not finish its answer; try again later", Err: err}
	}
	var a validateAnswer
	jsonErr := json.Unmarshal(body, &a)
	if len(body) > maxAnswerBytes {
		jsonErr = errors.New("answer too large")
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == 429 || resp.StatusCode == 408:
		return Caller{}, &bridge.Error{Code: bridge.EUnavailable, Message: fmt.Sprintf("MOSIP's auth manager failed (HTTP %d); try again later", resp.StatusCode)}
	case jsonErr == nil && len(a.Errors) > 0:
		return Caller{}, authManagerError(a.Errors[0].ErrorCode)
	case resp.StatusCode == 401 || resp.StatusCode == 403:
		return Caller{}, bridge.Errorf(bridge.EUnauthorized, "the MOSIP token is invalid or expired; get a new one")
	case resp.StatusCode != 200:
		return Caller{}, &bridge.Error{Code: bridge.EUpstream, Message: fmt.Sprintf("MOSIP's auth manager answered HTTP %d; check the validate-token URL", resp.StatusCode)}
	case jsonErr != nil || a.Response == nil || a.Response.UserID == "":
		return Caller{}, &bridge.Error{Code: bridge.EUpstream, Message: "MOSIP's auth manager answered without a user: check the validate-token URL"}
	}
	c := Caller{UserID: a.Response.UserID}
	for r := range strings.SplitSeq(a.Response.Role, ",") {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(c.Roles, r) {
			c.Roles = append(c.Roles, r)
		}
	}
	return c, nil
}

// authManagerError maps the auth manager's error code: the token codes of
// kernel-auth's AuthErrorCode are the caller's fault, the rest MOSIP's.
func authManagerError(code string) error {
	switch code {
	case "KER-ATH-401", "KER-ATH-402", "KER-ATH-006", "KER-ATH-007", "KER-ATH-008":
		return bridge.Errorf(bridge.EUnauthorized, "the MOSIP token is invalid or expired (%s); get a new one", clean(code))
	case "KER-ATH-403":
		return bridge.Errorf(bridge.EForbidden, "MOSIP's auth manager refused the token (KER-ATH-403)")
	}
	return &bridge.Error{Code: bridge.EUnavailable, Message: fmt.Sprintf("MOSIP's auth manager could not check the token (%s); try again later", clean(code))}
}

func (v *TokenValidator) cached(key [sha256.Size]byte, now time.Time) (Caller, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.cache[key]
	if !ok {
		return Caller{}, false
	}
	if !now.Before(e.expires) {
		delete(v.cache, key)
		return Caller{}, false
	}
	return e.caller, true
}

// remember caches a good answer for Cache, but not past the token's exp.
func (v *TokenValidator) remember(key [sha256.Size]byte, c Caller, token string, now time.Time) {
	if v.Cache <= 0 {
		return
	}
	expires := now.Add(v.Cache)
	if exp, ok := tokenExpiry(token); ok && exp.Before(expires) {
		expires = exp
	}
	if !now.Before(expires) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache == nil {
		v.cache = make(map[[sha256.Size]byte]cachedCaller)
	}
	if len(v.cache) >= maxCachedTokens {
		for k, e := range v.cache {
			if !now.Before(e.expires) {
				delete(v.cache, k)
			}
		}
		for k := range v.cache {
			if len(v.cache) < maxCachedTokens {
				break
			}
			delete(v.cache, k) // any one: the map's order is random
		}
	}
	v.cache[key] = cachedCaller{caller: c, expires: expires}
}

// tokenExpiry reads the exp claim of a JWT without verifying it: it only
// shortens the cache, the auth manager has checked the token.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// TokenFromRequest returns the caller's token: the cookie Authorization
// (what the Node OpenCRVS-side mediator sends), else the Authorization
// header's Bearer token; "" if neither.
func TokenFromRequest(r *http.Request) string {
	if c, err := r.Cookie(authorizationKey); err == nil && c.Value != "" {
		return c.Value
	}
	h := r.Header.Get(authorizationKey)
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}
