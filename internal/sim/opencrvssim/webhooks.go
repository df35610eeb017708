package opencrvssim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"opencrvs-mosip/internal/opencrvs"
)

// OpenCRVS 1.8's webhooks service (opencrvs-core packages/webhooks): system
// clients subscribe a callback to a topic, and every record registered
// with "delivery":"webhook" is POSTed, signed, to the subscribers of its
// topic.

// DevSHASecret is the SHA secret of the simulator's system clients when
// Config.SHASecret is empty.
const DevSHASecret = "opencrvs-mosip-sha-secret"

// PathWriteBack is the country configuration's endpoint OpenCRVS's MOSIP
// mediator writes MOSIP's identifiers back through
// (OPENHIM_MEDIATOR_URL, opencrvs-farajaland's mosip-openhim-mediator).
const PathWriteBack = "/mosip-openhim-mediator"

// DeliveryWebhook is the "delivery" of POST /sim/records that registers
// the record in the simulator and sends it to the webhook subscribers
// instead of to the mediator's event-registration endpoint.
const DeliveryWebhook = "webhook"

// webhookTriggers are the topics OpenCRVS 1.8 accepts (TRIGGERS in
// packages/webhooks/src/model/webhook.ts); only the *_REGISTERED ones are
// ever delivered.
var webhookTriggers = []string{
	opencrvs.TopicBirthRegistered, opencrvs.TopicDeathRegistered,
	"BIRTH_CERTIFIED", "DEATH_CERTIFIED", "BIRTH_CORRECTED", "DEATH_CORRECTED",
}

// webhookAttempts is how often a delivery is tried when the subscriber
// cannot be reached (BullMQ attempts: 3). An HTTP answer, whatever its
// status, ends the delivery: OpenCRVS's worker fails a job only when fetch
// throws.
const webhookAttempts = 3

// subscription is one webhook subscription.
type subscription struct {
	id, clientID, callback, topic, secret string
	createdAt                             string
}

// webhookResult is what became of one delivery, in the answer of POST
// /sim/records and under "webhooks" of the record.
type webhookResult struct {
	Subscription string `json:"subscription"`
	Callback     string `json:"callback"`
	Topic        string `json:"topic"`
	// Status is the subscriber's HTTP status; 0 when it could not be
	// reached in any attempt.
	Status   int    `json:"status"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

// hubRequest is the body of POST /webhooks.
type hubRequest struct {
	Hub *struct {
		Callback string `json:"callback"`
		Mode     string `json:"mode"`
		Topic    string `json:"topic"`
		Secret   string `json:"secret"`
	} `json:"hub"`
}

// denySubscription answers as OpenCRVS does when it refuses a subscription.
func (s *Sim) denySubscription(w http.ResponseWriter, topic, reason string) {
	s.mu.Lock()
	s.counts.webhookDenied++
	s.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]any{"hub": map[string]string{"mode": "denied", "topic": topic, "reason": reason}})
}

// systemClaims checks the bearer token of a webhooks or write-back call;
// it answers 401 and returns nil when the token is not one this
// simulator's auth service signed.
func (s *Sim) systemClaims(w http.ResponseWriter, r *http.Request) *opencrvs.Claims {
	claims, err := s.verifyToken(r.Header.Get("Authorization"))
	if err != nil {
		s.mu.Lock()
		s.counts.unauthorized++
		s.mu.Unlock()
		writeProblem(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return nil
	}
	return claims
}

// activeSystem reports whether claims are a system client's this auth
// service knows.
func (s *Sim) activeSystem(claims *opencrvs.Claims) bool {
	_, ok := s.systemClients[claims.Subject]
	return claims.UserType == "system" && ok
}

// handleSubscribe is POST /webhooks: OpenCRVS's subscribe handler, checks
// in its order (topic, active system, secret, mode), then the callback
// check, then 202.
func (s *Sim) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	claims := s.systemClaims(w, r)
	if claims == nil {
		return
	}
	body, _, err := readBody(w, r, maxControlBody)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	var req hubRequest
	if err := decodeStrict(body, &req); err != nil || req.Hub == nil {
		detail := `want {"hub":{"callback","mode","topic","secret"}}`
		if err != nil {
			detail = err.Error() + ": " + detail
		}
		writeProblem(w, http.StatusBadRequest, "invalid subscription request", detail)
		return
	}
	hub := req.Hub
	switch {
	case !slices.Contains(webhookTriggers, hub.Topic):
		s.denySubscription(w, hub.Topic, "Unsupported topic: "+hub.Topic)
		return
	case !s.activeSystem(claims):
		s.denySubscription(w, hub.Topic, "Active system details cannot be found.  This system is no longer authorized")
		return
	case hub.Secret != s.shaSecret:
		s.denySubscription(w, hub.Topic, "hub.secret is incorrect")
		return
	case hub.Mode != "subscribe":
		s.denySubscription(w, hub.Topic, "hub.mode must be set to subscribe")
		return
	}
	if err := s.checkCallback(r.Context(), hub.Callback, hub.Topic); err != nil {
		s.log.Info("opencrvssim: webhook callback check failed", "topic", hub.Topic, "reason", err.Error())
		s.mu.Lock()
		s.counts.webhookDenied++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "Subscription callback check failed")
		return
	}
	sub := &subscription{
		id: newUUID(), clientID: claims.Subject, callback: hub.Callback, topic: hub.Topic, secret: hub.Secret,
		createdAt: s.now().UTC().Format(fhirInstant),
	}
	s.mu.Lock()
	s.webhooks = append(s.webhooks, sub)
	s.counts.webhookSubscribes++
	s.mu.Unlock()
	s.log.Debug("opencrvssim: webhook subscribed", "subscription", sub.id, "topic", sub.topic)
	w.WriteHeader(http.StatusAccepted)
}

// checkCallback is OpenCRVS's intent check: GET the callback with its query
// replaced by mode=subscribe&challenge=<urlencoded base64 of 16 random
// bytes>&topic=<topic>, wanting JSON {"challenge"} with the same value.
func (s *Sim) checkCallback(ctx context.Context, callback, topic string) error {
	u, err := url.Parse(callback)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("callback %q is not an absolute http(s) URL", callback)
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	challenge := base64.StdEncoding.EncodeToString(nonce[:])
	// url.QueryEscape and encodeURIComponent agree on base64's alphabet and
	// on topic names.
	u.RawQuery = "mode=subscribe&challenge=" + url.QueryEscape(challenge) + "&topic=" + url.QueryEscape(topic)
	u.Fragment = ""
	ctx, cancel := context.WithTimeout(ctx, s.sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxControlBody))
	if err != nil {
		return err
	}
	var ans struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("answer (HTTP %d) is not JSON {\"challenge\"}", resp.StatusCode)
	}
	if ans.Challenge != challenge {
		return fmt.Errorf("answer (HTTP %d) echoes another challenge", resp.StatusCode)
	}
	return nil
}

// webhookEntry is one entry of GET /webhooks.
type webhookEntry struct {
	ID        string `json:"id"`
	Callback  string `json:"callback"`
	CreatedAt string `json:"createdAt"`
	CreatedBy struct {
		ClientID string `json:"client_id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Username string `json:"username"`
	} `json:"createdBy"`
	Topic string `json:"topic"`
}

// handleListWebhooks is GET /webhooks: the calling system client's
// subscriptions, oldest first.
func (s *Sim) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	claims := s.systemClaims(w, r)
	if claims == nil {
		return
	}
	if !s.activeSystem(claims) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "Active system details cannot be found.  This system is no longer authorized")
		return
	}
	entries := []webhookEntry{}
	s.mu.Lock()
	for _, sub := range s.webhooks {
		if sub.clientID != claims.Subject {
			continue
		}
		e := webhookEntry{ID: sub.id, Callback: sub.callback, CreatedAt: sub.createdAt, Topic: sub.topic}
		e.CreatedBy.ClientID, e.CreatedBy.Name, e.CreatedBy.Type, e.CreatedBy.Username = sub.clientID, sub.clientID, "nationalId", sub.clientID
		entries = append(entries, e)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// handleDeleteWebhook is DELETE /webhooks/{id}: 204, as OpenCRVS answers,
// whether or not the subscription existed.
func (s *Sim) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	if s.systemClaims(w, r) == nil {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	s.webhooks = slices.DeleteFunc(s.webhooks, func(sub *subscription) bool { return sub.id == id })
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// subscribers returns the subscriptions of topic, oldest first.
func (s *Sim) subscribers(topic string) []subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []subscription
	for _, sub := range s.webhooks {
		if sub.topic == topic {
			out = append(out, *sub)
		}
	}
	return out
}

// topicOf is the webhook topic of a record kind.
func topicOf(kind string) string {
	if kind == KindDeath {
		return opencrvs.TopicDeathRegistered
	}
	return opencrvs.TopicBirthRegistered
}

// checkWebhookRequest refuses what "delivery":"webhook" does not combine
// with: it registers a record the simulator generates, in OpenCRVS 1.8's
// FHIR.
func checkWebhookRequest(req sendRequest) error {
	switch {
	case req.Bundle != nil:
		return errors.New(`"delivery":"webhook" registers a record the simulator generates: give no bundle`)
	case isCorrection(req.Kind):
		return errors.New(`"delivery":"webhook" takes a birth or a death, not a correction`)
	case req.Mode != ModeFHIR:
		return fmt.Errorf(`"delivery":"webhook" sends FHIR bundles (OpenCRVS 1.8): mode %q does not apply`, req.Mode)
	case req.Version == Version19:
		return errors.New(`"delivery":"webhook" is OpenCRVS 1.8's webhooks service: version 1.9 does not apply`)
	}
	return nil
}

// handleWebhookRecord registers a generated record, as OpenCRVS does when
// a registrar registers it, and delivers it to the subscribers of its
// topic. It answers 202 with the record and, under "subscribers", each
// delivery's outcome.
func (s *Sim) handleWebhookRecord(w http.ResponseWriter, req sendRequest) {
	if err := checkWebhookRequest(req); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid record request", err.Error())
		return
	}
	kind, d, trackingID, err := s.generate(req)
	if err != nil {
		var u *unusableError
		if errors.As(err, &u) {
			writeProblem(w, http.StatusConflict, "record not usable", err.Error())
			return
		}
		writeProblem(w, http.StatusBadRequest, "invalid record", err.Error())
		return
	}
	id := newUUID()
	regNo := s.now().Format("2006") + trackingID
	bundle, err := json.Marshal(webhookBundle(d, id, trackingID, regNo))
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "record not encoded", err.Error())
		return
	}
	rec, err := s.admit(outgoing{
		id: id, trackingID: trackingID, kind: kind, mode: ModeFHIR, version: Version18,
		sub: userID(registrars[d.registrar].username), payload: bundle, subject: d.subjectSummary(), deathOf: req.Of,
	})
	if err != nil {
		writeProblem(w, http.StatusConflict, "record already sent", err.Error())
		return
	}
	s.mu.Lock()
	rec.status, rec.registrationNumber, rec.delivery = StatusRegistered, regNo, DeliveryWebhook
	close(rec.changed)
	s.regNumbers[regNo] = id
	s.mu.Unlock()

	topic := topicOf(kind)
	results := make([]webhookResult, 0, 1)
	for _, sub := range s.subscribers(topic) {
		results = append(results, s.deliverWebhook(sub, bundle))
	}

	s.mu.Lock()
	rec.webhooks = results
	for _, res := range results {
		s.counts.webhookDeliveries++
		s.counts.webhookAttempts += res.Attempts
		if res.Status < 200 || res.Status > 299 {
			s.counts.webhookFailures++
		}
	}
	view := sendView{
		ID: rec.id, TrackingID: rec.trackingID, Kind: rec.kind, Mode: rec.mode, Version: rec.version,
		Changed: slices.Clone(rec.changes), DeathOf: optional(rec.deathOf), Status: rec.status,
		Delivery: DeliveryWebhook, RegistrationNumber: regNo, Subscribers: slices.Clone(results),
	}
	s.mu.Unlock()
	s.log.Debug("opencrvssim: record registered and sent to webhook subscribers", "record_id", id, "topic", topic, "subscribers", len(results))
	writeJSON(w, http.StatusAccepted, view)
}

// webhookPayload is what OpenCRVS POSTs to a subscriber.
type webhookPayload struct {
	Timestamp string `json:"timestamp"`
	ID        string `json:"id"`
	Event     struct {
		Hub struct {
			Topic string `json:"topic"`
		} `json:"hub"`
		Context []json.RawMessage `json:"context"`
	} `json:"event"`
}

// deliverWebhook POSTs the record to one subscriber, signed with its
// secret, trying again only when no answer came.
func (s *Sim) deliverWebhook(sub subscription, bundle []byte) webhookResult {
	res := webhookResult{Subscription: sub.id, Callback: sub.callback, Topic: sub.topic}
	var p webhookPayload
	p.Timestamp, p.ID = s.now().UTC().Format(fhirInstant), sub.id
	p.Event.Hub.Topic = sub.topic
	p.Event.Context = []json.RawMessage{bundle}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as JSON.stringify
	if err := enc.Encode(p); err != nil {
		res.Error = err.Error()
		return res
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	signature := opencrvs.SignWebhook([]byte(sub.secret), body)
	for attempt := 1; attempt <= webhookAttempts && s.ctx.Err() == nil; attempt++ {
		res.Attempts = attempt
		status, err := s.postWebhook(sub.callback, body, signature)
		if err == nil {
			res.Status, res.Error = status, ""
			break
		}
		res.Error = err.Error()
	}
	return res
}

func (s *Sim) postWebhook(callback string, body []byte, signature string) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(opencrvs.WebhookSignatureHeader, signature)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxMediatorAns))
	return resp.StatusCode, nil
}

// webhookBundle is the bundle of a registered record as the webhooks
// service sends it: the Task first, REGISTERED with the registration
// number, which OpenCRVS also adds to the child or the deceased as an
// identifier (BIRTH_REGISTRATION_NUMBER, DEATH_REGISTRATION_NUMBER). The
// simulator keeps the Composition and every resource of the document, so
// that the mediator reads the record with the sections; OpenCRVS sends the
// resources without the Composition (see fhir.ParseDelivered).
func webhookBundle(d *declaration, compositionID, trackingID, registrationNumber string) obj {
	b := registeredBundle(d, compositionID, trackingID, registrationNumber)
	section, idType := "child-details", "BIRTH_REGISTRATION_NUMBER"
	if d.kind == KindDeath {
		section, idType = "deceased-details", "DEATH_REGISTRATION_NUMBER"
	}
	entries := b["entry"].([]any)
	var subjectRef string
	for _, e := range entries {
		res := e.(obj)["resource"].(obj)
		if res["resourceType"] != "Composition" {
			continue
		}
		for _, sec := range res["section"].([]any) {
			if codeOf(sec.(obj)["code"]) == section {
				subjectRef, _ = sec.(obj)["entry"].([]any)[0].(obj)["reference"].(string)
			}
		}
	}
	var task any
	rest := make([]any, 0, len(entries))
	for _, e := range entries {
		res := e.(obj)["resource"].(obj)
		id, _ := res["id"].(string)
		switch {
		case res["resourceType"] == "Task":
			task = e
			continue
		case res["resourceType"] == "Patient" && "Patient/"+id == subjectRef:
			ids, _ := res["identifier"].([]any)
			res["identifier"] = append(ids, obj{"type": coding(sysIdentifierType, idType), "value": registrationNumber})
		}
		rest = append(rest, e)
	}
	b["entry"] = append([]any{task}, rest...)
	return b
}

// writeBackRequest is the body of POST /mosip-openhim-mediator, the
// country configuration's endpoint OpenCRVS's MOSIP mediator writes the
// MOSIP AID and the PSUT token back through.
type writeBackRequest struct {
	BRN   string `json:"BRN"`
	DRN   string `json:"DRN"`
	AID   string `json:"MOSIP_AID"`
	Token string `json:"MOSIP_PSUT_TOKEN_ID"`
}

// writeBack is what the write-back endpoint stored on a record.
type writeBack struct {
	aid, psut string
	count     int32
}

// handleWriteBack is POST /mosip-openhim-mediator: it stores MOSIP_AID
// and/or MOSIP_PSUT_TOKEN_ID on the record registered under the BRN or
// DRN, as the country configuration's OpenHIM mediator does, and counts
// each call.
func (s *Sim) handleWriteBack(w http.ResponseWriter, r *http.Request) {
	claims := s.systemClaims(w, r)
	if claims == nil {
		return
	}
	if claims.UserType != "system" {
		writeProblem(w, http.StatusForbidden, "forbidden", "the write-back takes a system client's token (userType system), not a user's or a record's")
		return
	}
	body, _, err := readBody(w, r, maxControlBody)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	var req writeBackRequest
	if err := decodeStrict(body, &req); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid write-back", err.Error()+`: want {"BRN"|"DRN", "MOSIP_AID"} or {"BRN", "MOSIP_PSUT_TOKEN_ID"}`)
		return
	}
	number, kind, name := strings.TrimSpace(req.BRN), KindBirth, "BRN"
	switch {
	case req.BRN != "" && req.DRN != "":
		writeProblem(w, http.StatusBadRequest, "invalid write-back", "give BRN or DRN, not both")
		return
	case req.DRN != "":
		number, kind, name = strings.TrimSpace(req.DRN), KindDeath, "DRN"
	case number == "":
		writeProblem(w, http.StatusBadRequest, "invalid write-back", "no BRN or DRN: the record is found by its registration number")
		return
	}
	switch {
	case req.AID == "" && req.Token == "":
		writeProblem(w, http.StatusBadRequest, "invalid write-back", "nothing to store: give MOSIP_AID or MOSIP_PSUT_TOKEN_ID")
		return
	case req.Token != "" && kind == KindDeath:
		writeProblem(w, http.StatusBadRequest, "invalid write-back", "MOSIP_PSUT_TOKEN_ID comes with a BRN: MOSIP issues the token for a birth")
		return
	}
	s.mu.Lock()
	wb, id, found := s.writeBackTarget(number, kind)
	if wb != nil {
		if req.AID != "" {
			wb.aid = req.AID
		}
		if req.Token != "" {
			wb.psut = req.Token
		}
		wb.count++
		s.counts.writeBacks++
	}
	s.mu.Unlock()
	switch {
	case wb != nil:
		writeJSON(w, http.StatusOK, map[string]any{"recordId": id, "writeBacks": wb.count})
	case found != "":
		writeProblem(w, http.StatusNotFound, "record not found", fmt.Sprintf("%s %s is the registration number of a %s, not of a %s", name, number, found, kind))
	default:
		writeProblem(w, http.StatusNotFound, "record not found", fmt.Sprintf("no %s is registered under %s %s", kind, name, number))
	}
}

// writeBackTarget finds the registered record with registration number
// number and returns where its write-backs go, creating it. A record of
// the other kind with that number is reported in otherKind. Callers hold
// s.mu. Records registered by webhook delivery are indexed; others are
// searched (corrections, which repeat their original's number, are
// skipped).
func (s *Sim) writeBackTarget(number, kind string) (wb *writeBack, id, otherKind string) {
	take := func(rec *record) *writeBack {
		if rec.writeBack == nil {
			rec.writeBack = &writeBack{}
		}
		return rec.writeBack
	}
	if id, ok := s.regNumbers[number]; ok {
		if rec, ok := s.records[id]; ok {
			if rec.kind != kind {
				return nil, "", rec.kind
			}
			return take(rec), id, ""
		}
	}
	for id, rec := range s.records {
		if rec.registrationNumber != number || rec.status != StatusRegistered || rec.correctionOf != "" {
			continue
		}
		if rec.kind != kind {
			return nil, "", rec.kind
		}
		return take(rec), id, ""
	}
	if kind != KindBirth {
		return nil, "", ""
	}
	for id, h := range s.historic { // historic records are births
		if h.registrationNumber == number {
			if h.writeBack == nil {
				h.writeBack = &writeBack{}
			}
			return h.writeBack, id, ""
		}
	}
	return nil, "", ""
}

// writeBackView fills the write-back fields of a record view.
func writeBackView(v *recordView, wb *writeBack) {
	if wb == nil {
		return
	}
	v.MosipAID, v.MosipPSUTTokenID, v.WriteBacks = optional(wb.aid), optional(wb.psut), int(wb.count)
}
