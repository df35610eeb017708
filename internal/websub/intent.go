package websub

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"opencrvs-mosip/internal/telemetry"
)

// Modes of the hub's GET on the callback.
const (
	ModeSubscribe   = "subscribe"
	ModeUnsubscribe = "unsubscribe"
	ModeDenied      = "denied"
)

// Bounds on intent values: MOSIP's challenge is a UUID, its topics are
// short; anything far longer is not from the hub.
const (
	maxChallengeLen = 256
	maxTopicLen     = 1024
	maxReasonLen    = 500
	maxRawQueryLen  = 8 << 10
	maxQueryParts   = 64
	// maxLeaseSeconds is ten years: a longer lease is a broken hub.
	maxLeaseSeconds = 10 * 365 * 24 * 3600
)

// Intent is the hub's GET on the callback: a request to verify a
// subscribe or unsubscribe intent (with a challenge to echo), or a notice
// that a subscription was denied.
type Intent struct {
	Mode, Topic, Challenge string
	// Reason is the hub's reason for a denial, shortened and made printable.
	Reason string
	// LeaseSeconds is hub.lease_seconds; 0 when absent.
	LeaseSeconds int
}

// ParseIntent reads the hub's query values. It wants hub.mode; for
// subscribe and unsubscribe also hub.topic and a printable hub.challenge;
// for denied hub.topic (hub.reason optional). A parameter given twice is
// refused: which one the hub meant would be a guess.
func ParseIntent(q url.Values) (Intent, error) {
	one := func(key string) (string, error) {
		switch vs := q[key]; len(vs) {
		case 0:
			return "", nil
		case 1:
			return vs[0], nil
		default:
			return "", fmt.Errorf("websub: intent: %s given %d times", key, len(vs))
		}
	}
	var in Intent
	mode, err := one("hub.mode")
	if err != nil {
		return Intent{}, err
	}
	in.Mode = strings.ToLower(strings.TrimSpace(mode))
	if in.Topic, err = one("hub.topic"); err != nil {
		return Intent{}, err
	}
	if in.Challenge, err = one("hub.challenge"); err != nil {
		return Intent{}, err
	}
	reason, err := one("hub.reason")
	if err != nil {
		return Intent{}, err
	}
	in.Reason = telemetry.Printable(reason, maxReasonLen)
	lease, err := one("hub.lease_seconds")
	if err != nil {
		return Intent{}, err
	}

	switch in.Mode {
	case ModeSubscribe, ModeUnsubscribe, ModeDenied:
	case "":
		return Intent{}, errors.New("websub: intent: hub.mode is missing")
	default:
		return Intent{}, fmt.Errorf("websub: intent: unknown hub.mode %q", telemetry.Printable(mode, 40))
	}
	if in.Topic == "" {
		return Intent{}, errors.New("websub: intent: hub.topic is missing")
	}
	if len(in.Topic) > maxTopicLen || !isPrintable(in.Topic) {
		return Intent{}, errors.New("websub: intent: hub.topic is too long or not printable")
	}
	if in.Mode == ModeDenied {
		in.Challenge = ""
		return in, nil
	}
	if in.Challenge == "" {
		return Intent{}, errors.New("websub: intent: hub.challenge is missing")
	}
	if len(in.Challenge) > maxChallengeLen || !isVisibleASCII(in.Challenge) {
		return Intent{}, fmt.Errorf("websub: intent: hub.challenge must be at most %d visible ASCII characters", maxChallengeLen)
	}
	if lease != "" {
		n, err := strconv.Atoi(strings.TrimSpace(lease))
		if err != nil || n < 0 || n > maxLeaseSeconds {
			return Intent{}, fmt.Errorf("websub: intent: hub.lease_seconds %q is not a number of seconds between 0 and %d", telemetry.Printable(lease, 40), maxLeaseSeconds)
		}
		in.LeaseSeconds = n
	}
	return in, nil
}

// ParseIntentQuery parses a raw query string leniently and then applies
// ParseIntent. MOSIP's hub builds the query by concatenation without
// URL-encoding the values, so a value may hold a bare "%" or other bytes
// that url.ParseQuery (and http.Request.URL.Query) would drop the whole
// parameter for. Each value is unescaped if it is valid escaping and kept
// as sent otherwise. Prefer this over ParseIntent(r.URL.Query()).
func ParseIntentQuery(rawQuery string) (Intent, error) {
	if len(rawQuery) > maxRawQueryLen {
		return Intent{}, fmt.Errorf("websub: intent: query longer than %d bytes", maxRawQueryLen)
	}
	q := url.Values{}
	parts := 0
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		if parts++; parts > maxQueryParts {
			return Intent{}, fmt.Errorf("websub: intent: more than %d query parameters", maxQueryParts)
		}
		key, value, _ := strings.Cut(part, "=")
		key = lenientUnescape(key)
		if !strings.HasPrefix(key, "hub.") {
			continue // the callback's own parameters
		}
		q.Add(key, lenientUnescape(value))
	}
	return ParseIntent(q)
}

// lenientUnescape decodes query escaping, or returns s as sent when it is
// not valid escaping (a raw "%" from a hub that does not encode).
func lenientUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// isPrintable reports whether s is valid UTF-8 without control characters.
func isPrintable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// isVisibleASCII reports whether s holds only ASCII from '!' to '~', so
// that echoing it as text/plain cannot inject anything.
func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}
