package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what happened to one record.
type outcome struct {
	kind                         string
	client                       int
	id                           string // the simulator's record id, once accepted
	started, accepted, completed bool
	final                        bool // registered or rejected
	late                         bool // started late: its client was at its cap (Rate runs)
	cause                        string
	acceptLatency                time.Duration
	startedAt, acceptedAt        time.Duration // since the run started
	latency                      time.Duration
}

// counters feed the progress lines.
type counters struct {
	started, accepted, completed, failed, late atomic.Int64
}

// client is one OpenCRVS-side client: a simulator, an HTTP client and a
// share of Concurrency.
type client struct {
	index     int
	simulator string
	http      *http.Client
	share     int
}

// clients makes cfg's clients (cfg has its defaults).
func (cfg Config) clients() []*client {
	out := make([]*client, cfg.Clients)
	for c := range out {
		share := cfg.Concurrency / cfg.Clients
		if c < cfg.Concurrency%cfg.Clients {
			share++
		}
		hc := cfg.HTTPClient
		if hc == nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.MaxIdleConns = share + 8
			t.MaxIdleConnsPerHost = share + 8
			hc = &http.Client{Transport: t}
		}
		out[c] = &client{index: c, simulator: cfg.simulators[c%len(cfg.simulators)], http: hc, share: share}
	}
	return out
}

// run is the state of one Run.
type run struct {
	cfg      Config
	start    time.Time
	outcomes []outcome // a goroutine writes only the entries of the records it took
	next     atomic.Int64
	c        counters
	// pools are by simulator: a simulator knows only the records sent
	// through it, so a death or correction names one of them.
	pools map[string]*pools
}

// Run sends cfg.Records records and waits for each to reach a final status;
// with cfg.MediatorURLs it then reads their transactions for the per-phase
// latencies. It returns an error for an invalid configuration or an admin
// API that does not answer (before sending anything); ctx's error, with the
// partial Result, when ctx ends first; and an error with the full Result
// when the admin API refused the token while the phases were read.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var ar *adminReader
	if len(cfg.MediatorURLs) > 0 {
		ar = newAdminReader(cfg)
		if err := ar.check(ctx); err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
	}
	r := &run{cfg: cfg, start: time.Now(), outcomes: make([]outcome, cfg.Records), pools: map[string]*pools{}}
	for _, s := range cfg.simulators {
		r.pools[s] = &pools{}
	}

	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		progress.Go(func() { r.reportProgress(stopProgress) })
	}
	clients := cfg.clients()
	var wg sync.WaitGroup
	for _, cl := range clients {
		if cfg.Rate > 0 {
			wg.Go(func() { r.schedule(ctx, cl) })
			continue
		}
		for range cl.share {
			wg.Go(func() { r.work(ctx, cl) })
		}
	}
	wg.Wait()
	close(stopProgress)
	progress.Wait()

	elapsed := time.Since(r.start)
	res := summarise(r.outcomes, elapsed)
	res.Clients = r.summariseClients(clients, elapsed)
	if cfg.Rate > 0 {
		res.Rate = r.rateResult()
	}
	if cfg.Progress != nil {
		r.writeProgress()
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadgen: run stopped after %d of %d records: %w", res.Records, cfg.Records, err)
	}
	if ar != nil {
		res.Phases, err = ar.read(ctx, r.outcomes)
		if err != nil {
			return res, fmt.Errorf("loadgen: per-phase latencies: %w", err)
		}
	}
	return res, nil
}

// work is a closed-loop worker of client cl: it sends the next record as
// soon as its last one ended.
func (r *run) work(ctx context.Context, cl *client) {
	for ctx.Err() == nil {
		i := int(r.next.Add(1) - 1)
		if i >= r.cfg.Records {
			return
		}
		r.send(ctx, cl, i, false)
	}
}

// schedule starts client cl's records (i modulo Clients = cl.index) when
// they are due, i/Rate seconds after the start, holding at most cl.share
// in flight. A record that finds the cap reached waits for a record to end
// and is late, as is every record due while the client is behind its
// schedule for that reason.
func (r *run) schedule(ctx context.Context, cl *client) {
	slots := make(chan struct{}, cl.share)
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	behind := false
	for i := cl.index; i < r.cfg.Records; i += r.cfg.Clients {
		due := r.start.Add(time.Duration(float64(i) / r.cfg.Rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			if sleep(ctx, wait) != nil {
				return
			}
			behind = false
		}
		late := behind
		select {
		case slots <- struct{}{}:
		default:
			late, behind = true, true
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		inFlight.Go(func() {
			defer func() { <-slots }()
			r.send(ctx, cl, i, late)
		})
	}
}

// send runs record i and keeps its outcome.
func (r *run) send(ctx context.Context, cl *client, i int, late bool) {
	r.c.started.Add(1)
	if late {
		r.c.late.Add(1)
	}
	o := runRecord(ctx, r.cfg, cl, i, r.start, &r.c, r.pools[cl.simulator])
	o.late = late
	if o.completed {
		r.c.completed.Add(1)
	} else {
		r.c.failed.Add(1)
	}
	r.outcomes[i] = o
}

// summariseClients breaks the outcomes down by client.
func (r *run) summariseClients(clients []*client, elapsed time.Duration) []ClientResult {
	out := make([]ClientResult, len(clients))
	for _, cl := range clients {
		var mine []outcome
		late := 0
		for _, o := range r.outcomes {
			if o.started && o.client == cl.index {
				mine = append(mine, o)
				if o.late {
					late++
				}
			}
		}
		s := summarise(mine, elapsed)
		out[cl.index] = ClientResult{
			OpenCRVS: redact(cl.simulator), Concurrency: cl.share, Records: s.Records, Completed: s.Completed,
			Failed: s.Failed, AcceptedPerS: s.AcceptedPerS, CompletedPerS: s.CompletedPerS, LateStarts: late,
		}
	}
	return out
}

// rateResult says how well the run held its rate.
func (r *run) rateResult() *RateResult {
	res := &RateResult{TargetPerS: r.cfg.Rate}
	n := 0
	var first, last time.Duration
	for _, o := range r.outcomes {
		if !o.started {
			continue
		}
		if n == 0 || o.startedAt < first {
			first = o.startedAt
		}
		last = max(last, o.startedAt)
		n++
		if o.late {
			res.LateStarts++
		}
	}
	if n > 1 && last > first {
		res.StartedPerS = round3(float64(n-1) / (last - first).Seconds())
	}
	return res
}

// redact hides a password a URL may carry.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

func (r *run) reportProgress(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.writeProgress()
		}
	}
}

func (r *run) writeProgress() {
	c := &r.c
	started, done := c.started.Load(), c.completed.Load()+c.failed.Load()
	late := ""
	if r.cfg.Rate > 0 {
		late = fmt.Sprintf(", %d started late", c.late.Load())
	}
	fmt.Fprintf(r.cfg.Progress, "load: %d/%d sent, %d accepted, %d completed, %d failed, %d in flight%s, %.1fs\n",
		started, r.cfg.Records, c.accepted.Load(), c.completed.Load(), c.failed.Load(), started-done, late,
		time.Since(r.start).Seconds())
}
