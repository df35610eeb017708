package opencrvs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"opencrvs-mosip/internal/bridge"
)

// Operations named in a GraphQLError: the GraphQL mutation names.
const (
	OpConfirmRegistration = "confirmRegistration"
	OpRejectRegistration  = "rejectRegistration"
)

// IdentifierNationalID is the identifier type mosip-api sends with the
// UIN/VID on confirmation (a Patient identifier type code in OpenCRVS 1.8).
const IdentifierNationalID = "NATIONAL_ID"

// The mutations, exactly as OpenCRVS 1.8's gateway schema declares them.
const (
	confirmMutation = `mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) { confirmRegistration(id: $id, details: $details) }`
	rejectMutation  = `mutation rejectRegistration($id: ID!, $details: RejectRegistrationInput!) { rejectRegistration(id: $id, details: $details) }`
)

// maxGraphQLResponseBytes bounds the response body read. The answers are
// a few hundred bytes; error answers with stack traces a few KiB.
const maxGraphQLResponseBytes = 1 << 20

// GraphQLConfig configures a GraphQLClient.
type GraphQLConfig struct {
	// URL is the gateway's GraphQL endpoint (OPENCRVS_GRAPHQL_GATEWAY_URL,
	// e.g. http://gateway:7070/graphql).
	URL        string
	HTTPClient *http.Client // nil: a client with a 30 s timeout
	Logger     *slog.Logger // nil: discard
}

// GraphQLClient sends registration feedback to OpenCRVS 1.8 through its
// GraphQL gateway, authenticated by the record-specific token OpenCRVS gave
// with the record. It does not retry: IsTransient and IsAlreadyDone tell the
// caller what a failure means. It never logs tokens or variables (they hold
// national ids).
type GraphQLClient struct {
	url  string
	http *http.Client
	log  *slog.Logger
}

// NewGraphQLClient returns a GraphQLClient.
func NewGraphQLClient(cfg GraphQLConfig) *GraphQLClient {
	c := &GraphQLClient{url: cfg.URL, http: cfg.HTTPClient, log: cfg.Logger}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Identifier is an identifier OpenCRVS adds to the registered person, e.g.
// {Type: IdentifierNationalID, Value: <VID>}.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// graphQLRequest is the POST body.
type graphQLRequest struct {
	Query     string `json:"query"`
	Variables any    `json:"variables"`
}

type confirmVariables struct {
	ID      string         `json:"id"`
	Details confirmDetails `json:"details"`
}

type confirmDetails struct {
	RegistrationNumber string       `json:"registrationNumber"`
	Identifiers        []Identifier `json:"identifiers,omitempty"`
}

type rejectVariables struct {
	ID      string        `json:"id"`
	Details rejectDetails `json:"details"`
}

type rejectDetails struct {
	Reason  string `json:"reason"`
	Comment string `json:"comment,omitempty"`
}

// ConfirmRegistration tells OpenCRVS that record recordID is registered
// under registrationNumber, adding identifiers (none: omitted) to the
// registered person. token is the record-specific token ("Bearer " is
// added). Failures are *GraphQLError (see IsTransient, IsAlreadyDone) or,
// for missing arguments, a *bridge.Error with code EInvalid.
func (c *GraphQLClient) ConfirmRegistration(ctx context.Context, token, recordID, registrationNumber string, identifiers []Identifier) error {
	if err := checkArgs(OpConfirmRegistration, token, recordID); err != nil {
		return err
	}
	if registrationNumber == "" {
		return invalidArg(OpConfirmRegistration, recordID, "registration number is empty")
	}
	secrets := make([]string, 0, len(identifiers))
	for i, id := range identifiers {
		if id.Type == "" || id.Value == "" {
			return invalidArg(OpConfirmRegistration, recordID, fmt.Sprintf("identifier %d has an empty type or value", i))
		}
		secrets = append(secrets, id.Value)
	}
	vars := confirmVariables{ID: recordID, Details: confirmDetails{RegistrationNumber: registrationNumber, Identifiers: identifiers}}
	return c.mutate(ctx, OpConfirmRegistration, confirmMutation, token, recordID, vars, secrets)
}

// RejectRegistration tells OpenCRVS that record recordID cannot be
// registered, with reason (required) and comment (optional: omitted when
// empty). Errors as for ConfirmRegistration.
func (c *GraphQLClient) RejectRegistration(ctx context.Context, token, recordID, reason, comment string) error {
	if err := checkArgs(OpRejectRegistration, token, recordID); err != nil {
		return err
	}
	if reason == "" {
		return invalidArg(OpRejectRegistration, recordID, "reason is empty")
	}
	vars := rejectVariables{ID: recordID, Details: rejectDetails{Reason: reason, Comment: comment}}
	return c.mutate(ctx, OpRejectRegistration, rejectMutation, token, recordID, vars, nil)
}

func checkArgs(op, token, recordID string) error {
	if recordID == "" {
		return invalidArg(op, recordID, "record id is empty")
	}
	if strings.TrimSpace(token) == "" {
		return invalidArg(op, recordID, "token is empty")
	}
	return nil
}

func invalidArg(op, recordID, msg string) error {
	return fmt.Errorf("opencrvs: %s %s: %w", op, recordID, bridge.Errorf(bridge.EInvalid, "%s", msg))
}

// graphQLResponse is a GraphQL answer: data, errors or both.
type graphQLResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []graphQLErrorItem         `json:"errors"`
}

type graphQLErrorItem struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// mutate POSTs one mutation and checks everything about the answer: the
// status, that the body is GraphQL JSON, that errors is empty and that data
// holds the mutation's result. secrets are values to blank out of error
// messages (a validation error may quote the variables).
func (c *GraphQLClient) mutate(ctx context.Context, op, query, token, recordID string, vars any, secrets []string) error {
	body, err := json.Marshal(graphQLRequest{Query: query, Variables: vars})
	if err != nil {
		return fmt.Errorf("opencrvs: %s %s: encode request: %w", op, recordID, err)
	}
	if c.url == "" {
		return invalidArg(op, recordID, "no GraphQL gateway URL configured")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("opencrvs: %s %s: %w", op, recordID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", bearer(token))

	resp, err := c.http.Do(req)
	if err != nil {
		return &GraphQLError{Op: op, RecordID: recordID, Err: fmt.Errorf("%w: %w", ErrNoResponse, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphQLResponseBytes+1))
	if err != nil {
		return &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: read body: %w", ErrNoResponse, err)}
	}
	if len(raw) > maxGraphQLResponseBytes {
		return &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode, Err: ErrBodyTooLarge}
	}

	var gr graphQLResponse
	jsonErr := json.Unmarshal(raw, &gr)
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode <= 299
	switch {
	case jsonErr == nil && len(gr.Errors) > 0:
		gerr := &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode}
		gerr.addErrors(gr.Errors, secrets)
		return gerr
	case !ok2xx:
		return &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode}
	case jsonErr != nil:
		return &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("%w (content type %q, %d bytes)", ErrNotGraphQL, resp.Header.Get("Content-Type"), len(raw))}
	}
	if result, found := gr.Data[op]; !found || isNull(result) {
		return &GraphQLError{Op: op, RecordID: recordID, StatusCode: resp.StatusCode, Err: ErrNoData}
	}
	c.log.DebugContext(ctx, "opencrvs mutation done", "op", op, "record_id", recordID, "status", resp.StatusCode)
	return nil
}

// bearer makes the Authorization value, accepting a token that already
// carries the scheme.
func bearer(token string) string {
	token = strings.TrimSpace(token)
	if scheme, _, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return token
	}
	return "Bearer " + token
}
