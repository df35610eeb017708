package opencrvs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/telemetry"
)

// Operations named in a WebhookError.
const (
	OpSubscribeWebhook = "subscribe webhook"
	OpListWebhooks     = "list webhooks"
	OpDeleteWebhook    = "delete webhook"
)

// maxWebhookAnswerBytes bounds what is read of the webhooks service's
// answers: a list of a client's subscriptions, or a denial.
const maxWebhookAnswerBytes = 1 << 20

// WebhookError is a failed call to OpenCRVS's webhooks service. It never
// holds the token or the secret.
type WebhookError struct {
	Op    string // OpSubscribeWebhook, OpListWebhooks or OpDeleteWebhook
	Topic string // subscribe: the topic
	ID    string // delete: the subscription id
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Denied is set when OpenCRVS refused a subscription with
	// {"hub":{"mode":"denied","reason":...}}: an unknown topic, a secret
	// that is not the system client's SHA secret, an inactive client.
	Denied bool
	// Reason is the denial's reason, or the start of another answer
	// (printable, bounded), e.g. "Subscription callback check failed".
	Reason string
	// Err is what went wrong besides the answer: ErrNoResponse (wrapping
	// the transport error), a *TokenError, or nil.
	Err error
}

func (e *WebhookError) Error() string {
	var b strings.Builder
	b.WriteString("opencrvs: ")
	b.WriteString(e.Op)
	if e.Topic != "" {
		b.WriteString(" " + e.Topic)
	}
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Denied {
		b.WriteString(" denied")
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %q", e.Reason)
	}
	if e.Denied || e.Reason == callbackCheckFailed {
		b.WriteString(" (" + e.hint() + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// callbackCheckFailed is OpenCRVS's answer when the callback did not echo
// the challenge.
const callbackCheckFailed = "Subscription callback check failed"

func (e *WebhookError) hint() string {
	switch {
	case e.Reason == callbackCheckFailed:
		return "OpenCRVS GETs the callback with ?mode=subscribe&challenge=..&topic=.. and needs JSON {\"challenge\": <the same value>} back: is the callback reachable from OpenCRVS and answering it?"
	case strings.Contains(e.Reason, "secret"):
		return "the secret must be the SHA secret OpenCRVS issued with the system client"
	case strings.Contains(e.Reason, "topic"):
		return "topics: BIRTH_REGISTERED, DEATH_REGISTERED"
	default:
		return "check the system client in OpenCRVS"
	}
}

func (e *WebhookError) Unwrap() error { return e.Err }

// transient: no answer, the auth service or the webhooks service failing
// (408, 429, 5xx). A denial, a failed callback check and 401/403 need an
// operator or a fresh token (the token is dropped from the cache on 401).
func (e *WebhookError) transient() bool {
	var tke *TokenError
	switch s := e.StatusCode; {
	case errors.As(e.Err, &tke):
		return tke.transient()
	case errors.Is(e.Err, ErrNoResponse):
		return true
	default:
		return s == 408 || s == 429 || (s >= 500 && s <= 599)
	}
}

// WebhookSubscription is one of the system client's subscriptions, as GET
// /webhooks lists them.
type WebhookSubscription struct {
	ID        string `json:"id"`
	Callback  string `json:"callback"`
	Topic     string `json:"topic"`
	CreatedAt string `json:"createdAt"`
	CreatedBy struct {
		ClientID string `json:"client_id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Username string `json:"username"`
	} `json:"createdBy"`
}

// subscribeBody is POST /webhooks's body.
type subscribeBody struct {
	Hub struct {
		Callback string `json:"callback"`
		Mode     string `json:"mode"`
		Secret   string `json:"secret"`
		Topic    string `json:"topic"`
	} `json:"hub"`
}

// SubscribeWebhook subscribes callback to topic at OpenCRVS's webhooks
// service: POST webhooksURL (e.g. https://webhooks.<domain>/webhooks)
// {"hub":{"callback","mode":"subscribe","secret","topic"}} with the system
// client's token. secret is the SHA secret OpenCRVS issued with the system
// client (OpenCRVS refuses any other); it keys the signatures of the
// deliveries. Before it answers, OpenCRVS checks the callback
// (AnswerIntent), so the callback must already be served. Success is 202.
// OpenCRVS does not deduplicate: subscribing twice makes every record
// arrive twice, so look first (ListWebhooks).
//
// Errors: a *bridge.Error with code EInvalid for an unusable argument, else
// a *WebhookError: Denied with the Reason for OpenCRVS's refusal, Reason
// "Subscription callback check failed" when the callback did not answer
// the check, StatusCode for other answers; IsTransient says whether to
// retry.
func (c *SystemClient) SubscribeWebhook(ctx context.Context, webhooksURL, callback, topic, secret string) error {
	fail := func(msg string) error {
		return fmt.Errorf("opencrvs: %s %s: %w", OpSubscribeWebhook, topic, bridge.Errorf(bridge.EInvalid, "%s", msg))
	}
	if err := checkAbsoluteURL(webhooksURL); err != nil {
		return fail("the webhooks URL " + err.Error())
	}
	if err := checkAbsoluteURL(callback); err != nil {
		return fail("the callback URL " + err.Error())
	}
	switch {
	case strings.TrimSpace(topic) == "":
		return fail("the topic is empty")
	case secret == "":
		return fail("the secret is empty: give the SHA secret OpenCRVS issued with the system client")
	}
	var body subscribeBody
	body.Hub.Callback, body.Hub.Mode, body.Hub.Secret, body.Hub.Topic = callback, "subscribe", secret, topic
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("opencrvs: %s %s: encode request: %w", OpSubscribeWebhook, topic, err)
	}
	status, answer, err := c.webhookCall(ctx, http.MethodPost, webhooksURL, raw)
	if err != nil {
		return &WebhookError{Op: OpSubscribeWebhook, Topic: topic, StatusCode: status, Err: err}
	}
	if status == http.StatusAccepted {
		c.log.InfoContext(ctx, "opencrvs webhook subscribed", "topic", topic)
		return nil
	}
	e := &WebhookError{Op: OpSubscribeWebhook, Topic: topic, StatusCode: status}
	var denial struct {
		Hub struct {
			Mode   string `json:"mode"`
			Reason string `json:"reason"`
		} `json:"hub"`
	}
	if json.Unmarshal(answer, &denial) == nil && denial.Hub.Mode == "denied" {
		e.Denied, e.Reason = true, answerText([]byte(denial.Hub.Reason), secret)
	} else {
		e.Reason = answerText(answer, secret)
	}
	return e
}

// ListWebhooks returns the system client's subscriptions: GET webhooksURL
// with its token, answered 200 {"entries":[...]}. Errors as for
// SubscribeWebhook.
func (c *SystemClient) ListWebhooks(ctx context.Context, webhooksURL string) ([]WebhookSubscription, error) {
	if err := checkAbsoluteURL(webhooksURL); err != nil {
		return nil, fmt.Errorf("opencrvs: %s: %w", OpListWebhooks, bridge.Errorf(bridge.EInvalid, "the webhooks URL %s", err))
	}
	status, answer, err := c.webhookCall(ctx, http.MethodGet, webhooksURL, nil)
	if err != nil {
		return nil, &WebhookError{Op: OpListWebhooks, StatusCode: status, Err: err}
	}
	if status != http.StatusOK {
		return nil, &WebhookError{Op: OpListWebhooks, StatusCode: status, Reason: answerText(answer, "")}
	}
	var list struct {
		Entries []WebhookSubscription `json:"entries"`
	}
	if err := json.Unmarshal(answer, &list); err != nil {
		return nil, &WebhookError{Op: OpListWebhooks, StatusCode: status, Reason: "the answer is not a JSON list of subscriptions ({\"entries\":[...]})"}
	}
	return list.Entries, nil
}

// DeleteWebhook ends subscription id: DELETE webhooksURL/{id} with the
// system client's token, answered 204. OpenCRVS answers 204 for an
// unknown id too. Errors as for SubscribeWebhook.
func (c *SystemClient) DeleteWebhook(ctx context.Context, webhooksURL, id string) error {
	if err := checkAbsoluteURL(webhooksURL); err != nil {
		return fmt.Errorf("opencrvs: %s %s: %w", OpDeleteWebhook, id, bridge.Errorf(bridge.EInvalid, "the webhooks URL %s", err))
	}
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("opencrvs: %s: %w", OpDeleteWebhook, bridge.Errorf(bridge.EInvalid, "the subscription id is empty"))
	}
	target := strings.TrimRight(webhooksURL, "/") + "/" + url.PathEscape(id)
	status, answer, err := c.webhookCall(ctx, http.MethodDelete, target, nil)
	if err != nil {
		return &WebhookError{Op: OpDeleteWebhook, ID: id, StatusCode: status, Err: err}
	}
	if status != http.StatusNoContent && status != http.StatusOK && status != http.StatusAccepted {
		return &WebhookError{Op: OpDeleteWebhook, ID: id, StatusCode: status, Reason: answerText(answer, "")}
	}
	return nil
}

// webhookCall sends one request with the system token and reads the
// answer. err is a *TokenError, or ErrNoResponse wrapping the transport
// error; status is set when an answer came. A 401 drops the token from
// the cache, so that the next call fetches a new one.
func (c *SystemClient) webhookCall(ctx context.Context, method, target string, body []byte) (status int, answer []byte, err error) {
	token, err := c.Token(ctx)
	if err != nil {
		return 0, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", bearer(token))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, err)
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxWebhookAnswerBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%w: read body: %w", ErrNoResponse, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.Invalidate(token)
	}
	return resp.StatusCode, answer, nil
}

// answerText is the start of an answer fit for an error message, with
// secret blanked out.
func answerText(answer []byte, secret string) string {
	s := strings.TrimSpace(string(answer))
	if secret != "" {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	// hapi answers a plain string as JSON text: "Subscription callback check failed".
	var text string
	if json.Unmarshal([]byte(s), &text) == nil {
		s = text
	}
	return telemetry.Printable(s, 200)
}

// checkAbsoluteURL accepts an absolute http(s) URL.
func checkAbsoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an absolute http(s) URL")
	}
	return nil
}
