package idcard

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MOSIP Claim 169 (https://github.com/mosip/id-claim-169, v1.2.x): the
// identity is a CBOR map under claim 169 of a CWT (RFC 8392), signed as a
// COSE_Sign1 (RFC 9052), zlib-compressed and Base45-encoded (RFC 9285).

// maxCWT bounds the decompressed code (a QR code holds under 3 KB; zlib
// can expand that a thousandfold).
const maxCWT = 64 << 10

// CBOR tags and COSE/CWT labels used here.
const (
	tagCWT          = 61
	tagCOSESign1    = 18
	tagCOSEEncrypt0 = 16
	tagCOSEEncrypt  = 96
	tagCOSESign     = 98

	coseAlg     = 1
	coseCrit    = 2
	coseKid     = 4
	coseX5t     = 34
	cwtIss      = 1
	cwtExp      = 4
	cwtNbf      = 5
	cwtIat      = 6
	cwtClaim169 = 169
)

// coseAlgorithms maps COSE algorithm ids to JOSE names.
var coseAlgorithms = map[int64]string{
	-7: "ES256", -35: "ES384", -36: "ES512",
	-8: "EdDSA", -19: "EdDSA", // -19: Ed25519 (RFC 9864)
	-37: "PS256", -38: "PS384", -39: "PS512",
	-257: "RS256", -258: "RS384", -259: "RS512",
}

func (v *Verifier) verifyClaim169(ctx context.Context, qr string) (Result, error) {
	bad := func(detail string) (Result, error) {
		return refuse(FormatClaim169, ReasonMalformed, detail), nil
	}
	compressed, err := base45Decode(qr)
	if err != nil {
		return bad("the code is not valid Base45")
	}
	if len(compressed) < 2 || compressed[0]&0x0f != 8 || (uint16(compressed[0])<<8|uint16(compressed[1]))%31 != 0 {
		return bad("the code is not a zlib-compressed Claim 169 code (Brotli-compressed codes are not supported)")
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return bad("the code's zlib data is damaged")
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxCWT+1))
	if err != nil {
		return bad("the code's zlib data is damaged")
	}
	if len(data) > maxCWT {
		return bad("the code decompresses to more than 64 KiB")
	}
	top, err := cborDecode(data)
	if err != nil {
		return bad("the code's CBOR is damaged: " + err.Error())
	}
	for {
		t, ok := top.(cborTag)
		if !ok {
			break
		}
		switch t.num {
		case tagCWT, tagCOSESign1:
			top = t.content
			continue
		case tagCOSEEncrypt0, tagCOSEEncrypt:
			return refuse(FormatClaim169, ReasonUnsupported, "the code is encrypted (COSE_Encrypt): encrypted Claim 169 codes are not supported"), nil
		case tagCOSESign:
			return refuse(FormatClaim169, ReasonUnsupported, "the code is a multi-signer COSE_Sign: only COSE_Sign1 is supported"), nil
		}
		return bad("the code's CBOR has an unexpected tag " + strconv.FormatUint(t.num, 10))
	}
	msg, ok := top.([]any)
	if !ok || len(msg) != 4 {
		return bad("the code is not a COSE_Sign1 message")
	}
	protected, ok1 := msg[0].([]byte)
	unprotected, ok2 := msg[1].(map[any]any)
	payload, ok3 := msg[2].([]byte)
	signature, ok4 := msg[3].([]byte)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return bad("the code is not a COSE_Sign1 message with an attached payload")
	}
	headers := map[any]any{}
	if len(protected) > 0 {
		ph, err := cborDecode(protected)
		m, ok := ph.(map[any]any)
		if err != nil || !ok {
			return bad("the code's COSE protected header is not a CBOR map")
		}
		headers = m
	}
	// Protected values win over unprotected ones (the key id may be
	// unprotected: a wrong one only picks a key that fails to verify).
	header := func(label int64) any {
		if v, ok := headers[label]; ok {
			return v
		}
		return unprotected[label]
	}
	// The algorithm must be signed (RFC 9052: protected), and a critical
	// header this verifier does not know makes the message unusable.
	algID, ok := headers[int64(coseAlg)].(int64)
	if !ok {
		return bad("the code's COSE protected header has no algorithm")
	}
	if _, crit := headers[int64(coseCrit)]; crit {
		return refuse(FormatClaim169, ReasonUnsupported, "the code's COSE header lists critical parameters this verifier does not handle"), nil
	}
	alg := coseAlgorithms[algID]
	if alg == "" {
		return refuse(FormatClaim169, ReasonUnsupported, "the code's COSE algorithm "+strconv.FormatInt(algID, 10)+" is not one accepted for ID cards (ES*, EdDSA, PS*, RS*)"), nil
	}
	s := signed{format: FormatClaim169, alg: alg}
	switch kid := header(coseKid).(type) {
	case []byte:
		s.kid = string(kid)
	case string:
		s.kid = kid
	}
	if x5t, ok := header(coseX5t).([]any); ok && len(x5t) == 2 {
		if hashAlg, _ := x5t[0].(int64); hashAlg == -16 { // SHA-256
			s.x5t, _ = x5t[1].([]byte)
		}
	}
	claimsValue, err := cborDecode(payload)
	claims, ok := claimsValue.(map[any]any)
	if err != nil || !ok {
		return bad("the code's CWT payload is not a CBOR map")
	}
	s.issuer, _ = claims[int64(cwtIss)].(string)
	for _, f := range []struct {
		label int64
		name  string
		dst   *time.Time
	}{{cwtIat, "iat", &s.iat}, {cwtNbf, "nbf", &s.nbf}, {cwtExp, "exp", &s.exp}} {
		if c, ok := claims[f.label]; ok {
			t, ok := numericDate(c)
			if !ok {
				return bad("the code's " + f.name + " claim is not a date (seconds since 1970)")
			}
			*f.dst = t
		}
	}
	identity, ok := claims[int64(cwtClaim169)].(map[any]any)
	if !ok {
		return bad("the code's CWT has no identity data (claim 169)")
	}
	s.subject = identityFromClaim169(identity)
	toBeSigned := sigStructure(protected, payload)
	s.verify = func(k TrustedKey) bool { return verifyRaw(k, alg, toBeSigned, signature) }
	return v.judge(ctx, s)
}

// identityFromClaim169 reads the attributes of claim 169 this service
// hands on (section 3.1 of the specification).
func identityFromClaim169(m map[any]any) *Identity {
	text := func(label int64) string { return cborText(m[label]) }
	return &Identity{
		ID: text(1), FullName: text(4), FirstName: text(5), MiddleName: text(6), LastName: text(7),
		BirthDate: normaliseDate(text(8)), Gender: normaliseGender(text(9)),
	}
}

func cborText(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return ""
}

// sigStructure is the COSE Sig_structure of a COSE_Sign1 without external
// data: ["Signature1", protected, h”, payload].
func sigStructure(protected, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(0x84)
	cborHead(&b, 3, uint64(len("Signature1")))
	b.WriteString("Signature1")
	cborHead(&b, 2, uint64(len(protected)))
	b.Write(protected)
	cborHead(&b, 2, 0)
	cborHead(&b, 2, uint64(len(payload)))
	b.Write(payload)
	return b.Bytes()
}

// cborHead writes the shortest head of a major type and argument.
func cborHead(b *bytes.Buffer, major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		b.WriteByte(m | byte(n))
	case n <= 0xff:
		b.Write([]byte{m | 24, byte(n)})
	case n <= 0xffff:
		b.Write([]byte{m | 25, byte(n >> 8), byte(n)})
	case n <= 0xffffffff:
		b.Write([]byte{m | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	default:
		b.WriteByte(m | 27)
		for i := 7; i >= 0; i-- {
			b.WriteByte(byte(n >> (8 * i)))
		}
	}
}

// verifyRaw checks a COSE signature: ECDSA as r||s, EdDSA, RSA PSS or
// PKCS #1 v1.5.
func verifyRaw(k TrustedKey, alg string, msg, sig []byte) bool {
	switch key := k.Key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA" && ed25519.Verify(key, msg, sig)
	case *ecdsa.PublicKey:
		size := (key.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		h := hashFor(alg).New()
		h.Write(msg)
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(key, h.Sum(nil), r, s)
	case *rsa.PublicKey:
		hash := hashFor(alg)
		h := hash.New()
		h.Write(msg)
		if strings.HasPrefix(alg, "PS") {
			return rsa.VerifyPSS(key, hash, h.Sum(nil), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(key, hash, h.Sum(nil), sig) == nil
	}
	return false
}

// base45Alphabet is RFC 9285's.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

func isBase45(s string) bool {
	if len(s)%3 == 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(base45Alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

var errBase45 = errors.New("invalid base45")

func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45
	}
	out := make([]byte, 0, len(s)/3*2+1)
	val := func(c byte) (int, bool) {
		i := strings.IndexByte(base45Alphabet, c)
		return i, i >= 0
	}
	for i := 0; i < len(s); i += 3 {
		c, ok1 := val(s[i])
		d, ok2 := val(s[i+1])
		if !ok1 || !ok2 {
			return nil, errBase45
		}
		if i+2 == len(s) {
			n := c + d*45
			if n > 0xff {
				return nil, errBase45
			}
			out = append(out, byte(n))
			break
		}
		e, ok3 := val(s[i+2])
		if !ok3 {
			return nil, errBase45
		}
		n := c + d*45 + e*45*45
		if n > 0xffff {
			return nil, errBase45
		}
		out = append(out, byte(n>>8), byte(n))
	}
	return out, nil
}
