// Package app wires the mediator from its configuration and runs it until
// its context ends, then shuts down in order: stop taking requests, finish
// the ones in flight, let running jobs finish, close the database. The
// command line and the end-to-end tests both start the mediator through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"opencrvs-mosip/internal/country"
	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/websub"
)

// Mediator is a wired, not yet running, mediator.
type Mediator struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	jobs    *jobs.Runner
	handler http.Handler
}

// New opens the database (migrating it, or refusing an out-of-date one),
// loads the country configuration and keys, and wires everything. Any
// problem stops it with a message that says what to fix.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Mediator, error) {
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
	partner, err := mosip.LoadPKCS12(cfg.P12Path, cfg.P12Password)
	if err != nil {
		return nil, fmt.Errorf("DECRYPT_P12_FILE_PATH: %w", err)
	}

	st, err := store.Open(ctx, store.Config{Path: cfg.DatabasePath, Synchronous: cfg.Synchronous, Logger: log})
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

	// One connection pool for MOSIP and OpenCRVS, with room for every worker
	// to keep its connection (the default keeps 2 per host: under load every
	// call would open a new one).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 2 * (cfg.SubmitWorkers + cfg.FeedbackWorkers + 4)
	transport.MaxIdleConnsPerHost = cfg.SubmitWorkers + cfg.FeedbackWorkers + 4
	httpClient := &http.Client{Timeout: cfg.CallTimeout, Transport: transport}
	packetAuth := mosip.NewAuthClient(mosip.AuthConfig{URL: cfg.MOSIPAuthURL, ClientID: cfg.PacketClientID, SecretKey: cfg.PacketSecret, AppID: cfg.MOSIPAppID, HTTPClient: httpClient, Logger: log})
	websubAuth := mosip.NewAuthClient(mosip.AuthConfig{URL: cfg.MOSIPAuthURL, ClientID: cfg.WebSubClientID, SecretKey: cfg.WebSubClientSecret, AppID: cfg.MOSIPAppID, HTTPClient: httpClient, Logger: log})
	mosipClient := mosip.NewClient(mosip.ClientConfig{
		Auth: packetAuth, HTTPClient: httpClient, Logger: log,
		CreatePacketURL: cfg.CreatePacketURL, WorkflowURL: cfg.WorkflowURL, StatusURL: cfg.StatusURL,
	})
	subscriber := websub.NewSubscriber(websub.SubscriberConfig{
		HubURL: cfg.HubURL, Topic: cfg.Topic, CallbackURL: cfg.CallbackURL, Secret: []byte(cfg.WebSubSecret),
		LeaseSeconds: cfg.LeaseSeconds, Token: websubAuth.Token, HTTPClient: httpClient, Logger: log,
	})
	runner, err := jobs.New(jobs.Config{
		Store:      st,
		MOSIP:      mosipClient,
		OpenCRVS:   opencrvs.NewGraphQLClient(opencrvs.GraphQLConfig{URL: cfg.OpenCRVSGraphQL, HTTPClient: httpClient, Logger: log}),
		Subscriber: subscriber,
		Packet: jobs.PacketConfig{
			Source: cfg.PacketSource, SchemaVersion: cfg.SchemaVersion,
			RefID: cfg.CentreID + "_" + cfg.MachineID, SchemaJSON: countryCfg.IDSchemaJSON(),
		},
		Retry:             jobs.RetryPolicy{Base: cfg.RetryBase, Max: cfg.RetryMax, MaxAttempts: cfg.RetryAttempts},
		CallTimeout:       cfg.CallTimeout,
		SubmitWorkers:     cfg.SubmitWorkers,
		FeedbackWorkers:   cfg.FeedbackWorkers,
		RenewInterval:     cfg.RenewInterval,
		FetchPollInterval: cfg.FetchPollInterval,
		Logger:            log,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := &pipeline.Service{Store: st, Jobs: runner, Country: countryCfg, AID: aid, Logger: log}
	handler := httpapi.New(httpapi.Config{
		Pipeline:      svc,
		Store:         st,
		Verifier:      opencrvs.NewVerifier(opencrvs.VerifierConfig{PublicKeyURL: cfg.OpenCRVSPublicKey, HTTPClient: httpClient, Logger: log, Issuer: cfg.TokenIssuer, Audience: cfg.TokenAudience}),
		RequiredScope: opencrvs.ScopeConfirmRegistration,
		Subscriber:    subscriber,
		WebSubSecret:  []byte(cfg.WebSubSecret),
		WebSubTopic:   cfg.Topic,
		PartnerKey:    partner.Key,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		Logger:        log,
	})
	return &Mediator{cfg: cfg, log: log, store: st, jobs: runner, handler: handler}, nil
}

// Handler is the mediator's HTTP handler.
func (m *Mediator) Handler() http.Handler { return m.handler }

// Store is the mediator's database (tests read it).
func (m *Mediator) Store() *store.Store { return m.store }

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
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	m.log.Info("mediator listening", "addr", ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	m.log.Info("mediator stopping")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
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
	m.log.Info("mediator stopped")
	return err
}

// Close releases a mediator that was never run.
func (m *Mediator) Close() error { return m.store.Close() }
