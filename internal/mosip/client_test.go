package mosip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func samplePacket() *PacketDto {
	return &PacketDto{
		ID:            "100010123456789",
		RefID:         "10001_10004",
		Process:       "CRVS_NEW",
		Source:        "OPENCRVS",
		SchemaVersion: "0.100",
		SchemaJSON:    `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Tonga identity"}`,
		Fields: map[string]string{
			"fullName":               `[{"language":"eng","value":"Tahi Sami"}]`,
			"dateOfBirth":            "2024/01/01",
			"gender":                 `[{"language":"eng","value":"Female"}]`,
			"birthCertificateNumber": "2025BXXDBIC",
		},
		MetaInfo: map[string]string{
			"metaData":       `[{"label":"registrationType","value":"CRVS_NEW"},{"label":"centerId","value":"10001"}]`,
			"registrationId": "2025BXXDBIC",
			"creationDate":   "20250301100000",
		},
		Audits: []map[string]string{{
			"uuid": "4f1c", "eventId": "REG-EVT-066", "eventName": "PACKET_CREATION_SUCCESS", "id": "100010123456789",
		}},
	}
}

// packetCreated is a packet manager answer in MOSIP's words.
const packetCreated = `{"id":"mosip.registration.packet.writer","version":"v1","responsetime":"2025-03-01T10:00:01.000Z","metadata":null,
 "response":[
  {"id":"100010123456789","packetName":"100010123456789_id","source":"OPENCRVS","process":"CRVS_NEW","refId":"10001_10004",
   "schemaVersion":"0.100","signature":"c2ln","encryptedHash":"aGFzaA","providerName":"PacketWriterImpl","providerVersion":"v1.0",
   "creationDate":"2025-03-01T10:00:01.000Z"},
  {"id":"100010123456789","packetName":"100010123456789_evidence","source":"OPENCRVS","process":"CRVS_NEW","refId":"10001_10004",
   "schemaVersion":"0.100","providerName":"PacketWriterImpl","providerVersion":"v1.0"}],
 "errors":[]}`

func TestCreatePacketWireFormat(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, packetCreated) })
	got, err := f.client(newTestClock()).CreatePacket(t.Context(), samplePacket())
	if err != nil {
		t.Fatal(err)
	}
	want := []PacketInfo{
		{
			ID: "100010123456789", PacketName: "100010123456789_id", Source: "OPENCRVS", Process: "CRVS_NEW",
			RefID: "10001_10004", SchemaVersion: "0.100", Signature: "c2ln", EncryptedHash: "aGFzaA",
			ProviderName: "PacketWriterImpl", ProviderVersion: "v1.0", CreationDate: "2025-03-01T10:00:01.000Z",
		},
		{
			ID: "100010123456789", PacketName: "100010123456789_evidence", Source: "OPENCRVS", Process: "CRVS_NEW",
			RefID: "10001_10004", SchemaVersion: "0.100", ProviderName: "PacketWriterImpl", ProviderVersion: "v1.0",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packet infos (-want +got):\n%s", diff)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPut || r.ContentType != "application/json" || r.Token != "tok-1" {
		t.Errorf("method %s, Content-Type %q, cookie token %q; want PUT, application/json, tok-1", r.Method, r.ContentType, r.Token)
	}
	// The wire format of protocols.md §2.1 (what the Node client sends):
	// no metadata; fields, metaInfo values and audits entries are strings;
	// schemaJson is a string.
	wantBody := map[string]any{
		"id":          "string",
		"version":     "string",
		"requesttime": "2025-03-01T10:00:00.000Z",
		"request": map[string]any{
			"id":            "100010123456789",
			"refId":         "10001_10004",
			"offlineMode":   false,
			"process":       "CRVS_NEW",
			"source":        "OPENCRVS",
			"schemaVersion": "0.100",
			"schemaJson":    `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Tonga identity"}`,
			"fields": map[string]any{
				"fullName":               `[{"language":"eng","value":"Tahi Sami"}]`,
				"dateOfBirth":            "2024/01/01",
				"gender":                 `[{"language":"eng","value":"Female"}]`,
				"birthCertificateNumber": "2025BXXDBIC",
			},
			"metaInfo": map[string]any{
				"metaData":       `[{"label":"registrationType","value":"CRVS_NEW"},{"label":"centerId","value":"10001"}]`,
				"registrationId": "2025BXXDBIC",
				"creationDate":   "20250301100000",
			},
			"audits": []any{map[string]any{
				"uuid": "4f1c", "eventId": "REG-EVT-066", "eventName": "PACKET_CREATION_SUCCESS", "id": "100010123456789",
			}},
		},
	}
	if diff := cmp.Diff(wantBody, decodeJSON(t, r.Body)); diff != "" {
		t.Errorf("createPacket body (-want +got):\n%s", diff)
	}
}

func TestCreatePacketFailures(t *testing.T) {
	t.Parallel()
	// "Tahi Sami" stands for personal data in a body: it must never reach
	// an error string.
	tests := []struct {
		name          string
		status        int
		body          string
		wantCodes     []string
		wantErr       error
		wantTransient bool
	}{
		{
			name:   "no available provider",
			status: 200,
			body: `{"id":"mosip.registration.packet.writer","version":"v1","response":null,
				"errors":[{"errorCode":"KER-PUT-006","message":"No available provider for given source and process"}]}`,
			wantCodes: []string{"KER-PUT-006"},
		},
		{
			name:          "unknown exception",
			status:        200,
			body:          `{"response":null,"errors":[{"errorCode":"KER-PUT-028","message":"Unknown Exception."}]}`,
			wantCodes:     []string{"KER-PUT-028"},
			wantTransient: true,
		},
		{
			name:      "transient and permanent codes together",
			status:    200,
			body:      `{"errors":[{"errorCode":"KER-PUT-028","message":"x"},{"errorCode":"KER-KPM-007","message":"y"}]}`,
			wantCodes: []string{"KER-PUT-028", "KER-KPM-007"},
		},
		{
			name:      "unknown code",
			status:    200,
			body:      `{"errors":[{"errorCode":"KER-XYZ-999","message":"something new"}]}`,
			wantCodes: []string{"KER-XYZ-999"},
		},
		{
			name:          "response null without errors",
			status:        200,
			body:          `{"id":"mosip.registration.packet.writer","version":"v1","response":null,"errors":[]}`,
			wantErr:       ErrNullResponse,
			wantTransient: true,
		},
		{
			name:          "errors null and response null",
			status:        200,
			body:          `{"response":null,"errors":null}`,
			wantErr:       ErrNullResponse,
			wantTransient: true,
		},
		{
			name:          "empty response list",
			status:        200,
			body:          `{"response":[],"errors":[]}`,
			wantErr:       ErrNullResponse,
			wantTransient: true,
		},
		{
			name:          "HTML with 200",
			status:        200,
			body:          `<html><body>Gateway says hello to Tahi Sami</body></html>`,
			wantErr:       ErrNotMOSIPJSON,
			wantTransient: true,
		},
		{
			name:          "truncated JSON",
			status:        200,
			body:          `{"response":[{"id":"Tahi Sami`,
			wantErr:       ErrNotMOSIPJSON,
			wantTransient: true,
		},
		{
			name:          "wrong JSON types",
			status:        200,
			body:          `{"response":"Tahi Sami","errors":[]}`,
			wantErr:       ErrNotMOSIPJSON,
			wantTransient: true,
		},
		{
			name:          "JSON null",
			status:        200,
			body:          `null`,
			wantErr:       ErrNotMOSIPJSON,
			wantTransient: true,
		},
		{
			name:          "500 HTML",
			status:        500,
			body:          `<html>java.lang.NullPointerException at Tahi Sami</html>`,
			wantTransient: true,
		},
		{
			name:          "503 with MOSIP errors",
			status:        503,
			body:          `{"errors":[{"errorCode":"KER-KPM-007","message":"Invalid input provided"}]}`,
			wantCodes:     []string{"KER-KPM-007"},
			wantTransient: true,
		},
		{name: "429", status: 429, body: ``, wantTransient: true},
		{name: "408", status: 408, body: ``, wantTransient: true},
		{name: "403", status: 403, body: `{"errors":[{"errorCode":"KER-ATH-403","message":"Forbidden"}]}`, wantCodes: []string{"KER-ATH-403"}, wantTransient: true},
		{name: "400 without body", status: 400, body: ``},
		{name: "404", status: 404, body: `Tahi Sami not found`},
		{
			name:          "body above the limit",
			status:        200,
			body:          `{"response":[],"errors":[],"pad":"` + strings.Repeat("x", MaxResponseBytes) + `"}`,
			wantErr:       ErrBodyTooLarge,
			wantTransient: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, tt.status, tt.body) })
			infos, err := f.client(newTestClock()).CreatePacket(t.Context(), samplePacket())
			if err == nil {
				t.Fatalf("CreatePacket = %v, nil; want an error", infos)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.Op != OpCreatePacket || ae.ID != "100010123456789" || ae.StatusCode != tt.status {
				t.Errorf("Op, ID, StatusCode = %q, %q, %d; want %q, 100010123456789, %d",
					ae.Op, ae.ID, ae.StatusCode, OpCreatePacket, tt.status)
			}
			if diff := cmp.Diff(tt.wantCodes, ae.Codes(), cmpEmpty()); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if got := IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.wantTransient)
			}
			if msg := err.Error(); strings.Contains(msg, "Tahi Sami") || len(msg) > 1000 {
				t.Errorf("error string leaks the body: %.300s", msg)
			}
			for _, code := range tt.wantCodes {
				if !strings.Contains(err.Error(), code) {
					t.Errorf("error %q does not name code %s", err, code)
				}
			}
		})
	}
}

func TestCreatePacketRejectsPacketWithoutID(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, packetCreated) })
	c := f.client(newTestClock())
	for _, p := range []*PacketDto{nil, {Process: "CRVS_NEW"}} {
		if _, err := c.CreatePacket(t.Context(), p); err == nil || IsTransient(err) {
			t.Errorf("CreatePacket(%+v) err = %v, want a permanent error", p, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

func TestStartWorkflow(t *testing.T) {
	t.Parallel()
	started := `{"id":"mosip.registration.processor.workflow.instance","version":"v1","responsetime":"2025-03-01T10:00:01.000Z",
		"response":{"workflowInstanceId":"6f1c2d3e-0000-4000-8000-000000000001"},"errors":null}`
	failed := func(code, msg string) string {
		return fmt.Sprintf(`{"id":"mosip.registration.processor.workflow.instance","version":"v1","response":null,`+
			`"errors":[{"errorCode":%q,"message":%q}]}`, code, msg)
	}
	tests := []struct {
		name          string
		status        int
		body          string
		wantID        string
		wantErr       bool
		wantCodes     []string
		wantTransient bool
	}{
		{name: "started", status: 200, body: started, wantID: "6f1c2d3e-0000-4000-8000-000000000001"},
		{name: "odd wrapper fields are not read", status: 200,
			body:   `{"id":7,"version":null,"responsetime":1740823200,"metadata":"x","response":{"workflowInstanceId":"wf-2"}}`,
			wantID: "wf-2"},
		{name: "already present is success", status: 200, body: failed("RPR-WIS-001", "WorkflowInstance already present")},
		{name: "missing value", status: 200, body: failed("RPR-WIN-000", "Missing Request Value - requesttime"),
			wantErr: true, wantCodes: []string{"RPR-WIN-000"}},
		{name: "invalid value", status: 200, body: failed("RPR-WIN-001", "Invalid Request Value - process"),
			wantErr: true, wantCodes: []string{"RPR-WIN-001"}},
		{name: "api unknown exception", status: 200, body: failed("RPR-WIN-002", "Unknown Exception"),
			wantErr: true, wantCodes: []string{"RPR-WIN-002"}, wantTransient: true},
		{name: "service unknown exception", status: 200, body: failed("RPR-WIS-000", "Unknown Exception"),
			wantErr: true, wantCodes: []string{"RPR-WIS-000"}, wantTransient: true},
		{name: "already present with another error", status: 200,
			body:    `{"errors":[{"errorCode":"RPR-WIS-001","message":"a"},{"errorCode":"RPR-WIN-001","message":"b"}]}`,
			wantErr: true, wantCodes: []string{"RPR-WIS-001", "RPR-WIN-001"}},
		{name: "null response", status: 200, body: `{"response":null,"errors":null}`, wantErr: true, wantTransient: true},
		{name: "502", status: 502, body: `Bad Gateway`, wantErr: true, wantTransient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, tt.status, tt.body) })
			var logs bytes.Buffer
			c := f.client(newTestClock())
			c.log = slog.New(slog.NewJSONHandler(&logs, nil))
			req := &WorkflowRequest{
				RegistrationID: "100010123456789", Process: "CRVS_NEW", Source: "OPENCRVS",
				NotificationInfo: NotificationInfo{Name: "Tahi Sami", Phone: "+260912345678", Email: "tahi@example.org"},
			}
			id, err := c.StartWorkflow(t.Context(), req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("StartWorkflow = %q, %v; want error %v", id, err, tt.wantErr)
			}
			if id != tt.wantID {
				t.Errorf("instance id = %q, want %q", id, tt.wantID)
			}
			if err != nil {
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v (%T), want *APIError", err, err)
				}
				if diff := cmp.Diff(tt.wantCodes, ae.Codes(), cmpEmpty()); diff != "" {
					t.Errorf("codes (-want +got):\n%s", diff)
				}
				if got := IsTransient(err); got != tt.wantTransient {
					t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.wantTransient)
				}
			}
			if strings.Contains(logs.String(), "Tahi") || strings.Contains(logs.String(), "+260") {
				t.Errorf("logs hold personal data: %s", logs.String())
			}

			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			if reqs[0].Method != http.MethodPost || reqs[0].ContentType != "application/json" || reqs[0].Token != "tok-1" {
				t.Errorf("method %s, Content-Type %q, token %q; want POST, application/json, tok-1",
					reqs[0].Method, reqs[0].ContentType, reqs[0].Token)
			}
			// protocols.md §3.1: the id and version the registration
			// processor validates; additionalInfoReqId is sent even empty.
			wantBody := map[string]any{
				"id":          "mosip.registration.processor.workflow.instance",
				"version":     "v1",
				"requesttime": "2025-03-01T10:00:00.000Z",
				"request": map[string]any{
					"registrationId":      "100010123456789",
					"process":             "CRVS_NEW",
					"source":              "OPENCRVS",
					"additionalInfoReqId": "",
					"notificationInfo":    map[string]any{"name": "Tahi Sami", "phone": "+260912345678", "email": "tahi@example.org"},
				},
			}
			if diff := cmp.Diff(wantBody, decodeJSON(t, reqs[0].Body)); diff != "" {
				t.Errorf("workflowinstance body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartWorkflowLogsAlreadyPresent(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		reply(w, 200, `{"errors":[{"errorCode":"RPR-WIS-001","message":"WorkflowInstance already present"}]}`)
	})
	var logs bytes.Buffer
	c := f.client(newTestClock())
	c.log = slog.New(slog.NewJSONHandler(&logs, nil))
	if _, err := c.StartWorkflow(t.Context(), &WorkflowRequest{RegistrationID: "100010123456789", Process: "CRVS_NEW"}); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
		t.Fatalf("want one JSON log line, got %q: %v", logs.String(), err)
	}
	if entry["level"] != "INFO" || entry["registration_id"] != "100010123456789" {
		t.Errorf("log entry = %v, want level INFO with registration_id", entry)
	}
}

func TestSearchStatusChunks(t *testing.T) {
	t.Parallel()
	// MOSIP knows ids whose number is even; for the others it adds
	// RPR-RGS-031 to errors, as RegistrationStatusController does. It also
	// slips in a status nobody asked for, and signs the response.
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		var req struct {
			Request []struct {
				RegistrationID string `json:"registrationId"`
			} `json:"request"`
		}
		if err := json.Unmarshal(c.Body, &req); err != nil {
			reply(w, 200, `{"errors":[{"errorCode":"RPR-RGS-017","message":"JSON Parsing Failed"}]}`)
			return
		}
		var found, missing []string
		for _, q := range req.Request {
			n, _ := strconv.Atoi(q.RegistrationID)
			if n%2 == 0 {
				found = append(found, fmt.Sprintf(`{"registrationId":%q,"statusCode":"PROCESSED"}`, q.RegistrationID))
			} else {
				missing = append(missing, fmt.Sprintf(`{"errorCode":"RPR-RGS-031","message":"RID Not Found","registrationId":%q}`, q.RegistrationID))
			}
		}
		found = append(found, `{"registrationId":"999999","statusCode":"REJECTED"}`)
		w.Header().Set("Response-Signature", "eyJhbGciOiJSUzI1NiJ9..c2ln")
		reply(w, 200, `{"id":"mosip.registration.status","version":"1.0","responsetime":"2025-03-01T10:00:01.000Z",`+
			`"response":[`+strings.Join(found, ",")+`],"errors":[`+strings.Join(missing, ",")+`]}`)
	})
	ids := make([]string, 250)
	var want []RegistrationStatus
	for i := range ids {
		ids[i] = strconv.Itoa(100000 + i)
		if i%2 == 0 {
			want = append(want, RegistrationStatus{RegistrationID: ids[i], StatusCode: StatusProcessed})
		}
	}
	got, err := f.client(newTestClock()).SearchStatus(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (100 + 100 + 50 ids)", len(reqs))
	}
	for i, r := range reqs {
		chunk := ids[i*100 : min(i*100+100, len(ids))]
		queries := make([]any, len(chunk))
		for j, id := range chunk {
			queries[j] = map[string]any{"registrationId": id}
		}
		wantBody := map[string]any{
			"id":          "mosip.registration.status",
			"version":     "1.0",
			"requesttime": "2025-03-01T10:00:00.000Z",
			"request":     queries,
		}
		if diff := cmp.Diff(wantBody, decodeJSON(t, r.Body)); diff != "" {
			t.Errorf("request %d body (-want +got):\n%s", i, diff)
		}
		if r.Method != http.MethodPost || r.Token != "tok-1" {
			t.Errorf("request %d: %s with token %q, want POST with tok-1", i, r.Method, r.Token)
		}
	}
}

func TestSearchStatusFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		body          string
		wantCodes     []string
		wantTransient bool
	}{
		{"table not accessible", `{"response":null,"errors":[{"errorCode":"RPR-RGS-001","message":"Unable to Access Registration Table"}]}`,
			[]string{"RPR-RGS-001"}, true},
		{"invalid id", `{"response":null,"errors":[{"errorCode":"RPR-RGS-024","message":"Invalid Request Parameter - id"}]}`,
			[]string{"RPR-RGS-024"}, false},
		{"not found mixed with a failure",
			`{"response":[],"errors":[{"errorCode":"RPR-RGS-031","message":"RID Not Found"},{"errorCode":"RPR-RGS-018","message":"Unknown Exception Found"}]}`,
			[]string{"RPR-RGS-018"}, true},
		{"null without errors", `{"response":null,"errors":null}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
				if calls.Add(1) == 1 {
					reply(w, 200, `{"response":[{"registrationId":"1","statusCode":"PROCESSING"}],"errors":[]}`)
					return
				}
				reply(w, 200, tt.body)
			})
			ids := make([]string, 150)
			for i := range ids {
				ids[i] = strconv.Itoa(i + 1)
			}
			got, err := f.client(newTestClock()).SearchStatus(t.Context(), ids)
			if err == nil || got != nil {
				t.Fatalf("SearchStatus = %v, %v; want no statuses and an error", got, err)
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if diff := cmp.Diff(tt.wantCodes, ae.Codes(), cmpEmpty()); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
			if got := IsTransient(err); got != tt.wantTransient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.wantTransient)
			}
		})
	}
}

func TestSearchStatusEdgeCases(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		reply(w, 200, `{"response":[],"errors":[{"errorCode":"RPR-RGS-031","message":"RID Not Found"}]}`)
	})
	c := f.client(newTestClock())
	got, err := c.SearchStatus(t.Context(), nil)
	if err != nil || len(got) != 0 {
		t.Errorf("SearchStatus(nil) = %v, %v; want nothing", got, err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("SearchStatus(nil) sent %d requests", n)
	}
	if _, err := c.SearchStatus(t.Context(), []string{"1", ""}); err == nil || IsTransient(err) {
		t.Errorf("empty id: err = %v, want a permanent error", err)
	}
	got, err = c.SearchStatus(t.Context(), []string{"123"})
	if err != nil || len(got) != 0 {
		t.Errorf("unknown id: SearchStatus = %v, %v; want no statuses and no error", got, err)
	}
}

func TestTokenRenewedAfter401(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		refuse  func(w http.ResponseWriter)
		status  int
		refused string // token MOSIP refuses; "*" refuses all
	}{
		{"401", func(w http.ResponseWriter) {
			reply(w, 401, `{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed"}]}`)
		}, 401, "tok-1"},
		{"401 without body", func(w http.ResponseWriter) { reply(w, 401, ``) }, 401, "tok-1"},
		{"token expired in a 200", func(w http.ResponseWriter) {
			reply(w, 200, `{"errors":[{"errorCode":"KER-ATH-402","message":"Token expired"}]}`)
		}, 200, "tok-1"},
		{"401 twice", func(w http.ResponseWriter) {
			reply(w, 401, `{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed : Invalid Token :"}]}`)
		}, 401, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
				if tt.refused == "*" || c.Token == tt.refused {
					tt.refuse(w)
					return
				}
				reply(w, 200, packetCreated)
			})
			infos, err := f.client(newTestClock()).CreatePacket(t.Context(), samplePacket())
			reqs := f.requests()
			if len(reqs) != 2 || reqs[0].Token != "tok-1" || reqs[1].Token != "tok-2" {
				t.Fatalf("requests with tokens %v, want tok-1 then tok-2", tokens(reqs))
			}
			if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
				t.Errorf("the second request differs from the first")
			}
			if got := f.fetches.Load(); got != 2 {
				t.Errorf("auth fetches = %d, want 2", got)
			}
			if tt.refused != "*" {
				if err != nil || len(infos) != 2 {
					t.Errorf("CreatePacket = %d infos, %v; want success after renewal", len(infos), err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status || !ae.HasCode("KER-ATH-401") {
				t.Fatalf("err = %v, want an APIError with HTTP %d and KER-ATH-401", err, tt.status)
			}
			if !IsTransient(err) {
				t.Errorf("IsTransient(%v) = false, want true", err)
			}
		})
	}
}

func tokens(reqs []captured) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Token)
	}
	return out
}

func TestCallTimeoutAndNetworkErrors(t *testing.T) {
	t.Parallel()
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		stuck := make(chan struct{})
		f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
			select {
			case <-c.Ctx.Done():
			case <-stuck:
			}
		})
		t.Cleanup(func() { close(stuck) })
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := f.client(newTestClock()).StartWorkflow(ctx, &WorkflowRequest{RegistrationID: "1", Process: "CRVS_NEW"})
		if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
			t.Errorf("err = %v, want a transient context.DeadlineExceeded", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {})
		dead := httptest.NewServer(http.NotFoundHandler())
		deadURL := dead.URL
		dead.Close()
		c := f.client(newTestClock())
		c.createPacketURL = deadURL + packetPath
		_, err := c.CreatePacket(t.Context(), samplePacket())
		var ae *APIError
		if !errors.As(err, &ae) || !errors.Is(err, ErrNoResponse) || ae.StatusCode != 0 || !IsTransient(err) {
			t.Errorf("err = %v, want a transient APIError with ErrNoResponse and no status", err)
		}
	})
	t.Run("no URL", func(t *testing.T) {
		t.Parallel()
		f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {})
		c := f.client(newTestClock())
		c.statusURL = ""
		if _, err := c.SearchStatus(t.Context(), []string{"1"}); err == nil {
			t.Error("SearchStatus without a URL succeeded")
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(200, []byte(packetCreated))
	f.Add(200, []byte(`{"response":null,"errors":[{"errorCode":"RPR-WIS-001","message":"x\ny"}]}`))
	f.Add(401, []byte(`{"errors":[{"errorCode":"KER-ATH-401"}]}`))
	f.Add(200, []byte(`{"response":{"workflowInstanceId":7}}`))
	f.Add(500, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		check := func(err error) {
			if err == nil {
				if status < 200 || status > 299 {
					t.Fatalf("status %d accepted", status)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T is not *APIError", err)
			}
			if len(ae.Errors) > maxErrorsKept {
				t.Fatalf("%d errors kept", len(ae.Errors))
			}
			if msg := ae.Error(); strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error string has a line break: %q", msg)
			}
			_ = IsTransient(err)
		}
		_, err := decodeResponse[[]PacketInfo](OpCreatePacket, "1", status, body)
		check(err)
		_, err = decodeResponse[*WorkflowResponse](OpStartWorkflow, "1", status, body)
		check(err)
		_, err = decodeResponse[[]RegistrationStatus](OpSearchStatus, "", status, body)
		check(err)
		if errs := bodyErrors(body); len(errs) > 0 {
			check(newAPIError(OpCreatePacket, "1", status, errs, nil))
		}
		_ = tokenRefused(status, body)
	})
}

func TestNewClientDefaults(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		reply(w, 200, `{"response":[{"registrationId":"42","statusCode":"PROCESSING"}],"errors":[]}`)
	})
	// nil HTTP clients, loggers and clocks: real defaults, still working.
	auth := NewAuthClient(AuthConfig{URL: f.srv.URL + authPath, ClientID: "c", SecretKey: "s", AppID: "a"})
	c := NewClient(ClientConfig{Auth: auth, StatusURL: f.srv.URL + statusPath})
	got, err := c.SearchStatus(t.Context(), []string{"42"})
	if want := []RegistrationStatus{{RegistrationID: "42", StatusCode: StatusProcessing}}; err != nil || !cmp.Equal(got, want) {
		t.Errorf("SearchStatus = %v, %v; want %v", got, err, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewClient without Auth did not panic")
		}
	}()
	NewClient(ClientConfig{})
}
