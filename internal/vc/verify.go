package vc

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/piprate/json-gold/ld"
)

// ProofType is the only proof type verified: MOSIP's credential service
// signs with it (mosip.credential.service.vercred.proof.type).
const ProofType = "RsaSignature2018"

// ProofPurpose is the purpose MOSIP's proofs state.
const ProofPurpose = "assertionMethod"

// Defaults of VerifierConfig.
const (
	DefaultKeyTTL     = time.Hour
	DefaultMinRefetch = time.Minute
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// AllowList are the verification method URLs (issuer keys) trusted,
	// compared exactly. Required.
	AllowList []string
	// Contexts are the JSON-LD contexts canonicalization may use (nil:
	// BundledContexts()).
	Contexts *Contexts
	// Client fetches verification method documents (nil: a client with a
	// 10 s timeout).
	Client *http.Client
	// Now is the clock of the key cache (nil: time.Now).
	Now func() time.Time
	// KeyTTL is how long a fetched key is used (default DefaultKeyTTL);
	// MinRefetch is the shortest time between two fetches of one URL,
	// failed or not (default DefaultMinRefetch).
	KeyTTL, MinRefetch time.Duration
}

// Verifier checks the RsaSignature2018 proofs of MOSIP's verifiable
// credentials. It is safe for concurrent use.
type Verifier struct {
	allow    map[string]bool
	contexts *Contexts
	keys     *keyCache
}

// NewVerifier returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.AllowList) == 0 {
		return nil, errors.New("vc: a verifier needs at least one allowed verification method")
	}
	v := &Verifier{allow: map[string]bool{}, contexts: cfg.Contexts}
	for _, u := range cfg.AllowList {
		v.allow[u] = true
	}
	if v.contexts == nil {
		v.contexts = BundledContexts()
	}
	keys := &keyCache{client: cfg.Client, now: cfg.Now, ttl: cfg.KeyTTL, minRefetch: cfg.MinRefetch, entries: map[string]*keyEntry{}}
	if keys.client == nil {
		keys.client = &http.Client{Timeout: 10 * time.Second}
	}
	if keys.now == nil {
		keys.now = time.Now
	}
	if keys.ttl <= 0 {
		keys.ttl = DefaultKeyTTL
	}
	if keys.minRefetch <= 0 {
		keys.minRefetch = DefaultMinRefetch
	}
	v.keys = keys
	return v, nil
}

// Result describes a verified credential.
type Result struct {
	// VerificationMethod is the key URL that signed it.
	VerificationMethod string
	// Algorithm is the JWS algorithm: PS256 or RS256.
	Algorithm string
	// Created is the proof's creation time as written.
	Created string
	// Unsigned lists the properties the signature does not cover because
	// the credential's contexts do not define them (JSON-LD drops them
	// before canonicalization): top-level keys, and credentialSubject keys
	// as "credentialSubject.<key>". Whoever reads one of them reads
	// something anyone could have written.
	Unsigned []string
}

// Verify checks the proof of the verifiable credential credentialJSON:
// type RsaSignature2018 by an allow-listed verification method; a detached
// JWS (RFC 7797, b64 false) with PS256 or RS256 over SHA-256(URDNA2015 of
// the proof options) || SHA-256(URDNA2015 of the credential without
// proof). Its errors match one of the Err kinds (errors.Is); Transient
// tells the retryable one.
func (v *Verifier) Verify(ctx context.Context, credentialJSON []byte) (Result, error) {
	var res Result
	doc, err := decodeObject(credentialJSON)
	if err != nil {
		return res, err
	}
	p, err := readProof(doc)
	if err != nil {
		return res, err
	}
	res.VerificationMethod, res.Algorithm, res.Created = p.verificationMethod, p.alg, p.created
	if !v.allow[p.verificationMethod] {
		return res, &Error{Kind: ErrNotAllowed, Detail: "proof.verificationMethod " + p.verificationMethod +
			" is not in MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST", URL: p.verificationMethod}
	}
	data, err := verifyData(doc, p.object, v.contexts)
	if err != nil {
		return res, err
	}
	signingInput := append([]byte(p.header+"."), data...)

	key, _, err := v.keys.get(ctx, p.verificationMethod, false)
	if err != nil {
		return res, err
	}
	if err := checkSignature(p.alg, key, signingInput, p.signature); err != nil {
		// The issuer may have rotated its key: look again, at most once per
		// MinRefetch.
		newKey, changed, ferr := v.keys.get(ctx, p.verificationMethod, true)
		if ferr != nil || !changed || checkSignature(p.alg, newKey, signingInput, p.signature) != nil {
			return res, &Error{Kind: ErrBadSignature, Detail: "proof.jws does not verify with the key of " + p.verificationMethod, URL: p.verificationMethod}
		}
	}
	res.Unsigned = unsignedProperties(doc, v.contexts)
	return res, nil
}

// proof is the parts of an RsaSignature2018 proof.
type proof struct {
	object             map[string]any
	verificationMethod string
	created            string
	header             string // the JWS protected header as sent (base64url)
	alg                string
	signature          []byte
}

// readProof reads and checks the credential's proof, short of the
// signature.
func readProof(doc map[string]any) (*proof, error) {
	obj, ok := doc["proof"].(map[string]any)
	if !ok {
		if _, isList := doc["proof"].([]any); isList {
			return nil, errorf(ErrMalformed, "the credential has several proofs; MOSIP's have one")
		}
		return nil, errorf(ErrMalformed, "the credential has no proof object")
	}
	str := func(k string) string { s, _ := obj[k].(string); return s }
	p := &proof{object: obj, verificationMethod: str("verificationMethod"), created: str("created")}
	switch {
	case str("type") != ProofType:
		return nil, errorf(ErrMalformed, "proof.type is %q, not %s", str("type"), ProofType)
	case p.verificationMethod == "":
		return nil, errorf(ErrMalformed, "proof.verificationMethod is missing")
	case str("proofPurpose") != ProofPurpose:
		return nil, errorf(ErrMalformed, "proof.proofPurpose is %q, not %s", str("proofPurpose"), ProofPurpose)
	case obj["@context"] != nil && obj["@context"] != SecurityContextV2:
		return nil, errorf(ErrMalformed, "proof.@context is not %s", SecurityContextV2)
	}
	header, sig, ok := strings.Cut(str("jws"), "..")
	if !ok || header == "" || sig == "" || strings.Contains(sig, ".") {
		return nil, errorf(ErrMalformed, "proof.jws is not a detached JWS (<header>..<signature>)")
	}
	p.header = header
	if err := p.readHeader(); err != nil {
		return nil, err
	}
	if p.signature, ok = decodeB64URL(sig); !ok {
		return nil, errorf(ErrMalformed, "the proof.jws signature is not base64url")
	}
	return p, nil
}

// readHeader checks the JWS protected header: PS256 (MOSIP's keymanager
// default) or RS256, b64 false and critical (RFC 7797), no other critical
// extension.
func (p *proof) readHeader() error {
	raw, ok := decodeB64URL(p.header)
	if !ok {
		return errorf(ErrMalformed, "the proof.jws header is not base64url")
	}
	if err := checkJSON(raw); err != nil {
		return errorf(ErrMalformed, "the proof.jws header is not a JSON object")
	}
	var h struct {
		Alg  string          `json:"alg"`
		B64  *bool           `json:"b64"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return errorf(ErrMalformed, "the proof.jws header is not a JSON object")
	}
	var crit []string
	if len(h.Crit) > 0 && json.Unmarshal(h.Crit, &crit) != nil {
		return errorf(ErrMalformed, "the proof.jws header crit is not a list of names")
	}
	switch {
	case h.Alg != "PS256" && h.Alg != "RS256":
		return errorf(ErrMalformed, "the proof.jws algorithm %q is not PS256 or RS256", h.Alg)
	case h.B64 == nil || *h.B64:
		return errorf(ErrMalformed, "the proof.jws header does not say b64 false (an unencoded, detached payload)")
	case !slices.Equal(crit, []string{"b64"}):
		return errorf(ErrMalformed, "the proof.jws header crit is %q, not [\"b64\"]", crit)
	}
	p.alg = h.Alg
	return nil
}

// decodeB64URL decodes unpadded base64url, refusing padding, other
// alphabets and non-canonical trailing bits.
func decodeB64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}

// checkSignature verifies a JWS signature over signingInput.
func checkSignature(alg string, key *rsa.PublicKey, signingInput, sig []byte) error {
	digest := sha256.Sum256(signingInput)
	switch alg {
	case "PS256":
		// RFC 7518 3.5: salt as long as the hash; MOSIP's keymanager and
		// vc-verifier use 32 bytes.
		return rsa.VerifyPSS(key, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "RS256":
		return rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig)
	}
	return errors.New("unsupported algorithm " + alg)
}

// unsignedProperties lists the properties of doc (and of its
// credentialSubject) that JSON-LD expansion drops. It runs a strict
// expansion of the whole credential first; only when that finds something
// does it look key by key. Properties nested deeper are not listed.
func unsignedProperties(doc map[string]any, c *Contexts) []string {
	unsigned := maps.Clone(doc)
	delete(unsigned, "proof")
	if expandsStrictly(unsigned, c) {
		return nil
	}
	var out []string
	base := map[string]any{"@context": doc["@context"]}
	for _, k := range []string{"type", "@type"} {
		if t, ok := doc[k]; ok {
			base[k] = t
		}
	}
	for _, k := range slices.Sorted(maps.Keys(unsigned)) {
		if k == "@context" || k == "type" || k == "@type" {
			continue
		}
		probe := maps.Clone(base)
		probe[k] = probeValue
		if !expandsStrictly(probe, c) {
			out = append(out, k)
		}
	}
	subject, ok := doc["credentialSubject"].(map[string]any)
	if !ok || slices.Contains(out, "credentialSubject") {
		return out
	}
	for _, k := range slices.Sorted(maps.Keys(subject)) {
		if k == "@context" || k == "type" || k == "@type" {
			continue
		}
		s := map[string]any{k: probeValue}
		for _, kk := range []string{"@context", "type", "@type"} {
			if v, ok := subject[kk]; ok {
				s[kk] = v
			}
		}
		probe := maps.Clone(base)
		probe["credentialSubject"] = s
		if !expandsStrictly(probe, c) {
			out = append(out, "credentialSubject."+k)
		}
	}
	return out
}

// probeValue stands for a property's value when unsignedProperties asks
// whether the property itself is defined: whether a key is dropped depends
// on its term definition, and a string expands under any of them.
const probeValue = "urn:x-probe:0"

// expandsStrictly reports whether doc expands without dropping a property.
func expandsStrictly(doc map[string]any, c *Contexts) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.DocumentLoader = &loader{c: c}
	opts.SafeMode = true
	_, err := ld.NewJsonLdProcessor().Expand(doc, opts)
	return err == nil
}
