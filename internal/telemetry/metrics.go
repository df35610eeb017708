package telemetry

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"opencrvs-mosip/internal/bridge"
)

// Systems the mediator calls: the system label of outbound metrics.
const (
	SystemMOSIP     = "mosip"
	SystemOpenCRVS  = "opencrvs"
	SystemESignet   = "esignet"
	SystemIDA       = "ida"
	SystemWebSubHub = "websub-hub"
	SystemQRIssuer  = "qr-issuer"
	// SystemUnknown and EndpointOther label a call to a URL no configured
	// endpoint covers.
	SystemUnknown = "unknown"
	EndpointOther = "other"
)

// Outcomes of a job run (the outcome label of job runs).
const (
	JobOK        = "ok"        // the job did its work
	JobFailed    = "failed"    // it returned an error: River runs it again if attempts remain
	JobCancelled = "cancelled" // it gave up for good (JobCancel): the transaction went DEAD, or had moved on
	JobSnoozed   = "snoozed"   // it asked to run again later without spending an attempt
)

// Outcomes of WebSub deliveries that the pipeline does not name (it names
// applied, ignored, unknown_aid, duplicate, ...).
const (
	DeliveryBadSignature = "bad_signature" // X-Hub-Signature missing or wrong
	DeliveryUnreadable   = "unreadable"    // the body could not be read (too large, cut short)
	DeliveryInvalid      = "invalid"       // not an event we can apply; acknowledged with the reason
	DeliveryError        = "error"         // the mediator failed (database); the hub delivers again
)

// WebSub topics (the topic label of deliveries).
const (
	TopicCredential = "credential" // CREDENTIAL_ISSUED, /websub/callback
	TopicIdentity   = "identity"   // identity updates, /websub/identity
)

const (
	namespace = "opencrvs_mosip"
	// maxErrorCodes bounds the distinct error codes counted: the codes come
	// from other systems, and each is a time series. Later ones count as
	// "other".
	maxErrorCodes = 100
	maxCodeLen    = 40
	// snapshotFor is how long a snapshot of the store is reused: however
	// often /metrics is scraped (it needs no credentials), the database is
	// asked at most this often.
	snapshotFor     = 2 * time.Second
	snapshotTimeout = 5 * time.Second
)

// durationBuckets suit calls and jobs: MOSIP's packet manager takes
// seconds, a call times out after 30 s by default.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Metrics is what the mediator counts for Prometheus (Handler, served at
// GET /metrics) and for the operators' dashboard (CallStats). It owns its
// registry, so two mediators in one process count apart. Every method is
// safe for concurrent use and does nothing on a nil *Metrics, so that a
// package (or a test) may leave it unset.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	received, skipped, confirmed, rejected *prometheus.CounterVec
	jobRuns, jobRetries                    *prometheus.CounterVec
	jobDuration                            *prometheus.HistogramVec
	callDuration                           *prometheus.HistogramVec
	callErrors                             *prometheus.CounterVec
	deliveries                             *prometheus.CounterVec

	codesMu sync.Mutex
	codes   map[string]bool

	calls   *callStats
	snap    *snapshotCollector
	handler http.Handler
}

// NewMetrics returns metrics with a registry of their own, holding the Go
// runtime and process collectors and the mediator's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now, codes: map[string]bool{}}
	m.calls = newCallStats(func() time.Time { return m.now() })
	record := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, []string{"kind", "version"})
	}
	m.received = record("records_received_total", "Records accepted from OpenCRVS as new transactions (a resend of a live record is not counted), by kind (birth, death, birth-correction, death-correction, death-reversal) and OpenCRVS version.")
	m.skipped = record("records_skipped_total", "Received records the country rules did not forward to MOSIP (OpenCRVS registers them without a national ID).")
	m.confirmed = record("records_confirmed_total", "Transactions completed: OpenCRVS registered the record (a death reversal: MOSIP reactivated the identity). Counted once per transaction.")
	m.rejected = record("records_rejected_total", "Transactions MOSIP refused, once OpenCRVS (or a reversal's caller) was told why. Counted once per transaction.")
	m.jobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "job_runs_total",
		Help: "Job runs by kind and outcome: ok, failed (retried while attempts remain), cancelled (given up: the transaction went DEAD, or had moved on), snoozed."},
		[]string{"kind", "outcome"})
	m.jobRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "job_retries_total",
		Help: "Job runs that were a retry (attempt 2 or later), by kind."}, []string{"kind"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "job_duration_seconds",
		Help: "Duration of job runs, by kind.", Buckets: durationBuckets}, []string{"kind"})
	m.callDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "outbound_request_duration_seconds",
		Help: "Duration of calls to other systems until their answer's headers, by system and endpoint; its _count is the number of calls.", Buckets: durationBuckets},
		[]string{"system", "endpoint"})
	m.callErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "outbound_errors_total",
		Help: "Failed calls to other systems, by system, endpoint and code: http_4xx, http_5xx, timeout, network, canceled, or the error code MOSIP or OpenCRVS put in a 2xx answer (e.g. RPR-WIS-000)."},
		[]string{"system", "endpoint", "code"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "websub_deliveries_total",
		Help: "WebSub deliveries from MOSIP's hub, by topic (credential, identity) and outcome (applied, ignored, duplicate, unknown_aid, undecryptable, wrong_topic, bad_signature, error, ...)."},
		[]string{"topic", "outcome"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.received, m.skipped, m.confirmed, m.rejected,
		m.jobRuns, m.jobRetries, m.jobDuration,
		m.callDuration, m.callErrors, m.deliveries,
	)
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             2 * snapshotTimeout,
	}))
	return m
}

// Handler serves the metrics in the Prometheus exposition formats. A
// failing store snapshot does not fail the scrape: its gauges are left out
// and opencrvs_mosip_store_up is 0.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// Registry is the registry the metrics are in (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// RecordLabel is the kind label of a transaction: its event kind, with
// "-correction" for a correction.
func RecordLabel(tr *bridge.Transaction) string {
	if tr.Corrects != "" {
		return string(tr.Kind) + "-correction"
	}
	return string(tr.Kind)
}

func versionLabel(tr *bridge.Transaction) string {
	if tr.Version == "" {
		return string(bridge.OpenCRVS18)
	}
	return string(tr.Version)
}

// RecordReceived counts a new transaction (call it once the transaction
// that stored it committed).
func (m *Metrics) RecordReceived(tr *bridge.Transaction) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(RecordLabel(tr), versionLabel(tr)).Inc()
}

// RecordSkipped counts a new transaction the rules did not forward to
// MOSIP.
func (m *Metrics) RecordSkipped(tr *bridge.Transaction) {
	if m == nil {
		return
	}
	m.skipped.WithLabelValues(RecordLabel(tr), versionLabel(tr)).Inc()
}

// RecordConfirmed counts a transaction that reached CONFIRMED; call it only
// when this call made the transition, so that a retried job counts once.
func (m *Metrics) RecordConfirmed(tr *bridge.Transaction) {
	if m == nil {
		return
	}
	m.confirmed.WithLabelValues(RecordLabel(tr), versionLabel(tr)).Inc()
}

// RecordRejected counts a transaction that reached REPORTED (OpenCRVS was
// told MOSIP refused it), under the same rule as RecordConfirmed.
func (m *Metrics) RecordRejected(tr *bridge.Transaction) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(RecordLabel(tr), versionLabel(tr)).Inc()
}

// JobRun counts one run of a job of kind: its attempt (1 for the first),
// how long it took and its outcome (JobOK, JobFailed, ...).
func (m *Metrics) JobRun(kind string, attempt int, d time.Duration, outcome string) {
	if m == nil {
		return
	}
	m.jobRuns.WithLabelValues(kind, outcome).Inc()
	if attempt > 1 {
		m.jobRetries.WithLabelValues(kind).Inc()
	}
	m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// WebSubDelivery counts a delivery on topic (TopicCredential,
// TopicIdentity) with its final outcome.
func (m *Metrics) WebSubDelivery(topic, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(topic, outcome).Inc()
}

// OutboundError counts an error that a call's HTTP status did not show:
// the error code MOSIP or OpenCRVS put in a 2xx answer. (Calls answered
// 4xx or 5xx, or not at all, are counted by Transport; do not count them
// again.) code is cleaned and, past a bound on distinct codes, counted as
// "other".
func (m *Metrics) OutboundError(system, endpoint, code string) {
	if m == nil {
		return
	}
	m.callErrors.WithLabelValues(system, endpoint, m.codeLabel(code)).Inc()
	m.calls.failed(system)
}

// codeLabel makes a remote error code a safe label value: at most 40
// characters of letters, digits, '-', '_' and '.', and at most
// maxErrorCodes distinct values.
func (m *Metrics) codeLabel(code string) string {
	var b strings.Builder
	for _, r := range code {
		if b.Len() == maxCodeLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	c := b.String()
	if c == "" {
		return "unknown"
	}
	m.codesMu.Lock()
	defer m.codesMu.Unlock()
	if !m.codes[c] {
		if len(m.codes) >= maxErrorCodes {
			return EndpointOther
		}
		m.codes[c] = true
	}
	return c
}

// Snapshot is the state of the store that the gauges show, read when
// /metrics is scraped.
type Snapshot struct {
	// Transactions counts transactions by state (missing: none).
	Transactions map[bridge.State]int
	// OldestWaiting is, for each state that is not final, when the oldest
	// transaction in it was received (missing: none waits there).
	OldestWaiting map[bridge.State]time.Time
	// Jobs counts River jobs by queue, then by state (available, scheduled,
	// retryable, running). Every queue listed is shown, with 0 for the
	// states it has no jobs in.
	Jobs map[string]map[string]int
}

// jobStates are the River job states the queue gauge shows.
var jobStates = []string{"available", "scheduled", "retryable", "running"}

// WatchStore makes the transaction and queue gauges: each scrape (at most
// every 2 s; scrapes in between reuse the last snapshot) calls snapshot
// with a 5 s timeout. Call it once; a later call replaces the function.
func (m *Metrics) WatchStore(snapshot func(context.Context) (Snapshot, error)) {
	if m == nil {
		return
	}
	if m.snap != nil {
		m.snap.mu.Lock()
		m.snap.read, m.snap.at = snapshot, time.Time{}
		m.snap.mu.Unlock()
		return
	}
	m.snap = &snapshotCollector{read: snapshot, now: func() time.Time { return m.now() }}
	m.reg.MustRegister(m.snap)
}

// Snapshot returns the store snapshot the gauges show (the cached one if
// it is fresh), for the dashboard. It fails when no WatchStore function is
// set.
func (m *Metrics) Snapshot(ctx context.Context) (Snapshot, error) {
	if m == nil || m.snap == nil {
		return Snapshot{}, bridge.Errorf(bridge.EUnavailable, "no store snapshot is configured")
	}
	return m.snap.get(ctx)
}

var (
	descTransactions = prometheus.NewDesc(namespace+"_transactions", "Transactions by state.", []string{"state"}, nil)
	descOldest       = prometheus.NewDesc(namespace+"_oldest_waiting_seconds",
		"Age of the oldest transaction in each state that is not final (0: none waits there).", []string{"state"}, nil)
	descQueue = prometheus.NewDesc(namespace+"_queue_jobs",
		"River jobs by queue and state (available: due now; scheduled and retryable: due later; running).", []string{"queue", "state"}, nil)
	descStoreUp = prometheus.NewDesc(namespace+"_store_up",
		"1 if the last read of the store for the gauges above succeeded, 0 if not (they are then left out).", nil, nil)
)

// snapshotCollector turns a store snapshot into gauges at scrape time.
type snapshotCollector struct {
	now func() time.Time

	mu   sync.Mutex // one read at a time; held while reading
	read func(context.Context) (Snapshot, error)
	last Snapshot
	err  error
	at   time.Time
}

func (c *snapshotCollector) get(ctx context.Context) (Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < snapshotFor && now.Sub(c.at) >= 0 {
		return c.last, c.err
	}
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	c.last, c.err = c.read(ctx)
	c.at = now
	return c.last, c.err
}

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTransactions
	ch <- descOldest
	ch <- descQueue
	ch <- descStoreUp
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap, err := c.get(context.Background())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, 1)
	now := c.now()
	for _, st := range bridge.States {
		ch <- prometheus.MustNewConstMetric(descTransactions, prometheus.GaugeValue, float64(snap.Transactions[st]), string(st))
		if st.Final() {
			continue
		}
		age := 0.0
		if at, ok := snap.OldestWaiting[st]; ok {
			age = max(0, now.Sub(at).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age, string(st))
	}
	for queue, byState := range snap.Jobs {
		for _, st := range jobStates {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(byState[st]), queue, st)
		}
	}
}
