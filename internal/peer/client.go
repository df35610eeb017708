package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
	"opencrvs-mosip/internal/telemetry"
)

// Paths under Client.URL, as the existing mediators serve them.
const (
	PathBirth       = "/birth"
	PathDeath       = "/death"
	PathGenerateAID = "/generateAid"
	PathReceiveNID  = "/birthReceiveNid"
)

const (
	defaultTimeout  = 30 * time.Second
	maxAnswerBytes  = 1 << 20 // answers are small JSON documents
	maxAIDBytes     = 64
	maxMessageRunes = 500 // of a peer's message kept in an error
	// authorizationKey names both the header and the cookie the token
	// travels in.
	authorizationKey = "Authorization"
)

// Client calls the other mediator. The zero value is not usable: URL and
// Sealer are required. It is safe for concurrent use.
type Client struct {
	// URL is the peer's base URL: the MOSIP side's
	// https://host/opencrvs/v1 (the Java mediator's prefix) when the
	// OpenCRVS side forwards, the OpenCRVS side's root when the MOSIP side
	// sends results.
	URL string
	// Sealer seals every request body to the peer's certificate with our
	// key, in the protocol both ends are configured with.
	Sealer *envelope.Sealer
	// Token returns the bearer token the peer checks (a MOSIP token towards
	// the MOSIP side, an OpenCRVS token towards the OpenCRVS side); nil
	// sends none.
	Token func(ctx context.Context) (string, error)
	// HTTPClient nil: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is unused by the client itself; it is here so that callers
	// configure one clock (the Sealer's Now should be the same).
	Now func() time.Time
}

// ForwardAnswer is what the MOSIP side answers a forwarded record.
type ForwardAnswer struct {
	// AID is the application id the MOSIP side created the packet under;
	// "" from the Java mediator, which does not say.
	AID string
	// Message is the peer's message: the Java mediator's "Received. Packet
	// Creation Started." for a birth, the RID of the deactivation for a
	// death.
	Message string
}

// javaAnswer is the Java mediator's answer (SimpleMessageResponse or
// ErrorResponse) and ours, which adds response.aid.
type javaAnswer struct {
	Version      string `json:"version"`
	ID           string `json:"id"`
	ResponseTime string `json:"responseTime"`
	Response     *struct {
		Message string `json:"message"`
		AID     string `json:"aid"`
	} `json:"response"`
	Errors []JavaError `json:"errors"`
}

// JavaError is one entry of the Java mediator's errors list.
type JavaError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// Forward seals payload (the record: the OpenCRVS webhook body, or our own
// record JSON) under id and posts it to {URL}/birth or {URL}/death.
//
// Errors are *Error (see IsTransient), or a plain error when the request
// cannot be made at all (kind not birth or death, the Sealer refusing the
// record), which is permanent.
func (c *Client) Forward(ctx context.Context, kind bridge.EventKind, id string, payload []byte) (ForwardAnswer, error) {
	var op, path string
	switch kind {
	case bridge.EventBirth:
		op, path = OpForwardBirth, PathBirth
	case bridge.EventDeath:
		op, path = OpForwardDeath, PathDeath
	default:
		return ForwardAnswer{}, fmt.Errorf("peer: forward: event kind %q has no peer endpoint, want birth or death", kind)
	}
	body, err := c.seal(id, payload)
	if err != nil {
		return ForwardAnswer{}, fmt.Errorf("peer: %s: %w", op, err)
	}
	status, answer, err := c.do(ctx, op, http.MethodPost, path, body, true)
	if err != nil {
		return ForwardAnswer{}, err
	}
	var a javaAnswer
	if err := json.Unmarshal(answer, &a); err != nil {
		return ForwardAnswer{}, &Error{Op: op, Status: status, Err: fmt.Errorf("%w: not JSON", ErrBadAnswer)}
	}
	if len(a.Errors) > 0 {
		// The Java mediator answers its errors with 4xx/5xx, but a proxy
		// rewriting the status must not make an error look like success.
		return ForwardAnswer{}, &Error{Op: op, Status: status, Code: clean(a.Errors[0].ErrorCode), Message: clean(a.Errors[0].ErrorMessage)}
	}
	if a.Response == nil {
		return ForwardAnswer{}, &Error{Op: op, Status: status, Err: fmt.Errorf("%w: no response object", ErrBadAnswer)}
	}
	if a.Response.AID != "" {
		if err := checkAID(a.Response.AID); err != nil {
			return ForwardAnswer{}, &Error{Op: op, Status: status, Err: fmt.Errorf("%w: %v", ErrBadAnswer, err)}
		}
	}
	return ForwardAnswer{AID: a.Response.AID, Message: clean(a.Response.Message)}, nil
}

// GenerateAID asks the MOSIP side for a new application id (GET
// {URL}/generateAid). The Java mediator answers a JSON string literal; ours
// may answer {"response":{"aid":"..."}}.
func (c *Client) GenerateAID(ctx context.Context) (string, error) {
	status, answer, err := c.do(ctx, OpGenerateAID, http.MethodGet, PathGenerateAID, nil, true)
	if err != nil {
		return "", err
	}
	var aid string
	if err := json.Unmarshal(answer, &aid); err != nil {
		var a javaAnswer
		if err := json.Unmarshal(answer, &a); err != nil {
			return "", &Error{Op: OpGenerateAID, Status: status, Err: fmt.Errorf("%w: want a JSON string or {\"response\":{\"aid\":...}}", ErrBadAnswer)}
		}
		if len(a.Errors) > 0 {
			return "", &Error{Op: OpGenerateAID, Status: status, Code: clean(a.Errors[0].ErrorCode), Message: clean(a.Errors[0].ErrorMessage)}
		}
		if a.Response != nil {
			aid = a.Response.AID
		}
	}
	if err := checkAID(aid); err != nil {
		return "", &Error{Op: OpGenerateAID, Status: status, Err: fmt.Errorf("%w: %v", ErrBadAnswer, err)}
	}
	return aid, nil
}

// SendResult seals the JSON of res under id and posts it to
// {URL}/birthReceiveNid, with the token as a Bearer header (what the Node
// side checks). The answer's body is not read beyond its status: the Node
// side answers 200 before it does the work.
//
// res must be valid (Result.Validate); an invalid one is refused with a
// bridge EInvalid error before anything is sent.
func (c *Client) SendResult(ctx context.Context, id string, res Result) error {
	if err := res.Validate(); err != nil {
		return err
	}
	plain, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("peer: %s: %w", OpSendResult, err)
	}
	body, err := c.seal(id, plain)
	if err != nil {
		return fmt.Errorf("peer: %s: %w", OpSendResult, err)
	}
	_, _, err = c.do(ctx, OpSendResult, http.MethodPost, PathReceiveNID, body, false)
	return err
}

func (c *Client) seal(id string, plain []byte) ([]byte, error) {
	if c.Sealer == nil {
		return nil, errors.New("Client.Sealer is not configured")
	}
	env, err := c.Sealer.Seal(id, plain)
	if err != nil {
		return nil, err
	}
	return json.Marshal(env)
}

// do makes one request and returns the status and body of a 2xx answer;
// any other answer is an *Error. cookie also sends the token as the
// Authorization cookie (the Java mediator reads only that).
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, cookie bool) (int, []byte, error) {
	if c.URL == "" {
		return 0, nil, fmt.Errorf("peer: %s: Client.URL is not configured", op)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("peer: %s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != nil {
		tok, err := c.Token(ctx)
		if err == nil && tok == "" {
			err = errors.New("the token source returned an empty token")
		}
		if err != nil {
			return 0, nil, &Error{Op: op, Err: fmt.Errorf("%w: %w", ErrToken, err)}
		}
		if !validToken(tok) {
			return 0, nil, &Error{Op: op, Err: fmt.Errorf("%w: the token has characters not allowed in a header or cookie", ErrToken)}
		}
		req.Header.Set(authorizationKey, "Bearer "+tok)
		if cookie {
			req.Header.Set("Cookie", authorizationKey+"="+tok)
		}
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, &Error{Op: op, Err: noAnswer(err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return 0, nil, &Error{Op: op, Status: resp.StatusCode, Err: noAnswer(err)}
	}
	if len(answer) > maxAnswerBytes {
		return 0, nil, &Error{Op: op, Status: resp.StatusCode, Err: fmt.Errorf("%w: over %d bytes", ErrBadAnswer, maxAnswerBytes)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Status: resp.StatusCode}
		e.Code, e.Message = errorDetail(answer)
		return 0, nil, e
	}
	return resp.StatusCode, answer, nil
}

// errorDetail reads the code and message of an error answer in any of the
// shapes the peers use: the Java mediator's errors list, our problem JSON,
// the Node side's {"message"}. Anything else gives nothing: a proxy's HTML
// page is not worth repeating.
func errorDetail(body []byte) (code, message string) {
	var v struct {
		Errors  []JavaError `json:"errors"`
		Type    string      `json:"type"`
		Detail  string      `json:"detail"`
		Title   string      `json:"title"`
		Message string      `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	switch {
	case len(v.Errors) > 0:
		return clean(v.Errors[0].ErrorCode), clean(v.Errors[0].ErrorMessage)
	case v.Type != "":
		code = v.Type[strings.LastIndexByte(v.Type, ':')+1:]
		message = v.Detail
		if message == "" {
			message = v.Title
		}
		return clean(code), clean(message)
	default:
		return "", clean(v.Message)
	}
}

// clean bounds a peer's text and drops control characters and invalid
// UTF-8, so that it can go into an error and a log line.
func clean(s string) string { return telemetry.Printable(s, maxMessageRunes) }

// checkAID accepts what MOSIP's RID generator makes (29 digits) and any
// other short id of letters, digits, '-' and '_'.
func checkAID(aid string) error {
	if aid == "" {
		return errors.New("the AID is empty")
	}
	if len(aid) > maxAIDBytes {
		return fmt.Errorf("the AID is %d bytes, over %d", len(aid), maxAIDBytes)
	}
	for _, r := range aid {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("the AID has a character %q that is not a letter, digit, '-' or '_'", r)
		}
	}
	return nil
}

// validToken accepts the characters of a JWT and of opaque tokens: visible
// ASCII other than those that end a cookie value.
func validToken(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
