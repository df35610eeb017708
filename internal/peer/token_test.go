package peer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

type simEnv struct {
	sim *mosipsim.Sim
	srv *httptest.Server
	now *clock
}

// startSim runs the MOSIP simulator on 127.0.0.1: the regproc client has
// the mediator's role, the websub client another.
func startSim(t *testing.T) *simEnv {
	t.Helper()
	ocrvs, _, _ := mustParties(t)
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	vcKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := mosipsim.New(mosipsim.Config{
		PartnerCert:   ocrvs.cert,
		CredentialKey: vcKey,
		Now:           c.now,
		TokenTTL:      10 * time.Minute,
		ClientRoles: map[string][]string{
			mosipsim.DevRegprocClient: {"OFFLINE_ACCESS", mosipsim.RoleOpenCRVSMediator},
			mosipsim.DevWebsubClient:  {"PARTNER_ADMIN"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	return &simEnv{sim: sim, srv: srv, now: c}
}

func (e *simEnv) token(t *testing.T, client string) string {
	t.Helper()
	a := mosip.NewAuthClient(mosip.AuthConfig{
		URL: e.srv.URL + mosipsim.PathAuth, ClientID: client, SecretKey: mosipsim.DevSecret, AppID: "regproc",
		HTTPClient: e.srv.Client(), Now: e.now.now,
	})
	tok, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *simEnv) validator(cache time.Duration) *TokenValidator {
	return &TokenValidator{
		URL:        e.srv.URL + mosipsim.PathValidateToken,
		Roles:      []string{mosipsim.RoleOpenCRVSMediator, "OPENCRVS_ADMIN"},
		HTTPClient: e.srv.Client(),
		Cache:      cache,
		Now:        e.now.now,
	}
}

func (e *simEnv) outage(t *testing.T, on bool) {
	t.Helper()
	f := mosipsim.Faults{}
	if on {
		f = mosipsim.Faults{Outage: true, Endpoints: []string{mosipsim.EndpointAuth}}
	}
	if err := e.sim.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

func TestTokenValidator(t *testing.T) {
	e := startSim(t)
	good, other := e.token(t, mosipsim.DevRegprocClient), e.token(t, mosipsim.DevWebsubClient)
	v := e.validator(0)
	ctx := context.Background()

	c, err := v.Validate(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != mosipsim.DevRegprocClient || !slices.Equal(c.Roles, []string{"OFFLINE_ACCESS", mosipsim.RoleOpenCRVSMediator}) {
		t.Errorf("caller = %+v", c)
	}

	_, err = v.Validate(ctx, other)
	if bridge.ErrorCodeOf(err) != bridge.EForbidden || !strings.Contains(err.Error(), "OPENCRVS_MEDIATOR or OPENCRVS_ADMIN") {
		t.Errorf("token without the role: %v, want EForbidden naming the roles", err)
	}

	for name, tok := range map[string]string{
		"empty":     "",
		"not a JWT": "abc",
		"tampered":  good[:len(good)-6] + "AAAAAA",
		"spaces":    "a b",
	} {
		if _, err := v.Validate(ctx, tok); bridge.ErrorCodeOf(err) != bridge.EUnauthorized {
			t.Errorf("%s token: %v, want EUnauthorized", name, err)
		} else if tok != "" && strings.Contains(err.Error(), tok) {
			t.Errorf("%s token: the error %q repeats the token", name, err)
		}
	}

	e.outage(t, true)
	if _, err := v.Validate(ctx, good); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Errorf("auth manager down: %v, want EUnavailable", err)
	}
	e.outage(t, false)

	e.now.advance(11 * time.Minute) // past TokenTTL
	if _, err := v.Validate(ctx, good); bridge.ErrorCodeOf(err) != bridge.EUnauthorized {
		t.Errorf("expired token: %v, want EUnauthorized", err)
	}

	e.srv.Close()
	if _, err := v.Validate(ctx, good); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Errorf("auth manager unreachable: %v, want EUnavailable", err)
	}
	if _, err := (&TokenValidator{URL: e.srv.URL}).Validate(ctx, good); bridge.ErrorCodeOf(err) != bridge.EInternal {
		t.Errorf("no Roles configured: %v, want an internal error", err)
	}
}

// Good answers are reused for Cache, never past the token's expiry;
// refusals are not cached.
func TestTokenValidatorCache(t *testing.T) {
	e := startSim(t)
	good, other := e.token(t, mosipsim.DevRegprocClient), e.token(t, mosipsim.DevWebsubClient)
	v := e.validator(time.Hour) // longer than the 10-minute tokens
	ctx := context.Background()
	if _, err := v.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, other); bridge.ErrorCodeOf(err) != bridge.EForbidden {
		t.Fatalf("token without the role: %v", err)
	}

	e.outage(t, true)
	if c, err := v.Validate(ctx, good); err != nil || c.UserID != mosipsim.DevRegprocClient {
		t.Errorf("cached token while the auth manager is down: %+v, %v", c, err)
	}
	if _, err := v.Validate(ctx, other); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Errorf("refused token while the auth manager is down: %v, want EUnavailable (refusals are not cached)", err)
	}
	e.now.advance(10*time.Minute + time.Second) // the token's exp, before Cache ends
	if _, err := v.Validate(ctx, good); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Errorf("expired cached token: %v, want the auth manager asked again", err)
	}
}

func TestTokenValidatorCacheBounded(t *testing.T) {
	c := newClock()
	v := &TokenValidator{Cache: time.Hour, Now: c.now}
	for i := range maxCachedTokens + 10 {
		v.remember([32]byte{byte(i), byte(i >> 8)}, Caller{UserID: "u"}, "opaque", c.now())
	}
	if n := len(v.cache); n > maxCachedTokens {
		t.Errorf("cache holds %d entries, over %d", n, maxCachedTokens)
	}
}

func TestTokenFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name, cookie, header, want string
	}{
		{"cookie", "Authorization=tok1", "", "tok1"},
		{"bearer", "", "Bearer tok2", "tok2"},
		{"bearer lower case", "", "bearer tok3", "tok3"},
		{"cookie first", "Authorization=tok1", "Bearer tok2", "tok1"},
		{"basic", "", "Basic dXNlcg==", ""},
		{"none", "other=x", "", ""},
	} {
		r := httptest.NewRequest(http.MethodPost, "/birth", nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := TokenFromRequest(r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
