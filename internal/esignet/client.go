// Package esignet is the mediator's OpenID Connect client of MOSIP
// E-Signet, for in-form authentication: the OpenCRVS form sends a person
// to E-Signet, gets an authorization code back, and the mediator exchanges
// the code for the person's verified user info.
//
// The exchange authenticates the mediator with private_key_jwt: a client
// assertion signed with the relying party's key, carrying a fresh jti and
// living two minutes (E-Signet refuses a repeated jti). The user info comes
// back as a JWT signed by E-Signet (or by its authenticator, whose keys
// E-Signet publishes in the same JWKS), and is accepted only when its
// signature verifies against E-Signet's JWKS; a user info encrypted to the
// client (userinfo_response_type JWE) is decrypted with the client key
// first.
//
// Nothing here logs an authorization code, a token, an assertion or a
// claim value.
package esignet

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/bridge"
)

// AssertionType is the client_assertion_type of private_key_jwt.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Defaults.
const (
	// DefaultAssertionLifetime is how long a client assertion is valid:
	// long enough for clock drift between the mediator and E-Signet, short
	// enough that a leaked one is soon useless (it is also single-use).
	DefaultAssertionLifetime = 2 * time.Minute
	// DefaultLeeway is the clock skew allowed on the user info's exp and nbf.
	DefaultLeeway = 30 * time.Second
	// DefaultRefreshInterval is the least time between two JWKS fetches
	// after the first.
	DefaultRefreshInterval = time.Minute
	// maxAnswerBytes bounds what is read from E-Signet.
	maxAnswerBytes = 1 << 20
)

// signatureAlgorithms are the user info signatures accepted: those
// E-Signet and MOSIP's authenticators use.
var signatureAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

// Config configures a Client.
type Config struct {
	// TokenURL is E-Signet's token endpoint (ESIGNET_TOKEN_URL), e.g.
	// https://esignet.example.org/v1/esignet/oauth/v2/token.
	TokenURL string
	// UserInfoURL is its user info endpoint (ESIGNET_USERINFO_URL).
	UserInfoURL string
	// JWKSURL serves the keys user info is signed with (ESIGNET_JWKS_URL).
	JWKSURL string
	// Audience is the aud of client assertions; empty: TokenURL. E-Signet
	// accepts its token endpoint as it knows it, or its issuer.
	Audience string
	// ClientKey is the relying party's private key.
	ClientKey *jose.JSONWebKey
	// HTTPClient calls E-Signet (nil: a client with a 30 s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
	// AssertionLifetime: 0 means DefaultAssertionLifetime.
	AssertionLifetime time.Duration
	// Leeway: 0 means DefaultLeeway.
	Leeway time.Duration
	// RefreshInterval: 0 means DefaultRefreshInterval.
	RefreshInterval time.Duration
}

// DerivedURLs returns the user info and JWKS URLs of the E-Signet whose
// token endpoint is tokenURL (.../oauth/token or .../oauth/v2/token), or
// "" when tokenURL does not end so.
func DerivedURLs(tokenURL string) (userInfoURL, jwksURL string) {
	for _, suffix := range []string{"/oauth/v2/token", "/oauth/token"} {
		if base, ok := strings.CutSuffix(tokenURL, suffix); ok {
			return base + "/oidc/userinfo", base + "/oauth/.well-known/jwks.json"
		}
	}
	return "", ""
}

// Client exchanges authorization codes for verified user info. It is safe
// for concurrent use.
type Client struct {
	cfg    Config
	http   *http.Client
	log    *slog.Logger
	now    func() time.Time
	signer jose.Signer
	keys   *keySet
}

// New returns a Client. It checks the configuration and the key but calls
// nothing: the JWKS is fetched on first use.
func New(cfg Config) (*Client, error) {
	var errs []error
	for _, u := range []struct{ name, value string }{{"token URL", cfg.TokenURL}, {"user info URL", cfg.UserInfoURL}, {"JWKS URL", cfg.JWKSURL}} {
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("esignet: the %s %q is not an http(s) URL", u.name, u.value))
		}
	}
	if cfg.ClientKey == nil {
		errs = append(errs, errors.New("esignet: no client private key"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	alg, err := signingAlgorithm(cfg.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("esignet: client key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: cfg.ClientKey}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("esignet: client key: %w", err)
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.TokenURL
	}
	if cfg.AssertionLifetime <= 0 {
		cfg.AssertionLifetime = DefaultAssertionLifetime
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, signer: signer}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.keys = &keySet{url: cfg.JWKSURL, http: c.http, log: c.log, now: c.now, refreshInterval: cfg.RefreshInterval}
	return c, nil
}

// ClientAssertion returns a new signed client assertion for clientID:
// iss and sub clientID, aud the token endpoint, iat now, exp after the
// assertion lifetime, and a random jti.
func (c *Client) ClientAssertion(clientID string) (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	now := c.now()
	claims := jwt.Claims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: jwt.Audience{c.cfg.Audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(c.cfg.AssertionLifetime)),
		ID:       base64.RawURLEncoding.EncodeToString(b[:]),
	}
	return jwt.Signed(c.signer).Claims(claims).Serialize()
}

// Request is one code exchange.
type Request struct {
	// Code is the authorization code E-Signet sent to the form.
	Code string
	// ClientID is the relying party's client id.
	ClientID string
	// RedirectURI is the redirect_uri of the authorization request. The
	// form sends the page address it is on, which by now carries code and
	// state: everything from "?" is dropped, as mosip-api does.
	RedirectURI string
}

// UserInfo is a verified user info.
type UserInfo struct {
	Claims Claims
	// JWT is the signed user info (compact JWS) as E-Signet signed it; for
	// an encrypted user info, the JWS inside.
	JWT string
	// KeyID names the JWKS key that verified it.
	KeyID string
}

// UserInfo exchanges req.Code for an access token and returns the user
// info it gives, verified. Errors are *bridge.Error:
//   - EInvalid: E-Signet refused the code, the client id or the redirect
//     URI (invalid_grant for a code used before or expired; the message
//     names E-Signet's error code);
//   - EUpstream: E-Signet refused the mediator's client assertion, or
//     answered a user info that is unsigned, signed by no key of its JWKS,
//     expired or for another client;
//   - EUnavailable: E-Signet or its JWKS could not be reached or failed.
func (c *Client) UserInfo(ctx context.Context, req Request) (*UserInfo, error) {
	redirect, _, _ := strings.Cut(req.RedirectURI, "?")
	access, err := c.token(ctx, req.Code, req.ClientID, redirect)
	if err != nil {
		return nil, err
	}
	raw, err := c.fetchUserInfo(ctx, access)
	if err != nil {
		return nil, err
	}
	info, err := c.verify(ctx, raw, req.ClientID)
	if err != nil {
		return nil, err
	}
	c.log.Debug("esignet user info verified", "key_id", info.KeyID)
	return info, nil
}

// tokenAnswer is the token endpoint's answer, success or OAuth error.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// token performs the authorization_code grant and returns the access token.
func (c *Client) token(ctx context.Context, code, clientID, redirectURI string) (string, error) {
	assertion, err := c.ClientAssertion(clientID)
	if err != nil {
		return "", fmt.Errorf("esignet: sign client assertion: %w", err)
	}
	form := url.Values{
		"grant_type":            {"authorization_code"},
		"code":                  {code},
		"redirect_uri":          {redirectURI},
		"client_id":             {clientID},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unavailable("E-Signet's token endpoint cannot be reached", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", unavailable("E-Signet's token endpoint answer could not be read", err)
	}
	var ans tokenAnswer
	jsonErr := json.Unmarshal(body, &ans)
	if resp.StatusCode == http.StatusOK && jsonErr == nil && ans.AccessToken != "" {
		if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "Bearer") {
			return "", upstream(fmt.Sprintf("E-Signet issued a %q token; the mediator uses Bearer tokens (is the client registered for DPoP?)", clip(ans.TokenType)), nil)
		}
		return ans.AccessToken, nil
	}
	if jsonErr != nil || ans.Error == "" {
		cause := fmt.Errorf("esignet: token endpoint answered HTTP %d without an OAuth error", resp.StatusCode)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return "", unavailable("E-Signet's token endpoint failed; try again", cause)
		}
		return "", upstream("E-Signet's token endpoint answered something that is neither a token nor an OAuth error", cause)
	}
	return "", tokenError(resp.StatusCode, ans.Error)
}

// tokenError classifies an OAuth error of the token endpoint. E-Signet
// answers a used or expired code with invalid_grant (HTTP 500 in current
// versions, where it is not an InvalidRequestException) or
// invalid_transaction, and a client assertion it refuses (bad signature,
// audience, expiry, repeated jti) with invalid_client.
func tokenError(status int, code string) error {
	code = clip(code)
	cause := fmt.Errorf("esignet: token endpoint: HTTP %d, error %s", status, code)
	switch code {
	case "invalid_grant", "invalid_transaction":
		return &bridge.Error{Code: bridge.EInvalid, Field: "code", Err: cause,
			Message: fmt.Sprintf("E-Signet refused the authorization code (%s): a code is valid once and for a few minutes; sign in with E-Signet again", code)}
	case "invalid_redirect_uri":
		return &bridge.Error{Code: bridge.EInvalid, Field: "redirectUri", Err: cause,
			Message: fmt.Sprintf("E-Signet refused the redirect URI (%s): it must be the redirect_uri of the authorization request", code)}
	case "invalid_client_id":
		return &bridge.Error{Code: bridge.EInvalid, Field: "clientId", Err: cause,
			Message: fmt.Sprintf("E-Signet refused the client id (%s): it must be the client_id of the authorization request", code)}
	case "invalid_client", "invalid_assertion", "unauthorized_client":
		return upstream(fmt.Sprintf("E-Signet refused the mediator's client assertion (%s): check OIDP_CLIENT_PRIVATE_KEY_PATH against the public key registered for the client, the client id, ESIGNET_CLIENT_ASSERTION_AUDIENCE and the clocks", code), cause)
	}
	if status >= 500 {
		return unavailable(fmt.Sprintf("E-Signet's token endpoint failed (%s); try again", code), cause)
	}
	return &bridge.Error{Code: bridge.EInvalid, Err: cause, Message: fmt.Sprintf("E-Signet refused the token request (%s)", code)}
}

// fetchUserInfo returns the user info answer as it came: a JWS or JWE.
func (c *Client) fetchUserInfo(ctx context.Context, accessToken string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.UserInfoURL, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/jwt")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unavailable("E-Signet's user info endpoint cannot be reached", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return "", unavailable("E-Signet's user info answer could not be read", err)
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return "", unavailable("E-Signet's user info endpoint failed; try again", fmt.Errorf("esignet: user info: HTTP %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		// E-Signet names the reason in WWW-Authenticate: error="invalid_token".
		return "", upstream("E-Signet refused the access token it had just issued", fmt.Errorf("esignet: user info: HTTP %d, %s", resp.StatusCode, clip(resp.Header.Get("WWW-Authenticate"))))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		return "", upstream("E-Signet answered unsigned user info: register the client with a signed (JWS) or encrypted (JWE) user info response", nil)
	}
	return strings.TrimSpace(string(body)), nil
}

// verify checks the user info's signature against the JWKS (fetching the
// keys again once when no key verifies: E-Signet may have rotated them)
// and its time and audience claims.
func (c *Client) verify(ctx context.Context, raw, clientID string) (*UserInfo, error) {
	if strings.Count(raw, ".") == 4 {
		inner, err := c.decrypt(raw)
		if err != nil {
			return nil, err
		}
		raw = inner
	}
	jws, err := jose.ParseSignedCompact(raw, signatureAlgorithms)
	if err != nil {
		return nil, upstream("E-Signet's user info is not a JWT signed with RS256, PS256 or ES256", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, upstream("E-Signet's user info does not carry exactly one signature", nil)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, gen, err := c.keys.current(ctx)
	if err != nil {
		return nil, unavailable("E-Signet's JWKS cannot be fetched, so its user info cannot be verified", err)
	}
	payload, keyID, ok := verifyWithAny(jws, keys, kid)
	if !ok {
		fresh, freshGen, err := c.keys.refresh(ctx, gen, false)
		if err != nil {
			return nil, unavailable("E-Signet's user info is signed by a key the mediator does not hold and the JWKS cannot be fetched again", err)
		}
		if freshGen != gen {
			payload, keyID, ok = verifyWithAny(jws, fresh, kid)
		}
	}
	if !ok {
		return nil, upstream("E-Signet's user info signature does not verify against any key of E-Signet's JWKS (ESIGNET_JWKS_URL): it is refused",
			fmt.Errorf("esignet: user info signed %s with key id %q: no JWKS key verifies it", clip(jws.Signatures[0].Header.Algorithm), clip(kid)))
	}
	var std jwt.Claims
	if err := json.Unmarshal(payload, &std); err != nil {
		return nil, upstream("E-Signet's user info claims are not valid JWT claims", err)
	}
	now := c.now()
	if std.Expiry != nil && now.Add(-c.cfg.Leeway).After(std.Expiry.Time()) {
		return nil, upstream("E-Signet's user info has expired: check the clocks", nil)
	}
	if std.NotBefore != nil && now.Add(c.cfg.Leeway).Before(std.NotBefore.Time()) {
		return nil, upstream("E-Signet's user info is not valid yet: check the clocks", nil)
	}
	if len(std.Audience) > 0 && !std.Audience.Contains(clientID) {
		return nil, upstream("E-Signet's user info is meant for another client", nil)
	}
	claims, _, err := claimsFromJSON(payload)
	if err != nil {
		return nil, upstream("E-Signet's user info claims could not be read", err)
	}
	return &UserInfo{Claims: claims, JWT: raw, KeyID: keyID}, nil
}

// verifyWithAny verifies jws with the key named kid, or with every key of
// a matching type when kid is empty or names none of them.
func verifyWithAny(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, string, bool) {
	candidates := keys
	if kid != "" {
		named := slices.DeleteFunc(slices.Clone(keys), func(k jose.JSONWebKey) bool { return k.KeyID != kid })
		if len(named) > 0 {
			candidates = named
		}
	}
	for _, k := range candidates {
		if payload, err := jws.Verify(k.Key); err == nil {
			return payload, k.KeyID, true
		}
	}
	return nil, "", false
}

// decrypt opens a user info E-Signet encrypted to the client key.
func (c *Client) decrypt(raw string) (string, error) {
	jwe, err := jose.ParseEncryptedCompact(raw,
		[]jose.KeyAlgorithm{jose.RSA_OAEP_256, jose.RSA_OAEP, jose.ECDH_ES, jose.ECDH_ES_A256KW, jose.ECDH_ES_A128KW},
		[]jose.ContentEncryption{jose.A256GCM, jose.A128GCM, jose.A128CBC_HS256, jose.A256CBC_HS512})
	if err != nil {
		return "", upstream("E-Signet's encrypted user info is not a JWE the mediator can open", err)
	}
	plain, err := jwe.Decrypt(c.cfg.ClientKey.Key)
	if err != nil {
		return "", upstream("E-Signet's encrypted user info does not decrypt with the client key (OIDP_CLIENT_PRIVATE_KEY_PATH)", err)
	}
	inner := strings.TrimSpace(string(plain))
	if strings.Count(inner, ".") != 2 {
		return "", upstream("E-Signet's encrypted user info does not hold a signed JWT", nil)
	}
	return inner, nil
}

func upstream(msg string, err error) *bridge.Error {
	return &bridge.Error{Code: bridge.EUpstream, Message: msg, Err: err}
}

func unavailable(msg string, err error) *bridge.Error {
	return &bridge.Error{Code: bridge.EUnavailable, Message: msg, Err: err}
}

// clip bounds text that came from E-Signet before it goes into a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
