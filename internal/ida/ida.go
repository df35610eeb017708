package ida

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Values of the request envelope that MOSIP fixes.
const (
	RequestID   = "mosip.identity.auth"
	Version     = "1.0"
	SpecVersion = "1.0"
	// DefaultEnv is the env mosip-api sends; IDA checks it against
	// mosip.ida.allowed.environments.
	DefaultEnv = "Staging"
	// DefaultLanguage is the ISO 639-3 code of names and genders. OpenCRVS
	// 1.8 bundles say "en", which IDA does not know.
	DefaultLanguage = "eng"
)

// Individual id types.
const (
	IDTypeUIN = "UIN"
	IDTypeVID = "VID"
)

// vidLength is MOSIP's default VID length (mosip.kernel.vid.length); UINs
// are 10 digits by default. A 16-digit number is sent as a VID.
const vidLength = 16

// maxResponseBytes bounds the answer read; IDA answers are about 1 KiB.
const maxResponseBytes = 1 << 20

// Config configures a Client.
type Config struct {
	// AuthURL is IDA's auth endpoint without the partner path
	// (IDA_AUTH_URL, e.g. https://api-internal.example/idauthentication/v1/auth).
	AuthURL string
	// MISPLicenseKey, PartnerID and APIKey are the path segments after it
	// (PARTNER_MISP_LK, PARTNER_ID, PARTNER_APIKEY).
	MISPLicenseKey string
	PartnerID      string
	APIKey         string
	// DomainURI is sent as domainUri (IDA_AUTH_DOMAIN_URI).
	DomainURI string
	// Env is sent as env (default DefaultEnv).
	Env string
	// Language is the language of names and genders (default DefaultLanguage).
	Language string
	// EncryptCert is the IDA partner certificate the session key is
	// encrypted to (ENCRYPT_CERT_PATH). Required.
	EncryptCert *x509.Certificate
	// Signer signs requests (SIGN_P12_FILE_PATH). Required.
	Signer *mosip.KeyPair

	HTTPClient *http.Client     // nil: a client with a 30 s timeout
	Logger     *slog.Logger     // nil: discard
	Now        func() time.Time // nil: time.Now
}

// Client sends demographic authentication requests to IDA. It is safe for
// concurrent use. It does not retry: an *Error of KindUnavailable tells the
// caller to try again.
type Client struct {
	cfg      Config
	endpoint string
	pub      *rsa.PublicKey
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	x5c      string
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.AuthURL == "" {
		return nil, errors.New("ida: AuthURL is required (IDA_AUTH_URL)")
	}
	u, err := url.Parse(cfg.AuthURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ida: AuthURL %q is not an http(s) URL", cfg.AuthURL)
	}
	for _, p := range []struct{ name, v string }{
		{"MISPLicenseKey (PARTNER_MISP_LK)", cfg.MISPLicenseKey},
		{"PartnerID (PARTNER_ID)", cfg.PartnerID},
		{"APIKey (PARTNER_APIKEY)", cfg.APIKey},
	} {
		if strings.TrimSpace(p.v) == "" {
			return nil, fmt.Errorf("ida: %s is required", p.name)
		}
	}
	if cfg.EncryptCert == nil {
		return nil, errors.New("ida: EncryptCert is required (ENCRYPT_CERT_PATH)")
	}
	pub, ok := cfg.EncryptCert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ida: the IDA partner certificate's key is %T, want RSA", cfg.EncryptCert.PublicKey)
	}
	if cfg.Signer == nil || cfg.Signer.Key == nil || cfg.Signer.Cert == nil {
		return nil, errors.New("ida: Signer with a key and a certificate is required (SIGN_P12_FILE_PATH)")
	}
	if cfg.Env == "" {
		cfg.Env = DefaultEnv
	}
	if cfg.Language == "" {
		cfg.Language = DefaultLanguage
	}
	c := &Client{
		cfg: cfg, pub: pub, http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now,
		endpoint: strings.TrimRight(cfg.AuthURL, "/") + "/" + url.PathEscape(cfg.MISPLicenseKey) +
			"/" + url.PathEscape(cfg.PartnerID) + "/" + url.PathEscape(cfg.APIKey),
		x5c: x5cOf(cfg.Signer.Cert),
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Person is who is to be authenticated. IndividualID is required, and at
// least one demographic.
type Person struct {
	// IndividualID is the UIN or VID.
	IndividualID string
	// IDType is IDTypeUIN or IDTypeVID; empty: VID for a 16-digit number
	// (MOSIP's default VID length), UIN otherwise.
	IDType string
	// Name is the full name as the ID holds it: given names, middle names
	// and family name, space separated.
	Name string
	// BirthDate is YYYY-MM-DD (or YYYY/MM/DD; a date-time's time is
	// ignored, never converted).
	BirthDate string
	// Gender as OpenCRVS records it (male, female, ...).
	Gender string
}

// Outcome is IDA's positive answer.
type Outcome struct {
	// TransactionID is the 10-digit transaction id the request carried.
	TransactionID string
	// AuthToken is IDA's partner-specific user token, when it sent one.
	AuthToken string
}

// Wire shapes.
type (
	langValue struct {
		Language string `json:"language"`
		Value    string `json:"value"`
	}
	demographics struct {
		Name   []langValue `json:"name,omitempty"`
		DOB    string      `json:"dob,omitempty"`
		Gender []langValue `json:"gender,omitempty"`
	}
	// authData is the plaintext of "request". otp and biometrics are left
	// out: recent IDA derives the auth types from what is present.
	authData struct {
		Timestamp    string       `json:"timestamp"`
		Demographics demographics `json:"demographics"`
	}
	requestedAuth struct {
		Demo bool `json:"demo"`
		Pin  bool `json:"pin"`
		OTP  bool `json:"otp"`
		Bio  bool `json:"bio"`
	}
	authRequest struct {
		ID                string        `json:"id"`
		Version           string        `json:"version"`
		IndividualID      string        `json:"individualId"`
		IndividualIDType  string        `json:"individualIdType"`
		TransactionID     string        `json:"transactionID"`
		RequestTime       string        `json:"requestTime"`
		SpecVersion       string        `json:"specVersion"`
		Thumbprint        string        `json:"thumbprint"`
		DomainURI         string        `json:"domainUri"`
		Env               string        `json:"env"`
		RequestedAuth     requestedAuth `json:"requestedAuth"`
		ConsentObtained   bool          `json:"consentObtained"`
		Request           string        `json:"request"`
		RequestSessionKey string        `json:"requestSessionKey"`
		RequestHMAC       string        `json:"requestHMAC"`
	}
	authResponse struct {
		ID            string `json:"id"`
		TransactionID string `json:"transactionID"`
		Response      *struct {
			AuthStatus *bool  `json:"authStatus"`
			AuthToken  string `json:"authToken"`
		} `json:"response"`
		Errors []ServiceError `json:"errors"`
	}
)

// built is a request ready to send.
type built struct {
	body          []byte
	signature     string
	transactionID string
}

// build makes the request body and its Signature header.
func (c *Client) build(p Person) (*built, error) {
	id := strings.TrimSpace(p.IndividualID)
	if id == "" {
		return nil, invalid("the individual id is empty")
	}
	idType := p.IDType
	switch idType {
	case "":
		idType = IDTypeUIN
		if len(id) == vidLength {
			idType = IDTypeVID
		}
	case IDTypeUIN, IDTypeVID:
	default:
		return nil, invalid("id type must be UIN or VID")
	}
	var demo demographics
	if name := strings.Join(strings.Fields(p.Name), " "); name != "" {
		demo.Name = []langValue{{Language: c.cfg.Language, Value: name}}
	}
	if p.BirthDate != "" {
		dob, err := MOSIPDate(p.BirthDate)
		if err != nil {
			return nil, err
		}
		demo.DOB = dob
	}
	if g := strings.TrimSpace(p.Gender); g != "" {
		demo.Gender = []langValue{{Language: c.cfg.Language, Value: g}}
	}
	if demo.Name == nil && demo.DOB == "" && demo.Gender == nil {
		return nil, invalid("no name, date of birth or gender to compare")
	}
	txID, err := transactionID()
	if err != nil {
		return nil, err
	}
	now := mosip.FormatTime(c.now())
	plain, err := json.Marshal(authData{Timestamp: now, Demographics: demo})
	if err != nil {
		return nil, fmt.Errorf("ida: encode auth data: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("ida: session key: %w", err)
	}
	encRequest, err := seal(key, plain)
	if err != nil {
		return nil, err
	}
	encHMAC, err := seal(key, []byte(hashHex(plain)))
	if err != nil {
		return nil, err
	}
	sessionKey, err := rsa.EncryptOAEP(sha256New(), rand.Reader, c.pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("ida: encrypt session key: %w", err)
	}
	req := authRequest{
		ID: RequestID, Version: Version, IndividualID: id, IndividualIDType: idType,
		TransactionID: txID, RequestTime: now, SpecVersion: SpecVersion,
		Thumbprint: b64Padded(thumbprint(c.cfg.EncryptCert)), DomainURI: c.cfg.DomainURI, Env: c.cfg.Env,
		RequestedAuth:   requestedAuth{Demo: true},
		ConsentObtained: true,
		Request:         b64Padded(encRequest),
		// Unpadded as mosip-api sends it; IDA's URL decoder takes both.
		RequestSessionKey: b64Raw(sessionKey),
		RequestHMAC:       b64Padded(encHMAC),
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("ida: encode request: %w", err)
	}
	sig, err := signDetached(c.cfg.Signer.Key, c.x5c, body)
	if err != nil {
		return nil, err
	}
	return &built{body: body, signature: sig, transactionID: txID}, nil
}

// Verify asks IDA whether p's demographics match the identity of p's
// IndividualID. It returns the outcome when IDA authenticated the person,
// else an *Error: KindNotMatched (a definite no), KindRejected (IDA refused
// the request: fix the configuration) or KindUnavailable (try later), or a
// KindInvalid error for an unusable p. ref is the caller's reference for
// logs (e.g. "mother-<eventId>"); it must not be personal data.
func (c *Client) Verify(ctx context.Context, p Person, ref string) (*Outcome, error) {
	b, err := c.build(p)
	if err != nil {
		return nil, err
	}
	log := c.log.With("ida_transaction_id", b.transactionID)
	if ref != "" {
		log = log.With("ref", ref)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(b.body))
	if err != nil {
		return nil, fmt.Errorf("ida: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Signature", b.signature)
	// IDA requires an Authorization header (a consent token it does not
	// read for partner auth); mosip-api sends this placeholder.
	req.Header.Set("Authorization", "Authorization")

	resp, err := c.http.Do(req)
	if err != nil {
		err = withoutURL(err) // the URL holds the partner's license and API keys
		log.WarnContext(ctx, "ida: no answer", "err", err)
		return nil, &Error{Kind: KindUnavailable, TransactionID: b.transactionID, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &Error{Kind: KindUnavailable, TransactionID: b.transactionID, StatusCode: resp.StatusCode, Err: fmt.Errorf("read answer: %w", withoutURL(err))}
	}
	out, verr := c.read(resp.StatusCode, raw, b.transactionID)
	if verr != nil {
		var e *Error
		if errors.As(verr, &e) {
			log.InfoContext(ctx, "ida: not authenticated", "kind", string(e.Kind), "status", resp.StatusCode, "codes", e.Codes())
		}
		return nil, verr
	}
	log.InfoContext(ctx, "ida: authenticated")
	return out, nil
}

// withoutURL keeps a transport error's cause and drops the request URL that
// net/http puts in its text: IDA's URL carries the partner's MISP license
// key and API key, which must not reach logs or answers.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s IDA: %w", ue.Op, ue.Err)
	}
	return err
}

// read interprets IDA's answer.
func (c *Client) read(status int, raw []byte, txID string) (*Outcome, error) {
	fail := func(kind Kind, err error) error {
		return &Error{Kind: kind, TransactionID: txID, StatusCode: status, Err: err}
	}
	if len(raw) > maxResponseBytes {
		return nil, fail(KindUnavailable, errors.New("answer above 1 MiB"))
	}
	var ar authResponse
	jsonErr := json.Unmarshal(raw, &ar)
	switch {
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout:
		return nil, fail(KindUnavailable, fmt.Errorf("HTTP %d", status))
	case jsonErr != nil && (status < 200 || status > 299):
		return nil, fail(KindRejected, fmt.Errorf("HTTP %d", status))
	case jsonErr != nil:
		return nil, fail(KindUnavailable, errors.New("answer is not IDA JSON"))
	}
	errs := boundErrors(ar.Errors)
	if len(errs) > 0 {
		kind := KindNotMatched
		for _, e := range errs {
			if !isNoMatch(e.ErrorCode) {
				kind = KindRejected
				break
			}
		}
		return nil, &Error{Kind: kind, TransactionID: txID, StatusCode: status, Errors: errs}
	}
	if status < 200 || status > 299 {
		return nil, fail(KindRejected, fmt.Errorf("HTTP %d", status))
	}
	if ar.Response == nil || ar.Response.AuthStatus == nil {
		return nil, fail(KindUnavailable, errors.New("answer has no response.authStatus"))
	}
	if ar.TransactionID != txID {
		// Not the answer to this request (a proxy's cache, a mix-up):
		// nothing about this person can be concluded from it.
		return nil, fail(KindUnavailable, errors.New("the answer is for another transaction"))
	}
	if !*ar.Response.AuthStatus {
		return nil, &Error{Kind: KindNotMatched, TransactionID: txID, StatusCode: status}
	}
	return &Outcome{TransactionID: txID, AuthToken: ar.Response.AuthToken}, nil
}

// transactionID draws IDA's 10-digit transaction id.
func transactionID() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
	if err != nil {
		return "", fmt.Errorf("ida: transaction id: %w", err)
	}
	return fmt.Sprintf("%010d", n.Int64()+1_000_000_000), nil
}

// MOSIPDate turns an OpenCRVS date (YYYY-MM-DD, or the date of a
// date-time) into MOSIP's YYYY/MM/DD by rewriting its text: no time zone
// can shift the day. It checks that the date exists (2008-02-29 does,
// 2007-02-29 does not).
func MOSIPDate(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	d := strings.ReplaceAll(s, "/", "-")
	if _, err := time.Parse(time.DateOnly, d); err != nil || len(d) != 10 {
		return "", invalid("the date of birth must be a date YYYY-MM-DD")
	}
	return strings.ReplaceAll(d, "-", "/"), nil
}
