package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/esignet"
)

// maxESignetBody bounds a POST /esignet/get-oidp-user-info body:
// {clientId, redirectUri}.
const maxESignetBody = 16 << 10

// esignetRequest is the body the OpenCRVS form sends (mosip-api's).
type esignetRequest struct {
	ClientID    string `json:"clientId"`
	RedirectURI string `json:"redirectUri"`
}

// esignetUserInfo exchanges the E-Signet authorization code the form
// received (?code=..&state=..) for the person's user info, verified
// against E-Signet's JWKS, in the shape the form reads.
//
// Answers: 200 {name{firstname, middlename, surname}, gender, birthDate,
// verificationStatus "authenticated", dobUnknown, idType, nid,
// userInfoToken}; problem JSON otherwise: 400 for a missing code or
// redirectUri, a clientId other than OIDP_CLIENT_ID, or a code, client id
// or redirect URI E-Signet refused (a used or expired code: detail names
// E-Signet's invalid_grant); 401/403 for the OpenCRVS token; 404 when
// E-Signet is not configured; 502 when E-Signet's answer cannot be
// trusted (a user info whose signature does not verify against the JWKS,
// an unsigned one) or it refused the mediator's client assertion (a
// configuration problem operators find in the log); 503 (Retry-After) when
// E-Signet or its JWKS cannot be reached.
//
// state is accepted and not checked: the form made it (OpenCRVS uses the
// constant "fetch-on-mount"), so the mediator has nothing to compare it
// with; the caller's OpenCRVS token is what protects the route. Neither
// the code, the tokens nor the user info is logged.
func (h *handler) esignetUserInfo(w http.ResponseWriter, r *http.Request) {
	h.allowOrigin(w, r)
	if h.ESignet == nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "E-Signet is off on this mediator: configure ESIGNET_TOKEN_URL and OIDP_CLIENT_PRIVATE_KEY_PATH"))
		return
	}
	if _, _, err := h.authenticateScope(r, ""); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	code := strings.TrimSpace(r.URL.Query().Get("code"))
	if code == "" {
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "code", "the query must carry the authorization code E-Signet sent: ?code=...&state=..."))
		return
	}
	body, err := readBody(w, r, maxESignetBody)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var req esignetRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EInvalid, `the body must be a JSON object {"clientId": "...", "redirectUri": "..."}`))
		return
	}
	switch {
	case h.ESignetClientID != "" && req.ClientID == "":
		req.ClientID = h.ESignetClientID
	case h.ESignetClientID != "" && req.ClientID != h.ESignetClientID:
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "clientId", "this mediator is the E-Signet client configured in OIDP_CLIENT_ID; the request names another"))
		return
	case req.ClientID == "":
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "clientId", "the E-Signet client id is required"))
		return
	}
	if strings.TrimSpace(req.RedirectURI) == "" {
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "redirectUri", "the redirect URI of the authorization request is required"))
		return
	}
	info, err := h.ESignet.UserInfo(r.Context(), esignet.Request{Code: code, ClientID: req.ClientID, RedirectURI: req.RedirectURI})
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	h.Logger.Info("esignet user info verified", "request_id", requestID(r.Context()), "key_id", info.KeyID)
	form := info.Claims.Form()
	form.UserInfoToken = info.JWT
	writeJSON(w, http.StatusOK, form)
}

// esignetPreflight answers the browser's CORS preflight.
func (h *handler) esignetPreflight(w http.ResponseWriter, r *http.Request) {
	if !h.allowOrigin(w, r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// allowOrigin sets the CORS headers when the request comes from one of
// CORSOrigins (CLIENT_APP_URL), and reports whether it does.
func (h *handler) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !slices.ContainsFunc(h.CORSOrigins, func(o string) bool { return strings.TrimSuffix(o, "/") == origin }) {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id")
	return true
}
