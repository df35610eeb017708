package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// runHealthcheck asks a running mediator (or simulator) whether it is alive:
// the container image has no curl, so its HEALTHCHECK runs the binary
// itself. Exit 0: a 2xx answer; 1: anything else.
func runHealthcheck(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("healthcheck", "healthcheck [--url URL] [--timeout 5s]", stderr)
	target := fs.String("url", "", "URL to GET (default: http://127.0.0.1:$PORT/healthz, $PORT else 2024; https when TLS_CERT_FILE is set)")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of the request")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *target == "" {
		scheme := "http"
		if env("TLS_CERT_FILE") != "" {
			scheme = "https"
		}
		*target = scheme + "://" + net.JoinHostPort("127.0.0.1", firstNonEmpty(env("PORT"), "2024")) + "/healthz"
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url must be an http(s) URL, got %q", *target)
	}
	transport := &http.Transport{Proxy: nil}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "https" && (ip != nil && ip.IsLoopback() || u.Hostname() == "localhost") {
		// The server's certificate names its public host, not 127.0.0.1:
		// this probe checks that the process answers, on this machine.
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	client := &http.Client{Transport: transport, Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("unhealthy: %s answered %s", u.Redacted(), resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s answered %s\n", u.Redacted(), resp.Status)
	return nil
}
