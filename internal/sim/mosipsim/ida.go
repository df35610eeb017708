package mosipsim

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// PathIDAAuth is IDA's authentication endpoint; the MISP license key,
// partner id and API key follow it as path segments.
const PathIDAAuth = "/idauthentication/v1/auth"

// IDAPartner is the authentication partner IDA accepts, as MOSIP's partner
// management registers it.
type IDAPartner struct {
	MISPLicenseKey string
	PartnerID      string
	APIKey         string
	// Cert is the partner's signing certificate: the Signature header must
	// carry it and verify with it. nil: any certificate whose key verifies
	// the signature.
	Cert *x509.Certificate
}

// MockIdentity is one entry of OpenCRVS's mock-identities.json.
type MockIdentity struct {
	FirstName  string `json:"firstName"`
	MiddleName string `json:"middleName"`
	FamilyName string `json:"familyName"`
	BirthDate  string `json:"birthDate"` // YYYY-MM-DD
	Gender     string `json:"gender"`
	NID        string `json:"nid"`
}

// LoadMockIdentities reads a mock-identities.json file (a JSON array of
// MockIdentity).
func LoadMockIdentities(path string) ([]MockIdentity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mosipsim: mock identities: %w", err)
	}
	var ids []MockIdentity
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("mosipsim: mock identities %s: want a JSON array of {firstName, middleName, familyName, birthDate, gender, nid}: %w", path, err)
	}
	return ids, nil
}

// Seed is the identity the ID repository holds for m: UIN = nid, fields
// fullName (given, middle and family name), firstName, middleName,
// lastName, gender (simpleType, language eng) and dateOfBirth (YYYY/MM/DD).
func (m MockIdentity) Seed() SeedIdentity {
	simple := func(v string) string {
		b, _ := json.Marshal([]map[string]string{{"language": "eng", "value": v}})
		return string(b)
	}
	full := strings.Join(strings.Fields(m.FirstName+" "+m.MiddleName+" "+m.FamilyName), " ")
	fields := map[string]string{
		"fullName":    simple(full),
		"firstName":   simple(m.FirstName),
		"lastName":    simple(m.FamilyName),
		"dateOfBirth": strings.ReplaceAll(m.BirthDate, "-", "/"),
	}
	if m.MiddleName != "" {
		fields["middleName"] = simple(m.MiddleName)
	}
	if g := strings.TrimSpace(m.Gender); g != "" {
		fields["gender"] = simple(strings.ToUpper(g[:1]) + strings.ToLower(g[1:]))
	}
	return SeedIdentity{UIN: m.NID, Fields: fields}
}

// idaState is the IDA side of the simulator.
type idaState struct {
	key        *rsa.PrivateKey
	cert       *x509.Certificate
	thumbprint [32]byte
	partner    *IDAPartner
	window     time.Duration

	authenticated, notMatched, refused atomic.Int64
}

// initIDA sets up IDA's key and seeds the identities. Called by New.
func (s *Sim) initIDA() error {
	st := &s.ida
	st.key, st.cert, st.partner, st.window = s.cfg.IDAKey, s.cfg.IDACert, s.cfg.IDAPartner, s.cfg.IDARequestWindow
	if st.window <= 0 {
		st.window = 10 * time.Minute
	}
	switch {
	case st.key == nil && st.cert == nil:
		key, cert, err := selfSigned("MOSIP IDA partner (simulator)")
		if err != nil {
			return fmt.Errorf("mosipsim: IDA key: %w", err)
		}
		st.key, st.cert = key, cert
	case st.key == nil || st.cert == nil:
		return errors.New("mosipsim: give both Config.IDAKey and Config.IDACert, or neither")
	default:
		pub, ok := st.cert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&st.key.PublicKey) {
			return errors.New("mosipsim: Config.IDACert does not hold the public key of Config.IDAKey")
		}
	}
	st.thumbprint = sha256.Sum256(st.cert.Raw)
	for i, m := range s.cfg.SeedIdentities {
		if _, err := s.AddIdentity(m.Seed()); err != nil {
			return fmt.Errorf("mosipsim: seed identity %d: %w", i, err)
		}
	}
	return nil
}

// IDACertificate is the certificate IDA auth requests are encrypted to
// (the mediator's ENCRYPT_CERT_PATH).
func (s *Sim) IDACertificate() *x509.Certificate { return s.ida.cert }

// IDACertificatePEM is IDACertificate as PEM, as GET /sim/ida/certificate
// serves it.
func (s *Sim) IDACertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ida.cert.Raw})
}

func (s *Sim) handleIDACertificate(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.IDACertificatePEM())
}

func selfSigned(cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"mosipsim"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// IDA answer envelope.
const (
	idaResponseID = "mosip.identity.auth"
	idaVersion    = "1.0"
)

// idaError is one IDA error with its action message.
type idaError struct {
	ErrorCode     string `json:"errorCode"`
	ErrorMessage  string `json:"errorMessage"`
	ActionMessage string `json:"actionMessage,omitempty"`
}

type idaAnswer struct {
	ID            string         `json:"id"`
	Version       string         `json:"version"`
	TransactionID *string        `json:"transactionID"`
	ResponseTime  string         `json:"responseTime"`
	Response      idaAuthResult  `json:"response"`
	Errors        []idaError     `json:"errors"`
	Metadata      map[string]any `json:"metadata"`
}

type idaAuthResult struct {
	AuthStatus bool    `json:"authStatus"`
	AuthToken  *string `json:"authToken"`
}

// idaRequest is the outer (plaintext) auth request.
type idaRequest struct {
	ID               string `json:"id"`
	Version          string `json:"version"`
	IndividualID     string `json:"individualId"`
	IndividualIDType string `json:"individualIdType"`
	TransactionID    string `json:"transactionID"`
	RequestTime      string `json:"requestTime"`
	Thumbprint       string `json:"thumbprint"`
	RequestedAuth    *struct {
		Demo, Pin, OTP, Bio bool
	} `json:"requestedAuth"`
	ConsentObtained   *bool  `json:"consentObtained"`
	Request           string `json:"request"`
	RequestSessionKey string `json:"requestSessionKey"`
	RequestHMAC       string `json:"requestHMAC"`
}

type idaLangValue struct {
	Language string `json:"language"`
	Value    string `json:"value"`
}

// idaAuthData is the decrypted "request".
type idaAuthData struct {
	Timestamp    string `json:"timestamp"`
	Demographics *struct {
		Name   []idaLangValue `json:"name"`
		DOB    string         `json:"dob"`
		Gender []idaLangValue `json:"gender"`
	} `json:"demographics"`
	OTP        string            `json:"otp"`
	Biometrics []json.RawMessage `json:"biometrics"`
}

var idaTransactionID = regexp.MustCompile(`^[0-9]{10}$`)

// idaFail builds IDA errors.
func idaFail(code, msg, action string) []idaError {
	return []idaError{{ErrorCode: code, ErrorMessage: msg, ActionMessage: action}}
}

// handleIDAAuth is IDA's POST /idauthentication/v1/auth/{mispLK}/{partnerId}/{apiKey}:
// signature, partner, decryption, HMAC and request checks as IDA's auth
// filter does them, then a demographic match against the ID repository.
// Like IDA it answers HTTP 200 with authStatus and errors.
func (s *Sim) handleIDAAuth(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		s.idaAnswer(w, "", idaFail("IDA-MLC-007", "Request could not be processed. Please try again", ""))
		return
	}
	var req idaRequest
	_ = json.Unmarshal(body, &req) // checked field by field below
	txID := req.TransactionID
	if errs := s.idaCheckRequest(r, body, &req); errs != nil {
		s.idaAnswer(w, txID, errs)
		return
	}
	data, errs := s.idaDecrypt(&req)
	if errs != nil {
		s.idaAnswer(w, txID, errs)
		return
	}
	if errs := s.idaMatch(&req, data); errs != nil {
		s.idaAnswer(w, txID, errs)
		return
	}
	s.idaAnswer(w, txID, nil)
}

// idaCheckRequest runs the checks IDA makes before decrypting.
func (s *Sim) idaCheckRequest(r *http.Request, body []byte, req *idaRequest) []idaError {
	if strings.TrimSpace(r.Header.Get("Authorization")) == "" {
		return idaFail("IDA-MLC-006", "Missing Input Parameter - Authorization - header", "")
	}
	if errs := s.idaCheckSignature(r.Header.Get("Signature"), body); errs != nil {
		return errs
	}
	if p := s.ida.partner; p != nil {
		switch {
		case r.PathValue("mispLK") != p.MISPLicenseKey:
			return idaFail("IDA-MPA-007", "License key does not belong to a registered MISP", "")
		case r.PathValue("partnerId") != p.PartnerID:
			return idaFail("IDA-MPA-009", "Partner is not registered", "")
		case r.PathValue("apiKey") != p.APIKey:
			return idaFail("IDA-MPA-018", "Policy ID does not belong to a registered Partner", "")
		}
	}
	if !json.Valid(body) {
		return idaFail("IDA-MLC-007", "Request could not be processed. Please try again", "")
	}
	missing := func(name string) []idaError {
		return idaFail("IDA-MLC-006", "Missing Input Parameter - "+name, "")
	}
	invalid := func(name string) []idaError {
		return idaFail("IDA-MLC-009", "Invalid Input Parameter - "+name, "")
	}
	switch {
	case req.ID == "":
		return missing("id")
	case req.ID != "mosip.identity.auth":
		return invalid("id")
	case req.IndividualID == "":
		return missing("individualId")
	case req.IndividualIDType != "UIN" && req.IndividualIDType != "VID":
		return invalid("individualIdType")
	case req.TransactionID == "":
		return missing("transactionID")
	case !idaTransactionID.MatchString(req.TransactionID):
		return invalid("transactionID")
	case req.RequestTime == "":
		return missing("requestTime")
	case req.ConsentObtained == nil || !*req.ConsentObtained:
		return idaFail("IDA-MLC-012", "Individual's Consent is not available", "")
	case req.Request == "":
		return missing("request")
	case req.RequestSessionKey == "":
		return missing("requestSessionKey")
	case req.RequestHMAC == "":
		return missing("requestHMAC")
	}
	at, err := time.Parse(time.RFC3339Nano, req.RequestTime)
	if err != nil {
		return invalid("requestTime")
	}
	if d := s.now().Sub(at); d > s.ida.window || d < -s.ida.window {
		secs := strconv.Itoa(int(s.ida.window / time.Second))
		return idaFail("IDA-MLC-001", "Request to be received at MOSIP within "+secs+" seconds",
			"Please send the request within "+secs+" seconds")
	}
	return nil
}

// idaCheckSignature verifies the Signature header: a JWS (detached, or
// with the body as payload) signed RS256 by the certificate in its x5c.
func (s *Sim) idaCheckSignature(sig string, body []byte) []idaError {
	sig = strings.TrimSpace(sig)
	failed := idaFail("IDA-MPA-001", "Digital signature verification failed for signature header", "")
	if sig == "" {
		return idaFail("IDA-MLC-006", "Missing Input Parameter - signature header", "")
	}
	parts := strings.Split(sig, ".")
	if len(parts) != 3 {
		return failed
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	if parts[1] != "" && parts[1] != payload {
		return failed
	}
	headerJSON, err := decodeB64(parts[0])
	if err != nil {
		return failed
	}
	var header struct {
		Alg string   `json:"alg"`
		X5C []string `json:"x5c"`
	}
	if json.Unmarshal(headerJSON, &header) != nil || header.Alg != "RS256" {
		return failed
	}
	if len(header.X5C) == 0 {
		return idaFail("IDA-MPA-022", "Partner (Auth) Certificate not found in Request signature header.", "")
	}
	cert, err := parseX5C(header.X5C[0])
	if err != nil {
		return idaFail("IDA-MPA-002", "Invalid certificate in digital signature", "")
	}
	if p := s.ida.partner; p != nil && p.Cert != nil && !p.Cert.Equal(cert) {
		return idaFail("IDA-MPA-021", "Partner (Auth) Certificate not matching with signature header certificate.", "")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return idaFail("IDA-MPA-002", "Invalid certificate in digital signature", "")
	}
	rawSig, err := decodeB64(parts[2])
	if err != nil {
		return failed
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + payload))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], rawSig) != nil {
		return failed
	}
	return nil
}

// parseX5C reads an x5c entry: base64 (either alphabet) of the DER, as
// RFC 7515 says, or of the PEM text, as mosip-api sends it.
func parseX5C(v string) (*x509.Certificate, error) {
	raw, err := decodeB64(v)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(raw); block != nil {
		raw = block.Bytes
	}
	return x509.ParseCertificate(raw)
}

// decodeB64 accepts standard or URL-safe base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// idaDecrypt checks the thumbprint, unwraps the session key, decrypts the
// auth data and checks its HMAC.
func (s *Sim) idaDecrypt(req *idaRequest) (*idaAuthData, []idaError) {
	undecryptable := idaFail("IDA-MPA-003", "Unable to decrypt Request", "")
	if req.Thumbprint != "" {
		tp, err := decodeB64(req.Thumbprint)
		if err != nil || subtle.ConstantTimeCompare(tp, s.ida.thumbprint[:]) != 1 {
			return nil, undecryptable
		}
	}
	wrapped, err := decodeB64(req.RequestSessionKey)
	if err != nil {
		return nil, undecryptable
	}
	key, err := rsa.DecryptOAEP(sha256.New(), nil, s.ida.key, wrapped, nil)
	if err != nil || len(key) != 32 {
		return nil, undecryptable
	}
	open := func(field string) ([]byte, bool) {
		sealed, err := decodeB64(field)
		if err != nil || len(sealed) < 32 {
			return nil, false
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, false
		}
		gcm, err := cipher.NewGCMWithNonceSize(block, 16)
		if err != nil {
			return nil, false
		}
		n := len(sealed) - 16
		plain, err := gcm.Open(nil, sealed[n:], sealed[:n], nil)
		return plain, err == nil
	}
	plain, ok := open(req.Request)
	if !ok {
		return nil, undecryptable
	}
	mac, ok := open(req.RequestHMAC)
	if !ok {
		return nil, undecryptable
	}
	sum := sha256.Sum256(plain)
	if !bytes.Equal(mac, []byte(strings.ToUpper(hex.EncodeToString(sum[:])))) {
		return nil, idaFail("IDA-MPA-016", "HMAC Validation failed", "")
	}
	var data idaAuthData
	if err := json.Unmarshal(plain, &data); err != nil {
		return nil, idaFail("IDA-MLC-009", "Invalid Input Parameter - request", "")
	}
	return &data, nil
}

// idaMatch finds the identity and compares the demographics the request
// gives, as IDA's exact match does (case and spacing aside).
func (s *Sim) idaMatch(req *idaRequest, data *idaAuthData) []idaError {
	demo := data.Demographics
	hasDemo := demo != nil && (len(demo.Name) > 0 || demo.DOB != "" || len(demo.Gender) > 0)
	if !hasDemo {
		if req.RequestedAuth != nil && (req.RequestedAuth.OTP || req.RequestedAuth.Bio || req.RequestedAuth.Pin) {
			return idaFail("IDA-MLC-011", "Unsupported Authentication Type - otp/bio/pin",
				"Please use other Authentication Types in the request")
		}
		return idaFail("IDA-MLC-008", "No authentication type selected", "")
	}
	s.mu.Lock()
	var id *identity
	if req.IndividualIDType == "VID" {
		id = s.ids.byVID[req.IndividualID]
	} else {
		id = s.ids.byUIN[req.IndividualID]
	}
	var status string
	fields := map[string]string{}
	if id != nil {
		status = id.status
		for _, f := range []string{"fullName", "dateOfBirth", "gender"} {
			fields[f] = id.fields[f]
		}
	}
	s.mu.Unlock()
	switch {
	case id == nil && req.IndividualIDType == "VID":
		return idaFail("IDA-MLC-004", "Invalid VID", "Please retry with correct VID")
	case id == nil:
		return idaFail("IDA-MLC-002", "Invalid UIN", "Please retry with the correct UIN")
	case status == IdentityDeactivated && req.IndividualIDType == "VID":
		return idaFail("IDA-MLC-010", "VID corresponding to a deactivated UIN", "")
	case status == IdentityDeactivated:
		return idaFail("IDA-MLC-003", "UIN has been deactivated", "Your UIN status is not active")
	case status == IdentityBlocked:
		return idaFail("IDA-MLC-022", "UIN is deactivated/blocked", "")
	}
	var errs []idaError
	langAttr := func(attr, field string, given []idaLangValue) {
		for _, g := range given {
			stored, ok := langValueOf(fields[field], g.Language)
			switch {
			case !ok:
				errs = append(errs, idaError{ErrorCode: "IDA-DEA-003",
					ErrorMessage: fmt.Sprintf("Demographic data %s in %s not available in database", attr, g.Language)})
			case normaliseDemo(stored) != normaliseDemo(g.Value):
				errs = append(errs, idaError{ErrorCode: "IDA-DEA-001",
					ErrorMessage:  fmt.Sprintf("Demographic data %s in %s did not match", attr, g.Language),
					ActionMessage: fmt.Sprintf("Please re-enter your %s in %s", attr, g.Language)})
			}
		}
	}
	langAttr("name", "fullName", demo.Name)
	if demo.DOB != "" {
		stored := strings.ReplaceAll(strings.TrimSpace(fields["dateOfBirth"]), "-", "/")
		switch {
		case stored == "":
			errs = append(errs, idaError{ErrorCode: "IDA-DEA-003", ErrorMessage: "Demographic data dob not available in database"})
		case stored != strings.TrimSpace(demo.DOB):
			errs = append(errs, idaError{ErrorCode: "IDA-DEA-001", ErrorMessage: "Demographic data dob did not match",
				ActionMessage: "Please re-enter your dob"})
		}
	}
	langAttr("gender", "gender", demo.Gender)
	return errs
}

// langValueOf reads a field's value in a language: a simpleType list
// (the entry of that language) or a plain string (any language).
func langValueOf(field, lang string) (string, bool) {
	if field == "" {
		return "", false
	}
	list, ok := parseSimple(field)
	if !ok {
		return field, true
	}
	for _, e := range list {
		if strings.EqualFold(*e.Language, lang) {
			return *e.Value, true
		}
	}
	return "", false
}

// idaAnswer writes IDA's answer (HTTP 200 for success and failure alike).
func (s *Sim) idaAnswer(w http.ResponseWriter, txID string, errs []idaError) {
	ans := idaAnswer{ID: idaResponseID, Version: idaVersion, ResponseTime: mosip.FormatTime(s.now())}
	if txID != "" {
		ans.TransactionID = &txID
	}
	switch {
	case len(errs) > 0:
		ans.Errors = errs
		if strings.HasPrefix(errs[0].ErrorCode, "IDA-DEA-") || errs[0].ErrorCode == "IDA-MLC-002" || errs[0].ErrorCode == "IDA-MLC-004" {
			s.ida.notMatched.Add(1)
		} else {
			s.ida.refused.Add(1)
		}
		s.log.Info("mosipsim: ida auth failed", "transaction_id", txID, "code", errs[0].ErrorCode)
	default:
		token := newUUID()
		ans.Response = idaAuthResult{AuthStatus: true, AuthToken: &token}
		s.ida.authenticated.Add(1)
		s.log.Debug("mosipsim: ida auth succeeded", "transaction_id", txID)
	}
	writeJSON(w, http.StatusOK, ans)
}

// IDAStats counts IDA answers.
type IDAStats struct {
	Authenticated int64 `json:"authenticated"`
	NotMatched    int64 `json:"notMatched"`
	Refused       int64 `json:"refused"`
}

// IDAStats returns the IDA answer counts.
func (s *Sim) IDAStats() IDAStats {
	return IDAStats{Authenticated: s.ida.authenticated.Load(), NotMatched: s.ida.notMatched.Load(), Refused: s.ida.refused.Load()}
}

func (s *Sim) handleIDAStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.IDAStats())
}

//go:embed mock-identities.json
var mockIdentitiesJSON []byte

// MockIdentities returns the identities of OpenCRVS's mock-identities.json
// (110 people, NIDs 1234567890 to 1234567999), which `dev` seeds.
func MockIdentities() []MockIdentity {
	var ids []MockIdentity
	if err := json.Unmarshal(mockIdentitiesJSON, &ids); err != nil {
		panic("mosipsim: embedded mock-identities.json: " + err.Error())
	}
	return ids
}
