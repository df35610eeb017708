package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
)

// Designs `dev` runs (--design).
const (
	designDirect = "direct"
	designSplit  = "split"
)

// Development values of the split design.
const (
	// devPeerClient is the MOSIP client the OpenCRVS-side mediator gets
	// its tokens for the MOSIP side with; the MOSIP simulator's
	// validateToken gives every client the role the MOSIP side requires.
	devPeerClient = "opencrvs-side-client"
	// The databases and envelope keys of the two mediators, under --data.
	devOpenCRVSSideDB = "opencrvs-side.sqlite"
	devMOSIPSideDB    = "mosip-side.sqlite"
	devOpenCRVSSide   = "opencrvs-side"
	devMOSIPSide      = "mosip-side"
	// devOpenCRVSPartner is the MOSIP partner of the OPENCRVS_NEW route's
	// credentials (mosipsim.Config.OpenCRVSPartnerID's default): the
	// MOSIP side subscribes to its CREDENTIAL_ISSUED topic.
	devOpenCRVSPartner = "opencrvs-partner"
)

// devSplitOptions are the flags of `dev --design split`.
type devSplitOptions struct {
	flags                           *flag.FlagSet
	dataDir, logLevel, pprofAddr    string
	stageDelay                      time.Duration
	opencrvsAddr, mosipAddr         string
	opencrvsSideAddr, mosipSideAddr string
}

// runDevSplit runs the split design in one process: the OpenCRVS
// simulator, an OpenCRVS-side mediator (OpenCRVS webhooks in, sealed
// records out), a MOSIP-side mediator (sealed records in, packets synced
// and uploaded, credentials proxied back) and the MOSIP simulator. Each
// mediator has its own SQLite database and envelope key, and the other's
// certificate, as two deployments would.
func runDevSplit(ctx context.Context, o devSplitOptions, env Env, stdout, stderr io.Writer, log *slog.Logger) error {
	storeKeyPath, err := devStoreKey(o.dataDir)
	if err != nil {
		return err
	}
	partner, p12Path, err := devPartnerKey(o.dataDir)
	if err != nil {
		return err
	}
	opencrvsSideKey, opencrvsSideCert, err := devEnvelopeKey(o.dataDir, devOpenCRVSSide)
	if err != nil {
		return err
	}
	mosipSideKey, mosipSideCert, err := devEnvelopeKey(o.dataDir, devMOSIPSide)
	if err != nil {
		return err
	}

	lns, err := devListen(o.flags, stderr, []devAddr{
		{"opencrvs-addr", o.opencrvsAddr}, {"opencrvs-side-addr", o.opencrvsSideAddr},
		{"mosip-side-addr", o.mosipSideAddr}, {"mosip-addr", o.mosipAddr},
	})
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	opencrvsURL, opencrvsSideURL, mosipSideURL, mosipURL := baseURL(lns[0]), baseURL(lns[1]), baseURL(lns[2]), baseURL(lns[3])

	mosipSim, err := mosipsim.New(mosipsim.Config{
		Logger:            log.With("component", "mosip-sim"),
		PartnerCert:       partner.Cert,
		OpenCRVSPartnerID: devOpenCRVSPartner,
		StageDelay:        o.stageDelay,
		CredentialFormat:  mosipsim.CredentialMOSIP,
		Clients: map[string]string{
			devPacketClient: devClientSecret, devWebSubClient: devClientSecret, devPeerClient: devClientSecret,
		},
	})
	if err != nil {
		closeAll()
		return err
	}
	defer mosipSim.Close()
	opencrvsSim, err := opencrvssim.New(opencrvssim.Config{
		Logger: log.With("component", "opencrvs-sim"),
		// Records sent without "delivery":"webhook" go to the
		// OpenCRVS-side mediator's direct intake, as a country config
		// would send them.
		MediatorURL: opencrvsSideURL,
		SHASecret:   opencrvssim.DevSHASecret,
	})
	if err != nil {
		closeAll()
		return err
	}
	defer opencrvsSim.Close()

	common := devRuntime(o.logLevel)
	maps.Copy(common, map[string]string{
		"MOSIP_AUTH_URL": mosipURL + "/v1/authmanager/authenticate/clientidsecretkey",
		// Each side has its own OpenCRVS system client in a deployment;
		// the simulator knows one.
		"OPENCRVS_CLIENT_ID":      opencrvssim.DevSystemClient,
		"OPENCRVS_CLIENT_SECRET":  opencrvssim.DevSystemSecret,
		"OPENCRVS_AUTH_TOKEN_URL": opencrvsURL + "/token",
	})
	if env("STORE_ENCRYPTION_KEY") == "" {
		common["STORE_ENCRYPTION_KEY_FILE"] = storeKeyPath
	}
	opencrvsSideCfg, err := app.LoadConfig(splitEnv(env, map[string]string{
		"MEDIATOR_ROLE":             app.RoleOpenCRVSSide,
		"PORT":                      strconv.Itoa(lns[1].Addr().(*net.TCPAddr).Port),
		"DATABASE_URL":              "",
		"SQLITE_DATABASE_PATH":      filepath.Join(o.dataDir, devOpenCRVSSideDB),
		"PEER_URL":                  mosipSideURL + "/opencrvs/v1",
		"ENVELOPE_PRIVATE_KEY_FILE": opencrvsSideKey,
		"ENVELOPE_PEER_CERT_FILE":   mosipSideCert,
	}, common, map[string]string{
		"OPENCRVS_PUBLIC_KEY_URL":       opencrvsURL + "/.well-known",
		"OPENCRVS_GRAPHQL_GATEWAY_URL":  opencrvsURL + "/graphql",
		"OPENCRVS_WEBHOOKS_URL":         opencrvsURL + "/webhooks",
		"OPENCRVS_WEBHOOK_CALLBACK_URL": opencrvsSideURL + "/webhooks/opencrvs",
		"OPENCRVS_CLIENT_SHA_SECRET":    opencrvssim.DevSHASecret,
		// The simulator forgets its subscriptions when it stops: look
		// often, so that a subscription that failed is made again soon.
		"WEBHOOK_RESUBSCRIBE_INTERVAL": "1m",
		// Used with WRITEBACK=country-config: the simulator's country
		// config endpoint stores MOSIP_AID and MOSIP_PSUT_TOKEN_ID.
		"WRITEBACK_URL":      opencrvsURL + opencrvssim.PathWriteBack,
		"PEER_CLIENT_ID":     devPeerClient,
		"PEER_CLIENT_SECRET": devClientSecret,
	}))
	if err != nil {
		closeAll()
		return fmt.Errorf("invalid configuration of the OpenCRVS-side mediator:\n%w", err)
	}
	opencrvsSideCfg.Addr = lns[1].Addr().String()
	opencrvsSideCfg.ForgetSubscriptions = true
	mosipSideCfg, err := app.LoadConfig(splitEnv(env, map[string]string{
		"MEDIATOR_ROLE":             app.RoleMOSIPSide,
		"PORT":                      strconv.Itoa(lns[2].Addr().(*net.TCPAddr).Port),
		"DATABASE_URL":              "",
		"SQLITE_DATABASE_PATH":      filepath.Join(o.dataDir, devMOSIPSideDB),
		"PEER_URL":                  opencrvsSideURL,
		"ENVELOPE_PRIVATE_KEY_FILE": mosipSideKey,
		"ENVELOPE_PEER_CERT_FILE":   opencrvsSideCert,
	}, common, map[string]string{
		"MOSIP_PACKET_AUTH_CLIENT_ID":     devPacketClient,
		"MOSIP_PACKET_AUTH_CLIENT_SECRET": devClientSecret,
		"MOSIP_WEBSUB_AUTH_CLIENT_ID":     devWebSubClient,
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": devClientSecret,
		"MOSIP_CREATE_PACKET_URL":         mosipURL + "/commons/v1/packetmanager/createPacket",
		"MOSIP_PROCESS_PACKET_URL":        mosipURL + "/registrationprocessor/v1/workflowmanager/workflowinstance",
		"MOSIP_REGPROC_URL":               mosipURL,
		"MOSIP_WEBSUB_HUB_URL":            mosipURL + "/websub/hub",
		// The OPENCRVS_NEW route's OpenCRVS stage publishes there.
		"MOSIP_WEBSUB_TOPIC":        devOpenCRVSPartner + "/" + mosipsim.TopicCredentialIssued,
		"MOSIP_WEBSUB_CALLBACK_URL": mosipSideURL + "/websub/callback",
		"MOSIP_WEBSUB_SECRET":       devWebSubSecret,
		"DECRYPT_P12_FILE_PATH":     p12Path,
		"DECRYPT_P12_FILE_PASSWORD": devP12Password,
	}, devReconcile))
	if err != nil {
		closeAll()
		return fmt.Errorf("invalid configuration of the MOSIP-side mediator:\n%w", err)
	}
	mosipSideCfg.Addr = lns[2].Addr().String()
	// The simulators start empty: a subscription the database remembers
	// from the last run is not at this hub.
	mosipSideCfg.ForgetSubscriptions = true

	opencrvsSide, err := app.New(ctx, opencrvsSideCfg, log.With("component", devOpenCRVSSide))
	if err != nil {
		closeAll()
		return fmt.Errorf("OpenCRVS-side mediator: %w", err)
	}
	mosipSide, err := app.New(ctx, mosipSideCfg, log.With("component", devMOSIPSide))
	if err != nil {
		opencrvsSide.Close()
		closeAll()
		return fmt.Errorf("MOSIP-side mediator: %w", err)
	}
	if o.pprofAddr != "" {
		if err := servePprof(ctx, o.pprofAddr, log); err != nil {
			opencrvsSide.Close()
			mosipSide.Close()
			closeAll()
			return err
		}
	}

	fmt.Fprintf(stdout, `opencrvs-mosip dev --design split: both mediators and both simulators are running.
  OpenCRVS simulator      %s
  OpenCRVS-side mediator  %s (database %s)
  MOSIP-side mediator     %s (database %s)
  MOSIP simulator         %s
  data                    %s
Register a birth:  curl -s -X POST %s/sim/records -d '{"kind":"birth","delivery":"webhook"}'
Then see it:       curl -s %s/sim/records/<id>   (MOSIP's answer arrives as the identifier MOSIP_PSUT_TOKEN_ID: "identifierUpserts"; with WRITEBACK=country-config as "mosipAid" and "mosipPsutTokenId")
Stop with Ctrl-C.
`, opencrvsURL, opencrvsSideURL, filepath.Join(o.dataDir, devOpenCRVSSideDB), mosipSideURL, filepath.Join(o.dataDir, devMOSIPSideDB),
		mosipURL, o.dataDir, opencrvsURL, opencrvsURL)

	// One part stopping (a mediator that cannot serve) stops the others.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, h := range map[int]http.Handler{0: opencrvsSim, 3: mosipSim} {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		ln := lns[i]
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				stop()
			}
		})
		wg.Go(func() {
			<-runCtx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(shutdownCtx)
		})
	}
	for _, m := range []struct {
		name string
		m    *app.Mediator
		ln   net.Listener
	}{{"OpenCRVS-side mediator", opencrvsSide, lns[1]}, {"MOSIP-side mediator", mosipSide, lns[2]}} {
		wg.Go(func() {
			if err := m.m.Run(runCtx, m.ln); err != nil {
				errs <- fmt.Errorf("%s: %w", m.name, err)
			}
			stop()
		})
	}
	wg.Wait()
	close(errs)
	var err2 error
	for err := range errs {
		err2 = errors.Join(err2, err)
	}
	return err2
}

// splitEnv is devEnv with values that are fixed: what makes each mediator
// its role and keeps the two apart (its port, database, peer and keys)
// cannot come from the environment, which both share.
func splitEnv(env Env, fixed map[string]string, defaults ...map[string]string) Env {
	dev := devEnv(env, defaults...)
	return func(name string) string {
		if v, ok := fixed[name]; ok {
			return v
		}
		return dev(name)
	}
}

// devEnvelopeKey returns the files of a mediator's development envelope
// key under dataDir: <name>-envelope-key.pem (PKCS#8, its own) and
// <name>-envelope-cert.pem (self-signed, what the peer mediator is given),
// made on first use and kept, like the partner key, so that records
// sealed before a restart still open.
func devEnvelopeKey(dataDir, name string) (keyPath, certPath string, err error) {
	keyPath = filepath.Join(dataDir, name+"-envelope-key.pem")
	certPath = filepath.Join(dataDir, name+"-envelope-cert.pem")
	_, kerr := os.Stat(keyPath)
	_, cerr := os.Stat(certPath)
	if kerr == nil && cerr == nil {
		return keyPath, certPath, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "opencrvs-mosip development " + name + " mediator", Organization: []string{"opencrvs-mosip dev"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", fmt.Errorf("write the %s mediator's envelope key: %w", name, err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", fmt.Errorf("write the %s mediator's envelope certificate: %w", name, err)
	}
	return keyPath, certPath, nil
}
