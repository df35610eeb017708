package opencrvs

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/telemetry"
)

// OpenCRVS 1.8 webhooks (packages/webhooks of opencrvs-core): a system
// client subscribes to a topic, OpenCRVS checks the callback with a GET
// (AnswerIntent) and then POSTs every registered record of that topic to it,
// signed with the client's SHA secret (VerifyWebhook, ParseWebhook).

// WebhookSignatureHeader is the header OpenCRVS signs webhook deliveries in.
const WebhookSignatureHeader = "X-Hub-Signature"

// Webhook topics the mediator handles. OpenCRVS also knows BIRTH_CERTIFIED,
// DEATH_CERTIFIED, BIRTH_CORRECTED and DEATH_CORRECTED.
const (
	TopicBirthRegistered = "BIRTH_REGISTERED"
	TopicDeathRegistered = "DEATH_REGISTERED"
)

// What can be wrong with a delivery's signature. VerifyWebhook wraps them
// in a *bridge.Error with code EUnauthorized; test with errors.Is.
var (
	// ErrSignatureMissing: no X-Hub-Signature header.
	ErrSignatureMissing = errors.New("webhook signature missing")
	// ErrSignatureMalformed: the header is not "<algorithm>=<hex>".
	ErrSignatureMalformed = errors.New("webhook signature malformed")
	// ErrSignatureAlgorithm: an algorithm other than sha256 (e.g. sha1=).
	ErrSignatureAlgorithm = errors.New("webhook signature algorithm not accepted")
	// ErrSignatureEncoding: the signature is not 64 hex digits.
	ErrSignatureEncoding = errors.New("webhook signature is not a hex SHA-256 HMAC")
	// ErrSignatureMismatch: the signature does not match the body under the
	// secret.
	ErrSignatureMismatch = errors.New("webhook signature mismatch")
	// ErrBodyNotUTF8: the body is not valid UTF-8; OpenCRVS signs a
	// JavaScript string, whose UTF-8 form is always valid.
	ErrBodyNotUTF8 = errors.New("webhook body is not valid UTF-8")
	// ErrNoWebhookSecret: the secret to verify with is empty.
	ErrNoWebhookSecret = errors.New("no webhook secret configured")
	// ErrUnknownTopic: a delivery of a topic the mediator does not handle.
	// ParseWebhook's error for it holds an *UnknownTopicError naming it.
	ErrUnknownTopic = errors.New("unknown webhook topic")
)

// UnknownTopicError names the topic of a delivery the mediator does not
// handle. errors.Is(err, ErrUnknownTopic) holds for it.
type UnknownTopicError struct {
	Topic string
}

func (e *UnknownTopicError) Error() string {
	return fmt.Sprintf("webhook topic %q is not handled (want %s or %s)", telemetry.Printable(e.Topic, 60), TopicBirthRegistered, TopicDeathRegistered)
}

// Is makes errors.Is(err, ErrUnknownTopic) true.
func (e *UnknownTopicError) Is(target error) bool { return target == ErrUnknownTopic }

// SignWebhook returns the X-Hub-Signature OpenCRVS sends with body:
// "sha256=" and the lowercase hex HMAC-SHA256, keyed with the subscriber's
// SHA secret, of "sha256:" + encodeURIComponent(body)
// (createRequestSignature in opencrvs-core packages/webhooks). body is the
// request body as sent, which is JSON.stringify's output: valid UTF-8. For a
// body that is not valid UTF-8 JavaScript's encodeURIComponent throws, and
// SignWebhook returns "" (a value VerifyWebhook never accepts).
func SignWebhook(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	if !writeSigned(mac, body) {
		return ""
	}
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks header, the X-Hub-Signature of a delivery, against
// body, the raw request body as received, under secret, the SHA secret
// OpenCRVS issued to the system client (the "secret" of the subscription).
// The comparison is constant-time. A refusal is a *bridge.Error with code
// EUnauthorized, Field "X-Hub-Signature" and a message saying what to check;
// it wraps ErrSignatureMissing, ErrSignatureMalformed,
// ErrSignatureAlgorithm, ErrSignatureEncoding, ErrBodyNotUTF8 or
// ErrSignatureMismatch. An empty secret gives an EInternal error wrapping
// ErrNoWebhookSecret: the mediator is misconfigured, not the sender.
func VerifyWebhook(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return &bridge.Error{Code: bridge.EInternal, Message: "no OpenCRVS webhook secret (the system client's SHA secret) is configured, so no delivery can be verified", Err: ErrNoWebhookSecret}
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return signatureError(ErrSignatureMissing, "missing: OpenCRVS signs every webhook delivery, so this request did not come from its webhooks service (or a proxy dropped the header)")
	}
	algo, sig, ok := strings.Cut(header, "=")
	if !ok {
		return signatureError(ErrSignatureMalformed, "is not of the form sha256=<hex>")
	}
	if !strings.EqualFold(algo, "sha256") {
		return signatureError(ErrSignatureAlgorithm, fmt.Sprintf("algorithm %q is not accepted: OpenCRVS signs webhook deliveries with sha256 (the sha1= in its documentation's example is not what it sends)", telemetry.Printable(algo, 20)))
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return signatureError(ErrSignatureEncoding, "the value after sha256= is not 64 hex digits")
	}
	mac := hmac.New(sha256.New, secret)
	if !writeSigned(mac, body) {
		return signatureError(ErrBodyNotUTF8, "the body is not valid UTF-8, so it is not a body OpenCRVS signed")
	}
	if !hmac.Equal(got, mac.Sum(nil)) {
		return signatureError(ErrSignatureMismatch, "does not match the body: the SHA secret differs from the one OpenCRVS issued to the system client, or the body was changed on the way")
	}
	return nil
}

func signatureError(cause error, msg string) *bridge.Error {
	return &bridge.Error{Code: bridge.EUnauthorized, Field: WebhookSignatureHeader, Message: msg, Err: cause}
}

// writeSigned writes "sha256:" + encodeURIComponent(body) to mac, in
// chunks (bodies carry base64 documents of several MiB). It reports false
// when body is not valid UTF-8.
func writeSigned(mac hash.Hash, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	mac.Write([]byte("sha256:"))
	var buf [4096]byte
	for len(body) > 0 {
		n := min(len(body), len(buf)/3)
		mac.Write(appendURIComponent(buf[:0], body[:n]))
		body = body[n:]
	}
	return true
}

// uriUnreserved marks the bytes JavaScript's encodeURIComponent leaves as
// they are: A-Z a-z 0-9 - _ . ! ~ * ' ( ).
var uriUnreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_.!~*'()" {
		t[c] = true
	}
	return t
}()

// appendURIComponent appends encodeURIComponent of s, which must be valid
// UTF-8, to dst. JavaScript escapes every other code point as the
// percent-encoded bytes of its UTF-8 form with uppercase hex; for valid
// UTF-8 that is each byte outside the unreserved set, so s may be cut
// anywhere.
func appendURIComponent(dst, s []byte) []byte {
	const upperHex = "0123456789ABCDEF"
	for _, c := range s {
		if uriUnreserved[c] {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xF])
	}
	return dst
}

// WebhookDelivery is the body OpenCRVS POSTs to a subscriber:
// {"timestamp", "id", "event": {"hub": {"topic"}, "context": [bundle]}}.
type WebhookDelivery struct {
	// Timestamp is when OpenCRVS queued the delivery; zero when absent or
	// not an ISO 8601 time.
	Timestamp time.Time
	// SubscriptionID is the body's "id": the id of the subscription
	// (OpenCRVS's webhookId), the same on every delivery to this
	// subscriber. It identifies neither the record nor the delivery.
	SubscriptionID string
	// Topic is TopicBirthRegistered or TopicDeathRegistered.
	Topic string
	// Bundle is event.context[0], the FHIR bundle of the registered
	// record, byte for byte, for the FHIR parser.
	Bundle json.RawMessage
}

// Event is the kind of record the topic announces.
func (d *WebhookDelivery) Event() bridge.EventKind {
	if d.Topic == TopicDeathRegistered {
		return bridge.EventDeath
	}
	return bridge.EventBirth
}

// webhookBody is the wire form of a delivery.
type webhookBody struct {
	Timestamp string `json:"timestamp"`
	ID        string `json:"id"`
	Event     *struct {
		Hub *struct {
			Topic string `json:"topic"`
		} `json:"hub"`
		Context []json.RawMessage `json:"context"`
	} `json:"event"`
}

// ParseWebhook reads a delivery's body. Verify the signature first
// (VerifyWebhook): ParseWebhook trusts nothing but also proves nothing. It
// bounds nothing either: read the body with a limit (OpenCRVS bundles with
// documents reach several MiB; its own services accept 50 MiB).
//
// Errors are *bridge.Error: EInvalid with Field a JSON path when the body
// is not a delivery (no event, no topic, not exactly one bundle in
// event.context); EUnsupported wrapping an *UnknownTopicError
// (errors.Is(err, ErrUnknownTopic)) for a topic other than
// BIRTH_REGISTERED and DEATH_REGISTERED. OpenCRVS sends a topic only to
// subscriptions of that topic, so an unknown one means someone subscribed
// this callback to it (BIRTH_CERTIFIED, say); OpenCRVS retries nothing but
// network errors, so answering 4xx changes nothing there. Answer it 2xx
// (204) and log or count it, so that it is seen and not taken for an
// attack or an outage.
//
// Deduplicate deliveries by the record (the Composition id, or the
// tracking id, in the bundle), never by SubscriptionID: OpenCRVS puts the
// subscription's id there, the same for every record. A record arrives more
// than once when OpenCRVS retries after a network error (up to 3 attempts,
// even if the first got through) and once per subscription when the
// mediator subscribed the same callback twice.
func ParseWebhook(body []byte) (*WebhookDelivery, error) {
	var wb webhookBody
	if err := json.Unmarshal(body, &wb); err != nil {
		return nil, webhookDecodeError(err)
	}
	switch {
	case wb.Event == nil:
		return nil, bridge.FieldErrorf(bridge.EInvalid, "event", "missing: the body is not an OpenCRVS webhook delivery")
	case wb.Event.Hub == nil || strings.TrimSpace(wb.Event.Hub.Topic) == "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, "event.hub.topic", "missing: an OpenCRVS webhook delivery names its topic")
	}
	topic := strings.TrimSpace(wb.Event.Hub.Topic)
	if topic != TopicBirthRegistered && topic != TopicDeathRegistered {
		return nil, &bridge.Error{Code: bridge.EUnsupported, Field: "event.hub.topic",
			Message: fmt.Sprintf("topic %q is not handled: the mediator takes %s and %s", telemetry.Printable(topic, 60), TopicBirthRegistered, TopicDeathRegistered),
			Err:     &UnknownTopicError{Topic: topic}}
	}
	if n := len(wb.Event.Context); n != 1 {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "event.context", "has %d elements, want exactly one FHIR bundle", n)
	}
	raw := bytes.TrimSpace(wb.Event.Context[0])
	if len(raw) == 0 || raw[0] != '{' {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "event.context[0]", "is not a JSON object, want a FHIR bundle")
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, &bridge.Error{Code: bridge.EInvalid, Field: "event.context[0].resourceType", Message: "is not a string", Err: err}
	}
	if head.ResourceType != "Bundle" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "event.context[0].resourceType", "is %q, want \"Bundle\"", telemetry.Printable(head.ResourceType, 60))
	}
	d := &WebhookDelivery{SubscriptionID: strings.TrimSpace(wb.ID), Topic: topic, Bundle: slices.Clip(raw)}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(wb.Timestamp)); err == nil {
		d.Timestamp = t.UTC()
	}
	return d, nil
}

// webhookDecodeError names where the body fails to decode.
func webhookDecodeError(err error) *bridge.Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &bridge.Error{Code: bridge.EInvalid, Message: fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset), Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &bridge.Error{Code: bridge.EInvalid, Message: fmt.Sprintf("the body is a JSON %s, want an object", typ.Value), Err: err}
		}
		return &bridge.Error{Code: bridge.EInvalid, Field: field, Message: fmt.Sprintf("is a JSON %s of the wrong type", typ.Value), Err: err}
	}
	return &bridge.Error{Code: bridge.EInvalid, Message: "the body is not valid JSON", Err: err}
}

// AnswerIntent checks OpenCRVS's verification of a subscription, the GET
// it sends to the callback before it stores the subscription:
// ?mode=subscribe&challenge=<url-encoded value>&topic=<topic> (no "hub."
// prefix, unlike WebSub). topics are the topics the caller subscribes to;
// none means TopicBirthRegistered and TopicDeathRegistered. It returns the
// challenge, URL-decoded, which the caller answers with WriteIntentAnswer.
// Anything else is a *bridge.Error with code EInvalid naming the query
// parameter (answer 4xx: OpenCRVS then refuses the subscription, which is
// what an unexpected topic deserves).
func AnswerIntent(r *http.Request, topics ...string) (challenge string, err error) {
	if len(topics) == 0 {
		topics = []string{TopicBirthRegistered, TopicDeathRegistered}
	}
	q := r.URL.Query()
	if mode := q.Get("mode"); mode != "subscribe" {
		return "", bridge.FieldErrorf(bridge.EInvalid, "mode", "is %q, want \"subscribe\" (OpenCRVS's subscription check)", telemetry.Printable(mode, 40))
	}
	if topic := q.Get("topic"); !slices.Contains(topics, topic) {
		return "", bridge.FieldErrorf(bridge.EInvalid, "topic", "%q is not a topic this callback subscribes to (%s)", telemetry.Printable(topic, 60), strings.Join(topics, ", "))
	}
	challenge = q.Get("challenge")
	if challenge == "" {
		return "", bridge.FieldErrorf(bridge.EInvalid, "challenge", "missing: OpenCRVS sends a challenge to be echoed")
	}
	return challenge, nil
}

// WriteIntentAnswer answers OpenCRVS's subscription check: 200 with JSON
// {"challenge": challenge}.
func WriteIntentAnswer(w http.ResponseWriter, challenge string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(struct {
		Challenge string `json:"challenge"`
	}{challenge})
}
