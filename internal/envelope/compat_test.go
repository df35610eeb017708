package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
)

// The existing Java MOSIP-side mediator reads what our OpenCRVS side sends
// in JavaCompat: exactly the four fields, standard padded base64 (its
// decodePlainBase64), a signature over the ciphertext, VER_R2 it can open.
func TestJavaCompatReadByReference(t *testing.T) {
	alice, bob, _ := mustParties(t)
	s, _ := pair(t, JavaCompat)
	plain := []byte(`{"event":{"context":[{"resourceType":"Bundle"}]}}`)
	body := mustMarshal(t, mustSeal(t, s, "3f1c2a6e-0000-4000-8000-000000000001", plain))

	var fields map[string]string
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 4 || fields["id"] != "3f1c2a6e-0000-4000-8000-000000000001" || fields["requestTime"] != "2026-03-01T10:00:00.000Z" {
		t.Fatalf("fields = %v, want exactly id, requestTime, data, signature", fields)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(fields["data"])
	if err != nil {
		t.Fatalf("data is not standard padded base64: %v", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(fields["signature"])
	if err != nil {
		t.Fatalf("signature is not standard padded base64: %v", err)
	}
	if err := refVerify(&alice.key.PublicKey, raw, sig); err != nil {
		t.Fatalf("signature over the ciphertext does not verify: %v", err)
	}
	got, thumb, err := refDecrypt(bob.key, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("plaintext = %q, want %q", got, plain)
	}
	if want := sha256.Sum256(bob.cert.Raw); !bytes.Equal(thumb, want[:]) {
		t.Errorf("thumbprint = %x, want SHA-256 of the recipient certificate %x", thumb, want)
	}
}

// We open what the existing Node OpenCRVS-side mediator sends (random
// thumbprint, forge's padded base64).
func TestJavaCompatOpensReference(t *testing.T) {
	alice, bob, _ := mustParties(t)
	_, o := pair(t, JavaCompat)
	plain := []byte(`{"event":{"hub":{"topic":"BIRTH_REGISTERED"}}}`)
	raw := refEncrypt(t, &bob.key.PublicKey, plain)
	body := fmt.Sprintf(`{"id":"txn-1","requestTime":"2024-02-01T12:00:00.000Z","data":%q,"signature":%q}`,
		base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(refSign(t, alice.key, raw)))
	e, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, key, err := o.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) || key == "" {
		t.Errorf("Open = %q, %q; want %q and a replay key", got, key, plain)
	}
	if e.SentTo(bob.cert) {
		t.Error("SentTo = true for a random thumbprint")
	}
}

// The Java MOSIP side's credential push (encryptSign) opens on our OpenCRVS
// side: URL-safe unpadded base64, signature over the plaintext, empty id and
// requestTime.
func TestLegacyResultOpensReference(t *testing.T) {
	alice, bob, _ := mustParties(t)
	o := &Opener{Own: alice.key, Peer: &bob.key.PublicKey, Protocol: LegacyResult, Now: fixedClock(testNow)}
	plain := []byte(`{"uinToken":"tok", "opencrvsBRN": "2026BXXDBIC"}`)
	raw := refEncrypt(t, &alice.key.PublicKey, plain)
	body := fmt.Sprintf(`{"id":"","requestTime":"","data":%q,"signature":%q}`,
		base64.RawURLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(refSign(t, bob.key, plain)))
	e, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := o.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("plaintext = %q, want %q", got, plain)
	}
}

// What we seal in LegacyResult is what the Java side writes.
func TestLegacyResultReadByReference(t *testing.T) {
	alice, bob, _ := mustParties(t)
	s := &Sealer{Own: bob.key, Peer: alice.peer(), Protocol: LegacyResult, Now: fixedClock(testNow)}
	plain := []byte(`{"uinToken":"tok","opencrvsBRN":"2026BXXDBIC"}`)
	e := mustSeal(t, s, "", plain)
	if e.Version != "" {
		t.Errorf("version = %q, want none", e.Version)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(e.Data)
	if err != nil {
		t.Fatalf("data is not URL-safe unpadded base64: %v", err)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(e.Signature)
	if err != nil {
		t.Fatalf("signature is not URL-safe unpadded base64: %v", err)
	}
	got, _, err := refDecrypt(alice.key, raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("plaintext = %q, want %q", got, plain)
	}
	if err := refVerify(&bob.key.PublicKey, plain, sig); err != nil {
		t.Errorf("signature over the plaintext does not verify: %v", err)
	}
}

// V2 as documented, so that another implementation can be written from the
// package comment: both directions.
func TestV2MatchesDocumentedFormat(t *testing.T) {
	alice, bob, _ := mustParties(t)
	s, o := pair(t, V2)
	plain := []byte(`{"record":1}`)
	e := mustSeal(t, s, "txn-7", plain)
	if e.Version != "2" || e.RequestTime != "2026-03-01T10:00:00.000Z" {
		t.Errorf("version, requestTime = %q, %q; want 2, 2026-03-01T10:00:00.000Z", e.Version, e.RequestTime)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(e.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if err := refVerify(&alice.key.PublicKey, refMessageV2(e.ID, e.RequestTime, e.Data), sig); err != nil {
		t.Errorf("signature does not cover the documented message: %v", err)
	}
	if got, _, err := refDecrypt(bob.key, raw); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("reference decrypt = %q, %v; want %q", got, err, plain)
	}

	// The other way: a V2 envelope built by the reference, with an offset
	// time and no fraction.
	data := base64.StdEncoding.EncodeToString(refEncrypt(t, &bob.key.PublicKey, plain))
	rt := "2026-03-01T11:02:00+01:00"
	ref := &Envelope{ID: "txn-8", RequestTime: rt, Data: data, Version: "2",
		Signature: base64.StdEncoding.EncodeToString(refSign(t, alice.key, refMessageV2("txn-8", rt, data)))}
	if got, _, err := o.Open(ref); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open(reference V2) = %q, %v; want %q", got, err, plain)
	}
}
