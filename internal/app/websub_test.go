package app

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/websub"
)

// credentialEvent builds a CREDENTIAL_ISSUED delivery for rid as MOSIP's
// credential service would: a verifiable credential signed with the MOSIP
// simulator's (allow-listed) key, encrypted to the partner certificate.
func (s *system) credentialEvent(t *testing.T, eventID, rid, vid string) []byte {
	t.Helper()
	return s.event(t, eventID, rid, s.encrypt(t, s.signedCredential(t, rid, map[string]any{"UIN": "7346597054", "VID": vid})))
}

func (s *system) event(t *testing.T, eventID, rid, credential string) []byte {
	t.Helper()
	body, _ := json.Marshal(mosip.CredentialEvent{
		Publisher: "CREDENTIAL_SERVICE", Topic: s.cfg.Topic, PublishedOn: mosip.FormatTime(time.Now()),
		Event: mosip.CredentialMsg{
			ID: eventID, TransactionID: "0b7a4c5e-0000-4000-8000-000000000001",
			Type: mosip.EventType{Namespace: "mosip", Name: "mosip"}, Timestamp: mosip.FormatTime(time.Now()),
			Data: mosip.CredentialData{RegistrationID: rid, Credential: credential, CredentialType: "euin"},
		},
	})
	return body
}

// deliver posts a delivery signed with secret and returns the status and
// the acknowledgement.
func (s *system) deliver(t *testing.T, path string, body []byte, signature string) (int, mosip.CredentialAck) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	if signature != "" {
		h.Set(websub.SignatureHeader, signature)
	}
	var ack mosip.CredentialAck
	st := do(t, "POST", s.mediatorURL+path, h, body, &ack)
	return st, ack
}

func TestWebSubDeliveries(t *testing.T) {
	// MOSIP accepts packets but its hub is down, so only the deliveries this
	// test makes reach the mediator.
	s := startSystem(t, systemOptions{})
	s.setMOSIPFaults(t, map[string]any{"lostDeliveryRate": 1.0})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	deadline := time.Now().Add(30 * time.Second)
	var tr *bridge.Transaction
	for {
		tr = s.transactionByRecord(t, rec.ID)
		if tr.State == bridge.StateSubmitted || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tr.State != bridge.StateSubmitted {
		t.Fatalf("transaction %s, want SUBMITTED", tr.State)
	}
	secret := []byte(s.cfg.WebSubSecret)
	sign := func(b []byte) string { return websub.Sign(secret, b) }
	ctx := t.Context()

	good := s.credentialEvent(t, "e-good", tr.ID, "4759308162938475")
	t.Run("signature missing or wrong", func(t *testing.T) {
		for name, sig := range map[string]string{"missing": "", "wrong secret": websub.Sign([]byte("guess"), good), "sha1": "sha1=" + strings.Repeat("0", 40)} {
			var p problemAnswer
			st := do(t, "POST", s.mediatorURL+"/websub/callback", http.Header{websub.SignatureHeader: {sig}}, good, &p)
			if st != http.StatusUnauthorized || p.Field != websub.SignatureHeader {
				t.Errorf("%s: status %d %+v, want 401 naming %s", name, st, p, websub.SignatureHeader)
			}
		}
		if seen, _ := s.mediator.Store().SeenDelivery(ctx, "e-good"); seen {
			t.Error("an unsigned delivery was recorded")
		}
	})

	t.Run("unknown AID is recorded and acknowledged with ERROR", func(t *testing.T) {
		body := s.credentialEvent(t, "e-unknown", "10001100049999920261123000000", "1")
		st, ack := s.deliver(t, "/websub/callback", body, sign(body))
		if st != http.StatusOK || ack.Event.Status != mosip.AckError || ack.Event.ID != "e-unknown" {
			t.Errorf("status %d ack %+v, want 200 ERROR for e-unknown", st, ack)
		}
		d, err := s.mediator.Store().Delivery(ctx, "e-unknown")
		if err != nil || d.Outcome != store.DeliveryUnknownAID {
			t.Errorf("delivery %+v, %v; want recorded as %s", d, err, store.DeliveryUnknownAID)
		}
	})

	t.Run("credential that does not decrypt", func(t *testing.T) {
		other := mustPartner(t)
		enc, _ := mosip.EncryptCredential(other.Cert, []byte(`{"credentialSubject":{"id":"`+tr.ID+`"}}`))
		for id, cred := range map[string]string{"e-otherkey": enc, "e-garbage": "not-a-credential"} {
			body := s.event(t, id, tr.ID, cred)
			st, ack := s.deliver(t, "/websub/callback/", body, sign(body))
			if st != http.StatusOK || ack.Event.Status != mosip.AckError {
				t.Errorf("%s: status %d ack %+v, want 200 ERROR", id, st, ack)
			}
			if d, err := s.mediator.Store().Delivery(ctx, id); err != nil || d.Outcome != store.DeliveryUndecryptable {
				t.Errorf("%s: delivery %+v, %v", id, d, err)
			}
		}
	})

	t.Run("signed but not an event", func(t *testing.T) {
		body := []byte(`{"publisher": 12`)
		st, ack := s.deliver(t, "/websub/callback", body, sign(body))
		if st != http.StatusOK || ack.Event.Status != mosip.AckError {
			t.Errorf("status %d ack %+v, want 200 ERROR", st, ack)
		}
	})

	t.Run("the credential registers the record once", func(t *testing.T) {
		for i := range 3 { // MOSIP's hub delivers at least once
			st, ack := s.deliver(t, "/websub/callback/", good, sign(good))
			if st != http.StatusOK || ack.Event.Status != mosip.AckReceived || ack.Event.ID != "e-good" {
				t.Fatalf("delivery %d: status %d ack %+v, want 200 RECEIVED", i, st, ack)
			}
		}
		got := s.waitRecord(t, rec.ID)
		if got.Status != "registered" || got.NationalID == nil || *got.NationalID != "4759308162938475" || got.Confirmations != 1 {
			t.Errorf("record %+v, want registered once with the VID", got)
		}
		if d, err := s.mediator.Store().Delivery(ctx, "e-good"); err != nil || d.Outcome != store.DeliveryApplied {
			t.Errorf("delivery %+v, %v", d, err)
		}
	})

	t.Run("intent verification", func(t *testing.T) {
		get := func(path string) (int, string) {
			resp, err := http.Get(s.mediatorURL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, path := range []string{"/websub/callback", "/websub/callback/"} {
			if st, body := get(path + "?hub.mode=subscribe&hub.topic=" + s.cfg.Topic + "&hub.challenge=c-123&hub.lease_seconds=864000"); st != 200 || body != "c-123" {
				t.Errorf("%s, our topic: %d %q, want the challenge", path, st, body)
			}
		}
		if st, body := get("/websub/callback?hub.mode=subscribe&hub.topic=SOMEONE_ELSE&hub.challenge=c-9"); st == 200 || strings.Contains(body, "c-9") {
			t.Errorf("another topic: %d %q, want a refusal", st, body)
		}
		if st, _ := get("/websub/callback?hub.mode=denied&hub.topic=" + s.cfg.Topic + "&hub.reason=nope"); st != 200 {
			t.Errorf("denial notice: %d, want 200", st)
		}
	})

	t.Run("database down: 503 so that the hub delivers again", func(t *testing.T) {
		body := s.credentialEvent(t, "e-later", tr.ID, "1")
		s.mediator.Store().Close()
		var p problemAnswer
		st := do(t, "POST", s.mediatorURL+"/websub/callback", http.Header{websub.SignatureHeader: {sign(body)}}, body, &p)
		if st != http.StatusServiceUnavailable {
			t.Errorf("status %d %+v, want 503", st, p)
		}
	})
}

// A hub that restarts without its subscriptions (MOSIP's keeps them in
// memory) gets the subscription again, and the credentials it held back
// arrive. Reconciliation is put out of the way so that only the renewed
// subscription can complete the records.
func TestE2EHubForgetsTheSubscription(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) {
		c.RenewInterval = time.Second
		c.SubscriptionCheck = 100 * time.Millisecond
		c.ReconcileAfter, c.ReconcileMax = time.Hour, time.Hour
	}})
	before := s.sendAll(t, 3, 3, birth)
	if n := s.mosip.ForgetSubscriptions(); n != 1 {
		t.Fatalf("the hub forgot %d subscriptions, want 1", n)
	}
	recs := s.sendAll(t, 5, 5, birth)
	s.assertRegistered(t, append(before, recs...))
	if subs := s.mosip.Subscriptions(); len(subs) != 1 {
		t.Errorf("subscriptions after renewal: %d, want 1", len(subs))
	}
	for _, r := range recs {
		tr := s.transactionByRecord(t, r.ID)
		events, err := s.mediator.Store().Events(t.Context(), tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if strings.Contains(e.Reason, "no credential arrived") {
				t.Errorf("transaction %s was completed by reconciliation, want by the credential", tr.ID)
			}
		}
	}
}
