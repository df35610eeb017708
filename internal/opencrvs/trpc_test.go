package opencrvs

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// trpcServer answers every request with status and body and keeps what
// it was sent.
func trpcServer(t *testing.T, status int, body string) (*TRPCClient, *[]*http.Request, *[]string) {
	t.Helper()
	var reqs []*http.Request
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs, bodies = append(reqs, r), append(bodies, string(b))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return NewTRPCClient(TRPCConfig{URL: srv.URL + "/events/"}), &reqs, &bodies
}

var acceptIn = AcceptInput{
	TransactionID: "tx-1", EventID: "0e1f0bd5-9a1d-4d1f-8a59-3c7e3a1b2c3d", ActionID: "5b7f6c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e",
	RegistrationNumber: "2025BX3K9QP", Declaration: map[string]string{NationalIDField: "4716392850"},
}

// The request is the toolkit's: batch form, superjson envelope, bearer.
func TestTRPCAcceptWireFormat(t *testing.T) {
	t.Parallel()
	c, reqs, bodies := trpcServer(t, 200, `[{"result":{"data":{"json":{"id":"e"}}}}]`)
	if err := c.AcceptRegistration(t.Context(), "tok", acceptIn); err != nil {
		t.Fatal(err)
	}
	r := (*reqs)[0]
	if r.Method != "POST" || r.URL.Path != "/events/event.actions.register.accept" || r.URL.RawQuery != "batch=1" ||
		r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s?%s, headers %v", r.Method, r.URL.Path, r.URL.RawQuery, r.Header)
	}
	var got any
	if err := json.Unmarshal([]byte((*bodies)[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"0": map[string]any{"json": map[string]any{
		"transactionId": "tx-1", "eventId": acceptIn.EventID, "actionId": acceptIn.ActionID,
		"registrationNumber": "2025BX3K9QP", "declaration": map[string]any{"child.nid": "4716392850"},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	// A death: no declaration at all; a reject: the three ids only.
	death := acceptIn
	death.Declaration = nil
	_ = c.AcceptRegistration(t.Context(), "tok", death)
	_ = c.RejectRegistration(t.Context(), "tok", RejectInput{TransactionID: "tx-2", EventID: acceptIn.EventID, ActionID: acceptIn.ActionID})
	if strings.Contains((*bodies)[1], "declaration") {
		t.Errorf("death accept sends a declaration: %s", (*bodies)[1])
	}
	if want := `{"0":{"json":{"transactionId":"tx-2","eventId":"` + acceptIn.EventID + `","actionId":"` + acceptIn.ActionID + `"}}}`; (*bodies)[2] != want {
		t.Errorf("reject body %s, want %s", (*bodies)[2], want)
	}
	if (*reqs)[2].URL.Path != "/events/event.actions.register.reject" {
		t.Errorf("reject path %s", (*reqs)[2].URL.Path)
	}
}

// tRPC error objects are errors, classified for retries; "already
// accepted/rejected" counts as done; national IDs never reach messages.
func TestTRPCErrors(t *testing.T) {
	t.Parallel()
	trpcErr := func(code string, rpc, status int, msg string) string {
		return `[{"error":{"json":{"message":` + trpcJSONString(msg) + `,"code":` + itoa(rpc) + `,"data":{"code":"` + code + `","httpStatus":` + itoa(status) + `,"path":"event.actions.register.accept"}}}}]`
	}
	for _, tt := range []struct {
		name                string
		status              int
		body                string
		reject              bool
		code                string
		transient, done, ok bool
	}{
		{name: "success", status: 200, body: `[{"result":{"data":{"json":{}}}}]`, ok: true},
		{name: "single-call success", status: 200, body: `{"result":{"data":{"json":{}}}}`, ok: true},
		{name: "forbidden", status: 403, body: trpcErr("FORBIDDEN", -32003, 403, "FORBIDDEN"), code: "FORBIDDEN"},
		{name: "not found", status: 404, body: trpcErr("NOT_FOUND", -32004, 404, "Action not found."), code: "NOT_FOUND"},
		{name: "unauthorized", status: 401, body: trpcErr("UNAUTHORIZED", -32001, 401, "jwt expired"), code: "UNAUTHORIZED"},
		{name: "accept of rejected", status: 400, body: trpcErr("BAD_REQUEST", -32600, 400, "Action has already been rejected."), code: "BAD_REQUEST"},
		{name: "internal", status: 500, body: trpcErr("INTERNAL_SERVER_ERROR", -32603, 500, "Internal server error"), code: "INTERNAL_SERVER_ERROR", transient: true},
		{name: "error in a 200", status: 200, body: trpcErr("TOO_MANY_REQUESTS", -32029, 429, "slow down"), code: "TOO_MANY_REQUESTS", transient: true},
		{name: "error without superjson", status: 403, body: `{"error":{"message":"no","code":-32003,"data":{"code":"FORBIDDEN","httpStatus":403}}}`, code: "FORBIDDEN"},
		{name: "code number only", status: 404, body: `[{"error":{"json":{"message":"gone","code":-32004}}}]`, code: "NOT_FOUND"},
		{name: "proxy 502 page", status: 502, body: `<html>bad gateway</html>`, transient: true},
		{name: "proxy 200 page", status: 200, body: `<html>hello</html>`, transient: true},
		{name: "empty result", status: 200, body: `[{"result":{}}]`},
		{name: "already accepted", status: 400, body: trpcErr("BAD_REQUEST", -32600, 400, "Action has already been accepted."), code: "BAD_REQUEST", done: true},
		{name: "reject of rejected", reject: true, status: 400, body: trpcErr("BAD_REQUEST", -32600, 400, "Action has already been rejected."), code: "BAD_REQUEST", done: true},
		{name: "reject of accepted", reject: true, status: 500, body: trpcErr("INTERNAL_SERVER_ERROR", -32603, 500, "Action has already been accepted."), code: "INTERNAL_SERVER_ERROR", transient: true},
		{name: "message quoting the national ID", status: 400, body: trpcErr("BAD_REQUEST", -32600, 400, "child.nid 4716392850 is invalid"), code: "BAD_REQUEST"},
	} {
		c, _, _ := trpcServer(t, tt.status, tt.body)
		var err error
		if tt.reject {
			err = c.RejectRegistration(t.Context(), "tok", RejectInput{TransactionID: "t", EventID: "e", ActionID: "a"})
		} else {
			err = c.AcceptRegistration(t.Context(), "tok", acceptIn)
		}
		if tt.ok {
			if err != nil {
				t.Errorf("%s: %v, want success", tt.name, err)
			}
			continue
		}
		var te *TRPCError
		if !errors.As(err, &te) {
			t.Errorf("%s: %v, want a *TRPCError", tt.name, err)
			continue
		}
		if te.Code != tt.code || IsTransient(err) != tt.transient || IsAlreadyDone(err) != tt.done {
			t.Errorf("%s: code %q transient %v done %v, want %q %v %v (%v)", tt.name, te.Code, IsTransient(err), IsAlreadyDone(err), tt.code, tt.transient, tt.done, err)
		}
		if strings.Contains(err.Error(), "4716392850") || strings.Contains(err.Error(), "tok") && strings.Contains(err.Error(), "Bearer") {
			t.Errorf("%s: error %q shows the national ID or the token", tt.name, err)
		}
	}
}

func TestTRPCNoAnswerAndBadArguments(t *testing.T) {
	t.Parallel()
	c := NewTRPCClient(TRPCConfig{URL: "http://127.0.0.1:1/events"})
	err := c.AcceptRegistration(t.Context(), "tok", acceptIn)
	if !errors.Is(err, ErrNoResponse) || !IsTransient(err) {
		t.Errorf("unreachable: %v, want a transient ErrNoResponse", err)
	}
	for name, in := range map[string]AcceptInput{
		"no event":               {TransactionID: "t", ActionID: "a", RegistrationNumber: "r"},
		"no action":              {TransactionID: "t", EventID: "e", RegistrationNumber: "r"},
		"no registration number": {TransactionID: "t", EventID: "e", ActionID: "a"},
		"empty national ID":      {TransactionID: "t", EventID: "e", ActionID: "a", RegistrationNumber: "r", Declaration: map[string]string{NationalIDField: ""}},
	} {
		if err := c.AcceptRegistration(t.Context(), "tok", in); bridge.ErrorCodeOf(err) != bridge.EInvalid || IsTransient(err) {
			t.Errorf("%s: %v, want a permanent EInvalid", name, err)
		}
	}
	if err := NewTRPCClient(TRPCConfig{}).RejectRegistration(t.Context(), "tok", RejectInput{TransactionID: "t", EventID: "e", ActionID: "a"}); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("no URL: %v, want EInvalid", err)
	}
}

func trpcJSONString(s string) string { b, _ := json.Marshal(s); return string(b) }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func FuzzTRPCResponse(f *testing.F) {
	f.Add(200, []byte(`[{"result":{"data":{"json":{}}}}]`))
	f.Add(403, []byte(`[{"error":{"json":{"message":"x","code":-32003,"data":{"code":"FORBIDDEN"}}}}]`))
	f.Add(200, []byte(`{"error":null,"result":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		item, ok := decodeTRPC(body)
		if ok && item.Result == nil && len(item.Error) == 0 {
			t.Fatalf("decoded %q as an answer without result or error", body)
		}
		te := &TRPCError{Op: ProcRegisterAccept, StatusCode: status}
		if ok && len(item.Error) > 0 {
			te.read(item.Error, []string{"secret"})
		}
		_ = te.Error()
		_ = te.transient()
	})
}
