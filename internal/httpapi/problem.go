package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"opencrvs-mosip/internal/bridge"
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Field     string `json:"field,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

// busyRetryAfter is the Retry-After (seconds) of a busy answer.
const busyRetryAfter = "30"

// problemTypePrefix starts every problem type: stable identifiers a client
// can switch on.
const problemTypePrefix = "urn:opencrvs-mosip:problem:"

// status maps an error code to its HTTP status: the one place that does.
func status(code bridge.ErrorCode) (int, string) {
	switch code {
	case bridge.EInvalid:
		return http.StatusBadRequest, "Invalid request"
	case bridge.EUnsupported:
		return http.StatusBadRequest, "Unsupported record"
	case bridge.EUnauthorized:
		return http.StatusUnauthorized, "Unauthorized"
	case bridge.EForbidden:
		return http.StatusForbidden, "Forbidden"
	case bridge.ENotFound:
		return http.StatusNotFound, "Not found"
	case bridge.EConflict:
		return http.StatusConflict, "Conflict"
	case bridge.ETooLarge:
		return http.StatusRequestEntityTooLarge, "Request body too large"
	case bridge.EUnavailable:
		return http.StatusServiceUnavailable, "Service unavailable"
	case bridge.EBusy:
		return http.StatusServiceUnavailable, "Busy"
	case bridge.ERateLimited:
		return http.StatusTooManyRequests, "Too many requests"
	case bridge.EUpstream:
		return http.StatusBadGateway, "Bad gateway"
	}
	return http.StatusInternalServerError, "Internal error"
}

// writeError answers err as problem JSON. Internal errors are logged with
// their cause and shown without it.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := bridge.ErrorCodeOf(err)
	st, title := status(code)
	p := problem{
		Type:      problemTypePrefix + string(code),
		Title:     title,
		Status:    st,
		Instance:  r.URL.Path,
		RequestID: requestID(r.Context()),
	}
	var e *bridge.Error
	if errors.As(err, &e) && code != bridge.EInternal {
		p.Detail, p.Field = e.Message, e.Field
	}
	switch {
	case code == bridge.EInternal:
		p.Detail = "an unexpected error occurred; operators can find it in the logs by the request id"
		log.Error("request failed", "request_id", p.RequestID, "path", r.URL.Path, "err", err)
	case code == bridge.EBusy:
		// Expected under load: the sender retries; no log per request.
		w.Header().Set("Retry-After", busyRetryAfter)
	case code == bridge.EUnavailable:
		w.Header().Set("Retry-After", "5")
		log.Warn("request failed: dependency unavailable", "request_id", p.RequestID, "path", r.URL.Path, "err", err)
	case code == bridge.EUpstream:
		log.Warn("request failed: dependency answered wrongly", "request_id", p.RequestID, "path", r.URL.Path, "err", err)
	}
	if code == bridge.EUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
