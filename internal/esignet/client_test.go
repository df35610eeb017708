package esignet_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/esignet"
	"opencrvs-mosip/internal/sim/esignetsim"
)

const (
	clientID    = "opencrvs-client"
	redirectURI = "http://opencrvs.local/drafts/abc"
	uin         = "1234567890" // Charles Dikkens Doe 2nd, born 2008-02-29
)

type fixture struct {
	sim    *esignetsim.Sim
	url    string
	key    *jose.JSONWebKey
	client *esignet.Client
}

// newFixture runs the simulator under E-Signet's /v1/esignet prefix with
// the client's public key registered, and a client with the private key.
func newFixture(t *testing.T, mutate func(*esignetsim.Config)) *fixture {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := &jose.JSONWebKey{Key: priv, KeyID: "rp-1", Algorithm: "RS256", Use: "sig"}
	pub := key.Public()
	cfg := esignetsim.Config{Clients: []esignetsim.Client{{ID: clientID, PublicKey: &pub}}}
	if mutate != nil {
		mutate(&cfg)
	}
	sim, err := esignetsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/esignet/", http.StripPrefix("/v1/esignet", sim))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/v1/esignet"
	userinfo, jwks := esignet.DerivedURLs(base + "/oauth/v2/token")
	c, err := esignet.New(esignet.Config{TokenURL: base + "/oauth/v2/token", UserInfoURL: userinfo, JWKSURL: jwks, ClientKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, url: base, key: key, client: c}
}

func (f *fixture) code(t *testing.T) string {
	t.Helper()
	code, err := f.sim.Authorize(clientID, redirectURI, uin, "")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantCode(t *testing.T, err error, want bridge.ErrorCode, text string) {
	t.Helper()
	if got := bridge.ErrorCodeOf(err); got != want {
		t.Fatalf("error %v: code %q, want %q", err, got, want)
	}
	if !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q does not mention %q", err, text)
	}
}

func TestUserInfoIsVerifiedAndMapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// The form sends the page it is on, which carries code and state by now.
	info, err := f.client.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID,
		RedirectURI: redirectURI + "?code=x&state=fetch-on-mount"})
	if err != nil {
		t.Fatal(err)
	}
	want := esignet.FormData{Name: esignet.FormName{Firstname: "Charles", Middlename: "Dikkens", Surname: "Doe 2nd"},
		Gender: "male", BirthDate: "2008-02-29", VerificationStatus: "authenticated"}
	if diff := cmp.Diff(want, info.Claims.Form()); diff != "" {
		t.Errorf("form data (-want +got):\n%s", diff)
	}
	if info.KeyID == "" || strings.Count(info.JWT, ".") != 2 {
		t.Errorf("key id %q, JWT %d parts: want the verifying key and the compact JWS", info.KeyID, strings.Count(info.JWT, ".")+1)
	}
	if info.Claims.Subject == "" || info.Claims.Subject == uin {
		t.Errorf("sub %q: want the partner-specific token", info.Claims.Subject)
	}
}

func TestEncryptedUserInfoIsDecryptedAndVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *esignetsim.Config) { c.Clients[0].EncryptUserInfo = true })
	info, err := f.client.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: redirectURI})
	if err != nil {
		t.Fatal(err)
	}
	if info.Claims.GivenName != "Charles" || strings.Count(info.JWT, ".") != 2 {
		t.Fatalf("given name %q, JWT parts %d: want the verified inner JWS", info.Claims.GivenName, strings.Count(info.JWT, ".")+1)
	}
}

func TestUserInfoWithABadSignatureIsRefused(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"unknown-key", "tampered"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if err := f.sim.SetFaults(esignetsim.Faults{UserInfoSignature: fault}); err != nil {
				t.Fatal(err)
			}
			info, err := f.client.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: redirectURI})
			if info != nil {
				t.Fatalf("got user info %+v, want none", info.Claims.Form())
			}
			wantCode(t, err, bridge.EUpstream, "does not verify against any key")
		})
	}
}

func TestReplayedCodeIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	code := f.code(t)
	req := esignet.Request{Code: code, ClientID: clientID, RedirectURI: redirectURI}
	if _, err := f.client.UserInfo(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.UserInfo(t.Context(), req)
	wantCode(t, err, bridge.EInvalid, "invalid_grant")
	var e *bridge.Error
	if !errors.As(err, &e) || e.Field != "code" {
		t.Fatalf("error %v: want field code", err)
	}
}

func TestBadClientAssertionIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// The client signs with a key E-Signet does not know for it.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	userinfo, jwks := esignet.DerivedURLs(f.url + "/oauth/v2/token")
	c, err := esignet.New(esignet.Config{TokenURL: f.url + "/oauth/v2/token", UserInfoURL: userinfo, JWKSURL: jwks, ClientKey: &jose.JSONWebKey{Key: other}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: redirectURI})
	wantCode(t, err, bridge.EUpstream, "invalid_client")

	// And with the right key but an audience E-Signet does not take.
	c, err = esignet.New(esignet.Config{TokenURL: f.url + "/oauth/v2/token", UserInfoURL: userinfo, JWKSURL: jwks, ClientKey: f.key,
		Audience: "https://elsewhere.example/oauth/token"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: redirectURI})
	wantCode(t, err, bridge.EUpstream, "invalid_client")
}

func TestAssertionsAreUnique(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	// Two exchanges in a row: a repeated jti would be refused by E-Signet.
	for range 3 {
		if _, err := f.client.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: redirectURI}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := f.client.ClientAssertion(clientID)
	b, _ := f.client.ClientAssertion(clientID)
	if a == b {
		t.Fatal("two assertions are equal")
	}
}

func TestRedirectAndClientIDMustMatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, err := f.client.UserInfo(t.Context(), esignet.Request{Code: f.code(t), ClientID: clientID, RedirectURI: "http://opencrvs.local/other"})
	wantCode(t, err, bridge.EInvalid, "invalid_redirect_uri")
}

func TestUnreachableESignetIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	c, err := esignet.New(esignet.Config{TokenURL: url + "/oauth/token", UserInfoURL: url + "/oidc/userinfo", JWKSURL: url + "/jwks", ClientKey: &jose.JSONWebKey{Key: priv}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UserInfo(t.Context(), esignet.Request{Code: "c", ClientID: clientID, RedirectURI: redirectURI})
	wantCode(t, err, bridge.EUnavailable, "cannot be reached")
}

func TestUnsignedUserInfoIsRefused(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"at","token_type":"Bearer"}`))
	})
	mux.HandleFunc("GET /oidc/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sub":"x","given_name":"Eve"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	c, err := esignet.New(esignet.Config{TokenURL: srv.URL + "/oauth/token", UserInfoURL: srv.URL + "/oidc/userinfo", JWKSURL: srv.URL + "/jwks", ClientKey: &jose.JSONWebKey{Key: priv}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UserInfo(t.Context(), esignet.Request{Code: "c", ClientID: clientID, RedirectURI: redirectURI})
	wantCode(t, err, bridge.EUpstream, "unsigned user info")
}

func TestParseClientKey(t *testing.T) {
	t.Parallel()
	// The development key of OpenCRVS's integration: base64 of a JSON RSA JWK.
	key, err := esignet.LoadClientKey(filepath.Join("..", "..", "testdata", "keys", "esignet-jwk.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.Key.(*rsa.PrivateKey); !ok {
		t.Fatalf("key %T, want an RSA private key", key.Key)
	}
	raw, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"json":      string(raw),
		"base64url": base64.RawURLEncoding.EncodeToString(raw),
		"wrapped":   strings.Join(chunks(base64.StdEncoding.EncodeToString(raw), 64), "\n") + "\n",
	} {
		if _, err := esignet.ParseClientKey([]byte(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	pub, _ := json.Marshal(key.Public())
	for name, data := range map[string]string{"public": string(pub), "garbage": "%%%", "empty": ""} {
		if _, err := esignet.ParseClientKey([]byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	dir := t.TempDir()
	if _, err := esignet.LoadClientKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func chunks(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

func TestFormMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims esignet.Claims
		want   esignet.FormData
	}{
		{"full", esignet.Claims{GivenName: "Jenny", MiddleName: "Debra", FamilyName: "Doe", Gender: "Female", Birthdate: "2002/02/01"},
			esignet.FormData{Name: esignet.FormName{Firstname: "Jenny", Middlename: "Debra", Surname: "Doe"}, Gender: "female", BirthDate: "2002-02-01"}},
		{"iso date", esignet.Claims{GivenName: "A", Birthdate: "2002-02-01"},
			esignet.FormData{Name: esignet.FormName{Firstname: "A"}, BirthDate: "2002-02-01"}},
		{"impossible date", esignet.Claims{GivenName: "A", Birthdate: "2001/02/29"}, esignet.FormData{Name: esignet.FormName{Firstname: "A"}}},
		{"name only", esignet.Claims{Name: "Mary Ann Lee Smith"},
			esignet.FormData{Name: esignet.FormName{Firstname: "Mary", Middlename: "Ann Lee", Surname: "Smith"}}},
		{"one word", esignet.Claims{Name: "Mononym"}, esignet.FormData{Name: esignet.FormName{Firstname: "Mononym"}}},
	}
	for _, tt := range tests {
		tt.want.VerificationStatus = "authenticated"
		if diff := cmp.Diff(tt.want, tt.claims.Form()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// JSON: the keys mosip-api answers, dobUnknown only beside a birth date.
	b, _ := json.Marshal(esignet.Claims{GivenName: "A", Birthdate: "2002/02/01"}.Form())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"name", "gender", "birthDate", "verificationStatus", "dobUnknown", "idType", "nid", "userInfoToken"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s has no %s", b, k)
		}
	}
	b, _ = json.Marshal(esignet.Claims{GivenName: "A"}.Form())
	if strings.Contains(string(b), "dobUnknown") || strings.Contains(string(b), "birthDate") {
		t.Errorf("JSON without a birth date %s: want neither birthDate nor dobUnknown", b)
	}
}
