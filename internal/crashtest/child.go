package crashtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"opencrvs-mosip/internal/store"
)

// child is the mediator, `opencrvs-mosip serve` in its own process. Every
// start uses the same environment, so the same database and port.
type child struct {
	bin     string
	env     []string
	logPath string
	baseURL string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has ended
	exitErr error
	killing bool // the end of the current process is ours
	starts  int
	// onDeath is called when the process ends without being killed or
	// stopped by us.
	onDeath func(error)
}

// mediatorEnv is the configuration of `serve`: the simulators' URLs and
// credentials, and timings shortened so that a test run takes minutes.
func mediatorEnv(port int, dir, p12Path, mosipURL, opencrvsURL, mediatorURL string) []string {
	// One key for the whole run (the environment is made once): every
	// restart reads the tokens the killed process wrote.
	storeKey, err := store.GenerateKey("crash")
	if err != nil {
		panic("crashtest: no randomness for a store key: " + err.Error())
	}
	vars := map[string]string{
		"STORE_ENCRYPTION_KEY":            storeKey,
		"HOST":                            "127.0.0.1",
		"PORT":                            strconv.Itoa(port),
		"SQLITE_DATABASE_PATH":            filepath.Join(dir, databaseFile),
		"OPENCRVS_PUBLIC_KEY_URL":         opencrvsURL + "/.well-known",
		"OPENCRVS_GRAPHQL_GATEWAY_URL":    opencrvsURL + "/graphql",
		"MOSIP_AUTH_URL":                  mosipURL + "/v1/authmanager/authenticate/clientidsecretkey",
		"MOSIP_PACKET_AUTH_CLIENT_ID":     "mosip-regproc-client",
		"MOSIP_PACKET_AUTH_CLIENT_SECRET": "abcdeABCDE123456",
		"MOSIP_WEBSUB_AUTH_CLIENT_ID":     "mosip-websub-client",
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": "abcdeABCDE123456",
		"MOSIP_CREATE_PACKET_URL":         mosipURL + "/commons/v1/packetmanager/createPacket",
		"MOSIP_PROCESS_PACKET_URL":        mosipURL + "/registrationprocessor/v1/workflowmanager/workflowinstance",
		"MOSIP_WEBSUB_HUB_URL":            mosipURL + "/websub/hub",
		"MOSIP_WEBSUB_CALLBACK_URL":       mediatorURL + "/websub/callback",
		"MOSIP_WEBSUB_SECRET":             websubSecret,
		"DECRYPT_P12_FILE_PATH":           p12Path,
		"DECRYPT_P12_FILE_PASSWORD":       p12Password,
		// River rescues jobs a killed process left running 4*CALL_TIMEOUT+1m
		// after they started: keep that short. The simulators answer in
		// milliseconds.
		"CALL_TIMEOUT":           "3s",
		"RETRY_BASE_DELAY":       "200ms",
		"RETRY_MAX_DELAY":        "5s",
		"RECONCILE_AFTER":        "30s",
		"RECONCILE_MAX_INTERVAL": "1m",
		"RECONCILE_INTERVAL":     "5s",
		"SHUTDOWN_TIMEOUT":       "10s",
		"LOG_LEVEL":              "info",
		"LOG_FORMAT":             "text",
	}
	env := make([]string, 0, len(vars)+3)
	for _, name := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// start starts the mediator and waits until /readyz answers 200.
func (c *child) start(ctx context.Context, readyTimeout time.Duration) error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("crashtest: mediator log: %w", err)
	}
	c.mu.Lock()
	c.starts++
	fmt.Fprintf(logf, "=== crash-test: start %d of the mediator at %s ===\n", c.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, "serve")
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("crashtest: start %s serve: %w", c.bin, err)
	}
	exited := make(chan struct{})
	c.cmd, c.exited, c.exitErr, c.killing = cmd, exited, nil, false
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		c.exitErr = err
		ours := c.killing
		onDeath := c.onDeath
		c.mu.Unlock()
		close(exited)
		if !ours && onDeath != nil {
			onDeath(fmt.Errorf("the mediator (pid %d) exited on its own: %v", cmd.Process.Pid, err))
		}
	}()
	return c.waitReady(ctx, exited, readyTimeout)
}

func (c *child) waitReady(ctx context.Context, exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			c.mu.Lock()
			err := c.exitErr
			c.mu.Unlock()
			return fmt.Errorf("crashtest: the mediator exited while starting (%v); see %s", err, c.logPath)
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("crashtest: the mediator was not ready within %v; see %s", timeout, c.logPath)
		}
	}
}

// kill ends the mediator with SIGKILL and waits for it to be gone.
func (c *child) kill() error {
	return c.signal(syscall.SIGKILL, 10*time.Second)
}

// stop ends the mediator with SIGTERM, and SIGKILL after grace.
func (c *child) stop(grace time.Duration) error {
	if err := c.signal(syscall.SIGTERM, grace); err != nil {
		if kerr := c.kill(); kerr != nil {
			return errors.Join(err, kerr)
		}
		return err
	}
	return nil
}

func (c *child) signal(sig syscall.Signal, wait time.Duration) error {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	if cmd == nil {
		c.mu.Unlock()
		return nil
	}
	c.killing = true
	c.mu.Unlock()
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("crashtest: signal %v to the mediator: %w", sig, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("crashtest: the mediator did not end within %v of %v", wait, sig)
	}
}

// logTail returns the last n lines of the mediator's log.
func (c *child) logTail(n int) []string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return []string{"(no mediator log: " + err.Error() + ")"}
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// LogTail returns the last n lines of the mediator's log in dir (the
// Result's Dir).
func LogTail(dir string, n int) string {
	c := &child{logPath: filepath.Join(dir, mediatorLog)}
	return strings.Join(c.logTail(n), "\n")
}
