package app

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/sim/esignetsim"
)

const (
	esignetClientID = "opencrvs-esignet-client"
	esignetRedirect = "http://opencrvs.local/drafts/4f1c/mother"
	esignetOrigin   = "http://opencrvs.local"
)

// esignetSystem is the mediator with both simulators and an E-Signet
// simulator under /v1/esignet, the mediator being a registered client.
type esignetSystem struct {
	*system
	esignet    *esignetsim.Sim
	esignetURL string
	clientKey  *rsa.PrivateKey
}

func startESignetSystem(t *testing.T) *esignetSystem {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// The key file as mosip-api takes it: base64 of the JSON private JWK.
	jwk, err := json.Marshal(jose.JSONWebKey{Key: key, Algorithm: "RS256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "esignet-jwk.txt")
	if err := os.WriteFile(keyPath, []byte(base64.StdEncoding.EncodeToString(jwk)), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := esignetsim.New(esignetsim.Config{Clients: []esignetsim.Client{{
		ID: esignetClientID, PublicKey: &jose.JSONWebKey{Key: &key.PublicKey}, RedirectURIs: []string{esignetOrigin + "/*"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/esignet/", http.StripPrefix("/v1/esignet", sim))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/v1/esignet"

	// The configuration as an operator writes it: the token URL, the key
	// file, the origin of the OpenCRVS client; the rest is derived.
	env := map[string]string{
		"OPENCRVS_PUBLIC_KEY_URL": "http://x/", "OPENCRVS_GRAPHQL_GATEWAY_URL": "http://x/graphql", "MOSIP_AUTH_URL": "http://x/",
		"MOSIP_PACKET_AUTH_CLIENT_ID": "a", "MOSIP_PACKET_AUTH_CLIENT_SECRET": "a", "MOSIP_WEBSUB_AUTH_CLIENT_ID": "a",
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": "a", "MOSIP_CREATE_PACKET_URL": "http://x/", "MOSIP_PROCESS_PACKET_URL": "http://x/",
		"MOSIP_WEBSUB_HUB_URL": "http://x/", "MOSIP_WEBSUB_CALLBACK_URL": "http://x/", "MOSIP_WEBSUB_SECRET": "a",
		"DECRYPT_P12_FILE_PATH": "x", "DECRYPT_P12_FILE_PASSWORD": "x",
		"STORE_ENCRYPTION_KEY": requiredEnv()["STORE_ENCRYPTION_KEY"],
		"ESIGNET_TOKEN_URL":    base + "/oauth/v2/token", "OIDP_CLIENT_PRIVATE_KEY_PATH": keyPath, "CLIENT_APP_URL": esignetOrigin,
	}
	loaded, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	if loaded.ESignetUserInfoURL != base+"/oidc/userinfo" || loaded.ESignetJWKSURL != base+"/oauth/.well-known/jwks.json" {
		t.Fatalf("derived URLs %q %q", loaded.ESignetUserInfoURL, loaded.ESignetJWKSURL)
	}
	s := startSystem(t, systemOptions{config: func(c *Config) {
		c.ESignetTokenURL, c.ESignetUserInfoURL, c.ESignetJWKSURL = loaded.ESignetTokenURL, loaded.ESignetUserInfoURL, loaded.ESignetJWKSURL
		c.OIDPKeyPath, c.ClientAppOrigins = loaded.OIDPKeyPath, loaded.ClientAppOrigins
	}})
	return &esignetSystem{system: s, esignet: sim, esignetURL: base, clientKey: key}
}

// signIn is the person signing in to E-Signet: the code the form receives.
func (s *esignetSystem) signIn(t *testing.T, nid string) string {
	t.Helper()
	code, err := s.esignet.Authorize(esignetClientID, esignetRedirect, nid, "")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// userInfo is the form's call: the page address by now carries the code.
func (s *esignetSystem) userInfo(t *testing.T, code string, header http.Header, out any) int {
	t.Helper()
	q := url.Values{"code": {code}, "state": {"fetch-on-mount"}}
	if header == nil {
		header = bearer(s.token(t, "esignet-form", time.Hour))
	}
	return do(t, "POST", s.mediatorURL+"/esignet/get-oidp-user-info?"+q.Encode(), header,
		map[string]string{"clientId": esignetClientID, "redirectUri": esignetRedirect + "?" + q.Encode()}, out)
}

func TestESignetUserInfoEndToEnd(t *testing.T) {
	s := startESignetSystem(t)

	var got map[string]any
	if st := s.userInfo(t, s.signIn(t, "1234567891"), nil, &got); st != http.StatusOK {
		t.Fatalf("status %d: %v", st, got)
	}
	token, _ := got["userInfoToken"].(string)
	delete(got, "userInfoToken")
	want := map[string]any{
		"name":   map[string]any{"firstname": "Jenny", "middlename": "Debra", "surname": "Doe"},
		"gender": "female", "birthDate": "2002-02-01", "dobUnknown": nil,
		"verificationStatus": "authenticated", "idType": nil, "nid": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	// The token handed to the form is E-Signet's signed user info.
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("userInfoToken: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(s.esignet.PublicKey(), &claims); err != nil || claims["given_name"] != "Jenny" {
		t.Fatalf("userInfoToken does not verify with E-Signet's key: %v %v", err, claims["given_name"])
	}
}

func TestESignetRefusals(t *testing.T) {
	s := startESignetSystem(t)

	t.Run("replayed code", func(t *testing.T) {
		code := s.signIn(t, "1234567892")
		if st := s.userInfo(t, code, nil, nil); st != http.StatusOK {
			t.Fatalf("first use: %d", st)
		}
		var p problemAnswer
		if st := s.userInfo(t, code, nil, &p); st != http.StatusBadRequest || p.Field != "code" || !strings.Contains(p.Detail, "invalid_grant") {
			t.Fatalf("replayed code: %d %+v, want 400 naming E-Signet's invalid_grant", st, p)
		}
	})
	t.Run("bad user info signature", func(t *testing.T) {
		for _, fault := range []string{"unknown-key", "tampered"} {
			if err := s.esignet.SetFaults(esignetsim.Faults{UserInfoSignature: fault}); err != nil {
				t.Fatal(err)
			}
			var p problemAnswer
			st := s.userInfo(t, s.signIn(t, "1234567893"), nil, &p)
			if st != http.StatusBadGateway || p.Type != "urn:opencrvs-mosip:problem:upstream" || !strings.Contains(p.Detail, "signature") {
				t.Errorf("%s: %d %+v, want 502 upstream problem about the signature", fault, st, p)
			}
		}
		if err := s.esignet.SetFaults(esignetsim.Faults{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad client assertion", func(t *testing.T) {
		// E-Signet knows another key for the client than the mediator's.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.esignet.RegisterClient(esignetsim.Client{ID: esignetClientID, PublicKey: &jose.JSONWebKey{Key: &other.PublicKey}}); err != nil {
			t.Fatal(err)
		}
		defer s.esignet.RegisterClient(esignetsim.Client{ID: esignetClientID, PublicKey: &jose.JSONWebKey{Key: &s.clientKey.PublicKey}})
		var p problemAnswer
		st := s.userInfo(t, s.signIn(t, "1234567894"), nil, &p)
		if st != http.StatusBadGateway || !strings.Contains(p.Detail, "invalid_client") {
			t.Fatalf("%d %+v, want 502 naming invalid_client", st, p)
		}
	})
	t.Run("no OpenCRVS token", func(t *testing.T) {
		var p problemAnswer
		if st := s.userInfo(t, s.signIn(t, "1234567895"), http.Header{}, &p); st != http.StatusUnauthorized {
			t.Fatalf("%d %+v, want 401", st, p)
		}
	})
	t.Run("no code", func(t *testing.T) {
		var p problemAnswer
		st := do(t, "POST", s.mediatorURL+"/esignet/get-oidp-user-info", bearer(s.token(t, "esignet-form", time.Hour)),
			map[string]string{"clientId": esignetClientID, "redirectUri": esignetRedirect}, &p)
		if st != http.StatusBadRequest || p.Field != "code" {
			t.Fatalf("%d %+v, want 400 about code", st, p)
		}
	})
	t.Run("CORS", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", s.mediatorURL+"/esignet/get-oidp-user-info", nil)
		req.Header.Set("Origin", esignetOrigin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != esignetOrigin ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		req.Header.Set("Origin", "http://evil.example")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatal("another origin is allowed")
		}
	})
}

func TestESignetConfiguration(t *testing.T) {
	base := map[string]string{
		"OPENCRVS_PUBLIC_KEY_URL": "http://x/", "OPENCRVS_GRAPHQL_GATEWAY_URL": "http://x/graphql", "MOSIP_AUTH_URL": "http://x/",
		"MOSIP_PACKET_AUTH_CLIENT_ID": "a", "MOSIP_PACKET_AUTH_CLIENT_SECRET": "a", "MOSIP_WEBSUB_AUTH_CLIENT_ID": "a",
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": "a", "MOSIP_CREATE_PACKET_URL": "http://x/", "MOSIP_PROCESS_PACKET_URL": "http://x/",
		"MOSIP_WEBSUB_HUB_URL": "http://x/", "MOSIP_WEBSUB_CALLBACK_URL": "http://x/", "MOSIP_WEBSUB_SECRET": "a",
		"DECRYPT_P12_FILE_PATH": "x", "DECRYPT_P12_FILE_PASSWORD": "x",
		"STORE_ENCRYPTION_KEY": requiredEnv()["STORE_ENCRYPTION_KEY"],
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; "" for none
	}{
		{"off", nil, ""},
		{"no key", map[string]string{"ESIGNET_TOKEN_URL": "https://e/v1/esignet/oauth/token"}, "OIDP_CLIENT_PRIVATE_KEY_PATH: is required"},
		{"underivable", map[string]string{"ESIGNET_TOKEN_URL": "https://e/token", "OIDP_CLIENT_PRIVATE_KEY_PATH": "k"}, "ESIGNET_JWKS_URL: is required"},
		{"explicit", map[string]string{"ESIGNET_TOKEN_URL": "https://e/token", "OIDP_CLIENT_PRIVATE_KEY_PATH": "k",
			"ESIGNET_USERINFO_URL": "https://e/ui", "ESIGNET_JWKS_URL": "https://e/jwks"}, ""},
		{"half", map[string]string{"OIDP_CLIENT_PRIVATE_KEY_PATH": "k"}, "ESIGNET_TOKEN_URL: is required"},
	}
	for _, tt := range tests {
		_, err := LoadConfig(func(k string) string {
			if v, ok := tt.env[k]; ok {
				return v
			}
			return base[k]
		})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
