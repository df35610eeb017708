package mosipsim

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// idaCall is a hand-built IDA request, in mosip-api's form unless a field
// says otherwise.
type idaCall struct {
	uin, idType   string
	demographics  map[string]any
	requestTime   time.Time
	pemX5C        bool // x5c as base64url of the PEM text (mosip-api)
	tamperHMAC    bool
	noSignature   bool
	signer        *mosip.KeyPair
	encryptTo     *rsa.PublicKey
	apiKey        string
	requestedDemo bool
}

func (c idaCall) send(t *testing.T, srv *httptest.Server, s *Sim, partner *mosip.KeyPair) idaAnswer {
	t.Helper()
	if c.signer == nil {
		c.signer = partner
	}
	if c.encryptTo == nil {
		c.encryptTo = &s.ida.key.PublicKey
	}
	if c.idType == "" {
		c.idType = "UIN"
	}
	if c.apiKey == "" {
		c.apiKey = "key"
	}
	if c.requestTime.IsZero() {
		c.requestTime = time.Now()
	}
	plain, _ := json.Marshal(map[string]any{"biometrics": []any{}, "demographics": c.demographics, "otp": "", "timestamp": mosip.FormatTime(c.requestTime)})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	seal := func(p []byte) string {
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCMWithNonceSize(block, 16)
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		return base64.URLEncoding.EncodeToString(append(gcm.Seal(nil, nonce, p, nil), nonce...))
	}
	sum := sha256.Sum256(plain)
	mac := strings.ToUpper(hex.EncodeToString(sum[:]))
	if c.tamperHMAC {
		mac = strings.Repeat("0", 64)
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, c.encryptTo, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp := sha256.Sum256(s.ida.cert.Raw)
	body, _ := json.Marshal(map[string]any{
		"id": "mosip.identity.auth", "version": "1.0", "individualId": c.uin, "individualIdType": c.idType,
		"transactionID": "1234567890", "requestTime": mosip.FormatTime(c.requestTime), "specVersion": "1.0",
		"thumbprint": base64.URLEncoding.EncodeToString(tp[:]), "domainUri": "http://x", "env": "Staging",
		"requestedAuth": map[string]bool{"demo": c.requestedDemo}, "consentObtained": true,
		"request": seal(plain), "requestSessionKey": base64.RawURLEncoding.EncodeToString(wrapped), "requestHMAC": seal([]byte(mac)),
	})
	x5c := base64.StdEncoding.EncodeToString(c.signer.Cert.Raw)
	if c.pemX5C {
		x5c = base64.URLEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.signer.Cert.Raw}))
	}
	hdr, _ := json.Marshal(map[string]any{"alg": "RS256", "x5c": []string{x5c}})
	prot := base64.RawURLEncoding.EncodeToString(hdr)
	digest := sha256.Sum256([]byte(prot + "." + base64.RawURLEncoding.EncodeToString(body)))
	sig, _ := rsa.SignPKCS1v15(nil, c.signer.Key, crypto.SHA256, digest[:])

	req, _ := http.NewRequest(http.MethodPost, srv.URL+PathIDAAuth+"/lk/partner/"+c.apiKey, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Authorization")
	if !c.noSignature {
		req.Header.Set("Signature", prot+".."+base64.RawURLEncoding.EncodeToString(sig))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IDA answered HTTP %d, want 200", resp.StatusCode)
	}
	var ans idaAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	return ans
}

func TestIDAAuth(t *testing.T) {
	t.Parallel()
	partner := testPartner(t)
	s, err := New(Config{PartnerCert: partner.Cert, SeedIdentities: MockIdentities(),
		IDAPartner: &IDAPartner{MISPLicenseKey: "lk", PartnerID: "partner", APIKey: "key", Cert: partner.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	if _, err := s.AddIdentity(SeedIdentity{UIN: "5555555555", Fields: map[string]string{"fullName": `[{"language":"eng","value":"Gone Away"}]`}}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.ids.byUIN["5555555555"].status = IdentityDeactivated
	s.mu.Unlock()

	name := func(v string) []map[string]string { return []map[string]string{{"language": "eng", "value": v}} }
	jenny := map[string]any{"name": name("Jenny Debra Doe"), "dob": "2002/02/01", "gender": name("female")}
	tests := []struct {
		name     string
		call     idaCall
		wantCode string // "" for authenticated
	}{
		{"mosip-api's form: PEM x5c, demo false", idaCall{uin: "1234567891", demographics: jenny, pemX5C: true}, ""},
		{"standard x5c, demo true", idaCall{uin: "1234567891", demographics: jenny, requestedDemo: true}, ""},
		{"gender case", idaCall{uin: "1234567891", demographics: map[string]any{"gender": name("FEMALE")}}, ""},
		{"name without middle name", idaCall{uin: "1234567891", demographics: map[string]any{"name": name("Jenny Doe")}}, "IDA-DEA-001"},
		{"dob", idaCall{uin: "1234567891", demographics: map[string]any{"dob": "2002/01/02"}}, "IDA-DEA-001"},
		{"unknown language", idaCall{uin: "1234567891", demographics: map[string]any{"name": []map[string]string{{"language": "fra", "value": "Jenny"}}}}, "IDA-DEA-003"},
		{"unknown UIN", idaCall{uin: "1000000001", demographics: jenny}, "IDA-MLC-002"},
		{"unknown VID", idaCall{uin: "1000000000000001", idType: "VID", demographics: jenny}, "IDA-MLC-004"},
		{"deactivated UIN", idaCall{uin: "5555555555", demographics: map[string]any{"name": name("Gone Away")}}, "IDA-MLC-003"},
		{"no demographics", idaCall{uin: "1234567891", demographics: map[string]any{}}, "IDA-MLC-008"},
		{"tampered HMAC", idaCall{uin: "1234567891", demographics: jenny, tamperHMAC: true}, "IDA-MPA-016"},
		{"no signature", idaCall{uin: "1234567891", demographics: jenny, noSignature: true}, "IDA-MLC-006"},
		{"stale request", idaCall{uin: "1234567891", demographics: jenny, requestTime: time.Now().Add(-time.Hour)}, "IDA-MLC-001"},
		{"wrong API key", idaCall{uin: "1234567891", demographics: jenny, apiKey: "nope"}, "IDA-MPA-018"},
		{"another signer", idaCall{uin: "1234567891", demographics: jenny, signer: testPartner(t)}, "IDA-MPA-021"},
		{"encrypted to another key", idaCall{uin: "1234567891", demographics: jenny, encryptTo: &testPartner(t).Key.PublicKey}, "IDA-MPA-003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := tt.call.send(t, srv, s, partner)
			if tt.wantCode == "" {
				if !ans.Response.AuthStatus || len(ans.Errors) != 0 || ans.Response.AuthToken == nil {
					t.Errorf("answer %+v, want authStatus true with a token", ans)
				}
				return
			}
			if ans.Response.AuthStatus || len(ans.Errors) == 0 || ans.Errors[0].ErrorCode != tt.wantCode {
				t.Errorf("answer %+v, want authStatus false with %s", ans, tt.wantCode)
			}
		})
	}
}

// testPartner is a fresh partner key pair.
func testPartner(t testing.TB) *mosip.KeyPair {
	t.Helper()
	key, cert, err := selfSigned("test partner")
	if err != nil {
		t.Fatal(err)
	}
	return &mosip.KeyPair{Key: key, Cert: cert}
}
