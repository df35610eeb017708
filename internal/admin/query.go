package admin

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// maxSearch bounds Query.Search (identifiers are short).
const maxSearch = 200

// Validate checks q: EInvalid, naming the query parameter, for an unknown
// state, event kind or version, a negative age, a limit out of range or a
// search that cannot be an identifier.
func (q Query) Validate() error {
	switch {
	case q.State != "" && !q.State.Valid():
		return bridge.FieldErrorf(bridge.EInvalid, "state", "unknown state %q: want one of %s", q.State, StateNames())
	case q.Kind != "" && q.Kind != bridge.EventBirth && q.Kind != bridge.EventDeath && q.Kind != bridge.EventDeathReversal:
		return bridge.FieldErrorf(bridge.EInvalid, "kind", "unknown event kind %q: want birth, death or death-reversal", q.Kind)
	case q.Version != "" && q.Version != string(bridge.OpenCRVS18) && q.Version != string(bridge.OpenCRVS19):
		return bridge.FieldErrorf(bridge.EInvalid, "version", "unknown OpenCRVS version %q: want 1.8 or 1.9", q.Version)
	case q.OlderThan < 0:
		return bridge.FieldErrorf(bridge.EInvalid, "older_than", "the age cannot be negative")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return bridge.FieldErrorf(bridge.EInvalid, "limit", "the limit must be from 1 to %d", MaxLimit)
	case len(q.Search) > maxSearch:
		return bridge.FieldErrorf(bridge.EInvalid, "q", "the search is longer than %d characters: it is matched exactly against identifiers", maxSearch)
	}
	return nil
}

// StateNames lists every state, comma-separated.
func StateNames() string {
	names := make([]string, len(bridge.States))
	for i, s := range bridge.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// ParseQuery reads a Query from URL query parameters: state, kind,
// version, older_than (a Go duration such as 90m or 1h, or days such as
// 2d), q, limit and cursor. State and kind are not case-sensitive. EInvalid,
// naming the parameter, for a bad value.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{
		State:   bridge.State(strings.ToUpper(strings.TrimSpace(v.Get("state")))),
		Kind:    bridge.EventKind(strings.ToLower(strings.TrimSpace(v.Get("kind")))),
		Version: strings.TrimSpace(v.Get("version")),
		Search:  strings.TrimSpace(v.Get("q")),
		Cursor:  strings.TrimSpace(v.Get("cursor")),
	}
	if s := strings.TrimSpace(v.Get("older_than")); s != "" {
		d, err := ParseAge(s)
		if err != nil {
			return Query{}, bridge.FieldErrorf(bridge.EInvalid, "older_than", "%v", err)
		}
		q.OlderThan = d
	}
	if s := strings.TrimSpace(v.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return Query{}, bridge.FieldErrorf(bridge.EInvalid, "limit", "the limit must be a number from 1 to %d", MaxLimit)
		}
		q.Limit = n
	}
	if q.Cursor != "" {
		if _, err := decodeCursor(q.Cursor); err != nil {
			return Query{}, err
		}
	}
	return q, q.Validate()
}

// ParseAge reads an age: a Go duration (90m, 1h30m) or whole days (2d).
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return 0, bridge.Errorf(bridge.EInvalid, "%q is not an age such as 90m, 1h or 2d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bridge.Errorf(bridge.EInvalid, "%q is not an age such as 90m, 1h or 2d", s)
	}
	return d, nil
}

// Values is q as URL query parameters (ParseQuery's inverse): for links to
// a filtered listing or its next page.
func (q Query) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("state", string(q.State))
	set("kind", string(q.Kind))
	set("version", q.Version)
	if q.OlderThan > 0 {
		set("older_than", q.OlderThan.String())
	}
	set("q", q.Search)
	if q.Limit > 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	set("cursor", q.Cursor)
	return v
}

// A cursor is the position of the last transaction of a page: its creation
// time (Unix ms) and AID, opaque to clients.
func encodeCursor(p store.Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.CreatedAt.UnixMilli(), 10) + ":" + p.ID))
}

func decodeCursor(c string) (store.Position, error) {
	bad := bridge.FieldErrorf(bridge.EInvalid, "cursor", "the cursor is not one a listing returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return store.Position{}, bad
	}
	ms, id, ok := strings.Cut(string(b), ":")
	at, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || at < 0 {
		return store.Position{}, bad
	}
	return store.Position{CreatedAt: time.UnixMilli(at).UTC(), ID: id}, nil
}
