package mosipsim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
)

func form(mode, topic, callback, secret string) url.Values {
	v := url.Values{"hub.mode": {mode}, "hub.topic": {topic}, "hub.callback": {callback}}
	if secret != "" {
		v.Set("hub.secret", secret)
	}
	return v
}

func TestHubRequestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	good := form("subscribe", TopicCredentialIssued, "http://127.0.0.1:1/cb", "s")
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range good {
			f[key] = vals
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
		reason string
	}{
		{"no mode", token, with("hub.mode", ""), 400, "hub.mode"},
		{"publish", token, with("hub.mode", "publish"), 400, "not supported"},
		{"odd mode", token, with("hub.mode", "listen"), 400, "hub.mode"},
		{"no topic", token, with("hub.topic", ""), 400, "hub.topic"},
		{"no callback", token, with("hub.callback", ""), 400, "hub.callback"},
		{"callback not http", token, with("hub.callback", "ftp://x/cb"), 400, "scheme"},
		{"callback without host", token, with("hub.callback", "http:///cb"), 400, "host"},
		{"lease not a number", token, with("hub.lease_seconds", "soon"), 400, "lease_seconds"},
		{"negative lease", token, with("hub.lease_seconds", "-1"), 400, "lease_seconds"},
		{"secret too long", token, with("hub.secret", strings.Repeat("s", 201)), 400, "hub.secret"},
		{"JSON body", token, `{"hub.mode":"subscribe"}`, 400, "Content-Type"},
		{"no token", "", good, 500, "Authorization token cannot be found"},
		{"bad token", "garbage", good, 500, "Subscriber is not authorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(http.MethodPost, PathHub, tc.token, tc.body)
			got, err := url.ParseQuery(string(body))
			if resp.StatusCode != tc.status || err != nil || got.Get("hub.mode") != "denied" || !strings.Contains(got.Get("hub.reason"), tc.reason) {
				t.Errorf("HTTP %d %q; want %d hub.mode=denied with a reason about %q", resp.StatusCode, body, tc.status, tc.reason)
			}
		})
	}
	if subs := e.sim.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscriptions after refused requests: %v", subs)
	}
}

func TestHubIntentMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	sub.echoWith(func(challenge string) string { return "not-" + challenge })
	resp, body := e.do(http.MethodPost, PathHub, token, form("subscribe", TopicCredentialIssued, sub.callback(), "s"))
	if resp.StatusCode != http.StatusAccepted || string(body) != "hub.mode=accepted" {
		t.Fatalf("HTTP %d %q", resp.StatusCode, body)
	}
	eventually(t, "the failed verification", func() bool { return e.sim.Stats().Hub.IntentFailed == 1 })
	if subs := e.sim.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscribed although the challenge was not echoed: %v", subs)
	}
	if n := sub.intentCount(); n != 1 {
		t.Errorf("%d verification requests; a wrong echo is not retried", n)
	}
}

func TestHubIntentRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	sub.answerIntents(http.StatusServiceUnavailable, http.StatusInternalServerError)
	e.subscribe(token, sub, TopicCredentialIssued)
	if n := sub.intentCount(); n != 3 {
		t.Errorf("%d verification requests, want 2 failures and the success", n)
	}

	// A callback that never answers is given up after the first try and
	// 3 retries.
	e.do(http.MethodPost, PathHub, token, form("subscribe", "other-topic", "http://127.0.0.1:1/cb", "s"))
	eventually(t, "verification to give up", func() bool { return e.sim.Stats().Hub.IntentFailed == 1 })
	if subs := e.sim.Subscriptions(); len(subs) != 1 {
		t.Errorf("subscriptions = %v, want only the first", subs)
	}
}

func TestHubDuplicateSubscriptionDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "first-secret")
	e.subscribe(token, sub, TopicCredentialIssued)

	resp, _ := e.do(http.MethodPost, PathHub, token, form("subscribe", TopicCredentialIssued, sub.callback(), "second-secret"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("second subscribe: HTTP %d", resp.StatusCode)
	}
	eventually(t, "the denial", func() bool { return sub.intentCount() == 2 })
	sub.mu.Lock()
	denial := sub.intents[1]
	sub.mu.Unlock()
	want := url.Values{"hub.mode": {"denied"}, "hub.topic": {TopicCredentialIssued}, "hub.reason": {"Subscriber has already registered with the Hub"}}
	if diff := cmp.Diff(want, denial); diff != "" {
		t.Errorf("denial notification (-want +got):\n%s", diff)
	}
	// The first subscription stays, with its secret: deliveries still verify
	// under "first-secret".
	if subs := e.sim.Subscriptions(); len(subs) != 1 {
		t.Fatalf("subscriptions = %v", subs)
	}
	e.register(e.token(DevRegprocClient), "800010000000001", "CRVS_NEW", birthFields(infant("Denied Twice")))
	sub.next()
}

func TestHubUnsubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(token, sub, TopicCredentialIssued)
	resp, _ := e.do(http.MethodPost, PathHub, token, form("unsubscribe", TopicCredentialIssued, sub.callback(), ""))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("unsubscribe: HTTP %d", resp.StatusCode)
	}
	eventually(t, "the unsubscription", func() bool { return len(e.sim.Subscriptions()) == 0 })
	sub.mu.Lock()
	last := sub.intents[len(sub.intents)-1]
	sub.mu.Unlock()
	if last.Get("hub.mode") != "unsubscribe" || last.Get("hub.challenge") == "" {
		t.Errorf("unsubscribe verification = %v", last)
	}
	// Unsubscribing again is denied.
	e.do(http.MethodPost, PathHub, token, form("unsubscribe", TopicCredentialIssued, sub.callback(), ""))
	eventually(t, "the denial", func() bool { return e.sim.Stats().Hub.Denied == 1 })
}

func TestHubCallbackWithQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	cb := sub.callback() + "?tenant=farajaland"
	e.do(http.MethodPost, PathHub, token, form("subscribe", TopicCredentialIssued, cb, "s"))
	eventually(t, "subscription", func() bool { return len(e.sim.Subscriptions()) == 1 })
	sub.mu.Lock()
	q := sub.intents[0]
	sub.mu.Unlock()
	if q.Get("tenant") != "farajaland" || q.Get("hub.mode") != "subscribe" {
		t.Errorf("verification query = %v", q)
	}
}

func TestDeliveryRedeliveredAfterFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	sub := newSubscriber(t, e.keys.partner, "s")
	sub.answer(http.StatusInternalServerError, http.StatusServiceUnavailable)
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
	e.register(e.token(DevRegprocClient), "810010000000001", "CRVS_NEW", birthFields(infant("Retry Me")))
	got := sub.next()
	if got.event.Event.Data.RegistrationID != "810010000000001" {
		t.Errorf("delivered %q", got.event.Event.Data.RegistrationID)
	}
	if n := sub.posts.Load(); n != 3 {
		t.Errorf("%d delivery attempts, want 3", n)
	}
	eventually(t, "counters", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })
	st := e.sim.Stats().Deliveries
	if st.Sent != 1 || st.Failed != 2 || st.Undelivered != 0 {
		t.Errorf("delivery stats = %+v", st)
	}
}

func TestDeliveryGivenUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.DeliveryAttempts = 3 })
	sub := newSubscriber(t, e.keys.partner, "s")
	sub.answer(500, 500, 500, 500)
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
	e.register(e.token(DevRegprocClient), "820010000000001", "CRVS_NEW", birthFields(infant("Never Delivered")))
	eventually(t, "giving up", func() bool { return e.sim.Stats().Deliveries.Undelivered == 1 })
	if n := sub.posts.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if st := e.sim.Stats().Deliveries; st.Pending != 0 || st.Failed != 3 || st.Sent != 0 {
		t.Errorf("delivery stats = %+v", st)
	}
}

func TestDelivery410RemovesSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	sub := newSubscriber(t, e.keys.partner, "s")
	sub.answer(http.StatusGone)
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
	token := e.token(DevRegprocClient)
	e.register(token, "830010000000001", "CRVS_NEW", birthFields(infant("Gone Away")))
	eventually(t, "the subscription to go", func() bool { return len(e.sim.Subscriptions()) == 0 })
	if st := e.sim.Stats().Deliveries; st.Gone != 1 || st.Failed != 0 {
		t.Errorf("delivery stats = %+v", st)
	}
	// Later credentials wait in the backlog instead.
	e.register(token, "830010000000002", "CRVS_NEW", birthFields(infant("Next Child")))
	e.finished("830010000000002")
	if n := sub.posts.Load(); n != 1 {
		t.Errorf("%d posts after 410, want 1", n)
	}
}

func TestBacklogAndForget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Backlog = 2 })
	token := e.token(DevRegprocClient)
	for i, name := range []string{"Early One", "Early Two", "Early Three"} {
		rid := "84001000000000" + string(rune('1'+i))
		e.register(token, rid, "CRVS_NEW", birthFields(infant(name)))
		e.finished(rid)
	}
	st := e.sim.Stats().Deliveries
	// Two topics, the oldest event of each dropped at the limit of 2.
	if st.Backlog != 4 || st.BacklogDropped != 2 {
		t.Errorf("backlog = %d dropped %d, want 4 and 2", st.Backlog, st.BacklogDropped)
	}
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
	got := []string{sub.next().event.Event.Data.RegistrationID, sub.next().event.Event.Data.RegistrationID}
	slices.Sort(got) // deliveries run in parallel
	if diff := cmp.Diff([]string{"840010000000002", "840010000000003"}, got); diff != "" {
		t.Errorf("backlog delivered (-want +got):\n%s", diff)
	}

	resp, body := e.do(http.MethodPost, "/sim/hub/forget", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"forgotten":1`) {
		t.Errorf("forget: HTTP %d %s", resp.StatusCode, body)
	}
	if subs := e.sim.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscriptions after forget: %v", subs)
	}
	// After the "restart" the subscriber must subscribe again; the same
	// callback is not a duplicate any more.
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
}

func TestLeaseEnforced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.EnforceLease = true })
	hubToken := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	f := form("subscribe", TopicCredentialIssued, sub.callback(), "s")
	f.Set("hub.lease_seconds", "60")
	e.do(http.MethodPost, PathHub, hubToken, f)
	eventually(t, "subscription", func() bool { return len(e.sim.Subscriptions()) == 1 })
	first := e.sim.Subscriptions()[0]
	if first.LeaseSeconds != 60 || !first.LeaseEnds.Equal(first.VerifiedAt.Add(time.Minute)) {
		t.Errorf("subscription = %+v", first)
	}

	// Renewal: subscribing again extends the lease instead of being denied.
	e.clock.advance(30 * time.Second)
	e.do(http.MethodPost, PathHub, hubToken, f)
	eventually(t, "renewal", func() bool { return e.sim.Stats().Hub.IntentVerified == 2 })
	renewed := e.sim.Subscriptions()[0]
	if !renewed.LeaseEnds.After(first.LeaseEnds) {
		t.Errorf("lease not extended: %v then %v", first.LeaseEnds, renewed.LeaseEnds)
	}
	if e.sim.Stats().Hub.Denied != 0 {
		t.Errorf("renewal was denied")
	}

	e.clock.advance(2 * time.Minute)
	if subs := e.sim.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscription outlived its lease: %v", subs)
	}
	e.register(e.token(DevRegprocClient), "850010000000001", "CRVS_NEW", birthFields(infant("After Lease")))
	e.finished("850010000000001")
	if st := e.sim.Stats().Deliveries; st.Backlog != 2 || sub.posts.Load() != 0 {
		t.Errorf("after the lease: backlog %d, posts %d; want the events kept for the next subscriber", st.Backlog, sub.posts.Load())
	}
}

func TestLeaseNotEnforcedByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	sub := newSubscriber(t, e.keys.partner, "s")
	f := form("subscribe", TopicCredentialIssued, sub.callback(), "s")
	f.Set("hub.lease_seconds", "60")
	e.do(http.MethodPost, PathHub, e.token(DevWebsubClient), f)
	eventually(t, "subscription", func() bool { return len(e.sim.Subscriptions()) == 1 })
	e.clock.advance(time.Hour)
	if len(e.sim.Subscriptions()) != 1 {
		t.Errorf("MOSIP's hub does not expire subscriptions")
	}
	e.register(e.token(DevRegprocClient), "860010000000001", "CRVS_NEW", birthFields(infant("Still Here")))
	if got := sub.next(); got.event.Topic != TopicCredentialIssued {
		t.Errorf("topic %q", got.event.Topic)
	}
	if v := e.finished("860010000000001"); v.Status != mosip.StatusProcessed {
		t.Errorf("status %s", v.Status)
	}
}
