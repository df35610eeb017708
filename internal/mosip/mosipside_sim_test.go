package mosip_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// The MOSIP-side calls of the Java mediator (PSUT, VID look-up, death by
// deactivation, credential status) against the MOSIP simulator.

func TestPSUTAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim, c := newSimClient(t)
	a := registerBirth(t, sim, c, "100020000000001", "Token Child")
	b := registerBirth(t, sim, c, "100020000000002", "Other Child")
	ctx := t.Context()

	tok, err := c.UINToken(ctx, a.UIN, "opencrvs-partner")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.UINToken(ctx, a.UIN, "opencrvs-partner")
	if err != nil || again != tok {
		t.Errorf("second token %q (%v), want %q: tokens are deterministic", again, err, tok)
	}
	if other, _ := c.UINToken(ctx, a.UIN, "another-partner"); other == tok || other == "" {
		t.Errorf("another partner got %q", other)
	}
	if other, _ := c.UINToken(ctx, b.UIN, "opencrvs-partner"); other == tok || other == "" {
		t.Errorf("another UIN got %q", other)
	}

	// PSUT is the two hops through the intermediary partner.
	partners := mosip.PSUTPartners{Partner: "opencrvs-auth-partner"}
	psut, err := c.PSUT(ctx, a.UIN, partners)
	if err != nil {
		t.Fatal(err)
	}
	hop1, _ := c.UINToken(ctx, a.UIN, mosip.DefaultPSUTIntermediary)
	hop2, _ := c.UINToken(ctx, hop1, "opencrvs-auth-partner")
	if psut != hop2 || psut == hop1 || strings.Contains(psut, a.UIN) {
		t.Errorf("PSUT = %q; want the second hop %q", psut, hop2)
	}
	if again, _ := c.PSUT(ctx, a.UIN, partners); again != psut {
		t.Errorf("PSUT not deterministic: %q then %q", psut, again)
	}
	other, err := c.PSUT(ctx, a.UIN, mosip.PSUTPartners{Intermediary: "other-intermediary", Partner: "opencrvs-auth-partner"})
	if err != nil || other == psut {
		t.Errorf("PSUT through another intermediary = %q (%v)", other, err)
	}
	if _, err := c.PSUT(ctx, a.UIN, mosip.PSUTPartners{}); err == nil {
		t.Errorf("PSUT without a target partner succeeded")
	}

	// An unknown UIN: not found, permanent, and not in the error.
	const unknown = "2987654321"
	_, err = c.PSUT(ctx, unknown, partners)
	if !mosip.IsNotFound(err) || mosip.IsTransient(err) || strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), "hop 1") {
		t.Errorf("unknown UIN: %v", err)
	}

	if err := sim.SetFaults(mosipsim.Faults{ErrorRate: 1, ErrorMode: mosipsim.ModeErrors200, Endpoints: []string{mosipsim.EndpointTokenID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UINToken(ctx, a.UIN, "opencrvs-partner"); !mosip.IsTransient(err) {
		t.Errorf("injected token ID failure: %v, want transient", err)
	}
}

func TestResolveUINAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim, c := newSimClient(t)
	reg := registerBirth(t, sim, c, "100030000000001", "Resolved Child")
	ctx := t.Context()

	if uin, err := c.UINByVID(ctx, reg.VID); err != nil || uin != reg.UIN {
		t.Errorf("UINByVID = %q, %v; want %q", uin, err, reg.UIN)
	}
	for _, id := range []string{reg.UIN, reg.VID} {
		if uin, err := c.ResolveUIN(ctx, id); err != nil || uin != reg.UIN {
			t.Errorf("ResolveUIN(%s) = %q, %v; want %q", id, uin, err, reg.UIN)
		}
	}
	// Length decides nothing: a 16-digit UIN and a 10-digit VID resolve.
	seeded, err := sim.AddIdentity(mosipsim.SeedIdentity{UIN: "1234567890123456", VID: "9876543210", Fields: map[string]string{"fullName": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{seeded.UIN, seeded.VID} {
		if uin, err := c.ResolveUIN(ctx, id); err != nil || uin != seeded.UIN {
			t.Errorf("ResolveUIN(%s) = %q, %v; want %q", id, uin, err, seeded.UIN)
		}
	}
	for _, id := range []string{"2000000000", "2000000000000000"} {
		_, err := c.ResolveUIN(ctx, id)
		if !mosip.IsNotFound(err) || mosip.IsTransient(err) || strings.Contains(err.Error(), id) {
			t.Errorf("ResolveUIN(unknown %s): %v; want not found, without the id", id, err)
		}
	}
	_, err = c.UINByVID(ctx, "2000000000000000")
	if !mosip.IsNotFound(err) || strings.Contains(err.Error(), "2000000000000000") {
		t.Errorf("UINByVID(unknown): %v", err)
	}

	// A transient failure is not taken for "not a UIN".
	if err := sim.SetFaults(mosipsim.Faults{Outage: true, Endpoints: []string{mosipsim.EndpointIDRepo}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ResolveUIN(ctx, reg.UIN); !mosip.IsTransient(err) || mosip.IsNotFound(err) {
		t.Errorf("ResolveUIN during an outage: %v, want transient", err)
	}
}

func TestDeactivateUINAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim, c := newSimClient(t)
	reg := registerBirth(t, sim, c, "100040000000001", "Deceased Person")
	ctx := t.Context()

	if err := c.DeactivateUIN(ctx, reg.UIN, "100040000000002", ""); err != nil {
		t.Fatal(err)
	}
	id, _ := sim.Identity(reg.UIN)
	if id.Status != mosip.UINDeactivated {
		t.Fatalf("status after deactivation = %s", id.Status)
	}
	changes := len(id.Changes)
	// A retry under the same registration id (MOSIP: record exists) and a
	// second death under another one (status unchanged) are both done.
	if err := c.DeactivateUIN(ctx, reg.UIN, "100040000000002", ""); err != nil {
		t.Errorf("repeated deactivation, same registration id: %v", err)
	}
	if err := c.DeactivateUIN(ctx, reg.UIN, "100040000000003", "0.5"); err != nil {
		t.Errorf("deactivation of a deactivated UIN: %v", err)
	}
	if id, _ := sim.Identity(reg.UIN); id.Status != mosip.UINDeactivated || len(id.Changes) != changes {
		t.Errorf("after the repeats: status %s, %d changes (was %d)", id.Status, len(id.Changes), changes)
	}

	// The deceased's UIN still resolves; their VID says inactive.
	if uin, err := c.ResolveUIN(ctx, reg.UIN); err != nil || uin != reg.UIN {
		t.Errorf("ResolveUIN(deactivated UIN) = %q, %v", uin, err)
	}
	_, err := c.ResolveUIN(ctx, reg.VID)
	if !mosip.IsInactive(err) || mosip.IsTransient(err) || mosip.IsNotFound(err) {
		t.Errorf("ResolveUIN(VID of a deactivated UIN): %v, want inactive", err)
	}

	err = c.DeactivateUIN(ctx, "2000000000", "100040000000004", "")
	if !mosip.IsNotFound(err) || strings.Contains(err.Error(), "2000000000") {
		t.Errorf("unknown UIN: %v", err)
	}
	if err := c.DeactivateUIN(ctx, reg.UIN, "100040000000005", "zero"); err == nil {
		t.Errorf("a schema version that is not a number was sent")
	}
}

func TestPublishCredentialStatusAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim, c, base := newSimClientURL(t)
	ctx := t.Context()
	hub := base + mosipsim.PathHub
	ev := mosip.CredentialStatusEvent{Event: mosip.AckStatus{RequestID: "4b7c1f3e-2d6a-4a51-9a57-2f1d0f6b1c11", Status: "served"}}
	if err := c.PublishCredentialStatus(ctx, hub, ev); err != nil {
		t.Fatal(err)
	}
	recs := sim.CredentialStatus(ev.Event.RequestID)
	if len(recs) != 1 || recs[0].Status != "served" || recs[0].Publisher != mosip.PublisherOpenCRVSMediator || recs[0].EventID == "" ||
		recs[0].Timestamp == "" || recs[0].Client != mosipsim.DevRegprocClient {
		t.Errorf("recorded %+v", recs)
	}

	// Refusals: before sending (another topic, no request id), by the hub
	// (not authorised: transient, as the hub answers 500).
	ev.Topic = "opencrvs-partner/CREDENTIAL_ISSUED"
	if err := c.PublishCredentialStatus(ctx, hub, ev); err == nil {
		t.Errorf("published to %s", ev.Topic)
	}
	if err := c.PublishCredentialStatus(ctx, hub, mosip.CredentialStatusEvent{Event: mosip.AckStatus{Status: "served"}}); err == nil {
		t.Errorf("published without a request id")
	}
	if err := sim.SetFaults(mosipsim.Faults{Outage: true, Endpoints: []string{mosipsim.EndpointHub}}); err != nil {
		t.Fatal(err)
	}
	ev.Topic = ""
	if err := c.PublishCredentialStatus(ctx, hub, ev); !mosip.IsTransient(err) {
		t.Errorf("hub outage: %v, want transient", err)
	}
	if err := sim.SetFaults(mosipsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	// The hub URL MOSIP deployments use may carry a query of its own.
	if err := c.PublishCredentialStatus(ctx, hub+"?x=1", ev); err != nil {
		t.Errorf("hub URL with a query: %v", err)
	}
	if n := len(sim.CredentialStatus(ev.Event.RequestID)); n != 2 {
		t.Errorf("%d statuses recorded, want 2", n)
	}

	// A hub that denies: the reason comes back, permanent for a 4xx.
	deny := newDenyingHub(t)
	err := c.PublishCredentialStatus(ctx, deny, ev)
	var ae *mosip.APIError
	if !errors.Is(err, mosip.ErrHubDenied) || !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest ||
		mosip.IsTransient(err) || !strings.Contains(err.Error(), "topic closed") {
		t.Errorf("denied publish: %v", err)
	}
}

// newDenyingHub is a hub that checks the publish request's shape and
// denies it with HTTP 400.
func newDenyingHub(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodPost || q.Get("hub.mode") != "publish" || q.Get("hub.topic") != mosip.TopicCredentialStatusUpdate ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("publish request: %s %s, Content-Type %q", r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		if ck, err := r.Cookie("Authorization"); err != nil || ck.Value == "" {
			t.Errorf("publish request without the token cookie")
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("publish body: %v", err)
		}
		event, _ := body["event"].(map[string]any)
		for _, k := range []string{"publishedOn", "publisher", "topic"} {
			if s, _ := body[k].(string); s == "" {
				t.Errorf("publish body has no %s: %v", k, body)
			}
		}
		for _, k := range []string{"id", "requestId", "status", "timestamp"} {
			if s, _ := event[k].(string); s == "" {
				t.Errorf("publish event has no %s: %v", k, event)
			}
		}
		if _, ok := event["url"]; !ok {
			t.Errorf("publish event has no url: %v", event)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("hub.mode=denied&hub.reason=topic+closed"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hub"
}
