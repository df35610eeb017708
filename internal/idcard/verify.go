package idcard

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Reason says why a card's QR code is not verified. The values are part
// of the HTTP API.
type Reason string

// Reasons.
const (
	// ReasonMalformed: the text is none of the formats read here, or is
	// damaged (a partial scan, a typo, random text).
	ReasonMalformed Reason = "malformed"
	// ReasonUnsigned: the code carries identity data but no signature (the
	// plain JSON MOSIP's reference print service puts on cards, or a JWS
	// with alg "none"). Anyone can print such a code.
	ReasonUnsigned Reason = "unsigned"
	// ReasonUnsupported: a signed format or algorithm this service does
	// not read (an encrypted Claim 169 code, Brotli compression, HMAC).
	ReasonUnsupported Reason = "unsupported"
	// ReasonUnknownKey: no trusted issuer key verifies the signature and
	// the code names no trusted key: it was signed by someone else.
	ReasonUnknownKey Reason = "unknown-key"
	// ReasonBadSignature: the code names a trusted key but the signature
	// does not verify with it: the content was changed after signing, or
	// someone else signed it under the trusted key's id.
	ReasonBadSignature Reason = "bad-signature"
	// ReasonExpired: the code's expiry time has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: the code's issue or not-before time is in the
	// future.
	ReasonNotYetValid Reason = "not-yet-valid"
	// ReasonKeyNotValid: the signing key's certificate was not valid when
	// the code was signed.
	ReasonKeyNotValid Reason = "key-not-valid"
)

// Formats a code can have.
const (
	FormatJWS      = "jws"      // compact JWS (a JWT) with JSON claims
	FormatClaim169 = "claim169" // MOSIP Claim 169: Base45(zlib(COSE_Sign1 CWT))
	FormatJSON     = "json"     // unsigned JSON (MOSIP's reference print service)
)

// Identity is what a verified card says about its holder. Empty fields
// were not on the card.
type Identity struct {
	// ID is a Claim 169 card's "ID" (attribute 1): the UIN, a VID or
	// another number, as the issuer chose.
	ID         string `json:"id,omitempty"`
	UIN        string `json:"uin,omitempty"`
	VID        string `json:"vid,omitempty"`
	FullName   string `json:"fullName,omitempty"`
	FirstName  string `json:"firstName,omitempty"`
	MiddleName string `json:"middleName,omitempty"`
	LastName   string `json:"lastName,omitempty"`
	// BirthDate is YYYY-MM-DD when the card's date could be read as a
	// date, else as the card has it.
	BirthDate string `json:"birthDate,omitempty"`
	// Gender is "male", "female" or "other" when the card's value is one
	// of MOSIP's usual codes or words (MLE, Female, 1, ...), else as the
	// card has it.
	Gender string `json:"gender,omitempty"`
}

// Result is the verdict on one scanned code.
type Result struct {
	Verified bool
	Reason   Reason // "" when Verified
	// Detail explains Reason for a person; it never contains card data.
	Detail    string
	Format    string
	Issuer    string
	KeyID     string
	IssuedAt  time.Time // zero when the code has no issue time
	ExpiresAt time.Time // zero when the code does not expire
	// Identity is set only when Verified: data that cannot be trusted is
	// not handed on.
	Identity *Identity
}

// MaxQRLength bounds the text of a code: a version 40 QR code holds at
// most 4296 alphanumeric characters; anything much longer is not a scan.
const MaxQRLength = 8192

// Verifier verifies the QR codes of ID cards against trusted issuer keys.
type Verifier struct {
	keys *Keys
	now  func() time.Time
	skew time.Duration
}

// VerifierConfig configures NewVerifier.
type VerifierConfig struct {
	Keys *Keys
	Now  func() time.Time // nil: time.Now
	// ClockSkew is how far a code's issue and expiry times may be off
	// (the scanning device's and issuer's clocks differ). Default 5m.
	ClockSkew time.Duration
}

// NewVerifier returns a verifier. Keys is required.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, errors.New("idcard: the verifier needs trusted issuer keys")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = 5 * time.Minute
	}
	return &Verifier{keys: cfg.Keys, now: cfg.Now, skew: cfg.ClockSkew}, nil
}

// Verify judges the text of a scanned code. Every problem with the code is
// a Result with a Reason; the error is reserved for not being able to
// judge now (ErrKeysUnavailable: the issuer keys could not be fetched) or
// a cancelled context.
func (v *Verifier) Verify(ctx context.Context, qr string) (Result, error) {
	qr = strings.TrimSpace(qr)
	switch {
	case qr == "":
		return refuse("", ReasonMalformed, "the code is empty"), nil
	case len(qr) > MaxQRLength:
		return refuse("", ReasonMalformed, fmt.Sprintf("the code is longer than %d characters, more than a QR code holds", MaxQRLength)), nil
	case strings.HasPrefix(qr, "eyJ") && strings.Count(qr, ".") == 2:
		return v.verifyJWS(ctx, qr)
	case strings.HasPrefix(qr, "{"):
		if json.Valid([]byte(qr)) {
			return refuse(FormatJSON, ReasonUnsigned, "the code is plain JSON without a signature: anyone can print it; ask the issuer for signed cards (JWS or Claim 169)"), nil
		}
		return refuse("", ReasonMalformed, "the code starts like JSON but is not valid JSON"), nil
	case isBase45(qr):
		return v.verifyClaim169(ctx, qr)
	}
	return refuse("", ReasonMalformed, "the code is not a signed ID card code (neither a JWS nor a MOSIP Claim 169 code)"), nil
}

func refuse(format string, reason Reason, detail string) Result {
	return Result{Format: format, Reason: reason, Detail: detail}
}

// signed is what both formats hand to checkSignature and checkTimes.
type signed struct {
	format  string
	alg     string // JOSE name: RS256, PS256, ES256, EdDSA, ...
	kid     string
	x5t     []byte // certificate thumbprint named by the code
	issuer  string
	iat     time.Time
	nbf     time.Time
	exp     time.Time
	verify  func(TrustedKey) bool // checks the signature with one key
	subject *Identity
}

// judge finds the key, checks the signature and the times.
func (v *Verifier) judge(ctx context.Context, s signed) (Result, error) {
	keys, err := v.keys.lookup(ctx, false)
	if err != nil {
		return Result{}, err
	}
	if s.kid != "" && !hasKeyID(keys, s.kid) {
		// A key id we do not know may be a key the issuer rotated in
		// since we fetched its JWKS.
		if keys, err = v.keys.lookup(ctx, true); err != nil {
			return Result{}, err
		}
	}
	named, anonymous := candidates(keys, s)
	var used *TrustedKey
	for _, list := range [][]TrustedKey{named, anonymous} {
		for i := range list {
			if algorithmFits(list[i], s.alg) && s.verify(list[i]) {
				used = &list[i]
				break
			}
		}
		if used != nil {
			break
		}
	}
	res := Result{Format: s.format, Issuer: s.issuer, KeyID: s.kid, IssuedAt: s.iat, ExpiresAt: s.exp}
	switch {
	case used == nil && len(named) > 0:
		res.Reason, res.Detail = ReasonBadSignature, "the signature does not verify with the trusted issuer key the code names: the code was altered after it was signed, or signed by someone else under that key id"
		return res, nil
	case used == nil:
		res.Reason, res.Detail = ReasonUnknownKey, "no trusted issuer key verifies the signature: the code was signed by an issuer this service does not trust"
		return res, nil
	}
	now := v.now()
	signedAt := now
	if !s.iat.IsZero() {
		signedAt = s.iat
	}
	switch {
	case !s.exp.IsZero() && now.After(s.exp.Add(v.skew)):
		res.Reason, res.Detail = ReasonExpired, "the code expired on "+s.exp.UTC().Format(time.RFC3339)
	case !s.nbf.IsZero() && now.Add(v.skew).Before(s.nbf):
		res.Reason, res.Detail = ReasonNotYetValid, "the code is not valid before "+s.nbf.UTC().Format(time.RFC3339)
	case !s.iat.IsZero() && now.Add(v.skew).Before(s.iat):
		res.Reason, res.Detail = ReasonNotYetValid, "the code says it was issued in the future ("+s.iat.UTC().Format(time.RFC3339)+"); check the clocks"
	case !used.NotAfter.IsZero() && (signedAt.After(used.NotAfter.Add(v.skew)) || signedAt.Add(v.skew).Before(used.NotBefore)):
		res.Reason, res.Detail = ReasonKeyNotValid, "the issuer certificate that verifies the code was not valid when the code was signed"
	default:
		res.Verified, res.Identity = true, s.subject
		if res.Identity == nil {
			res.Identity = &Identity{}
		}
	}
	return res, nil
}

func hasKeyID(keys []TrustedKey, kid string) bool {
	for _, k := range keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

// candidates splits the keys to try: those the code names (by key id or
// certificate thumbprint), and keys without a name (PEM keys), which are
// tried for any code. A code that names no key at all is tried with every
// key, and a failure is then "unknown key".
func candidates(keys []TrustedKey, s signed) (named, anonymous []TrustedKey) {
	for _, k := range keys {
		switch {
		case s.kid != "" && k.KeyID == s.kid:
			named = append(named, k)
		case len(s.x5t) > 0 && len(k.Thumbprint) > 0 && string(k.Thumbprint) == string(s.x5t):
			named = append(named, k)
		case k.KeyID == "" || (s.kid == "" && len(s.x5t) == 0):
			anonymous = append(anonymous, k)
		}
	}
	return named, anonymous
}

// algorithmFits says whether the key may verify a signature made with alg:
// the key's own "alg" when it has one, else the algorithms of its type.
func algorithmFits(k TrustedKey, alg string) bool {
	if k.Algorithm != "" {
		return k.Algorithm == alg
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch key.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// hashFor returns the hash of a JOSE signature algorithm.
func hashFor(alg string) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}

// numericDate reads a JWT/CWT NumericDate (seconds since the epoch, maybe
// fractional).
func numericDate(v any) (time.Time, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return time.Time{}, false
		}
		f = x
	case int64:
		f = float64(n)
	case uint64:
		f = float64(n)
	default:
		return time.Time{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// The identity fields of a JSON credential subject, in the names MOSIP ID
// schemas, OpenID Connect and OpenCRVS use. The first one present counts.
var (
	uinNames    = []string{"UIN", "uin"}
	vidNames    = []string{"VID", "vid"}
	idNames     = []string{"id", "ID"}
	fullNames   = []string{"fullName", "name", "full_name"}
	firstNames  = []string{"firstName", "givenName", "given_name", "firstname"}
	middleNames = []string{"middleName", "middle_name", "middlename"}
	lastNames   = []string{"lastName", "familyName", "surname", "family_name", "lastname"}
	birthNames  = []string{"dateOfBirth", "birthDate", "birthdate", "dob"}
	genderNames = []string{"gender", "sex"}
)

// identityFromJSON reads a credential subject: values are strings,
// numbers, or MOSIP's language lists [{"language":"eng","value":"..."}]
// (the first non-empty value counts).
func identityFromJSON(m map[string]any) *Identity {
	get := func(names []string) string {
		for _, n := range names {
			if s := jsonText(m[n]); s != "" {
				return s
			}
		}
		return ""
	}
	id := &Identity{
		UIN: get(uinNames), VID: get(vidNames),
		FullName: get(fullNames), FirstName: get(firstNames), MiddleName: get(middleNames), LastName: get(lastNames),
		BirthDate: normaliseDate(get(birthNames)), Gender: normaliseGender(get(genderNames)),
	}
	// A W3C credential's subject id is a URL or DID, not a card number.
	if s := get(idNames); s != "" && !strings.Contains(s, ":") {
		id.ID = s
	}
	return id
}

func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case map[string]any:
		return jsonText(x["value"])
	case []any:
		for _, e := range x {
			if s := jsonText(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// normaliseDate turns YYYY/MM/DD (MOSIP), YYYY-MM-DD and YYYYMMDD (Claim
// 169) into YYYY-MM-DD; other text is returned as it is.
func normaliseDate(s string) string {
	for _, layout := range []string{"2006/01/02", "2006-01-02", "20060102"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return s
}

func normaliseGender(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "male", "mle", "m", "1":
		return "male"
	case "female", "fle", "f", "2":
		return "female"
	case "other", "oth", "others", "o", "3":
		return "other"
	}
	return s
}
