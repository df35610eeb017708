package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/vc"
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
	challenge, ok := sub.HandleIntent(r.Context(), in)
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

// signedBody reads a WebSub delivery on topic (telemetry.TopicCredential
// or TopicIdentity) and checks its X-Hub-Signature; it answers the request
// itself, and counts it, when either fails.
func (h *handler) signedBody(w http.ResponseWriter, r *http.Request, topic string) ([]byte, bool) {
	body, err := readBody(w, r, deliveryBodyBytes)
	if err != nil {
		h.Metrics.WebSubDelivery(topic, telemetry.DeliveryUnreadable)
		writeError(w, r, h.Logger, err)
		return nil, false
	}
	if !websub.Verify(h.WebSubSecret, r.Header.Get(websub.SignatureHeader), body) {
		h.Metrics.WebSubDelivery(topic, telemetry.DeliveryBadSignature)
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EUnauthorized, websub.SignatureHeader, "missing or wrong HMAC signature"))
		return nil, false
	}
	return body, true
}

// websubDelivery receives a CREDENTIAL_ISSUED delivery. It answers with the
// acknowledgement MOSIP expects only once the effect is durable; a 5xx makes
// the hub deliver again. A delivery that can never be applied is recorded
// and acknowledged (status ERROR) so that the hub does not retry forever.
func (h *handler) websubDelivery(w http.ResponseWriter, r *http.Request) {
	body, ok := h.signedBody(w, r, telemetry.TopicCredential)
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
	if err != nil {
		clear(plain)
		h.undeliverable(w, r, &ev, eventID, store.DeliveryUndecryptable, err.Error())
		return
	}
	cred.BRN, cred.RequestID = ev.Event.Data.OpencrvsBRN, ev.Event.TransactionID
	aid := cred.RegistrationID
	if cred.BRN != "" {
		aid = "" // MOSIP's OpenCRVS stage credential names a VID there: personal data
	}
	apply := h.checkCredential(w, r, &ev, body, eventID, aid, plain)
	clear(plain) // personal data: keep it no longer than needed
	if !apply {
		return
	}
	outcome, err := h.Pipeline.ApplyCredential(ctx, eventID, cred)
	if err != nil {
		h.Metrics.WebSubDelivery(telemetry.TopicCredential, telemetry.DeliveryError)
		writeError(w, r, h.Logger, err)
		return
	}
	h.Metrics.WebSubDelivery(telemetry.TopicCredential, outcome)
	status := mosip.AckReceived
	if outcome != store.DeliveryApplied && outcome != store.DeliveryIgnored && outcome != pipeline.OutcomeDuplicate {
		status = mosip.AckError
	}
	writeJSON(w, http.StatusOK, mosip.NewAck(&ev, status, h.Now()))
}

// How the proofs of delivered credentials are checked (MOSIP_VC_VERIFY).
const (
	CredentialCheckOff     = "off"
	CredentialCheckEnforce = "enforce"
	// CredentialCheckLogOnly logs a credential whose proof does not verify
	// and applies it: for a migration to verified credentials.
	CredentialCheckLogOnly = "log-only"
)

// checkCredential verifies the proof of the decrypted credential plain (for
// transaction aid) and reports whether the delivery may be applied. When it
// may not, it has answered: 503 while the issuer's key cannot be fetched
// (the hub delivers again), else the delivery is recorded and acknowledged
// with ERROR, as other deliveries that can never be applied are, so that the
// hub does not deliver a forgery forever.
func (h *handler) checkCredential(w http.ResponseWriter, r *http.Request, ev *mosip.CredentialEvent, body []byte, eventID, aid string, plain []byte) bool {
	if h.Credentials == nil || h.CredentialCheck == CredentialCheckOff || h.CredentialCheck == "" {
		return true
	}
	res, err := h.Credentials.Verify(r.Context(), plain)
	reason := vc.Reason(err)
	if err == nil {
		if f := unsignedRead(res.Unsigned); f != "" {
			reason = "unsigned_field"
			err = fmt.Errorf("the signature does not cover %s, which the mediator reads: the credential's JSON-LD contexts do not define it", f)
		}
	}
	if err == nil {
		return true
	}
	// The AID and the reason only: vc's errors name URLs and kinds, never
	// a credential value.
	log := h.Logger.With("event_id", eventID, "transaction_id", aid, "reason", reason, "err", err)
	switch {
	case h.CredentialCheck == CredentialCheckLogOnly:
		log.WarnContext(r.Context(), "credential proof does not verify; applied anyway (MOSIP_VC_VERIFY=log-only)")
		return true
	case vc.Transient(err):
		log.WarnContext(r.Context(), "credential proof not checked: the issuer key is unavailable; the hub will deliver again")
		writeError(w, r, h.Logger, &bridge.Error{Code: bridge.EUnavailable, Message: "the key the credential is signed with could not be fetched; deliver again later", Err: err})
		return false
	}
	log.WarnContext(r.Context(), "credential refused: its proof does not verify")
	// Recorded under the body's hash, not the event id: a forgery naming a
	// genuine event's id must not make the genuine delivery a duplicate.
	h.undeliverable(w, r, ev, pipeline.OutcomeUnverified+":"+bodyID(body), pipeline.OutcomeUnverified, reason+": "+err.Error())
	return false
}

// unsignedRead returns the first property the mediator reads among the
// unsigned ones of a verified credential: any top-level one (nothing
// outside the credential's terms has a place in it), or a
// credentialSubject field ParseCredential reads.
func unsignedRead(unsigned []string) string {
	for _, p := range unsigned {
		field, inSubject := strings.CutPrefix(p, "credentialSubject.")
		if !inSubject || slices.Contains(mosip.SubjectFieldsRead(), field) {
			return p
		}
	}
	return ""
}

func (h *handler) undeliverable(w http.ResponseWriter, r *http.Request, ev *mosip.CredentialEvent, eventID, outcome, detail string) {
	isNew, err := h.Pipeline.RecordUndeliverable(r.Context(), eventID, outcome, detail)
	if err != nil {
		h.Metrics.WebSubDelivery(telemetry.TopicCredential, telemetry.DeliveryError)
		writeError(w, r, h.Logger, err)
		return
	}
	if !isNew {
		outcome = pipeline.OutcomeDuplicate
	}
	h.Metrics.WebSubDelivery(telemetry.TopicCredential, outcome)
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
	body, ok := h.signedBody(w, r, telemetry.TopicIdentity)
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
		h.Metrics.WebSubDelivery(telemetry.TopicIdentity, telemetry.DeliveryInvalid)
		writeJSON(w, http.StatusOK, map[string]string{"status": mosip.AckError, "reason": err.Error()})
		return
	}
	outcome, err := h.Pipeline.ApplyIdentityUpdate(r.Context(), &ev)
	if err != nil {
		h.Metrics.WebSubDelivery(telemetry.TopicIdentity, telemetry.DeliveryError)
		writeError(w, r, h.Logger, err)
		return
	}
	h.Metrics.WebSubDelivery(telemetry.TopicIdentity, outcome)
	writeJSON(w, http.StatusOK, map[string]string{"status": mosip.AckReceived, "outcome": outcome})
}
