// Package jobs runs the mediator's outbound work as River jobs in the
// store's database: submitting packets to MOSIP, confirming or rejecting
// records in OpenCRVS, and keeping the WebSub subscription alive.
//
// A job is inserted in the same database transaction as the state change
// that implies it, so a crash can never leave a transaction waiting for a
// job that does not exist. Every job is idempotent: running it again after a
// crash finds the transaction already moved on, or repeats a call that MOSIP
// and OpenCRVS treat as done (same packet id, workflow already present,
// record already registered).
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/websub"
)

// Queues.
const (
	QueueSubmit      = "submit"      // calls to MOSIP
	QueueFeedback    = "feedback"    // calls to OpenCRVS
	QueueMaintenance = "maintenance" // subscriptions, housekeeping
	QueueReconcile   = "reconcile"   // status checks of submitted records
	// QueueSubmitBackfill: calls to MOSIP for historic records (backfill.go),
	// with workers of their own and a rate limit, so that live records never
	// wait behind them.
	QueueSubmitBackfill = "submit_backfill"
)

// ReconcileConfig paces reconciliation: MOSIP is asked for the status of a
// transaction After it was submitted (if no answer came by WebSub), then
// again with the wait doubled each time up to MaxInterval. The job runs
// every Interval and checks at most Batch transactions per run.
type ReconcileConfig struct {
	After, MaxInterval, Interval time.Duration
	Batch                        int
}

// DefaultReconcile suits a production MOSIP, whose registration processor
// takes minutes per packet.
var DefaultReconcile = ReconcileConfig{After: 10 * time.Minute, MaxInterval: 6 * time.Hour, Interval: time.Minute, Batch: 500}

// PacketConfig is what every packet sent to MOSIP shares.
type PacketConfig struct {
	Source        string // createPacket source, e.g. OPENCRVS or CRVS1
	SchemaVersion string // e.g. 0.100
	RefID         string // <centre id>_<machine id>
	SchemaJSON    string // the MOSIP ID schema, unless the packet brings its own
}

// Config wires the jobs.
type Config struct {
	Store    *store.Store
	MOSIP    *mosip.Client
	OpenCRVS *opencrvs.GraphQLClient
	// OpenCRVS19 answers OpenCRVS 1.9 records (tRPC); nil: their feedback
	// fails, and their transactions go DEAD saying why.
	OpenCRVS19 *opencrvs.TRPCClient
	Subscriber *websub.Subscriber // nil: no WebSub subscription job
	// IdentitySubscriber keeps the subscription to MOSIP's identity update
	// topic (nil: none).
	IdentitySubscriber *websub.Subscriber
	// IdentityUpdates sends identity changes MOSIP announced to OpenCRVS
	// (nil: no identity update jobs).
	IdentityUpdates *IdentityUpdateConfig
	// Identities reads the UIN of a processed birth whose credential never
	// came; nil: such births wait for the credential.
	Identities IdentityLookup
	Packet     PacketConfig
	// Split configures the split design's jobs (split.go).
	Split     SplitConfig
	Retry     RetryPolicy
	Reconcile ReconcileConfig
	// Reasons explains MOSIP's refusals to registrars (DefaultReasons when
	// nil).
	Reasons Reasons
	// CallTimeout bounds each call to MOSIP or OpenCRVS.
	CallTimeout time.Duration
	// SubmitWorkers and FeedbackWorkers are how many jobs of each queue run
	// at once.
	SubmitWorkers, FeedbackWorkers int
	// Backfill configures the jobs of historic records (backfill.go).
	Backfill BackfillConfig
	// DeliveryRetention is how long WebSub deliveries are remembered to
	// recognise redeliveries (default DefaultDeliveryRetention).
	DeliveryRetention time.Duration
	// RenewInterval is how often the WebSub subscription is made again even
	// when its lease is longer (default 12h).
	RenewInterval time.Duration
	// SubscriptionCheck is how often the subscription job looks whether
	// the subscription is due (default a minute).
	SubscriptionCheck time.Duration
	// FetchPollInterval is how often idle queues look for due jobs (retries);
	// new jobs wake them at once.
	FetchPollInterval time.Duration
	// ID names this process among the mediators working the database's
	// jobs (River's client id); empty: host, process id and a random part.
	ID string
	// ReplicaCheck is how often, on PostgreSQL, this process looks for jobs
	// that mediators which are gone left running, and resumes them
	// (store.ResumeOrphanedJobs); default 5s.
	ReplicaCheck time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// Metrics counts job runs, completed transactions and the error codes
	// MOSIP and OpenCRVS put in 2xx answers (nil: nothing is counted).
	Metrics *telemetry.Metrics
	// Tracer makes a span of every job run, in the trace of the record it
	// works on (nil: no spans).
	Tracer trace.Tracer
}

// Runner owns the River client.
type Runner struct {
	cfg    Config
	client *river.Client[*sql.Tx]
	log    *slog.Logger
	// stopReplica ends the replica check loop (PostgreSQL), replicaDone
	// is closed when it has.
	stopReplica context.CancelFunc
	replicaDone chan struct{}
}

// New builds the runner; Start starts working.
func New(cfg Config) (*Runner, error) {
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry = DefaultRetryPolicy
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ID == "" {
		cfg.ID = newID()
	}
	cfg.ReplicaCheck = cmpDuration(cfg.ReplicaCheck, defaultReplicaCheck)
	if cfg.Reasons == nil {
		cfg.Reasons = DefaultReasons
	}
	cfg.DeliveryRetention = cmpDuration(cfg.DeliveryRetention, DefaultDeliveryRetention)
	rc := &cfg.Reconcile
	rc.After = cmpDuration(rc.After, DefaultReconcile.After)
	rc.MaxInterval = max(rc.After, cmpDuration(rc.MaxInterval, DefaultReconcile.MaxInterval))
	rc.Interval = cmpDuration(rc.Interval, DefaultReconcile.Interval)
	if rc.Batch <= 0 {
		rc.Batch = DefaultReconcile.Batch
	}
	r := &Runner{cfg: cfg, log: cfg.Logger}
	if r.cfg.Split.Peer != nil && r.cfg.Split.WriteBack == nil {
		r.cfg.Split.WriteBack = graphQLWriteBack{r}
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &submitWorker{r: r})
	river.AddWorker(workers, &confirmWorker{r: r})
	river.AddWorker(workers, &rejectWorker{r: r})
	river.AddWorker(workers, &reconcileWorker{r: r})
	river.AddWorker(workers, &pruneWorker{r: r})
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.Reconcile.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ReconcileArgs{}, r.periodicOpts(QueueReconcile, 1) // the next run is the retry
		},
		&river.PeriodicJobOpts{RunOnStart: true, ID: "reconcile"}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, r.periodicOpts(QueueMaintenance, 1) },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "prune_deliveries"}),
	}
	if cfg.Subscriber != nil || cfg.IdentitySubscriber != nil {
		river.AddWorker(workers, &subscribeWorker{r: r})
		if r.cfg.RenewInterval <= 0 {
			r.cfg.RenewInterval = 12 * time.Hour
		}
	}
	for _, identity := range []bool{false, true} {
		if (!identity && cfg.Subscriber == nil) || (identity && cfg.IdentitySubscriber == nil) {
			continue
		}
		id := "websub_subscribe"
		if identity {
			id += "_identity"
		}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cmpDuration(cfg.SubscriptionCheck, defaultSubscriptionCheck)),
			func() (river.JobArgs, *river.InsertOpts) {
				// While one is retrying against a hub that is down, the
				// minutely schedule must not pile up more of them.
				return SubscribeArgs{Identity: identity}, r.periodicOpts(QueueMaintenance, r.cfg.Retry.MaxAttempts)
			},
			&river.PeriodicJobOpts{RunOnStart: true, ID: id}))
	}
	if cfg.IdentityUpdates != nil {
		river.AddWorker(workers, &identityUpdateWorker{r: r})
	}
	periodic = append(periodic, r.addSplitJobs(workers)...)
	var middleware []rivertype.Middleware
	if cfg.Tracer != nil {
		middleware = append(middleware, &tracing{r: r, tracer: cfg.Tracer})
	}
	if cfg.Metrics != nil {
		middleware = append(middleware, &jobMetrics{m: cfg.Metrics, now: cfg.Now})
	}
	client, err := river.NewClient(cfg.Store.RiverDriver(), &river.Config{
		ID:         cfg.ID,
		Middleware: middleware,
		Queues: map[string]river.QueueConfig{
			QueueSubmit:      {MaxWorkers: max(1, cfg.SubmitWorkers)},
			QueueFeedback:    {MaxWorkers: max(1, cfg.FeedbackWorkers)},
			QueueMaintenance: {MaxWorkers: 1},
			QueueReconcile:   {MaxWorkers: 1},
			// Backfill's own workers (BACKFILL_WORKERS): at most that many
			// historic records are with MOSIP at once.
			QueueSubmitBackfill: {MaxWorkers: max(1, cfg.Backfill.Workers)},
		},
		Workers:      workers,
		PeriodicJobs: periodic,
		// Under load, wait a little between fetches so that each fetch (a
		// write on SQLite's single writer) takes several jobs at once; an
		// idle queue still fetches the moment a job arrives.
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: max(time.Millisecond, cmpDuration(cfg.FetchPollInterval, 500*time.Millisecond)),
		JobTimeout:        4 * cfg.CallTimeout,
		// A job still "running" this long after it started is run again
		// (River's default is an hour). Not how a crash is recovered from:
		// at start on SQLite (store.RecoverFromStop), at once on
		// PostgreSQL (replicas.go). This is the last resort for a job
		// stuck in a live process, so it waits for the longest job
		// (reconciliation, 10 call timeouts) to have timed out: an earlier
		// rescue would run a job that is still running a second time.
		RescueStuckJobsAfter: 10*cfg.CallTimeout + time.Minute,
		MaxAttempts:          cfg.Retry.MaxAttempts,
		Logger:               cfg.Logger.With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.client = client
	return r, nil
}

// ID is this process's name among the mediators working the database's
// jobs (River's client id, in river_job.attempted_by).
func (r *Runner) ID() string { return r.cfg.ID }

// Start starts working jobs until Stop. On PostgreSQL it first announces
// this process as a live replica, then keeps resuming the jobs of those
// that are gone (replicas.go).
func (r *Runner) Start(ctx context.Context) error {
	if err := r.startReplica(ctx); err != nil {
		return err
	}
	if err := r.client.Start(ctx); err != nil {
		r.stopReplicaLoop()
		return err
	}
	return nil
}

// Stop lets running jobs finish (within ctx) and stops.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil {
		r.stopReplicaLoop()
	}
	return err
}

// StopAndCancel cancels running jobs and stops. A cancelled job runs again
// at the next start: every job is idempotent.
func (r *Runner) StopAndCancel(ctx context.Context) error {
	err := r.client.StopAndCancel(ctx)
	r.stopReplicaLoop()
	return err
}

func (r *Runner) opts(queue string) *river.InsertOpts {
	// No River uniqueness: a transaction's state decides what a job does,
	// so a second job for the same transaction finds nothing to do.
	return &river.InsertOpts{
		Queue:       queue,
		MaxAttempts: r.cfg.Retry.MaxAttempts,
	}
}

// periodicOpts are the insert options of a periodic job: at most one of it
// waiting or running at a time. Finished ones do not count (River's
// default unique states include completed, which would block every run
// after the first until the completed job is cleaned away).
func (r *Runner) periodicOpts(queue string, maxAttempts int) *river.InsertOpts {
	opts := r.opts(queue)
	opts.MaxAttempts = maxAttempts
	opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}
	return opts
}

func (r *Runner) insert(ctx context.Context, tx *store.Tx, args river.JobArgs, queue string) error {
	if _, err := r.client.InsertTx(ctx, tx.SQL(), args, r.opts(queue)); err != nil {
		return &bridge.Error{Code: bridge.EUnavailable, Message: "the job queue is not available", Err: fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)}
	}
	tx.AfterCommit(func() { r.cfg.Store.NotifyQueue(queue) })
	return nil
}

// EnqueueSubmit schedules sending transaction id's packet to MOSIP.
func (r *Runner) EnqueueSubmit(ctx context.Context, tx *store.Tx, id string) error {
	return r.insert(ctx, tx, SubmitArgs{TransactionID: id}, QueueSubmit)
}

// EnqueueConfirm schedules confirming transaction id's record in OpenCRVS.
func (r *Runner) EnqueueConfirm(ctx context.Context, tx *store.Tx, id string) error {
	return r.insert(ctx, tx, ConfirmArgs{TransactionID: id}, QueueFeedback)
}

// EnqueueReject schedules telling OpenCRVS that MOSIP refused transaction id.
func (r *Runner) EnqueueReject(ctx context.Context, tx *store.Tx, id string) error {
	return r.insert(ctx, tx, RejectArgs{TransactionID: id}, QueueFeedback)
}

// failure decides what a failed attempt means for a transaction: retry
// later (the error is returned to River), or give up now. A transient
// failure on the last attempt, or once the job is older than the policy's
// MaxAge, makes the transaction DEAD.
func (r *Runner) failure(ctx context.Context, id string, from []bridge.State, job *rivertype.JobRow, transient bool, err error) error {
	msg := err.Error()
	attempt := job.Attempt
	if transient && r.cfg.Retry.retryable(attempt, job.MaxAttempts, r.cfg.Now().Sub(job.CreatedAt)) {
		if nerr := r.cfg.Store.NoteAttempt(ctx, id, attempt, msg); nerr != nil {
			r.log.WarnContext(ctx, "cannot record failed attempt", "transaction_id", id, "err", nerr)
		}
		return err
	}
	reason := "retries exhausted"
	if !transient {
		reason = "failed for a reason retrying cannot fix"
	}
	applied, terr := r.cfg.Store.Transition(ctx, id, store.Change{From: from, To: bridge.StateDead, Reason: reason, Attempt: attempt, LastError: &msg})
	if terr != nil {
		// The database is down: come back without spending an attempt, so
		// the transaction is never left without a job.
		r.log.WarnContext(ctx, "cannot mark transaction dead; will try again", "transaction_id", id, "err", terr)
		return river.JobSnooze(r.cfg.Retry.Delay(attempt))
	}
	if !applied {
		// Something else moved the transaction on meanwhile (MOSIP's answer
		// arrived, say): this job has nothing left to do.
		return river.JobCancel(err)
	}
	r.log.ErrorContext(ctx, "transaction dead", "transaction_id", id, "attempt", attempt, "reason", reason, "err", msg)
	return river.JobCancel(err)
}

func cmpDuration(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}
