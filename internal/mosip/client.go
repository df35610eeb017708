package mosip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// MaxStatusIDs is how many registration ids one status search may carry;
// SearchStatus splits longer lists.
const MaxStatusIDs = 100

// ClientConfig configures a Client. Each URL is the full URL of one MOSIP
// endpoint; a call whose URL is empty fails.
type ClientConfig struct {
	// Auth provides the tokens; it must not be nil.
	Auth       *AuthClient
	HTTPClient *http.Client     // nil: a client with a 30 s timeout
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
	// CreatePacketURL is .../commons/v1/packetmanager/createPacket (PUT).
	CreatePacketURL string
	// WorkflowURL is .../registrationprocessor/v1/workflowmanager/workflowinstance (POST).
	WorkflowURL string
	// StatusURL is .../registrationprocessor/v1/registrationstatus/search (POST).
	StatusURL string
	// IdentityURL is the base .../idrepository/v1/identity of the ID
	// repository's identity service (IdentityByRID adds /idvid/{id}).
	IdentityURL string
	// VIDURL is the base .../idrepository/v1/vid of the ID repository's VID
	// service (VIDsByUIN adds /uin/{UIN}, UINByVID /{VID}).
	VIDURL string
	// TokenIDURL is the base .../v1/keymanager/tokenid of the key manager's
	// token ID generator (UINToken adds /{UIN}/{partnerId}).
	TokenIDURL string
}

// Client calls the packet manager, the registration processor and the ID
// repository. It does not retry (IsTransient tells the caller whether to),
// except once after a 401 with a renewed token. Timeouts come from the
// caller's ctx.
type Client struct {
	auth *AuthClient
	http *http.Client
	log  *slog.Logger
	now  func() time.Time

	createPacketURL, workflowURL, statusURL string
	identityURL, vidURL, tokenIDURL         string
}

// NewClient returns a Client. It panics if cfg.Auth is nil: that is a
// wiring bug, not a run-time condition.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Auth == nil {
		panic("mosip: NewClient: ClientConfig.Auth is nil")
	}
	c := &Client{
		auth:            cfg.Auth,
		http:            cfg.HTTPClient,
		log:             cfg.Logger,
		now:             cfg.Now,
		createPacketURL: cfg.CreatePacketURL,
		workflowURL:     cfg.WorkflowURL,
		statusURL:       cfg.StatusURL,
		identityURL:     cfg.IdentityURL,
		vidURL:          cfg.VIDURL,
		tokenIDURL:      cfg.TokenIDURL,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// CreatePacket asks the packet manager to build and store the packet p
// (PUT createPacket) and returns the sub-packets it wrote. MOSIP answers
// failures with HTTP 200: listed errors give an *APIError with their codes;
// a null or empty result without errors gives an *APIError wrapping
// ErrNullResponse (the packet manager swallows internal exceptions that
// way). Reusing p.ID overwrites the packet, so a retry is safe.
func (c *Client) CreatePacket(ctx context.Context, p *PacketDto) ([]PacketInfo, error) {
	if p == nil || p.ID == "" {
		return nil, fmt.Errorf("mosip: %s: packet has no id", OpCreatePacket)
	}
	// id and version are what the OpenCRVS Node client sends; the packet
	// manager does not check them.
	req := Request[*PacketDto]{ID: "string", Version: "string", RequestTime: FormatTime(c.now()), Request: p}
	status, body, err := c.call(ctx, OpCreatePacket, p.ID, http.MethodPut, c.createPacketURL, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse[[]PacketInfo](OpCreatePacket, p.ID, status, body)
	if err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, newAPIError(OpCreatePacket, p.ID, status, r.Errors, nil)
	}
	if len(r.Response) == 0 {
		return nil, newAPIError(OpCreatePacket, p.ID, status, nil, ErrNullResponse)
	}
	return r.Response, nil
}

// StartWorkflow starts the registration processor's workflow for a packet
// created before (POST workflowinstance) and returns the workflow instance
// id. If MOSIP answers that the workflow is already present (RPR-WIS-001),
// an earlier attempt succeeded: StartWorkflow returns "" and no error.
func (c *Client) StartWorkflow(ctx context.Context, r *WorkflowRequest) (instanceID string, err error) {
	if r == nil || r.RegistrationID == "" {
		return "", fmt.Errorf("mosip: %s: request has no registration id", OpStartWorkflow)
	}
	id := r.RegistrationID
	req := Request[*WorkflowRequest]{
		ID: WorkflowInstanceID, Version: WorkflowInstanceVersion, RequestTime: FormatTime(c.now()), Request: r,
	}
	status, body, err := c.call(ctx, OpStartWorkflow, id, http.MethodPost, c.workflowURL, req)
	if err != nil {
		return "", err
	}
	resp, err := decodeResponse[*WorkflowResponse](OpStartWorkflow, id, status, body)
	if err != nil {
		return "", err
	}
	if len(resp.Errors) > 0 {
		if onlyCode(resp.Errors, CodeWorkflowExists) {
			c.log.Info("mosip workflow already present; treating as started",
				"registration_id", id, "process", r.Process)
			return "", nil
		}
		return "", newAPIError(OpStartWorkflow, id, status, resp.Errors, nil)
	}
	if resp.Response == nil {
		return "", newAPIError(OpStartWorkflow, id, status, nil, ErrNullResponse)
	}
	return resp.Response.WorkflowInstanceID, nil
}

// SearchStatus returns the registration processor's status of every id it
// knows, in calls of at most MaxStatusIDs ids. Ids MOSIP does not know
// (RPR-RGS-031) are left out of the result, as are statuses for ids that
// were not asked for. If any call fails, SearchStatus returns no statuses
// and that call's error. The Response-Signature header MOSIP may add is
// not checked.
func (c *Client) SearchStatus(ctx context.Context, ids []string) ([]RegistrationStatus, error) {
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("mosip: %s: registration id %d is empty", OpSearchStatus, i)
		}
	}
	var out []RegistrationStatus
	for start := 0; start < len(ids); start += MaxStatusIDs {
		chunk := ids[start:min(start+MaxStatusIDs, len(ids))]
		found, err := c.searchChunk(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

func (c *Client) searchChunk(ctx context.Context, ids []string) ([]RegistrationStatus, error) {
	queries := make([]StatusQuery, len(ids))
	asked := make(map[string]bool, len(ids))
	for i, id := range ids {
		queries[i] = StatusQuery{RegistrationID: id}
		asked[id] = true
	}
	req := Request[[]StatusQuery]{
		ID: StatusSearchID, Version: StatusSearchVersion, RequestTime: FormatTime(c.now()), Request: queries,
	}
	status, body, err := c.call(ctx, OpSearchStatus, "", http.MethodPost, c.statusURL, req)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse[[]RegistrationStatus](OpSearchStatus, "", status, body)
	if err != nil {
		return nil, err
	}
	var failures []ServiceError
	for _, se := range r.Errors {
		if se.ErrorCode != CodeRIDNotFound {
			failures = append(failures, se)
		}
	}
	if len(failures) > 0 {
		return nil, newAPIError(OpSearchStatus, "", status, failures, nil)
	}
	if r.Response == nil && len(r.Errors) == 0 {
		return nil, newAPIError(OpSearchStatus, "", status, nil, ErrNullResponse)
	}
	found := make([]RegistrationStatus, 0, len(r.Response))
	for _, st := range r.Response {
		if asked[st.RegistrationID] {
			found = append(found, st)
		}
	}
	return found, nil
}

// call sends payload as JSON (nil: no body) with a token and returns the
// answer's status and body. If MOSIP refuses the token it renews it and
// sends once more; that is auth renewal, not a retry policy.
func (c *Client) call(ctx context.Context, op, id, method, url string, payload any) (int, []byte, error) {
	if url == "" {
		return 0, nil, fmt.Errorf("mosip: %s: no URL configured", op)
	}
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return 0, nil, fmt.Errorf("mosip: %s %s: encode request: %w", op, id, err)
		}
		body = b
	}
	const attempts = 2
	for attempt := 1; ; attempt++ {
		token, err := c.auth.Token(ctx)
		if err != nil {
			return 0, nil, err
		}
		status, resp, err := c.send(ctx, method, url, token, body)
		if err != nil {
			return status, nil, newAPIError(op, id, status, nil, err)
		}
		if !tokenRefused(status, resp) {
			return status, resp, nil
		}
		if attempt == attempts {
			return 0, nil, newAPIError(op, id, status, bodyErrors(resp), nil)
		}
		c.auth.Invalidate(token)
		c.log.Info("mosip refused the token; renewing it", "op", op, "http_status", status)
	}
}

// send does one HTTP exchange. The status is 0 when no answer came.
func (c *Client) send(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: authCookie, Value: token})
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, err)
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body)
	return resp.StatusCode, b, err
}

// tokenRefused reports whether MOSIP refused the token: HTTP 401, or kernel
// auth's "authentication failed" / "token expired" in the body.
func tokenRefused(status int, body []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	for _, se := range bodyErrors(body) {
		if se.ErrorCode == "KER-ATH-401" || se.ErrorCode == "KER-ATH-402" {
			return true
		}
	}
	return false
}

// decodeResponse reads a MOSIP answer. A non-2xx status is an *APIError
// with whatever errors the body lists; a 2xx body that is not a JSON
// object is an *APIError wrapping ErrNotMOSIPJSON. MOSIP's own errors in a
// 2xx answer are left to the caller, which knows which codes are benign.
func decodeResponse[T any](op, id string, status int, body []byte) (*answer[T], error) {
	if status < 200 || status > 299 {
		return nil, newAPIError(op, id, status, bodyErrors(body), nil)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, newAPIError(op, id, status, nil, ErrNotMOSIPJSON)
	}
	var r answer[T]
	if err := json.Unmarshal(body, &r); err != nil {
		// Only the kind of error: a syntax error's text may quote the body.
		return nil, newAPIError(op, id, status, nil, fmt.Errorf("%w (%s)", ErrNotMOSIPJSON, jsonErrorKind(err)))
	}
	return &r, nil
}

// answer is the part of MOSIP's ResponseWrapper the clients use; id,
// version, responsetime and metadata are not read, so that their shape
// cannot fail a call.
type answer[T any] struct {
	Response T              `json:"response"`
	Errors   []ServiceError `json:"errors"`
}

// jsonErrorKind names a decoding failure without quoting the input.
func jsonErrorKind(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s where %s was expected at %q", typ.Value, typ.Type, typ.Field)
	default:
		return "malformed"
	}
}

// onlyCode reports whether every error has code.
func onlyCode(errs []ServiceError, code string) bool {
	for _, se := range errs {
		if se.ErrorCode != code {
			return false
		}
	}
	return len(errs) > 0
}
