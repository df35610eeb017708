package websub

import (
	"context"
	"encoding/json"
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
	// stateTimeout bounds a read or change of the shared state.
	stateTimeout = 10 * time.Second
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
	// State keeps the subscription's state where every mediator sharing
	// the database sees it (store.Store); nil: in this process's memory
	// only.
	State StateStore
}

// StateStore keeps values by key for every mediator sharing a database
// (store.Store implements it): UpdateShared changes one with the others
// kept out until it is done.
type StateStore interface {
	LoadShared(ctx context.Context, key string) ([]byte, error)
	UpdateShared(ctx context.Context, key string, update func(old []byte) ([]byte, error)) error
}

// SubscriptionStatus is what the Subscriber knows of its subscription.
// Zero times mean "never".
type SubscriptionStatus struct {
	// Requested is when the hub last accepted a subscribe request.
	Requested time.Time `json:"requested"`
	// Verified is when the hub last verified our intent (or told us the
	// subscription already exists).
	Verified time.Time `json:"verified"`
	// LeaseEnds is Verified plus the lease.
	LeaseEnds time.Time `json:"leaseEnds"`
	// LastDenial is the reason of the last denial since the last
	// verification, "" if none.
	LastDenial string `json:"lastDenial,omitempty"`
}

// state is what is known of the subscription: kept in the StateStore, when
// there is one, so that whichever mediator sent a request, received the
// hub's verification or runs the subscription job, every one knows it.
type state struct {
	Status SubscriptionStatus `json:"status"`
	// Unsubscribing is set by Unsubscribe and cleared by Subscribe: it
	// decides which intents are confirmed.
	Unsubscribing bool `json:"unsubscribing,omitempty"`
	// LastAttempt is when a subscribe request was last sent,
	// AttemptFailed whether it failed, and Attempts how many were sent
	// since the last verification; they keep RenewAt from asking again at
	// once.
	LastAttempt   time.Time `json:"lastAttempt"`
	AttemptFailed bool      `json:"attemptFailed,omitempty"`
	Attempts      int       `json:"attempts,omitempty"`
	// Suspected is when Suspect last dropped the subscription (see
	// Readiness).
	Suspected time.Time `json:"suspected"`
}

// Subscriber keeps the mediator subscribed to one topic of MOSIP's WebSub
// hub: it sends subscribe and unsubscribe requests, answers the hub's
// intent verification for its own topic, and says when to renew. It is
// safe for concurrent use.
//
// With a StateStore, mediators sharing a database share the subscription:
// the hub's verification GET may reach any of them (behind a load
// balancer), whichever sent the request, and each one's answer is recorded
// for all; the one that next runs the subscription job sees it (after
// Refresh) and does not subscribe again. Each keeps a copy of the state for
// Status, RenewAt and Readiness, brought up to date by Refresh and by its
// own changes. The hub answers a duplicate subscription with a denial
// "already registered", which counts as verified.
type Subscriber struct {
	hubURL, topic, callback string
	secret                  []byte
	leaseSeconds            int
	token                   func(ctx context.Context) (string, error)
	http                    *http.Client
	log                     *slog.Logger
	now                     func() time.Time
	shared                  StateStore
	key                     string // of the state in shared

	mu sync.Mutex
	st state // this process's copy
	// created is when this process started: the subscription may be
	// missing for a while without anyone's fault (see Readiness).
	created time.Time
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
		shared:       cfg.State,
		key:          "websub " + cfg.Topic + " " + cfg.CallbackURL,
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
	s.change(ctx, func(st *state) {
		st.Unsubscribing = false
		st.LastAttempt = s.now()
		st.Attempts++
	})
	err := s.post(ctx, ModeSubscribe, form)
	s.change(ctx, func(st *state) {
		st.AttemptFailed = err != nil
		if err == nil {
			st.Status.Requested = s.now()
		}
	})
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
	s.change(ctx, func(st *state) { st.Unsubscribing = true })
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
// subscribe intent of our topic, unless Unsubscribe was called last (by any
// mediator sharing the state), or an unsubscribe intent of our topic after
// Unsubscribe: confirming intents we did not ask for would let anyone who
// can reach the hub drop or redirect our subscription. Which mediator sent
// the request does not matter: the topic, the callback (the hub called
// ours) and the shared state decide. A verified subscribe records the lease
// (the hub's hub.lease_seconds, else ours, else DefaultLeaseSeconds).
//
// A denial notice returns ok=false. It is logged: at info level when the
// reason says the subscription is already registered (MOSIP's answer to a
// renewal; counted as verified, since the hub holds the subscription), as a
// warning otherwise.
func (s *Subscriber) HandleIntent(ctx context.Context, in Intent) (challenge string, ok bool) {
	log := s.log.With("topic", telemetry.Printable(in.Topic, 200), "mode", in.Mode)
	if in.Topic != s.topic {
		log.Warn("websub intent for a topic we do not subscribe to; refused", "our_topic", s.topic)
		return "", false
	}
	switch in.Mode {
	case ModeSubscribe, ModeUnsubscribe:
		if in.Challenge == "" {
			log.Warn("websub " + in.Mode + " intent without a challenge; refused")
			return "", false
		}
	case ModeDenied:
	default:
		log.Warn("websub intent with an unknown mode; refused")
		return "", false
	}
	now := s.now()
	var unsubscribing bool
	var leaseEnds time.Time
	s.change(ctx, func(st *state) {
		unsubscribing, ok = st.Unsubscribing, false
		switch in.Mode {
		case ModeSubscribe:
			if st.Unsubscribing {
				return
			}
			st.Status.Verified = now
			st.Status.LeaseEnds = now.Add(s.leaseFor(in.LeaseSeconds))
			st.Status.LastDenial = ""
			st.Attempts = 0
			leaseEnds, ok = st.Status.LeaseEnds, true
		case ModeUnsubscribe:
			if !st.Unsubscribing {
				return
			}
			st.Status.Verified, st.Status.LeaseEnds = time.Time{}, time.Time{}
			ok = true
		case ModeDenied:
			st.Status.LastDenial = in.Reason
			if isAlreadyRegistered(in.Reason) && !st.Unsubscribing {
				st.Status.Verified = now
				st.Status.LeaseEnds = now.Add(s.leaseFor(0))
				st.Attempts = 0
			}
		}
	})
	switch {
	case in.Mode == ModeSubscribe && !ok:
		log.Warn("websub subscribe intent after we unsubscribed; refused")
	case in.Mode == ModeSubscribe:
		log.Info("websub subscription verified", "lease_seconds", int(leaseEnds.Sub(now)/time.Second), "lease_ends", leaseEnds)
		return in.Challenge, true
	case in.Mode == ModeUnsubscribe && !ok:
		log.Warn("websub unsubscribe intent we did not ask for; refused")
	case in.Mode == ModeUnsubscribe:
		log.Info("websub unsubscription verified")
		return in.Challenge, true
	case isAlreadyRegistered(in.Reason):
		log.Info("websub subscription already registered at the hub", "reason", in.Reason, "unsubscribing", unsubscribing)
	default:
		log.Warn("websub subscription denied by the hub", "reason", in.Reason)
	}
	return "", false
}

// isAlreadyRegistered recognises MOSIP's "Subscriber has already
// registered with the Hub".
func isAlreadyRegistered(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "already registered")
}

// leaseFor picks the lease: the hub's, else ours, else MOSIP's default.
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
// registrations whose credentials never came (a hub restarted without
// its subscriptions does that silently). The subscription is then made
// again at the next RenewAt, unless a request was sent in the last few
// minutes. Re-subscribing a subscription the hub still has is harmless:
// it answers "already registered".
func (s *Subscriber) Suspect(ctx context.Context) {
	suspected := false
	s.change(ctx, func(st *state) {
		now := s.now()
		suspected = false
		if st.Unsubscribing || st.Status.Verified.IsZero() || now.Sub(st.LastAttempt) < suspectGap {
			return
		}
		st.Status.Verified, st.Status.LeaseEnds = time.Time{}, time.Time{}
		st.Attempts = 0
		st.Suspected = now
		suspected = true
	})
	if suspected {
		s.log.Warn("websub: credentials are not arriving; the subscription will be made again", "topic", s.topic)
	}
}

// Forget drops what is known of the subscription, for every mediator
// sharing the state: the next RenewAt is now. For a hub that is known to
// have started empty (dev's simulator), which nothing else would reveal
// before Suspect.
func (s *Subscriber) Forget(ctx context.Context) {
	s.change(ctx, func(st *state) { *st = state{} })
}

// Refresh brings this process's copy of the state up to date with the
// shared one (nothing to do without a StateStore). Call it before Status,
// RenewAt or Readiness when another mediator may have changed it.
func (s *Subscriber) Refresh(ctx context.Context) error {
	if s.shared == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	raw, err := s.shared.LoadShared(ctx, s.key)
	if err != nil {
		return fmt.Errorf("websub: read the subscription's state: %w", err)
	}
	var st state
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("websub: the subscription's state is not readable: %w", err)
		}
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// change applies fn to the state and keeps the result: with a StateStore,
// to the shared state as the last change left it, with the other mediators
// kept out meanwhile. If the shared state cannot be changed, fn applies to
// this process's copy (a warning is logged): the next change or Refresh
// that reaches the database brings the copy back in line.
func (s *Subscriber) change(ctx context.Context, fn func(st *state)) {
	if s.shared == nil {
		s.mu.Lock()
		fn(&s.st)
		s.mu.Unlock()
		return
	}
	// A request whose context ended (the hub hung up, a call timed out)
	// still records what happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	var next state
	err := s.shared.UpdateShared(ctx, s.key, func(old []byte) ([]byte, error) {
		next = state{}
		if old != nil {
			if err := json.Unmarshal(old, &next); err != nil {
				// Unreadable (written by another version?): start afresh,
				// which at worst subscribes once more.
				next = state{}
			}
		}
		fn(&next)
		return json.Marshal(next)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		fn(&s.st)
		s.log.Warn("websub: the subscription's shared state could not be changed; only this mediator knows the change", "topic", s.topic, "err", err)
		return
	}
	s.st = next
}

// LastAttemptFailed reports whether the last subscribe request failed (the
// hub could not be reached or refused it).
func (s *Subscriber) LastAttemptFailed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.AttemptFailed
}

// Status returns a copy of the subscription's state.
func (s *Subscriber) Status() SubscriptionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Status
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
	if s.st.Unsubscribing {
		return time.Time{}
	}
	st := s.st.Status
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
	if s.st.LastAttempt.After(st.Verified) {
		wait := unverifiedRetry
		if s.st.AttemptFailed {
			wait = failedRetry
		}
		for i := 1; i < s.st.Attempts && wait < maxRetryWait; i++ {
			wait *= 2
		}
		wait = min(wait, maxRetryWait)
		if retry := s.st.LastAttempt.Add(wait); at.Before(retry) {
			at = retry
		}
	}
	if at.IsZero() {
		return s.now()
	}
	return at
}
