package peer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
)

// party is one mediator's key and self-signed certificate.
type party struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func (p *party) peer() *envelope.PeerKey {
	return &envelope.PeerKey{Public: &p.key.PublicKey, Cert: p.cert}
}

// parties are generated once: ocrvs is the OpenCRVS side, mosip the MOSIP
// side, mallory anyone else. Key generation is the slow part of the tests.
var parties = sync.OnceValues(func() ([3]*party, error) {
	var ps [3]*party
	for i, name := range []string{"opencrvs-side", "mosip-side", "mallory"} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return ps, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return ps, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return ps, err
		}
		ps[i] = &party{key: key, cert: cert}
	}
	return ps, nil
})

func mustParties(t testing.TB) (ocrvs, mosip, mallory *party) {
	t.Helper()
	ps, err := parties()
	if err != nil {
		t.Fatalf("generating keys: %v", err)
	}
	return ps[0], ps[1], ps[2]
}

// clock is a settable clock shared by a test's parties.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// memReplay is a Replay in memory, as the store keeps it in a table.
type memReplay struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]time.Time
	err error
}

func (r *memReplay) RememberEnvelope(_ context.Context, key string, expires time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	if exp, ok := r.m[key]; ok && r.now().Before(exp) {
		return false, nil
	}
	r.m[key] = expires
	return true, nil
}

// sealer seals from `from` to `to` in protocol p on clock c.
func sealer(from, to *party, p envelope.Protocol, c *clock) *envelope.Sealer {
	return &envelope.Sealer{Own: from.key, Peer: to.peer(), Protocol: p, Now: c.now}
}

// receiver opens at `at` what `from` sealed, in protocol p on clock c.
func receiver(at, from *party, p envelope.Protocol, c *clock) *Receiver {
	return &Receiver{
		Opener: &envelope.Opener{Own: at.key, Peer: &from.key.PublicKey, Protocol: p, Now: c.now},
		Replay: &memReplay{now: c.now},
	}
}

// javaStatus is the status a handler gives a bridge code (as httpapi's
// status function does), for test servers that answer in the Java shape.
func javaStatus(err error) int {
	switch bridge.ErrorCodeOf(err) {
	case bridge.EInvalid:
		return http.StatusBadRequest
	case bridge.EUnauthorized:
		return http.StatusUnauthorized
	case bridge.EForbidden:
		return http.StatusForbidden
	case bridge.EConflict:
		return http.StatusConflict
	case bridge.ETooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// received is what a test server saw of one request.
type received struct {
	path, cookie, bearer string
	body, plain          []byte
	env                  envelope.Envelope
}

// peerServer is the MOSIP side for Forward and GenerateAID (or the
// OpenCRVS side for SendResult): it opens envelopes with rcv and answers
// with answer, or with the Java error shape.
type peerServer struct {
	srv  *httptest.Server
	rcv  *Receiver
	mu   sync.Mutex
	seen []received
}

func newPeerServer(t *testing.T, rcv *Receiver, answer func(w http.ResponseWriter, r received)) *peerServer {
	t.Helper()
	ps := &peerServer{rcv: rcv}
	ps.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := received{path: r.URL.Path, bearer: r.Header.Get("Authorization")}
		if c, err := r.Cookie("Authorization"); err == nil {
			got.cookie = c.Value
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, envelope.MaxBytes+1))
		if err != nil {
			WriteJavaError(w, http.StatusBadRequest, "read", err.Error())
			return
		}
		got.body = body
		if r.Method == http.MethodPost {
			env, plain, err := rcv.Open(r.Context(), body)
			if err != nil {
				WriteJavaError(w, javaStatus(err), string(bridge.ErrorCodeOf(err)), messageOf(err))
				return
			}
			got.env, got.plain = env, plain
		}
		ps.mu.Lock()
		ps.seen = append(ps.seen, got)
		ps.mu.Unlock()
		answer(w, got)
	}))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *peerServer) last(t *testing.T) received {
	t.Helper()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.seen) == 0 {
		t.Fatal("the peer server received nothing")
	}
	return ps.seen[len(ps.seen)-1]
}

// messageOf is a bridge error's caller-facing message.
func messageOf(err error) string {
	var be *bridge.Error
	if errors.As(err, &be) {
		return be.Message
	}
	return "internal error"
}

func staticToken(tok string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return tok, nil }
}

// a JWT-shaped token; its content does not matter to the client.
const testToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
