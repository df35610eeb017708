package opencrvs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// gatewayCall is what the fake gateway saw of one request.
type gatewayCall struct {
	Method, Path, ContentType, Authorization string
	Body                                     map[string]any
}

// fakeGateway records requests and answers with a fixed status and body.
type fakeGateway struct {
	status      int
	contentType string
	body        string

	mu    sync.Mutex
	calls []gatewayCall
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := gatewayCall{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Authorization: r.Header.Get("Authorization")}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&call.Body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.calls = append(g.calls, call)
	g.mu.Unlock()
	ct := g.contentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := g.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	fmt.Fprint(w, g.body)
}

func (g *fakeGateway) start(t *testing.T) *GraphQLClient {
	t.Helper()
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return NewGraphQLClient(GraphQLConfig{URL: srv.URL + "/graphql", HTTPClient: ownClient(t)})
}

func (g *fakeGateway) onlyCall(t *testing.T) gatewayCall {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.calls) != 1 {
		t.Fatalf("gateway got %d calls, want 1", len(g.calls))
	}
	return g.calls[0]
}

func TestConfirmRegistrationRequest(t *testing.T) {
	t.Parallel()
	const query = "mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) { confirmRegistration(id: $id, details: $details) }"
	tests := []struct {
		name        string
		identifiers []Identifier
		wantDetails map[string]any
	}{
		{
			name:        "with the national id",
			identifiers: []Identifier{{Type: IdentifierNationalID, Value: "4829153076"}},
			wantDetails: map[string]any{
				"registrationNumber": "2025BHQRYKE",
				"identifiers":        []any{map[string]any{"type": "NATIONAL_ID", "value": "4829153076"}},
			},
		},
		{
			name:        "identifiers omitted when empty",
			wantDetails: map[string]any{"registrationNumber": "2025BHQRYKE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fakeGateway{body: `{"data":{"confirmRegistration":"rec-1"}}`}
			c := g.start(t)
			if err := c.ConfirmRegistration(context.Background(), "record-token", "rec-1", "2025BHQRYKE", tt.identifiers); err != nil {
				t.Fatalf("ConfirmRegistration: %v", err)
			}
			want := gatewayCall{
				Method: "POST", Path: "/graphql", ContentType: "application/json", Authorization: "Bearer record-token",
				Body: map[string]any{
					"query":     query,
					"variables": map[string]any{"id": "rec-1", "details": tt.wantDetails},
				},
			}
			if diff := cmp.Diff(want, g.onlyCall(t)); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRejectRegistrationRequest(t *testing.T) {
	t.Parallel()
	const query = "mutation rejectRegistration($id: ID!, $details: RejectRegistrationInput!) { rejectRegistration(id: $id, details: $details) }"
	tests := []struct {
		name, comment string
		wantDetails   map[string]any
	}{
		{"with comment", "MOSIP: UIN not found", map[string]any{"reason": "other", "comment": "MOSIP: UIN not found"}},
		{"comment omitted when empty", "", map[string]any{"reason": "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fakeGateway{body: `{"data":{"rejectRegistration":"rec-2"}}`}
			c := g.start(t)
			// A token already carrying its scheme is sent as is.
			if err := c.RejectRegistration(context.Background(), "Bearer record-token", "rec-2", "other", tt.comment); err != nil {
				t.Fatalf("RejectRegistration: %v", err)
			}
			want := gatewayCall{
				Method: "POST", Path: "/graphql", ContentType: "application/json", Authorization: "Bearer record-token",
				Body: map[string]any{
					"query":     query,
					"variables": map[string]any{"id": "rec-2", "details": tt.wantDetails},
				},
			}
			if diff := cmp.Diff(want, g.onlyCall(t)); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGraphQLFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		reject      bool // call RejectRegistration instead of ConfirmRegistration
		want        *GraphQLError
		wantErr     error // errors.Is target, if any
		transient   bool
		alreadyDone bool
	}{
		{
			name: "GraphQL errors in HTTP 200",
			body: `{"errors":[{"message":"User does not have access to the record","extensions":{"code":"FORBIDDEN"}}],"data":null}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"User does not have access to the record"}, Codes: []string{"FORBIDDEN"}},
		},
		{
			name: "simulator: already registered",
			body: `{"errors":[{"message":"record rec-1 is already registered","extensions":{"code":"ALREADY_REGISTERED"}}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"record rec-1 is already registered"}, Codes: []string{"ALREADY_REGISTERED"}},
			alreadyDone: true,
		},
		{
			name: "core wording: not in WAITING_VALIDATION",
			body: `{"errors":[{"message":"Failed to confirm registration: Record is not in WAITING_VALIDATION state","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"Failed to confirm registration: Record is not in WAITING_VALIDATION state"}, Codes: []string{"INTERNAL_SERVER_ERROR"}},
			transient:   true,
			alreadyDone: true,
		},
		{
			name:   "already registered does not make a rejection done",
			reject: true,
			body:   `{"errors":[{"message":"record is already registered"}]}`,
			want: &GraphQLError{Op: OpRejectRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"record is already registered"}, Codes: []string{""}},
		},
		{
			name:   "already rejected",
			reject: true,
			body:   `{"errors":[{"message":"Record has already been rejected"}]}`,
			want: &GraphQLError{Op: OpRejectRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"Record has already been rejected"}, Codes: []string{""}},
			alreadyDone: true,
		},
		{
			name: "internal error code is transient",
			body: `{"errors":[{"message":"workflow unreachable","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"workflow unreachable"}, Codes: []string{"INTERNAL_SERVER_ERROR"}},
			transient: true,
		},
		{
			name: "mixed codes are not transient",
			body: `{"errors":[{"message":"a","extensions":{"code":"INTERNAL_SERVER_ERROR"}},{"message":"b","extensions":{"code":"BAD_USER_INPUT"}}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{"a", "b"}, Codes: []string{"INTERNAL_SERVER_ERROR", "BAD_USER_INPUT"}},
		},
		{
			name: "validation error quoting the national id is redacted",
			body: `{"errors":[{"message":"Variable \"$details\" got invalid value { registrationNumber: \"R1\", identifiers: [{ type: \"NATIONAL_ID\", value: \"4829153076\" }] }; Field \"x\" is not defined.","extensions":{"code":"BAD_USER_INPUT"}},{"message":"value 4829153076 rejected\n"}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 200,
				Messages: []string{`Variable "$details" got invalid value [redacted]; Field "x" is not defined.`, "value [redacted] rejected"},
				Codes:    []string{"BAD_USER_INPUT", ""}},
		},
		{
			name:   "401: the record token is bad",
			status: 401,
			body:   `{"statusCode":401,"error":"Unauthorized","message":"Invalid token"}`,
			want:   &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 401},
		},
		{
			name:   "403 with GraphQL errors",
			status: 403,
			body:   `{"errors":[{"message":"forbidden","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`,
			want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 403,
				Messages: []string{"forbidden"}, Codes: []string{"INTERNAL_SERVER_ERROR"}},
		},
		{
			name:        "503 from a proxy",
			status:      503,
			contentType: "text/html",
			body:        "<html>Service Unavailable</html>",
			want:        &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 503},
			transient:   true,
		},
		{name: "429", status: 429, want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 429}, transient: true},
		{name: "408", status: 408, want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 408}, transient: true},
		{name: "404", status: 404, body: "not found", want: &GraphQLError{Op: OpConfirmRegistration, RecordID: "rec-1", StatusCode: 404}},
		{
			name: "200 with a body that is not JSON", contentType: "text/html", body: "<html>login</html>",
			wantErr: ErrNotGraphQL, transient: true,
		},
		{name: "200 without data", body: `{}`, wantErr: ErrNoData},
		{name: "200 with null result", body: `{"data":{"confirmRegistration":null}}`, wantErr: ErrNoData},
		{name: "200 with another field", body: `{"data":{"other":"x"}}`, wantErr: ErrNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fakeGateway{status: tt.status, contentType: tt.contentType, body: tt.body}
			c := g.start(t)
			var err error
			if tt.reject {
				err = c.RejectRegistration(context.Background(), "tok-secret-123", "rec-1", "other", "")
			} else {
				err = c.ConfirmRegistration(context.Background(), "tok-secret-123", "rec-1", "R1", []Identifier{{IdentifierNationalID, "4829153076"}})
			}
			var ge *GraphQLError
			if !errors.As(err, &ge) {
				t.Fatalf("error = %v (%T), want *GraphQLError", err, err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, ge); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want one wrapping %v", err, tt.wantErr)
			}
			if got := IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.transient)
			}
			if got := IsAlreadyDone(err); got != tt.alreadyDone {
				t.Errorf("IsAlreadyDone(%v) = %v, want %v", err, got, tt.alreadyDone)
			}
			if strings.Contains(err.Error(), "4829153076") || strings.Contains(err.Error(), "tok-secret-123") {
				t.Errorf("error text leaks the request: %q", err)
			}
		})
	}
}

func TestGraphQLNoResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := NewGraphQLClient(GraphQLConfig{URL: srv.URL + "/graphql", HTTPClient: ownClient(t)})
	err := c.ConfirmRegistration(context.Background(), "tok", "rec-1", "R1", nil)
	if !errors.Is(err, ErrNoResponse) {
		t.Errorf("error = %v, want ErrNoResponse", err)
	}
	if !IsTransient(err) {
		t.Errorf("IsTransient(%v) = false, want true", err)
	}
}

func TestGraphQLTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := NewGraphQLClient(GraphQLConfig{URL: srv.URL, HTTPClient: &http.Client{Transport: ownClient(t).Transport, Timeout: 50 * time.Millisecond}})
	err := c.ConfirmRegistration(context.Background(), "tok", "rec-1", "R1", nil)
	if err == nil || !IsTransient(err) {
		t.Errorf("error = %v, IsTransient = %v; want a transient error", err, IsTransient(err))
	}
}

func TestGraphQLInvalidArguments(t *testing.T) {
	t.Parallel()
	g := &fakeGateway{body: `{"data":{"confirmRegistration":"x"}}`}
	c := g.start(t)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"no token", func() error { return c.ConfirmRegistration(ctx, " ", "rec-1", "R1", nil) }},
		{"no record id", func() error { return c.ConfirmRegistration(ctx, "tok", "", "R1", nil) }},
		{"no registration number", func() error { return c.ConfirmRegistration(ctx, "tok", "rec-1", "", nil) }},
		{"empty identifier value", func() error {
			return c.ConfirmRegistration(ctx, "tok", "rec-1", "R1", []Identifier{{Type: IdentifierNationalID}})
		}},
		{"no reason", func() error { return c.RejectRegistration(ctx, "tok", "rec-1", "", "c") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if code := bridge.ErrorCodeOf(err); code != bridge.EInvalid {
				t.Errorf("code = %q (%v), want %q", code, err, bridge.EInvalid)
			}
			if IsTransient(err) {
				t.Errorf("IsTransient(%v) = true", err)
			}
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.calls) != 0 {
		t.Errorf("gateway got %d calls, want none", len(g.calls))
	}
}

func TestGraphQLDoesNotLogSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := &fakeGateway{body: `{"data":{"confirmRegistration":"rec-1"}}`}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c := NewGraphQLClient(GraphQLConfig{URL: srv.URL, Logger: logger, HTTPClient: ownClient(t)})
	if err := c.ConfirmRegistration(context.Background(), "secret-token", "rec-1", "R1", []Identifier{{IdentifierNationalID, "4829153076"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("nothing logged at debug level; the test would prove nothing")
	}
	for _, secret := range []string{"secret-token", "4829153076"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q: %s", secret, logs.String())
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

func TestIsTransientOutsideGraphQLError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"cancelled", fmt.Errorf("job: %w", context.Canceled), true},
		{"deadline", context.DeadlineExceeded, true},
		{"plain", errors.New("boom"), false},
		{"invalid", bridge.Errorf(bridge.EInvalid, "x"), false},
	}
	for _, tt := range tests {
		if got := IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient = %v, want %v", tt.name, got, tt.want)
		}
		if IsAlreadyDone(tt.err) {
			t.Errorf("%s: IsAlreadyDone = true", tt.name)
		}
	}
}

func TestAlreadyDoneRulesWellFormed(t *testing.T) {
	t.Parallel()
	for i, r := range AlreadyDoneRules() {
		if (r.Code == "") == (r.Phrase == "") {
			t.Errorf("rule %d: exactly one of Code and Phrase must be set: %+v", i, r)
		}
		if r.Phrase != strings.ToLower(r.Phrase) {
			t.Errorf("rule %d: phrase %q must be lower case (matching lowers the message)", i, r.Phrase)
		}
		if r.Op != OpConfirmRegistration && r.Op != OpRejectRegistration && r.Op != ProcRegisterAccept && r.Op != ProcRegisterReject {
			t.Errorf("rule %d: unknown op %q", i, r.Op)
		}
	}
}

func FuzzGraphQLResponse(f *testing.F) {
	f.Add(200, []byte(`{"data":{"confirmRegistration":"x"}}`))
	f.Add(200, []byte(`{"errors":[{"message":"already registered","extensions":{"code":7}}]}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"errors":[]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		c := NewGraphQLClient(GraphQLConfig{URL: "http://gateway.test/graphql", HTTPClient: inMemoryClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write(body)
		}))})
		err := c.ConfirmRegistration(context.Background(), "tok", "rec-1", "R1", []Identifier{{IdentifierNationalID, "4829153076"}})
		if err == nil {
			if status > 299 {
				t.Errorf("HTTP %d accepted", status)
			}
			return
		}
		var ge *GraphQLError
		if !errors.As(err, &ge) {
			t.Fatalf("error %v is not a *GraphQLError", err)
		}
		if len(ge.Messages) != len(ge.Codes) || len(ge.Messages) > maxGraphQLErrors {
			t.Errorf("messages %d, codes %d", len(ge.Messages), len(ge.Codes))
		}
		if strings.Contains(err.Error(), "4829153076") {
			t.Errorf("error leaks the national id: %q", err)
		}
	})
}
