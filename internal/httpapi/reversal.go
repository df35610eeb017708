package httpapi

import (
	"net/http"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// deathReversal accepts a request to undo, in MOSIP, a death registered by
// mistake. It answers 202 once the request matched MOSIP's identity and the
// reactivation is stored with its job; a request that does not match is
// refused (409) with the fields that differ.
func (h *handler) deathReversal(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := h.intake(w, r, h.ReversalScope)
	if !ok {
		return
	}
	accepted, err := h.Pipeline.AcceptReversal(r.Context(), body, caller)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"transactions": accepted})
}

// reversalStatus is what the caller of a death reversal reads: where it is,
// and why when MOSIP refused it.
type reversalStatus struct {
	ID    string       `json:"id"`
	State bridge.State `json:"state"`
	// Done is true once MOSIP reactivated the identity (CONFIRMED).
	Done      bool      `json:"done"`
	Reason    string    `json:"reason,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// deathReversalStatus: GET /events/death-reversal/{id}.
func (h *handler) deathReversalStatus(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.authenticateScope(r, h.ReversalScope); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	tr, err := h.Store.Transaction(r.Context(), r.PathValue("id"))
	if err == nil && tr.Kind != bridge.EventDeathReversal {
		err = bridge.Errorf(bridge.ENotFound, "no death reversal %s", r.PathValue("id"))
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, reversalStatus{ID: tr.ID, State: tr.State, Done: tr.State == bridge.StateConfirmed,
		Reason: tr.RejectReason, LastError: tr.LastError, UpdatedAt: tr.UpdatedAt})
}
