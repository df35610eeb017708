package vc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Known answers computed by other implementations, so that a
// canonicalization bug cannot hide behind sign-and-verify symmetry (the
// Signer and Verify share the canonicalization).
func TestCanonicalizeKnownAnswers(t *testing.T) {
	t.Parallel()
	examples, err := os.ReadFile("testdata/credentials-examples-v1.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	withExamples, err := BundledContexts().With("https://www.w3.org/2018/credentials/examples/v1", examples)
	if err != nil {
		t.Fatal(err)
	}
	mosip, err := ParseContextList("https://api.example.org/.well-known/mosip-context.json=builtin:mosip-context.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	// From spruceid/ssi, crate ssi (src/vc.rs) test proof_json_to_urdna2015:
	// the proof options of an RsaSignature2018 proof, there under
	// [security/v1, credentials/v1]; security/v2 must give the same.
	const proofNQuads = `_:c14n0 <http://purl.org/dc/terms/created> "2020-09-03T15:15:39Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#RsaSignature2018> .
_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .
_:c14n0 <https://w3id.org/security#verificationMethod> <https://example.org/foo/1> .
`
	const proofBody = `"type": "RsaSignature2018", "created": "2020-09-03T15:15:39Z",
		"verificationMethod": "https://example.org/foo/1", "proofPurpose": "assertionMethod"}`
	tests := []struct {
		name     string
		contexts *Contexts
		doc      string
		want     string
	}{
		{
			name: "proof options, security v2 (what MOSIP signs)",
			doc:  `{"@context": "https://w3id.org/security/v2", ` + proofBody,
			want: proofNQuads,
		},
		{
			name: "proof options, security v1 and credentials v1 (spruceid/ssi)",
			doc:  `{"@context": ["https://w3id.org/security/v1", "https://www.w3.org/2018/credentials/v1"], ` + proofBody,
			want: proofNQuads,
		},
		{
			// spruceid/ssi test credential_json_to_urdna2015; the examples
			// context is W3C's, which imports ODRL.
			name:     "credential, credentials v1 and examples v1 (spruceid/ssi)",
			contexts: withExamples,
			doc: `{
				"@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/2018/credentials/examples/v1"],
				"id": "http://example.com/credentials/4643",
				"type": ["VerifiableCredential"],
				"issuer": "https://example.com/issuers/14",
				"issuanceDate": "2018-02-24T05:28:04Z",
				"credentialSubject": {"id": "did:example:abcdef1234567", "name": "Jane Doe"}}`,
			want: `<did:example:abcdef1234567> <http://schema.org/name> "Jane Doe"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#HTML> .
<http://example.com/credentials/4643> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .
<http://example.com/credentials/4643> <https://www.w3.org/2018/credentials#credentialSubject> <did:example:abcdef1234567> .
<http://example.com/credentials/4643> <https://www.w3.org/2018/credentials#issuanceDate> "2018-02-24T05:28:04Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
<http://example.com/credentials/4643> <https://www.w3.org/2018/credentials#issuer> <https://example.com/issuers/14> .
`,
		},
		{
			// Derived by hand from the contexts: MOSIP's stock
			// mosip-context.json defines VID and vcVer under
			// https://<host>/mosip#, but neither MOSIPVerifiableCredential
			// (a relative IRI: no triple) nor birthCertificateNumber
			// (dropped).
			name:     "MOSIP credential, MOSIP's stock context",
			contexts: mosip,
			doc: `{
				"@context": ["https://www.w3.org/2018/credentials/v1", "https://api.example.org/.well-known/mosip-context.json", {"sec": "https://w3id.org/security#"}],
				"type": ["VerifiableCredential", "MOSIPVerifiableCredential"],
				"id": "http://credential.idrepo/credentials/abc",
				"issuer": "https://api.example.org/.well-known/controller.json",
				"issuanceDate": "2024-01-01T00:00:00.000Z",
				"credentialSubject": {"id": "http://credential.idrepo/credentials/1000", "VID": "123", "vcVer": "VC-V1", "birthCertificateNumber": "X"}}`,
			want: `<http://credential.idrepo/credentials/1000> <https://api.example.org/mosip#VID> "123" .
<http://credential.idrepo/credentials/1000> <https://api.example.org/mosip#vcVer> "VC-V1" .
<http://credential.idrepo/credentials/abc> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .
<http://credential.idrepo/credentials/abc> <https://www.w3.org/2018/credentials#credentialSubject> <http://credential.idrepo/credentials/1000> .
<http://credential.idrepo/credentials/abc> <https://www.w3.org/2018/credentials#issuanceDate> "2024-01-01T00:00:00.000Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
<http://credential.idrepo/credentials/abc> <https://www.w3.org/2018/credentials#issuer> <https://api.example.org/.well-known/controller.json> .
`,
		},
		{
			// URDNA2015 blank node labelling and typed numbers, by hand: a
			// subject without id is _:c14n0; JSON integers are
			// xsd:integer, other numbers xsd:double in canonical form.
			name: "blank subject and numbers",
			doc: `{"@context": {"ex": "https://example.org/#"},
				"@id": "https://example.org/c", "ex:subject": {"ex:n": 5, "ex:d": 2.5, "ex:t": true}}`,
			want: `<https://example.org/c> <https://example.org/#subject> _:c14n0 .
_:c14n0 <https://example.org/#d> "2.5E0"^^<http://www.w3.org/2001/XMLSchema#double> .
_:c14n0 <https://example.org/#n> "5"^^<http://www.w3.org/2001/XMLSchema#integer> .
_:c14n0 <https://example.org/#t> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := tc.contexts
			if c == nil {
				c = BundledContexts()
			}
			got, err := Canonicalize([]byte(tc.doc), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("N-Quads (-want +got):\n%s", diff)
			}
		})
	}
}

// The verify data of a fixed credential and proof: a change to the
// canonicalization, the hashing or the concatenation order shows here.
func TestVerifyDataLayout(t *testing.T) {
	t.Parallel()
	cred := map[string]any{
		"@context": []any{"https://www.w3.org/2018/credentials/v1"}, "id": "http://example.com/credentials/4643",
		"type": []any{"VerifiableCredential"}, "issuer": "https://example.com/issuers/14", "issuanceDate": "2018-02-24T05:28:04Z",
	}
	proof := map[string]any{"type": "RsaSignature2018", "created": "2020-09-03T15:15:39Z",
		"verificationMethod": "https://example.org/foo/1", "proofPurpose": "assertionMethod", "jws": "ignored"}
	got, err := verifyData(cred, proof, BundledContexts())
	if err != nil {
		t.Fatal(err)
	}
	proofNQ := `_:c14n0 <http://purl.org/dc/terms/created> "2020-09-03T15:15:39Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#RsaSignature2018> .
_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .
_:c14n0 <https://w3id.org/security#verificationMethod> <https://example.org/foo/1> .
`
	docNQ := `<http://example.com/credentials/4643> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .
<http://example.com/credentials/4643> <https://www.w3.org/2018/credentials#issuanceDate> "2018-02-24T05:28:04Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
<http://example.com/credentials/4643> <https://www.w3.org/2018/credentials#issuer> <https://example.com/issuers/14> .
`
	a, b := sha256.Sum256([]byte(proofNQ)), sha256.Sum256([]byte(docNQ))
	if want := hex.EncodeToString(append(a[:], b[:]...)); hex.EncodeToString(got) != want {
		t.Errorf("verify data = %x, want %s", got, want)
	}
}

func TestCanonicalizeNeverFetches(t *testing.T) {
	t.Parallel()
	_, err := Canonicalize([]byte(`{"@context": "https://example.org/ctx.jsonld", "name": "x"}`), BundledContexts())
	var e *Error
	if !errors.Is(err, ErrUnknownContext) || !errors.As(err, &e) || e.URL != "https://example.org/ctx.jsonld" {
		t.Fatalf("err = %v, want ErrUnknownContext naming the URL", err)
	}
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	deep := ""
	for range maxDepth + 1 {
		deep += `{"a":`
	}
	deep += "1"
	for range maxDepth + 1 {
		deep += "}"
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}`, true},
		{`{"a": [[1, 2], {"x": [3]}], "b": null}`, true},
		{`{"a": 1, "a": 2}`, false},
		{`{"s": {"VID": "1", "VID": "2"}}`, false},
		{`{"a": [{"b": 1, "b": 1}]}`, false},
		{`{} {}`, false},
		{`[]`, false},
		{`"x"`, false},
		{`{"a": 1`, false},
		{``, false},
		{deep, false},
	} {
		if err := checkJSON([]byte(tc.in)); (err == nil) != tc.ok {
			t.Errorf("checkJSON(%.40s) = %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// URDNA2015 spends factorial time on blank nodes only their relations tell
// apart; such documents are refused before it runs.
func TestCanonicalizeRefusesPoisonGraphs(t *testing.T) {
	t.Parallel()
	complete := func(n int) []byte {
		var nodes []any
		for i := range n {
			var links []any
			for j := range n {
				if j != i {
					links = append(links, map[string]any{"@id": fmt.Sprintf("_:b%d", j)})
				}
			}
			nodes = append(nodes, map[string]any{"@id": fmt.Sprintf("_:b%d", i), "https://example.org/#p": links})
		}
		b, _ := json.Marshal(map[string]any{"@graph": nodes})
		return b
	}
	if _, err := Canonicalize(complete(4), BundledContexts()); err != nil {
		t.Errorf("4 related blank nodes: %v", err)
	}
	// Refused before URDNA2015 runs (it would take days: a regression
	// shows as a test timeout).
	if _, err := Canonicalize(complete(12), BundledContexts()); !errors.Is(err, ErrMalformed) {
		t.Errorf("12 related blank nodes: err = %v, want ErrMalformed", err)
	}
	// Distinct blank nodes, as in real credentials, are fine in number.
	var items []any
	for i := range 50 {
		items = append(items, map[string]any{"https://example.org/#rank": i})
	}
	doc, _ := json.Marshal(map[string]any{"@id": "https://example.org/c", "https://example.org/#finger": items})
	if _, err := Canonicalize(doc, BundledContexts()); err != nil {
		t.Errorf("50 distinct blank nodes: %v", err)
	}
}
