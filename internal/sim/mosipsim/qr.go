package mosipsim

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ID card QR codes: GET /sim/identities/{id}/qr prints the text the QR code
// of the identity's card would hold, signed with the credential service
// key (ES256, kid "credential-service" in /.well-known/jwks.json), so dev
// setups and tests can scan "real" cards. MOSIP's own reference print
// service puts unsigned JSON in the QR code; the simulator prints the two
// signed forms a verifier can trust instead (see package idcard):
//
//   - format=jws (default): a compact JWS whose payload is
//     {"iss","iat","exp"?,"jti","credentialSubject":{UIN, VID, names,
//     dateOfBirth, gender}} with the identity's values as the ID
//     repository holds them (language lists stay lists);
//   - format=claim169: MOSIP Claim 169, Base45(zlib(CWT tag 61 around a
//     COSE_Sign1 tag 18)), claims iss (1), iat (6), exp (4)?, 169 {1: UIN,
//     4-7: names, 8: YYYYMMDD, 9: 1|2|3}; the key id is COSE label 4.
//
// validity=<Go duration> sets the expiry (default: none, like a card).

// QR formats PrintQR prints.
const (
	QRFormatJWS      = "jws"
	QRFormatClaim169 = "claim169"
)

// QRKeyID is the key id QR codes are signed with (in /.well-known/jwks.json).
const QRKeyID = kidCredentialService

// QROptions configure PrintQR.
type QROptions struct {
	Format   string        // QRFormatJWS (default) or QRFormatClaim169
	Issuer   string        // iss; default Config.BaseURL, else "https://mosip.io"
	Validity time.Duration // > 0: the code expires this long after it is printed
}

// qrFields are the identity fields a card's QR code carries (MOSIP's
// qrcode credential policy shares demographic fields, never biometrics).
var qrFields = []string{"fullName", "firstName", "givenName", "middleName", "lastName", "familyName", "dateOfBirth", "birthDate", "gender"}

// PrintQR returns the QR text of the card of the identity with the UIN or
// VID.
func (s *Sim) PrintQR(uinOrVID string, opts QROptions) (string, error) {
	v, ok := s.Identity(uinOrVID)
	if !ok {
		return "", errQRNoIdentity
	}
	if opts.Issuer == "" {
		opts.Issuer = s.cfg.BaseURL
	}
	if opts.Issuer == "" {
		opts.Issuer = "https://mosip.io"
	}
	now := s.now().Truncate(time.Second)
	switch opts.Format {
	case "", QRFormatJWS:
		return s.qrJWS(v, opts, now)
	case QRFormatClaim169:
		return s.qrClaim169(v, opts, now)
	}
	return "", fmt.Errorf("mosipsim: QR format %q: want %q or %q", opts.Format, QRFormatJWS, QRFormatClaim169)
}

var errQRNoIdentity = errors.New("mosipsim: no identity has this UIN or VID")

func (s *Sim) qrJWS(v IdentityView, opts QROptions, now time.Time) (string, error) {
	subject := map[string]any{"UIN": v.UIN, "VID": v.VID}
	for _, name := range qrFields {
		val, ok := v.Fields[name]
		if !ok {
			continue
		}
		// Values the packet gave as JSON (language lists) stay JSON.
		var parsed any
		if t := strings.TrimSpace(val); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
			if json.Unmarshal([]byte(t), &parsed) == nil {
				subject[name] = parsed
				continue
			}
		}
		subject[name] = val
	}
	claims := map[string]any{"iss": opts.Issuer, "iat": now.Unix(), "jti": newUUID(), "credentialSubject": subject}
	if opts.Validity > 0 {
		claims["exp"] = now.Add(opts.Validity).Unix()
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.eventKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kidCredentialService))
	if err != nil {
		return "", fmt.Errorf("mosipsim: QR signer: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("mosipsim: sign QR: %w", err)
	}
	return obj.CompactSerialize()
}

func (s *Sim) qrClaim169(v IdentityView, opts QROptions, now time.Time) (string, error) {
	text := func(names ...string) string {
		for _, n := range names {
			if t := plainValue(v.Fields[n]); t != "" {
				return t
			}
		}
		return ""
	}
	id := map[int64]any{1: v.UIN}
	for label, names := range map[int64][]string{4: {"fullName"}, 5: {"firstName", "givenName"}, 6: {"middleName"}, 7: {"lastName", "familyName"}} {
		if t := text(names...); t != "" {
			id[label] = t
		}
	}
	if dob := text("dateOfBirth", "birthDate"); dob != "" {
		for _, layout := range []string{"2006/01/02", "2006-01-02"} {
			if t, err := time.Parse(layout, dob); err == nil {
				dob = t.Format("20060102")
				break
			}
		}
		id[8] = dob
	}
	switch strings.ToLower(text("gender")) {
	case "male", "mle", "m":
		id[9] = int64(1)
	case "female", "fle", "f":
		id[9] = int64(2)
	case "":
	default:
		id[9] = int64(3)
	}
	claims := map[int64]any{1: opts.Issuer, 6: now.Unix(), 169: id}
	if opts.Validity > 0 {
		claims[4] = now.Add(opts.Validity).Unix()
	}
	var payload, protected bytes.Buffer
	cborWrite(&payload, claims)
	cborWrite(&protected, map[int64]any{1: int64(-7)}) // alg ES256
	sig, err := coseES256(s.eventKey, protected.Bytes(), payload.Bytes())
	if err != nil {
		return "", fmt.Errorf("mosipsim: sign QR: %w", err)
	}
	var msg bytes.Buffer
	cborTagHead(&msg, 61) // CWT
	cborTagHead(&msg, 18) // COSE_Sign1
	cborWrite(&msg, []any{protected.Bytes(), map[int64]any{4: []byte(kidCredentialService)}, payload.Bytes(), sig})
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	_, _ = zw.Write(msg.Bytes())
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base45Encode(z.Bytes()), nil
}

// plainValue is a field's text: the first value of a language list, or
// the field as it is.
func plainValue(v string) string {
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "[") {
		var list []struct {
			Value string `json:"value"`
		}
		if json.Unmarshal([]byte(t), &list) == nil {
			for _, e := range list {
				if e.Value != "" {
					return e.Value
				}
			}
			return ""
		}
	}
	return t
}

// coseES256 signs the COSE_Sign1 Sig_structure ["Signature1", protected,
// h”, payload] and returns r||s.
func coseES256(key *ecdsa.PrivateKey, protected, payload []byte) ([]byte, error) {
	var tbs bytes.Buffer
	cborWrite(&tbs, []any{"Signature1", protected, []byte{}, payload})
	sum := sha256.Sum256(tbs.Bytes())
	r, sv, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	sv.FillBytes(out[32:])
	return out, nil
}

// cborWrite encodes the few types the QR code uses, maps with their keys
// in ascending order (RFC 8949 deterministic encoding for integer keys).
func cborWrite(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			cborHeadWrite(b, 0, uint64(x))
		} else {
			cborHeadWrite(b, 1, uint64(-1-x))
		}
	case string:
		cborHeadWrite(b, 3, uint64(len(x)))
		b.WriteString(x)
	case []byte:
		cborHeadWrite(b, 2, uint64(len(x)))
		b.Write(x)
	case []any:
		cborHeadWrite(b, 4, uint64(len(x)))
		for _, e := range x {
			cborWrite(b, e)
		}
	case map[int64]any:
		keys := make([]int64, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return cborKeyLess(keys[i], keys[j]) })
		cborHeadWrite(b, 5, uint64(len(x)))
		for _, k := range keys {
			cborWrite(b, k)
			cborWrite(b, x[k])
		}
	default:
		panic(fmt.Sprintf("mosipsim: cborWrite %T", v)) // only our own values are written
	}
}

// cborKeyLess orders integer keys as their encodings sort: unsigned before
// negative, then by value.
func cborKeyLess(a, b int64) bool {
	if (a >= 0) != (b >= 0) {
		return a >= 0
	}
	if a >= 0 {
		return a < b
	}
	return a > b
}

func cborTagHead(b *bytes.Buffer, tag uint64) { cborHeadWrite(b, 6, tag) }

func cborHeadWrite(b *bytes.Buffer, major byte, n uint64) {
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

// base45Encode is RFC 9285's encoding.
func base45Encode(data []byte) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	var sb strings.Builder
	for i := 0; i+1 < len(data); i += 2 {
		n := int(data[i])<<8 | int(data[i+1])
		sb.WriteByte(alphabet[n%45])
		sb.WriteByte(alphabet[n/45%45])
		sb.WriteByte(alphabet[n/2025])
	}
	if len(data)%2 == 1 {
		n := int(data[len(data)-1])
		sb.WriteByte(alphabet[n%45])
		sb.WriteByte(alphabet[n/45])
	}
	return sb.String()
}

func (s *Sim) handleIdentityQR(w http.ResponseWriter, r *http.Request) {
	opts := QROptions{Format: r.URL.Query().Get("format"), Issuer: s.baseURL(r)}
	if opts.Format != "" && opts.Format != QRFormatJWS && opts.Format != QRFormatClaim169 {
		problem(w, http.StatusBadRequest, "bad-request", "Unknown QR format", "format must be jws or claim169")
		return
	}
	if v := r.URL.Query().Get("validity"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problem(w, http.StatusBadRequest, "bad-request", "Invalid validity", "validity must be a positive Go duration such as 8760h")
			return
		}
		opts.Validity = d
	}
	text, err := s.PrintQR(r.PathValue("id"), opts)
	switch {
	case errors.Is(err, errQRNoIdentity):
		problem(w, http.StatusNotFound, "not-found", "Identity not found", "no identity has this UIN or VID")
		return
	case err != nil:
		problem(w, http.StatusInternalServerError, "internal", "QR code not printed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(text))
}
