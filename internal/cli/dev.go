package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// Development credentials shared by the mediator and the simulators in dev.
const (
	devPacketClient = "mosip-regproc-client"
	devWebSubClient = "mosip-websub-client"
	devClientSecret = "abcdeABCDE123456"
	devWebSubSecret = "mosip-websub-secret"
	// devIdentityUpdateSecret signs identity updates sent to the OpenCRVS
	// simulator.
	devIdentityUpdateSecret = "opencrvs-identity-update-secret"
	devP12Password          = "opencrvs-mosip-dev"
	devPartnerP12           = "partner.p12"
	devDatabaseFile         = "opencrvs-mosip.sqlite"
	// IDA partner of dev (mosip-api's development values).
	devMISPLicenseKey = "aaaaaAAAAAbbbbbBBBBBcccccCCCCCdddddDDDDDeeeeeEEEEE"
	devIDAPartnerID   = "crvs-partner"
	devIDAAPIKey      = "123456"
	devIDACert        = "ida-partner.crt"
)

func runDev(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("dev", "dev [flags]", stderr)
	mediatorAddr := fs.String("mediator-addr", "127.0.0.1:2024", "mediator listen address (port 0: any free port)")
	mosipAddr := fs.String("mosip-addr", "127.0.0.1:20240", "MOSIP simulator listen address")
	opencrvsAddr := fs.String("opencrvs-addr", "127.0.0.1:7070", "OpenCRVS simulator listen address")
	dataDir := fs.String("data", "data", "directory for the database and the development partner key")
	databaseURL := fs.String("database-url", "", "PostgreSQL database instead of SQLite under --data, postgres://... (default: $DATABASE_URL)")
	stageDelay := fs.Duration("stage-delay", 0, "MOSIP simulator: pause between registration processor stages")
	opencrvsVersion := fs.String("opencrvs-version", opencrvssim.Version18, "OpenCRVS simulator: version of records sent without \"version\" (1.8: FHIR/GraphQL, 1.9: EventDocument/tRPC); the mediator takes both")
	logLevel := fs.String("log-level", firstNonEmpty(env("LOG_LEVEL"), "info"), "debug, info, warn or error")
	pprofAddr := fs.String("pprof-addr", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060")
	design := fs.String("design", designDirect, "direct: one mediator between the simulators; split: an OpenCRVS-side and a MOSIP-side mediator, each with its own database, records crossing between them sealed")
	opencrvsSideAddr := fs.String("opencrvs-side-addr", "127.0.0.1:2025", "--design split: OpenCRVS-side mediator listen address")
	mosipSideAddr := fs.String("mosip-side-addr", "127.0.0.1:2026", "--design split: MOSIP-side mediator listen address")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	switch *design {
	case designDirect:
	case designSplit:
		if *databaseURL != "" {
			return errors.New("--database-url: --design split runs two mediators, each with its own SQLite database under --data; leave it out")
		}
		return runDevSplit(ctx, devSplitOptions{
			flags: fs, dataDir: *dataDir, logLevel: *logLevel, stageDelay: *stageDelay, pprofAddr: *pprofAddr,
			opencrvsAddr: *opencrvsAddr, mosipAddr: *mosipAddr, opencrvsSideAddr: *opencrvsSideAddr, mosipSideAddr: *mosipSideAddr,
		}, env, stdout, stderr, log)
	default:
		return fmt.Errorf("--design %q: want %s or %s", *design, designDirect, designSplit)
	}
	storeKeyPath, err := devStoreKey(*dataDir)
	if err != nil {
		return err
	}
	partner, p12Path, err := devPartnerKey(*dataDir)
	if err != nil {
		return err
	}

	// Listen first, so that every URL is known before anything is wired
	// (port 0 picks a free port).
	lns, err := devListen(fs, stderr, []devAddr{{"mediator-addr", *mediatorAddr}, {"mosip-addr", *mosipAddr}, {"opencrvs-addr", *opencrvsAddr}})
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	mediatorURL, mosipURL, opencrvsURL := baseURL(lns[0]), baseURL(lns[1]), baseURL(lns[2])

	mosipSim, err := mosipsim.New(mosipsim.Config{
		Logger:      log.With("component", "mosip-sim"),
		PartnerCert: partner.Cert,
		StageDelay:  *stageDelay,
		// MOSIP's default credential provider's format; the W3C form
		// (-credential-format vc on `sim mosip`) costs an RSA signature each.
		CredentialFormat: mosipsim.CredentialMOSIP,
		// IDA: the mediator signs with the partner key; OpenCRVS's mock
		// identities can be verified through POST /verify.
		IDAPartner:     &mosipsim.IDAPartner{MISPLicenseKey: devMISPLicenseKey, PartnerID: devIDAPartnerID, APIKey: devIDAAPIKey, Cert: partner.Cert},
		SeedIdentities: mosipsim.MockIdentities(),
	})
	if err != nil {
		closeAll()
		return err
	}
	defer mosipSim.Close()
	// E-Signet under the MOSIP simulator's address, at E-Signet's own base path (esignet.go).
	esignetSim, esignetKey, err := devESignet(*dataDir, log.With("component", "esignet-sim"))
	if err != nil {
		closeAll()
		return err
	}
	idaCertPath := filepath.Join(*dataDir, devIDACert)
	if err := os.WriteFile(idaCertPath, mosipSim.IDACertificatePEM(), 0o600); err != nil {
		closeAll()
		return fmt.Errorf("write the simulator's IDA certificate: %w", err)
	}
	opencrvsSim, err := opencrvssim.New(opencrvssim.Config{
		Logger:               log.With("component", "opencrvs-sim"),
		MediatorURL:          mediatorURL,
		IdentityUpdateSecret: []byte(devIdentityUpdateSecret),
		DefaultVersion:       *opencrvsVersion,
	})
	if err != nil {
		closeAll()
		return err
	}
	defer opencrvsSim.Close()

	defaults := map[string]string{}
	if *databaseURL != "" {
		defaults["DATABASE_URL"] = *databaseURL
	}
	if env("STORE_ENCRYPTION_KEY") == "" {
		defaults["STORE_ENCRYPTION_KEY_FILE"] = storeKeyPath
	}
	cfg, err := app.LoadConfig(devEnv(env, defaults, map[string]string{
		"PORT":                            strconv.Itoa(lns[0].Addr().(*net.TCPAddr).Port),
		"SQLITE_DATABASE_PATH":            filepath.Join(*dataDir, devDatabaseFile),
		"OPENCRVS_PUBLIC_KEY_URL":         opencrvsURL + "/.well-known",
		"OPENCRVS_GRAPHQL_GATEWAY_URL":    opencrvsURL + "/graphql",
		"OPENCRVS_CLIENT_ID":              opencrvssim.DevSystemClient, // backfill's system client
		"OPENCRVS_CLIENT_SECRET":          opencrvssim.DevSystemSecret,
		"MOSIP_AUTH_URL":                  mosipURL + "/v1/authmanager/authenticate/clientidsecretkey",
		"MOSIP_PACKET_AUTH_CLIENT_ID":     devPacketClient,
		"MOSIP_PACKET_AUTH_CLIENT_SECRET": devClientSecret,
		"MOSIP_WEBSUB_AUTH_CLIENT_ID":     devWebSubClient,
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": devClientSecret,
		"MOSIP_CREATE_PACKET_URL":         mosipURL + "/commons/v1/packetmanager/createPacket",
		"MOSIP_PROCESS_PACKET_URL":        mosipURL + "/registrationprocessor/v1/workflowmanager/workflowinstance",
		"MOSIP_WEBSUB_HUB_URL":            mosipURL + "/websub/hub",
		"MOSIP_WEBSUB_CALLBACK_URL":       mediatorURL + "/websub/callback",
		"MOSIP_WEBSUB_SECRET":             devWebSubSecret,
		"DECRYPT_P12_FILE_PATH":           p12Path,
		"DECRYPT_P12_FILE_PASSWORD":       devP12Password,
		"IDA_AUTH_URL":                    mosipURL + mosipsim.PathIDAAuth,
		"PARTNER_MISP_LK":                 devMISPLicenseKey,
		"PARTNER_ID":                      devIDAPartnerID,
		"PARTNER_APIKEY":                  devIDAAPIKey,
		"ENCRYPT_CERT_PATH":               idaCertPath,
		// Cards the MOSIP simulator prints (GET /sim/identities/{id}/qr).
		"TRUSTED_QR_ISSUERS":              mosipURL + "/.well-known/jwks.json",
		"ESIGNET_TOKEN_URL":               mosipURL + devESignetPath + "/oauth/v2/token",
		"OIDP_CLIENT_PRIVATE_KEY_PATH":    esignetKey,
		"OIDP_CLIENT_ID":                  devESignetClient,
		"CLIENT_APP_URL":                  devClientAppURL,
		"MOSIP_IDENTITY_UPDATE_TOPIC":     mosip.TopicIdentityUpdated,
		"OPENCRVS_IDENTITY_UPDATE_URL":    opencrvsURL + opencrvssim.PathIdentityUpdates,
		"OPENCRVS_IDENTITY_UPDATE_SECRET": devIdentityUpdateSecret,
	}, devRuntime(*logLevel), devReconcile))
	if err != nil {
		closeAll()
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	cfg.Addr = lns[0].Addr().String()
	// The simulators start empty: a subscription the database remembers
	// from the last run is not at this hub.
	cfg.ForgetSubscriptions = true
	mediator, err := app.New(ctx, cfg, log.With("component", "mediator"))
	if err != nil {
		closeAll()
		return err
	}

	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			closeAll()
			return err
		}
	}

	fmt.Fprintf(stdout, `opencrvs-mosip dev: the mediator and both simulators are running.
  mediator            %s
  MOSIP simulator     %s
  OpenCRVS simulator  %s
  E-Signet simulator  %s (client %s)
  data                %s
Register a birth:  curl -s -X POST %s/sim/records -d '{"kind":"birth"}'
Then see it:       curl -s %s/sim/records/<id>?wait=10s
Stop with Ctrl-C.
`, mediatorURL, mosipURL, opencrvsURL, mosipURL+devESignetPath, devESignetClient, *dataDir, opencrvsURL, opencrvsURL)

	fmt.Fprintf(stdout, "OpenCRVS records are sent as version %s unless the request gives \"version\" (-opencrvs-version).\n", *opencrvsVersion)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i, h := range map[int]http.Handler{1: withESignet(mosipSim, esignetSim), 2: opencrvsSim} {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		ln := lns[i]
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(shutdownCtx)
		})
	}
	mediatorErr := mediator.Run(ctx, lns[0])
	wg.Wait()
	close(errs)
	for err := range errs {
		mediatorErr = errors.Join(mediatorErr, err)
	}
	return mediatorErr
}

// devAddr is a listen address and the flag that sets it.
type devAddr struct{ flag, addr string }

// devListen listens on each address, in order. A default port that is
// taken (another program, another dev) is replaced by any free port rather
// than failing, since the URLs are printed; an address given on the
// command line is taken as it is.
func devListen(fs *flag.FlagSet, stderr io.Writer, addrs []devAddr) ([]net.Listener, error) {
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil && !explicit[a.flag] && errors.Is(err, syscall.EADDRINUSE) {
			host, _, _ := net.SplitHostPort(a.addr)
			fmt.Fprintf(stderr, "note: %s is in use; using another port (set -%s to choose)\n", a.addr, a.flag)
			ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w (choose another address with -%s)", a.addr, err, a.flag)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// devEnv is the development configuration: values given in the real
// environment win, so that any setting can be tried in dev.
func devEnv(env Env, defaults ...map[string]string) Env {
	return func(name string) string {
		if v := env(name); v != "" && name != "PORT" {
			return v
		}
		for _, d := range defaults {
			if v, ok := d[name]; ok {
				return v
			}
		}
		return ""
	}
}

// devRuntime is what every mediator dev runs shares: readable logs at
// level and a short shutdown.
func devRuntime(level string) map[string]string {
	return map[string]string{"LOG_LEVEL": level, "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "10s"}
}

// devReconcile paces reconciliation for the MOSIP simulator, which takes
// seconds, not MOSIP's minutes, per packet. It is for the mediators that
// submit to MOSIP (direct, mosip-side).
var devReconcile = map[string]string{
	"RECONCILE_AFTER":        "30s",
	"RECONCILE_MAX_INTERVAL": "5m",
	"RECONCILE_INTERVAL":     "5s",
}

// devStoreKey returns the file holding dev's STORE_ENCRYPTION_KEY under
// dataDir, made on first use (readable by its owner only).
func devStoreKey(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "store-key.txt")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	line, err := store.GenerateKey("dev1")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the dev store key: %w", err)
	}
	return path, nil
}

func baseURL(ln net.Listener) string {
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// devPartnerKey returns the development partner key pair in dataDir,
// making it on first use. MOSIP's simulator encrypts credentials to its
// certificate; the mediator decrypts them with the keystore, as in
// production.
func devPartnerKey(dataDir string) (*mosip.KeyPair, string, error) {
	path := filepath.Join(dataDir, devPartnerP12)
	data, err := os.ReadFile(path)
	if err == nil {
		kp, err := mosip.ParsePKCS12(data, devP12Password)
		if err != nil {
			return nil, "", fmt.Errorf("development keystore %s: %w (delete it to make a new one)", path, err)
		}
		return kp, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "opencrvs-mosip development partner", Organization: []string{"opencrvs-mosip dev"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", err
	}
	kp := &mosip.KeyPair{Key: key, Cert: cert}
	p12, err := mosip.EncodePKCS12(kp, devP12Password)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(path, p12, 0o600); err != nil {
		return nil, "", err
	}
	return kp, path, nil
}
