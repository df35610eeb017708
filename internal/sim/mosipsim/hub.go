package mosipsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The WebSub hub, after MOSIP's Ballerina hub: a subscription is answered
// at once (202 accepted), then validated and its intent verified
// asynchronously.

const (
	defaultLeaseSeconds = 86400
	maxLeaseSeconds     = 10 * 365 * 86400
	maxSecretBytes      = 200
	maxTopicBytes       = 255
	maxCallbackBytes    = 2048
	intentAttempts      = 4 // the first try and MOSIP's 3 retries

	reasonAlreadyRegistered = "Subscriber has already registered with the Hub"
	reasonNotRegistered     = "Subscriber has not registered with the Hub"
	reasonNoToken           = "Authorization token cannot be found"
	reasonNotAuthorized     = "Subscriber is not authorized"
)

type subscription struct {
	topic, callback string
	secret          []byte
	leaseSeconds    int64
	client          string
	hubURL          string
	verifiedAt      time.Time
	leaseEnds       time.Time
}

// hubRequest is a validated subscribe or unsubscribe request.
type hubRequest struct {
	mode         string
	topic        string
	callback     string
	secret       []byte
	leaseSeconds int64
	client       string
	hubURL       string
}

// parseHubForm validates a hub request body; a non-empty reason is the
// hub's answer to a bad request.
func parseHubForm(body []byte) (hubRequest, string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return hubRequest{}, "The request body is not a valid form: " + err.Error()
	}
	req := hubRequest{
		mode:     form.Get("hub.mode"),
		topic:    form.Get("hub.topic"),
		callback: form.Get("hub.callback"),
		secret:   []byte(form.Get("hub.secret")),
	}
	switch req.mode {
	case "subscribe", "unsubscribe":
	case "":
		return req, "Empty value found for parameter 'hub.mode'"
	case "publish":
		return req, "Publishing with a form body is not supported: publish to " + TopicCredentialStatusUpdate +
			" with hub.mode=publish and hub.topic in the query and the event as JSON"
	default:
		return req, "Unsupported value for parameter 'hub.mode': " + truncate(req.mode, 32)
	}
	switch {
	case req.topic == "":
		return req, "Empty value found for parameter 'hub.topic'"
	case len(req.topic) > maxTopicBytes || strings.IndexFunc(req.topic, isControl) >= 0:
		return req, fmt.Sprintf("Invalid value for parameter 'hub.topic': at most %d printable characters", maxTopicBytes)
	case req.callback == "":
		return req, "Empty value found for parameter 'hub.callback'"
	}
	if msg := checkCallback(req.callback); msg != "" {
		return req, "Invalid value for parameter 'hub.callback': " + msg
	}
	if len(req.secret) > maxSecretBytes {
		return req, fmt.Sprintf("Invalid value for parameter 'hub.secret': at most %d bytes", maxSecretBytes)
	}
	req.leaseSeconds = defaultLeaseSeconds
	if v := form.Get("hub.lease_seconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxLeaseSeconds {
			return req, fmt.Sprintf("Invalid value for parameter 'hub.lease_seconds': a whole number of seconds up to %d", maxLeaseSeconds)
		}
		if n > 0 {
			req.leaseSeconds = n
		}
	}
	return req, ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func checkCallback(raw string) string {
	if len(raw) > maxCallbackBytes {
		return fmt.Sprintf("at most %d bytes", maxCallbackBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "the scheme must be http or https"
	case u.Host == "":
		return "the URL has no host"
	case u.Fragment != "":
		return "the URL must not have a fragment"
	}
	return ""
}

// hubAnswer writes the hub's form-encoded answer.
func hubAnswer(w http.ResponseWriter, status int, mode, reason string) {
	body := "hub.mode=" + mode
	if reason != "" {
		body += "&hub.reason=" + url.QueryEscape(reason)
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (s *Sim) handleHub(w http.ResponseWriter, r *http.Request) {
	// A publisher names the mode and topic in the query and sends the
	// event as the body (credstatus.go).
	if r.URL.Query().Get("hub.mode") == "publish" {
		s.handlePublish(w, r)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		hubAnswer(w, http.StatusBadRequest, "denied", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		hubAnswer(w, http.StatusBadRequest, "denied", err.Error())
		return
	}
	req, reason := parseHubForm(body)
	if reason != "" {
		s.log.Info("mosipsim: hub request refused", "reason", reason)
		hubAnswer(w, http.StatusBadRequest, "denied", reason)
		return
	}
	// Like MOSIP's hub, authorisation happens in onSubscription, after the
	// request has been parsed, and fails with 500.
	client, err := s.tokenClient(r)
	if err != nil {
		reason := reasonNotAuthorized
		if errors.Is(err, errNoToken) {
			reason = reasonNoToken
		}
		s.log.Info("mosipsim: hub request not authorised", "reason", err.Error())
		hubAnswer(w, http.StatusInternalServerError, "denied", reason)
		return
	}
	req.client = client
	req.hubURL = s.baseURL(r) + r.URL.Path
	s.log.Info("mosipsim: hub request accepted", "mode", req.mode, "topic", req.topic, "callback", req.callback)
	hubAnswer(w, http.StatusAccepted, "accepted", "")
	s.hub.after(0, func(ctx context.Context) { s.verifyIntent(ctx, req, 1) })
}

// activeLocked returns the live subscription of (topic, callback), dropping
// it if its lease ended and leases are enforced. Called with s.hubMu held.
func (s *Sim) activeLocked(topic, callback string, now time.Time) *subscription {
	sub := s.subs[topic][callback]
	if sub != nil && s.cfg.EnforceLease && !now.Before(sub.leaseEnds) {
		s.removeLocked(sub)
		s.log.Info("mosipsim: subscription lease ended", "topic", topic, "callback", callback)
		return nil
	}
	return sub
}

func (s *Sim) removeLocked(sub *subscription) {
	if byCallback := s.subs[sub.topic]; byCallback[sub.callback] == sub {
		delete(byCallback, sub.callback)
		if len(byCallback) == 0 {
			delete(s.subs, sub.topic)
		}
	}
}

// verifyIntent validates a subscription request and verifies the
// subscriber's intent, retrying a callback that fails.
func (s *Sim) verifyIntent(ctx context.Context, req hubRequest, attempt int) {
	s.hubMu.Lock()
	existing := s.activeLocked(req.topic, req.callback, s.now())
	s.hubMu.Unlock()
	switch {
	case req.mode == "subscribe" && existing != nil && !s.cfg.EnforceLease:
		s.deny(ctx, req, reasonAlreadyRegistered)
		return
	case req.mode == "unsubscribe" && existing == nil:
		s.deny(ctx, req, reasonNotRegistered)
		return
	}

	challenge := newUUID()
	query := "hub.mode=" + req.mode + "&hub.topic=" + url.QueryEscape(req.topic) + "&hub.challenge=" + challenge
	if req.mode == "subscribe" {
		query += "&hub.lease_seconds=" + strconv.FormatInt(req.leaseSeconds, 10)
	}
	status, body, err := s.callbackGet(ctx, withQuery(req.callback, query))
	if err != nil || status/100 != 2 {
		if ctx.Err() != nil {
			return
		}
		why := fmt.Sprintf("HTTP %d", status)
		if err != nil {
			why = err.Error()
		}
		if attempt < intentAttempts {
			s.log.Info("mosipsim: intent verification failed; retrying", "topic", req.topic, "callback", req.callback,
				"attempt", attempt, "reason", why)
			s.hub.after(s.backoff(attempt, false), func(ctx context.Context) { s.verifyIntent(ctx, req, attempt+1) })
			return
		}
		s.stats.intentFailed.Add(1)
		s.log.Warn("mosipsim: intent verification failed; not subscribed", "topic", req.topic, "callback", req.callback,
			"attempt", attempt, "reason", why)
		return
	}
	if body != challenge {
		s.stats.intentFailed.Add(1)
		s.log.Warn("mosipsim: intent verification failed: the callback did not echo hub.challenge; nothing changed",
			"topic", req.topic, "callback", req.callback, "mode", req.mode)
		return
	}

	now := s.now()
	s.hubMu.Lock()
	existing = s.activeLocked(req.topic, req.callback, now)
	if req.mode == "unsubscribe" {
		if existing != nil {
			s.removeLocked(existing)
		}
		s.hubMu.Unlock()
		s.stats.intentVerified.Add(1)
		s.log.Info("mosipsim: unsubscribed", "topic", req.topic, "callback", req.callback)
		return
	}
	if existing != nil && !s.cfg.EnforceLease {
		s.hubMu.Unlock()
		s.deny(ctx, req, reasonAlreadyRegistered)
		return
	}
	sub := &subscription{
		topic: req.topic, callback: req.callback, secret: req.secret, leaseSeconds: req.leaseSeconds,
		client: req.client, hubURL: req.hubURL, verifiedAt: now,
		leaseEnds: now.Add(time.Duration(req.leaseSeconds) * time.Second),
	}
	if s.subs[req.topic] == nil {
		s.subs[req.topic] = make(map[string]*subscription)
	}
	s.subs[req.topic][req.callback] = sub
	backlog := s.backlog[req.topic]
	delete(s.backlog, req.topic)
	for _, body := range backlog {
		s.enqueueDelivery(&delivery{topic: req.topic, callback: req.callback, body: body}, 0)
	}
	s.hubMu.Unlock()
	s.stats.intentVerified.Add(1)
	s.log.Info("mosipsim: subscribed", "topic", req.topic, "callback", req.callback,
		"lease_seconds", req.leaseSeconds, "renewed", existing != nil, "backlog_delivered", len(backlog))
}

// deny sends the hub's denial notification (once, as MOSIP's hub does).
func (s *Sim) deny(ctx context.Context, req hubRequest, reason string) {
	s.stats.denials.Add(1)
	s.log.Info("mosipsim: hub request denied", "topic", req.topic, "callback", req.callback, "reason", reason)
	query := "hub.mode=denied&hub.topic=" + url.QueryEscape(req.topic) + "&hub.reason=" + url.QueryEscape(reason)
	if _, _, err := s.callbackGet(ctx, withQuery(req.callback, query)); err != nil && ctx.Err() == nil {
		s.log.Info("mosipsim: denial notification failed", "callback", req.callback, "err", err)
	}
}

func withQuery(callback, query string) string {
	if strings.Contains(callback, "?") {
		return callback + "&" + query
	}
	return callback + "?" + query
}

// callbackGet makes a GET to a subscriber and returns the status and up to
// 1 KiB of the body.
func (s *Sim) callbackGet(ctx context.Context, rawURL string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, string(body), nil
}

// backoff is the wait before retry number attempt (1-based): base doubling
// per attempt, capped; with jitter, a random point in its upper half.
func (s *Sim) backoff(attempt int, jitter bool) time.Duration {
	d := s.cfg.DeliveryRetryBase
	for i := 1; i < attempt && d < s.cfg.DeliveryRetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.DeliveryRetryMax)
	if !jitter || d < 2 {
		return d
	}
	s.rngMu.Lock()
	j := time.Duration(s.rng.Int64N(int64(d/2) + 1))
	s.rngMu.Unlock()
	return d - d/2 + j
}

// SubscriptionView is a subscription as /sim/subscriptions shows it. The
// secret is not shown.
type SubscriptionView struct {
	Topic        string    `json:"topic"`
	Callback     string    `json:"callback"`
	LeaseSeconds int64     `json:"leaseSeconds"`
	SecretSet    bool      `json:"secretSet"`
	Client       string    `json:"client"`
	VerifiedAt   time.Time `json:"verifiedAt"`
	LeaseEnds    time.Time `json:"leaseEnds"`
}

// Subscriptions lists the active subscriptions by topic and callback.
func (s *Sim) Subscriptions() []SubscriptionView {
	now := s.now()
	s.hubMu.Lock()
	var out []SubscriptionView
	for topic, byCallback := range s.subs {
		for callback := range byCallback {
			sub := s.activeLocked(topic, callback, now)
			if sub == nil {
				continue
			}
			out = append(out, SubscriptionView{
				Topic: sub.topic, Callback: sub.callback, LeaseSeconds: sub.leaseSeconds, SecretSet: len(sub.secret) > 0,
				Client: sub.client, VerifiedAt: sub.verifiedAt, LeaseEnds: sub.leaseEnds,
			})
		}
	}
	s.hubMu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Callback < out[j].Callback
	})
	if out == nil {
		out = []SubscriptionView{}
	}
	return out
}

// ForgetSubscriptions drops every subscription, as a hub restarted without
// its state would. Pending deliveries to them are given up; events
// published afterwards wait in the backlog for a new subscriber.
func (s *Sim) ForgetSubscriptions() int {
	s.hubMu.Lock()
	n := 0
	for _, byCallback := range s.subs {
		n += len(byCallback)
	}
	clear(s.subs)
	s.hubMu.Unlock()
	s.log.Info("mosipsim: hub forgot its subscriptions", "count", n)
	return n
}
