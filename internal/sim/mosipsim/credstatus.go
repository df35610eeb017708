package mosipsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credential status: partners report what they did with a credential by
// publishing to the hub's CREDENTIAL_STATUS_UPDATE topic (MOSIP's
// credential request generator subscribes to it):
//
//	POST {hub}?hub.mode=publish&hub.topic=CREDENTIAL_STATUS_UPDATE
//	Content-Type: application/json
//	{"publishedOn","publisher","topic","event":{"id","requestId","status","timestamp","url"}}
//
// The simulator's hub takes publishes for that topic only (the credential
// topics are the credential service's), records each event under its
// requestId, and delivers it to live subscribers of the topic.

// TopicCredentialStatusUpdate is the topic partners publish credential
// statuses to.
const TopicCredentialStatusUpdate = "CREDENTIAL_STATUS_UPDATE"

const (
	maxStatusBody        = 64 << 10
	maxStatusPerRequest  = 100 // events kept per requestId, the oldest dropped first
	maxStatusFieldLength = 256
)

// CredentialStatusRecord is one published credential status, as
// /sim/credential-status/{requestId} shows it.
type CredentialStatusRecord struct {
	EventID     string    `json:"eventId"`
	RequestID   string    `json:"requestId"`
	Status      string    `json:"status"`
	Timestamp   string    `json:"timestamp,omitempty"`
	URL         string    `json:"url,omitempty"`
	Publisher   string    `json:"publisher,omitempty"`
	PublishedOn string    `json:"publishedOn,omitempty"`
	Client      string    `json:"client"` // the auth client whose token published it
	ReceivedAt  time.Time `json:"receivedAt"`
}

// credentialStatusLog keeps the published statuses by requestId, at most
// Config.Retain request ids (the oldest forgotten first). Its zero value
// is ready.
type credentialStatusLog struct {
	mu        sync.Mutex
	byRequest map[string][]CredentialStatusRecord
	order     fifo[string]
}

func (l *credentialStatusLog) add(rec CredentialStatusRecord, retain int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byRequest == nil {
		l.byRequest = make(map[string][]CredentialStatusRecord)
	}
	recs, seen := l.byRequest[rec.RequestID]
	if !seen {
		l.order.push(rec.RequestID)
	}
	if len(recs) >= maxStatusPerRequest {
		recs = recs[1:]
	}
	l.byRequest[rec.RequestID] = append(recs, rec)
	for l.order.len() > retain {
		old, _ := l.order.pop()
		delete(l.byRequest, old)
	}
}

func (l *credentialStatusLog) get(requestID string) []CredentialStatusRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.byRequest[requestID]
	if len(recs) == 0 {
		return nil
	}
	return append([]CredentialStatusRecord(nil), recs...)
}

// CredentialStatus returns the statuses published for a credential request
// id (CREDENTIAL_ISSUED event.transactionId), oldest first; nil if none.
func (s *Sim) CredentialStatus(requestID string) []CredentialStatusRecord {
	return s.credStatus.get(requestID)
}

// statusEvent is a CREDENTIAL_STATUS_UPDATE body (MOSIP's
// CredentialStatusEvent); url is null in the Java mediator's events, and
// its publishedOn a Joda DateTime, which Jackson may write as a number or
// an object.
type statusEvent struct {
	PublishedOn json.RawMessage `json:"publishedOn"`
	Publisher   string          `json:"publisher"`
	Topic       string          `json:"topic"`
	Event       *struct {
		ID        string  `json:"id"`
		RequestID string  `json:"requestId"`
		Status    string  `json:"status"`
		Timestamp string  `json:"timestamp"`
		URL       *string `json:"url"`
	} `json:"event"`
}

// handlePublish serves a publish request: hub.mode=publish in the query.
func (s *Sim) handlePublish(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("hub.topic")
	deny := func(status int, reason string) {
		s.log.Info("mosipsim: hub publish refused", "topic", truncate(topic, 64), "reason", reason)
		hubAnswer(w, status, "denied", reason)
	}
	switch {
	case topic == "":
		deny(http.StatusBadRequest, "Empty value found for parameter 'hub.topic'")
		return
	case topic != TopicCredentialStatusUpdate:
		deny(http.StatusBadRequest, "Publishing to topic '"+truncate(topic, 64)+"' is not supported: partners publish to "+
			TopicCredentialStatusUpdate+" only; the credential service publishes the credential topics")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		deny(http.StatusBadRequest, "Content-Type must be application/json: the body is the event")
		return
	}
	body, err := readBody(w, r, maxStatusBody)
	if err != nil {
		deny(http.StatusBadRequest, err.Error())
		return
	}
	var ev statusEvent
	if err := strictObject(body, &ev); err != nil {
		deny(http.StatusBadRequest, "The body is not a credential status event: "+err.Error())
		return
	}
	if reason := checkStatusEvent(&ev); reason != "" {
		deny(http.StatusBadRequest, reason)
		return
	}
	// As for subscriptions, authorisation comes after parsing and fails
	// with 500.
	client, err := s.tokenClient(r)
	if err != nil {
		reason := reasonNotAuthorized
		if errors.Is(err, errNoToken) {
			reason = reasonNoToken
		}
		s.log.Info("mosipsim: hub publish not authorised", "reason", err.Error())
		hubAnswer(w, http.StatusInternalServerError, "denied", reason)
		return
	}
	rec := CredentialStatusRecord{
		EventID: ev.Event.ID, RequestID: ev.Event.RequestID, Status: ev.Event.Status, Timestamp: ev.Event.Timestamp,
		Publisher: ev.Publisher, PublishedOn: rawText(ev.PublishedOn), Client: client, ReceivedAt: s.now(),
	}
	if ev.Event.URL != nil {
		rec.URL = *ev.Event.URL
	}
	s.credStatus.add(rec, s.cfg.Retain)
	n := s.routeLive(topic, body)
	s.log.Info("mosipsim: credential status published", "credential_request_id", rec.RequestID, "status", rec.Status,
		"event_id", rec.EventID, "subscribers", n)
	hubAnswer(w, http.StatusOK, "accepted", "")
}

// checkStatusEvent names what is wrong with an event; "" if nothing.
func checkStatusEvent(ev *statusEvent) string {
	if ev.Topic != "" && ev.Topic != TopicCredentialStatusUpdate {
		return "The event's topic '" + truncate(ev.Topic, 64) + "' differs from hub.topic " + TopicCredentialStatusUpdate
	}
	if ev.Event == nil {
		return "The body has no event: want {publishedOn, publisher, topic, event: {id, requestId, status, timestamp, url}}"
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"event.id", ev.Event.ID}, {"event.requestId", ev.Event.RequestID}, {"event.status", ev.Event.Status},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return "The event has no " + strings.Join(missing, ", ")
	}
	for _, v := range []string{ev.Publisher, rawText(ev.PublishedOn), ev.Event.ID, ev.Event.RequestID, ev.Event.Status, ev.Event.Timestamp} {
		if len(v) > maxStatusFieldLength || strings.IndexFunc(v, isControl) >= 0 {
			return "The event's fields must be printable text of at most 256 bytes"
		}
	}
	if ev.Event.URL != nil && len(*ev.Event.URL) > maxCallbackBytes {
		return "The event's url is too long"
	}
	return ""
}

// rawText is a JSON string's value, "" for null or absent, and the
// compacted JSON text of anything else.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}

// routeLive queues body for the live subscriptions of topic and returns
// how many there were; unlike route, nothing waits in a backlog.
func (s *Sim) routeLive(topic string, body []byte) int {
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
	return n
}

func (s *Sim) handleGetCredentialStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("requestId")
	recs := s.CredentialStatus(id)
	if recs == nil {
		problem(w, http.StatusNotFound, "not-found", "No credential status",
			"no partner published a "+TopicCredentialStatusUpdate+" event with this requestId")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestId": id, "events": recs})
}
