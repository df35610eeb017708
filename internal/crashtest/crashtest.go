// Package crashtest is the engine of `make crash-test` (cmd/crashtest). It
// runs the mediator (`opencrvs-mosip serve`) as a child process against
// in-process MOSIP and OpenCRVS simulators, sends records through it as
// OpenCRVS would, kills it with SIGKILL at random moments and restarts it on
// the same database, then checks in the simulators and in the mediator's
// database that every record the mediator accepted was confirmed in OpenCRVS
// exactly once, with one national ID, and that nothing else was confirmed.
//
// Records reach the mediator through a relay that plays OpenCRVS's side of
// a failed send: the OpenCRVS simulator posts each record to the relay, and
// the relay posts it to the mediator, retrying connection errors, 408, 429,
// 5xx and 503 Retry-After (the mediator is down or busy) until the mediator
// answers 202, or until Config.SendTimeout. So the simulator sees a record
// accepted exactly when the mediator accepted it.
//
// The mediator starts subscribed to MOSIP's hub (a steady state). Its
// timings are shortened (CALL_TIMEOUT 3s, RETRY_BASE_DELAY 200ms,
// reconciliation after 30s); MOSIP takes about 2 s per record (10 stages of
// 200 ms), so records are in flight at every kill; the hub redelivers with
// backoff from 250 ms to 5 s for about 3 minutes, so deliveries missed
// while the mediator is down arrive after its restart. Demographic dedupe
// is off in the MOSIP simulator: a record submitted twice under two
// application ids then makes two identities, which the test sees, instead
// of a rejection.
//
// With Config.Replicas > 1, that many mediators (the same binary) share a
// PostgreSQL database of the run's own (Config.DatabaseURL names the
// server). The relay sends each record to the next replica in turn, and
// the hub's callback is a balancer in front of them, so deliveries and
// intent verifications reach any replica. A kill takes one replica at
// random, restarted after a pause unless Config.KeepDown. Besides every
// record confirmed once, the run checks that the WebSub subscription was
// made once for all (subscribe requests counted at the hub), that the
// periodic reconciliation never ran on two replicas at once (its finished
// runs in the job table), and reports packets MOSIP was sent twice under
// the same id (harmless: MOSIP replaces the packet) and how soon the jobs
// a killed replica left running were resumed by the others.
package crashtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
)

// Config configures a run.
type Config struct {
	// Binary is the opencrvs-mosip executable whose `serve` is tested.
	Binary string
	// Records to send (at least 1) and Kills, how many times the mediator is
	// killed with SIGKILL (0: none).
	Records, Kills int
	// Replicas is how many mediators share the database (default 1); more
	// than one needs DatabaseURL.
	Replicas int
	// DatabaseURL names a PostgreSQL server (postgres://...): the run
	// creates a database of its own there, dropped after a passing run
	// unless Keep. Empty: SQLite in Dir (one mediator only).
	DatabaseURL string
	// UseDatabase takes DatabaseURL as an empty database to use as it is,
	// neither created nor dropped (a test's own, internal/store/pgtest).
	UseDatabase bool
	// KeepDown leaves killed replicas down (Replicas > 1; Kills below
	// Replicas): the others must finish their work.
	KeepDown bool
	// Concurrency is how many records are in flight at once; default 16.
	Concurrency int
	// Seed draws the kill moments and the records' content; 0 picks one
	// (Result.Seed says which).
	Seed uint64
	// Dir holds the database, the partner keystore and the logs; empty: a
	// new temporary directory, removed after a successful run unless Keep.
	Dir  string
	Keep bool
	// SendTimeout is how long one record is retried before the relay gives
	// up on it; default 5 minutes.
	SendTimeout time.Duration
	// Timeout bounds the wait for every accepted record to be confirmed
	// after the last kill; default 3 minutes + 200 ms per record.
	Timeout time.Duration
	// ReadyTimeout bounds each start of the mediator; default 60 s.
	ReadyTimeout time.Duration
	// Progress receives human progress lines; nil: none.
	Progress io.Writer
}

func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if cfg.Binary == "" {
		errs = append(errs, errors.New("no mediator binary: build it with `make build` and pass -bin bin/opencrvs-mosip"))
	} else if st, err := os.Stat(cfg.Binary); err != nil || st.IsDir() {
		errs = append(errs, fmt.Errorf("mediator binary %s not found: build it with `make build`", cfg.Binary))
	}
	if cfg.Records < 1 {
		errs = append(errs, fmt.Errorf("records %d: want at least 1", cfg.Records))
	}
	if cfg.Kills < 0 {
		errs = append(errs, fmt.Errorf("kills %d: want 0 or more", cfg.Kills))
	}
	switch {
	case cfg.Replicas < 0:
		errs = append(errs, fmt.Errorf("replicas %d: want 1 or more", cfg.Replicas))
	case cfg.Replicas == 0:
		cfg.Replicas = 1
	}
	if cfg.Replicas > 1 && cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("several replicas share a PostgreSQL database: give its server's URL (-database-url postgres://...)"))
	}
	if cfg.KeepDown && (cfg.Replicas < 2 || cfg.Kills >= cfg.Replicas) {
		errs = append(errs, fmt.Errorf("keep-down with %d replicas and %d kills: at least one replica must stay up", cfg.Replicas, cfg.Kills))
	}
	if cfg.Concurrency < 0 || cfg.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 to 1024", cfg.Concurrency))
	} else if cfg.Concurrency == 0 {
		cfg.Concurrency = 16
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 5 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3*time.Minute + time.Duration(cfg.Records)*200*time.Millisecond
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = time.Minute
	}
	if cfg.Seed == 0 {
		cfg.Seed = mrand.Uint64()
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("crashtest: %w", err)
	}
	return cfg, nil
}

// Result is what a run found.
type Result struct {
	Seed uint64
	// Dir holds the database and logs (kept after a failure).
	Dir string
	// Records were sent; Accepted got a 202 from the mediator at least once;
	// Refused never did (the relay gave up or the mediator refused them).
	Records, Accepted, Refused int
	// Confirmed accepted records are registered in OpenCRVS; Rejected ones
	// were rejected by the mediator (rejectRegistration); Lost ones are
	// neither at the end.
	Confirmed, Rejected, Lost int
	// Duplicates are records confirmed with conflicting details, or given
	// more than one transaction, application id or MOSIP identity, plus
	// MOSIP identities no record accounts for.
	Duplicates int
	// Repeats are confirmRegistration calls on an already registered record
	// with the same details: OpenCRVS answers ALREADY_REGISTERED and nothing
	// changes (a job re-run after a crash). Harmless, reported for interest.
	Repeats int
	// Unexpected counts feedback OpenCRVS received about records the
	// mediator never accepted or does not know, and confirmations with a
	// national ID MOSIP did not issue for the record.
	Unexpected int
	// Unfinished counts accepted records whose transaction is not CONFIRMED
	// or REPORTED at the end although nothing is left to do: the store
	// disagrees with what happened.
	Unfinished int
	// Kills is how many times the mediator (a replica) was killed with
	// SIGKILL.
	Kills int
	// Replicas is how many mediators shared the database.
	Replicas int
	// Subscribes counts the subscribe requests MOSIP's hub received, and
	// SubscribesAllowed is the most a run this long may make: the first,
	// and one per 5 minutes (a subscription made again when credentials
	// stop coming). More means mediators (replicas, or restarts) each
	// subscribed on their own.
	Subscribes, SubscribesAllowed int
	// PacketRepeats are createPacket calls for a packet id (AID) already
	// sent, over PacketRepeatIDs ids, and WorkflowRepeats workflow starts
	// for a registration already started: a job run again after a kill.
	// MOSIP treats them as the same packet (replaced, or "already
	// processing"): harmless, reported for interest. A record sent under
	// two ids is a duplicate.
	PacketRepeats, PacketRepeatIDs, WorkflowRepeats int
	// On PostgreSQL: ReconcileRuns finished reconciliation runs, made by
	// ReconcileReplicas replicas, ReconcileOverlaps of which started before
	// the one before had finished (must be none).
	ReconcileRuns, ReconcileReplicas, ReconcileOverlaps int
	// ResumeSeconds is, for each kill on PostgreSQL, how long until every
	// job running at the kill had finished or been resumed elsewhere (-1:
	// not within the wait).
	ResumeSeconds []float64
	// Throughput, from the first record sent: SendSeconds until the last
	// one was accepted, CompleteSeconds until every one was confirmed and
	// nothing was left to do (to within a quarter of a second), and
	// MediatorCPUSeconds the CPU time the mediators spent meanwhile (those
	// running at the end: all of it without kills).
	SendSeconds, CompleteSeconds, MediatorCPUSeconds float64
	// Problems explain every lost, rejected, duplicate or unexpected record:
	// ids, the store's view and MOSIP's.
	Problems []string
	Duration time.Duration
}

// Line is the summary line the crash test ends with.
func (r *Result) Line() string {
	line := fmt.Sprintf("crash-test: accepted=%d confirmed=%d lost=%d duplicates=%d kills=%d",
		r.Accepted, r.Confirmed, r.Lost, r.Duplicates, r.Kills)
	if r.Replicas > 1 {
		line += fmt.Sprintf(" replicas=%d subscribes=%d", r.Replicas, r.Subscribes)
	}
	return line
}

// OK reports whether the run passed: every record accepted and confirmed,
// none lost, none duplicated, no feedback about anything else, the store's
// record of each finished, the subscription made once, and reconciliation
// never run twice at once.
func (r *Result) OK() bool {
	return r.Lost == 0 && r.Duplicates == 0 && r.Unexpected == 0 && r.Refused == 0 && r.Unfinished == 0 &&
		r.Accepted == r.Records && r.Confirmed == r.Accepted &&
		r.Subscribes <= r.SubscribesAllowed && r.ReconcileOverlaps == 0
}

// Credentials shared by the mediator and the simulators.
const (
	p12Password   = "crash-test"
	websubSecret  = "crash-test-websub-secret"
	mediatorLog   = "mediator.log"
	simulatorsLog = "simulators.log"
	databaseFile  = "mediator.sqlite"
)

// Run runs the crash test. It returns an error when the test could not run
// to its end (setup failed, the mediator would not start, ctx ended); the
// Result is then partial but still says what was seen. A completed run
// returns a nil error: Result.OK says whether it passed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	res := &Result{Seed: cfg.Seed, Records: cfg.Records, Replicas: cfg.Replicas}
	dir, cleanup, err := workDir(cfg)
	if err != nil {
		return nil, err
	}
	res.Dir = dir
	e := &env{cfg: cfg, res: res, dir: dir, started: started,
		rng: mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x5deece66d))}
	defer func() { res.Duration = time.Since(started) }()
	switch {
	case cfg.DatabaseURL != "" && cfg.UseDatabase:
		e.dbURL = cfg.DatabaseURL
	case cfg.DatabaseURL != "":
		dbURL, drop, err := createDatabase(ctx, cfg.DatabaseURL)
		if err != nil {
			cleanup()
			return nil, err
		}
		e.dbURL = dbURL
		defer func() {
			if res.OK() && !cfg.Keep {
				if err := drop(); err != nil {
					e.logf("%v", err)
				}
				return
			}
			e.logf("database %s kept", dbURL[strings.LastIndex(dbURL, "/")+1:])
		}()
	}
	runErr := e.run(ctx)
	if runErr != nil && e.relay != nil {
		// What was seen before the run broke off (no tally).
		res.Accepted = int(e.relay.accepts.Load())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if st, err := e.opencrvsStats(sctx); err == nil {
			res.Confirmed = st.Registered
		}
		cancel()
	}
	e.close()
	if runErr == nil && res.OK() {
		cleanup()
	}
	return res, runErr
}

func workDir(cfg Config) (string, func(), error) {
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("crashtest: work directory: %w", err)
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, databaseFile)); err == nil {
			return "", nil, fmt.Errorf("crashtest: %s already holds a database: give an empty directory", cfg.Dir)
		}
		return cfg.Dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "crash-test-*")
	if err != nil {
		return "", nil, fmt.Errorf("crashtest: work directory: %w", err)
	}
	if cfg.Keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// env is one run: the simulators, the relay, the mediator and the counts.
type env struct {
	cfg     Config
	res     *Result
	dir     string
	started time.Time
	rng     *mrand.Rand

	simLogFile  *os.File
	servers     []*http.Server
	mosip       *mosipsim.Sim
	mosipWatch  *mosipWatch
	opencrvs    *opencrvssim.Sim
	opencrvsURL string
	gateway     *gateway
	relay       *relay
	balancer    *balancer // the hub's callback, with several replicas
	mediators   []*child  // one per replica
	down        []bool    // replicas killed and not restarted
	dbURL       string    // the run's PostgreSQL database ("": SQLite in dir)
	client      *http.Client

	logMu     sync.Mutex   // serialises progress lines
	kills     atomic.Int64 // kills so far (Result.Kills once done)
	sent      atomic.Int64 // records whose send finished
	idsMu     sync.Mutex
	recordIDs []string // records created in the OpenCRVS simulator
	sendErrs  []string
}

func (e *env) logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.cfg.Progress, "crash-test: %5.1fs "+format+"\n",
		append([]any{time.Since(e.started).Seconds()}, args...)...)
}

func (e *env) close() {
	var wg sync.WaitGroup
	for _, m := range e.mediators {
		wg.Go(func() { m.stop(20 * time.Second) })
	}
	wg.Wait()
	if e.opencrvs != nil {
		e.opencrvs.Close()
	}
	for _, s := range e.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Shutdown(ctx)
		cancel()
	}
	if e.mosip != nil {
		e.mosip.Close()
	}
	if e.simLogFile != nil {
		e.simLogFile.Close()
	}
}

// serve serves h on a fresh 127.0.0.1 port and returns its base URL.
func (e *env) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("crashtest: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	e.servers = append(e.servers, srv)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// freePort finds a port the mediator can listen on at every start (the
// WebSub callback URL names it, so it must not change).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("crashtest: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (e *env) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: e.cfg.Concurrency + 8}}

	partner, p12Path, err := partnerKey(e.dir)
	if err != nil {
		return err
	}
	if e.simLogFile, err = os.OpenFile(filepath.Join(e.dir, simulatorsLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("crashtest: simulators' log: %w", err)
	}
	simLog := slog.New(slog.NewTextHandler(e.simLogFile, &slog.HandlerOptions{Level: slog.LevelWarn}))

	e.mosip, err = mosipsim.New(mosipsim.Config{
		Logger:           simLog.With("component", "mosip-sim"),
		PartnerCert:      partner.Cert,
		CredentialFormat: mosipsim.CredentialMOSIP,
		// About 2 s of processing per record (10 stages), so that records
		// are in flight at MOSIP at every kill and confirmations still
		// arrive after the sending ended.
		StageDelay: 200 * time.Millisecond,
		// Redeliver for about 3 minutes (40 attempts, 250ms..5s apart), so that
		// what the hub could not deliver while the mediator was down
		// arrives after its restart.
		DeliveryRetryBase: 250 * time.Millisecond,
		DeliveryRetryMax:  5 * time.Second,
		DeliveryAttempts:  40,
		// Keep what the hub could not deliver for want of a subscriber, as
		// MOSIP's Kafka does (the simulator's default keeps 1000).
		Backlog:           e.cfg.Records + 1000,
		DisableDemoDedupe: true,
		Seed:              e.cfg.Seed,
	})
	if err != nil {
		return fmt.Errorf("crashtest: %w", err)
	}
	e.mosipWatch = newMOSIPWatch(e.mosip)
	mosipURL, err := e.serve(e.mosipWatch)
	if err != nil {
		return err
	}

	ports := make([]int, e.cfg.Replicas)
	mediatorURLs := make([]string, e.cfg.Replicas)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
		mediatorURLs[i] = "http://127.0.0.1:" + strconv.Itoa(ports[i])
	}
	// The hub calls the mediator, or with replicas a balancer in front.
	callbackURL := mediatorURLs[0]
	if e.cfg.Replicas > 1 {
		e.balancer = newBalancer(mediatorURLs)
		if callbackURL, err = e.serve(e.balancer); err != nil {
			return err
		}
	}
	e.relay = newRelay(mediatorURLs, e.cfg.SendTimeout)
	relayURL, err := e.serve(e.relay)
	if err != nil {
		return err
	}
	e.opencrvs, err = opencrvssim.New(opencrvssim.Config{
		Logger:      simLog.With("component", "opencrvs-sim"),
		MediatorURL: relayURL,
		SendTimeout: e.cfg.SendTimeout + time.Minute,
		Seed:        e.cfg.Seed,
	})
	if err != nil {
		return fmt.Errorf("crashtest: %w", err)
	}
	e.gateway = newGateway(e.opencrvs)
	if e.opencrvsURL, err = e.serve(e.gateway); err != nil {
		return err
	}

	storeKey, err := store.GenerateKey("crash")
	if err != nil {
		return fmt.Errorf("crashtest: store key: %w", err)
	}
	database := filepath.Join(e.dir, databaseFile)
	if e.dbURL != "" {
		database = e.dbURL
	}
	e.down = make([]bool, e.cfg.Replicas)
	for i, port := range ports {
		e.mediators = append(e.mediators, &child{
			bin: e.cfg.Binary,
			env: mediatorEnv(envConfig{port: port, p12Path: p12Path, mosipURL: mosipURL, opencrvsURL: e.opencrvsURL,
				callbackURL: callbackURL, storeKey: storeKey, database: database, replicas: e.cfg.Replicas}),
			logPath: filepath.Join(e.dir, logName(i, e.cfg.Replicas)),
			baseURL: mediatorURLs[i],
			onDeath: func(err error) { cancel(err) },
		})
	}
	where := "SQLite"
	if e.dbURL != "" {
		where = "PostgreSQL"
	}
	e.logf("seed %d, %d records, %d kills, concurrency %d; %d mediator(s) on %s at %s (logs in %s)",
		e.cfg.Seed, e.cfg.Records, e.cfg.Kills, e.cfg.Concurrency, e.cfg.Replicas, where, strings.Join(mediatorURLs, " "), e.dir)
	// The first migrates the database; the others start with it migrated
	// (starting together, they would take turns anyway).
	if err := e.mediators[0].start(ctx, e.cfg.ReadyTimeout); err != nil {
		return err
	}
	var starts errgroup
	for _, m := range e.mediators[1:] {
		starts.Go(func() error { return m.start(ctx, e.cfg.ReadyTimeout) })
	}
	if err := starts.Wait(); err != nil {
		return err
	}
	// Start from a steady state: the mediator subscribed to MOSIP's hub.
	if err := e.awaitSubscription(ctx); err != nil {
		return err
	}

	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	progress.Go(func() { e.reportProgress(ctx, stopProgress) })
	defer func() {
		close(stopProgress)
		progress.Wait()
	}()

	plan := newKillPlan(e.rng, e.cfg.Records, e.cfg.Kills)
	sendStart, cpuStart := time.Now(), e.mediatorCPU()
	sendingDone := make(chan struct{})
	var senders sync.WaitGroup
	var next atomic.Int64
	for range e.cfg.Concurrency {
		senders.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= e.cfg.Records {
					return
				}
				e.send(ctx, i)
				e.sent.Add(1)
			}
		})
	}
	go func() {
		senders.Wait()
		e.res.SendSeconds = time.Since(sendStart).Seconds()
		close(sendingDone)
	}()

	if err := e.killDuring(ctx, plan, sendingDone); err != nil {
		cancel(err)
		senders.Wait()
		return err
	}
	select {
	case <-sendingDone:
	case <-ctx.Done():
		senders.Wait()
		return context.Cause(ctx)
	}
	if err := e.awaitCompletion(ctx); err != nil {
		return err
	}
	e.res.CompleteSeconds = time.Since(sendStart).Seconds()
	e.res.MediatorCPUSeconds = e.mediatorCPU() - cpuStart
	e.logf("throughput: %d records accepted in %.1fs (%.0f/s), all done after %.1fs (%.0f/s); mediator CPU %.1f ms per record",
		e.cfg.Records, e.res.SendSeconds, float64(e.cfg.Records)/e.res.SendSeconds, e.res.CompleteSeconds,
		float64(e.cfg.Records)/e.res.CompleteSeconds, 1000*e.res.MediatorCPUSeconds/float64(e.cfg.Records))
	e.logf("stopping the mediator(s) (SIGTERM)")
	var stops sync.WaitGroup
	for _, m := range e.mediators {
		stops.Go(func() {
			if err := m.stop(30 * time.Second); err != nil {
				e.logf("%v", err)
			}
		})
	}
	stops.Wait()
	return e.tally(ctx)
}

// mediatorCPU is the CPU time the running mediators have used, in seconds.
func (e *env) mediatorCPU() float64 {
	var total float64
	for _, m := range e.mediators {
		total += m.cpuSeconds()
	}
	return total
}

// errgroup runs functions at once and returns their errors.
type errgroup struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (g *errgroup) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
	})
}

func (g *errgroup) Wait() error {
	g.wg.Wait()
	return errors.Join(g.errs...)
}

// awaitSubscription waits until MOSIP's hub holds the mediator's
// subscription.
func (e *env) awaitSubscription(ctx context.Context) error {
	deadline := time.Now().Add(e.cfg.ReadyTimeout)
	for len(e.mosip.Subscriptions()) == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("crashtest: the mediator did not subscribe to MOSIP's hub within %v; see the logs in %s", e.cfg.ReadyTimeout, e.dir)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	e.logf("mediator ready and subscribed to MOSIP's hub")
	return nil
}

// send creates record i in the OpenCRVS simulator, which posts it to the
// relay, which posts it to the mediator until it is accepted.
func (e *env) send(ctx context.Context, i int) {
	mode := opencrvssim.ModeFHIR
	if i%2 == 1 {
		mode = opencrvssim.ModeMapped
	}
	body := fmt.Sprintf(`{"kind":"birth","mode":%q}`, mode)
	var ans struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	sctx, cancel := context.WithTimeout(ctx, e.cfg.SendTimeout+2*time.Minute)
	defer cancel()
	status, err := postJSON(sctx, e.client, e.opencrvsURL+"/sim/records", body, &ans)
	e.idsMu.Lock()
	defer e.idsMu.Unlock()
	switch {
	case err != nil:
		e.sendErrs = append(e.sendErrs, fmt.Sprintf("record %d: OpenCRVS simulator: %v", i, err))
	case status != http.StatusAccepted || ans.ID == "":
		e.sendErrs = append(e.sendErrs, fmt.Sprintf("record %d: OpenCRVS simulator answered HTTP %d", i, status))
	default:
		e.recordIDs = append(e.recordIDs, ans.ID)
	}
}
