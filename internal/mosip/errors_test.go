package mosip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsTransient(t *testing.T) {
	t.Parallel()
	codes := func(cs ...string) []ServiceError {
		var out []ServiceError
		for _, c := range cs {
			out = append(out, ServiceError{ErrorCode: c, Message: "m"})
		}
		return out
	}
	api := func(op string, status int, errs []ServiceError, err error) error {
		return newAPIError(op, "100010123456789", status, errs, err)
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"context canceled", context.Canceled, true},
		{"wrapped deadline", fmt.Errorf("job: %w", context.DeadlineExceeded), true},
		{"net.OpError", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{"url.Error", &url.Error{Op: "Put", URL: "http://x", Err: errors.New("reset")}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"plain error", errors.New("packet has no id"), false},

		{"no response", api(OpCreatePacket, 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, errors.New("dial"))), true},
		{"auth 200 without cookie", api(OpAuthenticate, 200, nil, ErrNoToken), true},
		{"auth 400", api(OpAuthenticate, 400, nil, nil), true},
		{"auth unknown code", api(OpAuthenticate, 200, codes("KER-XYZ-001"), nil), true},
		{"HTTP 500", api(OpCreatePacket, 500, nil, nil), true},
		{"HTTP 502", api(OpStartWorkflow, 502, nil, nil), true},
		{"HTTP 503 with a permanent code", api(OpCreatePacket, 503, codes("KER-PUT-006"), nil), true},
		{"HTTP 429", api(OpSearchStatus, 429, nil, nil), true},
		{"HTTP 408", api(OpSearchStatus, 408, nil, nil), true},
		{"HTTP 401", api(OpCreatePacket, 401, codes("KER-ATH-401"), nil), true},
		{"HTTP 403", api(OpCreatePacket, 403, nil, nil), true},
		{"HTTP 400", api(OpCreatePacket, 400, nil, nil), false},
		{"HTTP 404", api(OpCreatePacket, 404, nil, nil), false},
		{"HTTP 413", api(OpCreatePacket, 413, nil, nil), false},
		{"HTTP 400 with a transient code", api(OpCreatePacket, 400, codes("KER-PUT-028"), nil), true},
		{"RPR-WIN-000", api(OpStartWorkflow, 200, codes("RPR-WIN-000"), nil), false},
		{"RPR-WIN-001", api(OpStartWorkflow, 200, codes("RPR-WIN-001"), nil), false},
		{"RPR-WIN-002", api(OpStartWorkflow, 200, codes("RPR-WIN-002"), nil), true},
		{"RPR-WIS-000", api(OpStartWorkflow, 200, codes("RPR-WIS-000"), nil), true},
		{"KER-PUT-006 no provider", api(OpCreatePacket, 200, codes("KER-PUT-006"), nil), false},
		{"KER-PUT-015 packet keeper", api(OpCreatePacket, 200, codes("KER-PUT-015"), nil), true},
		{"KER-ATH-403 in a 200", api(OpCreatePacket, 200, codes("KER-ATH-403"), nil), true},
		{"unknown code", api(OpCreatePacket, 200, codes("ABC-000"), nil), false},
		{"all transient", api(OpCreatePacket, 200, codes("KER-PUT-028", "KER-PUT-004"), nil), true},
		{"transient and unknown", api(OpCreatePacket, 200, codes("KER-PUT-028", "ABC-000"), nil), false},
		{"null response", api(OpCreatePacket, 200, nil, ErrNullResponse), true},
		{"not MOSIP JSON", api(OpCreatePacket, 200, nil, ErrNotMOSIPJSON), true},
		{"body too large", api(OpSearchStatus, 200, nil, ErrBodyTooLarge), true},
		{"odd 2xx without errors", api(OpCreatePacket, 204, nil, nil), false},
		{"APIError wrapped by a job", fmt.Errorf("submit %s: %w", "tx-1", api(OpCreatePacket, 500, nil, nil)), true},
		{"auth error wrapped by a call", fmt.Errorf("mosip: create packet: %w", api(OpAuthenticate, 401, nil, nil)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorCodesTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, row := range ErrorCodes() {
		if seen[row.Code] {
			t.Errorf("code %s listed twice", row.Code)
		}
		seen[row.Code] = true
		if row.Meaning == "" {
			t.Errorf("code %s has no meaning", row.Code)
		}
		if i := strings.IndexByte(row.Code, '*'); i >= 0 && i != len(row.Code)-1 {
			t.Errorf("code %s: '*' only ends a prefix", row.Code)
		}
		if c, known := CodeClass(row.Code); !known || c != row.Class {
			t.Errorf("CodeClass(%s) = %v, %v; want %v, true", row.Code, c, known, row.Class)
		}
	}
	if Transient.String() != "transient" || Permanent.String() != "permanent" {
		t.Errorf("class names = %s, %s", Transient, Permanent)
	}
	// The table hands out copies: changing one does not change the next.
	rows := ErrorCodes()
	rows[0].Class = 1 - rows[0].Class
	if ErrorCodes()[0].Class == rows[0].Class {
		t.Error("ErrorCodes shares its table with callers")
	}
	tests := []struct {
		code      string
		want      ErrorClass
		wantKnown bool
	}{
		{"KER-ATH-401", Transient, true},
		{"KER-ATH-999", Transient, true},
		{"RPR-WIS-001", Permanent, true},
		{"RPR-NEW-123", Permanent, false},
		{"", Permanent, false},
	}
	for _, tt := range tests {
		if got, known := CodeClass(tt.code); got != tt.want || known != tt.wantKnown {
			t.Errorf("CodeClass(%q) = %v, %v; want %v, %v", tt.code, got, known, tt.want, tt.wantKnown)
		}
	}
}

func TestAPIErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *APIError
		want string
	}{
		{
			name: "codes",
			err: newAPIError(OpCreatePacket, "100010123456789", 200, []ServiceError{
				{ErrorCode: "KER-PUT-006", Message: "No available provider for given source and process"},
				{ErrorCode: "KER-PUT-028"},
			}, nil),
			want: "mosip: create packet 100010123456789: HTTP 200: KER-PUT-006 (No available provider for given source and process); KER-PUT-028",
		},
		{
			name: "sentinel",
			err:  newAPIError(OpSearchStatus, "", 200, nil, ErrNullResponse),
			want: "mosip: search status: HTTP 200: response is null",
		},
		{
			name: "status only",
			err:  newAPIError(OpStartWorkflow, "1", 503, nil, nil),
			want: "mosip: start workflow 1: HTTP 503",
		},
		{
			name: "control characters and long messages",
			err: newAPIError(OpAuthenticate, "", 200, []ServiceError{
				{ErrorCode: "KER-ATH-401\n", Message: "line one\nlevel=ERROR forged " + strings.Repeat("x", 300)},
			}, nil),
			want: "mosip: authenticate: HTTP 200: KER-ATH-401 (line one level=ERROR forged " + strings.Repeat("x", 200-len("line one level=ERROR forged ")) + "…)",
		},
		{
			name: "nothing known",
			err:  &APIError{Op: OpCreatePacket},
			want: "mosip: create packet: failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}

	many := make([]ServiceError, 50)
	for i := range many {
		many[i] = ServiceError{ErrorCode: fmt.Sprintf("C-%d", i)}
	}
	if got := len(newAPIError(OpCreatePacket, "1", 200, many, nil).Errors); got != maxErrorsKept {
		t.Errorf("kept %d errors, want %d", got, maxErrorsKept)
	}
}

func TestAPIErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := &net.OpError{Op: "read", Err: errors.New("connection reset")}
	err := fmt.Errorf("job: %w", newAPIError(OpCreatePacket, "1", 0, nil, fmt.Errorf("%w: %w", ErrNoResponse, cause)))
	var ne net.Error
	if !errors.Is(err, ErrNoResponse) || !errors.As(err, &ne) {
		t.Errorf("errors.Is/As cannot see through %v", err)
	}
}
