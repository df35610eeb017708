// Package loadgen is the engine of the `load` command: it drives records end
// to end through a running system by way of the OpenCRVS simulator (POST
// /sim/records, then long polls of GET /sim/records/{id} until the record is
// registered or rejected) and summarises throughput and latency.
//
// A mixed run (Kind "mixed") sends, in every eight records, four births,
// two deaths of people whose births completed earlier in the run, one
// correction of a completed birth and one of a completed death. Each
// completed birth (with a national ID) and each completed death is used
// once, the most recent first; when none is free yet the record is sent as a
// birth instead.
//
// A fixed number of workers sends the records, so the load is bounded by
// Concurrency whatever the system's speed; every record is bounded by
// Timeout, and cancelling the context stops the run promptly with a partial
// Result.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a run.
type Config struct {
	// OpenCRVSURL is the base URL of the OpenCRVS simulator.
	OpenCRVSURL string
	// Records to send (default 100) and Concurrency, the number of workers
	// (default 8).
	Records, Concurrency int
	// Kind is birth, death or mixed (births, deaths of earlier births and
	// corrections; see the package documentation); default birth.
	Kind string
	// Mode is fhir, mapped or mixed (alternating); default fhir. For
	// OpenCRVS 1.9 records fhir means the EventDocument (the mediator
	// decides and maps, as it does 1.8 FHIR bundles).
	Mode string
	// Version is the OpenCRVS version records are sent as: 1.8, 1.9 or
	// mixed (two records of one, two of the other); "" leaves it to the
	// simulator (`dev --opencrvs-version`). Corrections are only made of
	// 1.8 records (the mediator does not support 1.9 corrections yet).
	Version string
	// Timeout bounds one record, from sending it to its final status;
	// default 2 minutes.
	Timeout time.Duration
	// HTTPClient talks to the simulator; nil: a client with a connection
	// pool sized for Concurrency. It must not set a Timeout shorter than a
	// long poll (up to a minute).
	HTTPClient *http.Client
	// Progress receives human progress lines, about once a second; nil:
	// none.
	Progress io.Writer
}

// Defaults of Config.
const (
	DefaultRecords     = 100
	DefaultConcurrency = 8
	DefaultTimeout     = 2 * time.Minute
	maxConcurrency     = 4096
	// maxPoll is the simulator's longest long poll.
	maxPoll = 60 * time.Second
	// pollMargin is how long before a record's deadline its last long poll
	// is asked to end, so that the simulator answers it rather than the
	// client abandoning it: an abandoned poll still holds a simulator
	// handler while the worker moves on to its next record, and the load
	// would briefly exceed Concurrency.
	pollMargin = 500 * time.Millisecond
	// maxAnswer bounds what is read of one simulator answer.
	maxAnswer = 1 << 20
)

// Result summarises a run. Records = Completed + Failed: a record is
// completed when OpenCRVS registered it and failed otherwise, with its cause
// counted in Errors.
type Result struct {
	Records   int `json:"records"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// CompletedByKind counts completed records by the kind they were sent
	// as: birth, death, birth-correction, death-correction.
	CompletedByKind map[string]int `json:"completed_by_kind"`
	// AcceptedPerS is records accepted by the simulator per second, over the
	// time until the last acceptance; CompletedPerS is records registered per
	// second over the whole run.
	AcceptedPerS  float64 `json:"accepted_per_s"`
	CompletedPerS float64 `json:"completed_per_s"`
	// LatencyMS is from sending a record to its final status (registered or
	// rejected), over the records that reached one.
	LatencyMS Percentiles `json:"latency_ms"`
	// AcceptLatencyMS is the duration of the sending request, over the
	// records the simulator accepted.
	AcceptLatencyMS Percentiles `json:"accept_latency_ms"`
	DurationS       float64     `json:"duration_s"`
	// Errors counts failure causes: a rejection reason as a stable key (e.g.
	// reg_number_generation_failed), "timeout", "canceled", "network",
	// "bad_answer" or "http_<status>".
	Errors map[string]int `json:"errors"`
}

// Percentiles of a set of durations, in milliseconds, by the nearest-rank
// method; all zero for an empty set.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Failure causes that are not rejection reasons.
const (
	CauseTimeout   = "timeout"
	CauseCanceled  = "canceled"
	CauseNetwork   = "network"
	CauseBadAnswer = "bad_answer"
)

func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	u, err := url.Parse(cfg.OpenCRVSURL)
	if cfg.OpenCRVSURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OpenCRVS simulator URL %q: want an absolute http(s) URL", cfg.OpenCRVSURL))
	}
	cfg.OpenCRVSURL = strings.TrimRight(cfg.OpenCRVSURL, "/")
	if cfg.Records < 0 {
		errs = append(errs, fmt.Errorf("records %d: want at least 1", cfg.Records))
	} else if cfg.Records == 0 {
		cfg.Records = DefaultRecords
	}
	if cfg.Concurrency < 0 || cfg.Concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 to %d", cfg.Concurrency, maxConcurrency))
	} else if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	switch cfg.Kind {
	case "":
		cfg.Kind = "birth"
	case "birth", "death", "mixed":
	default:
		errs = append(errs, fmt.Errorf("kind %q: want birth, death or mixed", cfg.Kind))
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = "fhir"
	case "fhir", "mapped", "mixed":
	default:
		errs = append(errs, fmt.Errorf("mode %q: want fhir, mapped or mixed", cfg.Mode))
	}
	switch cfg.Version {
	case "", "1.8", "1.9", "mixed":
	default:
		errs = append(errs, fmt.Errorf("version %q: want 1.8, 1.9 or mixed", cfg.Version))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a positive duration", cfg.Timeout))
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = cfg.Concurrency + 8
		t.MaxIdleConnsPerHost = cfg.Concurrency + 8
		cfg.HTTPClient = &http.Client{Transport: t}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("loadgen: %w", err)
	}
	return cfg, nil
}

// Kinds of records.
const (
	KindBirth           = "birth"
	KindDeath           = "death"
	KindBirthCorrection = "birth-correction"
	KindDeathCorrection = "death-correction"
)

// mixedCycle is the order of kinds in a mixed run: births come first so
// that deaths and corrections find completed records sooner.
var mixedCycle = [...]string{
	KindBirth, KindBirth, KindDeath, KindBirth,
	KindBirthCorrection, KindDeath, KindBirth, KindDeathCorrection,
}

// kindFor is the kind planned for record i; a mixed run sends a birth
// instead when no completed record is free for it.
func (cfg Config) kindFor(i int) string {
	if cfg.Kind != "mixed" {
		return cfg.Kind
	}
	return mixedCycle[i%len(mixedCycle)]
}

// modeFor alternates mixed modes. With a mixed kind as well, births and
// deaths each come in both modes; a correction has the mode of the record it
// corrects.
func (cfg Config) modeFor(i int) string {
	if cfg.Mode != "mixed" {
		return cfg.Mode
	}
	return [...]string{"fhir", "mapped"}[i%2]
}

// versionFor is the OpenCRVS version of record i ("" for the simulator's
// default).
func (cfg Config) versionFor(i int) string {
	if cfg.Version != "mixed" {
		return cfg.Version
	}
	return [...]string{"1.8", "1.9"}[(i/2)%2]
}

// pools holds the completed records of a run that deaths and corrections
// can still use: each once, the most recent first (the simulator keeps the
// documents of recent records only, and a correction needs one).
type pools struct {
	mu sync.Mutex
	// births completed with a national ID; deaths completed.
	births, deaths []pooled
}

// pooled is a completed record and the OpenCRVS version it was sent as.
type pooled struct{ id, version string }

// plan picks what record i is: its kind and the earlier record it names.
func (p *pools) plan(cfg Config, i int) (kind, of string) {
	kind = cfg.kindFor(i)
	var pool *[]pooled
	switch kind {
	case KindDeath, KindBirthCorrection:
		if cfg.Kind != "mixed" {
			return kind, ""
		}
		pool = &p.births
	case KindDeathCorrection:
		pool = &p.deaths
	default:
		return kind, ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	correction := kind == KindBirthCorrection || kind == KindDeathCorrection
	for j := len(*pool) - 1; j >= 0; j-- {
		e := (*pool)[j]
		if correction && e.version == "1.9" {
			continue // 1.9 records cannot be corrected yet
		}
		*pool = append((*pool)[:j], (*pool)[j+1:]...)
		return kind, e.id
	}
	return KindBirth, ""
}

// completed offers a completed record to later deaths and corrections.
func (p *pools) completed(cfg Config, kind, id, version string, nationalID *string) {
	if cfg.Kind != "mixed" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case kind == KindBirth && nationalID != nil && *nationalID != "":
		p.births = append(p.births, pooled{id, version})
	case kind == KindDeath:
		p.deaths = append(p.deaths, pooled{id, version})
	}
}

// requestBody is the POST /sim/records body of record i.
func (cfg Config) requestBody(i int, kind, of string) []byte {
	req := map[string]any{"kind": kind, "mode": cfg.modeFor(i)}
	if v := cfg.versionFor(i); v != "" {
		req["version"] = v
		if v == "1.9" && req["mode"] == "fhir" {
			req["mode"] = "event" // 1.9's unmapped record: the EventDocument
		}
	}
	if of != "" {
		req["of"] = of
	}
	if kind == KindBirthCorrection || kind == KindDeathCorrection {
		delete(req, "mode")
		delete(req, "version") // a correction goes as the record it corrects
		req["changes"] = true
	}
	body, _ := json.Marshal(req) // strings and a bool: cannot fail
	return body
}

// outcome is what happened to one record.
type outcome struct {
	kind                         string
	started, accepted, completed bool
	final                        bool // registered or rejected
	cause                        string
	acceptLatency                time.Duration
	acceptedAt                   time.Duration // since the run started
	latency                      time.Duration
}

// counters feed the progress lines.
type counters struct {
	started, accepted, completed, failed atomic.Int64
}

// Run sends cfg.Records records and waits for each to reach a final status.
// It returns an error for an invalid configuration, and ctx's error, with
// the partial Result, when ctx ends first.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	outcomes := make([]outcome, cfg.Records) // a worker writes only the entries of the records it took
	var next atomic.Int64
	var c counters
	var p pools

	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		progress.Go(func() { reportProgress(cfg, &c, start, stopProgress) })
	}

	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= cfg.Records {
					return
				}
				c.started.Add(1)
				o := runRecord(ctx, cfg, i, start, &c, &p)
				if o.completed {
					c.completed.Add(1)
				} else {
					c.failed.Add(1)
				}
				outcomes[i] = o
			}
		})
	}
	workers.Wait()
	close(stopProgress)
	progress.Wait()

	res := summarise(outcomes, time.Since(start))
	if cfg.Progress != nil {
		writeProgress(cfg, &c, start)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("loadgen: run stopped after %d of %d records: %w", res.Records, cfg.Records, err)
	}
	return res, nil
}

func reportProgress(cfg Config, c *counters, start time.Time, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			writeProgress(cfg, c, start)
		}
	}
}

func writeProgress(cfg Config, c *counters, start time.Time) {
	started, done := c.started.Load(), c.completed.Load()+c.failed.Load()
	fmt.Fprintf(cfg.Progress, "load: %d/%d sent, %d accepted, %d completed, %d failed, %d in flight, %.1fs\n",
		started, cfg.Records, c.accepted.Load(), c.completed.Load(), c.failed.Load(), started-done,
		time.Since(start).Seconds())
}

// recordAnswer is what loadgen reads of the simulator's record answers.
type recordAnswer struct {
	ID         string  `json:"id"`
	Version    string  `json:"version"`
	Status     string  `json:"status"`
	Reason     *string `json:"reason"`
	NationalID *string `json:"nationalId"`
}

// runRecord sends record i and follows it to its final status.
func runRecord(ctx context.Context, cfg Config, i int, runStart time.Time, c *counters, p *pools) outcome {
	kind, of := p.plan(cfg, i)
	o := outcome{started: true, kind: kind}
	sent := time.Now()
	rctx, cancel := context.WithDeadline(ctx, sent.Add(cfg.Timeout))
	defer cancel()
	fail := func(cause string) outcome {
		o.cause = cause
		return o
	}
	failErr := func(err error) outcome {
		switch {
		case ctx.Err() != nil:
			return fail(CauseCanceled)
		case errors.Is(err, ErrBadAnswer):
			return fail(CauseBadAnswer)
		case errors.Is(err, context.DeadlineExceeded):
			return fail(CauseTimeout)
		default:
			return fail(CauseNetwork)
		}
	}

	var ans recordAnswer
	status, err := CallJSON(rctx, cfg.HTTPClient, http.MethodPost, cfg.OpenCRVSURL+"/sim/records", cfg.requestBody(i, kind, of), &ans)
	if err != nil {
		return failErr(err)
	}
	if status != http.StatusAccepted {
		return fail("http_" + strconv.Itoa(status))
	}
	if ans.ID == "" {
		return fail(CauseBadAnswer)
	}
	o.accepted = true
	o.acceptLatency = time.Since(sent)
	o.acceptedAt = time.Since(runStart)
	c.accepted.Add(1)

	target := cfg.OpenCRVSURL + "/sim/records/" + url.PathEscape(ans.ID)
	deadline := sent.Add(cfg.Timeout)
	for {
		wait := min(time.Until(deadline)-pollMargin, maxPoll).Truncate(time.Millisecond)
		if wait <= 0 {
			return fail(CauseTimeout)
		}
		polled := time.Now()
		var rec recordAnswer
		status, err := CallJSON(rctx, cfg.HTTPClient, http.MethodGet, target+"?wait="+wait.String(), nil, &rec)
		if err != nil {
			return failErr(err)
		}
		if status != http.StatusOK {
			return fail("http_" + strconv.Itoa(status))
		}
		switch rec.Status {
		case "registered":
			o.completed, o.final, o.latency = true, true, time.Since(sent)
			p.completed(cfg, kind, ans.ID, ans.Version, rec.NationalID)
			return o
		case "rejected":
			reason := ""
			if rec.Reason != nil {
				reason = *rec.Reason
			}
			o.final, o.latency = true, time.Since(sent)
			return fail(CauseKey(reason))
		case "waiting":
			// A simulator that answers before the wait elapsed while the
			// record still waits would make this loop spin: pace it.
			if time.Since(polled) < wait/2 {
				if err := sleep(rctx, 50*time.Millisecond); err != nil {
					return failErr(err)
				}
			}
		default:
			return fail(CauseBadAnswer)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrBadAnswer is CallJSON's error for a 2xx answer that does not decode.
var ErrBadAnswer = errors.New("answer is not the expected JSON")

// CallJSON makes one request (a JSON body unless body is nil) and decodes
// a JSON answer into out when the status is 2xx; it returns the status.
// Tools that drive the simulators (load, the crash test) share it.
func CallJSON(ctx context.Context, client *http.Client, method, target string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 == 2 && json.Unmarshal(raw, out) != nil {
		return 0, fmt.Errorf("loadgen: %s %s: %w", method, target, ErrBadAnswer)
	}
	return resp.StatusCode, nil
}

func summarise(outcomes []outcome, elapsed time.Duration) *Result {
	res := &Result{Errors: map[string]int{}, CompletedByKind: map[string]int{}, DurationS: round3(elapsed.Seconds())}
	var latencies, accepts []time.Duration
	var lastAccept time.Duration
	accepted := 0
	for _, o := range outcomes {
		if !o.started {
			continue
		}
		res.Records++
		if o.completed {
			res.Completed++
			res.CompletedByKind[o.kind]++
		} else {
			res.Failed++
			res.Errors[o.cause]++
		}
		if o.accepted {
			accepted++
			accepts = append(accepts, o.acceptLatency)
			lastAccept = max(lastAccept, o.acceptedAt)
		}
		if o.final {
			latencies = append(latencies, o.latency)
		}
	}
	if lastAccept > 0 {
		res.AcceptedPerS = round3(float64(accepted) / lastAccept.Seconds())
	}
	if elapsed > 0 {
		res.CompletedPerS = round3(float64(res.Completed) / elapsed.Seconds())
	}
	res.LatencyMS = PercentilesOf(latencies)
	res.AcceptLatencyMS = PercentilesOf(accepts)
	return res
}

// PercentilesOf computes exact nearest-rank percentiles of samples: the
// p-th percentile is the smallest sample with at least p% of the samples at
// or below it. samples is not modified.
func PercentilesOf(samples []time.Duration) Percentiles {
	if len(samples) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(i, 0)])
	}
	return Percentiles{P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// maxCauseLen bounds a cause key.
const maxCauseLen = 48

// CauseKey turns a rejection reason into a stable key for Result.Errors:
// lower-case words joined by "_", without the numbers and ids that differ
// from record to record ("MOSIP rejected packet 10001234567890: RPR-WIS-001"
// -> "mosip_rejected_packet_rpr_wis_001"). An empty reason is "rejected".
func CauseKey(reason string) string {
	words := strings.FieldsFunc(strings.ToLower(reason), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	var b strings.Builder
	for _, w := range words {
		digits := 0
		for _, r := range w {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits > 3 { // an id, a number, a date: differs per record
			continue
		}
		if b.Len() == 0 && len(w) > maxCauseLen {
			w = w[:maxCauseLen]
		}
		if b.Len() > 0 && b.Len()+1+len(w) > maxCauseLen {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(w)
	}
	if b.Len() == 0 {
		return "rejected"
	}
	return b.String()
}
