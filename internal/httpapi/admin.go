package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
)

// admin guards an operators' route with the ADMIN_TOKEN bearer token.
func (h *handler) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.AdminToken == "" {
			writeError(w, r, h.Logger, bridge.Errorf(bridge.EForbidden, "the admin API is off: set ADMIN_TOKEN to turn it on"))
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") ||
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(h.AdminToken)) != 1 {
			writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EUnauthorized, "Authorization", "the admin API needs Authorization: Bearer <ADMIN_TOKEN>"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	}
}

// listTransactions: GET /admin/transactions?state=DEAD&limit=50&before=<RFC 3339>
func (h *handler) listTransactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ListFilter{State: bridge.State(strings.ToUpper(q.Get("state")))}
	if f.State != "" && !f.State.Valid() {
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "state", "unknown state %q", q.Get("state")))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "limit", "limit must be a number from 1 to 1000"))
			return
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "before", "before must be an RFC 3339 time such as 2026-01-02T15:04:05Z"))
			return
		}
		f.Before = t
	}
	list, err := h.Store.List(r.Context(), f)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	views := make([]pipeline.TransactionView, len(list))
	for i, tr := range list {
		views[i] = pipeline.View(tr, nil)
	}
	writeJSON(w, http.StatusOK, map[string]any{"transactions": views})
}

// showTransaction: GET /admin/transactions/{id}, with its event log.
func (h *handler) showTransaction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	tr, err := h.Store.Transaction(r.Context(), id)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	events, err := h.Store.Events(r.Context(), id)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, pipeline.View(tr, events))
}

// retryTransaction: POST /admin/transactions/{id}/retry revives a DEAD
// transaction.
func (h *handler) retryTransaction(w http.ResponseWriter, r *http.Request) {
	tr, err := h.Pipeline.Retry(r.Context(), r.PathValue("id"), "admin API")
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, pipeline.View(tr, nil))
}
