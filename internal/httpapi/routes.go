// Package httpapi is the mediator's HTTP surface: every route is in
// routes.go, errors are RFC 9457 problem JSON (problem.go), handlers are
// thin and call the pipeline.
package httpapi

import (
	"crypto/rsa"
	"log/slog"
	"net/http"
	"time"

	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/websub"
)

// Config is what the handlers need.
type Config struct {
	Pipeline *pipeline.Service
	Store    *store.Store
	Verifier *opencrvs.Verifier
	// RequiredScope must be in the token of whoever sends a record.
	RequiredScope string
	Subscriber    *websub.Subscriber
	WebSubSecret  []byte
	WebSubTopic   string
	// PartnerKey decrypts credentials MOSIP issued to us.
	PartnerKey *rsa.PrivateKey
	// MaxBodyBytes limits request bodies (default 10 MiB).
	MaxBodyBytes int64
	Logger       *slog.Logger
	Now          func() time.Time
}

type handler struct{ Config }

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
	h := &handler{cfg}
	mux := http.NewServeMux()

	// OpenCRVS country configuration.
	mux.HandleFunc("POST /events/registration", h.registration)

	// MOSIP WebSub hub: intent verification and deliveries. MOSIP has been
	// seen calling the callback with a trailing slash.
	mux.HandleFunc("GET /websub/callback", h.websubIntent)
	mux.HandleFunc("GET /websub/callback/", h.websubIntent)
	mux.HandleFunc("POST /websub/callback", h.websubDelivery)
	mux.HandleFunc("POST /websub/callback/", h.websubDelivery)

	// Operators.
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)

	mux.HandleFunc("/", h.notFound)
	return observe(cfg.Logger, mux)
}
