package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
)

// splitSystem is the split design on one machine: the OpenCRVS simulator,
// the OpenCRVS-side mediator, the MOSIP-side mediator and the MOSIP
// simulator, each mediator with its own SQLite database, all over real
// HTTP on 127.0.0.1.
type splitSystem struct {
	t           *testing.T
	mosip       *mosipsim.Sim
	mosipURL    string
	opencrvs    *opencrvssim.Sim
	opencrvsURL string
	ocSide      *side // MEDIATOR_ROLE=opencrvs-side
	mosipSide   *side // MEDIATOR_ROLE=mosip-side
	deadline    time.Time
}

// side is one running mediator of the split design.
type side struct {
	cfg    Config
	url    string
	m      *Mediator
	log    *slog.Logger // nil: testLogger
	cancel context.CancelFunc
	done   chan error
}

type splitOptions struct {
	// protocol is the envelope protocol (V2 unless set).
	javaCompat bool
	opencrvs   func(*Config)
	mosip      func(*Config)
	mosipSim   func(*mosipsim.Config)
	// mosipWrap, when set, wraps the MOSIP simulator's handler: a test
	// sees (and may change) every call a mediator makes to MOSIP.
	mosipWrap func(http.Handler) http.Handler
	// logger, when set, replaces testLogger for both mediators (each adds
	// its role as "component").
	logger *slog.Logger
}

// writeKeyAndCert writes a new RSA key (PKCS#8 PEM) and a self-signed
// certificate of it under dir, and returns their paths.
func writeKeyAndCert(t *testing.T, dir, name string) (keyPath, certPath string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPath, certPath
}

func startSplit(t *testing.T, opts splitOptions) *splitSystem {
	t.Helper()
	log := testLogger(t)
	dir := t.TempDir()
	partner, p12Path := writePartnerP12(t, dir)
	simCfg := mosipsim.Config{Logger: log.With("component", "mosip-sim"), PartnerCert: partner.Cert, DeliveryRetryBase: 10 * time.Millisecond}
	if opts.mosipSim != nil {
		opts.mosipSim(&simCfg)
	}
	mosipSim, err := mosipsim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	var mosipHandler http.Handler = mosipSim
	if opts.mosipWrap != nil {
		mosipHandler = opts.mosipWrap(mosipSim)
	}
	mosipSrv := httptest.NewServer(mosipHandler)
	t.Cleanup(func() { mosipSrv.Close(); mosipSim.Close() })

	ocLn, mosipLn := listen(t), listen(t)
	ocSideURL, mosipSideURL := "http://"+ocLn.Addr().String(), "http://"+mosipLn.Addr().String()
	opencrvsSim, err := opencrvssim.New(opencrvssim.Config{Logger: log.With("component", "opencrvs-sim"), MediatorURL: ocSideURL})
	if err != nil {
		t.Fatal(err)
	}
	opencrvsSrv := httptest.NewServer(opencrvsSim)
	t.Cleanup(func() { opencrvsSrv.Close(); opencrvsSim.Close() })

	ocKey, ocCert := writeKeyAndCert(t, dir, "opencrvs-side")
	mosipKey, mosipCert := writeKeyAndCert(t, dir, "mosip-side")
	proto, resultProto := envelope.V2, envelope.V2
	if opts.javaCompat {
		proto, resultProto = envelope.JavaCompat, envelope.LegacyResult
	}
	keys := func(own, peer string) (*rsa.PrivateKey, *envelope.PeerKey) {
		k, err := envelope.LoadPrivateKey(own)
		if err != nil {
			t.Fatal(err)
		}
		p, err := envelope.LoadPeerKey(peer)
		if err != nil {
			t.Fatal(err)
		}
		return k, p
	}
	base := func(name string, ln net.Listener) Config {
		return Config{
			Addr: ln.Addr().String(), DatabasePath: filepath.Join(dir, name+".sqlite"), StoreKeys: mustStoreKeys(t),
			Synchronous: "NORMAL", AutoMigrate: true,
			OpenCRVSPublicKey: opencrvsSrv.URL + "/.well-known", OpenCRVSGraphQL: opencrvsSrv.URL + "/graphql",
			OpenCRVSClientID: opencrvssim.DevSystemClient, OpenCRVSClientSecret: opencrvssim.DevSystemSecret,
			OpenCRVSTokenURL: opencrvsSrv.URL + "/token",
			MOSIPAuthURL:     mosipSrv.URL + mosipsim.PathAuth, MOSIPAppID: "regproc",
			CentreID: "10001", MachineID: "10004", PacketSource: "OPENCRVS", SchemaVersion: "0.100",
			AIDFormat: "rid", AIDPrefix: "10001",
			MaxBodyBytes: 1 << 20, CallTimeout: 5 * time.Second,
			RetryBase: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond, RetryAttempts: 50, RetryMaxAge: time.Hour,
			SubmitWorkers: 8, FeedbackWorkers: 8, ShutdownTimeout: 10 * time.Second, FetchPollInterval: 50 * time.Millisecond,
			ReconcileAfter: 3 * time.Second, ReconcileMax: 5 * time.Second, ReconcileInterval: 250 * time.Millisecond, ReconcileBatch: 100,
			RenewInterval: time.Hour, AdminToken: splitAdminToken,
		}
	}
	oc := base("opencrvs-side", ocLn)
	oc.Role = RoleOpenCRVSSide
	ocOwn, ocPeer := keys(ocKey, mosipCert)
	oc.Split = SplitConfig{
		PeerURL: mosipSideURL + "/opencrvs/v1", OwnKey: ocOwn, PeerKey: ocPeer, Protocol: proto, ResultProtocol: resultProto,
		Window: 5 * time.Minute, WebhooksURL: opencrvsSrv.URL + "/webhooks", WebhookCallbackURL: ocSideURL + "/webhooks/opencrvs",
		SHASecret: opencrvssim.DevSHASecret, ResubscribeInterval: time.Hour,
		PeerClientID: "mosip-regproc-client", PeerClientSecret: "abcdeABCDE123456", WriteBack: "graphql",
	}
	if opts.opencrvs != nil {
		opts.opencrvs(&oc)
	}
	ms := base("mosip-side", mosipLn)
	ms.Role = RoleMOSIPSide
	msOwn, msPeer := keys(mosipKey, ocCert)
	ms.PacketClientID, ms.PacketSecret = "mosip-regproc-client", "abcdeABCDE123456"
	ms.WebSubClientID, ms.WebSubClientSecret = "mosip-websub-client", "abcdeABCDE123456"
	ms.CreatePacketURL = mosipSrv.URL + "/commons/v1/packetmanager/createPacket"
	ms.WorkflowURL = mosipSrv.URL + "/registrationprocessor/v1/workflowmanager/workflowinstance"
	ms.StatusURL = mosipSrv.URL + "/registrationprocessor/v1/registrationstatus/search"
	ms.IdentityURL, ms.VIDURL = mosipSrv.URL+"/idrepository/v1/identity", mosipSrv.URL+"/idrepository/v1/vid"
	ms.HubURL, ms.Topic = mosipSrv.URL+"/websub/hub", "opencrvs-partner/CREDENTIAL_ISSUED"
	ms.CallbackURL, ms.WebSubSecret = mosipSideURL+"/websub/callback", "test-websub-secret"
	ms.P12Path, ms.P12Password = p12Path, "test-password"
	ms.Split = SplitConfig{
		PeerURL: ocSideURL, OwnKey: msOwn, PeerKey: msPeer, Protocol: proto, ResultProtocol: resultProto, Window: 5 * time.Minute,
		PeerRoles: []string{"OPENCRVS_MEDIATOR"}, ValidateTokenURL: mosipSrv.URL + mosipsim.PathValidateToken,
		RegprocURL: mosipSrv.URL, BirthProcess: "OPENCRVS_NEW", PSUTPartner: "opencrvs-partner", PSUTIntermediary: "mpartner-default-auth",
		TokenIDURL: mosipSrv.URL + mosipsim.PathTokenID,
	}
	if opts.mosip != nil {
		opts.mosip(&ms)
	}
	s := &splitSystem{
		t: t, mosip: mosipSim, mosipURL: mosipSrv.URL, opencrvs: opencrvsSim, opencrvsURL: opencrvsSrv.URL,
		ocSide: &side{cfg: oc, url: ocSideURL}, mosipSide: &side{cfg: ms, url: mosipSideURL},
		deadline: time.Now().Add(4 * time.Minute),
	}
	s.ocSide.log, s.mosipSide.log = opts.logger, opts.logger
	s.mosipSide.start(t, mosipLn)
	s.ocSide.start(t, ocLn)
	t.Cleanup(func() { s.ocSide.stop(t); s.mosipSide.stop(t) })
	return s
}

const splitAdminToken = "split-admin-token"

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func (sd *side) start(t *testing.T, ln net.Listener) {
	t.Helper()
	if ln == nil {
		var err error
		for range 50 { // the address was just released; take it back
			if ln, err = net.Listen("tcp", sd.cfg.Addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	log := sd.log
	if log == nil {
		log = testLogger(t)
	}
	m, err := New(t.Context(), sd.cfg, log.With("component", sd.cfg.Role))
	if err != nil {
		t.Fatal(err)
	}
	sd.m = m
	ctx, cancel := context.WithCancel(context.Background())
	sd.cancel, sd.done = cancel, make(chan error, 1)
	go func() { sd.done <- m.Run(ctx, ln) }()
}

func (sd *side) stop(t *testing.T) {
	t.Helper()
	if sd.cancel == nil {
		return
	}
	sd.cancel()
	sd.cancel = nil
	select {
	case err := <-sd.done:
		if err != nil {
			t.Errorf("%s mediator stopped with %v", sd.cfg.Role, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s mediator did not stop within 30s", sd.cfg.Role)
	}
}

func (sd *side) restart(t *testing.T) {
	t.Helper()
	sd.stop(t)
	sd.start(t, nil)
}

// waitSubscribed waits until the OpenCRVS-side mediator has subscribed to
// both webhook topics at the OpenCRVS simulator.
func (s *splitSystem) waitSubscribed(t *testing.T) {
	t.Helper()
	for time.Now().Before(s.deadline) {
		var stats map[string]any
		if st, err := call("GET", s.opencrvsURL+"/sim/stats", nil, nil, &stats); err == nil && st == http.StatusOK {
			if n, _ := stats["webhookSubscriptions"].(float64); n >= 2 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the OpenCRVS-side mediator did not subscribe to the OpenCRVS webhooks")
}

// sendWebhookRecord registers a record at the OpenCRVS simulator, which
// delivers it to its webhook subscribers.
func (s *splitSystem) sendWebhookRecord(t *testing.T, req map[string]any) simRecord {
	t.Helper()
	req["delivery"] = "webhook"
	var rec simRecord
	st, err := call("POST", s.opencrvsURL+"/sim/records", nil, req, &rec)
	if err != nil || st/100 != 2 {
		t.Fatalf("POST /sim/records %v: %d %v", req, st, err)
	}
	return rec
}

// waitState waits until side's transaction of the record with tracking
// id reaches want (bounded), and returns it.
func (s *splitSystem) waitState(t *testing.T, sd *side, recordID string, want bridge.State) *bridge.Transaction {
	t.Helper()
	var last *bridge.Transaction
	for time.Now().Before(s.deadline) {
		trs, err := sd.m.Store().TransactionsByRecord(t.Context(), recordID)
		if err == nil && len(trs) > 0 {
			last = trs[len(trs)-1]
			if last.State == want {
				return last
			}
			if last.State.Final() {
				break
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	if last == nil {
		t.Fatalf("%s: no transaction of record %s", sd.cfg.Role, recordID)
	}
	t.Fatalf("%s: transaction %s of record %s is %s (%s, %s), want %s", sd.cfg.Role, last.ID, recordID, last.State, last.LastError, last.RejectReason, want)
	return nil
}

// stage reads the MOSIP side's birth_transactions/death_transactions row.
func (s *splitSystem) stage(t *testing.T, kind bridge.EventKind, txnID string) store.Stage {
	t.Helper()
	st, err := s.mosipSide.m.Store().StageOf(t.Context(), kind, txnID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
