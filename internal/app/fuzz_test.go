package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/websub"
)

// The fuzz targets below send hostile bodies to a whole running mediator
// (store, jobs, simulators), each past the check that would otherwise turn
// it away first (a valid token, a valid hub signature), so that what is
// fuzzed is the parsing and the pipeline behind it. Whatever the body, the
// answer is a decision (2xx or 4xx with problem JSON), never a 500, and
// the mediator goes on serving.

// fuzzPost posts body and checks the answer is a decision with a JSON body.
func fuzzPost(t *testing.T, client *http.Client, url string, header http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("POST %s answered %d to %q: %s", url, resp.StatusCode, body, got)
	}
	if !json.Valid(got) {
		t.Fatalf("POST %s answered %d with a body that is not JSON: %q", url, resp.StatusCode, got)
	}
	return resp.StatusCode
}

// FuzzMappedIntake: the mapped payload (1.8 and 1.9) and anything else
// posted to /events/registration by a caller with a valid token.
func FuzzMappedIntake(f *testing.F) {
	for _, seed := range []string{
		`{"trackingId":"BXXDBIC","compositionId":"c1","requestFields":{"birthCertificateNumber":"2026BXXDBIC","fullName":"[{\"language\":\"eng\",\"value\":\"Toni Sami\"}]"},"metaInfo":{},"audit":{}}`,
		`{"trackingId":"DXXDBIC","compositionId":"c1","requestFields":{"deathCertificateNumber":"2026DXXDBIC","UIN":"1234567890"},"metaInfo":{},"audit":{}}`,
		`{"trackingId":"BXXDBIC","compositionId":"c1","correction":true,"requestFields":{"birthCertificateNumber":"2026BXXDBIC","fullName":"x"}}`,
		`{"trackingId":"B1","requestFields":[1]}`,
		`{"eventId":"e1","actionId":"a1","trackingId":"T1","requestFields":{"birthCertificateNumber":"N1"}}`,
		`{"resourceType":"Bundle","entry":[]}`,
	} {
		f.Add([]byte(seed))
	}
	s := startSystem(f, systemOptions{})
	header := bearer(s.token(f, "c1", time.Hour))
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := fuzzPost(t, client, s.mediatorURL+"/events/registration", header, body)
		if st != http.StatusAccepted && st != http.StatusOK && (st < 400 || st == http.StatusUnauthorized) {
			t.Fatalf("status %d for %q: want 2xx, or a 4xx other than 401 (the token is valid)", st, body)
		}
	})
}

// FuzzWebSubDelivery: credential deliveries with a valid hub signature.
func FuzzWebSubDelivery(f *testing.F) {
	s := startSystem(f, systemOptions{})
	vc, err := json.Marshal(map[string]any{
		"credentialSubject": map[string]any{"id": "http://credential.idrepo/credentials/10001100041000120261124000000", "UIN": "5823795817", "VID": "4796318027"},
	})
	if err != nil {
		f.Fatal(err)
	}
	enc, err := mosip.EncryptCredential(s.partner.Cert, vc)
	if err != nil {
		f.Fatal(err)
	}
	event := func(topic, credential string) []byte {
		b, _ := json.Marshal(map[string]any{
			"publisher": "CREDENTIAL_SERVICE", "topic": topic, "publishedOn": "2026-11-24T10:00:00.000Z",
			"event": map[string]any{
				"id": "2104f44a-339d-4e22-ad55-18f8dfc2be85", "transactionId": "a6115271-3ef7-49ef-a4b4-ea9b8f26819d",
				"type": map[string]string{"namespace": "mosip", "name": "mosip"}, "timestamp": "2026-11-24T10:00:00.000Z",
				"data": map[string]any{"registrationId": "10001100041000120261124000000", "credential": credential, "credentialType": "vercred", "protectionKey": "275700"},
			},
		})
		return b
	}
	f.Add(event("CREDENTIAL_ISSUED", enc))
	f.Add(event("opencrvs-partner/CREDENTIAL_ISSUED", enc))
	f.Add(event("CREDENTIAL_ISSUED", "VkVSX1IyXLUjvhOgeyICnrVpYagVQ6H4"))
	f.Add(event("OTHER_TOPIC", enc))
	f.Add(mustRead(f, "../../testdata/credentials/encrypted-sample-received-credentials.json"))
	f.Add([]byte(`{"event":{"data":{}}}`))
	secret := []byte(s.cfg.WebSubSecret)
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		header := http.Header{"X-Hub-Signature": {websub.Sign(secret, body)}}
		if st := fuzzPost(t, client, s.mediatorURL+"/websub/callback", header, body); st != http.StatusOK && st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
			t.Fatalf("status %d for a signed delivery %q: want 200 (an acknowledgement, even of an error) or 400/413", st, body)
		}
	})
}

// FuzzIdentityDelivery: identity change deliveries with a valid hub
// signature.
func FuzzIdentityDelivery(f *testing.F) {
	const sinkSecret = "identity-update-secret"
	s := startSystem(f, systemOptions{
		opencrvs: func(c *opencrvssim.Config) { c.IdentityUpdateSecret = []byte(sinkSecret) },
		config: func(c *Config) {
			c.IdentityTopic = "IDENTITY_UPDATED"
			c.IdentityCallback = strings.TrimSuffix(c.CallbackURL, "/callback") + "/identity"
			c.IdentitySinkURL = strings.TrimSuffix(c.OpenCRVSGraphQL, "/graphql") + opencrvssim.PathIdentityUpdates
			c.IdentitySinkSecret = sinkSecret
		},
	})
	for _, ev := range []mosip.IdentityEvent{
		{Publisher: mosip.PublisherIDRepo, Topic: "IDENTITY_UPDATED", PublishedOn: "2026-11-24T10:00:00.000Z", Event: mosip.IdentityEventMsg{
			ID: "e1", TransactionID: "t1", Timestamp: "2026-11-24T10:00:00.000Z",
			Data: mosip.IdentityEventData{UIN: "5823795817", Process: "CRVS_UPDATE", Status: "ACTIVATED", ChangedAttributes: []string{"fullName"}},
		}},
		{Publisher: mosip.PublisherIDRepo, Topic: "IDENTITY_UPDATED", Event: mosip.IdentityEventMsg{
			ID: "e2", Data: mosip.IdentityEventData{UIN: "5823795817", Process: "CRVS_DEATH", Status: "DEACTIVATED", Deceased: true, ChangedAttributes: []string{"deceased", "status"}},
		}},
	} {
		b, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"topic":"IDENTITY_UPDATED","event":{"id":"","data":{"UIN":""}}}`))
	secret := []byte(s.cfg.WebSubSecret)
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		header := http.Header{"X-Hub-Signature": {websub.Sign(secret, body)}}
		if st := fuzzPost(t, client, s.mediatorURL+"/websub/identity", header, body); st != http.StatusOK && st != http.StatusRequestEntityTooLarge && st != http.StatusBadRequest {
			t.Fatalf("status %d for a signed delivery %q: want 200 or 400/413", st, body)
		}
	})
}
