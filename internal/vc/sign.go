package vc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// CreatedLayout is how a proof's created time is written: second
// precision in UTC, as ld-signatures-java writes it.
const CreatedLayout = "2006-01-02T15:04:05Z"

// Proof is an RsaSignature2018 proof as MOSIP writes it.
type Proof struct {
	Type               string `json:"type"`
	Created            string `json:"created"`
	ProofPurpose       string `json:"proofPurpose"`
	VerificationMethod string `json:"verificationMethod"`
	JWS                string `json:"jws"`
}

// Map returns p as a JSON object value.
func (p *Proof) Map() map[string]any {
	return map[string]any{
		"type": p.Type, "created": p.Created, "proofPurpose": p.ProofPurpose,
		"verificationMethod": p.VerificationMethod, "jws": p.JWS,
	}
}

// Signer makes RsaSignature2018 proofs the way MOSIP's credential service
// does (VerCredProvider with keymanager's jwsSign): PS256, detached and
// unencoded (RFC 7797) over the same verify data Verify checks. It is for
// the MOSIP simulator and tests.
type Signer struct {
	key      *rsa.PrivateKey
	contexts *Contexts
	now      func() time.Time
}

// NewSigner returns a Signer with key; contexts are the JSON-LD contexts
// its credentials use (nil: BundledContexts()); now is its clock (nil:
// time.Now).
func NewSigner(key *rsa.PrivateKey, contexts *Contexts, now func() time.Time) (*Signer, error) {
	if key == nil {
		return nil, errors.New("vc: a signer needs a key")
	}
	if contexts == nil {
		contexts = BundledContexts()
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, contexts: contexts, now: now}, nil
}

// jwsHeader is the protected header keymanager's jwsSign writes for
// b64JWSHeaderParam false and PS256 (no key id or certificate here).
const jwsHeader = `{"alg":"PS256","b64":false,"crit":["b64"]}`

// Proof returns the proof of credential (a JSON object without a proof)
// by the key of verificationMethod.
func (s *Signer) Proof(credential []byte, verificationMethod string) (*Proof, error) {
	doc, err := decodeObject(credential)
	if err != nil {
		return nil, err
	}
	if _, ok := doc["proof"]; ok {
		return nil, errorf(ErrMalformed, "the credential already has a proof")
	}
	p := &Proof{Type: ProofType, Created: s.now().UTC().Format(CreatedLayout), ProofPurpose: ProofPurpose, VerificationMethod: verificationMethod}
	options := p.Map()
	delete(options, "jws")
	data, err := verifyData(doc, options, s.contexts)
	if err != nil {
		return nil, err
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(jwsHeader))
	digest := sha256.Sum256(append([]byte(header+"."), data...))
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		return nil, err
	}
	p.JWS = header + ".." + base64.RawURLEncoding.EncodeToString(sig)
	return p, nil
}

// Sign returns credential with the proof of verificationMethod's key
// added, as JSON.
func (s *Signer) Sign(credential []byte, verificationMethod string) ([]byte, error) {
	p, err := s.Proof(credential, verificationMethod)
	if err != nil {
		return nil, err
	}
	doc, err := decodeObject(credential)
	if err != nil {
		return nil, err
	}
	doc["proof"] = p.Map()
	return json.Marshal(doc)
}
