// Package app wires the mediator from its configuration and runs it until
// its context ends, then shuts down in order: stop taking requests, finish
// the ones in flight, let running jobs finish, close the database. The
// command line and the end-to-end tests both start the mediator through it.
package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/country"
	"opencrvs-mosip/internal/dashboard"
	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/websub"
)

// Mediator is a wired, not yet running, mediator.
type Mediator struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	jobs    *jobs.Runner
	handler http.Handler
	// stopping is set when shutdown starts: readiness fails and intake
	// refuses new records while requests in flight finish.
	stopping atomic.Bool
	// serverTLS is the TLS the server speaks (nil: plain HTTP).
	serverTLS *tls.Config
	metrics   *telemetry.Metrics
	// tracing exports spans (nil: tracing is off); flushed on stop.
	tracing *telemetry.Tracing
	// split holds the split design's Kafka clients (nil: direct role).
	split *splitParts
	svc   *pipeline.Service
}

// New opens the database (migrating it, or refusing an out-of-date one),
// loads the country configuration and keys, and wires everything. Any
// problem stops it with a message that says what to fix.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Mediator, err error) {
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingConfig{
		Endpoint: cfg.OTLPEndpoint, TracesEndpoint: cfg.OTLPTracesEndpoint, ServiceName: cfg.ServiceName, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var tracer trace.Tracer // nil: no spans, and no trace context read or kept
	if tracing != nil {
		tracer = tracing.Tracer()
		log = slog.New(telemetry.LogHandler(log.Handler())) // trace ids in log lines
		defer func() {
			if err != nil {
				_ = tracing.Shutdown(context.WithoutCancel(ctx))
			}
		}()
	}
	aid := store.AIDFormat{Kind: cfg.AIDFormat, CentreID: cfg.CentreID, MachineID: cfg.MachineID, Prefix: cfg.AIDPrefix}
	if err := aid.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	countryCfg, err := country.Load(cfg.CountryConfig, country.Options{Vars: map[string]string{
		"centerId": cfg.CentreID, "machineId": cfg.MachineID,
	}})
	if err != nil {
		return nil, fmt.Errorf("country configuration: %w", err)
	}
	partner := &mosip.KeyPair{} // the OpenCRVS side receives no MOSIP credentials
	if cfg.Role != RoleOpenCRVSSide {
		if partner, err = mosip.LoadPKCS12(cfg.P12Path, cfg.P12Password); err != nil {
			return nil, fmt.Errorf("DECRYPT_P12_FILE_PATH: %w", err)
		}
	}

	if cfg.StoreKeys == nil {
		return nil, fmt.Errorf("configuration: STORE_ENCRYPTION_KEY is required: the database keeps OpenCRVS tokens, encrypted")
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, Path: cfg.DatabasePath, Synchronous: cfg.Synchronous, Logger: log, Sealer: cfg.StoreKeys})
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		err = st.Migrate(ctx)
	} else {
		err = st.CheckSchema(ctx)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	if n, err := st.RecoverFromStop(ctx); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		log.Warn("jobs interrupted by the last stop are resumed", "jobs", n)
	}

	// One connection pool for MOSIP and OpenCRVS, with room for every worker
	// to keep its connection (the default keeps 2 per host: under load every
	// call would open a new one).
	srvTLS, err := serverTLS(cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("configuration: %w", err)
	}
	outTLS, err := outboundTLS(cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("configuration: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = outTLS
	transport.MaxIdleConns = 2 * (cfg.SubmitWorkers + cfg.FeedbackWorkers + 4)
	transport.MaxIdleConnsPerHost = cfg.SubmitWorkers + cfg.FeedbackWorkers + 4
	// Every outbound call is counted by system and endpoint (GET /metrics),
	// inside its span.
	metrics := telemetry.NewMetrics()
	metrics.WatchStore(storeSnapshot(st))
	counted := metrics.Transport(transport, outboundEndpoints(cfg))
	httpClient := &http.Client{Timeout: cfg.CallTimeout, Transport: tracing.Transport(counted, outboundEndpoint(cfg))}
	packetAuth := mosip.NewAuthClient(mosip.AuthConfig{URL: cfg.MOSIPAuthURL, ClientID: cfg.PacketClientID, SecretKey: cfg.PacketSecret, AppID: cfg.MOSIPAppID, HTTPClient: httpClient, Logger: log})
	websubAuth := mosip.NewAuthClient(mosip.AuthConfig{URL: cfg.MOSIPAuthURL, ClientID: cfg.WebSubClientID, SecretKey: cfg.WebSubClientSecret, AppID: cfg.MOSIPAppID, HTTPClient: httpClient, Logger: log})
	mosipClient := mosip.NewClient(mosip.ClientConfig{
		Auth: packetAuth, HTTPClient: httpClient, Logger: log,
		CreatePacketURL: cfg.CreatePacketURL, WorkflowURL: cfg.WorkflowURL, StatusURL: cfg.StatusURL,
		IdentityURL: cfg.IdentityURL, VIDURL: cfg.VIDURL, TokenIDURL: cfg.Split.TokenIDURL,
	})
	idaClient, err := newIDAClient(cfg, httpClient, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	qrVerifier, err := newQRVerifier(cfg, httpClient, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	credentials, err := newCredentialVerifier(cfg, httpClient, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	esignetClient, err := newESignetClient(cfg, httpClient, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	var identities jobs.IdentityLookup
	if cfg.IdentityURL != "" && cfg.VIDURL != "" {
		identities = idRepository{mosipClient}
	}
	subscriber := websub.NewSubscriber(websub.SubscriberConfig{
		HubURL: cfg.HubURL, Topic: cfg.Topic, CallbackURL: cfg.CallbackURL, Secret: []byte(cfg.WebSubSecret),
		LeaseSeconds: cfg.LeaseSeconds, Token: websubAuth.Token, HTTPClient: httpClient, Logger: log,
		State: st, // one subscription for every mediator on the database
	})
	if cfg.Role == RoleOpenCRVSSide {
		subscriber = nil // MOSIP's answers come back from the MOSIP side, not from its hub
	}
	var identitySub *websub.Subscriber
	var identityUpdates *jobs.IdentityUpdateConfig
	if cfg.IdentityTopic != "" {
		identitySub = websub.NewSubscriber(websub.SubscriberConfig{
			HubURL: cfg.HubURL, Topic: cfg.IdentityTopic, CallbackURL: cfg.IdentityCallback, Secret: []byte(cfg.WebSubSecret),
			LeaseSeconds: cfg.LeaseSeconds, Token: websubAuth.Token, HTTPClient: httpClient, Logger: log,
			State: st,
		})
		identityUpdates = &jobs.IdentityUpdateConfig{Reader: mosipClient,
			Sink: &opencrvs.UpdateSink{URL: cfg.IdentitySinkURL, Secret: []byte(cfg.IdentitySinkSecret), HTTPClient: httpClient}}
	}
	if cfg.ForgetSubscriptions {
		for _, sub := range []*websub.Subscriber{subscriber, identitySub} {
			if sub != nil {
				sub.Forget(ctx)
			}
		}
	}
	var system *opencrvs.SystemClient // backfill's system client (backfill.go)
	if cfg.OpenCRVSClientID != "" {
		system = opencrvs.NewSystemClient(opencrvs.SystemClientConfig{
			TokenURL: cfg.OpenCRVSTokenURL, ClientID: cfg.OpenCRVSClientID, ClientSecret: cfg.OpenCRVSClientSecret,
			HTTPClient: httpClient, Logger: log,
		})
	}
	split, err := newSplit(cfg, st, httpClient, mosipClient, system, metrics, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	var splitJobs jobs.SplitConfig
	var splitIntake pipeline.SplitConfig
	var splitHTTP *httpapi.SplitConfig
	if split != nil {
		splitJobs, splitIntake, splitHTTP = split.jobs, split.pipeline, split.http
	}
	runner, err := jobs.New(jobs.Config{
		Split:              splitJobs,
		Store:              st,
		MOSIP:              mosipClient,
		OpenCRVS:           opencrvs.NewGraphQLClient(opencrvs.GraphQLConfig{URL: cfg.OpenCRVSGraphQL, HTTPClient: httpClient, Logger: log}),
		OpenCRVS19:         opencrvs.NewTRPCClient(opencrvs.TRPCConfig{URL: strings.TrimRight(cmp.Or(cfg.OpenCRVSGateway, gatewayOf(cfg.OpenCRVSGraphQL)), "/") + "/events", HTTPClient: httpClient, Logger: log}),
		Subscriber:         subscriber,
		IdentitySubscriber: identitySub,
		IdentityUpdates:    identityUpdates,
		Identities:         identities,
		Packet: jobs.PacketConfig{
			Source: cfg.PacketSource, SchemaVersion: cfg.SchemaVersion,
			RefID: cfg.CentreID + "_" + cfg.MachineID, SchemaJSON: countryCfg.IDSchemaJSON(),
		},
		Retry: jobs.RetryPolicy{Base: cfg.RetryBase, Max: cfg.RetryMax, MaxAttempts: cfg.RetryAttempts, MaxAge: cfg.RetryMaxAge},
		Reconcile: jobs.ReconcileConfig{
			After: cfg.ReconcileAfter, MaxInterval: cfg.ReconcileMax, Interval: cfg.ReconcileInterval, Batch: cfg.ReconcileBatch,
		},
		Reasons:           jobs.DefaultReasons.With(countryCfg.RejectionReasons()),
		CallTimeout:       cfg.CallTimeout,
		SubmitWorkers:     cfg.SubmitWorkers,
		FeedbackWorkers:   cfg.FeedbackWorkers,
		Backfill:          jobs.BackfillConfig{Workers: cfg.BackfillWorkers, System: system, IdentifierType: cfg.BackfillIdentifierType},
		RenewInterval:     cfg.RenewInterval,
		DeliveryRetention: cfg.DeliveryRetention,
		SubscriptionCheck: cfg.SubscriptionCheck,
		ReplicaCheck:      cfg.ReplicaCheck,
		FetchPollInterval: cfg.FetchPollInterval,
		Logger:            log,
		Tracer:            tracer,
		Metrics:           metrics,
	})
	if err != nil {
		split.close()
		st.Close()
		return nil, err
	}
	m := &Mediator{cfg: cfg, log: log, store: st, jobs: runner, serverTLS: srvTLS, tracing: tracing, metrics: metrics, split: split}
	svc := &pipeline.Service{Store: st, Jobs: runner, Country: countryCfg, AID: aid, Logger: log, Tracer: tracer, Metrics: metrics,
		Reversal: pipeline.ReversalConfig{
			Mode: cmp.Or(cfg.ReversalMode, pipeline.DefaultReversal.Mode), Process: cmp.Or(cfg.ReversalProcess, pipeline.DefaultReversal.Process),
			FlagField:    cmp.Or(cfg.DeathFlagField, pipeline.DefaultReversal.FlagField),
			FlagDeceased: pipeline.DefaultReversal.FlagDeceased, FlagAlive: pipeline.DefaultReversal.FlagAlive,
		},
	}
	if cfg.IdentityURL != "" {
		svc.Identities = mosipClient
	}
	svc.Backfill = backfillConfig(cfg, system)
	svc.Split = splitIntake
	adminSvc := &admin.Service{Store: st, Pipeline: svc, Logger: log}
	handler := httpapi.New(httpapi.Config{
		Admin:              adminSvc,
		Dashboard:          dashboard.New(dashboard.Config{Admin: adminSvc, Calls: metrics, AdminToken: cfg.AdminToken, Logger: log}),
		Pipeline:           svc,
		Store:              st,
		Verifier:           opencrvs.NewVerifier(opencrvs.VerifierConfig{PublicKeyURL: cfg.OpenCRVSPublicKey, HTTPClient: httpClient, Logger: log, Issuer: cfg.TokenIssuer, Audience: cfg.TokenAudience}),
		RequiredScope:      opencrvs.ScopeConfirmRegistration,
		ReversalScope:      cmp.Or(cfg.ReversalScope, "record.registration-correct"),
		Subscriber:         subscriber,
		WebSubSecret:       []byte(cfg.WebSubSecret),
		WebSubTopic:        cfg.Topic,
		IdentitySubscriber: identitySub,
		IdentityTopic:      cfg.IdentityTopic,
		PartnerKey:         partner.Key,
		Credentials:        credentials,
		CredentialCheck:    cfg.VCVerify,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		MaxQueueDepth:      cfg.MaxQueueDepth,
		IntakeRateLimit:    cfg.IntakeRateLimit,
		VerifyRateLimit:    cfg.VerifyRateLimit,
		TrustedProxies:     cfg.TrustedProxies,
		Stopping:           m.stopping.Load,
		AdminToken:         cfg.AdminToken,
		IDA:                idaClient,
		QRVerifier:         qrVerifier,
		QRScope:            cfg.QRScope,
		ESignet:            esignetClient,
		ESignetClientID:    cfg.OIDPClientID,
		CORSOrigins:        cfg.ClientAppOrigins,
		Fields:             opencrvs.NewGraphQLClient(opencrvs.GraphQLConfig{URL: cfg.OpenCRVSGraphQL, HTTPClient: httpClient, Logger: log}),
		Logger:             log,
		Tracer:             tracer,
		Metrics:            metrics,
		Split:              splitHTTP,
		Readiness:          httpapi.Readiness{MOSIPAuth: packetAuth.Check, Timeout: cfg.ReadyTimeout, MOSIPAuthCache: cfg.ReadyAuthCache, SubscriptionGrace: cfg.ReadyWebSubGrace, RequireDependencies: cfg.ReadyRequireDeps},
	})
	m.handler = handler
	m.svc = svc
	return m, nil
}

// Handler is the mediator's HTTP handler.
func (m *Mediator) Handler() http.Handler { return m.handler }

// Store is the mediator's database (tests read it).
func (m *Mediator) Store() *store.Store { return m.store }

// Metrics is what the mediator counts (served at GET /metrics).
func (m *Mediator) Metrics() *telemetry.Metrics { return m.metrics }

// Run serves on ln and works jobs until ctx ends, then shuts down within the
// configured timeout. The database is closed when Run returns.
func (m *Mediator) Run(ctx context.Context, ln net.Listener) error {
	defer m.store.Close()
	srv := &http.Server{
		Handler:           m.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	// Jobs get a context that outlives ctx: on stop they finish (Stop), and
	// are cancelled only when the shutdown time is up.
	if err := m.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	stopKafka := m.split.run(ctx, m.svc, m.log) // the MOSIP side's Kafka consumer, if any
	defer stopKafka()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(m.listen(ln)) }()
	m.log.Info("mediator listening", "addr", ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	m.log.Info("mediator stopping")
	m.stopping.Store(true)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
	if err == nil && m.cfg.DrainDelay > 0 {
		// Load balancers see readiness fail and stop sending before the
		// listener closes.
		select {
		case <-time.After(m.cfg.DrainDelay):
		case <-shutdownCtx.Done():
		}
	}
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", serr))
	}
	if jerr := m.jobs.Stop(shutdownCtx); jerr != nil {
		m.log.Warn("jobs did not finish in time; cancelling them (they run again at next start)", "err", jerr)
		cancelCtx, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelStop()
		if jerr := m.jobs.StopAndCancel(cancelCtx); jerr != nil {
			err = errors.Join(err, fmt.Errorf("stop jobs: %w", jerr))
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	m.flushTraces()
	m.log.Info("mediator stopped")
	return err
}

// flushTraces sends the spans not yet sent (the last jobs') and stops the
// exporter; a collector that does not answer in time loses them.
func (m *Mediator) flushTraces() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.tracing.Shutdown(ctx); err != nil {
		m.log.Warn("traces not flushed", "err", err)
	}
}

// Close releases a mediator that was never run.
func (m *Mediator) Close() error {
	m.split.close()
	m.flushTraces()
	return m.store.Close()
}
