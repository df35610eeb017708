package idcard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwsAlgorithms are the signature algorithms a card's JWS may use: the
// asymmetric ones (an HMAC "signature" proves nothing to a verifier that
// does not hold the issuer's secret).
var jwsAlgorithms = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"EdDSA": jose.EdDSA,
}

// jwsHeader is the part of the protected header read before verifying.
type jwsHeader struct {
	Alg       string `json:"alg"`
	Kid       string `json:"kid"`
	X5tSHA256 string `json:"x5t#S256"`
}

// verifyJWS reads a compact JWS whose payload is a JSON object of JWT
// claims (iss, iat, nbf, exp) and the identity: a "credentialSubject"
// object, a JWT-VC's "vc.credentialSubject", or the claims themselves.
func (v *Verifier) verifyJWS(ctx context.Context, qr string) (Result, error) {
	headerPart, _, _ := strings.Cut(qr, ".")
	raw, err := base64.RawURLEncoding.DecodeString(headerPart)
	var h jwsHeader
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		return refuse(FormatJWS, ReasonMalformed, "the code's JWS header is not base64url-encoded JSON"), nil
	}
	switch {
	case strings.EqualFold(h.Alg, "none"):
		return refuse(FormatJWS, ReasonUnsigned, `the code's JWS has algorithm "none": it is not signed`), nil
	case jwsAlgorithms[h.Alg] == "":
		return refuse(FormatJWS, ReasonUnsupported, "the code's JWS algorithm is not one accepted for ID cards (RS*, PS*, ES*, EdDSA)"), nil
	}
	obj, err := jose.ParseSignedCompact(qr, []jose.SignatureAlgorithm{jwsAlgorithms[h.Alg]})
	if err != nil {
		return refuse(FormatJWS, ReasonMalformed, "the code is not a well-formed compact JWS"), nil
	}
	claims := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(obj.UnsafePayloadWithoutVerification()))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil || dec.More() {
		return refuse(FormatJWS, ReasonMalformed, "the code's JWS payload is not a JSON object"), nil
	}
	s := signed{format: FormatJWS, alg: h.Alg, kid: h.Kid}
	if h.X5tSHA256 != "" {
		s.x5t, _ = base64.RawURLEncoding.DecodeString(h.X5tSHA256)
	}
	s.issuer, _ = claims["iss"].(string)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"iat", &s.iat}, {"nbf", &s.nbf}, {"exp", &s.exp}} {
		if c, ok := claims[f.name]; ok {
			t, ok := numericDate(c)
			if !ok {
				return refuse(FormatJWS, ReasonMalformed, "the code's "+f.name+" claim is not a date (seconds since 1970)"), nil
			}
			*f.dst = t
		}
	}
	subject := claims
	if vc, ok := claims["vc"].(map[string]any); ok {
		if cs, ok := vc["credentialSubject"].(map[string]any); ok {
			subject = cs
		}
	}
	if cs, ok := claims["credentialSubject"].(map[string]any); ok {
		subject = cs
	}
	s.subject = identityFromJSON(subject)
	s.verify = func(k TrustedKey) bool {
		_, err := obj.Verify(k.Key)
		return err == nil
	}
	return v.judge(ctx, s)
}
