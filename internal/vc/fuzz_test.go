package vc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds Verify hostile credentials: it must not panic, must
// classify every failure, must fetch nothing but the allow-listed key, and
// must accept only what the key signed.
//
//	go test -run '^$' -fuzz FuzzVerify -fuzztime 10m ./internal/vc
func FuzzVerify(f *testing.F) {
	is := newIssuer(f)
	keyURL := is.serve("/k.json", testKeys()[0])
	c := testContexts(f)
	signed := mustSign(f, testKeys()[0], c, testCredential(), keyURL)

	f.Add(signed)
	f.Add(edit(f, signed, func(vc map[string]any) { vc["credentialSubject"].(map[string]any)["VID"] = "1" }))
	f.Add(edit(f, signed, func(vc map[string]any) { vc["proof"].(map[string]any)["created"] = "2020-01-01T00:00:00Z" }))
	f.Add(edit(f, signed, func(vc map[string]any) { vc["@context"] = "https://unknown.example/ctx" }))
	f.Add(edit(f, signed, func(vc map[string]any) { vc["@context"] = map[string]any{"@vocab": "https://x.example/#"} }))
	f.Add(edit(f, signed, func(vc map[string]any) {
		vc["credentialSubject"] = map[string]any{"@context": map[string]any{"@version": 1.1, "VID": map[string]any{"@id": "https://x/#v", "@type": "@json"}}, "VID": []any{1, 2.5, true, nil}}
	}))
	f.Add([]byte(`{"proof":{"type":"RsaSignature2018","verificationMethod":"` + keyURL + `","proofPurpose":"assertionMethod","jws":"eyJhbGciOiJQUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..AAAA"}}`))
	f.Add([]byte(`{"@context":{"@context":{"@context":"x"}},"proof":{}}`))
	f.Add([]byte(`{"a":{"a":{"a":[[[[{"b":1}]]]]}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"proof":{"jws":"..."}}`))

	// A clock that stands still: the key is fetched once and never again.
	clk := &clock{t: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	v := mustVerifier(f, []string{keyURL}, c, clk.Now)
	f.Fuzz(func(t *testing.T, credential []byte) {
		res, err := v.Verify(t.Context(), credential)
		if n := is.hits.Load(); n > 1 {
			t.Fatalf("%d requests to the issuer, want at most the key's", n)
		}
		if err != nil {
			if Reason(err) == "error" {
				t.Fatalf("unclassified error %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *vc.Error", err)
			}
			return
		}
		if res.VerificationMethod != keyURL || (res.Algorithm != "PS256" && res.Algorithm != "RS256") {
			t.Fatalf("accepted %+v", res)
		}
		// Only the seed's signature exists: anything accepted must carry it.
		if !strings.Contains(string(credential), jwsOf(t, signed)) {
			t.Fatalf("accepted a credential without the one signature made: %s", credential)
		}
	})
}

func jwsOf(t testing.TB, signed []byte) string {
	doc, err := decodeObject(signed)
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := doc["proof"].(map[string]any)["jws"].(string)
	_, sig, _ := strings.Cut(jws, "..")
	return sig
}

// FuzzCanonicalize feeds the JSON-LD processor arbitrary documents (a
// forger can copy an allow-listed verification method, so anything reaches
// it): no panic, every failure classified, and no context outside the set.
//
//	go test -run '^$' -fuzz FuzzCanonicalize -fuzztime 10m ./internal/vc
func FuzzCanonicalize(f *testing.F) {
	c := testContexts(f)
	f.Add(mustJSON(f, testCredential()))
	f.Add([]byte(`{"@context": "https://w3id.org/security/v2", "type": "RsaSignature2018", "created": "2020-09-03T15:15:39Z", "verificationMethod": "https://example.org/foo/1", "proofPurpose": "assertionMethod"}`))
	f.Add([]byte(`{"@context": {"ex": "https://example.org/#", "@vocab": "https://v.example/"}, "@id": "_:a", "ex:p": {"@id": "_:b", "ex:p": {"@id": "_:a"}}, "@graph": [{"@id": "x", "@type": "y"}]}`))
	f.Add([]byte(`{"@context": [{"@version": 1.1, "@protected": true, "a": {"@id": "https://a/", "@type": "@json"}}, {"a": "https://b/"}], "a": {"x": [1, 2.5e300, null]}}`))
	f.Add([]byte(`{"@context": {"@import": "https://w3id.org/security/v1", "n": {"@id": "https://n/", "@container": "@list"}}, "n": [[1], [2, [3]]]}`))
	f.Add([]byte(`{"@context": {"l": {"@id": "https://l/", "@container": "@language"}, "@direction": "rtl"}, "l": {"en": "x", "@none": "y"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, err := Canonicalize(doc, c)
		if err != nil && Reason(err) != "malformed" && Reason(err) != "unknown_context" {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
