// Package httpapi is the mediator's HTTP surface: every route is in
// routes.go, errors are RFC 9457 problem JSON (problem.go), handlers are
// thin and call the pipeline.
package httpapi

import (
	"cmp"
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/trace"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/esignet"
	"opencrvs-mosip/internal/ida"
	"opencrvs-mosip/internal/idcard"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
	"opencrvs-mosip/internal/vc"
	"opencrvs-mosip/internal/websub"
)

// Config is what the handlers need.
type Config struct {
	Pipeline *pipeline.Service
	Store    *store.Store
	Verifier *opencrvs.Verifier
	// RequiredScope must be in the token of whoever sends a record.
	RequiredScope string
	// ReversalScope must be in the token of whoever asks for a death
	// reversal.
	ReversalScope string
	Subscriber    *websub.Subscriber
	// IdentitySubscriber and IdentityTopic: MOSIP's identity update topic
	// (nil: not subscribed).
	IdentitySubscriber *websub.Subscriber
	IdentityTopic      string
	WebSubSecret       []byte
	WebSubTopic        string
	// PartnerKey decrypts credentials MOSIP issued to us.
	PartnerKey *rsa.PrivateKey
	// Credentials verifies the proofs of delivered credentials and
	// CredentialCheck (CredentialCheckEnforce or CredentialCheckLogOnly)
	// says what a failure does; nil or CredentialCheckOff: not checked.
	Credentials     *vc.Verifier
	CredentialCheck string
	// MaxBodyBytes limits request bodies (default 10 MiB).
	MaxBodyBytes int64
	// MaxQueueDepth is how many records may wait for submission before
	// intake answers 503 (0: no limit).
	MaxQueueDepth int
	// Stopping reports that the mediator is shutting down: readiness fails
	// and intake refuses new records (nil: never).
	Stopping func() bool
	// IDA verifies national IDs for /verify and /events/review (nil:
	// identity verification is off and those routes answer 404).
	IDA *ida.Client
	// Fields sets OpenCRVS 1.8 form fields for /events/review.
	Fields *opencrvs.GraphQLClient
	// QRVerifier verifies ID card QR codes for /verify-qr (nil: the route
	// answers 404); QRScope must be in the caller's token ("": any
	// OpenCRVS token).
	QRVerifier *idcard.Verifier
	QRScope    string
	// ESignet exchanges E-Signet authorization codes for verified user info
	// (nil: /esignet/get-oidp-user-info answers 404). ESignetClientID, when
	// set, is the client id requests may leave out and may not change;
	// CORSOrigins may call that route from the browser.
	ESignet         *esignet.Client
	ESignetClientID string
	CORSOrigins     []string
	// IntakeRateLimit and VerifyRateLimit bound each client's requests to
	// the record routes and to the verification routes (zero: no limit).
	// A client is its address; behind one of TrustedProxies, the address
	// that proxy saw (X-Forwarded-For).
	IntakeRateLimit RateLimit
	VerifyRateLimit RateLimit
	// SignInLimit is each client's budget of wrong admin tokens, on the
	// admin API and the dashboard's sign-in (zero: ten at once, then one
	// every five seconds).
	SignInLimit    RateLimit
	TrustedProxies []netip.Prefix
	// AdminToken is the bearer token of /admin (empty: the admin API is off).
	AdminToken string
	// Admin answers /admin (nil: one on Store and Pipeline).
	Admin *admin.Service
	// Dashboard serves the operators' pages under /ui/ (internal/dashboard;
	// nil: /ui/ answers 404).
	Dashboard http.Handler
	Logger    *slog.Logger
	Now       func() time.Time
	// Tracer makes a server span of every request (nil: no spans).
	Tracer trace.Tracer
	// Metrics is served at GET /metrics and counts WebSub deliveries (nil:
	// /metrics answers 404).
	Metrics *telemetry.Metrics
	// Readiness configures /readyz (health.go).
	Readiness Readiness
	// Split configures the split design's endpoints (nil: they answer 404).
	Split *SplitConfig

	// routeSeen, when set, is told the pattern of every route New
	// registers: the OpenAPI test lists the routes with it.
	routeSeen func(pattern string)
}

type handler struct {
	Config
	admission                  *admission
	adminService               *admin.Service
	intakeLimits, verifyLimits *clientLimits
	signInLimits               *clientLimits // failed admin tokens (limits.go)
	ready                      *readiness
}

// New returns the mediator's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{
		Config:       cfg,
		admission:    &admission{max: cfg.MaxQueueDepth, stopping: cfg.Stopping, now: cfg.Now},
		intakeLimits: newClientLimits(cfg.IntakeRateLimit, cfg.TrustedProxies, cfg.Now),
		verifyLimits: newClientLimits(cfg.VerifyRateLimit, cfg.TrustedProxies, cfg.Now),
		signInLimits: newClientLimits(cmp.Or(cfg.SignInLimit, failedSignIns), cfg.TrustedProxies, cfg.Now),
		ready:        newReadiness(cfg.Readiness),
	}
	h.adminService = cfg.Admin
	if h.adminService == nil {
		h.adminService = &admin.Service{Store: cfg.Store, Pipeline: cfg.Pipeline, Logger: cfg.Logger, Now: cfg.Now}
	}
	if cfg.Store != nil {
		// Historic records waiting for the backfill queue do not count
		// (backfill.go).
		h.admission.count = liveQueued(
			func(ctx context.Context) (int, error) { return cfg.Store.CountInState(ctx, bridge.StateQueued) },
			func(ctx context.Context) (int, error) { return cfg.Store.QueueWaiting(ctx, backfillWaiting) })
	}
	mux := newRouter(cfg.routeSeen) // a ServeMux (openapi.go)

	// OpenCRVS country configuration.
	mux.HandleFunc("POST /events/registration", h.limited(h.intakeLimits, h.registration))
	mux.HandleFunc("POST /events/death-reversal", h.limited(h.intakeLimits, h.deathReversal))
	mux.HandleFunc("GET /events/death-reversal/{id}", h.deathReversalStatus)
	// In-form identity verification through MOSIP IDA (verify.go, review.go).
	mux.HandleFunc("POST /verify", h.limited(h.verifyLimits, h.verify))
	mux.HandleFunc("POST /events/review", h.limited(h.verifyLimits, h.review))
	mux.HandleFunc("POST /verify-qr", h.limited(h.verifyLimits, h.verifyQR)) // ID card QR codes (verifyqr.go)

	// OpenCRVS client (the registrar's browser): E-Signet user info (esignet.go).
	mux.HandleFunc("POST /esignet/get-oidp-user-info", h.limited(h.verifyLimits, h.esignetUserInfo))
	mux.HandleFunc("OPTIONS /esignet/get-oidp-user-info", h.esignetPreflight)

	// MOSIP WebSub hub: intent verification and deliveries. MOSIP has been
	// seen calling the callback with a trailing slash.
	mux.HandleFunc("GET /websub/callback", h.websubIntent)
	mux.HandleFunc("GET /websub/callback/", h.websubIntent)
	mux.HandleFunc("POST /websub/callback", h.websubDelivery)
	mux.HandleFunc("POST /websub/callback/", h.websubDelivery)
	mux.HandleFunc("GET /websub/identity", h.identityIntent)
	mux.HandleFunc("GET /websub/identity/", h.identityIntent)
	mux.HandleFunc("POST /websub/identity", h.identityDelivery)
	mux.HandleFunc("POST /websub/identity/", h.identityDelivery)

	// Operators.
	h.splitRoutes(mux) // the split design's roles (split.go)

	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
	// Prometheus; no credentials (ARCHITECTURE.md section 7).
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	} else {
		mux.HandleFunc("GET /metrics", h.notFound)
	}
	mux.HandleFunc("GET /admin/transactions", h.admin(h.listTransactions))
	mux.HandleFunc("GET /admin/transactions/{id}", h.admin(h.showTransaction))
	mux.HandleFunc("POST /admin/transactions/{id}/retry", h.admin(h.retryTransaction))
	mux.HandleFunc("POST /admin/transactions/{id}/cancel", h.admin(h.cancelTransaction))
	mux.HandleFunc("GET /admin/counts", h.admin(h.counts))
	mux.HandleFunc("POST /admin/backfill", h.admin(h.backfill)) // historic records (backfill.go)

	// The API description (openapi.go): every route here is in it (a test
	// checks), the dashboard as its entry page.
	mux.HandleFunc("GET /openapi.yaml", h.openAPI)
	mux.HandleFunc("GET /docs/", h.apiDocs) // and /docs, redirected here

	// The operators' dashboard (HTML pages; the API description names
	// only its entry page, GET /ui/).
	if cfg.Dashboard != nil {
		mux.Handle("/ui/", h.limitSignIns(cfg.Dashboard))
	} else {
		mux.HandleFunc("/ui/", h.notFound)
	}

	mux.HandleFunc("/", h.notFound)
	return traced(cfg.Tracer, observe(cfg.Logger, mux))
}
