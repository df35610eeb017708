package opencrvs_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

// webhooksService plays OpenCRVS's webhooks service: it answers with
// respond and keeps what it was sent.
type webhooksService struct {
	respond func(w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	requests []seenRequest
}

type seenRequest struct {
	method, path, auth, contentType string
	body                            []byte
}

func (ws *webhooksService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ws.mu.Lock()
	ws.requests = append(ws.requests, seenRequest{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	ws.mu.Unlock()
	ws.respond(w, r)
}

func (ws *webhooksService) last(t *testing.T) seenRequest {
	t.Helper()
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.requests) == 0 {
		t.Fatal("the webhooks service got no request")
	}
	return ws.requests[len(ws.requests)-1]
}

// webhookEnv is a system client that gets its tokens from the OpenCRVS
// simulator, and a fake webhooks service.
func webhookEnv(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*opencrvs.SystemClient, *webhooksService, string, func() int64) {
	t.Helper()
	_, simSrv, tokens := simServer(t, opencrvssim.Config{})
	ws := &webhooksService{respond: respond}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	c := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{
		TokenURL: simSrv.URL + "/token", ClientID: opencrvssim.DevSystemClient, ClientSecret: opencrvssim.DevSystemSecret,
		HTTPClient: webhookTestClient(t),
	})
	return c, ws, srv.URL + "/webhooks", tokens.Load
}

func TestSubscribeWebhookAccepted(t *testing.T) {
	t.Parallel()
	c, ws, webhooksURL, _ := webhookEnv(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	err := c.SubscribeWebhook(t.Context(), webhooksURL, "https://mediator.example/webhooks", opencrvs.TopicBirthRegistered, testSHASecret)
	if err != nil {
		t.Fatal(err)
	}
	got := ws.last(t)
	if got.method != http.MethodPost || got.path != "/webhooks" || got.contentType != "application/json" || !strings.HasPrefix(got.auth, "Bearer ey") {
		t.Errorf("request %s %s, content type %q, auth %.10q...: want POST /webhooks, JSON, a bearer JWT", got.method, got.path, got.contentType, got.auth)
	}
	var body map[string]map[string]string
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"hub": {
		"callback": "https://mediator.example/webhooks", "mode": "subscribe", "secret": testSHASecret, "topic": "BIRTH_REGISTERED",
	}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestSubscribeWebhookRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		answer    string
		denied    bool
		reason    string
		transient bool
	}{
		{"denied", 400, `{"hub":{"mode":"denied","topic":"BIRTH_REGISTERED","reason":"hub.secret is incorrect"}}`, true, "hub.secret is incorrect", false},
		{"callback check failed", 400, "Subscription callback check failed", false, "Subscription callback check failed", false},
		{"server error", 500, `{"statusCode":500,"error":"Internal Server Error"}`, false, `{"statusCode":500,"error":"Internal Server Error"}`, true},
		{"gateway down", 503, "", false, "", true},
		{"a 200 is not OpenCRVS's success", 200, "<html>proxy</html>", false, "<html>proxy</html>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, webhooksURL, _ := webhookEnv(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			})
			err := c.SubscribeWebhook(t.Context(), webhooksURL, "https://mediator.example/webhooks", opencrvs.TopicBirthRegistered, testSHASecret)
			var we *opencrvs.WebhookError
			if !errors.As(err, &we) {
				t.Fatalf("%v, want a *WebhookError", err)
			}
			if we.StatusCode != tt.status || we.Denied != tt.denied || we.Reason != tt.reason || opencrvs.IsTransient(err) != tt.transient {
				t.Errorf("%v: status %d denied %v reason %q transient %v, want %d %v %q %v",
					err, we.StatusCode, we.Denied, we.Reason, opencrvs.IsTransient(err), tt.status, tt.denied, tt.reason, tt.transient)
			}
			if strings.Contains(err.Error(), testSHASecret) {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

// A refused token is dropped, so that the next call gets a new one; a
// webhooks service that is down is worth retrying.
func TestSubscribeWebhookTokenAndNetwork(t *testing.T) {
	t.Parallel()
	c, _, webhooksURL, tokens := webhookEnv(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	for range 2 {
		if err := c.SubscribeWebhook(t.Context(), webhooksURL, "https://m.example/cb", opencrvs.TopicDeathRegistered, "s"); err == nil {
			t.Fatal("401 taken for success")
		}
	}
	if n := tokens(); n != 2 {
		t.Errorf("%d token requests for two calls answered 401, want 2 (the refused token dropped)", n)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	err := c.SubscribeWebhook(t.Context(), down.URL+"/webhooks", "https://m.example/cb", opencrvs.TopicDeathRegistered, "s")
	if !errors.Is(err, opencrvs.ErrNoResponse) || !opencrvs.IsTransient(err) {
		t.Errorf("no answer: %v, want transient ErrNoResponse", err)
	}

	refused := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{TokenURL: down.URL + "/token", ClientID: "c", ClientSecret: "x"})
	err = refused.SubscribeWebhook(t.Context(), webhooksURL, "https://m.example/cb", opencrvs.TopicDeathRegistered, "s")
	var tke *opencrvs.TokenError
	if !errors.As(err, &tke) || !opencrvs.IsTransient(err) {
		t.Errorf("auth service down: %v, want a transient error holding the *TokenError", err)
	}
}

func TestSubscribeWebhookArguments(t *testing.T) {
	t.Parallel()
	c, ws, webhooksURL, _ := webhookEnv(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	for _, args := range [][4]string{
		{"webhooks", "https://m.example/cb", "BIRTH_REGISTERED", "s"},
		{webhooksURL, "/cb", "BIRTH_REGISTERED", "s"},
		{webhooksURL, "https://m.example/cb", " ", "s"},
		{webhooksURL, "https://m.example/cb", "BIRTH_REGISTERED", ""},
	} {
		if err := c.SubscribeWebhook(t.Context(), args[0], args[1], args[2], args[3]); bridge.ErrorCodeOf(err) != bridge.EInvalid {
			t.Errorf("%q: %v, want EInvalid", args, err)
		}
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.requests) != 0 {
		t.Errorf("%d requests sent with unusable arguments", len(ws.requests))
	}
}

func TestListAndDeleteWebhooks(t *testing.T) {
	t.Parallel()
	c, ws, webhooksURL, _ := webhookEnv(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/webhooks":
			io.WriteString(w, `{"entries":[{"id":"w-1","callback":"https://m.example/cb","createdAt":"2024-05-01T10:00:00.000Z",`+
				`"createdBy":{"client_id":"c1","name":"MOSIP","type":"nationalId","username":"mosip"},"topic":"BIRTH_REGISTERED"}]}`)
		case r.Method == http.MethodDelete && r.URL.EscapedPath() == "/webhooks/w%2F1":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	subs, err := c.ListWebhooks(t.Context(), webhooksURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != "w-1" || subs[0].Callback != "https://m.example/cb" || subs[0].Topic != "BIRTH_REGISTERED" || subs[0].CreatedBy.ClientID != "c1" {
		t.Errorf("subscriptions %+v", subs)
	}
	if err := c.DeleteWebhook(t.Context(), webhooksURL, "w/1"); err != nil {
		t.Errorf("delete: %v", err)
	}
	if got := ws.last(t); got.method != http.MethodDelete || !strings.HasPrefix(got.auth, "Bearer ") {
		t.Errorf("delete sent %s with auth %.10q", got.method, got.auth)
	}
	err = c.DeleteWebhook(t.Context(), webhooksURL, "w-2")
	var we *opencrvs.WebhookError
	if !errors.As(err, &we) || we.StatusCode != 500 || we.ID != "w-2" || !opencrvs.IsTransient(err) {
		t.Errorf("delete answered 500: %v, want a transient *WebhookError", err)
	}
	if err := c.DeleteWebhook(t.Context(), webhooksURL, ""); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("empty id: %v, want EInvalid", err)
	}
	if _, err := c.ListWebhooks(t.Context(), webhooksURL+"/nowhere"); err == nil {
		t.Error("a 404 list taken for success")
	}
}

// webhookTestClient returns a client with its own transport, so that
// parallel tests closing their servers do not break each other's pooled
// connections.
func webhookTestClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
