package telemetry

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Endpoint names one URL the mediator calls, for the system and endpoint
// labels of outbound metrics: a request is counted under the endpoint
// whose URL is the longest prefix of the request's URL (scheme, host and
// path; a prefix ends at a path segment). Name is a fixed name such as
// createPacket or graphql, never a path with ids in it.
type Endpoint struct {
	System, Name, URL string
}

// Transport returns next (http.DefaultTransport if nil) counting every
// request: its duration until the answer's headers, and as an error an
// answer of 4xx or 5xx or no answer at all. Requests to URLs no endpoint
// covers are counted as system "unknown", endpoint "other". Endpoints
// with an empty or unparsable URL are left out. On a nil *Metrics it
// returns next as it is.
func (m *Metrics) Transport(next http.RoundTripper, endpoints []Endpoint) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if m == nil {
		return next
	}
	t := &transport{next: next, m: m}
	for _, e := range endpoints {
		prefix, ok := urlKey(e.URL)
		if !ok || e.System == "" || e.Name == "" {
			continue
		}
		t.routes = append(t.routes, route{prefix: prefix, system: e.System, name: e.Name})
	}
	// Longest first: the first match is the longest prefix.
	sort.SliceStable(t.routes, func(i, j int) bool { return len(t.routes[i].prefix) > len(t.routes[j].prefix) })
	return t
}

type route struct{ prefix, system, name string }

type transport struct {
	next   http.RoundTripper
	m      *Metrics
	routes []route
}

// urlKey is the part of a URL endpoints are matched on: lower-case scheme
// and host, and the path without a trailing slash.
func urlKey(raw string) (string, bool) {
	if raw == "" {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/"), true
}

func (t *transport) classify(u *url.URL) (system, name string) {
	key := strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
	for _, r := range t.routes {
		if strings.HasPrefix(key, r.prefix) && (len(key) == len(r.prefix) || key[len(r.prefix)] == '/') {
			return r.system, r.name
		}
	}
	return SystemUnknown, EndpointOther
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	system, name := t.classify(req.URL)
	start := t.m.now()
	resp, err := t.next.RoundTrip(req)
	d := t.m.now().Sub(start)
	code := ""
	switch {
	case err != nil:
		code = transportErrorCode(req.Context(), err)
	case resp.StatusCode >= 500:
		code = "http_5xx"
	case resp.StatusCode >= 400:
		code = "http_4xx"
	}
	t.m.callDuration.WithLabelValues(system, name).Observe(d.Seconds())
	if code != "" {
		t.m.callErrors.WithLabelValues(system, name, code).Inc()
	}
	t.m.calls.observe(system, d, code != "")
	return resp, err
}

func transportErrorCode(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled) && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "network"
}

// CallStats summarises the calls to one system over a recent window.
type CallStats struct {
	// Calls made, and Errors among them (no answer, 4xx, 5xx, or an error
	// code in a 2xx answer).
	Calls, Errors int
	// P50 and P95 are the median and 95th percentile of the calls'
	// durations, to within about 10% (zero without calls).
	P50, P95 time.Duration
}

// CallStats summarises the calls to system ("mosip", "opencrvs", ...)
// over the last window, rounded up to whole minutes (the current one
// included) and at most an hour.
func (m *Metrics) CallStats(system string, window time.Duration) CallStats {
	if m == nil {
		return CallStats{}
	}
	return m.calls.stats(system, window)
}

// Bounds of the call statistics: an hour of one-minute slots per system,
// each with a fixed histogram, for at most maxSystems systems. Memory is
// the same whatever the load.
const (
	ringMinutes = 60
	maxSystems  = 32
	// Histogram buckets: bucket i holds durations up to bucketBase *
	// bucketGrowth^i; the last one holds the rest.
	bucketBase   = time.Millisecond
	bucketGrowth = 1.2
	nBuckets     = 72 // up to about 8 minutes
)

var bucketBounds = func() [nBuckets]time.Duration {
	var b [nBuckets]time.Duration
	for i := range b {
		b[i] = time.Duration(float64(bucketBase) * math.Pow(bucketGrowth, float64(i)))
	}
	return b
}()

func bucketOf(d time.Duration) int {
	i := sort.Search(nBuckets, func(i int) bool { return d <= bucketBounds[i] })
	return min(i, nBuckets-1)
}

type callSlot struct {
	minute        int64 // Unix minute the slot counts; another: stale
	calls, errors int
	min, max      time.Duration
	buckets       [nBuckets]uint32
}

type callRing struct {
	mu    sync.Mutex
	slots [ringMinutes]callSlot
}

type callStats struct {
	now   func() time.Time
	mu    sync.RWMutex
	rings map[string]*callRing
}

func newCallStats(now func() time.Time) *callStats {
	return &callStats{now: now, rings: map[string]*callRing{}}
}

// ring returns system's ring, making it while there are fewer than
// maxSystems (then nil: not counted).
func (c *callStats) ring(system string) *callRing {
	c.mu.RLock()
	r := c.rings[system]
	c.mu.RUnlock()
	if r != nil {
		return r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r = c.rings[system]; r == nil && len(c.rings) < maxSystems {
		r = &callRing{}
		c.rings[system] = r
	}
	return r
}

// slot returns the slot of minute, emptied if it held an older minute.
// r.mu must be held.
func (r *callRing) slot(minute int64) *callSlot {
	s := &r.slots[minute%ringMinutes]
	if s.minute != minute {
		*s = callSlot{minute: minute}
	}
	return s
}

func unixMinute(t time.Time) int64 { return t.Unix() / 60 }

func (c *callStats) observe(system string, d time.Duration, failed bool) {
	r := c.ring(system)
	if r == nil {
		return
	}
	minute := unixMinute(c.now())
	d = max(d, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.slot(minute)
	if s.calls == 0 || d < s.min {
		s.min = d
	}
	s.max = max(s.max, d)
	s.calls++
	if failed {
		s.errors++
	}
	s.buckets[bucketOf(d)]++
}

// failed counts an error found in an answer already counted as a call.
func (c *callStats) failed(system string) {
	r := c.ring(system)
	if r == nil {
		return
	}
	minute := unixMinute(c.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slot(minute).errors++
}

func (c *callStats) stats(system string, window time.Duration) CallStats {
	c.mu.RLock()
	r := c.rings[system]
	c.mu.RUnlock()
	if r == nil {
		return CallStats{}
	}
	minutes := int64(min(max(1, (window+time.Minute-1)/time.Minute), ringMinutes))
	now := unixMinute(c.now())
	var (
		out      CallStats
		buckets  [nBuckets]uint64
		lo, hi   time.Duration
		anyCalls bool
	)
	r.mu.Lock()
	for i := range r.slots {
		s := &r.slots[i]
		if s.minute <= now-minutes || s.minute > now {
			continue
		}
		out.Errors += s.errors
		if s.calls == 0 {
			continue
		}
		out.Calls += s.calls
		if !anyCalls || s.min < lo {
			lo = s.min
		}
		hi = max(hi, s.max)
		anyCalls = true
		for b, n := range s.buckets {
			buckets[b] += uint64(n)
		}
	}
	r.mu.Unlock()
	out.Errors = min(out.Errors, out.Calls)
	if out.Calls > 0 {
		out.P50 = percentile(&buckets, out.Calls, 0.50, lo, hi)
		out.P95 = percentile(&buckets, out.Calls, 0.95, lo, hi)
	}
	return out
}

// percentile is the nearest-rank percentile p of n durations counted in
// buckets, interpolated within its bucket as if the bucket's durations
// were spread evenly, and kept within the smallest and largest duration
// seen.
func percentile(buckets *[nBuckets]uint64, n int, p float64, lo, hi time.Duration) time.Duration {
	rank := uint64(math.Ceil(p * float64(n)))
	var seen uint64
	for i, c := range buckets {
		if c == 0 || seen+c < rank {
			seen += c
			continue
		}
		lower := time.Duration(0)
		if i > 0 {
			lower = bucketBounds[i-1]
		}
		upper := bucketBounds[i]
		if i == nBuckets-1 {
			upper = max(upper, hi)
		}
		d := lower + time.Duration(float64(upper-lower)*float64(rank-seen)/float64(c))
		return min(max(d, lo), hi)
	}
	return hi
}
