package mosip

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Personal data of the canned answers: none of it may reach an error or a
// log line.
const (
	testUIN = "2345678901"
	testVID = "5432109876543210"
)

// identityFound is an identity read answer in MOSIP's words.
const identityFound = `{"id":"mosip.id.read","version":"v1","responsetime":"2025-03-01T10:00:01.000Z","metadata":null,
 "response":{"entity":null,"status":"ACTIVATED",
  "identity":{"UIN":"` + testUIN + `","IDSchemaVersion":0.1,"fullName":[{"language":"eng","value":"Tahi Sami"}],
   "dateOfBirth":"2024/01/01","birthCertificateNumber":"2025BXXDBIC"},
  "documents":[],"verifiedAttributes":null},
 "errors":null}`

// vidsFound is a VID list answer in MOSIP's words (a temporary VID first).
const vidsFound = `{"id":null,"version":null,"responsetime":"2025-03-01T10:00:01.000Z","metadata":null,
 "response":[
  {"vid":"9999888877776666","vidType":"TEMPORARY","expiryTimestamp":"2025-03-01T10:30:00.000Z",
   "genratedOnTimestamp":"2025-03-01T10:00:00.000Z","transactionLimit":1,"transactionsLeftCount":1,"hashAttributes":null},
  {"vid":"` + testVID + `","vidType":"PERPETUAL","expiryTimestamp":null,
   "genratedOnTimestamp":"2025-02-01T09:00:00.123","transactionLimit":null,"transactionsLeftCount":null,
   "hashAttributes":{"id_hash":"ABC123","MODULO":"42","SALT":"c2FsdA"}}],
 "errors":null}`

const noRecord = `{"id":"mosip.id.read","version":"v1","response":null,"errors":[{"errorCode":"IDR-IDC-007","message":"No Record(s) found"}]}`

func TestIdentityByRID(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, identityFound) })
	var logs bytes.Buffer
	c := f.client(newTestClock())
	c.log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	got, err := c.IdentityByRID(t.Context(), "100010123456789")
	if err != nil {
		t.Fatal(err)
	}
	want := &Identity{
		UIN:    testUIN,
		Status: UINActivated,
		Fields: map[string]json.RawMessage{
			"UIN":                    json.RawMessage(`"` + testUIN + `"`),
			"IDSchemaVersion":        json.RawMessage(`0.1`),
			"fullName":               json.RawMessage(`[{"language":"eng","value":"Tahi Sami"}]`),
			"dateOfBirth":            json.RawMessage(`"2024/01/01"`),
			"birthCertificateNumber": json.RawMessage(`"2025BXXDBIC"`),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodGet || r.Token != "tok-1" || len(r.Body) != 0 || r.ContentType != "" {
		t.Errorf("method %s, token %q, body %q, Content-Type %q; want GET with tok-1 and no body", r.Method, r.Token, r.Body, r.ContentType)
	}
	if want := identityPath + "/idvid/100010123456789?idType=RID&type=demo"; r.RequestURI != want {
		t.Errorf("request URI = %s, want %s", r.RequestURI, want)
	}
	for _, secret := range []string{testUIN, "Tahi", "2024/01/01"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs hold %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"registration_id":"100010123456789"`) {
		t.Errorf("logs do not name the registration: %s", logs.String())
	}
}

func TestIdRepoPathsEscaped(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		if strings.HasPrefix(c.Path, vidPath) {
			reply(w, 200, vidsFound)
			return
		}
		reply(w, 200, identityFound)
	})
	c := f.client(newTestClock())
	for _, tt := range []struct{ rid, wantURI string }{
		{"a/b?c d#e", identityPath + "/idvid/a%2Fb%3Fc%20d%23e?idType=RID&type=demo"},
		{"..", identityPath + "/idvid/%2E%2E?idType=RID&type=demo"},
		{".", identityPath + "/idvid/%2E?idType=RID&type=demo"},
		{"x&idType=UIN", identityPath + "/idvid/x&idType=UIN?idType=RID&type=demo"},
	} {
		if _, err := c.IdentityByRID(t.Context(), tt.rid); err != nil {
			t.Errorf("IdentityByRID(%q): %v", tt.rid, err)
		}
		if reqs := f.requests(); len(reqs) != 1 || reqs[0].RequestURI != tt.wantURI {
			t.Errorf("IdentityByRID(%q) sent %+v, want one request to %s", tt.rid, reqs, tt.wantURI)
		}
	}
	if _, err := c.VIDsByUIN(t.Context(), "12/34"); err != nil {
		t.Fatal(err)
	}
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].RequestURI != vidPath+"/uin/12%2F34" {
		t.Errorf("VIDsByUIN sent %+v", reqs)
	}

	// A base URL with a trailing slash gets no double slash.
	c.identityURL += "/"
	if _, err := c.IdentityByRID(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].RequestURI != identityPath+"/idvid/1?idType=RID&type=demo" {
		t.Errorf("trailing slash: sent %+v", reqs)
	}
}

func TestIdentityByRIDFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		body          string
		wantCodes     []string
		wantErr       error
		wantTransient bool
		wantNotFound  bool
	}{
		{name: "no record", status: 200, body: noRecord, wantCodes: []string{"IDR-IDC-007"}, wantNotFound: true},
		{
			name: "unknown error", status: 200, wantTransient: true, wantCodes: []string{"IDR-IDC-004"},
			body: `{"response":null,"errors":[{"errorCode":"IDR-IDC-004","message":"Unknown error occurred"}]}`,
		},
		{
			name: "database", status: 200, wantTransient: true, wantCodes: []string{"IDR-IDC-006"},
			body: `{"errors":[{"errorCode":"IDR-IDC-006","message":"Error occured while performing DB operations"}]}`,
		},
		{
			name: "invalid id", status: 200, wantCodes: []string{"IDR-IDC-002"},
			body: `{"errors":[{"errorCode":"IDR-IDC-002","message":"Invalid Input Parameter - id"}]}`,
		},
		{
			// As for every call: transient only if every code is.
			name: "not found together with a database error", status: 200,
			wantCodes: []string{"IDR-IDC-007", "IDR-IDC-006"},
			body:      `{"errors":[{"errorCode":"IDR-IDC-007","message":"x"},{"errorCode":"IDR-IDC-006","message":"y"}]}`,
		},
		{name: "not found in a 503", status: 503, body: noRecord, wantCodes: []string{"IDR-IDC-007"}, wantTransient: true},
		{name: "HTTP 500", status: 500, body: `{"status":500,"error":"Internal Server Error"}`, wantTransient: true},
		{name: "HTML", status: 200, body: `<html>Tahi Sami</html>`, wantErr: ErrNotMOSIPJSON, wantTransient: true},
		{name: "null response", status: 200, body: `{"response":null,"errors":null}`, wantErr: ErrNullResponse, wantTransient: true},
		{name: "no identity", status: 200, body: `{"response":{"status":"ACTIVATED"}}`, wantErr: ErrNullResponse, wantTransient: true},
		{
			name: "identity without UIN", status: 200, wantErr: ErrNoUIN, wantTransient: true,
			body: `{"response":{"status":"ACTIVATED","identity":{"fullName":[{"language":"eng","value":"Tahi Sami"}]}}}`,
		},
		{
			name: "UIN of the wrong type", status: 200, wantErr: ErrNoUIN, wantTransient: true,
			body: `{"response":{"status":"ACTIVATED","identity":{"UIN":["Tahi Sami"]}}}`,
		},
		{
			name: "UIN with a line break", status: 200, wantErr: ErrNoUIN, wantTransient: true,
			body: `{"response":{"status":"ACTIVATED","identity":{"UIN":"12\n34"}}}`,
		},
		{
			name: "identity not an object", status: 200, wantErr: ErrNotMOSIPJSON, wantTransient: true,
			body: `{"response":{"status":"ACTIVATED","identity":"Tahi Sami"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, tt.status, tt.body) })
			got, err := f.client(newTestClock()).IdentityByRID(t.Context(), "100010123456789")
			if err == nil {
				t.Fatalf("IdentityByRID = %+v, want an error", got)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Op != OpReadIdentity || ae.ID != "100010123456789" {
				t.Fatalf("err = %v (%T), want an *APIError of %s about the RID", err, err, OpReadIdentity)
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
			if got := IsNotFound(err); got != tt.wantNotFound {
				t.Errorf("IsNotFound(%v) = %v, want %v", err, got, tt.wantNotFound)
			}
			if strings.Contains(err.Error(), "Tahi") {
				t.Errorf("error holds personal data: %v", err)
			}
		})
	}
}

func TestVIDsByUIN(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, vidsFound) })
	var logs bytes.Buffer
	c := f.client(newTestClock())
	c.log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	got, err := c.VIDsByUIN(t.Context(), testUIN)
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	want := []VIDInfo{
		{
			VID: "9999888877776666", VIDType: "TEMPORARY", ExpiryTimestamp: "2025-03-01T10:30:00.000Z",
			GeneratedOn: "2025-03-01T10:00:00.000Z", TransactionLimit: &one, TransactionsLeft: &one,
		},
		{
			VID: testVID, VIDType: VIDTypePerpetual, GeneratedOn: "2025-02-01T09:00:00.123",
			HashAttributes: map[string]string{"id_hash": "ABC123", "MODULO": "42", "SALT": "c2FsdA"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VIDs (-want +got):\n%s", diff)
	}
	if v := PerpetualVID(got); v != testVID {
		t.Errorf("PerpetualVID = %q, want %q", v, testVID)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	if r := reqs[0]; r.Method != http.MethodGet || r.RequestURI != vidPath+"/uin/"+testUIN || r.Token != "tok-1" || len(r.Body) != 0 {
		t.Errorf("request %s %s with token %q and body %q; want GET %s/uin/%s with tok-1", r.Method, r.RequestURI, r.Token, r.Body, vidPath, testUIN)
	}
	if s := logs.String(); strings.Contains(s, testUIN) || strings.Contains(s, testVID) || strings.Contains(s, "ABC123") {
		t.Errorf("logs hold a UIN, VID or hash: %s", s)
	}
}

func TestVIDsByUINLenientFields(t *testing.T) {
	t.Parallel()
	// Timestamps as Jackson's arrays, a limit as a string, hash attributes
	// of the wrong shape, a null entry: kept or dropped, never fatal.
	body := `{"response":[
	  {"vid":"1111","vidType":"perpetual","expiryTimestamp":[2030,1,2,3,4,5],"genratedOnTimestamp":[2025,3,1,10,0],
	   "transactionLimit":"5","transactionsLeftCount":2.5,"hashAttributes":{"id_hash":7},"maskedVid":"XXXX1111"},
	  null]}`
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, body) })
	got, err := f.client(newTestClock()).VIDsByUIN(t.Context(), testUIN)
	if err != nil {
		t.Fatal(err)
	}
	want := []VIDInfo{
		{VID: "1111", VIDType: "perpetual", ExpiryTimestamp: "[2030,1,2,3,4,5]", GeneratedOn: "[2025,3,1,10,0]"},
		{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VIDs (-want +got):\n%s", diff)
	}
	if v := PerpetualVID(got); v != "1111" {
		t.Errorf("PerpetualVID = %q, want 1111 (the type compared without case)", v)
	}
}

func TestVIDsByUINFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		status        int
		body          string
		want          int // VIDs, when there is no error
		wantErr       error
		wantCodes     []string
		wantTransient bool
		wantNotFound  bool
	}{
		{name: "no active VID", status: 200, body: noRecord, wantCodes: []string{"IDR-IDC-007"}, wantNotFound: true},
		{name: "empty list (older MOSIP)", status: 200, body: `{"response":[],"errors":null}`},
		{
			name: "UIN not active", status: 200, wantCodes: []string{"IDR-VID-004"},
			body: `{"errors":[{"errorCode":"IDR-VID-004","message":"DEACTIVATED UIN"}]}`,
		},
		{
			name: "message quoting the UIN", status: 200, wantCodes: []string{"IDR-IDC-002"},
			body: `{"errors":[{"errorCode":"IDR-IDC-002","message":"Invalid Input Parameter - ` + testUIN + `"}]}`,
		},
		{
			name: "identity service down", status: 200, wantCodes: []string{"IDR-VID-005"}, wantTransient: true,
			body: `{"errors":[{"errorCode":"IDR-VID-005","message":"Failed to retrieve uin data using Identity Service"}]}`,
		},
		{
			name: "roles missing", status: 403, wantTransient: true, wantCodes: []string{"KER-ATH-403"},
			body: `{"errors":[{"errorCode":"KER-ATH-403","message":"Forbidden"}]}`,
		},
		{name: "null response", status: 200, body: `{"response":null,"errors":[]}`, wantErr: ErrNullResponse, wantTransient: true},
		{name: "response not a list", status: 200, body: `{"response":{"vid":"1"}}`, wantErr: ErrNotMOSIPJSON, wantTransient: true},
		{name: "vid not a string", status: 200, body: `{"response":[{"vid":12}]}`, wantErr: ErrNotMOSIPJSON, wantTransient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, tt.status, tt.body) })
			got, err := f.client(newTestClock()).VIDsByUIN(t.Context(), testUIN)
			if tt.wantErr == nil && tt.wantCodes == nil && !tt.wantTransient {
				if err != nil || len(got) != tt.want {
					t.Fatalf("VIDsByUIN = %v, %v; want %d VIDs", got, err, tt.want)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Op != OpListVIDs || ae.ID != "" {
				t.Fatalf("err = %v (%T), want an *APIError of %s without id", err, err, OpListVIDs)
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
			if got := IsNotFound(err); got != tt.wantNotFound {
				t.Errorf("IsNotFound(%v) = %v, want %v", err, got, tt.wantNotFound)
			}
			if strings.Contains(err.Error(), testUIN) {
				t.Errorf("error holds the UIN: %v", err)
			}
		})
	}
}

func TestIdRepoNetworkErrorsHideUIN(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	c := f.client(newTestClock())
	c.vidURL = deadURL + vidPath
	_, err := c.VIDsByUIN(t.Context(), testUIN)
	if !errors.Is(err, ErrNoResponse) || !IsTransient(err) || IsNotFound(err) {
		t.Errorf("err = %v, want a transient ErrNoResponse", err)
	}
	if err != nil && strings.Contains(err.Error(), testUIN) {
		t.Errorf("error holds the UIN: %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), vidPath+"/uin/{UIN}") {
		t.Errorf("error does not say which URL failed: %v", err)
	}
}

func TestIdRepoTokenRenewedAfter401(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		switch {
		case c.Token == "tok-1":
			reply(w, 401, `{"errors":[{"errorCode":"KER-ATH-401","message":"Authentication Failed"}]}`)
		case strings.HasPrefix(c.Path, vidPath):
			reply(w, 200, vidsFound)
		default:
			reply(w, 200, identityFound)
		}
	})
	c := f.client(newTestClock())
	id, err := c.IdentityByRID(t.Context(), "100010123456789")
	if err != nil || id.UIN != testUIN {
		t.Fatalf("IdentityByRID = %+v, %v", id, err)
	}
	if _, err := c.VIDsByUIN(t.Context(), testUIN); err != nil {
		t.Fatal(err)
	}
	if got := tokens(f.requests()); !cmp.Equal(got, []string{"tok-1", "tok-2", "tok-2"}) {
		t.Errorf("tokens sent = %v, want tok-1, tok-2 (renewed once), tok-2", got)
	}
}

func TestIdRepoArguments(t *testing.T) {
	t.Parallel()
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { reply(w, 200, identityFound) })
	c := f.client(newTestClock())
	if _, err := c.IdentityByRID(t.Context(), ""); err == nil || IsTransient(err) {
		t.Errorf("empty RID: err = %v, want a permanent error", err)
	}
	if _, err := c.VIDsByUIN(t.Context(), ""); err == nil || IsTransient(err) {
		t.Errorf("empty UIN: err = %v, want a permanent error", err)
	}
	c.identityURL, c.vidURL = "", ""
	if _, err := c.IdentityByRID(t.Context(), "1"); err == nil || !strings.Contains(err.Error(), "no URL configured") {
		t.Errorf("no identity URL: err = %v", err)
	}
	if _, err := c.VIDsByUIN(t.Context(), testUIN); err == nil || !strings.Contains(err.Error(), "no URL configured") {
		t.Errorf("no VID URL: err = %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for refused calls", n)
	}
}

func TestPerpetualVID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vids []VIDInfo
		want string
	}{
		{"none", nil, ""},
		{"only temporary", []VIDInfo{{VID: "1", VIDType: "TEMPORARY"}}, ""},
		{"first perpetual wins", []VIDInfo{{VID: "1", VIDType: "TEMPORARY"}, {VID: "2", VIDType: "PERPETUAL"}, {VID: "3", VIDType: "PERPETUAL"}}, "2"},
		{"type without case", []VIDInfo{{VID: "4", VIDType: "Perpetual"}}, "4"},
		{"empty VID skipped", []VIDInfo{{VIDType: "PERPETUAL"}, {VID: "5", VIDType: "PERPETUAL"}}, "5"},
	}
	for _, tt := range tests {
		if got := PerpetualVID(tt.vids); got != tt.want {
			t.Errorf("%s: PerpetualVID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIsNotFound(t *testing.T) {
	t.Parallel()
	codes := func(cs ...string) []ServiceError {
		var out []ServiceError
		for _, c := range cs {
			out = append(out, ServiceError{ErrorCode: c})
		}
		return out
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("IDR-IDC-007"), false},
		{"not found", newAPIError(OpReadIdentity, "1", 200, codes(CodeNoRecordFound), nil), true},
		{"wrapped", errors.Join(errors.New("job"), newAPIError(OpListVIDs, "", 200, codes(CodeNoRecordFound), nil)), true},
		{"other code", newAPIError(OpReadIdentity, "1", 200, codes("IDR-IDC-002"), nil), false},
		{"with a transient code", newAPIError(OpReadIdentity, "1", 200, codes(CodeNoRecordFound, "IDR-IDC-006"), nil), false},
		{"in a 500", newAPIError(OpReadIdentity, "1", 500, codes(CodeNoRecordFound), nil), false},
		{"status search's not found", newAPIError(OpSearchStatus, "", 200, codes(CodeRIDNotFound), nil), false},
	}
	for _, tt := range tests {
		if got := IsNotFound(tt.err); got != tt.want {
			t.Errorf("%s: IsNotFound(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func FuzzIdRepoResponses(f *testing.F) {
	f.Add(200, []byte(identityFound))
	f.Add(200, []byte(vidsFound))
	f.Add(200, []byte(noRecord))
	f.Add(200, []byte(`{"response":{"identity":{"UIN":12345}}}`))
	f.Add(200, []byte(`{"response":[{"vid":"1","expiryTimestamp":{"a":[1]},"hashAttributes":[]},null,{}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := decodeResponse[*identityResponse](OpReadIdentity, "1", status, body)
		if err == nil && r.Response != nil && r.Response.Identity != nil {
			if uin, ok := uinOf(r.Response.Identity["UIN"]); ok && (uin == "" || strings.ContainsAny(uin, " \n\r\t")) {
				t.Fatalf("uinOf accepted %q", uin)
			}
		}
		v, err := decodeResponse[[]VIDInfo](OpListVIDs, "", status, body)
		if err == nil {
			_ = PerpetualVID(v.Response)
		} else if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("error string has a line break: %q", msg)
		}
	})
}
