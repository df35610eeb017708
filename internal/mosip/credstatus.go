package mosip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"opencrvs-mosip/internal/telemetry"
)

// Credential status: a partner tells MOSIP what it did with a credential
// by publishing to the hub's CREDENTIAL_STATUS_UPDATE topic, which MOSIP's
// credential request generator subscribes to (protocols.md 4.7; the Java
// mediator's publishStatusWebsub).

// OpPublishStatus names credential status publishes in errors.
const OpPublishStatus = "publish credential status"

// TopicCredentialStatusUpdate is the topic of credential statuses.
const TopicCredentialStatusUpdate = "CREDENTIAL_STATUS_UPDATE"

// PublisherOpenCRVSMediator is the publisher the Java mediator names.
const PublisherOpenCRVSMediator = "OPENCRVS_MEDIATOR"

// CredentialStatusEvent is the body of a CREDENTIAL_STATUS_UPDATE publish:
// {publishedOn, publisher, topic, event: {id, requestId, status,
// timestamp, url}}. It is the shape of the acknowledgement a subscriber
// answers a delivery with.
type CredentialStatusEvent = CredentialAck

// ErrHubDenied: the hub refused a publish (its answer's hub.reason
// follows).
var ErrHubDenied = errors.New("hub denied the request")

// PublishCredentialStatus publishes ev to the hub: POST
// {hubURL}?hub.mode=publish&hub.topic=CREDENTIAL_STATUS_UPDATE with ev as
// JSON and the token in the Authorization cookie. Event.RequestID (the
// CREDENTIAL_ISSUED event's transactionId) and Event.Status are required;
// empty Topic, Publisher, PublishedOn, Event.ID and Event.Timestamp are
// filled in (TopicCredentialStatusUpdate, PublisherOpenCRVSMediator, now,
// a new UUID, now). A Topic other than TopicCredentialStatusUpdate is
// refused before anything is sent.
//
// A hub refusal is an *APIError wrapping ErrHubDenied with the hub's
// reason; as for every call, IsTransient tells whether to retry (a 5xx
// refusal, such as an unauthorised token at MOSIP's hub, is transient; a
// 4xx one is not).
func (c *Client) PublishCredentialStatus(ctx context.Context, hubURL string, ev CredentialStatusEvent) error {
	const op = OpPublishStatus
	switch {
	case hubURL == "":
		return fmt.Errorf("mosip: %s: no hub URL configured", op)
	case ev.Event.RequestID == "":
		return fmt.Errorf("mosip: %s: event.requestId is empty: it must be the credential event's transactionId", op)
	case ev.Event.Status == "":
		return fmt.Errorf("mosip: %s %s: event.status is empty", op, ev.Event.RequestID)
	case ev.Topic != "" && ev.Topic != TopicCredentialStatusUpdate:
		return fmt.Errorf("mosip: %s %s: topic %q: statuses are published to %s", op, ev.Event.RequestID,
			telemetry.Printable(ev.Topic, 64), TopicCredentialStatusUpdate)
	}
	now := FormatTime(c.now())
	ev.Topic = TopicCredentialStatusUpdate
	if ev.Publisher == "" {
		ev.Publisher = PublisherOpenCRVSMediator
	}
	if ev.PublishedOn == "" {
		ev.PublishedOn = now
	}
	if ev.Event.ID == "" {
		ev.Event.ID = newEventID()
	}
	if ev.Event.Timestamp == "" {
		ev.Event.Timestamp = now
	}
	q := url.Values{"hub.mode": {"publish"}, "hub.topic": {TopicCredentialStatusUpdate}}
	target := hubURL + "?" + q.Encode()
	if strings.Contains(hubURL, "?") {
		target = hubURL + "&" + q.Encode()
	}
	id := ev.Event.RequestID
	status, body, err := c.call(ctx, op, id, http.MethodPost, target, ev)
	if err != nil {
		return err
	}
	answer, formErr := url.ParseQuery(strings.TrimSpace(string(body)))
	denied := formErr == nil && strings.EqualFold(answer.Get("hub.mode"), "denied")
	if status >= 200 && status <= 299 && !denied {
		c.log.Info("mosip credential status published", "credential_request_id", id, "status", ev.Event.Status)
		return nil
	}
	reason := "no reason given"
	switch {
	case formErr == nil && answer.Has("hub.reason"):
		reason = telemetry.Printable(answer.Get("hub.reason"), maxMessageLen)
	case !denied && len(body) > 0:
		reason = "HTTP " + http.StatusText(status)
	}
	return newAPIError(op, id, status, bodyErrors(body), fmt.Errorf("%w: %s", ErrHubDenied, reason))
}

// newEventID returns a random (version 4) UUID.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
