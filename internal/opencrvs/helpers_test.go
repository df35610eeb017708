package opencrvs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testKeys are RSA keys shared by the tests: generating 2048-bit keys is the
// slowest thing here, and no test changes them.
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

// keyA, keyB and keyC are three distinct keys: the auth service's key, its
// rotated key, and a stranger's key.
func keyA() *rsa.PrivateKey { return testKeys()[0] }
func keyB() *rsa.PrivateKey { return testKeys()[1] }
func keyC() *rsa.PrivateKey { return testKeys()[2] }

// pkixPEM is the key as OpenCRVS's auth service serves it.
func pkixPEM(t testing.TB, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// recordClaims returns the claims of an OpenCRVS 1.8 record token valid
// at now.
func recordClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub":      "user-1",
		"iss":      "opencrvs:auth-service",
		"aud":      []string{"opencrvs:gateway-user", "opencrvs:workflow-user"},
		"scope":    []string{ScopeConfirmRegistration, ScopeRejectRegistration},
		"recordId": "7c1a0b0e-3d2f-4f35-9b7e-1b2d3c4e5f60",
		"userType": "user",
		"iat":      now.Unix(),
		"exp":      now.Add(7 * 24 * time.Hour).Unix(),
	}
}

// mustSign signs claims with key under alg.
func mustSign(t testing.TB, alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return token
}

// mustSignRS256 signs claims as OpenCRVS does.
func mustSignRS256(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	return mustSign(t, jose.RS256, key, claims)
}

// unsignedToken builds an "alg: none" token.
func unsignedToken(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// keyServer plays the auth service's /.well-known: it serves the current
// PEM and counts requests. A zero status means 200.
type keyServer struct {
	pem      atomic.Pointer[[]byte]
	status   atomic.Int32
	requests atomic.Int64
	// block, when set, holds every request until it is closed.
	block chan struct{}
}

func newKeyServer(t testing.TB, k *rsa.PublicKey) *keyServer {
	t.Helper()
	ks := &keyServer{}
	ks.setKey(t, k)
	return ks
}

func (ks *keyServer) setKey(t testing.TB, k *rsa.PublicKey) {
	t.Helper()
	p := pkixPEM(t, k)
	ks.pem.Store(&p)
}

func (ks *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ks.requests.Add(1)
	if ks.block != nil {
		<-ks.block
	}
	if s := ks.status.Load(); s != 0 {
		http.Error(w, "down", int(s))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(*ks.pem.Load())
}

// start serves ks over real HTTP on 127.0.0.1 and returns its URL.
func (ks *keyServer) start(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(ks)
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known"
}

// handlerTransport serves requests with a handler in memory. Tests inside a
// synctest bubble use it: goroutines blocked on real sockets would keep the
// bubble's clock from advancing.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func inMemoryClient(h http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}}
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pkixPEMAny encodes any public key as a PEM "PUBLIC KEY".
func pkixPEMAny(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func x509MarshalPKCS1(k *rsa.PublicKey) []byte { return x509.MarshalPKCS1PublicKey(k) }

func jsonString(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ownClient returns a client with its own transport. Tests must not share
// http.DefaultTransport: httptest.Server.Close closes its idle connections,
// which breaks requests of parallel tests that are about to reuse them.
func ownClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
