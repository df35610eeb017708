package opencrvs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"opencrvs-mosip/internal/telemetry"
)

// Procedures of OpenCRVS 1.9's events service the mediator calls: the
// answers to an asynchronous REGISTER action ("awaiting external
// validation"). They are the Op of a TRPCError.
const (
	ProcRegisterAccept = "event.actions.register.accept"
	ProcRegisterReject = "event.actions.register.reject"
)

// NationalIDField is the declaration field a birth's UIN/VID is stored in
// when the mediator accepts its registration.
const NationalIDField = "child.nid"

// ErrNotTRPC: a 2xx body that is not a tRPC answer (a proxy's page).
var ErrNotTRPC = errors.New("response is not a tRPC answer")

// TRPCConfig configures a TRPCClient.
type TRPCConfig struct {
	// URL is the events service's tRPC endpoint through the gateway:
	// OPENCRVS_GATEWAY_URL + "/events" (e.g. http://gateway:7070/events).
	URL        string
	HTTPClient *http.Client // nil: a client with a 30 s timeout
	Logger     *slog.Logger // nil: discard
}

// TRPCClient sends registration feedback to OpenCRVS 1.9: the tRPC v11
// mutations event.actions.register.accept and .reject, as the OpenCRVS
// toolkit's client sends them (httpBatchLink with the superjson
// transformer), authenticated by the action confirmation token OpenCRVS
// gave with the record. Like GraphQLClient it does not retry (IsTransient
// and IsAlreadyDone tell the caller what a failure means) and never logs
// tokens or inputs.
type TRPCClient struct {
	url  string
	http *http.Client
	log  *slog.Logger
}

// NewTRPCClient returns a TRPCClient.
func NewTRPCClient(cfg TRPCConfig) *TRPCClient {
	c := &TRPCClient{url: strings.TrimRight(cfg.URL, "/"), http: cfg.HTTPClient, log: cfg.Logger}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// AcceptInput is the input of event.actions.register.accept. The events
// service validates it strictly: no other keys.
type AcceptInput struct {
	// TransactionID identifies this request to OpenCRVS; repeating a
	// request with the same id is safe.
	TransactionID      string `json:"transactionId"`
	EventID            string `json:"eventId"`
	ActionID           string `json:"actionId"`
	RegistrationNumber string `json:"registrationNumber"`
	// Declaration holds form answers to store with the registration, e.g.
	// {"child.nid": <VID>} for a birth; nil: none (omitted).
	Declaration map[string]string `json:"declaration,omitempty"`
}

// RejectInput is the input of event.actions.register.reject. OpenCRVS 1.9
// takes no reason with it.
type RejectInput struct {
	TransactionID string `json:"transactionId"`
	EventID       string `json:"eventId"`
	ActionID      string `json:"actionId"`
}

// AcceptRegistration accepts the REGISTER action in.ActionID of event
// in.EventID under in.RegistrationNumber. token is the action confirmation
// token ("Bearer " is added). Failures are *TRPCError (see IsTransient,
// IsAlreadyDone) or, for missing arguments, a *bridge.Error with code
// EInvalid. OpenCRVS answers a repeated accept of an accepted action with
// success.
func (c *TRPCClient) AcceptRegistration(ctx context.Context, token string, in AcceptInput) error {
	if err := checkTRPCArgs(ProcRegisterAccept, token, in.EventID, in.ActionID, in.TransactionID); err != nil {
		return err
	}
	if in.RegistrationNumber == "" {
		return invalidArg(ProcRegisterAccept, in.EventID, "registration number is empty")
	}
	secrets := make([]string, 0, len(in.Declaration))
	for k, v := range in.Declaration {
		if k == "" || v == "" {
			return invalidArg(ProcRegisterAccept, in.EventID, "declaration has an empty field id or value")
		}
		secrets = append(secrets, v)
	}
	return c.mutate(ctx, ProcRegisterAccept, token, in.EventID, in, secrets)
}

// RejectRegistration rejects the REGISTER action in.ActionID of event
// in.EventID. Errors as for AcceptRegistration; OpenCRVS answers a repeated
// reject of a rejected action with success.
func (c *TRPCClient) RejectRegistration(ctx context.Context, token string, in RejectInput) error {
	if err := checkTRPCArgs(ProcRegisterReject, token, in.EventID, in.ActionID, in.TransactionID); err != nil {
		return err
	}
	return c.mutate(ctx, ProcRegisterReject, token, in.EventID, in, nil)
}

func checkTRPCArgs(proc, token, eventID, actionID, transactionID string) error {
	switch {
	case eventID == "":
		return invalidArg(proc, eventID, "event id is empty")
	case actionID == "":
		return invalidArg(proc, eventID, "action id is empty")
	case transactionID == "":
		return invalidArg(proc, eventID, "transaction id is empty")
	case strings.TrimSpace(token) == "":
		return invalidArg(proc, eventID, "token is empty")
	}
	return nil
}

// superjson is the envelope the superjson transformer puts around every
// value; plain JSON values need no "meta".
type superjson struct {
	JSON any `json:"json"`
}

// trpcItem is one answer of a batch (or the whole answer of a single call).
type trpcItem struct {
	Result *struct {
		Data json.RawMessage `json:"data"`
	} `json:"result"`
	Error json.RawMessage `json:"error"`
}

// trpcErrorShape is tRPC's default error shape (TRPC_ERROR_CODES_BY_KEY).
type trpcErrorShape struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Data    struct {
		Code       string `json:"code"`
		HTTPStatus int    `json:"httpStatus"`
		Path       string `json:"path"`
	} `json:"data"`
}

// mutate POSTs one mutation in tRPC's batch form,
//
//	POST {url}/{procedure}?batch=1   {"0":{"json":<input>}}
//
// and checks the answer: [{"result":{"data":{"json":...}}}] is success,
// [{"error":{"json":{message, code, data:{code, httpStatus}}}}] a
// TRPCError. The single-call forms ({"result":...}, {"error":...}) and
// errors without the superjson envelope are read too.
func (c *TRPCClient) mutate(ctx context.Context, proc, token, eventID string, input any, secrets []string) error {
	if c.url == "" {
		return invalidArg(proc, eventID, "no OpenCRVS gateway URL configured (OPENCRVS_GATEWAY_URL)")
	}
	body, err := json.Marshal(map[string]superjson{"0": {JSON: input}})
	if err != nil {
		return fmt.Errorf("opencrvs: %s %s: encode request: %w", proc, eventID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/"+proc+"?batch=1", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("opencrvs: %s %s: %w", proc, eventID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", bearer(token))

	resp, err := c.http.Do(req)
	if err != nil {
		return &TRPCError{Op: proc, EventID: eventID, Err: fmt.Errorf("%w: %w", ErrNoResponse, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphQLResponseBytes+1))
	if err != nil {
		return &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: read body: %w", ErrNoResponse, err)}
	}
	if len(raw) > maxGraphQLResponseBytes {
		return &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode, Err: ErrBodyTooLarge}
	}
	item, ok := decodeTRPC(raw)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode <= 299
	switch {
	case ok && len(item.Error) > 0 && !isNull(item.Error):
		te := &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode}
		te.read(item.Error, secrets)
		return te
	case !ok2xx:
		return &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode}
	case !ok:
		return &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("%w (content type %q, %d bytes)", ErrNotTRPC, resp.Header.Get("Content-Type"), len(raw))}
	case item.Result == nil || isNull(item.Result.Data):
		return &TRPCError{Op: proc, EventID: eventID, StatusCode: resp.StatusCode, Err: ErrNoData}
	}
	c.log.DebugContext(ctx, "opencrvs mutation done", "op", proc, "record_id", eventID, "status", resp.StatusCode)
	return nil
}

// decodeTRPC reads the first answer of a batch, or a single answer.
func decodeTRPC(raw []byte) (trpcItem, bool) {
	raw = bytes.TrimSpace(raw)
	var item trpcItem
	switch {
	case len(raw) > 0 && raw[0] == '[':
		var items []trpcItem
		if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
			return item, false
		}
		item = items[0]
	case len(raw) > 0 && raw[0] == '{':
		if json.Unmarshal(raw, &item) != nil {
			return item, false
		}
	default:
		return item, false
	}
	return item, item.Result != nil || (len(item.Error) > 0 && !isNull(item.Error))
}

// TRPCError is a failed OpenCRVS tRPC call. It never holds the token, the
// input or the response body; values the call sent are blanked out of
// Message.
type TRPCError struct {
	Op      string // ProcRegisterAccept or ProcRegisterReject
	EventID string
	// StatusCode is the HTTP status; 0 when no answer came.
	StatusCode int
	// Code is the tRPC error code (data.code: FORBIDDEN, NOT_FOUND,
	// BAD_REQUEST, INTERNAL_SERVER_ERROR, ...); RPCCode its JSON-RPC number
	// (-32003, ...). Empty and 0 when the answer had no tRPC error.
	Code    string
	RPCCode int
	Message string
	// Err is what went wrong besides a tRPC error: ErrNoResponse (wrapping
	// the transport error), ErrNotTRPC, ErrNoData, ErrBodyTooLarge, or nil.
	Err error
}

func (e *TRPCError) Error() string {
	var b strings.Builder
	b.WriteString("opencrvs: ")
	b.WriteString(e.Op)
	if e.EventID != "" {
		b.WriteString(" event ")
		b.WriteString(e.EventID)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" || e.Message != "" {
		b.WriteString(": ")
		if e.Code != "" {
			b.WriteString(e.Code)
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%q", e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.StatusCode == 0 && e.Code == "" && e.Err == nil {
		b.WriteString(": failed")
	}
	return b.String()
}

func (e *TRPCError) Unwrap() error { return e.Err }

// read keeps a bounded, printable, redacted copy of an error object, with
// or without the superjson envelope.
func (e *TRPCError) read(raw json.RawMessage, secrets []string) {
	var env struct {
		JSON *trpcErrorShape `json:"json"`
	}
	var shape trpcErrorShape
	if json.Unmarshal(raw, &env) == nil && env.JSON != nil {
		shape = *env.JSON
	} else {
		_ = json.Unmarshal(raw, &shape) // a malformed error still is an error
	}
	e.Code = telemetry.Printable(shape.Data.Code, maxGraphQLCodeLen)
	e.RPCCode = shape.Code
	e.Message = telemetry.Printable(redact(shape.Message, secrets), maxGraphQLMsgLen)
	if e.Code == "" {
		e.Code = trpcCodeName(shape.Code)
	}
}

// trpcCodeName names a JSON-RPC error number as tRPC does.
func trpcCodeName(n int) string {
	switch n {
	case -32700:
		return "PARSE_ERROR"
	case -32600:
		return "BAD_REQUEST"
	case -32603:
		return "INTERNAL_SERVER_ERROR"
	case -32001:
		return "UNAUTHORIZED"
	case -32003:
		return "FORBIDDEN"
	case -32004:
		return "NOT_FOUND"
	case -32005:
		return "METHOD_NOT_SUPPORTED"
	case -32008:
		return "TIMEOUT"
	case -32009:
		return "CONFLICT"
	case -32012:
		return "PRECONDITION_FAILED"
	case -32022:
		return "UNPROCESSABLE_CONTENT"
	case -32029:
		return "TOO_MANY_REQUESTS"
	case -32099:
		return "CLIENT_CLOSED_REQUEST"
	}
	return ""
}

// transientTRPCCodes are the tRPC codes that say "OpenCRVS failed, not this
// request".
var transientTRPCCodes = []string{
	"INTERNAL_SERVER_ERROR", "TIMEOUT", "TOO_MANY_REQUESTS", "CLIENT_CLOSED_REQUEST",
	"SERVICE_UNAVAILABLE", "BAD_GATEWAY", "GATEWAY_TIMEOUT",
}

// transient: no answer, a transient tRPC code, or (without a tRPC error)
// HTTP 408, 429 or 5xx, or a 2xx that is not tRPC (a proxy failing). Every
// other tRPC code (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, BAD_REQUEST,
// CONFLICT, ...) is about this request and permanent.
func (e *TRPCError) transient() bool {
	switch code := e.StatusCode; {
	case errors.Is(e.Err, ErrNoResponse):
		return true
	case e.Code != "":
		return slices.Contains(transientTRPCCodes, strings.ToUpper(e.Code))
	case code == 408 || code == 429 || (code >= 500 && code <= 599):
		return true
	case errors.Is(e.Err, ErrNotTRPC):
		return code >= 200 && code <= 299
	default:
		return false
	}
}

// alreadyDone applies the AlreadyDoneRules of e's procedure.
func (e *TRPCError) alreadyDone() bool {
	for _, rule := range AlreadyDoneRules() {
		if rule.Op != e.Op {
			continue
		}
		if rule.Code != "" && e.Code == rule.Code {
			return true
		}
		if rule.Phrase != "" && strings.Contains(strings.ToLower(e.Message), rule.Phrase) {
			return true
		}
	}
	return false
}

// explainTRPC says what a permanent tRPC error code means; "" for others.
func explainTRPC(e *TRPCError) string {
	switch strings.ToUpper(e.Code) {
	case "UNAUTHORIZED":
		return "OpenCRVS did not accept the record's action token (expired or signed by another key)"
	case "FORBIDDEN":
		return "OpenCRVS refused the action token for this event and action (its eventId, actionId or scopes do not match)"
	case "NOT_FOUND":
		return "OpenCRVS does not know this event or its REGISTER action (deleted, or sent by another OpenCRVS)"
	case "BAD_REQUEST":
		return "OpenCRVS refused the request as invalid for the action in its current state"
	}
	return ""
}

// ExplainTRPC says in plain words what a permanent tRPC failure means, for
// operators; "" when err is not one of the failures it knows.
func ExplainTRPC(err error) string {
	var te *TRPCError
	if !errors.As(err, &te) {
		return ""
	}
	return explainTRPC(te)
}
