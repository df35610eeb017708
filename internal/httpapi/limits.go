package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"opencrvs-mosip/internal/bridge"
)

// Body limits of the routes whose bodies are small by nature. Records
// (intake, review) take Config.MaxBodyBytes.
const (
	// smallBodyBytes: a national ID to verify, a QR code, an authorization
	// code, an operator's reason.
	smallBodyBytes = 64 << 10
	// deliveryBodyBytes: a WebSub delivery carries one credential, which
	// may hold a photo.
	deliveryBodyBytes = 4 << 20
)

// maxJSONDepth bounds how deeply a request body's JSON may nest. OpenCRVS's
// FHIR bundles nest about a dozen levels; a body of a million opening
// brackets would otherwise be walked by every parser it reaches.
const maxJSONDepth = 64

// checkJSONDepth refuses a body whose arrays and objects nest deeper than
// max. It does not validate the JSON: the parsers that follow do.
func checkJSONDepth(body []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return bridge.Errorf(bridge.EInvalid, "the JSON body nests deeper than %d levels", max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// RateLimit is a per-client request rate: PerSecond on average, Burst at
// once. PerSecond 0 turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// clientLimits holds one token bucket per client. A client is its address
// (IPv6: its /64), or, behind a trusted proxy, the address the proxy saw.
// The map is bounded: idle clients are forgotten (a forgotten client's
// bucket was full anyway), and when more than maxClients are active at
// once, the newcomers share one bucket, so spoofed or rotating addresses
// cost memory no more than they cost the limit.
type clientLimits struct {
	limit      rate.Limit
	burst      int
	trusted    []netip.Prefix
	now        func() time.Time
	maxClients int
	idle       time.Duration

	mu        sync.Mutex
	clients   map[netip.Prefix]*clientBucket
	overflow  *rate.Limiter
	lastSweep time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newClientLimits(l RateLimit, trusted []netip.Prefix, now func() time.Time) *clientLimits {
	if l.PerSecond <= 0 {
		return nil
	}
	burst := max(l.Burst, 1)
	return &clientLimits{
		limit: rate.Limit(l.PerSecond), burst: burst, trusted: trusted, now: now,
		maxClients: 10_000, idle: 10 * time.Minute,
		clients:  map[netip.Prefix]*clientBucket{},
		overflow: rate.NewLimiter(rate.Limit(l.PerSecond), burst),
	}
}

// allow takes a token for the client of r; when there is none it says how
// long until there will be.
func (c *clientLimits) allow(r *http.Request) (bool, time.Duration) {
	key := c.client(r)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastSweep) > c.idle || len(c.clients) >= c.maxClients {
		c.sweep(now)
	}
	lim := c.overflow
	if b, ok := c.clients[key]; ok {
		b.seen, lim = now, b.lim
	} else if len(c.clients) < c.maxClients {
		lim = rate.NewLimiter(c.limit, c.burst)
		c.clients[key] = &clientBucket{lim: lim, seen: now}
	}
	rsv := lim.ReserveN(now, 1)
	if d := rsv.DelayFrom(now); d > 0 {
		rsv.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (c *clientLimits) sweep(now time.Time) {
	c.lastSweep = now
	for k, b := range c.clients {
		if now.Sub(b.seen) > c.idle {
			delete(c.clients, k)
		}
	}
}

// client is the prefix that identifies the sender of r.
func (c *clientLimits) client(r *http.Request) netip.Prefix {
	addr := remoteAddr(r.RemoteAddr)
	if c.isTrusted(addr) {
		// The proxy appends the address it saw: walk the list from the
		// right, past our own proxies, to the first one we do not run.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a.Unmap()
			if !c.isTrusted(addr) {
				break
			}
		}
	}
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

func (c *clientLimits) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(hostport string) netip.Addr {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// failedSignIns is the budget of wrong admin tokens each client has: ten at
// once, then one every five seconds. A client without budget is refused
// before its token is even compared, so guessing cannot go faster.
var failedSignIns = RateLimit{PerSecond: 0.2, Burst: 10}

// exhausted says whether the client of r has no token left, without
// taking one, and how long until it has.
func (c *clientLimits) exhausted(r *http.Request) (bool, time.Duration) {
	key := c.client(r)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	lim := c.overflow
	if b, ok := c.clients[key]; ok {
		lim = b.lim
	} else if len(c.clients) < c.maxClients {
		return false, 0 // a new client has its full burst
	}
	if tokens := lim.TokensAt(now); tokens < 1 {
		return true, time.Duration((1 - tokens) / float64(c.limit) * float64(time.Second))
	}
	return false, 0
}

// tooManyFailures answers 429 to a client that spent its budget of failed
// sign-ins.
func (h *handler) tooManyFailures(w http.ResponseWriter, r *http.Request) bool {
	if blocked, wait := h.signInLimits.exhausted(r); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ERateLimited, "too many wrong admin tokens from this client; wait and try again"))
		return true
	}
	return false
}

// limitSignIns spends a failed sign-in of the dashboard (POST /ui/login
// answered 401) from the client's budget, and refuses sign-ins without
// budget.
func (h *handler) limitSignIns(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/ui/login" {
			next.ServeHTTP(w, r)
			return
		}
		if h.tooManyFailures(w, r) {
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusUnauthorized {
			h.signInLimits.allow(r)
		}
	})
}

// limited answers 429 with Retry-After to a client above its rate; a nil
// limiter lets everything through.
func (h *handler) limited(c *clientLimits, next http.HandlerFunc) http.HandlerFunc {
	if c == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := c.allow(r); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, r, h.Logger, bridge.Errorf(bridge.ERateLimited,
				"this client sent more than %g requests per second to %s; wait and send again", float64(c.limit), r.Pattern))
			return
		}
		next(w, r)
	}
}
