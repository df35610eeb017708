package httpapi

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
)

// admin guards an operators' route with the ADMIN_TOKEN bearer token
// (compared in constant time).
func (h *handler) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.AdminToken == "" {
			writeError(w, r, h.Logger, bridge.Errorf(bridge.EForbidden, "the admin API is off: set ADMIN_TOKEN to turn it on"))
			return
		}
		if h.tooManyFailures(w, r) {
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(h.AdminToken)) != 1 {
			h.signInLimits.allow(r)
			writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EUnauthorized, "Authorization", "the admin API needs Authorization: Bearer <ADMIN_TOKEN>"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	}
}

// adminWho names the admin API in transactions' event logs.
const adminWho = "admin API"

// listTransactions: GET /admin/transactions?state=&kind=&version=&older_than=&q=&limit=&cursor=
// answers an admin.Page, newest first.
func (h *handler) listTransactions(w http.ResponseWriter, r *http.Request) {
	q, err := admin.ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	page, err := h.adminService.List(r.Context(), q)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// showTransaction: GET /admin/transactions/{id} answers an admin.Detail:
// the transaction with its event log and last error.
func (h *handler) showTransaction(w http.ResponseWriter, r *http.Request) {
	d, err := h.adminService.Show(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// retryTransaction: POST /admin/transactions/{id}/retry revives a DEAD
// transaction or resubmits one MOSIP refused (admin.Service.Retry).
func (h *handler) retryTransaction(w http.ResponseWriter, r *http.Request) {
	v, err := h.adminService.Retry(r.Context(), r.PathValue("id"), adminWho)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// cancelRequest is the body of POST /admin/transactions/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// cancelTransaction: POST /admin/transactions/{id}/cancel {"reason": "..."}
// stops a transaction for good (admin.Service.Cancel).
func (h *handler) cancelTransaction(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 16<<10)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var req cancelRequest
	if len(bytes.TrimSpace(body)) == 0 {
		// No body: no reason, which Cancel answers.
	} else if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EInvalid, `the body must be JSON: {"reason": "why the transaction is cancelled"}`))
		return
	}
	v, err := h.adminService.Cancel(r.Context(), r.PathValue("id"), req.Reason, adminWho)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// counts: GET /admin/counts answers admin.Counts.
func (h *handler) counts(w http.ResponseWriter, r *http.Request) {
	c, err := h.adminService.Counts(r.Context())
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
