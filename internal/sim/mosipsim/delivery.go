package mosipsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/websub"
)

// Topic is the bare credential topic; credentials are also published to
// "<PartnerID>/CREDENTIAL_ISSUED", the credential service's own topic.
const TopicCredentialIssued = "CREDENTIAL_ISSUED"

// delivery is one event on its way to one subscriber.
type delivery struct {
	topic, callback string
	body            []byte
	attempt         int
	duplicate       bool // an injected second delivery
}

// publish sends a credential event to the subscribers of both credential
// topics; a topic without subscribers keeps the event for its next one.
func (s *Sim) publish(in credentialInput, encrypted string, proof json.RawMessage, credType string) {
	ts := mosip.FormatTime(s.now())
	txID := newUUID()
	s.rngMu.Lock()
	pin := fmt.Sprintf("%06d", s.rng.IntN(1000000))
	s.rngMu.Unlock()
	for _, topic := range []string{s.cfg.PartnerID + "/" + TopicCredentialIssued, TopicCredentialIssued} {
		body, err := json.Marshal(mosip.CredentialEvent{
			Publisher:   "CREDENTIAL_SERVICE",
			Topic:       topic,
			PublishedOn: ts,
			Event: mosip.CredentialMsg{
				ID:            newUUID(),
				TransactionID: txID,
				Type:          mosip.EventType{Namespace: "mosip", Name: "mosip"},
				Timestamp:     ts,
				Data: mosip.CredentialData{
					RegistrationID:   in.rid,
					TemplateTypeCode: "RPR_UIN_CARD_TEMPLATE",
					Credential:       encrypted,
					Proof:            proof,
					CredentialType:   credType,
					ProtectionKey:    pin,
				},
			},
		})
		if err != nil {
			s.log.Error("mosipsim: encode credential event", "registration_id", in.rid, "err", err)
			continue
		}
		s.route(topic, body)
	}
}

// route queues body for every live subscription of topic, or keeps it in
// the topic's backlog.
func (s *Sim) route(topic string, body []byte) {
	now := s.now()
	s.hubMu.Lock()
	defer s.hubMu.Unlock()
	n := 0
	for callback := range s.subs[topic] {
		if s.activeLocked(topic, callback, now) == nil {
			continue
		}
		s.enqueueDelivery(&delivery{topic: topic, callback: callback, body: body}, 0)
		n++
	}
	if n > 0 {
		return
	}
	q := s.backlog[topic]
	if len(q) >= s.cfg.Backlog {
		q[0] = nil
		q = q[1:]
		s.stats.droppedBacklog.Add(1)
	}
	s.backlog[topic] = append(q, body)
}

func (s *Sim) enqueueDelivery(d *delivery, wait time.Duration) {
	s.stats.pending.Add(1)
	if !s.hub.after(wait, func(ctx context.Context) { s.deliver(ctx, d) }) {
		s.stats.pending.Add(-1)
	}
}

// deliver makes one delivery attempt and decides what follows: done,
// redelivery with backoff, or giving up.
func (s *Sim) deliver(ctx context.Context, d *delivery) {
	d.attempt++
	s.hubMu.Lock()
	sub := s.activeLocked(d.topic, d.callback, s.now())
	var secret []byte
	var hubURL string
	if sub != nil {
		secret, hubURL = sub.secret, sub.hubURL
	}
	s.hubMu.Unlock()
	if sub == nil {
		s.stats.pending.Add(-1)
		s.stats.undelivered.Add(1)
		s.log.Info("mosipsim: delivery dropped: no subscription any more", "topic", d.topic, "callback", d.callback)
		return
	}
	f := s.faults.Load()
	if d.attempt == 1 && !d.duplicate && s.chance(f.LostDeliveryRate) {
		s.stats.pending.Add(-1)
		s.stats.lost.Add(1)
		s.log.Info("mosipsim: delivery lost (injected)", "topic", d.topic, "callback", d.callback)
		return
	}

	status, err := s.post(ctx, d, secret, hubURL)
	switch {
	case err == nil && status/100 == 2:
		s.stats.pending.Add(-1)
		s.stats.sent.Add(1)
		if !d.duplicate && s.chance(f.DuplicateDeliveryRate) {
			s.stats.duplicated.Add(1)
			s.enqueueDelivery(&delivery{topic: d.topic, callback: d.callback, body: d.body, duplicate: true}, 0)
		}
	case err == nil && status == http.StatusGone:
		s.stats.pending.Add(-1)
		s.stats.gone.Add(1)
		s.hubMu.Lock()
		if cur := s.subs[d.topic][d.callback]; cur == sub {
			s.removeLocked(sub)
		}
		s.hubMu.Unlock()
		s.log.Info("mosipsim: subscriber answered 410 Gone; subscription removed", "topic", d.topic, "callback", d.callback)
	default:
		s.stats.failedAttempts.Add(1)
		if ctx.Err() != nil {
			s.stats.pending.Add(-1)
			return
		}
		why := fmt.Sprintf("HTTP %d", status)
		if err != nil {
			why = err.Error()
		}
		if d.attempt >= s.cfg.DeliveryAttempts {
			s.stats.pending.Add(-1)
			s.stats.undelivered.Add(1)
			s.log.Warn("mosipsim: delivery given up", "topic", d.topic, "callback", d.callback, "attempt", d.attempt, "reason", why)
			return
		}
		wait := s.backoff(d.attempt, true)
		s.log.Info("mosipsim: delivery failed; will redeliver", "topic", d.topic, "callback", d.callback,
			"attempt", d.attempt, "reason", why, "wait", wait)
		if !s.hub.after(wait, func(ctx context.Context) { s.deliver(ctx, d) }) {
			s.stats.pending.Add(-1)
		}
	}
}

func (s *Sim) post(ctx context.Context, d *delivery, secret []byte, hubURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.callback, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Link", "<"+hubURL+`>; rel="hub", <`+d.topic+`>; rel="self"`)
	if len(secret) > 0 {
		req.Header.Set(websub.SignatureHeader, websub.Sign(secret, d.body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
