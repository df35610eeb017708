package opencrvssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/opencrvs"
)

// tRPC procedures of the OpenCRVS 1.9 events service the simulator serves.
const (
	procRegisterAccept = opencrvs.ProcRegisterAccept
	procRegisterReject = opencrvs.ProcRegisterReject
)

// ReasonRegisterRejected is the reason GET /sim/records/{id} shows for a
// 1.9 record whose REGISTER action was rejected through tRPC (OpenCRVS 1.9
// takes no reason with the rejection).
const ReasonRegisterRejected = "REGISTER_REJECTED"

// tRPC error codes (TRPC_ERROR_CODES_BY_KEY) with their HTTP statuses.
var trpcCodes = map[string]struct {
	rpc, http int
}{
	"PARSE_ERROR":           {-32700, 400},
	"BAD_REQUEST":           {-32600, 400},
	"INTERNAL_SERVER_ERROR": {-32603, 500},
	"UNAUTHORIZED":          {-32001, 401},
	"FORBIDDEN":             {-32003, 403},
	"NOT_FOUND":             {-32004, 404},
	"METHOD_NOT_SUPPORTED":  {-32005, 405},
	"TIMEOUT":               {-32008, 408},
	"CONFLICT":              {-32009, 409},
	"TOO_MANY_REQUESTS":     {-32029, 429},
}

// trpcError is one failed call, as tRPC's default error formatter shapes
// it (the superjson transformer wraps it in {"json": ...}).
type trpcError struct {
	code, message string
}

func trpcErrorf(code, format string, args ...any) *trpcError {
	return &trpcError{code: code, message: fmt.Sprintf(format, args...)}
}

func (e *trpcError) status() int { return trpcCodes[e.code].http }

func (e *trpcError) shape(path string) any {
	return map[string]any{"error": map[string]any{"json": map[string]any{
		"message": e.message,
		"code":    trpcCodes[e.code].rpc,
		"data":    map[string]any{"code": e.code, "httpStatus": e.status(), "path": path},
	}}}
}

// trpcResult is the answer of one call of a batch.
type trpcResult struct {
	data any
	err  *trpcError
	path string
}

func (r trpcResult) shape() any {
	if r.err != nil {
		return r.err.shape(r.path)
	}
	return map[string]any{"result": map[string]any{"data": map[string]any{"json": r.data}}}
}

// handleTRPC serves the events service's tRPC endpoint as the gateway
// proxies it (POST /events/<procedure>[,<procedure>...][?batch=1]): the
// REGISTER action's accept and reject, with OpenCRVS's checks of the
// action confirmation token.
func (s *Sim) handleTRPC(w http.ResponseWriter, r *http.Request) {
	procs := strings.Split(r.PathValue("procedures"), ",")
	batch := r.URL.Query().Get("batch") == "1"
	if s.injectTRPCFault(w, r, procs, batch) {
		return
	}
	results := make([]trpcResult, len(procs))
	fail := func(e *trpcError) {
		for i := range results {
			results[i] = trpcResult{err: e, path: procs[i]}
		}
		s.writeTRPC(w, results, batch)
	}
	if !batch && len(procs) > 1 {
		fail(trpcErrorf("BAD_REQUEST", "several procedures need ?batch=1"))
		return
	}
	body, tooLarge, err := readBody(w, r, maxGraphQLBody)
	if err != nil {
		if tooLarge {
			fail(trpcErrorf("PARSE_ERROR", "request body is above 1 MiB"))
			return
		}
		fail(trpcErrorf("BAD_REQUEST", "request body could not be read"))
		return
	}
	inputs, perr := trpcInputs(body, len(procs), batch)
	if perr != nil {
		fail(perr)
		return
	}
	claims, err := s.verifyToken(r.Header.Get("Authorization"))
	for i, proc := range procs {
		results[i].path = proc
		switch {
		case proc != procRegisterAccept && proc != procRegisterReject:
			results[i].err = trpcErrorf("NOT_FOUND", `No "mutation"-procedure on path "%s"`, proc)
		case err != nil:
			s.mu.Lock()
			s.counts.unauthorized++
			s.mu.Unlock()
			s.log.Info("opencrvssim: trpc request refused", "reason", err.Error())
			results[i].err = trpcErrorf("UNAUTHORIZED", "%s", err.Error())
		case proc == procRegisterAccept:
			results[i].data, results[i].err = s.registerAccept(claims, inputs[i])
		default:
			results[i].data, results[i].err = s.registerReject(claims, inputs[i])
		}
	}
	s.writeTRPC(w, results, batch)
}

// writeTRPC answers results: an array for a batch, else the one object.
// The HTTP status is the calls' status when they agree, else 207 (tRPC's
// rule for batches).
func (s *Sim) writeTRPC(w http.ResponseWriter, results []trpcResult, batch bool) {
	status := 0
	for _, r := range results {
		st := http.StatusOK
		if r.err != nil {
			st = r.err.status()
		}
		switch {
		case status == 0:
			status = st
		case status != st:
			status = http.StatusMultiStatus
		}
	}
	if !batch {
		writeJSON(w, status, results[0].shape())
		return
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r.shape()
	}
	writeJSON(w, status, out)
}

// trpcInputs reads the superjson-encoded inputs: {"0":{"json":...},
// "1":...} for a batch, {"json":...} for a single call. A "meta" sibling
// is allowed and ignored (the simulator's inputs are plain JSON).
func trpcInputs(body []byte, n int, batch bool) ([]json.RawMessage, *trpcError) {
	type envelope struct {
		JSON json.RawMessage `json:"json"`
		Meta json.RawMessage `json:"meta"`
	}
	out := make([]json.RawMessage, n)
	if !batch {
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, trpcErrorf("PARSE_ERROR", "body is not superjson: %v", err)
		}
		out[0] = e.JSON
		return out, nil
	}
	var m map[string]envelope
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, trpcErrorf("PARSE_ERROR", `batch body is not {"0":{"json":...}}: %v`, err)
	}
	for k, e := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n {
			return nil, trpcErrorf("BAD_REQUEST", "batch body has input %q for %d procedure(s)", k, n)
		}
		out[i] = e.JSON
	}
	return out, nil
}

// uuidPattern is what zod's uuid() accepts.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// acceptInput is RegisterActionInput with the confirmation's ids: strict,
// as the events service validates it.
type acceptInput struct {
	TransactionID      string                     `json:"transactionId"`
	EventID            string                     `json:"eventId"`
	ActionID           string                     `json:"actionId"`
	RegistrationNumber string                     `json:"registrationNumber"`
	Declaration        map[string]json.RawMessage `json:"declaration"`
	Annotation         map[string]json.RawMessage `json:"annotation"`
	KeepAssignment     *bool                      `json:"keepAssignment"`
	CreatedAtLocation  *string                    `json:"createdAtLocation"`
	Type               string                     `json:"type"`
}

type rejectInput19 struct {
	TransactionID string `json:"transactionId"`
	EventID       string `json:"eventId"`
	ActionID      string `json:"actionId"`
}

// decodeTRPCInput decodes an input strictly (zod .strict()).
func decodeTRPCInput(raw json.RawMessage, v any) *trpcError {
	if isNull(raw) {
		return trpcErrorf("BAD_REQUEST", `[{"code":"invalid_type","expected":"object","received":"undefined","path":[],"message":"Required"}]`)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return trpcErrorf("BAD_REQUEST", "invalid input: %v", err)
	}
	return nil
}

// checkIDs validates the ids every confirmation carries.
func checkIDs(transactionID, eventID, actionID string) *trpcError {
	switch {
	case strings.TrimSpace(transactionID) == "":
		return trpcErrorf("BAD_REQUEST", "invalid input: transactionId is required")
	case !uuidPattern.MatchString(eventID):
		return trpcErrorf("BAD_REQUEST", "invalid input: eventId must be a uuid")
	case !uuidPattern.MatchString(actionID):
		return trpcErrorf("BAD_REQUEST", "invalid input: actionId must be a uuid")
	}
	return nil
}

// authorizeAction is requireActionConfirmationAuthorization: both scopes,
// and the token's eventId and actionId are those of the input.
func authorizeAction(c *opencrvs.Claims, eventID, actionID string) *trpcError {
	for _, scope := range recordScopes() {
		if !c.HasScope(scope) {
			return trpcErrorf("FORBIDDEN", "the token lacks the scope %s", scope)
		}
	}
	if c.EventID != eventID || c.ActionID != actionID {
		return trpcErrorf("FORBIDDEN", "the token is for event %q action %q, not event %q action %q", c.EventID, c.ActionID, eventID, actionID)
	}
	return nil
}

// formPrefixes are the declaration field prefixes of each event's form.
var formPrefixes = map[string][]string{
	KindBirth: {"child.", "mother.", "father.", "informant.", "documents."},
	KindDeath: {"deceased.", "eventDetails.", "informant.", "spouse.", "documents."},
}

// action19 finds the 1.9 record and its REGISTER action. Callers hold s.mu.
func (s *Sim) action19(eventID, actionID string) (*record, *trpcError) {
	rec, ok := s.records[eventID]
	if !ok || rec.version != Version19 {
		return nil, trpcErrorf("NOT_FOUND", "Event not found with ID: %s", eventID)
	}
	if rec.actionID != actionID {
		return nil, trpcErrorf("NOT_FOUND", "Action not found.")
	}
	return rec, nil
}

func (s *Sim) registerAccept(claims *opencrvs.Claims, raw json.RawMessage) (any, *trpcError) {
	var in acceptInput
	if e := decodeTRPCInput(raw, &in); e != nil {
		return nil, e
	}
	if e := checkIDs(in.TransactionID, in.EventID, in.ActionID); e != nil {
		return nil, e
	}
	if in.Type != "" && in.Type != "REGISTER" {
		return nil, trpcErrorf("BAD_REQUEST", `invalid input: type must be "REGISTER"`)
	}
	if strings.TrimSpace(in.RegistrationNumber) == "" {
		return nil, trpcErrorf("BAD_REQUEST", "invalid input: registrationNumber is required")
	}
	if e := authorizeAction(claims, in.EventID, in.ActionID); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, e := s.action19(in.EventID, in.ActionID)
	if e != nil {
		return nil, e
	}
	nid := ""
	for k, v := range in.Declaration {
		if !slices.ContainsFunc(formPrefixes[rec.kind], func(p string) bool { return strings.HasPrefix(k, p) }) {
			return nil, trpcErrorf("BAD_REQUEST", "declaration: field %s is not part of the %s form", k, rec.kind)
		}
		if k == opencrvs.NationalIDField {
			if json.Unmarshal(v, &nid) != nil || strings.TrimSpace(nid) == "" {
				return nil, trpcErrorf("BAD_REQUEST", "declaration: %s must be a non-empty string", k)
			}
		}
	}
	rec.confirmations++
	s.counts.confirmations++
	switch rec.status {
	case StatusWaiting:
		rec.status = StatusRegistered
		rec.registrationNumber = in.RegistrationNumber
		rec.nationalID = nid
		rec.identifiers = nil
		if nid != "" {
			rec.identifiers = []identifierInput{{Type: "NATIONAL_ID", Value: nid}}
		}
		rec.reason, rec.comment = "", ""
		close(rec.changed)
		s.log.Debug("opencrvssim: 1.9 record registered", "record_id", rec.id)
	case StatusRegistered:
		// Core answers a repeated accept with the event, as if it were new.
		if rec.registrationNumber != in.RegistrationNumber || rec.nationalID != nid {
			s.log.Warn("opencrvssim: conflicting accept of an accepted action", "record_id", rec.id, "confirmations", rec.confirmations)
		}
	default:
		return nil, trpcErrorf("BAD_REQUEST", "Action has already been rejected.")
	}
	return eventView(rec, "Accepted"), nil
}

func (s *Sim) registerReject(claims *opencrvs.Claims, raw json.RawMessage) (any, *trpcError) {
	var in rejectInput19
	if e := decodeTRPCInput(raw, &in); e != nil {
		return nil, e
	}
	if e := checkIDs(in.TransactionID, in.EventID, in.ActionID); e != nil {
		return nil, e
	}
	if e := authorizeAction(claims, in.EventID, in.ActionID); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, e := s.action19(in.EventID, in.ActionID)
	if e != nil {
		return nil, e
	}
	rec.rejections++
	s.counts.rejections++
	switch rec.status {
	case StatusWaiting:
		rec.status = StatusRejected
		rec.reason, rec.comment = ReasonRegisterRejected, ""
		close(rec.changed)
		s.log.Debug("opencrvssim: 1.9 record rejected", "record_id", rec.id)
	case StatusRejected:
		// Core answers a repeated reject with the event.
	default:
		// Core throws a plain Error here, which tRPC turns into an
		// INTERNAL_SERVER_ERROR (its message masked in production).
		return nil, trpcErrorf("INTERNAL_SERVER_ERROR", "Action has already been accepted.")
	}
	return eventView(rec, "Rejected"), nil
}

// eventView is the event a successful call answers, reduced to what the
// simulator keeps. Callers hold s.mu.
func eventView(rec *record, status string) any {
	action := map[string]any{"id": rec.actionID, "type": "REGISTER", "status": status}
	if status == "Accepted" {
		action["registrationNumber"] = rec.registrationNumber
	}
	return map[string]any{"id": rec.id, "type": rec.kind, "trackingId": rec.trackingID, "actions": []any{action}}
}

// injectTRPCFault applies the configured faults to a tRPC request, as
// injectFault does to GraphQL: an outage answers 503 from the gateway, an
// error answers the tRPC error faults.TRPCCode (default
// INTERNAL_SERVER_ERROR) for every call. It reports whether it answered.
func (s *Sim) injectTRPCFault(w http.ResponseWriter, r *http.Request, procs []string, batch bool) bool {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	if f.Outage {
		s.countFault()
		writeProblem(w, http.StatusServiceUnavailable, "gateway unavailable", "the OpenCRVS gateway is down (simulated outage)")
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
		code := f.TRPCCode
		if code == "" {
			code = "INTERNAL_SERVER_ERROR"
		}
		e := trpcErrorf(code, "%s (simulated)", strings.ReplaceAll(strings.ToLower(code), "_", " "))
		results := make([]trpcResult, len(procs))
		for i := range results {
			results[i] = trpcResult{err: e, path: procs[i]}
		}
		s.writeTRPC(w, results, batch || len(procs) > 1)
		return true
	}
	return false
}

// validTRPCCode reports whether code is a tRPC error code the simulator
// can answer.
func validTRPCCode(code string) error {
	if _, ok := trpcCodes[code]; ok || code == "" {
		return nil
	}
	codes := make([]string, 0, len(trpcCodes))
	for c := range trpcCodes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return errors.New("trpcCode " + strconv.Quote(code) + ": want one of " + strings.Join(codes, ", "))
}
