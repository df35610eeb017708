package httpapi

import (
	"context"
	"net/http"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// healthz answers while the process serves requests.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the mediator can accept records: it is not
// shutting down and its database answers.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	if h.Stopping != nil && h.Stopping() {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EBusy, "the mediator is shutting down"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		writeError(w, r, h.Logger, &bridge.Error{Code: bridge.EUnavailable, Message: "the database does not answer", Err: err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "no route %s %s", r.Method, r.URL.Path))
}
