package mosipsim

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/vc"
)

// Credential issuance: the credential service builds the credential,
// encrypts it to the partner certificate, signs it and publishes
// CREDENTIAL_ISSUED on the hub.

const (
	credentialsURL = "http://credential.idrepo/credentials/"
	vcVersion      = "VC-V1"
	// Key ids in /.well-known/jwks.json.
	kidCredentialService = "credential-service"
	kidPacketWriter      = "packet-writer"
	kidVCIssuer          = "vc-issuer"
)

type credentialInput struct {
	rid, uin, vid string
	death         bool
	fields        map[string]string
	baseURL       string
}

// issueCredential builds, encrypts, signs and publishes a credential.
func (s *Sim) issueCredential(in credentialInput) error {
	plain, credType, err := s.buildCredential(in)
	if err != nil {
		return err
	}
	enc, err := mosip.EncryptCredential(s.cfg.PartnerCert, plain)
	if err != nil {
		return fmt.Errorf("mosipsim: encrypt credential %s: %w", in.rid, err)
	}
	sig, err := s.signDetached(jose.ES256, s.eventKey, kidCredentialService, plain)
	if err != nil {
		return fmt.Errorf("mosipsim: sign credential %s: %w", in.rid, err)
	}
	proof, _ := json.Marshal(map[string]string{"signature": sig})
	s.publish(in, enc, proof, credType)
	return nil
}

// buildCredential returns the credential JSON and its credentialType.
func (s *Sim) buildCredential(in credentialInput) ([]byte, string, error) {
	now := mosip.FormatTime(s.now())
	if s.cfg.CredentialFormat == CredentialMOSIP {
		subject := map[string]any{"id": in.rid, "UIN": in.uin, "VID": in.vid}
		for _, f := range []string{"fullName", "dateOfBirth"} {
			if v, ok := in.fields[f]; ok {
				subject[f] = v
			}
		}
		out, err := canonicalJSON(map[string]any{
			"id":                  "http://mosip.io/credentials/" + newUUID(),
			"type":                []any{"MOSIPVerifiableCredential"},
			"issuer":              "https://mosip.io/issuers/",
			"issuanceDate":        now,
			"issuedTo":            s.cfg.PartnerID,
			"consent":             "",
			"credentialSubject":   subject,
			"protectedAttributes": []any{},
		})
		return out, "euin", err
	}

	subject := map[string]any{"id": credentialsURL + in.rid, "vcVer": vcVersion}
	if !in.death {
		subject["VID"] = in.vid
		subject["birthCertificateNumber"] = in.fields["birthCertificateNumber"]
	}
	keyURL := in.baseURL + "/.well-known/public-key.json"
	contextURL := in.baseURL + "/.well-known/mosip-context.json"
	cred := map[string]any{
		"@context": []any{
			"https://www.w3.org/2018/credentials/v1",
			contextURL,
			map[string]any{"sec": "https://w3id.org/security#"},
		},
		"type":              []any{"VerifiableCredential", "MOSIPVerifiableCredential"},
		"id":                credentialsURL + newUUID(),
		"issuer":            in.baseURL + "/.well-known/controller.json",
		"issuanceDate":      now,
		"credentialSubject": subject,
	}
	unsigned, err := canonicalJSON(cred)
	if err != nil {
		return nil, "", err
	}
	// Signed as MOSIP's credential service signs (RsaSignature2018 over the
	// URDNA2015 canonical form, internal/vc), with this simulator's context
	// at the URL the credential names.
	contexts, err := vc.BundledContexts().With(contextURL, VCContext())
	if err != nil {
		return nil, "", err
	}
	signer, err := vc.NewSigner(s.vcKey, contexts, s.now)
	if err != nil {
		return nil, "", err
	}
	proof, err := signer.Proof(unsigned, keyURL)
	if err != nil {
		return nil, "", fmt.Errorf("mosipsim: sign verifiable credential %s: %w", in.rid, err)
	}
	cred["proof"] = proof.Map()
	out, err := canonicalJSON(cred)
	return out, "vercred", err
}

// signDetached returns a compact JWS with a detached payload
// (header..signature).
func (s *Sim) signDetached(alg jose.SignatureAlgorithm, key any, kid string, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.DetachedCompactSerialize()
}

// canonicalJSON writes v in the JSON Canonicalization Scheme (RFC 8785):
// object keys sorted by UTF-16 code units, no whitespace, minimal string
// escaping. v holds what encoding/json produces: maps, slices, strings,
// booleans, nil and numbers.
func canonicalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, fmt.Errorf("mosipsim: canonical JSON: %w", err)
	}
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeCanonicalString(b, x)
	case float64:
		return writeCanonicalNumber(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return err
		}
		return writeCanonicalNumber(b, f)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return lessUTF16(keys[i], keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonicalString(b, k)
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return writeCanonical(b, m)
	default:
		return fmt.Errorf("unsupported type %T", v)
	}
	return nil
}

// writeCanonicalNumber supports the integers our documents hold; RFC 8785
// renders those as plain digits.
func writeCanonicalNumber(b *bytes.Buffer, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
		return fmt.Errorf("number %v is not a safe integer", f)
	}
	b.WriteString(strconv.FormatInt(int64(f), 10))
	return nil
}

func writeCanonicalString(b *bytes.Buffer, s string) {
	const hexdigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexdigits[r>>4])
			b.WriteByte(hexdigits[r&0xf])
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`) // invalid UTF-8 cannot be canonical; replace it
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

func lessUTF16(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func publicKeyPEM(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("mosipsim: credential public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// The documents a verifier dereferences, which OpenCRVS's mock names but
// does not serve.

func (s *Sim) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"@context":     "https://w3id.org/security/v2",
		"type":         "RsaVerificationKey2018",
		"id":           base + "/.well-known/public-key.json",
		"controller":   base + "/.well-known/controller.json",
		"publicKeyPem": s.vcKeyPEM,
	})
}

func (s *Sim) handleController(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"@context":        "https://w3id.org/security/v2",
		"id":              base + "/.well-known/controller.json",
		"assertionMethod": []string{base + "/.well-known/public-key.json"},
	})
}

func (s *Sim) handleContext(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/ld+json")
	_, _ = w.Write(VCContext())
}

// VCContext returns the JSON-LD context the simulator serves at
// /.well-known/mosip-context.json and its verifiable credentials name: a
// verifier must be given it (MOSIP_VC_CONTEXTS), as it never fetches one.
func VCContext() []byte { return []byte(mosipContext) }

const mosipContext = `{
  "@context": {
    "@version": 1.1,
    "@protected": true,
    "mosip": "https://mosip.io/credentials/vocab#",
    "MOSIPVerifiableCredential": "mosip:MOSIPVerifiableCredential",
    "vcVer": "mosip:vcVer",
    "UIN": "mosip:UIN",
    "VID": "mosip:VID",
    "birthCertificateNumber": "mosip:birthCertificateNumber",
    "fullName": "mosip:fullName",
    "dateOfBirth": "mosip:dateOfBirth",
    "gender": "mosip:gender"
  }
}
`

// handleJWKS serves the public halves of the simulator's keys: the
// credential service key (event proof.signature, ES256), the verifiable
// credential key (PS256) and the packet writer key (sub-packet signatures,
// Ed25519).
func (s *Sim) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.JWKS())
}

// JWKS returns the simulator's public keys.
func (s *Sim) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &s.eventKey.PublicKey, KeyID: kidCredentialService, Algorithm: string(jose.ES256), Use: "sig"},
		{Key: &s.vcKey.PublicKey, KeyID: kidVCIssuer, Algorithm: string(jose.PS256), Use: "sig"},
		{Key: s.packetKey.Public(), KeyID: kidPacketWriter, Algorithm: string(jose.EdDSA), Use: "sig"},
	}}
}
