package websub

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// Readiness through a subscription's life: missing at start (within the
// grace, then not), requested (awaiting verification), active, a failed
// renewal, a lapsed lease, a denial (ignored), a suspicion (grace again).
func TestReadiness(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const grace = 2 * time.Minute
		hub := newAcceptingHub()
		cfg := testConfig("http://hub.test/hub")
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{hub}}
		s := NewSubscriber(cfg)
		check := func(step string, wantReady bool) {
			t.Helper()
			detail, err := s.Readiness(grace)
			if (err == nil) != wantReady {
				t.Errorf("%s: Readiness = %q, %v; want ready %v", step, detail, err, wantReady)
			}
		}

		check("at start", true)
		time.Sleep(grace)
		check("grace over, never asked", false)

		hub.setAnswer(http.StatusServiceUnavailable, "")
		if err := s.Subscribe(context.Background()); err == nil {
			t.Fatal("Subscribe succeeded against a 503")
		}
		check("the request failed", false)

		hub.setAnswer(http.StatusAccepted, "hub.mode=accepted")
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("requested, awaiting verification", true)
		time.Sleep(unverifiedRetry)
		check("no verification came", false)

		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 3600})
		check("verified", true)

		// Anyone can send a denial: it does not make the mediator unready.
		s.HandleIntent(context.Background(), Intent{Mode: ModeDenied, Topic: testTopic, Reason: "nope"})
		check("after a denial notice", true)

		time.Sleep(50 * time.Minute)
		hub.setAnswer(http.StatusServiceUnavailable, "")
		if err := s.Subscribe(context.Background()); err == nil {
			t.Fatal("renewal succeeded against a 503")
		}
		check("renewal failed, lease still runs", true)
		time.Sleep(10 * time.Minute)
		check("lease ended", false)

		hub.setAnswer(http.StatusAccepted, "hub.mode=accepted")
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.HandleIntent(context.Background(), Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "c", LeaseSeconds: 86400})
		check("renewed", true)

		time.Sleep(suspectGap)
		s.Suspect(context.Background())
		check("suspected: within the grace", true)
		time.Sleep(grace)
		check("suspected, not remade within the grace", false)

		if err := s.Unsubscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("unsubscribed", false)
	})
}
