package opencrvssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Fault modes of PUT /sim/faults.
const (
	faultHTTP500      = "http500"      // HTTP 500 with a GraphQL error body
	faultGraphQLError = "graphqlError" // HTTP 200 with an INTERNAL_SERVER_ERROR GraphQL error
)

// maxLatency bounds injected latency so that a typo cannot hang callers.
const maxLatency = 60 * time.Second

// faults are injected into POST /graphql, before the token is looked at, so
// a failed call records nothing.
type faults struct {
	LatencyMS int     `json:"latencyMs"`
	ErrorRate float64 `json:"errorRate"`
	Mode      string  `json:"mode"`
	Outage    bool    `json:"outage"`
	// TRPCCode is the tRPC error (FORBIDDEN, NOT_FOUND, ...) an injected
	// error answers to 1.9 accept/reject calls; "" means
	// INTERNAL_SERVER_ERROR. GraphQL calls get Mode's error.
	TRPCCode string `json:"trpcCode,omitempty"`
}

func (f faults) validate() error {
	var errs []error
	if f.LatencyMS < 0 || time.Duration(f.LatencyMS)*time.Millisecond > maxLatency {
		errs = append(errs, fmt.Errorf("latencyMs %d: want 0 to %d", f.LatencyMS, maxLatency.Milliseconds()))
	}
	if !(f.ErrorRate >= 0 && f.ErrorRate <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("errorRate %v: want 0 to 1", f.ErrorRate))
	}
	if f.Mode != faultHTTP500 && f.Mode != faultGraphQLError {
		errs = append(errs, fmt.Errorf("mode %q: want %q or %q", f.Mode, faultHTTP500, faultGraphQLError))
	}
	if err := validTRPCCode(f.TRPCCode); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// decodeFaults reads a PUT /sim/faults body. An absent mode means http500.
func decodeFaults(body []byte) (faults, error) {
	var f faults
	if err := decodeStrict(body, &f); err != nil {
		return f, err
	}
	if f.Mode == "" {
		f.Mode = faultHTTP500
	}
	return f, f.validate()
}

func (s *Sim) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func (s *Sim) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readBody(w, r, maxControlBody)
	if err != nil {
		if tooLarge {
			writeProblem(w, http.StatusRequestEntityTooLarge, "body too large", "the faults document is above 64 KiB")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	f, err := decodeFaults(body)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid faults", err.Error())
		return
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	s.log.Info("opencrvssim: faults set", "latency_ms", f.LatencyMS, "error_rate", f.ErrorRate, "mode", f.Mode, "outage", f.Outage)
	writeJSON(w, http.StatusOK, f)
}

// injectFault applies the configured faults to one GraphQL request. It
// reports whether it answered the request.
func (s *Sim) injectFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Outage {
		s.countFault()
		writeGraphQLError(w, http.StatusServiceUnavailable, "gateway unavailable (simulated outage)", "SERVICE_UNAVAILABLE", nil)
		return true
	}
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.ctx.Done():
		}
	}
	if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
		s.countFault()
		if f.Mode == faultGraphQLError {
			writeGraphQLError(w, http.StatusOK, "Internal server error (simulated)", "INTERNAL_SERVER_ERROR", nil)
		} else {
			writeGraphQLError(w, http.StatusInternalServerError, "Internal server error (simulated)", "INTERNAL_SERVER_ERROR", nil)
		}
		return true
	}
	return false
}

func (s *Sim) countFault() {
	s.mu.Lock()
	s.counts.faultsInjected++
	s.mu.Unlock()
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data. An empty body decodes as {}.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not the expected JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("body has data after the JSON object")
	}
	return nil
}
