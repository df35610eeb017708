package httpapi

import (
	"bytes"
	"net/http"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
)

// registration accepts a record from OpenCRVS: a 1.8 FHIR bundle or the
// mapped payload of the @opencrvs/mosip country-config library. It answers
// 202 only once the transaction(s) and their first jobs are committed.
func (h *handler) registration(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := h.intake(w, r, h.RequiredScope)
	if !ok {
		return
	}
	var err error
	var accepted []pipeline.Accepted
	// Which parser reads the body is told by its keys; the parser then
	// checks everything (a scan instead of a third decode of a large
	// bundle).
	switch trimmed := bytes.TrimSpace(body); {
	case len(trimmed) == 0 || trimmed[0] != '{':
		err = bridge.Errorf(bridge.EInvalid, "the body must be a JSON object")
	case pipeline.IsOpenCRVS19(body, caller):
		// 1.9: an EventDocument or a MosipInteropPayload, with the action token.
		accepted, err = h.Pipeline.Accept19(r.Context(), body, caller)
	case bytes.Contains(body, []byte(`"requestFields"`)):
		accepted, err = h.Pipeline.AcceptMapped(r.Context(), body, caller)
	case bytes.Contains(body, []byte(`"resourceType"`)):
		accepted, err = h.Pipeline.AcceptFHIR(r.Context(), body, caller)
	default:
		err = bridge.Errorf(bridge.EInvalid, "the body is neither an OpenCRVS 1.8 FHIR bundle (resourceType \"Bundle\"), an OpenCRVS 1.9 EventDocument (actions) nor a mapped MOSIP payload (requestFields)")
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"transactions": accepted})
}

// intake is the start of every request that brings work: the caller's
// OpenCRVS token with scope, room in the queue, the body. It answers the
// request itself when one fails.
func (h *handler) intake(w http.ResponseWriter, r *http.Request, scope string) (pipeline.Caller, []byte, bool) {
	claims, token, err := h.authenticateScope(r, scope)
	if err == nil {
		err = h.admission.admit(r.Context())
	}
	var body []byte
	if err == nil {
		body, err = readBody(w, r, h.MaxBodyBytes)
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return pipeline.Caller{}, nil, false
	}
	return pipeline.Caller{Token: token, RecordID: claims.RecordID, EventID: claims.EventID, ActionID: claims.ActionID, Scope: claims.Scope}, body, true
}

// authenticateScope checks the bearer token OpenCRVS signed and that it
// carries scope ("" for any).
func (h *handler) authenticateScope(r *http.Request, scope string) (*opencrvs.Claims, string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, "", bridge.FieldErrorf(bridge.EUnauthorized, "Authorization", "a bearer token from OpenCRVS is required")
	}
	token = strings.TrimSpace(token)
	claims, err := h.Verifier.Verify(r.Context(), token)
	if err != nil {
		return nil, "", err
	}
	if scope != "" && !claims.HasScope(scope) {
		return nil, "", bridge.Errorf(bridge.EForbidden, "the token does not carry the scope %s", scope)
	}
	return claims, token, nil
}
