package httpapi

import (
	"errors"
	"net/http"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/peer"
)

// SplitConfig configures the endpoints of the split design's roles. Only
// the role's own endpoints answer; the others are 404.
type SplitConfig struct {
	// OpenCRVSSide serves /webhooks/opencrvs and /birthReceiveNid:
	// WebhookSecret verifies OpenCRVS's deliveries, Results opens what the
	// MOSIP side sends back (its bearer token is checked with Verifier).
	OpenCRVSSide  bool
	WebhookSecret []byte
	Results       *peer.Receiver
	// MOSIPSide serves /opencrvs/v1/birth, /death and /generateAid:
	// Tokens checks the caller's MOSIP token and role, Records opens the
	// records.
	MOSIPSide bool
	Tokens    *peer.TokenValidator
	Records   *peer.Receiver
}

func (h *handler) splitRoutes(mux interface {
	HandleFunc(string, func(http.ResponseWriter, *http.Request))
}) {
	mux.HandleFunc("GET /webhooks/opencrvs", h.openCRVSSide(h.webhookIntent))
	mux.HandleFunc("POST /webhooks/opencrvs", h.openCRVSSide(h.webhookDelivery))
	// The peer's routes have the intake's per-client limit (a client past
	// it gets 429 before its token costs a call to MOSIP's auth manager);
	// the webhooks have none: OpenCRVS never delivers a refused record
	// again.
	mux.HandleFunc("POST /birthReceiveNid", h.openCRVSSide(h.limited(h.intakeLimits, h.peerResult)))
	mux.HandleFunc("POST /opencrvs/v1/birth", h.mosipSide(h.limited(h.intakeLimits, h.peerRecord(bridge.EventBirth))))
	mux.HandleFunc("POST /opencrvs/v1/death", h.mosipSide(h.limited(h.intakeLimits, h.peerRecord(bridge.EventDeath))))
	mux.HandleFunc("GET /opencrvs/v1/generateAid", h.mosipSide(h.limited(h.intakeLimits, h.generateAID)))
}

func (h *handler) openCRVSSide(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.Split == nil || !h.Split.OpenCRVSSide {
			writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "%s is served by the OpenCRVS-side mediator of the split design (MEDIATOR_ROLE=opencrvs-side)", r.URL.Path))
			return
		}
		next(w, r)
	}
}

func (h *handler) mosipSide(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.Split == nil || !h.Split.MOSIPSide {
			writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "%s is served by the MOSIP-side mediator of the split design (MEDIATOR_ROLE=mosip-side)", r.URL.Path))
			return
		}
		next(w, r)
	}
}

// webhookIntent answers OpenCRVS's check of a new subscription.
func (h *handler) webhookIntent(w http.ResponseWriter, r *http.Request) {
	challenge, err := opencrvs.AnswerIntent(r)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	opencrvs.WriteIntentAnswer(w, challenge)
}

// webhookDelivery receives a BIRTH_REGISTERED or DEATH_REGISTERED
// delivery: the signature is checked over the exact bytes, and the record
// is stored before the answer. OpenCRVS does not deliver again after an
// HTTP error, so neither the queue depth nor a rate limit refuses a
// delivery here: a refused record would never get its national ID.
func (h *handler) webhookDelivery(w http.ResponseWriter, r *http.Request) {
	if h.Stopping != nil && h.Stopping() {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EBusy, "the mediator is stopping"))
		return
	}
	body, err := readBody(w, r, h.MaxBodyBytes)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	if err := opencrvs.VerifyWebhook(h.Split.WebhookSecret, body, r.Header.Get("X-Hub-Signature")); err != nil {
		h.Logger.WarnContext(r.Context(), "OpenCRVS webhook refused", "reason", "signature", "err", err)
		writeError(w, r, h.Logger, err)
		return
	}
	d, err := opencrvs.ParseWebhook(body)
	if errors.Is(err, opencrvs.ErrUnknownTopic) {
		// A topic the subscription did not ask for (BIRTH_CERTIFIED, ...):
		// acknowledged, nothing to do.
		h.Logger.InfoContext(r.Context(), "OpenCRVS webhook of a topic not handled; ignored", "err", err)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	accepted, err := h.Pipeline.AcceptWebhook(r.Context(), d, body)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"transactions": accepted})
}

// peerResult receives MOSIP's outcome of a record from the MOSIP side
// (the Node mediator's /birthReceiveNid): an OpenCRVS token (the MOSIP
// side's system client) and a sealed result.
func (h *handler) peerResult(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.authenticateScope(r, ""); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	env, plain, ok := h.openEnvelope(w, r, h.Split.Results, "result from the MOSIP side refused")
	if !ok {
		return
	}
	res, err := peer.ParseResult(plain)
	clear(plain)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	outcome, tr, err := h.Pipeline.ApplyPeerResult(r.Context(), env.ID, res)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"transactionId": tr.ID, "outcome": outcome})
}

// peerRecord receives a record the OpenCRVS side sealed (MOSIP side): the
// caller's MOSIP token and role, the envelope, then the record is stored
// (and queued) before the answer, which carries its AID.
func (h *handler) peerRecord(kind bridge.EventKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.Split.Tokens.Validate(r.Context(), peer.TokenFromRequest(r)); err != nil {
			writeError(w, r, h.Logger, err)
			return
		}
		if err := h.admission.admit(r.Context()); err != nil {
			writeError(w, r, h.Logger, err)
			return
		}
		env, plain, ok := h.openEnvelope(w, r, h.Split.Records, "record from the OpenCRVS side refused", "event", string(kind))
		if !ok {
			return
		}
		a, err := h.Pipeline.AcceptPeer(r.Context(), kind, env.ID, plain)
		clear(plain)
		if err != nil {
			writeError(w, r, h.Logger, err)
			return
		}
		msg := "Received. Packet creation queued."
		switch {
		case a.Duplicate:
			msg = "Received before; state " + string(a.State) + "."
		case a.State == bridge.StateSkipped:
			msg = "Received. Not forwarded to MOSIP: " + a.Reason
		}
		peer.WriteAnswer(w, http.StatusOK, msg, a.ID)
	}
}

// generateAID makes an AID for a record the OpenCRVS side will send
// (AID_SOURCE=peer there), answered as the Java mediator does: a JSON
// string.
func (h *handler) generateAID(w http.ResponseWriter, r *http.Request) {
	if _, err := h.Split.Tokens.Validate(r.Context(), peer.TokenFromRequest(r)); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	aid, err := h.Pipeline.NewAID(r.Context())
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, aid)
}

// openEnvelope reads the body and opens the envelope in it with rc; when
// that fails it logs refused (with attrs and the reason) and answers.
func (h *handler) openEnvelope(w http.ResponseWriter, r *http.Request, rc *peer.Receiver, refused string, attrs ...any) (envelope.Envelope, []byte, bool) {
	body, err := readBody(w, r, envelope.MaxBytes+1)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return envelope.Envelope{}, nil, false
	}
	env, plain, err := rc.Open(r.Context(), body)
	if err != nil {
		h.Logger.WarnContext(r.Context(), refused, append(attrs, "err", err)...)
		writeError(w, r, h.Logger, err)
		return envelope.Envelope{}, nil, false
	}
	return env, plain, true
}
