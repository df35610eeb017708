package opencrvs_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// simServer serves the OpenCRVS simulator, counting the token requests.
func simServer(t *testing.T, cfg opencrvssim.Config) (*opencrvssim.Sim, *httptest.Server, *atomic.Int64) {
	t.Helper()
	sim, err := opencrvssim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var tokens atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tokens.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return sim, srv, &tokens
}

// The system client's token is fetched once and shared, until shortly
// before it expires (its exp claim: the auth service says nothing else) or
// OpenCRVS refuses it.
func TestSystemClientCachesToken(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	_, srv, tokens := simServer(t, opencrvssim.Config{Now: clock.Now})
	c := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{
		TokenURL: srv.URL + "/token", ClientID: opencrvssim.DevSystemClient, ClientSecret: opencrvssim.DevSystemSecret, Now: clock.Now,
	})
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := tokens.Load(); n != 1 {
		t.Fatalf("%d token requests for 8 concurrent callers, want 1", n)
	}
	first, _ := c.Token(ctx)
	clock.add(opencrvssim.SystemTokenTTL - time.Minute) // 9 of its 10 minutes: still good
	if tok, _ := c.Token(ctx); tok != first || tokens.Load() != 1 {
		t.Errorf("token renewed too early (%d requests)", tokens.Load())
	}
	clock.add(45 * time.Second) // within the renewal margin
	second, err := c.Token(ctx)
	if err != nil || tokens.Load() != 2 {
		t.Fatalf("token not renewed before it expires: %v, %d requests", err, tokens.Load())
	}
	c.Invalidate(first) // stale: ignored
	if _, _ = c.Token(ctx); tokens.Load() != 2 {
		t.Errorf("invalidating an old token dropped the current one")
	}
	c.Invalidate(second)
	if _, _ = c.Token(ctx); tokens.Load() != 3 {
		t.Errorf("an invalidated token was not fetched again")
	}
}

// A refused client is not worth retrying; an auth service that does not
// answer is. Neither error quotes the secret.
func TestSystemClientErrors(t *testing.T) {
	t.Parallel()
	_, srv, _ := simServer(t, opencrvssim.Config{})
	const secret = "do-not-print-me"
	refused := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{TokenURL: srv.URL + "/token", ClientID: "stranger", ClientSecret: secret})
	_, err := refused.Token(t.Context())
	var te *opencrvs.TokenError
	if !errors.As(err, &te) || te.StatusCode != 401 || te.Code != "invalid_client" || opencrvs.IsTransient(err) {
		t.Errorf("refused client: %v (transient %v), want a permanent 401 invalid_client", err, opencrvs.IsTransient(err))
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	gone := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{TokenURL: down.URL + "/token", ClientID: "c", ClientSecret: secret})
	_, err2 := gone.Token(t.Context())
	if !opencrvs.IsTransient(err2) {
		t.Errorf("no answer: %v, want transient", err2)
	}
	for _, e := range []error{err, err2} {
		if e != nil && strings.Contains(e.Error(), secret) {
			t.Errorf("error quotes the secret: %v", e)
		}
	}
}

// UpsertRegistrationIdentifier adds the national ID to a historic record
// with the system token; OpenCRVS's refusal of the value is reported
// without the value.
func TestUpsertRegistrationIdentifier(t *testing.T) {
	t.Parallel()
	sim, srv, _ := simServer(t, opencrvssim.Config{})
	var buf bytes.Buffer
	if _, err := sim.WriteHistoric(t.Context(), &buf, opencrvssim.HistoricRequest{Count: 1}); err != nil {
		t.Fatal(err)
	}
	rec, err := fhir.Parse(bytes.TrimSpace(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sys := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{TokenURL: srv.URL + "/token", ClientID: opencrvssim.DevSystemClient, ClientSecret: opencrvssim.DevSystemSecret})
	token, err := sys.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gql := opencrvs.NewGraphQLClient(opencrvs.GraphQLConfig{URL: srv.URL + "/graphql"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := gql.UpsertRegistrationIdentifier(ctx, token, rec.RecordID, "NATIONAL_ID", "4738291056"); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.RecordIdentifiers(rec.RecordID); got.NationalID != "4738291056" || got.Upserts != 1 {
		t.Errorf("simulator has %+v", got)
	}
	err = gql.UpsertRegistrationIdentifier(ctx, token, rec.RecordID, "SHOE_SIZE", "4738291056")
	if err == nil || opencrvs.IsTransient(err) {
		t.Errorf("unknown identifier type: %v, want a permanent error", err)
	}
	err = gql.UpsertRegistrationIdentifier(ctx, token, "no-such-record", "NATIONAL_ID", "4738291056")
	if err == nil || strings.Contains(err.Error(), "4738291056") {
		t.Errorf("unknown record: %v, want an error without the value", err)
	}
	if err := gql.UpsertRegistrationIdentifier(ctx, token, rec.RecordID, "NATIONAL_ID", ""); err == nil {
		t.Error("an empty value was sent")
	}
}
