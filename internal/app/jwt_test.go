package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/sim/opencrvssim"
)

// Inbound tokens that OpenCRVS did not issue for this purpose are refused
// at POST /events/registration with a 401 or 403 problem answer, and the
// record is not stored (issue 9): no signature (alg none), HS256 keyed
// with the public key's PEM text (algorithm confusion), expired, another
// scope, another issuer, another audience. A token made the same way with
// the right claims is accepted, so each refusal is the token's doing.
func TestJWTInboundTokensRefused(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const issuer = opencrvssim.DefaultIssuer
	audience := opencrvssim.DefaultAudience()
	s := startSystem(t, systemOptions{
		opencrvs: func(c *opencrvssim.Config) { c.Key, c.Issuer, c.Audience = key, issuer, audience },
		config:   func(c *Config) { c.TokenIssuer, c.TokenAudience = issuer, audience },
	})
	publicPEM := s.opencrvs.PublicKeyPEM()
	if served := fetchWellKnown(t, s.opencrvsURL); served != string(publicPEM) {
		t.Fatalf("the simulator serves another key than PublicKeyPEM:\n%s", served)
	}
	body := mustRead(t, "../../testdata/opencrvs-1.8/incoming-birth-bundle.json")

	// claims are a record token's, as OpenCRVS's token exchange makes it.
	claims := func(edit func(map[string]any)) map[string]any {
		now := time.Now()
		c := map[string]any{
			"sub": "6666ac1ee0ecdcab37c7d0fb", "iss": issuer, "aud": audience,
			"scope":    []string{"record.confirm-registration", "record.reject-registration"},
			"recordId": sampleRecordID, "userType": "user",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	rs256 := func(edit func(map[string]any)) string { return signRS256(t, key, claims(edit)) }

	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"alg none", unsignedToken(t, "none", claims(nil)), http.StatusUnauthorized},
		{"alg None", unsignedToken(t, "None", claims(nil)), http.StatusUnauthorized},
		{"alg none with a signature", unsignedToken(t, "none", claims(nil)) + "c2lnbmF0dXJl", http.StatusUnauthorized},
		{"RS256 without a signature", unsignedToken(t, "RS256", claims(nil)), http.StatusUnauthorized},
		{"HS256 keyed with the public key PEM", hmacToken(t, publicPEM, claims(nil)), http.StatusUnauthorized},
		{"HS256 keyed with the PEM without its last newline", hmacToken(t, []byte(strings.TrimSpace(string(publicPEM))), claims(nil)), http.StatusUnauthorized},
		{"expired", rs256(func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}), http.StatusUnauthorized},
		{"no expiry", rs256(func(c map[string]any) { delete(c, "exp") }), http.StatusUnauthorized},
		{"another scope", rs256(func(c map[string]any) { c["scope"] = []string{"record.read", "record.registration-correct"} }), http.StatusForbidden},
		{"no scope", rs256(func(c map[string]any) { delete(c, "scope") }), http.StatusForbidden},
		{"another issuer", rs256(func(c map[string]any) { c["iss"] = "opencrvs:someone-else" }), http.StatusUnauthorized},
		{"no issuer", rs256(func(c map[string]any) { delete(c, "iss") }), http.StatusUnauthorized},
		{"another audience", rs256(func(c map[string]any) { c["aud"] = []string{"opencrvs:elsewhere-user"} }), http.StatusUnauthorized},
		{"no audience", rs256(func(c map[string]any) { delete(c, "aud") }), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ctype, p := postRegistration(t, s.mediatorURL, tt.token, body)
			if st != tt.status {
				t.Errorf("status %d (%s: %s), want %d", st, p.Title, p.Detail, tt.status)
			}
			if ctype != "application/problem+json" || p.Status != st || p.Title == "" {
				t.Errorf("answer %s %+v, want problem JSON with status %d", ctype, p, st)
			}
			trs, err := s.mediator.Store().TransactionsByRecord(t.Context(), sampleRecordID)
			if err != nil {
				t.Fatal(err)
			}
			if len(trs) != 0 {
				t.Fatalf("the record was stored (%d transactions) with a refused token", len(trs))
			}
		})
	}

	// The control: the right claims, signed the same way, are accepted.
	st, _, p := postRegistration(t, s.mediatorURL, rs256(nil), body)
	if st/100 != 2 {
		t.Fatalf("a valid token: status %d (%s: %s), want 2xx", st, p.Title, p.Detail)
	}
}

// postRegistration posts body with token and returns the status, the
// content type and the problem answer (if any).
func postRegistration(t *testing.T, mediatorURL, token string, body []byte) (int, string, problemAnswer) {
	t.Helper()
	req, err := http.NewRequest("POST", mediatorURL+"/events/registration", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var p problemAnswer
	_ = json.Unmarshal(data, &p) // a 2xx answer is not a problem
	ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return resp.StatusCode, ctype, p
}

// fetchWellKnown returns the public key the OpenCRVS simulator serves.
func fetchWellKnown(t *testing.T, opencrvsURL string) string {
	t.Helper()
	resp, err := http.Get(opencrvsURL + "/.well-known")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func signRS256(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedToken is header.payload. with the given alg: an "unsecured JWT"
// (RFC 7519 section 6) when alg is none.
func unsignedToken(t *testing.T, alg string, claims map[string]any) string {
	t.Helper()
	return jwtSigningInput(t, alg, claims) + "."
}

// hmacToken is an HS256 token keyed with secret, made by hand: go-jose
// refuses an RSA public key as an HMAC key, attackers' tools do not.
func hmacToken(t *testing.T, secret []byte, claims map[string]any) string {
	t.Helper()
	input := jwtSigningInput(t, "HS256", claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func jwtSigningInput(t *testing.T, alg string, claims map[string]any) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
}
