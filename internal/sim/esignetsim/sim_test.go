package esignetsim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/sim/esignetsim"
)

const (
	clientID    = "opencrvs-client"
	redirectURI = "http://opencrvs.local/drafts/abc"
	uin         = "1234567890" // Charles Dikkens Doe 2nd, born 2008-02-29
)

type fixture struct {
	sim *esignetsim.Sim
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newFixture(t *testing.T, mutate func(*esignetsim.Config)) *fixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg := esignetsim.Config{Clients: []esignetsim.Client{{
		ID: clientID, PublicKey: &jose.JSONWebKey{Key: &key.PublicKey}, RedirectURIs: []string{"http://opencrvs.local/*"},
	}}}
	if mutate != nil {
		mutate(&cfg)
	}
	sim, err := esignetsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, srv: srv, key: key}
}

// assertion signs claims with key (RS256).
func assertion(t *testing.T, key any, c jwt.Claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) goodClaims(jti string) jwt.Claims {
	now := time.Now()
	return jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{f.srv.URL + "/oauth/token"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: jti}
}

func (f *fixture) code(t *testing.T) string {
	t.Helper()
	code, err := f.sim.Authorize(clientID, redirectURI, uin, "n-1")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token"`
	Error       string `json:"error"`
}

func (f *fixture) token(t *testing.T, code, assertion string) (int, tokenAnswer) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, err := http.PostForm(f.srv.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, ans
}

func (f *fixture) userInfo(t *testing.T, access string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func (f *fixture) jwks(t *testing.T, path string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestFlowGivesUserInfoSignedWithTheJWKSKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	st, ans := f.token(t, f.code(t), assertion(t, f.key, f.goodClaims("jti-1")))
	if st != http.StatusOK || ans.AccessToken == "" || ans.TokenType != "Bearer" || ans.IDToken == "" {
		t.Fatalf("token: status %d, %+v", st, ans)
	}
	st, ct, body := f.userInfo(t, ans.AccessToken)
	if st != http.StatusOK || ct != "application/jwt" {
		t.Fatalf("userinfo: status %d, content type %q", st, ct)
	}
	for _, path := range []string{"/.well-known/jwks.json", "/oauth/.well-known/jwks.json"} {
		set := f.jwks(t, path)
		tok, err := jwt.ParseSigned(body, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(tok.Headers[0].KeyID)
		if len(keys) != 1 {
			t.Fatalf("%s: %d keys with the user info's kid, want 1", path, len(keys))
		}
		var claims map[string]any
		if err := tok.Claims(keys[0].Key, &claims); err != nil {
			t.Fatalf("%s: user info does not verify: %v", path, err)
		}
		want := map[string]any{"given_name": "Charles", "middle_name": "Dikkens", "family_name": "Doe 2nd",
			"gender": "Male", "birthdate": "2008/02/29", "aud": clientID}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if sub, _ := claims["sub"].(string); sub == "" || strings.Contains(sub, uin) {
			t.Errorf("sub %q: want a partner-specific token that does not show the UIN", sub)
		}
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	code := f.code(t)
	if st, ans := f.token(t, code, assertion(t, f.key, f.goodClaims("a"))); st != http.StatusOK {
		t.Fatalf("first use: %d %+v", st, ans)
	}
	st, ans := f.token(t, code, assertion(t, f.key, f.goodClaims("b")))
	if st != http.StatusInternalServerError || ans.Error != "invalid_grant" {
		t.Fatalf("replayed code: got %d %q, want 500 invalid_grant (E-Signet's answer)", st, ans.Error)
	}
}

func TestExpiredCodeIsRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	f := newFixture(t, func(c *esignetsim.Config) { c.Now = func() time.Time { return clock() } })
	code := f.code(t)
	clock = func() time.Time { return now.Add(esignetsim.DefaultCodeLifetime + time.Second) }
	c := f.goodClaims("x")
	c.IssuedAt, c.Expiry = jwt.NewNumericDate(clock()), jwt.NewNumericDate(clock().Add(time.Minute))
	if st, ans := f.token(t, code, assertion(t, f.key, c)); ans.Error != "invalid_grant" {
		t.Fatalf("expired code: got %d %q, want invalid_grant", st, ans.Error)
	}
}

func TestClientAssertionRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name string
		key  any
		edit func(*jwt.Claims)
	}{
		{"another key", other, nil},
		{"wrong iss", f.key, func(c *jwt.Claims) { c.Issuer = "someone" }},
		{"wrong sub", f.key, func(c *jwt.Claims) { c.Subject = "someone" }},
		{"wrong aud", f.key, func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://elsewhere/oauth/token"} }},
		{"expired", f.key, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Minute)) }},
		{"no exp", f.key, func(c *jwt.Claims) { c.Expiry = nil }},
		{"no iat", f.key, func(c *jwt.Claims) { c.IssuedAt = nil }},
		{"no jti", f.key, func(c *jwt.Claims) { c.ID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.goodClaims("rules-" + tt.name)
			if tt.edit != nil {
				tt.edit(&c)
			}
			st, ans := f.token(t, f.code(t), assertion(t, tt.key, c))
			if st != http.StatusBadRequest || ans.Error != "invalid_client" {
				t.Errorf("got %d %q, want 400 invalid_client", st, ans.Error)
			}
		})
	}
	t.Run("issuer as aud", func(t *testing.T) {
		c := f.goodClaims("rules-issuer-aud")
		c.Audience = jwt.Audience{f.srv.URL}
		if st, ans := f.token(t, f.code(t), assertion(t, f.key, c)); st != http.StatusOK {
			t.Errorf("got %d %q, want 200", st, ans.Error)
		}
	})
}

func TestReplayedAssertionIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := assertion(t, f.key, f.goodClaims("same-jti"))
	if st, _ := f.token(t, f.code(t), a); st != http.StatusOK {
		t.Fatalf("first: %d", st)
	}
	if st, ans := f.token(t, f.code(t), a); st != http.StatusBadRequest || ans.Error != "invalid_client" {
		t.Fatalf("replayed assertion: got %d %q, want 400 invalid_client", st, ans.Error)
	}
}

func TestRedirectAndClientMustMatchTheAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	form := func(code, redirect, client string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "client_id": {client},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertion(t, f.key, f.goodClaims(code))}}
	}
	for _, tt := range []struct {
		name             string
		redirect, client string
		want             string
	}{
		{"other redirect", "http://opencrvs.local/other", clientID, "invalid_redirect_uri"},
		{"other client", redirectURI, "someone-else", "invalid_client_id"},
	} {
		resp, err := http.PostForm(f.srv.URL+"/oauth/v2/token", form(f.code(t), tt.redirect, tt.client))
		if err != nil {
			t.Fatal(err)
		}
		var ans tokenAnswer
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || ans.Error != tt.want {
			t.Errorf("%s: got %d %q, want 400 %s", tt.name, resp.StatusCode, ans.Error, tt.want)
		}
	}
}

func TestUserInfoNeedsAValidAccessToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	st, _, body := f.userInfo(t, "not-a-token")
	if st != http.StatusUnauthorized || body != "" {
		t.Fatalf("got %d %q, want 401 without body", st, body)
	}
}

func TestAuthorizeRedirectsWithCodeAndState(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid profile"}, "redirect_uri": {redirectURI + "?tab=1"},
		"state": {"fetch-on-mount"}, "acr_values": {"mosip:idp:acr:static-code"}, "claims": {"name,birthdate"}}
	resp, err := noFollow.Get(f.srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="individual_id"`) {
		t.Fatalf("without individual_id: %d, want the sign-in page", resp.StatusCode)
	}
	q.Set("individual_id", uin)
	resp, err = noFollow.Get(f.srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Query(); got.Get("code") == "" || got.Get("state") != "fetch-on-mount" || got.Get("tab") != "1" {
		t.Fatalf("redirect query %v: want code, state and the redirect URI's own query", got)
	}
	// The code is bound to the redirect URI as sent, query included.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI + "?tab=1"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion(t, f.key, f.goodClaims("authz"))}}
	r2, err := http.PostForm(f.srv.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusOK {
		t.Fatalf("token for the redirected code: %d", r2.StatusCode)
	}

	q.Set("redirect_uri", "http://evil.example/cb")
	resp, err = noFollow.Get(f.srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unregistered redirect URI: %d, want 400 (never a redirect)", resp.StatusCode)
	}
}

func TestFaultsBreakTheUserInfoSignature(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"unknown-key", "tampered"} {
		t.Run(fault, func(t *testing.T) {
			f := newFixture(t, nil)
			req, _ := http.NewRequest("PUT", f.srv.URL+"/sim/faults", strings.NewReader(`{"userInfoSignature":"`+fault+`"}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT /sim/faults: %d", resp.StatusCode)
			}
			_, ans := f.token(t, f.code(t), assertion(t, f.key, f.goodClaims(fault)))
			_, _, body := f.userInfo(t, ans.AccessToken)
			tok, err := jwt.ParseSigned(body, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if err := tok.Claims(f.sim.PublicKey(), &claims); err == nil {
				t.Fatal("the user info verifies; want a broken signature")
			}
		})
	}
}

func TestEncryptedUserInfo(t *testing.T) {
	t.Parallel()
	var key *rsa.PrivateKey
	f := newFixture(t, func(c *esignetsim.Config) { c.Clients[0].EncryptUserInfo = true })
	key = f.key
	_, ans := f.token(t, f.code(t), assertion(t, key, f.goodClaims("enc")))
	_, _, body := f.userInfo(t, ans.AccessToken)
	jwe, err := jose.ParseEncryptedCompact(body, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := jwe.Decrypt(key)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(string(inner), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := tok.Claims(f.sim.PublicKey(), &claims); err != nil || claims["given_name"] != "Charles" {
		t.Fatalf("inner JWT: %v, claims %v", err, claims)
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/v1/esignet/", http.StripPrefix("/v1/esignet", f.sim))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/esignet/oidc/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != srv.URL+"/v1/esignet" || d["jwks_uri"] != srv.URL+"/v1/esignet/oauth/.well-known/jwks.json" {
		t.Fatalf("discovery under a prefix: issuer %v, jwks_uri %v", d["issuer"], d["jwks_uri"])
	}
}
