package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/websub"
)

// websubIntent answers the hub's intent verification for our topic (the
// challenge, as text) and acknowledges its denial notices.
func (h *handler) websubIntent(w http.ResponseWriter, r *http.Request) {
	h.intent(w, r, h.Subscriber)
}

// intent answers an intent verification for sub's topic.
func (h *handler) intent(w http.ResponseWriter, r *http.Request, sub *websub.Subscriber) {
	if sub == nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "no subscription to confirm here"))
		return
	}
	in, err := websub.ParseIntentQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, h.Logger, &bridge.Error{Code: bridge.EInvalid, Message: err.Error()})
		return
	}
	challenge, ok := sub.HandleIntent(in)
	switch {
	case ok:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(challenge))
	case in.Mode == websub.ModeDenied:
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "no subscription to confirm for this topic and mode"))
	}
}

// signedBody reads a WebSub delivery and checks its X-Hub-Signature; it
// answers the request itself when either fails.
func (h *handler) signedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := readBody(w, r, h.MaxBodyBytes)
	if err == nil && !websub.Verify(h.WebSubSecret, r.Header.Get(websub.SignatureHeader), body) {
		err = bridge.FieldErrorf(bridge.EUnauthorized, websub.SignatureHeader, "missing or wrong HMAC signature")
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return nil, false
	}
	return body, true
}

// websubDelivery receives a CREDENTIAL_ISSUED delivery. It answers with the
// acknowledgement MOSIP expects only once the effect is durable; a 5xx makes
// the hub deliver again. A delivery that can never be applied is recorded
// and acknowledged (status ERROR) so that the hub does not retry forever.
func (h *handler) websubDelivery(w http.ResponseWriter, r *http.Request) {
	body, ok := h.signedBody(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var ev mosip.CredentialEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		h.undeliverable(w, r, &ev, bodyID(body), store.DeliveryUndecryptable, "the delivery is not a CREDENTIAL_ISSUED event: "+err.Error())
		return
	}
	eventID := ev.Event.ID
	if eventID == "" {
		eventID = bodyID(body)
	}
	if !h.ourTopic(ev.Topic) {
		h.undeliverable(w, r, &ev, eventID, store.DeliveryWrongTopic, "topic "+ev.Topic+" is not "+h.WebSubTopic)
		return
	}
	plain, err := mosip.DecryptCredential(h.PartnerKey, ev.Event.Data.Credential)
	if err != nil {
		h.undeliverable(w, r, &ev, eventID, store.DeliveryUndecryptable, err.Error())
		return
	}
	cred, err := mosip.ParseCredential(plain)
	clear(plain) // personal data: keep it no longer than needed
	if err != nil {
		h.undeliverable(w, r, &ev, eventID, store.DeliveryUndecryptable, err.Error())
		return
	}
	outcome, err := h.Pipeline.ApplyCredential(ctx, eventID, cred)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	status := mosip.AckReceived
	if outcome != store.DeliveryApplied && outcome != store.DeliveryIgnored && outcome != pipeline.OutcomeDuplicate {
		status = mosip.AckError
	}
	writeJSON(w, http.StatusOK, mosip.NewAck(&ev, status, h.Now()))
}

func (h *handler) undeliverable(w http.ResponseWriter, r *http.Request, ev *mosip.CredentialEvent, eventID, outcome, detail string) {
	if _, err := h.Pipeline.RecordUndeliverable(r.Context(), eventID, outcome, detail); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, mosip.NewAck(ev, mosip.AckError, h.Now()))
}

// ourTopic accepts the configured topic, with or without a partner prefix
// ("opencrvs-partner/CREDENTIAL_ISSUED" vs "CREDENTIAL_ISSUED"): the HMAC
// already proves the delivery is for our subscription.
func (h *handler) ourTopic(topic string) bool {
	return topic == h.WebSubTopic || strings.HasSuffix(topic, "/"+h.WebSubTopic) || strings.HasSuffix(h.WebSubTopic, "/"+topic)
}

// bodyID identifies a delivery without an event id by its content.
func bodyID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// identityIntent answers the hub's intent verification for the identity
// update topic.
func (h *handler) identityIntent(w http.ResponseWriter, r *http.Request) {
	h.intent(w, r, h.IdentitySubscriber)
}

// identityDelivery receives an identity update event: which identity MOSIP
// changed. It answers 200 only once the effect is durable.
func (h *handler) identityDelivery(w http.ResponseWriter, r *http.Request) {
	if h.IdentitySubscriber == nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "identity updates are not subscribed to (MOSIP_IDENTITY_UPDATE_TOPIC)"))
		return
	}
	body, ok := h.signedBody(w, r)
	if !ok {
		return
	}
	var ev mosip.IdentityEvent
	err := json.Unmarshal(body, &ev)
	switch {
	case err != nil:
		err = bridge.Errorf(bridge.EInvalid, "the delivery is not an identity update event: %v", err)
	case ev.Event.ID == "":
		err = bridge.FieldErrorf(bridge.EInvalid, "event.id", "the event has no id")
	case ev.Event.Data.UIN == "" && ev.Event.Data.VID == "":
		err = bridge.FieldErrorf(bridge.EInvalid, "event.data.UIN", "the event names no identity (UIN or VID)")
	case ev.Topic != h.IdentityTopic && !strings.HasSuffix(ev.Topic, "/"+h.IdentityTopic):
		err = bridge.FieldErrorf(bridge.EInvalid, "topic", "topic %s is not %s", ev.Topic, h.IdentityTopic)
	}
	if err != nil {
		// Acknowledged with the reason: the hub must not redeliver what can
		// never be applied.
		h.Logger.Warn("identity update delivery refused", "err", err)
		writeJSON(w, http.StatusOK, map[string]string{"status": mosip.AckError, "reason": err.Error()})
		return
	}
	outcome, err := h.Pipeline.ApplyIdentityUpdate(r.Context(), &ev)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": mosip.AckReceived, "outcome": outcome})
}
