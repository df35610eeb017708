package websub_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/store/pgtest"
	"opencrvs-mosip/internal/websub"
)

// Three mediators ("replicas") share one database and one callback URL
// behind a load balancer. Replica A subscribes at MOSIP's hub (the
// simulator); the hub's intent verification reaches replica B, which
// confirms it although it sent nothing, and records it for all: A and C
// then know the subscription verified, with its lease, and would not
// subscribe again. An unsubscription by A is likewise honoured by B.
func TestSubscribersShareState(t *testing.T) {
	for _, db := range []struct {
		name string
		cfg  func(t *testing.T) store.Config
	}{
		{"sqlite", func(t *testing.T) store.Config {
			return store.Config{Path: filepath.Join(t.TempDir(), "shared.db")}
		}},
		{"postgres", func(t *testing.T) store.Config { return store.Config{DatabaseURL: pgtest.URL(t)} }},
	} {
		t.Run(db.name, func(t *testing.T) { testSubscribersShareState(t, db.cfg(t)) })
	}
}

func testSubscribersShareState(t *testing.T, cfg store.Config) {
	ctx := t.Context()
	cfg.Synchronous = "NORMAL"
	var stores []*store.Store
	for i := range 3 {
		st, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		stores = append(stores, st)
	}

	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: partnerCert(t), DeliveryRetryBase: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	hubSrv := httptest.NewServer(sim)
	t.Cleanup(hubSrv.Close)

	// The load balancer sends every verification to replica B.
	var b *websub.Subscriber
	var intents atomic.Int64
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		intents.Add(1)
		in, err := websub.ParseIntentQuery(r.URL.RawQuery)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		challenge, ok := b.HandleIntent(r.Context(), in)
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, challenge)
	}))
	t.Cleanup(callback.Close)

	auth := mosip.NewAuthClient(mosip.AuthConfig{URL: hubSrv.URL + mosipsim.PathAuth,
		ClientID: mosipsim.DevWebsubClient, SecretKey: mosipsim.DevSecret, AppID: "regproc"})
	subscriber := func(st *store.Store) *websub.Subscriber {
		return websub.NewSubscriber(websub.SubscriberConfig{
			HubURL: hubSrv.URL + mosipsim.PathHub, Topic: "CREDENTIAL_ISSUED", CallbackURL: callback.URL + "/websub/callback",
			Secret: []byte("shared-secret"), LeaseSeconds: 3600, Token: auth.Token, State: st,
		})
	}
	a, c := subscriber(stores[0]), subscriber(stores[2])
	b = subscriber(stores[1])

	if err := a.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(sim.Subscriptions()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the hub holds no subscription 30s after A's request (%d intents reached B)", intents.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if intents.Load() == 0 {
		t.Fatal("the hub verified without calling the callback")
	}

	for name, s := range map[string]*websub.Subscriber{"A": a, "B": b, "C": c} {
		if err := s.Refresh(ctx); err != nil {
			t.Fatalf("%s: Refresh: %v", name, err)
		}
		st := s.Status()
		if st.Requested.IsZero() || st.Verified.IsZero() {
			t.Errorf("%s: Status = %+v, want requested (by A) and verified (by B)", name, st)
		}
		if got, want := st.LeaseEnds.Sub(st.Verified), time.Hour; got != want {
			t.Errorf("%s: lease %v, want %v", name, got, want)
		}
		// Half the lease (an hour before it ends is earlier, but too early).
		if renew, want := s.RenewAt(), st.Verified.Add(30*time.Minute); !renew.Equal(want) {
			t.Errorf("%s: RenewAt = %v, want %v (half the lease): it would subscribe again", name, renew, want)
		}
		if detail, err := s.Readiness(time.Minute); err != nil {
			t.Errorf("%s: Readiness = %s, %v; want active", name, detail, err)
		}
	}

	// A unsubscribes; B, reached by the hub, confirms the unsubscription
	// and refuses a subscribe intent (someone else's request).
	if err := a.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.HandleIntent(ctx, websub.Intent{Mode: websub.ModeSubscribe, Topic: "CREDENTIAL_ISSUED", Challenge: "x"}); ok {
		t.Error("B confirmed a subscribe intent after A unsubscribed")
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(sim.Subscriptions()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hub still holds the subscription 30s after A unsubscribed: B refused the unsubscribe intent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.RenewAt().IsZero() {
		t.Errorf("C: RenewAt = %v after A unsubscribed, want zero (do not renew)", c.RenewAt())
	}
}

func partnerCert(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
