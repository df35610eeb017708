package opencrvs_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

// The whole webhook flow against the OpenCRVS simulator: subscribe (the
// simulator checks the callback), receive a registered birth, verify and
// read it, see the subscription listed, end it.
func TestWebhookFlowWithSimulator(t *testing.T) {
	t.Parallel()
	_, simSrv, _ := simServer(t, opencrvssim.Config{})
	received := make(chan string, 4) // record ids
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			challenge, err := opencrvs.AnswerIntent(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			opencrvs.WriteIntentAnswer(w, challenge)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := opencrvs.VerifyWebhook([]byte(opencrvssim.DevSHASecret), body, r.Header.Get(opencrvs.WebhookSignatureHeader)); err != nil {
			t.Errorf("delivery refused: %v", err)
			http.Error(w, "signature", http.StatusUnauthorized)
			return
		}
		d, err := opencrvs.ParseWebhook(body)
		if err != nil {
			t.Errorf("delivery: %v", err)
			return
		}
		rec, err := fhir.ParseDelivered(d.Bundle)
		if err != nil {
			t.Errorf("bundle: %v", err)
			return
		}
		received <- rec.RecordID
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(callback.Close)

	c := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{
		TokenURL: simSrv.URL + "/token", ClientID: opencrvssim.DevSystemClient, ClientSecret: opencrvssim.DevSystemSecret,
		HTTPClient: webhookTestClient(t),
	})
	ctx := t.Context()
	webhooksURL := simSrv.URL + "/webhooks"
	err := c.SubscribeWebhook(ctx, webhooksURL, callback.URL+"/webhooks", opencrvs.TopicBirthRegistered, "not the SHA secret")
	var we *opencrvs.WebhookError
	if !errors.As(err, &we) || !we.Denied || we.Reason != "hub.secret is incorrect" || opencrvs.IsTransient(err) {
		t.Errorf("wrong secret: %v, want a permanent denial", err)
	}
	if err := c.SubscribeWebhook(ctx, webhooksURL, callback.URL+"/webhooks", opencrvs.TopicBirthRegistered, opencrvssim.DevSHASecret); err != nil {
		t.Fatal(err)
	}
	subs, err := c.ListWebhooks(ctx, webhooksURL)
	if err != nil || len(subs) != 1 || subs[0].Callback != callback.URL+"/webhooks" || subs[0].Topic != opencrvs.TopicBirthRegistered {
		t.Fatalf("subscriptions %+v, %v", subs, err)
	}

	resp, err := webhookTestClient(t).Post(simSrv.URL+"/sim/records", "application/json", strings.NewReader(`{"kind":"birth","delivery":"webhook"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		ID          string `json:"id"`
		Subscribers []struct {
			Status int `json:"status"`
		} `json:"subscribers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	if err != nil || len(sent.Subscribers) != 1 || sent.Subscribers[0].Status != http.StatusNoContent {
		t.Fatalf("send: %+v, %v", sent, err)
	}
	// The simulator delivers before it answers.
	select {
	case id := <-received:
		if id != sent.ID {
			t.Errorf("received record %s, sent %s", id, sent.ID)
		}
	default:
		t.Fatal("the callback received nothing")
	}

	if err := c.DeleteWebhook(ctx, webhooksURL, subs[0].ID); err != nil {
		t.Fatal(err)
	}
	if subs, err := c.ListWebhooks(ctx, webhooksURL); err != nil || len(subs) != 0 {
		t.Errorf("after delete: %+v, %v", subs, err)
	}
}
