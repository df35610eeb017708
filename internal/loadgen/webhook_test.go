package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

// webhookSystem is an OpenCRVS simulator and, when subscribed, an
// OpenCRVS-side stand-in: it takes each webhook delivery and, after a
// moment, writes an identifier back to the record, as the split design's
// mediators end a record.
type webhookSystem struct {
	url        string
	deliveries atomic.Int64
}

func newWebhookSystem(t *testing.T, subscribe bool) *webhookSystem {
	t.Helper()
	sim, err := opencrvssim.New(opencrvssim.Config{MediatorURL: "http://127.0.0.1:1", Key: testKey(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	ws := &webhookSystem{url: simSrv.URL}
	system := opencrvs.NewSystemClient(opencrvs.SystemClientConfig{
		TokenURL: simSrv.URL + "/token", ClientID: opencrvssim.DevSystemClient, ClientSecret: opencrvssim.DevSystemSecret,
	})
	gql := opencrvs.NewGraphQLClient(opencrvs.GraphQLConfig{URL: simSrv.URL + "/graphql"})
	ctx, cancel := context.WithCancel(context.Background())
	var writers sync.WaitGroup
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			challenge, err := opencrvs.AnswerIntent(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			opencrvs.WriteIntentAnswer(w, challenge)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := opencrvs.VerifyWebhook([]byte(opencrvssim.DevSHASecret), body, r.Header.Get("X-Hub-Signature")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		d, err := opencrvs.ParseWebhook(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var bundle struct {
			Entry []struct {
				Resource struct{ ResourceType, ID string }
			}
		}
		if err := json.Unmarshal(d.Bundle, &bundle); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ws.deliveries.Add(1)
		for _, e := range bundle.Entry {
			if e.Resource.ResourceType != "Composition" {
				continue
			}
			id := e.Resource.ID
			writers.Go(func() { // the answer comes later, as MOSIP's does
				time.Sleep(20 * time.Millisecond)
				token, err := system.Token(ctx)
				if err == nil {
					err = gql.UpsertRegistrationIdentifier(ctx, token, id, "NATIONAL_ID", "1234567890")
				}
				if err != nil && ctx.Err() == nil {
					t.Errorf("write-back of %s: %v", id, err)
				}
			})
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(func() {
		sub.Close()
		cancel()
		writers.Wait()
		sim.Close()
		simSrv.Close()
	})
	if subscribe {
		if err := system.SubscribeWebhook(t.Context(), simSrv.URL+"/webhooks", sub.URL, opencrvs.TopicBirthRegistered, opencrvssim.DevSHASecret); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// With webhook delivery a record completes when something is written back
// to it, not when it is registered (at once).
func TestRunWebhookDelivery(t *testing.T) {
	ws := newWebhookSystem(t, true)
	res, err := Run(t.Context(), Config{OpenCRVSURL: ws.url, Delivery: DeliveryWebhook, Records: 12, Concurrency: 4, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 12 || res.Completed != 12 || len(res.Errors) != 0 {
		t.Errorf("result %+v: want 12 completed", res)
	}
	if got := ws.deliveries.Load(); got != 12 {
		t.Errorf("%d webhook deliveries, want 12", got)
	}
	// The write-back comes 20ms after the delivery at the earliest.
	if res.LatencyMS.P50 < 20 {
		t.Errorf("latency p50 %vms: want at least the write-back's delay, 20ms", res.LatencyMS.P50)
	}
}

// No subscriber: the records fail at once, with a cause that says why.
func TestRunWebhookWithoutSubscriber(t *testing.T) {
	ws := newWebhookSystem(t, false)
	start := time.Now()
	res, err := Run(t.Context(), Config{OpenCRVSURL: ws.url, Delivery: DeliveryWebhook, Records: 3, Concurrency: 1, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 3 || res.Errors[CauseNoSubscriber] != 3 {
		t.Errorf("result %+v: want 3 failed with %s", res, CauseNoSubscriber)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run took %v: want an immediate failure, not the timeout", d)
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Delivery: "carrier-pigeon"}, `delivery "carrier-pigeon"`},
		{Config{Delivery: DeliveryWebhook, Kind: "mixed"}, "kind mixed"},
		{Config{Delivery: DeliveryWebhook, Kind: "death"}, "kind death"},
		{Config{Delivery: DeliveryWebhook, Mode: "mapped"}, `mode "mapped"`},
		{Config{Delivery: DeliveryWebhook, Version: "1.9"}, `version "1.9"`},
	} {
		c.cfg.OpenCRVSURL = "http://127.0.0.1:1"
		_, err := c.cfg.withDefaults()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
	body := Config{Delivery: DeliveryWebhook, Kind: "birth", Mode: "fhir"}.requestBody(0, KindBirth, "")
	if got, want := string(body), `{"delivery":"webhook","kind":"birth","mode":"fhir"}`; got != want {
		t.Errorf("request body %s, want %s", got, want)
	}
}
