// Package loadgen is the engine of the `load` command: it drives records end
// to end through a running system by way of the OpenCRVS simulator (POST
// /sim/records, then long polls of GET /sim/records/{id} until the record is
// registered or rejected) and summarises throughput and latency.
//
// A mixed run (Kind "mixed") sends, in every eight records, four births,
// two deaths of people whose births completed earlier in the run, one
// correction of a completed birth and one of a completed death. Each
// completed birth (with a national ID) and each completed death is used
// once, the most recent first, by a record sent to the same simulator (each
// knows only its own records); when none is free yet the record is sent as
// a birth instead.
//
// A run has one or more clients (Clients), each an OpenCRVS-side client
// with its own connection pool and its share of Concurrency, sending to the
// simulators round-robin. In a closed loop (Rate 0) a fixed number of
// workers sends the records, so the load is bounded by Concurrency whatever
// the system's speed; with a Rate, records start on a fixed schedule (open
// loop) and Concurrency caps the records in flight, counting the starts the
// cap delayed. Every record is bounded by Timeout, and cancelling the
// context stops the run promptly with a partial Result.
//
// With Delivery "webhook" (the split design, `dev --design split`) the
// simulator registers each record at once and delivers it to its webhook
// subscribers, the OpenCRVS-side mediator; a record is completed when
// MOSIP's answer is written back to it: an identifier added through
// upsertRegistrationIdentifier or a country-config write-back.
//
// With MediatorURLs and AdminToken, Run then reads each completed record's
// transaction from the mediator's admin API and reports per-phase latencies
// (Result.Phases).
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
	"time"
)

// Config configures a run.
type Config struct {
	// OpenCRVSURL is the base URL of the OpenCRVS simulator; OpenCRVSURLs
	// are more (several `sim opencrvs` processes, before one mediator or
	// several replicas). The run's simulators are OpenCRVSURL, if set, then
	// OpenCRVSURLs: at least one.
	OpenCRVSURL  string
	OpenCRVSURLs []string
	// Records to send (default 100) and Concurrency, the most records in
	// flight at once (default 8): in a closed loop, the number of workers.
	Records, Concurrency int
	// Clients is the number of independent OpenCRVS-side clients (default
	// 1, at most Concurrency). Client c sends to simulator c modulo their
	// number, with its own HTTP client (unless HTTPClient is set) and its
	// share of Concurrency (Concurrency/Clients, the first ones one more).
	Clients int
	// Rate is the arrival rate in records per second; 0 (the default) is a
	// closed loop, each worker sending its next record when its last one
	// ended. With a rate, record i is due i/Rate seconds after the start,
	// sent by client i modulo Clients; a record due while its client has
	// its share of Concurrency in flight waits for one to end and counts as
	// a late start (Result.Rate), as do the records due behind it until
	// the client is back on schedule.
	Rate float64
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
	// Delivery is how the simulator hands records over: "" (POSTed to the
	// mediator, which confirms or rejects them) or DeliveryWebhook
	// (registered at once and delivered to the webhook subscribers; see
	// the package documentation). Webhook runs send OpenCRVS 1.8 FHIR
	// births only: the simulator delivers no corrections, and a death's
	// end writes nothing OpenCRVS shows.
	Delivery string
	// Timeout bounds one record, from sending it to its final status;
	// default 2 minutes.
	Timeout time.Duration
	// HTTPClient talks to the simulators, for every client; nil: each
	// client has its own, with a connection pool sized for its share of
	// Concurrency. It must not set a Timeout shorter than a long poll (up
	// to a minute).
	HTTPClient *http.Client
	// MediatorURLs are base URLs of the mediator (any replica: each sees
	// every transaction) whose admin API is read after the run for the
	// per-phase latencies of the completed records, with AdminToken, the
	// mediator's ADMIN_TOKEN (required with them). Empty: no phases. Run
	// checks the admin API answers before it sends anything.
	MediatorURLs []string
	AdminToken   string
	// PhasesTimeout bounds the reading of the transactions after the run
	// (default 2 minutes): the records not read by then count as unread.
	PhasesTimeout time.Duration
	// Progress receives human progress lines, about once a second; nil:
	// none.
	Progress io.Writer

	// simulators are OpenCRVSURL and OpenCRVSURLs, checked (withDefaults).
	simulators []string
}

// Defaults of Config.
const (
	DefaultRecords       = 100
	DefaultConcurrency   = 8
	DefaultTimeout       = 2 * time.Minute
	DefaultPhasesTimeout = 2 * time.Minute
	maxConcurrency       = 4096
	// maxRate bounds Rate (records per second).
	maxRate = 1e6
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
	// Clients breaks the run down by client, in client order.
	Clients []ClientResult `json:"clients"`
	// Rate is how well the arrival rate was held (runs with a Rate only).
	Rate *RateResult `json:"rate,omitempty"`
	// Phases are the per-phase latencies from the mediator's admin API
	// (runs with MediatorURLs only).
	Phases *Phases `json:"phases_ms,omitempty"`
}

// ClientResult is one client's part of a run: the fields of the same
// names in Result, over the records the client sent.
type ClientResult struct {
	// OpenCRVS is the simulator the client sent to; Concurrency its share.
	OpenCRVS      string  `json:"opencrvs"`
	Concurrency   int     `json:"concurrency"`
	Records       int     `json:"records"`
	Completed     int     `json:"completed"`
	Failed        int     `json:"failed"`
	AcceptedPerS  float64 `json:"accepted_per_s"`
	CompletedPerS float64 `json:"completed_per_s"`
	// LateStarts counts the client's records that started late because
	// its records in flight were at its cap (always 0 in a closed loop).
	LateStarts int `json:"late_starts"`
}

// RateResult says whether a run held its arrival rate.
type RateResult struct {
	// TargetPerS is Config.Rate; StartedPerS the achieved start rate:
	// records started after the first, per second from the first start to
	// the last (0 with fewer than two records).
	TargetPerS  float64 `json:"target_per_s"`
	StartedPerS float64 `json:"started_per_s"`
	// LateStarts counts the records that started after they were due
	// because their client had its cap of records in flight: when it is
	// not 0, the rate was not held (raise Concurrency, or the system is
	// slower than the rate).
	LateStarts int `json:"late_starts"`
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
	cfg.simulators = nil
	if cfg.OpenCRVSURL != "" || len(cfg.OpenCRVSURLs) == 0 {
		cfg.simulators = append(cfg.simulators, cfg.OpenCRVSURL)
	}
	cfg.simulators = append(cfg.simulators, cfg.OpenCRVSURLs...)
	for i, s := range cfg.simulators {
		if err := checkBaseURL(s); err != nil {
			errs = append(errs, fmt.Errorf("OpenCRVS simulator URL %q: %w", s, err))
		}
		cfg.simulators[i] = strings.TrimRight(s, "/")
	}
	mediators := make([]string, len(cfg.MediatorURLs))
	for i, m := range cfg.MediatorURLs {
		if err := checkBaseURL(m); err != nil {
			errs = append(errs, fmt.Errorf("mediator URL %q: %w", m, err))
		}
		mediators[i] = strings.TrimRight(m, "/")
	}
	cfg.MediatorURLs = mediators
	if len(mediators) > 0 && strings.TrimSpace(cfg.AdminToken) == "" {
		errs = append(errs, errors.New("no admin token: per-phase latencies are read from the mediator's admin API, which needs its ADMIN_TOKEN"))
	}
	if cfg.PhasesTimeout < 0 {
		errs = append(errs, fmt.Errorf("phases timeout %v: want a positive duration", cfg.PhasesTimeout))
	} else if cfg.PhasesTimeout == 0 {
		cfg.PhasesTimeout = DefaultPhasesTimeout
	}
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
	switch cfg.Delivery {
	case "":
	case DeliveryWebhook:
		if cfg.Kind != KindBirth {
			// A death's answer is not written to OpenCRVS with
			// WRITEBACK=graphql, and the deceased of a webhook death is
			// no one MOSIP knows (a birth ended by the split design has
			// no NATIONAL_ID for "of"): nothing would show it completed.
			errs = append(errs, fmt.Errorf("kind %s: webhook delivery sends births only (a death's end is not visible in OpenCRVS)", cfg.Kind))
		}
		if cfg.Mode != "fhir" {
			errs = append(errs, fmt.Errorf("mode %q: webhook delivery sends FHIR bundles, as OpenCRVS 1.8 does", cfg.Mode))
		}
		if cfg.Version != "" && cfg.Version != "1.8" {
			errs = append(errs, fmt.Errorf("version %q: webhook delivery is OpenCRVS 1.8's", cfg.Version))
		}
	default:
		errs = append(errs, fmt.Errorf("delivery %q: want %q or none", cfg.Delivery, DeliveryWebhook))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: want a positive duration", cfg.Timeout))
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.Clients < 0:
		errs = append(errs, fmt.Errorf("clients %d: want at least 1", cfg.Clients))
	case cfg.Clients == 0:
		cfg.Clients = 1
	case cfg.Clients > cfg.Concurrency && cfg.Concurrency > 0:
		errs = append(errs, fmt.Errorf("clients %d: want at most the concurrency, %d (each client has at least one record in flight)", cfg.Clients, cfg.Concurrency))
	}
	if cfg.Rate < 0 || cfg.Rate > maxRate || math.IsNaN(cfg.Rate) {
		errs = append(errs, fmt.Errorf("rate %v: want records per second, up to %g (0: closed loop)", cfg.Rate, maxRate))
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("loadgen: %w", err)
	}
	return cfg, nil
}

// checkBaseURL says what is wrong with a base URL, if anything.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if s == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	return nil
}

// DeliveryWebhook is Config.Delivery of the split design.
const DeliveryWebhook = "webhook"

// CauseNoSubscriber is the failure of a webhook record no one was
// subscribed to (the OpenCRVS-side mediator is not running, or has not
// subscribed yet).
const CauseNoSubscriber = "no_webhook_subscriber"

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
	if cfg.Delivery != "" {
		req["delivery"] = cfg.Delivery
	}
	if kind == KindBirthCorrection || kind == KindDeathCorrection {
		delete(req, "mode")
		delete(req, "version") // a correction goes as the record it corrects
		req["changes"] = true
	}
	body, _ := json.Marshal(req) // strings and a bool: cannot fail
	return body
}

// recordAnswer is what loadgen reads of the simulator's record answers.
type recordAnswer struct {
	ID         string  `json:"id"`
	Version    string  `json:"version"`
	Status     string  `json:"status"`
	Reason     *string `json:"reason"`
	NationalID *string `json:"nationalId"`
	// Webhook delivery: the subscribers the record was delivered to, and
	// what MOSIP's answer wrote back to it.
	Subscribers       []struct{ Status int } `json:"subscribers"`
	IdentifierUpserts int                    `json:"identifierUpserts"`
	WriteBacks        int                    `json:"writeBacks"`
}

// runRecord sends record i as client cl and follows it to its final
// status.
func runRecord(ctx context.Context, cfg Config, cl *client, i int, runStart time.Time, c *counters, p *pools) outcome {
	kind, of := p.plan(cfg, i)
	sent := time.Now()
	o := outcome{started: true, kind: kind, client: cl.index, startedAt: sent.Sub(runStart)}
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
	status, err := CallJSON(rctx, cl.http, http.MethodPost, cl.simulator+"/sim/records", cfg.requestBody(i, kind, of), &ans)
	if err != nil {
		return failErr(err)
	}
	if status != http.StatusAccepted {
		return fail("http_" + strconv.Itoa(status))
	}
	if ans.ID == "" {
		return fail(CauseBadAnswer)
	}
	o.accepted, o.id = true, ans.ID
	o.acceptLatency = time.Since(sent)
	o.acceptedAt = time.Since(runStart)
	c.accepted.Add(1)
	if cfg.Delivery == DeliveryWebhook {
		return awaitWriteBack(rctx, cl, ans, sent, o, failErr)
	}

	target := cl.simulator + "/sim/records/" + url.PathEscape(ans.ID)
	deadline := sent.Add(cfg.Timeout)
	for {
		wait := min(time.Until(deadline)-pollMargin, maxPoll).Truncate(time.Millisecond)
		if wait <= 0 {
			return fail(CauseTimeout)
		}
		polled := time.Now()
		var rec recordAnswer
		status, err := CallJSON(rctx, cl.http, http.MethodGet, target+"?wait="+wait.String(), nil, &rec)
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

// Polling of a webhook record for its write-back: the simulator registers
// it at once, so there is nothing to long-poll for.
const (
	firstWriteBackPoll = 50 * time.Millisecond
	maxWriteBackPoll   = 500 * time.Millisecond
)

// awaitWriteBack follows a record sent with webhook delivery until MOSIP's
// answer is written back to it (completed) or its deadline (timeout).
// Nothing in OpenCRVS says that the mediators refused a record, so a
// refusal shows as a timeout.
func awaitWriteBack(rctx context.Context, cl *client, ans recordAnswer, sent time.Time, o outcome, failErr func(error) outcome) outcome {
	if len(ans.Subscribers) == 0 {
		o.cause = CauseNoSubscriber
		return o
	}
	target := cl.simulator + "/sim/records/" + url.PathEscape(ans.ID)
	for wait := firstWriteBackPoll; ; wait = min(2*wait, maxWriteBackPoll) {
		var rec recordAnswer
		status, err := CallJSON(rctx, cl.http, http.MethodGet, target, nil, &rec)
		if err != nil {
			return failErr(err)
		}
		if status != http.StatusOK {
			o.cause = "http_" + strconv.Itoa(status)
			return o
		}
		if rec.IdentifierUpserts > 0 || rec.WriteBacks > 0 {
			o.completed, o.final, o.latency = true, true, time.Since(sent)
			return o
		}
		if err := sleep(rctx, wait); err != nil {
			return failErr(err)
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
