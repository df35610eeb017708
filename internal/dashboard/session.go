package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions are signed cookies, not server state: the cookie carries a random
// session id and its expiry, signed with a key derived from ADMIN_TOKEN. Any
// replica accepts it, and changing the token logs every operator out.

// cookieName is the session cookie. It is scoped to /ui/.
const cookieName = "ocm_dashboard"

// session is a signed-in operator.
type session struct {
	ID      string // 32 hex digits, random
	Expires time.Time
}

// sessions signs and checks session cookies.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
	// revoked holds the ids of sessions logged out before they expired
	// (this replica only; another replica accepts such a cookie until it
	// expires, as it cannot know of the logout).
	mu      sync.Mutex
	revoked map[string]time.Time
}

func newSessions(adminToken string, ttl time.Duration, now func() time.Time) *sessions {
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte("opencrvs-mosip dashboard session key v1"))
	return &sessions{key: mac.Sum(nil), ttl: ttl, now: now, revoked: map[string]time.Time{}}
}

// start begins a session.
func (s *sessions) start() (session, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return session{}, fmt.Errorf("dashboard: session id: %w", err)
	}
	return session{ID: hex.EncodeToString(b[:]), Expires: s.now().Add(s.ttl).Truncate(time.Second)}, nil
}

// encode is the cookie value of se: payload "." signature.
func (s *sessions) encode(se session) string {
	payload := "v1|" + se.ID + "|" + strconv.FormatInt(se.Expires.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(s.sign("session|"+payload))
}

// decode checks a cookie value: signature (in constant time), expiry and
// logout.
func (s *sessions) decode(value string) (session, bool) {
	p64, sig64, ok := strings.Cut(value, ".")
	if !ok || len(value) > 256 {
		return session{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		return session{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil || !hmac.Equal(sig, s.sign("session|"+string(payload))) {
		return session{}, false
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] != "v1" {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return session{}, false
	}
	se := session{ID: parts[1], Expires: time.Unix(exp, 0)}
	if !s.now().Before(se.Expires) || s.isRevoked(se.ID) {
		return session{}, false
	}
	return se, true
}

// csrf is the session's CSRF token: a signature of its id, so that it
// needs no storage either.
func (s *sessions) csrf(se session) string {
	return base64.RawURLEncoding.EncodeToString(s.sign("csrf|" + se.ID))
}

// checkCSRF compares a submitted token with the session's in constant time.
func (s *sessions) checkCSRF(se session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, s.sign("csrf|"+se.ID))
}

func (s *sessions) sign(msg string) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// revoke ends se on this replica before it expires.
func (s *sessions) revoke(se session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[se.ID] = se.Expires
}

func (s *sessions) isRevoked(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[id]
	return ok
}

// cookie is the session cookie for se (an expired one clears it). It is
// Secure when the request came over TLS (directly or through a proxy that
// says so).
func (s *sessions) cookie(r *http.Request, se session, clear bool) *http.Cookie {
	c := &http.Cookie{
		Name: cookieName, Value: s.encode(se), Path: "/ui/",
		Expires: se.Expires, MaxAge: int(se.Expires.Sub(s.now()).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	}
	if clear {
		c.Value, c.MaxAge, c.Expires = "", -1, time.Unix(0, 0)
	}
	return c
}

// current is the request's valid session, if any.
func (s *sessions) current(r *http.Request) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	return s.decode(c.Value)
}

// who names the operator of se in the transaction log: the start of the
// session id, enough to tell sessions apart and useless to forge one.
func who(se session) string { return "dashboard, session " + se.ID[:8] }
