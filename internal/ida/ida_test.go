package ida_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/ida"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

func mustKeyPair(t testing.TB, cn string) *mosip.KeyPair {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mosip.KeyPair{Key: key, Cert: cert}
}

func mustClient(t testing.TB, url string, idaCert *x509.Certificate, signer *mosip.KeyPair, apiKey string) *ida.Client {
	t.Helper()
	c, err := ida.New(ida.Config{
		AuthURL: url + mosipsim.PathIDAAuth, MISPLicenseKey: "misp-lk", PartnerID: "crvs-partner", APIKey: apiKey,
		DomainURI: "https://ida.example", EncryptCert: idaCert, Signer: signer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var charles = ida.Person{IndividualID: "1234567890", Name: "Charles  Dikkens Doe 2nd", BirthDate: "2008-02-29", Gender: "male"}

// The request the client builds is taken apart with nothing but the
// standard library and IDA's private key, field by field, as IDA would.
func TestRequestDecryptsWithStandardLibrary(t *testing.T) {
	idaKeys := mustKeyPair(t, "ida")
	signer := mustKeyPair(t, "partner")
	type captured struct {
		path   string
		header http.Header
		body   []byte
	}
	got := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- captured{r.URL.Path, r.Header.Clone(), body}
		var req struct {
			TransactionID string `json:"transactionID"`
		}
		_ = json.Unmarshal(body, &req)
		_, _ = io.WriteString(w, `{"id":"mosip.identity.auth","version":"1.0","transactionID":"`+req.TransactionID+`","response":{"authStatus":true,"authToken":"psut"},"errors":null}`)
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, idaKeys.Cert, signer, "api-key")
	out, err := c.Verify(context.Background(), charles, "mother-test")
	if err != nil {
		t.Fatal(err)
	}
	if out.AuthToken != "psut" {
		t.Errorf("auth token = %q, want psut", out.AuthToken)
	}
	req := <-got

	if want := "/idauthentication/v1/auth/misp-lk/crvs-partner/api-key"; req.path != want {
		t.Errorf("path = %q, want %q", req.path, want)
	}
	if req.header.Get("Content-Type") != "application/json" || req.header.Get("Authorization") == "" {
		t.Errorf("headers = %v, want JSON content type and an Authorization header", req.header)
	}

	// Key order as MOSIP's and mosip-api's request.
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(req.body))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	wantKeys := []string{"id", "version", "individualId", "individualIdType", "transactionID", "requestTime", "specVersion",
		"thumbprint", "domainUri", "env", "requestedAuth", "consentObtained", "request", "requestSessionKey", "requestHMAC"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("request keys (-want +got):\n%s", diff)
	}

	var body struct {
		ID, Version, IndividualID, IndividualIDType, SpecVersion, Env string
		TransactionID                                                 string `json:"transactionID"`
		RequestTime                                                   string
		DomainURI                                                     string `json:"domainUri"`
		Thumbprint                                                    string
		RequestedAuth                                                 map[string]bool
		ConsentObtained                                               bool
		Request, RequestSessionKey, RequestHMAC                       string
	}
	if err := json.Unmarshal(req.body, &body); err != nil {
		t.Fatal(err)
	}
	plainFields := map[string][2]string{
		"id": {body.ID, "mosip.identity.auth"}, "version": {body.Version, "1.0"}, "individualId": {body.IndividualID, "1234567890"},
		"individualIdType": {body.IndividualIDType, "UIN"}, "specVersion": {body.SpecVersion, "1.0"}, "env": {body.Env, "Staging"},
		"domainUri": {body.DomainURI, "https://ida.example"},
	}
	for name, v := range plainFields {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", name, v[0], v[1])
		}
	}
	if !regexp.MustCompile(`^[0-9]{10}$`).MatchString(body.TransactionID) || body.TransactionID != out.TransactionID {
		t.Errorf("transactionID = %q (outcome %q), want the same 10 digits", body.TransactionID, out.TransactionID)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", body.RequestTime); err != nil {
		t.Errorf("requestTime %q is not MOSIP's UTC time: %v", body.RequestTime, err)
	}
	if diff := cmp.Diff(map[string]bool{"demo": true, "pin": false, "otp": false, "bio": false}, body.RequestedAuth); diff != "" {
		t.Errorf("requestedAuth (-want +got):\n%s", diff)
	}
	if !body.ConsentObtained {
		t.Error("consentObtained is false")
	}

	// thumbprint: padded base64url of SHA-256 of the IDA certificate (DER).
	if len(body.Thumbprint)%4 != 0 {
		t.Errorf("thumbprint %q is not padded", body.Thumbprint)
	}
	tp, err := base64.URLEncoding.DecodeString(body.Thumbprint)
	if sum := sha256.Sum256(idaKeys.Cert.Raw); err != nil || !bytes.Equal(tp, sum[:]) {
		t.Errorf("thumbprint does not decode to SHA-256 of the IDA certificate (err %v)", err)
	}

	// requestSessionKey: RSA-OAEP-SHA256 of a 32-byte AES key.
	wrapped, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body.RequestSessionKey, "="))
	if err != nil {
		t.Fatalf("requestSessionKey is not base64url: %v", err)
	}
	key, err := rsa.DecryptOAEP(sha256.New(), nil, idaKeys.Key, wrapped, nil)
	if err != nil || len(key) != 32 {
		t.Fatalf("session key: %v (%d bytes), want 32 bytes under RSA-OAEP-SHA256", err, len(key))
	}

	// request and requestHMAC: AES-256-GCM, ciphertext | tag | 16-byte nonce.
	open := func(name, field string) ([]byte, []byte) {
		t.Helper()
		if len(field)%4 != 0 {
			t.Errorf("%s is not padded base64url", name)
		}
		sealed, err := base64.URLEncoding.DecodeString(field)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		gcm, err := cipher.NewGCMWithNonceSize(block, 16)
		if err != nil {
			t.Fatal(err)
		}
		n := len(sealed) - 16
		plain, err := gcm.Open(nil, sealed[n:], sealed[:n], nil)
		if err != nil {
			t.Fatalf("%s does not open with the session key and its trailing 16-byte nonce: %v", name, err)
		}
		return plain, sealed[n:]
	}
	plain, nonce1 := open("request", body.Request)
	hmac, nonce2 := open("requestHMAC", body.RequestHMAC)
	if bytes.Equal(nonce1, nonce2) {
		t.Error("request and requestHMAC share a nonce")
	}
	sum := sha256.Sum256(plain)
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); string(hmac) != want {
		t.Errorf("requestHMAC = %q, want upper-case hex SHA-256 of the request %q", hmac, want)
	}
	var authData map[string]json.RawMessage
	if err := json.Unmarshal(plain, &authData); err != nil {
		t.Fatalf("request plaintext is not JSON: %v", err)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", strings.Trim(string(authData["timestamp"]), `"`)); err != nil {
		t.Errorf("timestamp %s: %v", authData["timestamp"], err)
	}
	if _, ok := authData["otp"]; ok {
		t.Error("auth data carries otp: IDA would try OTP authentication")
	}
	wantDemo := `{"name":[{"language":"eng","value":"Charles Dikkens Doe 2nd"}],"dob":"2008/02/29","gender":[{"language":"eng","value":"male"}]}`
	if got := string(authData["demographics"]); got != wantDemo {
		t.Errorf("demographics = %s\nwant %s", got, wantDemo)
	}

	// Signature: detached RS256 JWS over the exact body, x5c = the signer.
	parts := strings.Split(req.header.Get("Signature"), ".")
	if len(parts) != 3 || parts[1] != "" {
		t.Fatalf("Signature %q is not a detached JWS", req.header.Get("Signature"))
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var jwsHeader struct {
		Alg string   `json:"alg"`
		X5C []string `json:"x5c"`
	}
	if err := json.Unmarshal(hdr, &jwsHeader); err != nil || jwsHeader.Alg != "RS256" || len(jwsHeader.X5C) != 1 {
		t.Fatalf("JWS header %s: want alg RS256 and one x5c", hdr)
	}
	der, err := base64.StdEncoding.DecodeString(jwsHeader.X5C[0])
	if err != nil || !bytes.Equal(der, signer.Cert.Raw) {
		t.Errorf("x5c is not base64 of the signing certificate's DER (err %v)", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString(req.body)))
	if err := rsa.VerifyPKCS1v15(&signer.Key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify over the body: %v", err)
	}
}

func TestMOSIPDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2008-02-29", "2008/02/29"},
		{"2008/02/29", "2008/02/29"},
		{" 1990-01-01 ", "1990/01/01"},
		// The date as written, whatever the offset: no conversion.
		{"1990-01-01T00:00:00.000+14:00", "1990/01/01"},
		{"1990-01-01T23:59:59Z", "1990/01/01"},
		{"2007-02-29", ""},
		{"1990-1-1", ""},
		{"01/01/1990", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ida.MOSIPDate(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("MOSIPDate(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("MOSIPDate(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// simIDA is the MOSIP simulator with IDA's key, the mock identities and a
// registered partner.
func simIDA(t *testing.T, partner *mosip.KeyPair) (*mosipsim.Sim, *httptest.Server, *mosip.KeyPair) {
	t.Helper()
	idaKeys := mustKeyPair(t, "ida")
	sim, err := mosipsim.New(mosipsim.Config{
		PartnerCert: partner.Cert, IDAKey: idaKeys.Key, IDACert: idaKeys.Cert,
		IDAPartner:     &mosipsim.IDAPartner{MISPLicenseKey: "misp-lk", PartnerID: "crvs-partner", APIKey: "api-key", Cert: partner.Cert},
		SeedIdentities: mosipsim.MockIdentities(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return sim, srv, idaKeys
}

// What the client makes of IDA's answers.
func TestVerifyOutcomes(t *testing.T) {
	partner := mustKeyPair(t, "partner")
	sim, srv, idaKeys := simIDA(t, partner)
	good := mustClient(t, srv.URL, idaKeys.Cert, partner, "api-key")
	vid := mustVID(t, sim, "1234567891")

	tests := []struct {
		name     string
		client   *ida.Client
		person   ida.Person
		wantKind ida.Kind // "" for authenticated
		wantCode string
	}{
		{"authenticated", good, charles, "", ""},
		{"by VID", good, ida.Person{IndividualID: vid, Name: "Jenny Debra Doe", BirthDate: "2002-02-01"}, "", ""},
		{"name mismatch", good, ida.Person{IndividualID: "1234567890", Name: "Charles Doe 2nd", BirthDate: "2008-02-29"}, ida.KindNotMatched, ida.CodeDemoMismatch},
		{"unknown UIN", good, ida.Person{IndividualID: "1111111111", Name: "Charles", BirthDate: "2008-02-29"}, ida.KindNotMatched, ida.CodeInvalidUIN},
		{"wrong API key", mustClient(t, srv.URL, idaKeys.Cert, partner, "other-key"), charles, ida.KindRejected, ida.CodeInvalidPolicy},
		{"signed by an unregistered key", mustClient(t, srv.URL, idaKeys.Cert, mustKeyPair(t, "intruder"), "api-key"), charles, ida.KindRejected, ida.CodeCertNotMatched},
		{"encrypted to another certificate", mustClient(t, srv.URL, mustKeyPair(t, "not ida").Cert, partner, "api-key"), charles, ida.KindRejected, ida.CodeDecryptFailed},
		{"bad date", good, ida.Person{IndividualID: "1234567890", Name: "Charles", BirthDate: "29/02/2008"}, ida.KindInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Verify(context.Background(), tt.person, "")
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want authenticated", err)
				}
				return
			}
			var e *ida.Error
			if !errors.As(err, &e) || e.Kind != tt.wantKind {
				t.Fatalf("Verify error = %v, want kind %s", err, tt.wantKind)
			}
			if tt.wantCode != "" && !slices.Contains(e.Codes(), tt.wantCode) {
				t.Errorf("codes = %v, want %s", e.Codes(), tt.wantCode)
			}
			if strings.Contains(err.Error(), "Charles") || strings.Contains(err.Error(), "2008") {
				t.Errorf("error %q shows personal data", err)
			}
		})
	}
}

// mustVID is the VID the simulator gave a seeded identity.
func mustVID(t *testing.T, sim *mosipsim.Sim, uin string) string {
	t.Helper()
	v, ok := sim.Identity(uin)
	if !ok || len(v.VID) != 16 {
		t.Fatalf("identity %s: %+v, want one with a 16-digit VID", uin, v)
	}
	return v.VID
}

// Answers that say nothing about the person are KindUnavailable (retry)
// or KindRejected.
func TestVerifyWithoutUsableAnswer(t *testing.T) {
	partner := mustKeyPair(t, "partner")
	idaKeys := mustKeyPair(t, "ida")
	tests := []struct {
		name   string
		status int
		body   string
		want   ida.Kind
	}{
		{"HTTP 500", 500, `{"status":500,"error":"Internal Server Error"}`, ida.KindUnavailable},
		{"HTTP 503 text", 503, "503 Service Temporarily Unavailable", ida.KindUnavailable},
		{"HTML 200", 200, "<html>proxy</html>", ida.KindUnavailable},
		{"no authStatus", 200, `{"response":null,"errors":null}`, ida.KindUnavailable},
		{"answer for another transaction", 200, `{"transactionID":"0000000000","response":{"authStatus":true},"errors":[]}`, ida.KindUnavailable},
		{"HTTP 401", 401, `Unauthorized`, ida.KindRejected},
		{"authStatus false without errors", 200, `{"transactionID":"{tx}","response":{"authStatus":false},"errors":[]}`, ida.KindNotMatched},
		{"request errors", 200, `{"response":{"authStatus":false},"errors":[{"errorCode":"IDA-MPA-001","errorMessage":"Digital signature verification failed for signature header"}]}`, ida.KindRejected},
		{"mixed errors", 200, `{"errors":[{"errorCode":"IDA-DEA-001"},{"errorCode":"IDA-MLC-001"}]}`, ida.KindRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct {
					TransactionID string `json:"transactionID"`
				}
				_ = json.NewDecoder(r.Body).Decode(&req)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, strings.ReplaceAll(tt.body, "{tx}", req.TransactionID)) // IDA echoes it
			}))
			defer srv.Close()
			_, err := mustClient(t, srv.URL, idaKeys.Cert, partner, "k").Verify(context.Background(), charles, "")
			var e *ida.Error
			if !errors.As(err, &e) || e.Kind != tt.want {
				t.Errorf("Verify error = %v, want kind %s", err, tt.want)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := mustClient(t, url, idaKeys.Cert, partner, "SECRET-APIKEY-123").Verify(context.Background(), charles, "")
		var e *ida.Error
		if !errors.As(err, &e) || e.Kind != ida.KindUnavailable || e.StatusCode != 0 {
			t.Errorf("Verify error = %v, want KindUnavailable without status", err)
		}
		// The URL carries the partner's keys: the error must not.
		if err != nil && strings.Contains(err.Error(), "SECRET-APIKEY-123") {
			t.Errorf("the error shows the partner API key: %v", err)
		}
	})
}
