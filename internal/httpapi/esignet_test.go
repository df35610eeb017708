package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestESignetOffAnswersNotFound(t *testing.T) {
	t.Parallel()
	h := New(Config{})
	req := httptest.NewRequest("POST", "/esignet/get-oidp-user-info?code=c&state=s", strings.NewReader(`{"clientId":"a","redirectUri":"b"}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(p.Detail, "ESIGNET_TOKEN_URL") {
		t.Fatalf("got %d %q %+v, want 404 problem JSON naming ESIGNET_TOKEN_URL", rec.Code, rec.Header().Get("Content-Type"), p)
	}
}
