package opencrvssim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"opencrvs-mosip/internal/opencrvs"
)

// Config configures a Sim. The zero value of every field but MediatorURL has
// a sensible default.
type Config struct {
	Logger     *slog.Logger     // nil: slog.Default()
	HTTPClient *http.Client     // nil: a client with a connection pool sized for load runs
	Now        func() time.Time // nil: time.Now

	// MediatorURL is the mediator's base URL; records go to
	// MediatorURL + "/events/registration".
	MediatorURL string
	// Key signs record tokens; nil: a fresh 2048-bit key.
	Key *rsa.PrivateKey
	// Issuer is the iss claim of tokens; default "opencrvs:auth-service".
	Issuer string
	// Audience is the aud claim of tokens; default the audiences OpenCRVS
	// auth puts in user tokens (WEB_USER_JWT_AUDIENCES).
	Audience []string
	// TokenTTL is the lifetime of record tokens; default 7 days, as OpenCRVS.
	TokenTTL time.Duration
	// SendTimeout bounds one POST to the mediator; default 15 s (the
	// country config client's timeout).
	SendTimeout time.Duration
	// IdentityUpdateSecret is the HMAC key identity updates posted to
	// PathIdentityUpdates must be signed with (X-Hub-Signature); empty:
	// unsigned posts are taken.
	IdentityUpdateSecret []byte
	// DefaultVersion is the OpenCRVS version of records sent without a
	// "version": Version18 (the default) or Version19.
	DefaultVersion string
	// SystemClients are the system clients (client id -> secret) that get
	// a token with the client credentials grant at POST /token; nil:
	// DevSystemClient with DevSystemSecret.
	SystemClients map[string]string
	// SHASecret is the SHA secret OpenCRVS issues with each system client:
	// a webhook subscription must give it as hub.secret, and deliveries
	// are signed with it. Empty: DevSHASecret.
	SHASecret string
	// Seed makes the demographic content of generated records repeatable.
	// 0 picks a random seed. Ids (Composition ids, tracking ids) are always
	// random, so that a restarted simulator never reuses one.
	Seed uint64
}

// Defaults of Config.
const (
	DefaultIssuer      = "opencrvs:auth-service"
	DefaultTokenTTL    = 7 * 24 * time.Hour
	DefaultSendTimeout = 15 * time.Second
)

// DefaultAudience returns the audiences OpenCRVS auth puts in user tokens.
func DefaultAudience() []string { return opencrvs.TokenAudiences() }

// Record statuses as GET /sim/records/{id} reports them.
const (
	StatusWaiting    = "waiting"
	StatusRegistered = "registered"
	StatusRejected   = "rejected"
)

// ReasonRegNumberGenerationFailed is the rejection reason OpenCRVS 1.8 sets
// when the country config (here: the mediator) does not accept a record.
const ReasonRegNumberGenerationFailed = "REG_NUMBER_GENERATION_FAILED"

// Sim is the OpenCRVS simulator: an http.Handler with its state in memory.
// It is safe for concurrent use.
type Sim struct {
	log         *slog.Logger
	client      *http.Client
	now         func() time.Time
	mediatorURL string
	key         *rsa.PrivateKey
	publicPEM   []byte
	signer      jose.Signer
	issuer      string
	audience    []string
	tokenTTL    time.Duration
	sendTimeout time.Duration
	mux         *http.ServeMux
	// updateSecret is Config.IdentityUpdateSecret.
	updateSecret []byte
	// defaultVersion is Config.DefaultVersion.
	defaultVersion string
	// systemClients is Config.SystemClients.
	systemClients map[string]string
	// shaSecret is Config.SHASecret.
	shaSecret string

	// ctx ends in-flight sends and long polls on Close.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once

	genMu sync.Mutex
	gen   *generator

	mu          sync.Mutex
	records     map[string]*record
	trackingIDs map[string]struct{}
	// historic are the records registered before the mediator ran
	// (WriteHistoric), by record id.
	historic map[string]*historicRecord
	faults   faults
	counts   counters
	docs     sentDocs
	// webhooks are the webhook subscriptions, oldest first (webhooks.go).
	webhooks []*subscription
	// regNumbers maps the registration numbers of records registered by
	// webhook delivery to their ids.
	regNumbers map[string]string
}

// docBudget bounds the memory kept for sent documents (Bundle, GET
// /sim/records/{id}/document): about 5,000 FHIR bundles. Older documents are
// dropped; the records' states are kept.
const docBudget = 64 << 20

// sentDocs keeps the documents of the most recent records, oldest first.
type sentDocs struct {
	budget, total int
	seq           uint64
	order         []docRef
}

type docRef struct {
	id  string
	seq uint64
}

// record is the simulator's view of one OpenCRVS record.
type record struct {
	id, trackingID, kind, mode string
	version, actionID          string // OpenCRVS 1.8 or 1.9; 1.9: the REGISTER action to accept or reject
	status                     string
	registrationNumber         string
	nationalID                 string
	identifiers                []identifierInput
	reason, comment            string
	confirmations, rejections  int
	// upserts counts upsertRegistrationIdentifier calls on the record.
	upserts        int32
	mediatorStatus int
	mediator       json.RawMessage
	// subject is the birth's child or the death's deceased as the document
	// states them (nil when a given document could not be read); deaths of
	// and corrections start from it.
	subject *person
	// correctionOf is the original's id (corrections); corrections lists
	// the corrections of an original, oldest first.
	correctionOf string
	corrections  []string
	// changes lists what a correction changed ([] for none; nil for
	// records that are not corrections).
	changes []string
	// deathOf is the birth whose child died (deaths sent with "of"); deaths
	// lists those deaths on the birth.
	deathOf string
	deaths  []string
	// updates are the identity changes MOSIP pushed for the record, oldest
	// first.
	updates []identityUpdate
	// fields are form fields set through GraphQL updateField (fields.go).
	fields map[string]string
	// delivery is DeliveryWebhook for records registered and sent to
	// webhook subscribers ("" for records sent to the mediator); webhooks
	// are those deliveries' outcomes.
	delivery string
	webhooks []webhookResult
	// writeBack is what POST /mosip-openhim-mediator stored (nil: none).
	writeBack *writeBack
	// changed is closed when status leaves waiting; a re-sent record gets a
	// new one.
	changed chan struct{}
	// document is what was sent last (nil once dropped for memory); docSeq
	// identifies it in sentDocs.order.
	document []byte
	docSeq   uint64
}

// counters are simulator-wide totals for GET /sim/stats.
type counters struct {
	sent, mediatorFailures        int
	confirmations, rejections     int
	graphqlRequests, unauthorized int
	faultsInjected                int
	// upserts counts upsertRegistrationIdentifier calls; systemTokens the
	// tokens POST /token gave.
	upserts, systemTokens int
	// Webhooks: subscriptions accepted and denied (including failed
	// callback checks), deliveries (one per record and subscriber), those
	// without a 2xx answer, attempts; write-backs to the country config.
	webhookSubscribes, webhookDenied                    int
	webhookDeliveries, webhookFailures, webhookAttempts int
	writeBacks                                          int
}

// New returns a simulator. It fails on an unusable configuration.
func New(cfg Config) (*Sim, error) {
	mediator := strings.TrimRight(cfg.MediatorURL, "/")
	if mediator != "" {
		u, err := url.Parse(mediator)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("opencrvssim: mediator URL %q: want an absolute http(s) URL", cfg.MediatorURL)
		}
	}
	if cfg.TokenTTL < 0 || cfg.SendTimeout < 0 {
		return nil, errors.New("opencrvssim: TokenTTL and SendTimeout must not be negative")
	}
	key := cfg.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("opencrvssim: generate signing key: %w", err)
		}
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("opencrvssim: signing key: %w", err)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("opencrvssim: signing key has %d bits, want at least 2048 (RS256 verifiers refuse less)", key.N.BitLen())
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("opencrvssim: encode public key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("opencrvssim: token signer: %w", err)
	}
	s := &Sim{
		log:           cfg.Logger,
		client:        cfg.HTTPClient,
		now:           cfg.Now,
		mediatorURL:   mediator,
		key:           key,
		publicPEM:     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		signer:        signer,
		issuer:        cfg.Issuer,
		audience:      cfg.Audience,
		tokenTTL:      cfg.TokenTTL,
		sendTimeout:   cfg.SendTimeout,
		updateSecret:  slices.Clone(cfg.IdentityUpdateSecret),
		gen:           newGenerator(cfg.Seed),
		records:       make(map[string]*record),
		trackingIDs:   make(map[string]struct{}),
		historic:      make(map[string]*historicRecord),
		systemClients: cfg.SystemClients,
		shaSecret:     cfg.SHASecret,
		regNumbers:    make(map[string]string),
		faults:        faults{Mode: faultHTTP500},
		docs:          sentDocs{budget: docBudget},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.systemClients == nil {
		s.systemClients = map[string]string{DevSystemClient: DevSystemSecret}
	}
	if s.shaSecret == "" {
		s.shaSecret = DevSHASecret
	}
	if s.client == nil {
		s.client = defaultClient()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.issuer == "" {
		s.issuer = DefaultIssuer
	}
	if len(s.audience) == 0 {
		s.audience = DefaultAudience()
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	if s.sendTimeout == 0 {
		s.sendTimeout = DefaultSendTimeout
	}
	switch s.defaultVersion = cfg.DefaultVersion; s.defaultVersion {
	case "":
		s.defaultVersion = Version18
	case Version18, Version19:
	default:
		return nil, fmt.Errorf("opencrvssim: default version %q: want %q or %q", cfg.DefaultVersion, Version18, Version19)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = s.routes()
	return s, nil
}

// defaultClient keeps enough idle connections for hundreds of records a
// second; the standard client keeps two per host and churns sockets.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: t}
}

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known", s.handleWellKnown)
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("POST /graphql", s.handleGraphQL)
	mux.HandleFunc("POST /events/{procedures}", s.handleTRPC)
	mux.HandleFunc("POST /sim/records", s.handleSendRecord)
	mux.HandleFunc("POST /sim/historic", s.handleHistoric)
	mux.HandleFunc("GET /sim/records/{id}", s.handleGetRecord)
	mux.HandleFunc("GET /sim/records/{id}/document", s.handleDocument)
	mux.HandleFunc("POST /sim/tokens", s.handleMintToken)
	mux.HandleFunc("POST "+PathIdentityUpdates, s.handleIdentityUpdate)
	mux.HandleFunc("GET /sim/stats", s.handleStats)
	mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	mux.HandleFunc("PUT /sim/faults", s.handlePutFaults)
	mux.HandleFunc("POST /webhooks", s.handleSubscribe)
	mux.HandleFunc("GET /webhooks", s.handleListWebhooks)
	mux.HandleFunc("DELETE /webhooks/{id}", s.handleDeleteWebhook)
	mux.HandleFunc("POST "+PathWriteBack, s.handleWriteBack)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.noRoute(mux, w, r) })
	return mux
}

// noRoute answers problem JSON where the mux would answer plain text: 405
// for a known path with another method, 404 otherwise.
func (s *Sim) noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, "method not allowed",
			fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	writeProblem(w, http.StatusNotFound, "no such endpoint",
		fmt.Sprintf("%s is not an endpoint of the OpenCRVS simulator (see GET /.well-known, POST /token, POST /graphql, /sim/records, /sim/historic, /sim/tokens, /sim/stats, /sim/faults)", r.URL.Path))
}

// ServeHTTP serves the simulator's endpoints (see the package documentation).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends in-flight sends to the mediator and releases long polls. The
// simulator answers requests afterwards but sends nothing more. It always
// returns nil.
func (s *Sim) Close() error {
	s.closeOnce.Do(s.cancel)
	return nil
}

// PublicKeyPEM returns the token verification key as a PKIX PEM block, as
// GET /.well-known serves it.
func (s *Sim) PublicKeyPEM() []byte { return append([]byte(nil), s.publicPEM...) }

// RecordToken mints a record token for recordId as OpenCRVS's token exchange
// does (scopes record.confirm-registration and record.reject-registration),
// valid for ttl; ttl 0 means Config.TokenTTL.
func (s *Sim) RecordToken(recordID string, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = s.tokenTTL
	}
	return s.mintToken(defaultSubject(), recordID, recordScopes(), ttl)
}

// Bundle returns the document (FHIR bundle or mapped payload) the simulator
// last sent for recordID, byte for byte. Documents of older records are
// dropped beyond a memory budget (about 5,000 bundles); ok is false then and
// for unknown records.
func (s *Sim) Bundle(recordID string) (doc []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[recordID]
	if !ok || rec.document == nil {
		return nil, false
	}
	return append([]byte(nil), rec.document...), true
}

// keepDocument stores rec's document and drops the oldest ones beyond the
// budget. Callers hold s.mu.
func (s *Sim) keepDocument(rec *record, doc []byte) {
	d := &s.docs
	if rec.document != nil {
		d.total -= len(rec.document)
	}
	d.seq++
	rec.document, rec.docSeq = doc, d.seq
	d.total += len(doc)
	d.order = append(d.order, docRef{rec.id, d.seq})
	for d.total > d.budget && len(d.order) > 1 {
		oldest := d.order[0]
		d.order = d.order[1:]
		if r, ok := s.records[oldest.id]; ok && r.docSeq == oldest.seq && r.document != nil {
			d.total -= len(r.document)
			r.document = nil
		}
	}
}

func (s *Sim) handleDocument(w http.ResponseWriter, r *http.Request) {
	doc, ok := s.Bundle(r.PathValue("id"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "document not found",
			fmt.Sprintf("no document is kept for record %q: unknown, or dropped to bound memory", r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

func (s *Sim) handleWellKnown(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(s.publicPEM)
}

// viewOf renders a record for /sim/records answers. Callers hold s.mu.
func viewOf(rec *record) recordView {
	v := recordView{
		ID:                rec.id,
		TrackingID:        rec.trackingID,
		Kind:              rec.kind,
		Mode:              rec.mode,
		Version:           rec.version,
		Status:            rec.status,
		Confirmations:     rec.confirmations,
		Rejections:        rec.rejections,
		MediatorStatus:    rec.mediatorStatus,
		Mediator:          rec.mediator,
		IdentifierUpserts: int(rec.upserts),
	}
	v.NationalID = optional(rec.nationalID)
	v.ActionID = optional(rec.actionID)
	v.RegistrationNumber = optional(rec.registrationNumber)
	v.Reason = optional(rec.reason)
	v.Comment = optional(rec.comment)
	v.CorrectionOf = optional(rec.correctionOf)
	v.Corrections = slices.Clone(rec.corrections)
	v.Changed = slices.Clone(rec.changes)
	v.DeathOf = optional(rec.deathOf)
	v.Deaths = slices.Clone(rec.deaths)
	v.Updates = slices.Clone(rec.updates)
	v.Fields = fieldsOf(rec)
	v.Delivery = rec.delivery
	v.Webhooks = slices.Clone(rec.webhooks)
	writeBackView(&v, rec.writeBack)
	return v
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// recordView is the JSON of GET /sim/records/{id}.
type recordView struct {
	ID                 string  `json:"id"`
	TrackingID         string  `json:"trackingId"`
	Kind               string  `json:"kind"`
	Mode               string  `json:"mode"`
	Status             string  `json:"status"`
	Version            string  `json:"version"`  // OpenCRVS 1.8 or 1.9
	ActionID           *string `json:"actionId"` // 1.9: the REGISTER action accepted or rejected through tRPC
	NationalID         *string `json:"nationalId"`
	RegistrationNumber *string `json:"registrationNumber"`
	Reason             *string `json:"reason"`
	Comment            *string `json:"comment"`
	Confirmations      int     `json:"confirmations"`
	Rejections         int     `json:"rejections"`
	// IdentifierUpserts counts the upsertRegistrationIdentifier calls on
	// the record; Historic marks a record registered before the mediator
	// ran (POST /sim/historic).
	IdentifierUpserts int  `json:"identifierUpserts"`
	Historic          bool `json:"historic,omitempty"`
	// CorrectionOf is the corrected record (corrections only); Corrections
	// are the ids of an original's corrections, oldest first; Changed what
	// a correction changed (e.g. ["givenName","birthDate"], [] for none).
	CorrectionOf *string  `json:"correctionOf"`
	Corrections  []string `json:"corrections"`
	Changed      []string `json:"changed"`
	// DeathOf is the birth whose child died (deaths sent with "of"); Deaths
	// are the ids of such deaths on a birth.
	DeathOf *string  `json:"deathOf"`
	Deaths  []string `json:"deaths"`
	// Updates are the identity changes made in MOSIP that the mediator
	// pushed for the record (POST /sim/identity-updates), oldest first.
	Updates []identityUpdate `json:"updates"`
	// Fields are the form fields set through GraphQL updateField, e.g.
	// "birth.mother.mother-view-group.verified": "verified".
	Fields map[string]string `json:"fields,omitempty"`
	// MediatorStatus and Mediator are the mediator's answer to the send (0
	// and null when it was unreachable).
	MediatorStatus int             `json:"mediatorStatus"`
	Mediator       json.RawMessage `json:"mediator"`
	// Delivery is "webhook" for a record registered and sent to the
	// webhook subscribers; Webhooks are those deliveries.
	Delivery string          `json:"delivery,omitempty"`
	Webhooks []webhookResult `json:"webhooks,omitempty"`
	// MosipAID and MosipPSUTTokenID are what POST /mosip-openhim-mediator
	// stored, WriteBacks how many calls it took.
	MosipAID         *string `json:"mosipAid,omitempty"`
	MosipPSUTTokenID *string `json:"mosipPsutTokenId,omitempty"`
	WriteBacks       int     `json:"writeBacks,omitempty"`
}

// maxWait caps the long poll of GET /sim/records/{id}?wait=.
const maxWait = 60 * time.Second

func (s *Sim) handleGetRecord(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			writeProblem(w, http.StatusBadRequest, "invalid wait",
				fmt.Sprintf("wait %q is not a non-negative Go duration such as 30s", q))
			return
		}
		wait = min(d, maxWait)
	}
	s.mu.Lock()
	rec, ok := s.records[id]
	var changed chan struct{}
	var waiting bool
	if ok {
		changed, waiting = rec.changed, rec.status == StatusWaiting
	}
	if h, historic := s.historic[id]; !ok && historic {
		v := historicView(id, h)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, v)
		return
	}
	s.mu.Unlock()
	if !ok {
		writeProblem(w, http.StatusNotFound, "record not found",
			fmt.Sprintf("no record %q was sent through this simulator", id))
		return
	}
	if waiting && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-s.ctx.Done():
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
	s.mu.Lock()
	v := viewOf(rec)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) handleStats(w http.ResponseWriter, _ *http.Request) {
	type stats struct {
		Records          int `json:"records"`
		Waiting          int `json:"waiting"`
		Registered       int `json:"registered"`
		Rejected         int `json:"rejected"`
		Confirmations    int `json:"confirmations"`
		Rejections       int `json:"rejections"`
		Sent             int `json:"sent"`
		MediatorFailures int `json:"mediatorFailures"`
		GraphQLRequests  int `json:"graphqlRequests"`
		Unauthorized     int `json:"unauthorized"`
		FaultsInjected   int `json:"faultsInjected"`
		// Historic records (POST /sim/historic), the identifiers added to
		// registered records, and the system tokens given.
		Historic          int `json:"historic"`
		IdentifierUpserts int `json:"identifierUpserts"`
		SystemTokens      int `json:"systemTokens"`
		// Webhooks (POST /webhooks, "delivery":"webhook") and write-backs
		// (POST /mosip-openhim-mediator); left out while 0.
		WebhookSubscriptions       int `json:"webhookSubscriptions,omitempty"`
		WebhookSubscribes          int `json:"webhookSubscribes,omitempty"`
		WebhookSubscriptionsDenied int `json:"webhookSubscriptionsDenied,omitempty"`
		WebhookDeliveries          int `json:"webhookDeliveries,omitempty"`
		WebhookDeliveryFailures    int `json:"webhookDeliveryFailures,omitempty"`
		WebhookAttempts            int `json:"webhookAttempts,omitempty"`
		WriteBacks                 int `json:"writeBacks,omitempty"`
	}
	s.mu.Lock()
	st := stats{
		Records:           len(s.records),
		Confirmations:     s.counts.confirmations,
		Rejections:        s.counts.rejections,
		Sent:              s.counts.sent,
		MediatorFailures:  s.counts.mediatorFailures,
		GraphQLRequests:   s.counts.graphqlRequests,
		Unauthorized:      s.counts.unauthorized,
		FaultsInjected:    s.counts.faultsInjected,
		Historic:          len(s.historic),
		IdentifierUpserts: s.counts.upserts,
		SystemTokens:      s.counts.systemTokens,

		WebhookSubscriptions:       len(s.webhooks),
		WebhookSubscribes:          s.counts.webhookSubscribes,
		WebhookSubscriptionsDenied: s.counts.webhookDenied,
		WebhookDeliveries:          s.counts.webhookDeliveries,
		WebhookDeliveryFailures:    s.counts.webhookFailures,
		WebhookAttempts:            s.counts.webhookAttempts,
		WriteBacks:                 s.counts.writeBacks,
	}
	for _, rec := range s.records {
		switch rec.status {
		case StatusWaiting:
			st.Waiting++
		case StatusRegistered:
			st.Registered++
		case StatusRejected:
			st.Rejected++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

// Body limits. Bundles can carry attachments (signatures, documents) as
// base64, so records get more room than the small control bodies.
const (
	maxRecordBody  = 16 << 20
	maxControlBody = 64 << 10
	maxGraphQLBody = 1 << 20
	maxMediatorAns = 1 << 20
)

// readBody reads at most limit bytes; it reports whether the body was too
// large.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		return nil, errors.As(err, &tooLarge), err
	}
	return body, false, nil
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers an RFC 9457 problem.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{
		Type:   "urn:opencrvs-mosip:sim:opencrvs:" + strings.ReplaceAll(strings.ToLower(title), " ", "-"),
		Title:  title,
		Status: status,
		Detail: detail,
	})
}
