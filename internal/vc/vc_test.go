package vc

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testKeys are generated once: RSA key generation is slow.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

// testContextURL serves a context like the MOSIP simulator's, which
// defines every term its credentials use.
const testContextURL = "https://issuer.example/.well-known/mosip-context.json"

const testContext = `{
  "@context": {
    "@version": 1.1,
    "@protected": true,
    "mosip": "https://mosip.io/credentials/vocab#",
    "MOSIPVerifiableCredential": "mosip:MOSIPVerifiableCredential",
    "vcVer": "mosip:vcVer",
    "UIN": "mosip:UIN",
    "VID": "mosip:VID",
    "birthCertificateNumber": "mosip:birthCertificateNumber"
  }
}`

func testContexts(t testing.TB) *Contexts {
	t.Helper()
	c, err := BundledContexts().With(testContextURL, []byte(testContext))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCredential() map[string]any {
	return map[string]any{
		"@context":     []any{"https://www.w3.org/2018/credentials/v1", testContextURL, map[string]any{"sec": "https://w3id.org/security#"}},
		"type":         []any{"VerifiableCredential", "MOSIPVerifiableCredential"},
		"id":           "http://credential.idrepo/credentials/5a1c0f0e",
		"issuer":       "https://issuer.example/.well-known/controller.json",
		"issuanceDate": "2026-01-02T03:04:05.000Z",
		"credentialSubject": map[string]any{
			"id": "http://credential.idrepo/credentials/10001100041000120260102030405", "VID": "4829175630291846",
			"birthCertificateNumber": "BRN-2026-0001", "vcVer": "VC-V1",
		},
	}
}

// issuer serves verification method documents and counts the requests.
type issuer struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64 // the answer's status; 0: 200
	pems   sync.Map     // path -> PEM
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	is := &issuer{}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.hits.Add(1)
		if st := is.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		p, ok := is.pems.Load(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/ld+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context": "https://w3id.org/security/v2", "type": "RsaVerificationKey2018",
			"id": "http://" + r.Host + r.URL.Path, "controller": "http://" + r.Host + "/.well-known/controller.json",
			"publicKeyPem": p,
		})
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// serve publishes key's public half at path and returns its URL.
func (is *issuer) serve(path string, key *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		panic(err)
	}
	// MOSIP's public-key.json has CRLF line ends in its PEM.
	p := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\r\n")
	is.pems.Store(path, p)
	return is.srv.URL + path
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSign(t testing.TB, key *rsa.PrivateKey, c *Contexts, cred map[string]any, vm string) []byte {
	t.Helper()
	s, err := NewSigner(key, c, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sign(mustJSON(t, cred), vm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustVerifier(t testing.TB, allow []string, c *Contexts, now func() time.Time) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{AllowList: allow, Contexts: c, Now: now, Client: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// edit decodes a signed credential, lets f change it and encodes it again.
func edit(t testing.TB, signed []byte, f func(vc map[string]any)) []byte {
	t.Helper()
	var vc map[string]any
	if err := json.Unmarshal(signed, &vc); err != nil {
		t.Fatal(err)
	}
	f(vc)
	return mustJSON(t, vc)
}

// resign replaces the JWS of a signed credential with one made over the
// same verify data under header (base64url'd), signed by sign.
func resign(t testing.TB, c *Contexts, signed []byte, header string, sign func(input []byte) []byte) []byte {
	t.Helper()
	doc, err := decodeObject(signed)
	if err != nil {
		t.Fatal(err)
	}
	proof := doc["proof"].(map[string]any)
	data, err := verifyData(doc, proof, c)
	if err != nil {
		t.Fatal(err)
	}
	h := base64.RawURLEncoding.EncodeToString([]byte(header))
	sig := sign(append([]byte(h+"."), data...))
	proof["jws"] = h + ".." + base64.RawURLEncoding.EncodeToString(sig)
	return mustJSON(t, doc)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/.well-known/public-key.json", testKeys()[0])
	c := testContexts(t)
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)

	v := mustVerifier(t, []string{keyURL}, c, nil)
	res, err := v.Verify(t.Context(), signed)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{VerificationMethod: keyURL, Algorithm: "PS256", Created: "2026-01-02T03:04:06Z"}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	// The proof is what MOSIP writes.
	var vc struct {
		Proof map[string]string `json:"proof"`
	}
	if err := json.Unmarshal(signed, &vc); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(vc.Proof["jws"], "..")
	if h, _ := base64.RawURLEncoding.DecodeString(header); string(h) != `{"alg":"PS256","b64":false,"crit":["b64"]}` {
		t.Errorf("JWS header = %s", h)
	}
	if vc.Proof["type"] != "RsaSignature2018" || vc.Proof["proofPurpose"] != "assertionMethod" || vc.Proof["verificationMethod"] != keyURL {
		t.Errorf("proof = %v", vc.Proof)
	}
	// Verified again from the cache: one fetch.
	if _, err := v.Verify(t.Context(), signed); err != nil {
		t.Fatal(err)
	}
	if n := is.hits.Load(); n != 1 {
		t.Errorf("key fetched %d times, want 1", n)
	}
}

// The signature covers the JSON-LD meaning, not the JSON text: key order and
// whitespace may change in transit.
func TestVerifyIgnoresJSONLayout(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	c := testContexts(t)
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)
	var pretty strings.Builder
	enc := json.NewEncoder(&pretty)
	enc.SetIndent("", "    ")
	var v any
	_ = json.Unmarshal(signed, &v)
	_ = enc.Encode(v)
	if _, err := mustVerifier(t, []string{keyURL}, c, nil).Verify(t.Context(), []byte(pretty.String())); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRS256(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	key := testKeys()[0]
	keyURL := is.serve("/k.json", key)
	c := testContexts(t)
	signed := resign(t, c, mustSign(t, key, c, testCredential(), keyURL), `{"b64":false,"crit":["b64"],"alg":"RS256","kid":"x"}`,
		func(in []byte) []byte {
			d := sha256.Sum256(in)
			sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		})
	res, err := mustVerifier(t, []string{keyURL}, c, nil).Verify(t.Context(), signed)
	if err != nil || res.Algorithm != "RS256" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keys := testKeys()
	keyURL := is.serve("/.well-known/public-key.json", keys[0])
	otherURL := is.serve("/.well-known/other-key.json", keys[1])
	c := testContexts(t)
	signed := mustSign(t, keys[0], c, testCredential(), keyURL)
	pubPEM, _ := is.pems.Load("/.well-known/public-key.json")

	tests := []struct {
		name       string
		credential []byte
		want       error
	}{
		{"tampered credentialSubject value", edit(t, signed, func(vc map[string]any) {
			vc["credentialSubject"].(map[string]any)["VID"] = "4829175630291847"
		}), ErrBadSignature},
		{"tampered credentialSubject id", edit(t, signed, func(vc map[string]any) {
			vc["credentialSubject"].(map[string]any)["id"] = "http://credential.idrepo/credentials/10001100041000120260102039999"
		}), ErrBadSignature},
		{"added credentialSubject value", edit(t, signed, func(vc map[string]any) {
			vc["credentialSubject"].(map[string]any)["UIN"] = "1234567890"
		}), ErrBadSignature},
		{"tampered proof.created", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["created"] = "2026-01-02T03:04:07Z"
		}), ErrBadSignature},
		{"tampered issuer", edit(t, signed, func(vc map[string]any) {
			vc["issuer"] = "https://forger.example/controller.json"
		}), ErrBadSignature},
		{"verificationMethod not allow-listed", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["verificationMethod"] = "https://forger.example/.well-known/public-key.json"
		}), ErrNotAllowed},
		{"allow-listed method, signed by another key", mustSign(t, keys[2], c, testCredential(), keyURL), ErrBadSignature},
		{"another allow-listed method than the signer's", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["verificationMethod"] = otherURL
		}), ErrBadSignature},
		{"alg none", resign(t, c, signed, `{"alg":"none","b64":false,"crit":["b64"]}`, func([]byte) []byte { return []byte{0} }), ErrMalformed},
		{"alg none, empty signature", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["jws"] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + ".."
		}), ErrMalformed},
		{"HS256 with the public key as secret", resign(t, c, signed, `{"alg":"HS256","b64":false,"crit":["b64"]}`, func(in []byte) []byte {
			m := hmac.New(sha256.New, []byte(pubPEM.(string)))
			m.Write(in)
			return m.Sum(nil)
		}), ErrMalformed},
		{"b64 true", resign(t, c, signed, `{"alg":"PS256"}`, func(in []byte) []byte { return pss(t, keys[0], in) }), ErrMalformed},
		{"b64 not critical", resign(t, c, signed, `{"alg":"PS256","b64":false}`, func(in []byte) []byte { return pss(t, keys[0], in) }), ErrMalformed},
		{"unknown critical header", resign(t, c, signed, `{"alg":"PS256","b64":false,"crit":["b64","exp"]}`, func(in []byte) []byte { return pss(t, keys[0], in) }), ErrMalformed},
		{"attached payload", edit(t, signed, func(vc map[string]any) {
			p := vc["proof"].(map[string]any)
			h, s, _ := strings.Cut(p["jws"].(string), "..")
			p["jws"] = h + ".eyJ9." + s
		}), ErrMalformed},
		{"no proof", edit(t, signed, func(vc map[string]any) { delete(vc, "proof") }), ErrMalformed},
		{"two proofs", edit(t, signed, func(vc map[string]any) { vc["proof"] = []any{vc["proof"], vc["proof"]} }), ErrMalformed},
		{"other proof type", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["type"] = "Ed25519Signature2018"
		}), ErrMalformed},
		{"other proof purpose", edit(t, signed, func(vc map[string]any) {
			vc["proof"].(map[string]any)["proofPurpose"] = "authentication"
		}), ErrMalformed},
		{"duplicate key", []byte(strings.Replace(string(signed), `"VID":`, `"VID":"1","VID":`, 1)), ErrMalformed},
		{"not JSON", []byte(`{"proof":`), ErrMalformed},
		{"unknown @context", edit(t, signed, func(vc map[string]any) {
			vc["@context"] = []any{"https://www.w3.org/2018/credentials/v1", is.srv.URL + "/context.jsonld"}
		}), ErrUnknownContext},
	}
	v := mustVerifier(t, []string{keyURL, otherURL}, c, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tc.credential)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if Transient(err) {
				t.Errorf("Transient(%v) = true", err)
			}
		})
	}
	// Nothing but the two keys was ever fetched: no context, no forger URL.
	if n := is.hits.Load(); n > 2 {
		t.Errorf("%d requests to the issuer, want at most the 2 keys", n)
	}
}

func pss(t testing.TB, key *rsa.PrivateKey, in []byte) []byte {
	d := sha256.Sum256(in)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestUnknownContextIsNotFetched(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	ctxURL := is.srv.URL + "/.well-known/mosip-context.json"
	cred := testCredential()
	cred["@context"] = []any{"https://www.w3.org/2018/credentials/v1", ctxURL}
	// Signed with the context known to the signer only.
	withCtx, err := BundledContexts().With(ctxURL, []byte(testContext))
	if err != nil {
		t.Fatal(err)
	}
	signed := mustSign(t, testKeys()[0], withCtx, cred, keyURL)

	_, err = mustVerifier(t, []string{keyURL}, BundledContexts(), nil).Verify(t.Context(), signed)
	var e *Error
	if !errors.Is(err, ErrUnknownContext) || !errors.As(err, &e) || e.URL != ctxURL || !strings.Contains(err.Error(), ctxURL) {
		t.Fatalf("err = %v, want ErrUnknownContext naming %s", err, ctxURL)
	}
	if n := is.hits.Load(); n != 0 {
		t.Errorf("%d requests, want none (contexts are never fetched, nor keys before the canonical form is known)", n)
	}
	if _, err := mustVerifier(t, []string{keyURL}, withCtx, nil).Verify(t.Context(), signed); err != nil {
		t.Errorf("with the context configured: %v", err)
	}
}

func TestKeyFetchFailureIsTransientAndRateLimited(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	c := testContexts(t)
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)
	clk := &clock{t: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	v := mustVerifier(t, []string{keyURL}, c, clk.Now)

	is.status.Store(http.StatusServiceUnavailable)
	for i := range 3 {
		_, err := v.Verify(t.Context(), signed)
		if !errors.Is(err, ErrKeyUnavailable) || !Transient(err) || Reason(err) != "key_unavailable" {
			t.Fatalf("call %d: err = %v, want a transient ErrKeyUnavailable", i, err)
		}
		clk.Add(10 * time.Second)
	}
	if n := is.hits.Load(); n != 1 {
		t.Fatalf("key URL fetched %d times within a minute, want 1", n)
	}
	is.status.Store(0)
	if _, err := v.Verify(t.Context(), signed); !Transient(err) {
		t.Fatalf("within the minute: err = %v, want the remembered failure", err)
	}
	clk.Add(31 * time.Second) // a minute after the failed fetch
	if _, err := v.Verify(t.Context(), signed); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	if n := is.hits.Load(); n != 2 {
		t.Errorf("key URL fetched %d times, want 2", n)
	}
}

// A connection refused is as transient as a 503.
func TestKeyURLDown(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	c := testContexts(t)
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)
	is.srv.Close()
	_, err := mustVerifier(t, []string{keyURL}, c, nil).Verify(t.Context(), signed)
	if !Transient(err) {
		t.Fatalf("err = %v, want transient", err)
	}
}

func TestKeyExpiresAndRotates(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keys := testKeys()
	keyURL := is.serve("/k.json", keys[0])
	c := testContexts(t)
	clk := &clock{t: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	v := mustVerifier(t, []string{keyURL}, c, clk.Now)
	if _, err := v.Verify(t.Context(), mustSign(t, keys[0], c, testCredential(), keyURL)); err != nil {
		t.Fatal(err)
	}

	// The issuer rotates its key. Within a minute of the fetch the new
	// signature is refused (no refetch); after it, one refetch finds the key.
	is.serve("/k.json", keys[1])
	rotated := mustSign(t, keys[1], c, testCredential(), keyURL)
	if _, err := v.Verify(t.Context(), rotated); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("within the minute: err = %v, want ErrBadSignature", err)
	}
	if n := is.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	clk.Add(2 * time.Minute)
	if _, err := v.Verify(t.Context(), rotated); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	// Forgeries do not refetch more than once a minute either.
	forged := mustSign(t, keys[2], c, testCredential(), keyURL)
	for range 5 {
		if _, err := v.Verify(t.Context(), forged); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("forged: err = %v", err)
		}
	}
	if n := is.hits.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
	// After an hour the key is fetched again.
	clk.Add(time.Hour)
	if _, err := v.Verify(t.Context(), rotated); err != nil {
		t.Fatal(err)
	}
	if n := is.hits.Load(); n != 3 {
		t.Errorf("%d fetches after the TTL, want 3", n)
	}
}

func TestVerifyReportsUnsignedProperties(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	c, err := ParseContextList("https://issuer.example/.well-known/mosip-context.json=builtin:mosip-context.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	// MOSIP's stock context defines VID but not birthCertificateNumber.
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)
	v := mustVerifier(t, []string{keyURL}, c, nil)
	res, err := v.Verify(t.Context(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"credentialSubject.birthCertificateNumber"}, res.Unsigned); diff != "" {
		t.Errorf("Unsigned (-want +got):\n%s", diff)
	}
	// Properties JSON-LD drops can be added without breaking the signature:
	// exactly why they are reported.
	added := edit(t, signed, func(vc map[string]any) {
		vc["credentialSubject"].(map[string]any)["vid"] = "1111"
		vc["CredentialSubject"] = map[string]any{"id": "http://credential.idrepo/credentials/1", "VID": "2222"}
	})
	res, err = v.Verify(t.Context(), added)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CredentialSubject", "credentialSubject.birthCertificateNumber", "credentialSubject.vid"}
	if diff := cmp.Diff(want, res.Unsigned); diff != "" {
		t.Errorf("Unsigned (-want +got):\n%s", diff)
	}
}

func TestParseContextList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "ctx.json")
	if err := os.WriteFile(file, []byte(testContext), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ParseContextList(" https://a.example/ctx.json?v=1="+file+" , https://b.example/.well-known/mosip-context.json=builtin:mosip-context.json ,", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://a.example/ctx.json?v=1", "https://b.example/.well-known/mosip-context.json",
		"https://w3id.org/security/v1", "https://w3id.org/security/v2",
		"https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/odrl.jsonld",
	}
	if diff := cmp.Diff(want, c.URLs()); diff != "" {
		t.Errorf("URLs (-want +got):\n%s", diff)
	}
	if got := string(c.docs["https://b.example/.well-known/mosip-context.json"]); !strings.Contains(got, `"https://b.example/mosip#"`) || strings.Contains(got, hostPlaceholder) {
		t.Errorf("the MOSIP template is not bound to its host:\n%s", got)
	}
	for _, bad := range []string{
		"https://a.example/ctx.json",                      // no file
		"ctx.json=" + file,                                // not a URL
		"https://a.example/x=" + filepath.Join(dir, "no"), // no such file
		"https://a.example/x=builtin:other.json",
		"https://a.example/x=" + filepath.Join(dir, "."), // a directory
	} {
		if _, err := ParseContextList(bad, nil); err == nil {
			t.Errorf("ParseContextList(%q) succeeded", bad)
		}
	}
	notJSON := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(notJSON, []byte(`{"x":1}`), 0o600)
	if _, err := ParseContextList("https://a.example/x="+notJSON, nil); err == nil {
		t.Error("a document without @context was accepted")
	}
}

func TestNewVerifierNeedsAllowList(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifier(VerifierConfig{}); err == nil {
		t.Error("NewVerifier without an allow-list succeeded")
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		nil: "", errorf(ErrNotAllowed, "x"): "not_allowed", errorf(ErrUnknownContext, "x"): "unknown_context",
		errorf(ErrBadSignature, "x"): "bad_signature", errorf(ErrMalformed, "x"): "malformed",
		errorf(ErrKeyUnavailable, "x"): "key_unavailable", errors.New("x"): "error",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

// The verification reads no credential value into its errors.
func TestErrorsCarryNoCredentialValues(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	keyURL := is.serve("/k.json", testKeys()[0])
	c := testContexts(t)
	signed := mustSign(t, testKeys()[0], c, testCredential(), keyURL)
	tampered := edit(t, signed, func(vc map[string]any) { vc["credentialSubject"].(map[string]any)["VID"] = "9999999999999999" })
	_, err := mustVerifier(t, []string{keyURL}, c, nil).Verify(context.Background(), tampered)
	if err == nil || strings.Contains(err.Error(), "9999999999999999") || strings.Contains(err.Error(), "BRN-2026-0001") {
		t.Errorf("err = %v", err)
	}
}
