package esignetsim

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const cryptoSHA256 = crypto.SHA256

// assertionType is the only client_assertion_type E-Signet takes.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionAlgorithms are E-Signet's token_endpoint_auth_signing_alg_values_supported.
var assertionAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /authorize", s.handleAuthorize)
	m.HandleFunc("POST /oauth/token", s.handleToken)
	m.HandleFunc("POST /oauth/v2/token", s.handleToken)
	m.HandleFunc("GET /oidc/userinfo", s.handleUserInfo)
	m.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	m.HandleFunc("GET /oauth/.well-known/jwks.json", s.handleJWKS)
	m.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	m.HandleFunc("GET /oidc/.well-known/openid-configuration", s.handleDiscovery)
	m.HandleFunc("GET /sim/faults", s.handleGetFaults)
	m.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	s.mux = m
}

// issuer is the simulator's base URL: the configured one, else the
// request's scheme and host with the prefix the handler is mounted under.
func (s *Sim) issuer(r *http.Request) string {
	if s.cfg.Issuer != "" {
		return strings.TrimSuffix(s.cfg.Issuer, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	full, _, _ := strings.Cut(r.RequestURI, "?")
	prefix := strings.TrimSuffix(full, r.URL.Path)
	return scheme + "://" + r.Host + prefix
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>E-Signet simulator: sign in</title></head>
<body><h1>E-Signet simulator</h1>
<p>Signing in to <b>{{.Client}}</b>. Enter a UIN or VID of a seeded identity (for example 1234567890).</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="get" action="">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<label>UIN / VID <input name="individual_id" autofocus></label>
<button type="submit">Sign in</button>
</form></body></html>
`))

func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	s.mu.Lock()
	c, known := s.clients[clientID]
	s.mu.Unlock()
	switch {
	case !known:
		http.Error(w, "invalid_client_id: no client "+strconvQuote(clientID)+" is registered", http.StatusBadRequest)
		return
	case !redirectAllowed(c, redirectURI):
		http.Error(w, "invalid_redirect_uri: the redirect URI is not registered for the client", http.StatusBadRequest)
		return
	}
	// From here errors go back to the client, as OAuth says.
	fail := func(code, desc string) {
		redirectWith(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {q.Get("state")}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		fail("invalid_scope", "scope must include openid")
		return
	}
	individual := strings.TrimSpace(q.Get("individual_id"))
	if individual == "" {
		s.signIn(w, q, clientID, "", http.StatusOK)
		return
	}
	code, err := s.Authorize(clientID, redirectURI, individual, q.Get("nonce"))
	if err != nil {
		s.signIn(w, q, clientID, "No identity has this UIN or VID.", http.StatusNotFound)
		return
	}
	redirectWith(w, r, redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}})
}

func (s *Sim) signIn(w http.ResponseWriter, q url.Values, clientID, msg string, status int) {
	params := map[string]string{}
	for k := range q {
		if k != "individual_id" {
			params[k] = q.Get(k)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = signInPage.Execute(w, map[string]any{"Client": clientID, "Error": msg, "Params": params})
}

// redirectWith sends the browser to uri with params added to its query.
func redirectWith(w http.ResponseWriter, r *http.Request, uri string, params url.Values) {
	u, err := url.Parse(uri)
	if err != nil {
		http.Error(w, "invalid_redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q.Set(k, v[0])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// oauthError answers as E-Signet's ExceptionHandlerAdvice does for /oauth/
// paths: the error code as error and as error_description.
func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": code})
}

func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	for _, name := range []string{"code", "redirect_uri", "client_assertion_type", "client_assertion"} {
		if f.Get(name) == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request")
			return
		}
	}
	now := s.now()
	s.mu.Lock()
	g := s.codes[f.Get("code")]
	// Spent by this first use, whatever follows (E-Signet evicts the code
	// from its cache as it reads it).
	delete(s.codes, f.Get("code"))
	s.mu.Unlock()
	if g == nil || now.After(g.expires) {
		s.log.Info("token request refused: unknown, expired or used authorization code")
		oauthError(w, http.StatusInternalServerError, "invalid_grant")
		return
	}
	if id := f.Get("client_id"); id != "" && id != g.client {
		oauthError(w, http.StatusBadRequest, "invalid_client_id")
		return
	}
	if f.Get("redirect_uri") != g.redirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri")
		return
	}
	if f.Get("client_assertion_type") != assertionType {
		oauthError(w, http.StatusBadRequest, "invalid_assertion_type")
		return
	}
	issuer := s.issuer(r)
	endpoint := issuer + r.URL.Path // the token endpoint as the client reached it
	if err := s.checkAssertion(f.Get("client_assertion"), g.client, []string{endpoint, issuer + "/oauth/token", issuer + "/oauth/v2/token", issuer}, now); err != nil {
		s.log.Info("token request refused: client assertion", "client_id", g.client, "reason", err.Error())
		oauthError(w, http.StatusBadRequest, "invalid_client")
		return
	}

	access, err := s.sign(jwt.Claims{Issuer: issuer, Subject: psut(g.client, g.identity.NID), Audience: jwt.Audience{g.client},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(s.cfg.TokenLifetime)), ID: randomToken()}, map[string]any{"scope": "openid profile", "client_id": g.client})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "unknown_error")
		return
	}
	extra := map[string]any{"auth_time": now.Unix(), "acr": "mosip:idp:acr:static-code", "at_hash": atHash(access)}
	if g.nonce != "" {
		extra["nonce"] = g.nonce
	}
	idToken, err := s.sign(jwt.Claims{Issuer: issuer, Subject: psut(g.client, g.identity.NID), Audience: jwt.Audience{g.client},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(s.cfg.TokenLifetime))}, extra)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "unknown_error")
		return
	}
	s.mu.Lock()
	s.tokens[tokenHash(access)] = &grant{client: g.client, redirectURI: g.redirectURI, identity: g.identity, expires: now.Add(s.cfg.TokenLifetime)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": access, "token_type": "Bearer", "id_token": idToken, "expires_in": int(s.cfg.TokenLifetime / time.Second),
	})
}

// checkAssertion applies E-Signet's client assertion rules
// (TokenServiceImpl.verifyClientAssertionToken).
func (s *Sim) checkAssertion(assertion, clientID string, audiences []string, now time.Time) error {
	s.mu.Lock()
	c, ok := s.clients[clientID]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("client %q is not registered", clientID)
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgorithms)
	if err != nil {
		return fmt.Errorf("not a JWT signed RS256, PS256 or ES256: %w", err)
	}
	var claims jwt.Claims
	if err := tok.Claims(c.PublicKey.Key, &claims); err != nil {
		return fmt.Errorf("signature does not verify with the client's registered key: %w", err)
	}
	switch {
	case claims.Issuer != clientID:
		return fmt.Errorf("iss %q is not the client id", claims.Issuer)
	case claims.Subject != clientID:
		return fmt.Errorf("sub %q is not the client id", claims.Subject)
	case !slices.ContainsFunc(audiences, claims.Audience.Contains):
		return fmt.Errorf("aud %q names neither the token endpoint %q nor the issuer", []string(claims.Audience), audiences[0])
	case claims.IssuedAt == nil:
		return fmt.Errorf("no iat")
	case claims.Expiry == nil:
		return fmt.Errorf("no exp")
	case now.Add(-s.cfg.ClockSkew).After(claims.Expiry.Time()):
		return fmt.Errorf("expired at %s", claims.Expiry.Time().UTC().Format(time.RFC3339))
	case claims.NotBefore != nil && now.Add(s.cfg.ClockSkew).Before(claims.NotBefore.Time()):
		return fmt.Errorf("not valid before %s", claims.NotBefore.Time().UTC().Format(time.RFC3339))
	case strings.TrimSpace(claims.ID) == "":
		return fmt.Errorf("no jti")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.jtis[claims.ID]; seen {
		return fmt.Errorf("jti used before (a replayed assertion)")
	}
	s.jtis[claims.ID] = claims.Expiry.Time().Add(s.cfg.ClockSkew)
	return nil
}

func (s *Sim) sign(claims jwt.Claims, extra map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	b := jwt.Signed(signer).Claims(claims)
	if extra != nil {
		b = b.Claims(extra)
	}
	return b.Serialize()
}

// atHash is the at_hash of an RS256 ID token.
func atHash(accessToken string) string {
	h := cryptoSHA256.New()
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func (s *Sim) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	unauthorized := func() {
		w.Header().Set("WWW-Authenticate", `error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || scheme != "Bearer" || token == "" {
		unauthorized()
		return
	}
	now := s.now()
	s.mu.Lock()
	g := s.tokens[tokenHash(token)]
	faults := s.faults
	c := s.clients[g.clientOrEmpty()]
	s.mu.Unlock()
	if g == nil || now.After(g.expires) {
		unauthorized()
		return
	}
	id := g.identity
	name := strings.Join(strings.Fields(id.FirstName+" "+id.MiddleName+" "+id.FamilyName), " ")
	claims := map[string]any{
		"iss": s.issuer(r), "aud": g.client, "iat": now.Unix(), "sub": psut(g.client, id.NID),
		"name": name, "given_name": id.FirstName, "middle_name": id.MiddleName, "family_name": id.FamilyName,
		"gender": titleCase(id.Gender), "birthdate": strings.ReplaceAll(id.BirthDate, "-", "/"),
		"email": "person+" + id.NID + "@example.org", "phone_number": "+0000" + id.NID,
	}
	key := s.key
	if faults.UserInfoSignature == "unknown-key" {
		key = s.forger
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: s.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		http.Error(w, "signer", http.StatusInternalServerError)
		return
	}
	out, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	if faults.UserInfoSignature == "tampered" {
		claims["given_name"] = "Mallory"
		payload, _ := json.Marshal(claims)
		parts := strings.Split(out, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		out = strings.Join(parts, ".")
	}
	if c.EncryptUserInfo {
		enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: c.PublicKey.Key},
			(&jose.EncrypterOptions{}).WithContentType("JWT").WithType("JWT"))
		if err != nil {
			http.Error(w, "encrypter", http.StatusInternalServerError)
			return
		}
		obj, err := enc.Encrypt([]byte(out))
		if err != nil {
			http.Error(w, "encrypt", http.StatusInternalServerError)
			return
		}
		if out, err = obj.CompactSerialize(); err != nil {
			http.Error(w, "encrypt", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, out)
}

func (g *grant) clientOrEmpty() string {
	if g == nil {
		return ""
	}
	return g.client
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

func (s *Sim) handleJWKS(w http.ResponseWriter, r *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.keyID, Algorithm: string(jose.RS256), Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

func (s *Sim) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := s.issuer(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           iss,
		"authorization_endpoint":                           iss + "/authorize",
		"token_endpoint":                                   iss + "/oauth/v2/token",
		"userinfo_endpoint":                                iss + "/oidc/userinfo",
		"jwks_uri":                                         iss + "/oauth/.well-known/jwks.json",
		"scopes_supported":                                 []string{"openid", "profile", "email", "phone"},
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{"authorization_code"},
		"subject_types_supported":                          []string{"pairwise"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"userinfo_signing_alg_values_supported":            []string{"RS256"},
		"userinfo_encryption_alg_values_supported":         []string{"RSA-OAEP-256"},
		"userinfo_encryption_enc_values_supported":         []string{"A256GCM"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256", "ES256"},
		"claims_supported": []string{"sub", "name", "given_name", "middle_name", "family_name", "gender", "birthdate",
			"email", "phone_number"},
		"acr_values_supported":       []string{"mosip:idp:acr:static-code", "mosip:idp:acr:generated-code"},
		"claims_parameter_supported": true,
	})
}

func (s *Sim) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func (s *Sim) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	dec := json.NewDecoder(io.LimitReader(r.Body, maxFormBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.SetFaults(f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
