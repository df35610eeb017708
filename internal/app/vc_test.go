package app

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/vc"
	"opencrvs-mosip/internal/websub"
)

// signedCredential returns a verifiable credential for rid with the subject
// fields, as the MOSIP simulator issues it: its context, its key.
func (s *system) signedCredential(t testing.TB, rid string, fields map[string]any) []byte {
	t.Helper()
	return s.signedCredentialBy(t, rid, fields, s.mosipURL+"/.well-known/public-key.json", s.vcKey)
}

// signedCredentialBy is signedCredential with another key, naming keyURL.
func (s *system) signedCredentialBy(t testing.TB, rid string, fields map[string]any, keyURL string, key *rsa.PrivateKey) []byte {
	t.Helper()
	subject := map[string]any{"id": "http://credential.idrepo/credentials/" + rid, "vcVer": "VC-V1"}
	for k, v := range fields {
		subject[k] = v
	}
	cred, err := json.Marshal(map[string]any{
		"@context": []any{"https://www.w3.org/2018/credentials/v1", s.mosipURL + "/.well-known/mosip-context.json",
			map[string]any{"sec": "https://w3id.org/security#"}},
		"type":              []any{"VerifiableCredential", "MOSIPVerifiableCredential"},
		"id":                "http://credential.idrepo/credentials/" + rid + "-vc",
		"issuer":            s.mosipURL + "/.well-known/controller.json",
		"issuanceDate":      mosip.FormatTime(time.Now()),
		"credentialSubject": subject,
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := vc.NewSigner(key, s.cfg.VCContexts, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := signer.Sign(cred, keyURL)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// encrypt encrypts a credential to the partner certificate (VER_R2).
func (s *system) encrypt(t testing.TB, plain []byte) string {
	t.Helper()
	enc, err := mosip.EncryptCredential(s.partner.Cert, plain)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// tamper edits a signed credential's JSON.
func tamper(t testing.TB, signed []byte, edit func(cred map[string]any)) []byte {
	t.Helper()
	var cred map[string]any
	if err := json.Unmarshal(signed, &cred); err != nil {
		t.Fatal(err)
	}
	edit(cred)
	out, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// submittedBirth sends a birth record with MOSIP's hub losing every
// delivery (the test delivers) and waits until it is SUBMITTED.
func submittedBirth(t *testing.T, s *system) (simRecord, *bridge.Transaction) {
	t.Helper()
	s.setMOSIPFaults(t, map[string]any{"lostDeliveryRate": 1.0})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr := s.transactionByRecord(t, rec.ID)
		if tr.State == bridge.StateSubmitted {
			return rec, tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s, want SUBMITTED", tr.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A delivery with a valid hub signature whose credential proof does not
// verify changes nothing, whatever it reuses of the genuine one; the genuine
// delivery then completes the record.
func TestE2ETamperedCredentialChangesNothing(t *testing.T) {
	s := startSystem(t, systemOptions{})
	rec, tr := submittedBirth(t, s)
	const genuineVID, forgedVID = "4759308162938475", "6613904821736590"
	genuine := s.signedCredential(t, tr.ID, map[string]any{"VID": genuineVID})
	sign := func(b []byte) string { return websub.Sign([]byte(s.cfg.WebSubSecret), b) }
	ctx := t.Context()

	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forgeries := map[string][]byte{
		"tampered VID": tamper(t, genuine, func(c map[string]any) {
			c["credentialSubject"].(map[string]any)["VID"] = forgedVID
		}),
		"tampered proof.created": tamper(t, genuine, func(c map[string]any) {
			c["proof"].(map[string]any)["created"] = "2020-01-01T00:00:00Z"
		}),
		"proof removed": tamper(t, genuine, func(c map[string]any) { delete(c, "proof") }),
		"signed by a key that is not allow-listed": s.signedCredentialBy(t, tr.ID, map[string]any{"VID": forgedVID},
			"https://forger.example/.well-known/public-key.json", otherKey),
		"allow-listed key URL, another key": s.signedCredentialBy(t, tr.ID, map[string]any{"VID": forgedVID},
			s.mosipURL+"/.well-known/public-key.json", otherKey),
		"unsigned vid beside the signed VID": tamper(t, s.signedCredential(t, tr.ID, nil), func(c map[string]any) {
			c["credentialSubject"].(map[string]any)["vid"] = forgedVID
		}),
	}
	for name, forged := range forgeries {
		// The forger even reuses the genuine event's id.
		body := s.event(t, "e-genuine", tr.ID, s.encrypt(t, forged))
		st, ack := s.deliver(t, "/websub/callback", body, sign(body))
		if st != http.StatusOK || ack.Event.Status != mosip.AckError || ack.Event.ID != "e-genuine" {
			t.Errorf("%s: status %d ack %+v, want 200 ERROR", name, st, ack)
		}
		if d, err := s.mediator.Store().Delivery(ctx, pipeline.OutcomeUnverified+":"+bodyIDOf(body)); err != nil || d.Outcome != pipeline.OutcomeUnverified {
			t.Errorf("%s: delivery %+v, %v; want recorded as %s", name, d, err, pipeline.OutcomeUnverified)
		}
	}
	if got := s.transactionByRecord(t, rec.ID); got.State != bridge.StateSubmitted {
		t.Fatalf("after the forgeries the transaction is %s, want SUBMITTED", got.State)
	}
	if seen, _ := s.mediator.Store().SeenDelivery(ctx, "e-genuine"); seen {
		t.Fatal("a forgery took the genuine event's id")
	}

	body := s.event(t, "e-genuine", tr.ID, s.encrypt(t, genuine))
	if st, ack := s.deliver(t, "/websub/callback", body, sign(body)); st != http.StatusOK || ack.Event.Status != mosip.AckReceived {
		t.Fatalf("genuine delivery: status %d ack %+v, want 200 RECEIVED", st, ack)
	}
	got := s.waitRecord(t, rec.ID)
	if got.Status != "registered" || got.NationalID == nil || *got.NationalID != genuineVID || got.Confirmations != 1 {
		t.Errorf("record %+v, want registered once with the genuine VID", got)
	}
	if d, err := s.mediator.Store().Delivery(ctx, "e-genuine"); err != nil || d.Outcome != store.DeliveryApplied {
		t.Errorf("genuine delivery %+v, %v", d, err)
	}
}

// bodyIDOf is how the mediator names a delivery by its content.
func bodyIDOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// While the key a credential names cannot be fetched, the delivery is
// answered 503: the hub delivers it again later.
func TestE2ECredentialKeyUnavailable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	keyURL := down.URL + "/.well-known/public-key.json"
	down.Close()
	s := startSystem(t, systemOptions{config: func(c *Config) { c.VCAllowList = append(c.VCAllowList, keyURL) }})
	rec, tr := submittedBirth(t, s)
	forgedOrNot := s.signedCredentialBy(t, tr.ID, map[string]any{"VID": "4759308162938475"}, keyURL, s.vcKey)
	body := s.event(t, "e-1", tr.ID, s.encrypt(t, forgedOrNot))
	var p problemAnswer
	st := do(t, "POST", s.mediatorURL+"/websub/callback", http.Header{websub.SignatureHeader: {websub.Sign([]byte(s.cfg.WebSubSecret), body)}}, body, &p)
	if st != http.StatusServiceUnavailable {
		t.Errorf("status %d %+v, want 503", st, p)
	}
	if seen, _ := s.mediator.Store().SeenDelivery(t.Context(), "e-1"); seen {
		t.Error("the delivery was recorded")
	}
	if got := s.transactionByRecord(t, rec.ID); got.State != bridge.StateSubmitted {
		t.Errorf("transaction %s, want SUBMITTED", got.State)
	}
}

// syncBuffer is a log sink safe for the mediator's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// MOSIP_VC_VERIFY=log-only (a migration): a credential whose proof does not
// verify is applied, with a warning naming the transaction and the reason,
// and no personal data.
func TestE2ECredentialCheckLogOnly(t *testing.T) {
	var logs syncBuffer
	s := startSystem(t, systemOptions{
		logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		config: func(c *Config) { c.VCVerify = httpapi.CredentialCheckLogOnly },
	})
	rec, tr := submittedBirth(t, s)
	const tamperedVID = "6613904821736590"
	forged := tamper(t, s.signedCredential(t, tr.ID, map[string]any{"VID": "4759308162938475"}), func(c map[string]any) {
		c["credentialSubject"].(map[string]any)["VID"] = tamperedVID
	})
	body := s.event(t, "e-1", tr.ID, s.encrypt(t, forged))
	if st, ack := s.deliver(t, "/websub/callback", body, websub.Sign([]byte(s.cfg.WebSubSecret), body)); st != http.StatusOK || ack.Event.Status != mosip.AckReceived {
		t.Fatalf("status %d ack %+v, want 200 RECEIVED", st, ack)
	}
	if got := s.waitRecord(t, rec.ID); got.Status != "registered" || got.NationalID == nil || *got.NationalID != tamperedVID {
		t.Errorf("record %+v, want registered (log-only lets it through)", got)
	}
	var warning map[string]any
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "MOSIP_VC_VERIFY=log-only") {
			_ = json.Unmarshal([]byte(line), &warning)
		}
	}
	if warning["level"] != "WARN" || warning["transaction_id"] != tr.ID || warning["reason"] != "bad_signature" || warning["event_id"] != "e-1" {
		t.Errorf("warning = %v, want WARN with transaction_id %s, reason bad_signature, event_id e-1", warning, tr.ID)
	}
	if strings.Contains(logs.String(), tamperedVID) || strings.Contains(logs.String(), "4759308162938475") {
		t.Error("a VID was logged")
	}
}

// The credentials the MOSIP simulator issues verify: the whole flow runs
// with MOSIP_VC_VERIFY=enforce (the harness's default), birth and death
// credentials alike.
func TestE2ESimulatorCredentialsVerify(t *testing.T) {
	s := startSystem(t, systemOptions{})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID)
	if birth.Status != "registered" || birth.NationalID == nil {
		t.Fatalf("birth %+v, want registered with a VID", birth)
	}
	death := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "mode": "mapped", "of": birth.ID}).ID)
	if death.Status != "registered" {
		t.Errorf("death %+v, want registered", death)
	}
}
