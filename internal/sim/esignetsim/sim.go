package esignetsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

//go:embed identities.json
var identitiesJSON []byte

// Defaults, E-Signet's where it has them.
const (
	// DefaultCodeLifetime is how long an authorization code is valid
	// (E-Signet's authcodegenerated cache: 60 s).
	DefaultCodeLifetime = time.Minute
	// DefaultTokenLifetime is the access and ID token lifetime
	// (mosip.esignet.access-token-expire-seconds: 3600).
	DefaultTokenLifetime = time.Hour
	// DefaultClockSkew is the skew allowed on a client assertion's exp,
	// nbf and iat.
	DefaultClockSkew = 5 * time.Second
	maxFormBytes     = 64 << 10
)

// Identity is a person who can sign in.
type Identity struct {
	FirstName  string `json:"firstName"`
	MiddleName string `json:"middleName"`
	FamilyName string `json:"familyName"`
	BirthDate  string `json:"birthDate"` // YYYY-MM-DD
	Gender     string `json:"gender"`    // male, female
	NID        string `json:"nid"`       // UIN or VID they sign in with
}

// DefaultIdentities returns OpenCRVS's mock identities, the simulator's
// default population.
func DefaultIdentities() []Identity {
	var ids []Identity
	if err := json.Unmarshal(identitiesJSON, &ids); err != nil {
		panic("esignetsim: embedded identities.json: " + err.Error())
	}
	return ids
}

// Client is a registered relying party.
type Client struct {
	ID string
	// PublicKey verifies the client's assertions.
	PublicKey *jose.JSONWebKey
	// RedirectURIs the client may use: exact, or a prefix ending in "*".
	// Empty: any.
	RedirectURIs []string
	// EncryptUserInfo: the user info is a JWE to PublicKey (an RSA key),
	// as for a client registered with userinfo_response_type JWE.
	EncryptUserInfo bool
}

// Config configures a Sim.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Issuer is the simulator's base URL as clients reach it, e.g.
	// http://127.0.0.1:20240/v1/esignet (empty: from each request).
	Issuer     string
	Clients    []Client
	Identities []Identity // nil: DefaultIdentities
	// SigningKey signs tokens and user info (nil: a new RSA-2048 key).
	SigningKey    *rsa.PrivateKey
	CodeLifetime  time.Duration // 0: DefaultCodeLifetime
	TokenLifetime time.Duration // 0: DefaultTokenLifetime
	ClockSkew     time.Duration // 0: DefaultClockSkew
}

// Faults make the simulator misbehave on purpose.
type Faults struct {
	// UserInfoSignature: "" (a good signature), "unknown-key" (signed by
	// a key the JWKS does not hold) or "tampered" (a claim changed after
	// signing).
	UserInfoSignature string `json:"userInfoSignature"`
}

// Sim is the E-Signet simulator, an http.Handler.
type Sim struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	key     *rsa.PrivateKey
	keyID   string
	forger  *rsa.PrivateKey // signs "unknown-key" user info
	clients map[string]Client
	ids     map[string]Identity

	mu        sync.Mutex
	codes     map[string]*grant    // by authorization code
	tokens    map[string]*grant    // by SHA-256 of the access token
	jtis      map[string]time.Time // client assertion jti -> when it may be forgotten
	faults    Faults
	lastPurge time.Time
}

// grant is one authorization: the code, then the tokens it gave.
type grant struct {
	client      string
	redirectURI string
	nonce       string
	identity    Identity
	expires     time.Time
}

// New returns a simulator.
func New(cfg Config) (*Sim, error) {
	s := &Sim{cfg: cfg, log: cfg.Logger, now: cfg.Now, key: cfg.SigningKey,
		clients: map[string]Client{}, ids: map[string]Identity{},
		codes: map[string]*grant{}, tokens: map[string]*grant{}, jtis: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.CodeLifetime <= 0 {
		s.cfg.CodeLifetime = DefaultCodeLifetime
	}
	if s.cfg.TokenLifetime <= 0 {
		s.cfg.TokenLifetime = DefaultTokenLifetime
	}
	if s.cfg.ClockSkew <= 0 {
		s.cfg.ClockSkew = DefaultClockSkew
	}
	var err error
	if s.key == nil {
		if s.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	if s.forger, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: &s.key.PublicKey}
	thumb, err := pub.Thumbprint(cryptoSHA256)
	if err != nil {
		return nil, err
	}
	s.keyID = base64.RawURLEncoding.EncodeToString(thumb)
	for _, c := range cfg.Clients {
		if c.ID == "" || c.PublicKey == nil || c.PublicKey.Key == nil {
			return nil, errors.New("esignetsim: a client needs an id and a public key")
		}
		pk := c.PublicKey.Public()
		if pk.Key == nil {
			return nil, fmt.Errorf("esignetsim: client %s: the key has no public part", c.ID)
		}
		if c.EncryptUserInfo {
			if _, ok := pk.Key.(*rsa.PublicKey); !ok {
				return nil, fmt.Errorf("esignetsim: client %s: encrypted user info needs an RSA key", c.ID)
			}
		}
		c.PublicKey = &pk
		s.clients[c.ID] = c
	}
	ids := cfg.Identities
	if ids == nil {
		ids = DefaultIdentities()
	}
	for _, id := range ids {
		s.ids[id.NID] = id
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the E-Signet endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close releases nothing; it is there so that the simulator is run like
// the others.
func (s *Sim) Close() error { return nil }

// SetFaults replaces the faults.
func (s *Sim) SetFaults(f Faults) error {
	switch f.UserInfoSignature {
	case "", "unknown-key", "tampered":
	default:
		return fmt.Errorf("userInfoSignature must be \"\", \"unknown-key\" or \"tampered\", not %q", f.UserInfoSignature)
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	return nil
}

// PublicKey is the key user info and tokens are signed with.
func (s *Sim) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// RegisterClient adds or replaces a relying party.
func (s *Sim) RegisterClient(c Client) error {
	if c.ID == "" || c.PublicKey == nil || c.PublicKey.Key == nil {
		return errors.New("esignetsim: a client needs an id and a public key")
	}
	pk := c.PublicKey.Public()
	c.PublicKey = &pk
	s.mu.Lock()
	s.clients[c.ID] = c
	s.mu.Unlock()
	return nil
}

// Authorize does what a person signing in does: it checks the request as
// /authorize does and returns a new authorization code for the identity
// whose UIN or VID is individualID.
func (s *Sim) Authorize(clientID, redirectURI, individualID, nonce string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return "", fmt.Errorf("invalid_client_id: no client %q is registered", clientID)
	}
	if !redirectAllowed(c, redirectURI) {
		return "", errors.New("invalid_redirect_uri: the redirect URI is not registered for the client")
	}
	id, ok := s.ids[individualID]
	if !ok {
		return "", errors.New("invalid_individual_id: no identity has this UIN or VID")
	}
	code := randomToken()
	now := s.now()
	s.purgeLocked(now)
	s.codes[code] = &grant{client: clientID, redirectURI: redirectURI, nonce: nonce, identity: id, expires: now.Add(s.cfg.CodeLifetime)}
	return code, nil
}

// purgeLocked forgets expired codes, tokens and jtis, at most once a
// second. s.mu is held.
func (s *Sim) purgeLocked(now time.Time) {
	if now.Sub(s.lastPurge) < time.Second {
		return
	}
	s.lastPurge = now
	for k, g := range s.codes {
		if now.After(g.expires) {
			delete(s.codes, k)
		}
	}
	for k, g := range s.tokens {
		if now.After(g.expires) {
			delete(s.tokens, k)
		}
	}
	for k, until := range s.jtis {
		if now.After(until) {
			delete(s.jtis, k)
		}
	}
}

func redirectAllowed(c Client, uri string) bool {
	if uri == "" {
		return false
	}
	if len(c.RedirectURIs) == 0 {
		return true
	}
	for _, p := range c.RedirectURIs {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(uri, prefix) || p == uri {
			return true
		}
	}
	return false
}

// psut is the partner-specific user token: the same person has a
// different sub for each client, and it reveals nothing of the UIN.
func psut(clientID, nid string) string {
	sum := sha256.Sum256([]byte("esignetsim psut\x00" + clientID + "\x00" + nid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return string(sum[:])
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
