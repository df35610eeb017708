package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/telemetry"
)

func runSim(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "esignet" {
		return runSimESignet(ctx, args[1:], env, stdout, stderr) // esignet.go
	}
	if len(args) == 0 || (args[0] != "mosip" && args[0] != "opencrvs") {
		fmt.Fprintln(stderr, "Usage: opencrvs-mosip sim mosip|opencrvs|esignet [flags]")
		return errUsage
	}
	which := args[0]
	fs := flags("sim "+which, "sim "+which+" [flags]", stderr)
	addr := fs.String("addr", map[string]string{"mosip": "127.0.0.1:20240", "opencrvs": "127.0.0.1:7070"}[which], "listen address")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var (
		p12Path, p12Password, certPath *string
		stageDelay                     *time.Duration
		format, identityTopic          *string
		mediatorURL, updateSecret      *string
		opencrvsVersion                *string
		deactivate                     *bool
		seedIdentities, idaP12, idaPwd *string
	)
	if which == "mosip" {
		p12Path = fs.String("partner-p12", env("DECRYPT_P12_FILE_PATH"), "partner keystore whose certificate credentials are encrypted to")
		p12Password = fs.String("partner-p12-password", env("DECRYPT_P12_FILE_PASSWORD"), "its password")
		certPath = fs.String("partner-cert", "", "or: the partner certificate (PEM)")
		stageDelay = fs.Duration("stage-delay", 0, "pause between registration processor stages")
		format = fs.String("credential-format", "vc", "vc (W3C verifiable credential) or mosip (MOSIP's formatted credential)")
		deactivate = fs.Bool("deactivate-on-death", false, "a death also sets the UIN DEACTIVATED (MOSIP's policy: flag the identity deceased only)")
		identityTopic = fs.String("identity-update-topic", mosip.TopicIdentityUpdated, "WebSub topic of identity update events")
		seedIdentities = fs.String("seed-identities", "", "load the identities of this mock-identities.json (OpenCRVS's format) into the ID repository; \"mock\": the 110 built-in ones")
		idaP12 = fs.String("ida-p12", "", "keystore holding IDA's partner key and certificate, which IDA requests are encrypted to (empty: a new key; GET /sim/ida/certificate serves its certificate)")
		idaPwd = fs.String("ida-p12-password", "", "its password")
	} else {
		mediatorURL = fs.String("mediator", "http://127.0.0.1:2024", "the mediator records are sent to")
		opencrvsVersion = fs.String("opencrvs-version", opencrvssim.Version18, "version of records sent without \"version\": 1.8 (FHIR bundles, GraphQL feedback) or 1.9 (EventDocuments, tRPC feedback)")
		updateSecret = fs.String("identity-update-secret", env("OPENCRVS_IDENTITY_UPDATE_SECRET"), "HMAC key identity updates posted to /sim/identity-updates must be signed with (empty: unsigned are taken)")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	var handler interface {
		http.Handler
		Close() error
	}
	if which == "mosip" {
		var cert *mosip.KeyPair
		switch {
		case *certPath != "":
			c, err := readCertificate(*certPath)
			if err != nil {
				return err
			}
			cert = &mosip.KeyPair{Cert: c}
		case *p12Path != "":
			if cert, err = mosip.LoadPKCS12(*p12Path, *p12Password); err != nil {
				return err
			}
		default:
			return errors.New("the simulator needs the partner certificate: --partner-cert or --partner-p12")
		}
		simCfg := mosipsim.Config{Logger: log, PartnerCert: cert.Cert, StageDelay: *stageDelay, CredentialFormat: *format,
			DeactivateOnDeath: *deactivate, IdentityUpdateTopic: *identityTopic}
		if err := simIDA(&simCfg, *seedIdentities, *idaP12, *idaPwd); err != nil {
			return err
		}
		handler, err = mosipsim.New(simCfg)
	} else {
		handler, err = opencrvssim.New(opencrvssim.Config{Logger: log, MediatorURL: *mediatorURL, IdentityUpdateSecret: []byte(*updateSecret), DefaultVersion: *opencrvsVersion})
	}
	if err != nil {
		return err
	}
	defer handler.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s simulator listening on %s\n", which, baseURL(ln))
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: not a PEM certificate", path)
	}
	return x509.ParseCertificate(block.Bytes)
}

// simIDA applies the IDA flags of `sim mosip`.
func simIDA(cfg *mosipsim.Config, seed, p12, password string) error {
	switch seed {
	case "":
	case "mock":
		cfg.SeedIdentities = mosipsim.MockIdentities()
	default:
		ids, err := mosipsim.LoadMockIdentities(seed)
		if err != nil {
			return err
		}
		cfg.SeedIdentities = ids
	}
	if p12 != "" {
		kp, err := mosip.LoadPKCS12(p12, password)
		if err != nil {
			return fmt.Errorf("--ida-p12: %w", err)
		}
		cfg.IDAKey, cfg.IDACert = kp.Key, kp.Cert
	}
	return nil
}
