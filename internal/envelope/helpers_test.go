package envelope

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// party is one mediator's key and self-signed certificate.
type party struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func (p *party) peer() *PeerKey { return &PeerKey{Public: &p.key.PublicKey, Cert: p.cert} }

func newParty(name string) (*party, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	cert, err := selfSign(name, key, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &party{key: key, cert: cert}, nil
}

func selfSign(name string, signer *rsa.PrivateKey, pub any) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// parties are generated once for all tests: alice is the OpenCRVS side, bob
// the MOSIP side, mallory anyone else. RSA key generation is the slow part
// of these tests.
var parties = sync.OnceValues(func() ([3]*party, error) {
	var ps [3]*party
	for i, name := range []string{"alice", "bob", "mallory"} {
		p, err := newParty(name)
		if err != nil {
			return ps, err
		}
		ps[i] = p
	}
	return ps, nil
})

func mustParties(t testing.TB) (alice, bob, mallory *party) {
	t.Helper()
	ps, err := parties()
	if err != nil {
		t.Fatal(err)
	}
	return ps[0], ps[1], ps[2]
}

// testNow is the clock of every sealer and opener in the tests.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// pair is alice sealing to bob and bob opening from alice, in protocol p.
func pair(t testing.TB, p Protocol) (*Sealer, *Opener) {
	t.Helper()
	alice, bob, _ := mustParties(t)
	return &Sealer{Own: alice.key, Peer: bob.peer(), Protocol: p, Now: fixedClock(testNow)},
		&Opener{Own: bob.key, Peer: &alice.key.PublicKey, Protocol: p, Now: fixedClock(testNow)}
}

func mustSeal(t testing.TB, s *Sealer, id string, plain []byte) *Envelope {
	t.Helper()
	e, err := s.Seal(id, plain)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var allProtocols = []Protocol{V2, JavaCompat, LegacyResult}

// sentinels are the errors Open and Decode may wrap.
var sentinels = []error{ErrFormat, ErrSignature, ErrStale, ErrDecrypt, ErrProtocol}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
