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
	claims, token, err := h.authenticate(r)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	body, err := readBody(w, r, h.MaxBodyBytes)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	caller := pipeline.Caller{Token: token, RecordID: claims.RecordID}
	var accepted []pipeline.Accepted
	// Which parser reads the body is told by its keys; the parser then
	// checks everything (a scan instead of a third decode of a large
	// bundle).
	switch trimmed := bytes.TrimSpace(body); {
	case len(trimmed) == 0 || trimmed[0] != '{':
		err = bridge.Errorf(bridge.EInvalid, "the body must be a JSON object")
	case bytes.Contains(body, []byte(`"requestFields"`)):
		accepted, err = h.Pipeline.AcceptMapped(r.Context(), body, caller)
	case bytes.Contains(body, []byte(`"resourceType"`)):
		accepted, err = h.Pipeline.AcceptFHIR(r.Context(), body, caller)
	default:
		err = bridge.Errorf(bridge.EInvalid, "the body is neither an OpenCRVS FHIR bundle (resourceType \"Bundle\") nor a mapped MOSIP payload (requestFields)")
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"transactions": accepted})
}

// authenticate checks the bearer token OpenCRVS signed.
func (h *handler) authenticate(r *http.Request) (*opencrvs.Claims, string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, "", bridge.FieldErrorf(bridge.EUnauthorized, "Authorization", "a bearer token from OpenCRVS is required")
	}
	token = strings.TrimSpace(token)
	claims, err := h.Verifier.Verify(r.Context(), token)
	if err != nil {
		return nil, "", err
	}
	if h.RequiredScope != "" && !claims.HasScope(h.RequiredScope) {
		return nil, "", bridge.Errorf(bridge.EForbidden, "the token does not carry the scope %s", h.RequiredScope)
	}
	return claims, token, nil
}
