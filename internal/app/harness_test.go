package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/vc"
)

// system is the real mediator with both simulators, on 127.0.0.1 ports
// chosen by the kernel.
type system struct {
	t           testing.TB
	mediator    *Mediator
	mediatorURL string
	mosip       *mosipsim.Sim
	mosipURL    string
	opencrvs    *opencrvssim.Sim
	opencrvsURL string
	// mosipSrv and opencrvsSrv serve the simulators; stopServer and
	// startServer close and reopen them on the same address.
	mosipSrv    *httptest.Server
	opencrvsSrv *httptest.Server
	partner     *mosip.KeyPair
	// vcKey signs the MOSIP simulator's verifiable credentials (its key at
	// /.well-known/public-key.json, allow-listed): tests sign with it too.
	vcKey  *rsa.PrivateKey
	cfg    Config
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan error
	// deadline bounds every wait of the test: a stuck system fails the
	// test in minutes.
	deadline time.Time
	stop     func()
	wrap     func(http.Handler) http.Handler
}

type systemOptions struct {
	retryBase, retryMax time.Duration
	retryAttempts       int
	callTimeout         time.Duration
	mosip               func(*mosipsim.Config)
	opencrvs            func(*opencrvssim.Config)
	config              func(*Config)
	// logger, when set, replaces testLogger for the mediator and the
	// simulators (each adds its "component" attribute).
	logger *slog.Logger
	// wrap, when set, wraps the mediator's HTTP handler (at every start):
	// a test sees each request the mediator serves and its answer.
	wrap func(http.Handler) http.Handler
}

func startSystem(t testing.TB, opts systemOptions) *system {
	t.Helper()
	log := testLogger(t)
	if opts.logger != nil {
		log = opts.logger
	}
	dir := t.TempDir()
	partner, p12Path := writePartnerP12(t, dir)

	simCfg := mosipsim.Config{Logger: log.With("component", "mosip-sim"), PartnerCert: partner.Cert, DeliveryRetryBase: 10 * time.Millisecond}
	if opts.mosip != nil {
		opts.mosip(&simCfg)
	}
	var err error
	if simCfg.CredentialKey == nil {
		if simCfg.CredentialKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	mosipSim, err := mosipsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	mosipSrv := httptest.NewServer(mosipSim)
	// The simulator's credentials are verified as MOSIP's would be: its key
	// allow-listed, its JSON-LD context configured (never fetched).
	vcContexts, err := vc.BundledContexts().With(mosipSrv.URL+"/.well-known/mosip-context.json", mosipsim.VCContext())
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mediatorURL := "http://" + ln.Addr().String()
	ocCfg := opencrvssim.Config{Logger: log.With("component", "opencrvs-sim"), MediatorURL: mediatorURL}
	if opts.opencrvs != nil {
		opts.opencrvs(&ocCfg)
	}
	opencrvsSim, err := opencrvssim.New(ocCfg)
	if err != nil {
		t.Fatal(err)
	}
	opencrvsSrv := httptest.NewServer(opencrvsSim)

	cfg := Config{
		Addr:               ln.Addr().String(),
		DatabasePath:       filepath.Join(dir, "mediator.sqlite"),
		StoreKeys:          mustStoreKeys(t),
		Synchronous:        "NORMAL",
		AutoMigrate:        true,
		OpenCRVSPublicKey:  opencrvsSrv.URL + "/.well-known",
		OpenCRVSGraphQL:    opencrvsSrv.URL + "/graphql",
		MOSIPAuthURL:       mosipSrv.URL + "/v1/authmanager/authenticate/clientidsecretkey",
		MOSIPAppID:         "regproc",
		PacketClientID:     "mosip-regproc-client",
		PacketSecret:       "abcdeABCDE123456",
		WebSubClientID:     "mosip-websub-client",
		WebSubClientSecret: "abcdeABCDE123456",
		CreatePacketURL:    mosipSrv.URL + "/commons/v1/packetmanager/createPacket",
		WorkflowURL:        mosipSrv.URL + "/registrationprocessor/v1/workflowmanager/workflowinstance",
		StatusURL:          mosipSrv.URL + "/registrationprocessor/v1/registrationstatus/search",
		CentreID:           "10001",
		MachineID:          "10004",
		PacketSource:       "OPENCRVS",
		SchemaVersion:      "0.100",
		AIDFormat:          "rid",
		AIDPrefix:          "10001",
		HubURL:             mosipSrv.URL + "/websub/hub",
		Topic:              "CREDENTIAL_ISSUED",
		CallbackURL:        mediatorURL + "/websub/callback",
		WebSubSecret:       "test-websub-secret",
		RenewInterval:      time.Hour,
		P12Path:            p12Path,
		P12Password:        "test-password",
		VCAllowList:        []string{mosipSrv.URL + "/.well-known/public-key.json"},
		VCVerify:           httpapi.CredentialCheckEnforce,
		VCContexts:         vcContexts,
		MaxBodyBytes:       1 << 20,
		CallTimeout:        cmpDur(opts.callTimeout, 5*time.Second),
		RetryBase:          cmpDur(opts.retryBase, 10*time.Millisecond),
		RetryMax:           cmpDur(opts.retryMax, 100*time.Millisecond),
		RetryAttempts:      cmpInt(opts.retryAttempts, 50),
		SubmitWorkers:      16,
		FeedbackWorkers:    16,
		ShutdownTimeout:    10 * time.Second,
		FetchPollInterval:  50 * time.Millisecond,
		RetryMaxAge:        time.Hour,
		ReconcileAfter:     3 * time.Second,
		ReconcileMax:       5 * time.Second,
		ReconcileInterval:  250 * time.Millisecond,
		ReconcileBatch:     500,
		IdentityURL:        mosipSrv.URL + "/idrepository/v1/identity",
		VIDURL:             mosipSrv.URL + "/idrepository/v1/vid",
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	m, err := New(t.Context(), cfg, log.With("component", "mediator"))
	if err != nil {
		t.Fatal(err)
	}
	s := &system{
		t: t, mediator: m, mediatorURL: mediatorURL,
		mosip: mosipSim, mosipURL: mosipSrv.URL, mosipSrv: mosipSrv,
		opencrvs: opencrvsSim, opencrvsURL: opencrvsSrv.URL, opencrvsSrv: opencrvsSrv,
		partner: partner, vcKey: simCfg.CredentialKey, cfg: cfg, log: log,
		deadline: time.Now().Add(5 * time.Minute),
		wrap:     opts.wrap,
	}
	if s.wrap != nil {
		m.handler = s.wrap(m.handler)
	}
	s.run(ln)
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		s.stopMediator(t)
		s.opencrvsSrv.Close()
		opencrvsSim.Close()
		s.mosipSrv.Close()
		mosipSim.Close()
	}
	t.Cleanup(s.stop)
	return s
}

func (s *system) run(ln net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- s.mediator.Run(ctx, ln) }()
}

func (s *system) stopMediator(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("mediator stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("mediator did not stop within 30s")
	}
}

// restartMediator stops the mediator and starts a new one on the same
// database and address, as after a reboot.
func (s *system) restartMediator(t *testing.T) {
	t.Helper()
	s.stopMediator(t)
	s.startMediator(t)
}

// startMediator starts a new mediator on the database and address of one
// that stopMediator stopped (work on the stopped system's database goes in
// between, such as an import).
func (s *system) startMediator(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the address was just released; take it back
		if ln, err = net.Listen("tcp", s.cfg.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(t.Context(), s.cfg, s.log.With("component", "mediator"))
	if err != nil {
		t.Fatal(err)
	}
	if s.wrap != nil {
		m.handler = s.wrap(m.handler)
	}
	s.mediator = m
	s.run(ln)
}

// stopServer closes a simulator's listener (and its idle connections), so
// that calls to it get "connection refused" until startServer reopens it.
func stopServer(srv *httptest.Server) { srv.Close() }

// startServer serves h again on the address of the closed server srv.
func startServer(t *testing.T, srv *httptest.Server, h http.Handler) *httptest.Server {
	t.Helper()
	addr := srv.Listener.Addr().String()
	var ln net.Listener
	var err error
	for range 50 { // the address was just released; take it back
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("reopen %s: %v", addr, err)
	}
	next := httptest.NewUnstartedServer(h)
	next.Listener.Close()
	next.Listener = ln
	next.Start()
	return next
}

// stopMOSIP and startMOSIP take the MOSIP simulator off the network and
// back on the same address (its state is kept).
func (s *system) stopMOSIP() { stopServer(s.mosipSrv) }

func (s *system) startMOSIP(t *testing.T) {
	s.mosipSrv = startServer(t, s.mosipSrv, s.mosip)
}

// stopOpenCRVS and startOpenCRVS do the same for the OpenCRVS simulator.
func (s *system) stopOpenCRVS() { stopServer(s.opencrvsSrv) }

func (s *system) startOpenCRVS(t *testing.T) {
	s.opencrvsSrv = startServer(t, s.opencrvsSrv, s.opencrvs)
}

func cmpDur(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// writePartnerP12 makes a partner key pair and writes it under dir as the
// PKCS#12 keystore DECRYPT_P12_FILE_PATH names (password test-password).
func writePartnerP12(t testing.TB, dir string) (*mosip.KeyPair, string) {
	t.Helper()
	partner := mustPartner(t)
	p12, err := mosip.EncodePKCS12(partner, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	p12Path := filepath.Join(dir, "partner.p12")
	if err := os.WriteFile(p12Path, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	return partner, p12Path
}

func mustPartner(t testing.TB) *mosip.KeyPair {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "e2e partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mosip.KeyPair{Key: key, Cert: cert}
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func do(t testing.TB, method, url string, header http.Header, body any, out any) int {
	t.Helper()
	st, err := call(method, url, header, body, out)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// call is do for goroutines other than the test's.
func call(method, url string, header http.Header, body any, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: answer %d is not JSON: %v: %s", method, url, resp.StatusCode, err, data)
		}
	}
	return resp.StatusCode, nil
}

// simRecord is the OpenCRVS simulator's view of a record.
type simRecord struct {
	ID                 string  `json:"id"`
	TrackingID         string  `json:"trackingId"`
	Kind               string  `json:"kind"`
	Status             string  `json:"status"`
	NationalID         *string `json:"nationalId"`
	RegistrationNumber *string `json:"registrationNumber"`
	Reason             *string `json:"reason"`
	Comment            *string `json:"comment"`
	Confirmations      int     `json:"confirmations"`
	Rejections         int     `json:"rejections"`
	MediatorStatus     int     `json:"mediatorStatus"`
	// Mediator is the mediator's answer to the send.
	Mediator json.RawMessage `json:"mediator"`
}

// sendRecord asks the OpenCRVS simulator to send a record to the mediator.
func (s *system) sendRecord(t testing.TB, req map[string]any) simRecord {
	t.Helper()
	rec, err := s.trySendRecord(req)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (s *system) trySendRecord(req map[string]any) (simRecord, error) {
	var rec simRecord
	st, err := call("POST", s.opencrvsURL+"/sim/records", nil, req, &rec)
	if err == nil && st/100 != 2 {
		err = fmt.Errorf("POST /sim/records %v: status %d", req, st)
	}
	return rec, err
}

// waitRecord waits until the record is no longer waiting (bounded).
func (s *system) waitRecord(t testing.TB, id string) simRecord {
	t.Helper()
	rec, err := s.tryWaitRecord(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// tryWaitRecord waits until the record is no longer waiting, at most 60 s
// and never past the system's deadline (so that a stuck run fails in
// minutes, not in hours).
func (s *system) tryWaitRecord(id string) (simRecord, error) {
	deadline := time.Now().Add(60 * time.Second)
	if s.deadline.Before(deadline) {
		deadline = s.deadline
	}
	for {
		var rec simRecord
		st, err := call("GET", s.opencrvsURL+"/sim/records/"+id+"?wait=5s", nil, nil, &rec)
		if err != nil {
			return rec, err
		}
		if st != http.StatusOK {
			return rec, fmt.Errorf("GET /sim/records/%s: status %d", id, st)
		}
		if rec.Status != "waiting" {
			return rec, nil
		}
		if time.Now().After(deadline) {
			return rec, fmt.Errorf("record %s still waiting", id)
		}
	}
}

func (s *system) token(t testing.TB, recordID string, ttl time.Duration) string {
	t.Helper()
	tok, err := s.opencrvs.RecordToken(recordID, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustStoreKeys(t testing.TB) *store.Sealer {
	t.Helper()
	line, err := store.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.ParseKeys(line)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
