package idcard_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/idcard"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// The card printed for every test: a person of OpenCRVS's mock identities,
// with fields as MOSIP's ID repository holds them.
var (
	cardUIN    = "1234567891"
	cardVID    = "9876543210123456"
	cardFields = map[string]string{
		"fullName":    `[{"language":"eng","value":"Jenny Debra Doe"}]`,
		"firstName":   "Jenny",
		"middleName":  "Debra",
		"lastName":    "Doe",
		"dateOfBirth": "2002/02/01",
		"gender":      `[{"language":"eng","value":"Female"}]`,
	}
	wantJWSIdentity = &idcard.Identity{
		UIN: cardUIN, VID: cardVID, FullName: "Jenny Debra Doe", FirstName: "Jenny", MiddleName: "Debra",
		LastName: "Doe", BirthDate: "2002-02-01", Gender: "female",
	}
	wantClaim169Identity = &idcard.Identity{
		ID: cardUIN, FullName: "Jenny Debra Doe", FirstName: "Jenny", MiddleName: "Debra",
		LastName: "Doe", BirthDate: "2002-02-01", Gender: "female",
	}
)

var (
	partnerOnce sync.Once
	partnerCert *x509.Certificate
	partnerErr  error
)

// mustPartnerCert is the certificate the simulator encrypts credentials
// to; these tests never read a credential, but the simulator needs one.
func mustPartnerCert(t testing.TB) *x509.Certificate {
	t.Helper()
	partnerOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			partnerErr = err
			return
		}
		partnerCert, partnerErr = selfSigned(key, &key.PublicKey, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	})
	if partnerErr != nil {
		t.Fatal(partnerErr)
	}
	return partnerCert
}

// selfSigned makes a certificate for pub signed by signer.
func selfSigned(signer any, pub any, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "test issuer"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

type issuer struct {
	sim *mosipsim.Sim
	url string
}

// startIssuer runs a MOSIP simulator on 127.0.0.1 with the test card.
func startIssuer(t *testing.T) issuer {
	t.Helper()
	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: mustPartnerCert(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if _, err := sim.AddIdentity(mosipsim.SeedIdentity{UIN: cardUIN, VID: cardVID, Fields: cardFields}); err != nil {
		t.Fatal(err)
	}
	return issuer{sim: sim, url: srv.URL}
}

// print asks the simulator over HTTP for the card's QR text.
func (i issuer) print(t *testing.T, query string) string {
	t.Helper()
	resp, err := http.Get(i.url + "/sim/identities/" + cardUIN + "/qr" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET qr%s: %d %s", query, resp.StatusCode, body)
	}
	return string(body)
}

// clock is a settable time source.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func mustVerifier(t *testing.T, now func() time.Time, sources ...string) *idcard.Verifier {
	t.Helper()
	keys, err := idcard.LoadKeys(idcard.KeysConfig{Sources: sources, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := idcard.NewVerifier(idcard.VerifierConfig{Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustVerify(t *testing.T, v *idcard.Verifier, qr string) idcard.Result {
	t.Helper()
	res, err := v.Verify(context.Background(), qr)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func TestSimulatorCardVerifies(t *testing.T) {
	iss := startIssuer(t)
	v := mustVerifier(t, nil, iss.url+"/.well-known/jwks.json")
	for _, tc := range []struct {
		query, format string
		want          *idcard.Identity
	}{
		{"", idcard.FormatJWS, wantJWSIdentity},
		{"?format=claim169", idcard.FormatClaim169, wantClaim169Identity},
	} {
		t.Run(tc.format, func(t *testing.T) {
			res := mustVerify(t, v, iss.print(t, tc.query))
			if !res.Verified {
				t.Fatalf("not verified: %s (%s)", res.Reason, res.Detail)
			}
			if diff := cmp.Diff(tc.want, res.Identity); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			if res.Format != tc.format || res.KeyID != mosipsim.QRKeyID || res.Issuer != iss.url || res.IssuedAt.IsZero() {
				t.Errorf("got format %q key %q issuer %q issued %v, want %q %q %q and a time", res.Format, res.KeyID, res.Issuer, res.IssuedAt, tc.format, mosipsim.QRKeyID, iss.url)
			}
		})
	}
}

func TestRefusedCodes(t *testing.T) {
	iss := startIssuer(t)
	rogue := startIssuer(t) // same card, another issuer's key under the same key id
	v := mustVerifier(t, nil, iss.url+"/.well-known/jwks.json")
	jws := iss.print(t, "")
	c169 := iss.print(t, "?format=claim169")

	rogueKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": "https://rogue.example", "iat": time.Now().Unix(), "credentialSubject": map[string]any{"UIN": cardUIN, "fullName": "Jenny Debra Doe"}}

	tests := []struct {
		name string
		qr   string
		want idcard.Reason
	}{
		{"jws tampered", tamperJWS(t, jws), idcard.ReasonBadSignature},
		{"claim169 tampered", tamperClaim169(t, c169), idcard.ReasonBadSignature},
		{"jws signature cut", jws[:len(jws)-10], idcard.ReasonBadSignature},
		{"jws from another issuer with our key id", rogue.print(t, ""), idcard.ReasonBadSignature},
		{"claim169 from another issuer with our key id", rogue.print(t, "?format=claim169"), idcard.ReasonBadSignature},
		{"jws signed by an unknown key", signJWS(t, jose.ES256, rogueKey, "rogue", claims), idcard.ReasonUnknownKey},
		{"jws without key id signed by an unknown key", signJWS(t, jose.ES256, rogueKey, "", claims), idcard.ReasonUnknownKey},
		{"jws with HMAC", signJWS(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), mosipsim.QRKeyID, claims), idcard.ReasonUnsupported},
		{"jws alg none", unsignedJWS(t, claims), idcard.ReasonUnsigned},
		{"print service JSON", `{"UIN":"1234567891","fullName":"Jenny Debra Doe"}`, idcard.ReasonUnsigned},
		{"empty", "  ", idcard.ReasonMalformed},
		{"garbage text", "hello, world", idcard.ReasonMalformed},
		{"broken JSON", `{"UIN":`, idcard.ReasonMalformed},
		{"jws payload cut", jws[:strings.Index(jws, ".")+5] + "." + jws[strings.LastIndex(jws, ".")+1:], idcard.ReasonMalformed},
		{"jws header garbage", "eyJhbGciOi.e30.AAAA", idcard.ReasonMalformed},
		{"base45 garbage", "ABCDEF", idcard.ReasonMalformed},
		{"claim169 cut", c169[:len(c169)/2-(len(c169)/2)%3], idcard.ReasonMalformed},
		{"too long", strings.Repeat("A", idcard.MaxQRLength+3), idcard.ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mustVerify(t, v, tc.qr)
			if res.Verified || res.Reason != tc.want {
				t.Fatalf("got verified=%v reason %q (%s), want reason %q", res.Verified, res.Reason, res.Detail, tc.want)
			}
			if res.Identity != nil {
				t.Errorf("a refused code handed on identity data")
			}
			if res.Detail == "" {
				t.Errorf("no detail for %s", res.Reason)
			}
		})
	}
}

func TestCodeTimes(t *testing.T) {
	iss := startIssuer(t)
	clk := &clock{}
	v := mustVerifier(t, clk.now, iss.url+"/.well-known/jwks.json")
	jws := iss.print(t, "?validity=24h")
	c169 := iss.print(t, "?format=claim169&validity=24h")
	for _, qr := range []string{jws, c169} {
		if res := mustVerify(t, v, qr); !res.Verified || res.ExpiresAt.IsZero() {
			t.Fatalf("fresh code: verified=%v reason %q expires %v", res.Verified, res.Reason, res.ExpiresAt)
		}
	}
	clk.advance(25 * time.Hour)
	for _, qr := range []string{jws, c169} {
		if res := mustVerify(t, v, qr); res.Verified || res.Reason != idcard.ReasonExpired || res.Identity != nil {
			t.Errorf("a day later: verified=%v reason %q, want %q", res.Verified, res.Reason, idcard.ReasonExpired)
		}
	}
	clk.advance(-27 * time.Hour) // the scanner's clock is behind the issuer's
	for _, qr := range []string{jws, c169} {
		if res := mustVerify(t, v, qr); res.Verified || res.Reason != idcard.ReasonNotYetValid {
			t.Errorf("before issue: verified=%v reason %q, want %q", res.Verified, res.Reason, idcard.ReasonNotYetValid)
		}
	}
}

// pemFile writes the public key of the simulator's QR signing key as a
// PEM certificate (signed by a throw-away CA) or public key.
func qrPublicKey(t *testing.T, iss issuer) *ecdsa.PublicKey {
	t.Helper()
	set := iss.sim.JWKS()
	for _, k := range set.Key(mosipsim.QRKeyID) {
		if pub, ok := k.Key.(*ecdsa.PublicKey); ok {
			return pub
		}
	}
	t.Fatal("the simulator publishes no QR key")
	return nil
}

func writePEM(t *testing.T, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPEMKeys(t *testing.T) {
	iss := startIssuer(t)
	pub := qrPublicKey(t, iss)
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := selfSigned(ca, pub, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	lapsed, err := selfSigned(ca, pub, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		source string
		want   idcard.Reason
	}{
		{"public key", writePEM(t, "PUBLIC KEY", der), ""},
		{"certificate", writePEM(t, "CERTIFICATE", valid.Raw), ""},
		{"lapsed certificate", writePEM(t, "CERTIFICATE", lapsed.Raw), idcard.ReasonKeyNotValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := mustVerifier(t, nil, tc.source)
			for _, query := range []string{"", "?format=claim169"} {
				res := mustVerify(t, v, iss.print(t, query))
				if res.Verified != (tc.want == "") || res.Reason != tc.want {
					t.Errorf("%q: verified=%v reason %q (%s), want reason %q", query, res.Verified, res.Reason, res.Detail, tc.want)
				}
			}
		})
	}
}

func TestLoadKeysRefusesBadSources(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, _ := x509.MarshalECPrivateKey(priv)
	private, _ := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: "k"})
	privJWK := filepath.Join(t.TempDir(), "private.json")
	if err := os.WriteFile(privJWK, private, 0o600); err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, sources := range map[string][]string{
		"nothing":        nil,
		"missing file":   {filepath.Join(t.TempDir(), "absent.pem")},
		"private PEM":    {writePEM(t, "EC PRIVATE KEY", privDER)},
		"private JWK":    {privJWK},
		"weak RSA":       {writePEM(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&weak.PublicKey))},
		"bad URL":        {"https://"},
		"not a key file": {writePEM(t, "NOTHING", []byte("x"))},
	} {
		if _, err := idcard.LoadKeys(idcard.KeysConfig{Sources: sources}); err == nil {
			t.Errorf("%s: LoadKeys accepted %v", name, sources)
		}
	}
}

// TestKeyRotation: a key the issuer adds to its JWKS after we fetched it
// is found once the JWKS is fetched again, which a code naming an unknown
// key id triggers (at most every 30 s).
func TestKeyRotation(t *testing.T) {
	iss := startIssuer(t)
	var published atomic.Pointer[jose.JSONWebKeySet]
	old, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	published.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &old.PublicKey, KeyID: "old", Algorithm: "ES256", Use: "sig"}}})
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(published.Load())
	}))
	t.Cleanup(jwks.Close)
	clk := &clock{}
	v := mustVerifier(t, clk.now, jwks.URL)

	qr := iss.print(t, "")
	if res := mustVerify(t, v, qr); res.Reason != idcard.ReasonUnknownKey {
		t.Fatalf("before rotation: reason %q, want %q", res.Reason, idcard.ReasonUnknownKey)
	}
	rotated := iss.sim.JWKS()
	rotated.Keys = append(rotated.Keys, published.Load().Keys...)
	published.Store(&rotated)
	if res := mustVerify(t, v, qr); res.Verified {
		t.Fatalf("verified within 30 s of the last fetch: the JWKS was fetched %d times", fetches.Load())
	}
	clk.advance(31 * time.Second)
	if res := mustVerify(t, v, qr); !res.Verified {
		t.Fatalf("after rotation: reason %q (%s)", res.Reason, res.Detail)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
}

func TestKeysUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/jwks.json"
	srv.Close()
	v := mustVerifier(t, nil, url)
	_, err := v.Verify(context.Background(), signJWS(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "k", map[string]any{}))
	if err != nil {
		t.Fatalf("a code refused before any key is needed: %v", err)
	}
	rogue, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err = v.Verify(context.Background(), signJWS(t, jose.ES256, rogue, "k", map[string]any{"iat": time.Now().Unix()}))
	if !errors.Is(err, idcard.ErrKeysUnavailable) {
		t.Fatalf("got %v, want ErrKeysUnavailable", err)
	}
}

// tamperJWS changes the name in the payload and keeps the signature.
func tamperJWS(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(payload, []byte("Jenny"), []byte("Jimmy"), -1)
	if bytes.Equal(changed, payload) {
		t.Fatal("the payload has no name to change")
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(changed)
	return strings.Join(parts, ".")
}

// tamperClaim169 changes the name inside the signed CWT and re-encodes it.
func tamperClaim169(t *testing.T, qr string) string {
	t.Helper()
	compressed := base45Decode(t, qr)
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(data, []byte("Jenny"), []byte("Jimmy"), -1)
	if bytes.Equal(changed, data) {
		t.Fatal("the CWT has no name to change")
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(changed)
	_ = zw.Close()
	return base45Encode(z.Bytes())
}

const b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

func base45Decode(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); i += 3 {
		n := strings.IndexByte(b45, s[i]) + strings.IndexByte(b45, s[i+1])*45
		if i+2 < len(s) {
			n += strings.IndexByte(b45, s[i+2]) * 45 * 45
			out = append(out, byte(n>>8), byte(n))
		} else {
			out = append(out, byte(n))
		}
	}
	return out
}

func base45Encode(data []byte) string {
	var sb strings.Builder
	for i := 0; i+1 < len(data); i += 2 {
		n := int(data[i])<<8 | int(data[i+1])
		sb.WriteByte(b45[n%45])
		sb.WriteByte(b45[n/45%45])
		sb.WriteByte(b45[n/2025])
	}
	if len(data)%2 == 1 {
		n := int(data[len(data)-1])
		sb.WriteByte(b45[n%45])
		sb.WriteByte(b45[n/45])
	}
	return sb.String()
}

func signJWS(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unsignedJWS(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
}
