package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"opencrvs-mosip/internal/esignet"
	"opencrvs-mosip/internal/sim/esignetsim"
	"opencrvs-mosip/internal/telemetry"
)

// E-Signet in dev: the simulator runs under the MOSIP simulator's address
// at E-Signet's own base path, and the mediator is its registered client.
const (
	devESignetPath    = "/v1/esignet"
	devESignetClient  = "opencrvs-mosip-dev"
	devESignetKeyFile = "esignet-client-jwk.txt"
	// devClientAppURL is the OpenCRVS client's dev origin (mosip-api's
	// CLIENT_APP_URL default), allowed to call the E-Signet route.
	devClientAppURL = "http://localhost:3000"
)

// devESignet returns the E-Signet simulator of dev with the development
// client registered, and the path of the client's key file, made in
// dataDir on first use (base64 JSON JWK, as OIDP_CLIENT_PRIVATE_KEY_PATH).
func devESignet(dataDir string, log *slog.Logger) (*esignetsim.Sim, string, error) {
	path := filepath.Join(dataDir, devESignetKeyFile)
	key, err := esignet.LoadClientKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = newClientKeyFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("development E-Signet client key: %w (delete %s to make a new one)", err, path)
	}
	pub := key.Public()
	sim, err := esignetsim.New(esignetsim.Config{Logger: log, Clients: []esignetsim.Client{{ID: devESignetClient, PublicKey: &pub}}})
	if err != nil {
		return nil, "", err
	}
	return sim, path, nil
}

// newClientKeyFile makes an RSA client key and writes it to path.
func newClientKeyFile(path string) (*jose.JSONWebKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	key := &jose.JSONWebKey{Key: priv, Algorithm: string(jose.RS256), Use: "sig"}
	data, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(data)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// withESignet serves sim under devESignetPath and next everywhere else.
func withESignet(next, sim http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(devESignetPath+"/", http.StripPrefix(devESignetPath, sim))
	mux.Handle("/", next)
	return mux
}

// runSimESignet is `sim esignet`: the E-Signet simulator alone, with one
// client registered, served at the root and under /v1/esignet.
func runSimESignet(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("sim esignet", "sim esignet [flags]", stderr)
	addr := fs.String("addr", "127.0.0.1:20260", "listen address")
	clientID := fs.String("client-id", firstNonEmpty(env("OIDP_CLIENT_ID"), devESignetClient), "client id of the registered relying party")
	keyPath := fs.String("client-key", env("OIDP_CLIENT_PRIVATE_KEY_PATH"), "the relying party's JWK file (base64 JSON, as OIDP_CLIENT_PRIVATE_KEY_PATH; its public part is registered); made if it does not exist")
	redirects := fs.String("redirect-uris", "", "comma-separated redirect URIs the client may use, a trailing * matching any suffix (empty: any)")
	encrypt := fs.Bool("encrypt-userinfo", false, "answer user info as a JWE to the client key (userinfo_response_type JWE)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyPath == "" {
		return errors.New("the simulator needs the client's key: --client-key FILE (the mediator's OIDP_CLIENT_PRIVATE_KEY_PATH; made if missing)")
	}
	log, err := telemetry.NewLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	key, err := esignet.LoadClientKey(*keyPath)
	if errors.Is(err, os.ErrNotExist) {
		key, err = newClientKeyFile(*keyPath)
	}
	if err != nil {
		return fmt.Errorf("--client-key: %w", err)
	}
	pub := key.Public()
	var uris []string
	for _, u := range strings.Split(*redirects, ",") {
		if u = strings.TrimSpace(u); u != "" {
			uris = append(uris, u)
		}
	}
	sim, err := esignetsim.New(esignetsim.Config{Logger: log,
		Clients: []esignetsim.Client{{ID: *clientID, PublicKey: &pub, RedirectURIs: uris, EncryptUserInfo: *encrypt}}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := baseURL(ln)
	fmt.Fprintf(stdout, `esignet simulator listening on %s (also under %s%s)
  client %s, key %s
  ESIGNET_TOKEN_URL=%s/oauth/v2/token  (user info and JWKS URLs are derived from it)
Sign in: %s/authorize?client_id=%s&response_type=code&scope=openid%%20profile&redirect_uri=<page>&state=fetch-on-mount&individual_id=1234567890
`, base, base, devESignetPath, *clientID, *keyPath, base, base, url.QueryEscape(*clientID))
	srv := &http.Server{Handler: withESignet(sim, sim), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
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
