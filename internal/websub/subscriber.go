package websub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"opencrvs-mosip/internal/telemetry"
)

// Subscription timing.
const (
	// DefaultLeaseSeconds is MOSIP's DEFAULT_HUB_LEASE_SECONDS: the lease
	// assumed when neither we nor the hub name one.
	DefaultLeaseSeconds = 86400
	// unverifiedRetry is how long to wait for the hub's intent verification
	// after a request before asking again. MOSIP verifies within seconds of
	// its 202 and retries the GET for about 40 s.
	unverifiedRetry = 5 * time.Minute
	// failedRetry is how long to wait after a subscribe request that failed
	// (hub unreachable or refusing) before the next.
	failedRetry = time.Minute
	// maxRetryWait caps the retry waits, which double with each request
	// that brings no verification: a hub whose verification GETs never reach
	// us (or whose "already registered" notices are lost) is asked hourly,
	// not every few minutes for ever.
	maxRetryWait = time.Hour
	// suspectGap is the least time between two re-subscriptions caused by
	// Suspect.
	suspectGap = 5 * time.Minute
	// renewMargin is how long before the lease ends to renew at the latest.
	renewMargin = time.Hour
	// maxHubResponseBytes bounds the hub's answer; MOSIP's is a short form.
	maxHubResponseBytes = 64 << 10
	// maxReasonInError bounds how much of a non-form answer an error keeps.
	maxReasonInError   = 200
	defaultHTTPTimeout = 30 * time.Second
)

// authCookie is the cookie MOSIP's hub reads the auth manager token from.
const authCookie = "Authorization"

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// HubURL is MOSIP_WEBSUB_HUB_URL, e.g. http://websub.websub/hub.
	HubURL string
	// Topic is MOSIP_WEBSUB_TOPIC, e.g. opencrvs-partner/CREDENTIAL_ISSUED.
	Topic string
	// CallbackURL is MOSIP_WEBSUB_CALLBACK_URL: where the hub sends intent
	// verifications and deliveries.
	CallbackURL string
	// Secret is MOSIP_WEBSUB_SECRET, the HMAC key of X-Hub-Signature.
	Secret []byte
	// LeaseSeconds asks the hub for a lease; 0 lets the hub choose (MOSIP:
	// 86400).
	LeaseSeconds int
	// Token returns a MOSIP auth manager token for the WebSub client; nil
	// sends no credentials. It is sent as the cookie Authorization=<token>
	// (what the hub reads) and, like mosip-api, as Authorization: <token>.
	Token      func(ctx context.Context) (string, error)
	HTTPClient *http.Client     // nil: a client with a 30 s timeout
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
}

// SubscriptionStatus is what the Subscriber knows of its subscription.
// Zero times mean "never".
type SubscriptionStatus struct {
	// Requested is when the hub last accepted a subscribe request.
	Requested time.Time
	// Verified is when the hub last verified our intent (or told us the
	// subscription already exists).
	Verified time.Time
	// LeaseEnds is Verified plus the lease.
	LeaseEnds time.Time
	// LastDenial is the reason of the last denial since the last
	// verification, "" if none.
	LastDenial string
}

// Subscriber keeps the mediator subscribed to one topic of MOSIP's WebSub
// hub: it sends subscribe and unsubscribe requests, answers the hub's
// intent verification for its own topic, and says when to renew. It holds
// its state in memory and is safe for concurrent use. Each replica has its
// own; the hub answers a duplicate subscription with a denial "already
// registered", which counts as verified.
type Subscriber struct {
	hubURL, topic, callback string
	secret                  []byte
	leaseSeconds            int
	token                   func(ctx context.Context) (string, error)
	http                    *http.Client
	log                     *slog.Logger
	now                     func() time.Time

	mu     sync.Mutex
	status SubscriptionStatus
	// unsubscribing is set by Unsubscribe and cleared by Subscribe: it
	// decides which intents we confirm.
	unsubscribing bool
	// lastAttempt is when Subscribe last sent a request, attemptFailed
	// whether that request failed, and attempts how many requests were sent
	// since the last verification; they keep RenewAt from asking again at
	// once.
	lastAttempt   time.Time
	attemptFailed bool
	attempts      int
	// created and suspected are when the subscription was last known to be
	// missing without anyone's fault yet: at start, and when Suspect dropped
	// it (see Readiness).
	created, suspected time.Time
}

// NewSubscriber returns a Subscriber. Configuration is checked by
// Subscribe and Unsubscribe, which say what is missing.
func NewSubscriber(cfg SubscriberConfig) *Subscriber {
	s := &Subscriber{
		hubURL:       cfg.HubURL,
		topic:        cfg.Topic,
		callback:     cfg.CallbackURL,
		secret:       append([]byte(nil), cfg.Secret...),
		leaseSeconds: cfg.LeaseSeconds,
		token:        cfg.Token,
		http:         cfg.HTTPClient,
		log:          cfg.Logger,
		now:          cfg.Now,
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.created = s.now()
	return s
}

// HubError is the hub refusing a subscribe or unsubscribe request: a
// non-2xx answer, or a 2xx answer whose form body says hub.mode=denied.
type HubError struct {
	Op    string // ModeSubscribe or ModeUnsubscribe
	Topic string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Reason is hub.reason of the answer, or the start of a body that is
	// not a hub form; "" if the body was empty.
	Reason string
}

func (e *HubError) Error() string {
	msg := fmt.Sprintf("websub: %s %s: hub answered HTTP %d", e.Op, e.Topic, e.StatusCode)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Subscribe asks the hub to subscribe the callback to the topic
// (hub.mode=subscribe with topic, callback, secret and, if configured,
// lease). The hub answers 202 "hub.mode=accepted" and verifies the intent
// later with a GET on the callback (HandleIntent). Errors: a *HubError when
// the hub refuses, or the transport's or Token's error, wrapped.
func (s *Subscriber) Subscribe(ctx context.Context) error {
	if err := s.checkConfig(true); err != nil {
		return err
	}
	form := url.Values{
		"hub.mode":     {ModeSubscribe},
		"hub.topic":    {s.topic},
		"hub.callback": {s.callback},
		"hub.secret":   {string(s.secret)},
	}
	if s.leaseSeconds > 0 {
		form.Set("hub.lease_seconds", strconv.Itoa(s.leaseSeconds))
	}
	s.mu.Lock()
	s.unsubscribing = false
	s.lastAttempt = s.now()
	s.attempts++
	s.mu.Unlock()
	err := s.post(ctx, ModeSubscribe, form)
	s.mu.Lock()
	s.attemptFailed = err != nil
	if err == nil {
		s.status.Requested = s.now()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "websub subscription requested", "topic", s.topic, "callback", s.callback, "lease_seconds", s.leaseSeconds)
	return nil
}

// Unsubscribe asks the hub to drop the subscription. From then on the
// Subscriber confirms unsubscribe intents and refuses subscribe intents
// until Subscribe is called again, and RenewAt is zero.
func (s *Subscriber) Unsubscribe(ctx context.Context) error {
	if err := s.checkConfig(false); err != nil {
		return err
	}
	s.mu.Lock()
	s.unsubscribing = true
	s.mu.Unlock()
	form := url.Values{
		"hub.mode":     {ModeUnsubscribe},
		"hub.topic":    {s.topic},
		"hub.callback": {s.callback},
	}
	if err := s.post(ctx, ModeUnsubscribe, form); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "websub unsubscription requested", "topic", s.topic, "callback", s.callback)
	return nil
}

func (s *Subscriber) checkConfig(needSecret bool) error {
	var missing []string
	if s.hubURL == "" {
		missing = append(missing, "hub URL")
	}
	if s.topic == "" {
		missing = append(missing, "topic")
	}
	if s.callback == "" {
		missing = append(missing, "callback URL")
	}
	if needSecret && len(s.secret) == 0 {
		// Without a secret deliveries are unsigned and anyone could post
		// credentials to the callback.
		missing = append(missing, "secret")
	}
	if len(missing) > 0 {
		return fmt.Errorf("websub: subscriber configuration is missing: %s", strings.Join(missing, ", "))
	}
	return nil
}

// post sends one form request to the hub and checks its answer.
func (s *Subscriber) post(ctx context.Context, op string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.hubURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("websub: %s %s: %w", op, s.topic, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.token != nil {
		token, err := s.token(ctx)
		if err != nil {
			return fmt.Errorf("websub: %s %s: get auth token: %w", op, s.topic, err)
		}
		req.AddCookie(&http.Cookie{Name: authCookie, Value: token})
		req.Header.Set("Authorization", token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("websub: %s %s: %w", op, s.topic, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHubResponseBytes))
	if err != nil {
		return fmt.Errorf("websub: %s %s: read answer: %w", op, s.topic, err)
	}
	answer, formErr := url.ParseQuery(strings.TrimSpace(string(body)))
	denied := formErr == nil && strings.EqualFold(answer.Get("hub.mode"), ModeDenied)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 && !denied {
		return nil
	}
	herr := &HubError{Op: op, Topic: s.topic, StatusCode: resp.StatusCode}
	switch {
	case formErr == nil && answer.Has("hub.reason"):
		herr.Reason = telemetry.Printable(answer.Get("hub.reason"), maxReasonLen)
	case denied:
		herr.Reason = "denied without a reason"
	default:
		herr.Reason = telemetry.Printable(string(body), maxReasonInError)
	}
	return herr
}

// HandleIntent answers the hub's GET on the callback. It returns the
// challenge to echo (as text/plain, with status 200) and ok=true only for a
// subscribe intent of our topic, unless Unsubscribe was called last, or an
// unsubscribe intent of our topic after Unsubscribe: confirming intents we
// did not ask for would let anyone who can reach the hub drop or redirect
// our subscription. A verified subscribe records the lease (the hub's
// hub.lease_seconds, else ours, else DefaultLeaseSeconds).
//
// A denial notice returns ok=false. It is logged: at info level when the
// reason says the subscription is already registered (MOSIP's answer to a
// renewal; counted as verified, since the hub holds the subscription), as a
// warning otherwise.
func (s *Subscriber) HandleIntent(in Intent) (challenge string, ok bool) {
	log := s.log.With("topic", telemetry.Printable(in.Topic, 200), "mode", in.Mode)
	if in.Topic != s.topic {
		log.Warn("websub intent for a topic we do not subscribe to; refused", "our_topic", s.topic)
		return "", false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch in.Mode {
	case ModeSubscribe:
		if in.Challenge == "" {
			log.Warn("websub subscribe intent without a challenge; refused")
			return "", false
		}
		if s.unsubscribing {
			log.Warn("websub subscribe intent after we unsubscribed; refused")
			return "", false
		}
		lease := s.leaseFor(in.LeaseSeconds)
		s.status.Verified = now
		s.status.LeaseEnds = now.Add(lease)
		s.status.LastDenial = ""
		s.attempts = 0
		log.Info("websub subscription verified", "lease_seconds", int(lease/time.Second), "lease_ends", s.status.LeaseEnds)
		return in.Challenge, true
	case ModeUnsubscribe:
		if in.Challenge == "" {
			log.Warn("websub unsubscribe intent without a challenge; refused")
			return "", false
		}
		if !s.unsubscribing {
			log.Warn("websub unsubscribe intent we did not ask for; refused")
			return "", false
		}
		s.status.Verified, s.status.LeaseEnds = time.Time{}, time.Time{}
		log.Info("websub unsubscription verified")
		return in.Challenge, true
	case ModeDenied:
		s.status.LastDenial = in.Reason
		if isAlreadyRegistered(in.Reason) {
			if !s.unsubscribing {
				s.status.Verified = now
				s.status.LeaseEnds = now.Add(s.leaseFor(0))
				s.attempts = 0
			}
			log.Info("websub subscription already registered at the hub", "reason", in.Reason)
		} else {
			log.Warn("websub subscription denied by the hub", "reason", in.Reason)
		}
		return "", false
	default:
		log.Warn("websub intent with an unknown mode; refused")
		return "", false
	}
}

// isAlreadyRegistered recognises MOSIP's "Subscriber has already
// registered with the Hub".
func isAlreadyRegistered(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "already registered")
}

// leaseFor picks the lease: the hub's, else ours, else MOSIP's default.
// s.mu is held.
func (s *Subscriber) leaseFor(hubSeconds int) time.Duration {
	switch {
	case hubSeconds > 0:
		return time.Duration(hubSeconds) * time.Second
	case s.leaseSeconds > 0:
		return time.Duration(s.leaseSeconds) * time.Second
	default:
		return DefaultLeaseSeconds * time.Second
	}
}

// Suspect says the hub may have forgotten the subscription: MOSIP finished
// registrations whose credentials never arrived (a hub restarted without
// its subscriptions does that silently). The subscription is then made
// again at the next RenewAt, unless a request was sent in the last few
// minutes. Re-subscribing a subscription the hub still has is harmless:
// it answers "already registered".
func (s *Subscriber) Suspect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsubscribing || s.status.Verified.IsZero() || s.now().Sub(s.lastAttempt) < suspectGap {
		return
	}
	s.status.Verified, s.status.LeaseEnds = time.Time{}, time.Time{}
	s.attempts = 0
	s.suspected = s.now()
	s.log.Warn("websub: credentials are not arriving; the subscription will be made again", "topic", s.topic)
}

// Status returns a copy of the subscription's state.
func (s *Subscriber) Status() SubscriptionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// RenewAt says when to send the next subscribe request:
//   - never verified: now, or after a request, unverifiedRetry after it
//     (time for the hub's verification GET) or failedRetry after it if it
//     failed, doubled for each earlier request since the last
//     verification, at most maxRetryWait;
//   - verified: at 80% of the lease or an hour before it ends, whichever is
//     earlier, but not before half the lease (short leases); a request sent
//     since and not yet verified pushes this as above, so that a failing
//     renewal is retried with a pause, not in a loop.
//
// After Unsubscribe it returns the zero time: do not renew.
func (s *Subscriber) RenewAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsubscribing {
		return time.Time{}
	}
	st := s.status
	var at time.Time // zero: as soon as possible
	if !st.Verified.IsZero() {
		lease := st.LeaseEnds.Sub(st.Verified)
		at = st.Verified.Add(lease * 8 / 10)
		if late := st.LeaseEnds.Add(-renewMargin); late.Before(at) {
			at = late
		}
		if early := st.Verified.Add(lease / 2); at.Before(early) {
			at = early
		}
	}
	if s.lastAttempt.After(st.Verified) {
		wait := unverifiedRetry
		if s.attemptFailed {
			wait = failedRetry
		}
		for i := 1; i < s.attempts && wait < maxRetryWait; i++ {
			wait *= 2
		}
		wait = min(wait, maxRetryWait)
		if retry := s.lastAttempt.Add(wait); at.Before(retry) {
			at = retry
		}
	}
	if at.IsZero() {
		return s.now()
	}
	return at
}
