package mosipsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Endpoints that faults can be aimed at.
const (
	EndpointAuth         = "auth"
	EndpointCreatePacket = "createPacket"
	EndpointWorkflow     = "workflow"
	EndpointStatus       = "status"
	EndpointHub          = "hub"
	// EndpointIDRepo is the ID repository: identity read and VIDs by UIN.
	EndpointIDRepo = "idrepo"
	// EndpointIDA is IDA's authentication endpoint.
	EndpointIDA = "ida"
	// EndpointTokenID is the key manager's token ID generator (PSUT).
	EndpointTokenID = "tokenid"
)

// Error modes of Faults.ErrorRate.
const (
	// ModeHTTP500 answers HTTP 500 with a Spring error body.
	ModeHTTP500 = "http500"
	// ModeErrors200 answers HTTP 200 with a transient-looking MOSIP error
	// (the hub, which has no such answer, denies with HTTP 500).
	ModeErrors200 = "errors200"
	// ModeTimeout never answers: the request hangs until the client gives
	// up (or Faults.Timeout passes, then 504).
	ModeTimeout = "timeout"
)

// Faults is the simulator's fault injection, read and replaced through
// /sim/faults. The zero value injects nothing.
type Faults struct {
	// Latency is added to every request to the selected endpoints.
	Latency Duration `json:"latency"`
	// ErrorRate (0..1) of the requests to the selected endpoints fail as
	// ErrorMode says (default http500).
	ErrorRate float64 `json:"errorRate"`
	ErrorMode string  `json:"errorMode,omitempty"`
	// Timeout bounds how long a "timeout" fault hangs, default 2m.
	Timeout Duration `json:"timeout,omitempty"`
	// Outage makes the selected endpoints answer 503.
	Outage bool `json:"outage"`
	// Endpoints selects the endpoints the faults above apply to (auth,
	// createPacket, workflow, status, hub, idrepo, ida, tokenid,
	// ridgenerator, keymanager, sync, packetreceiver); empty means all.
	Endpoints []string `json:"endpoints,omitempty"`

	// RejectRate (0..1) of registrations end REJECTED at demo dedupe (at
	// the CMD validator on routes without dedupe, at the packet validator
	// on OPENCRVS_NEW, which has neither); FailRate (0..1) end FAILED at a
	// random stage of their route.
	RejectRate float64 `json:"rejectRate"`
	FailRate   float64 `json:"failRate"`

	// DuplicateDeliveryRate (0..1) of successful WebSub deliveries are
	// delivered a second time; LostDeliveryRate (0..1) are never sent.
	DuplicateDeliveryRate float64 `json:"duplicateDeliveryRate"`
	LostDeliveryRate      float64 `json:"lostDeliveryRate"`

	// DisableDemoDedupe turns demographic deduplication off;
	// DisableDeathCredential stops credentials for CRVS_DEATH.
	DisableDemoDedupe      bool `json:"disableDemoDedupe"`
	DisableDeathCredential bool `json:"disableDeathCredential"`
	// DisablePerpetualVID makes the UIN generator issue no perpetual VID
	// (a VID policy without one, or a VID service failing quietly): the
	// VID list answers IDR-IDC-007 and OPENCRVS_NEW ends REPROCESS at the
	// OpenCRVS stage.
	DisablePerpetualVID bool `json:"disablePerpetualVID"`
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("250ms", "2s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\", got %s", truncate(string(b), 40))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\": %w", err)
	}
	*d = Duration(v)
	return nil
}

var allEndpoints = []string{EndpointAuth, EndpointCreatePacket, EndpointWorkflow, EndpointStatus, EndpointHub, EndpointIDRepo, EndpointIDA, EndpointTokenID,
	EndpointRIDGenerator, EndpointKeymanager, EndpointSync, EndpointPacketReceiver}

const maxFaultDelay = 10 * time.Minute

// Validate reports every problem of f at once.
func (f Faults) Validate() error {
	var errs []error
	rate := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %v", name, v))
		}
	}
	rate("errorRate", f.ErrorRate)
	rate("rejectRate", f.RejectRate)
	rate("failRate", f.FailRate)
	rate("duplicateDeliveryRate", f.DuplicateDeliveryRate)
	rate("lostDeliveryRate", f.LostDeliveryRate)
	switch f.ErrorMode {
	case "", ModeHTTP500, ModeErrors200, ModeTimeout:
	default:
		errs = append(errs, fmt.Errorf("errorMode %q: want %s, %s or %s", f.ErrorMode, ModeHTTP500, ModeErrors200, ModeTimeout))
	}
	for name, d := range map[string]Duration{"latency": f.Latency, "timeout": f.Timeout} {
		if d < 0 || time.Duration(d) > maxFaultDelay {
			errs = append(errs, fmt.Errorf("%s must be between 0 and %s", name, maxFaultDelay))
		}
	}
	for _, e := range f.Endpoints {
		if !slices.Contains(allEndpoints, e) {
			errs = append(errs, fmt.Errorf("endpoint %q: want one of %s", e, strings.Join(allEndpoints, ", ")))
		}
	}
	return errors.Join(errs...)
}

func (f *Faults) appliesTo(endpoint string) bool {
	return len(f.Endpoints) == 0 || slices.Contains(f.Endpoints, endpoint)
}

// Faults returns the current fault injection.
func (s *Sim) Faults() Faults {
	f := *s.faults.Load()
	f.Endpoints = slices.Clone(f.Endpoints)
	return f
}

// SetFaults replaces the fault injection.
func (s *Sim) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("mosipsim: faults: %w", err)
	}
	f.Endpoints = slices.Clone(f.Endpoints)
	s.faults.Store(&f)
	s.log.Info("mosipsim: faults changed", "error_rate", f.ErrorRate, "error_mode", f.ErrorMode,
		"latency", time.Duration(f.Latency), "outage", f.Outage, "endpoints", strings.Join(f.Endpoints, ","),
		"reject_rate", f.RejectRate, "fail_rate", f.FailRate,
		"duplicate_delivery_rate", f.DuplicateDeliveryRate, "lost_delivery_rate", f.LostDeliveryRate)
	return nil
}

// withFaults applies outage, latency and injected errors to a MOSIP
// endpoint before its handler runs.
func (s *Sim) withFaults(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.faults.Load()
		if !f.appliesTo(endpoint) {
			h(w, r)
			return
		}
		if f.Outage {
			unavailable(w)
			return
		}
		if f.Latency > 0 && !s.sleep(r.Context(), time.Duration(f.Latency)) {
			unavailable(w)
			return
		}
		if f.ErrorRate > 0 && s.chance(f.ErrorRate) {
			s.injectError(w, r, endpoint, f)
			return
		}
		h(w, r)
	}
}

// sleep waits d; false if the request or the simulator ended first.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.ctx.Done():
		return false
	}
}

func (s *Sim) injectError(w http.ResponseWriter, r *http.Request, endpoint string, f *Faults) {
	mode := f.ErrorMode
	if mode == "" {
		mode = ModeHTTP500
	}
	s.log.Info("mosipsim: injected error", "endpoint", endpoint, "mode", mode)
	switch mode {
	case ModeTimeout:
		limit := time.Duration(f.Timeout)
		if limit <= 0 {
			limit = 2 * time.Minute
		}
		if s.sleep(r.Context(), limit) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = w.Write([]byte("504 Gateway Time-out\n"))
		}
	case ModeErrors200:
		switch endpoint {
		case EndpointAuth:
			s.mosipErrors(w, "", "", svcErr(CodeAuthUnavail, "Fail to connect to auth service"))
		case EndpointCreatePacket:
			s.mosipErrors(w, packetWriterID, packetWriterVersion, svcErr(CodePacketKeeper, "Packet keeper exception occured."))
		case EndpointWorkflow:
			s.mosipErrors(w, mosip.WorkflowInstanceID, mosip.WorkflowInstanceVersion, svcErr(CodeWorkflowUnknown, "Unknown Exception"))
		case EndpointStatus:
			s.mosipErrors(w, mosip.StatusSearchID, mosip.StatusSearchVersion, svcErr(CodeStatusUnknown, "Unknown Exception Found"))
		case EndpointIDRepo:
			s.mosipErrors(w, "", "", svcErr(CodeIDRepoUnknown, "Unknown error occurred"))
		case EndpointIDA:
			s.idaAnswer(w, "", idaFail("IDA-MLC-007", "Request could not be processed. Please try again", ""))
		case EndpointTokenID:
			s.mosipErrors(w, tokenIDResponseID, tokenIDResponseVersion, svcErr(CodeTokenIDInternal, "Internal Server Error"))
		case EndpointRIDGenerator:
			s.mosipErrors(w, ridGeneratorID, ridGeneratorVersion, svcErr(CodeRIDExhausted, "Error occured while fetching rid"))
		case EndpointKeymanager:
			s.mosipErrors(w, keymanagerID, keymanagerVersion, svcErr(CodeKeymanagerInternal, "Internal server error"))
		case EndpointSync:
			s.mosipErrors(w, mosip.SyncID, mosip.SyncVersion, svcErr(CodeStatusUnknown, "Unknown Exception Found"))
		case EndpointPacketReceiver:
			s.mosipErrors(w, packetReceiverID, packetReceiverVersion, svcErr(CodePacketUnknown, "Unknown Exception Found"))
		default:
			hubAnswer(w, http.StatusInternalServerError, "denied", "Error occurred while processing the subscription request")
		}
	default:
		if endpoint == EndpointHub {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"timestamp": mosip.FormatTime(s.now()),
			"status":    http.StatusInternalServerError,
			"error":     "Internal Server Error",
			"path":      r.URL.Path,
		})
	}
}

func (s *Sim) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Sim) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Unreadable request", err.Error())
		return
	}
	var f Faults
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		problem(w, http.StatusBadRequest, "invalid-faults", "Invalid faults", "the body must be a faults object: "+jsonProblem(err))
		return
	}
	if err := s.SetFaults(f); err != nil {
		problem(w, http.StatusBadRequest, "invalid-faults", "Invalid faults", strings.TrimPrefix(err.Error(), "mosipsim: faults: "))
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
