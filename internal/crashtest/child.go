package crashtest

import (
	"bufio"
	"bytes"
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

// envConfig is what differs between runs and replicas in mediatorEnv.
type envConfig struct {
	port                           int
	p12Path, mosipURL, opencrvsURL string
	callbackURL                    string // where the hub calls: the mediator, or a balancer
	storeKey                       string // one for the whole run: every replica and restart reads what the others wrote
	database                       string // SQLite file, or postgres:// URL
	replicas                       int
}

// mediatorEnv is the configuration of `serve`: the simulators' URLs and
// credentials, and timings shortened so that a test run takes minutes.
func mediatorEnv(c envConfig) []string {
	mosipURL, opencrvsURL := c.mosipURL, c.opencrvsURL
	vars := map[string]string{
		"STORE_ENCRYPTION_KEY":            c.storeKey,
		"HOST":                            "127.0.0.1",
		"PORT":                            strconv.Itoa(c.port),
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
		"MOSIP_WEBSUB_CALLBACK_URL":       c.callbackURL + "/websub/callback",
		"MOSIP_WEBSUB_SECRET":             websubSecret,
		"DECRYPT_P12_FILE_PATH":           c.p12Path,
		"DECRYPT_P12_FILE_PASSWORD":       p12Password,
		// The simulators answer in milliseconds.
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
	if strings.HasPrefix(c.database, "postgres") {
		// Room for every replica's pools within PostgreSQL's default 100
		// connections; the jobs of a killed replica resumed within a
		// second or two.
		sep := "?"
		if strings.Contains(c.database, "?") {
			sep = "&"
		}
		vars["DATABASE_URL"] = c.database + sep + "pool_max_conns=12"
		vars["REPLICA_CHECK_INTERVAL"] = "1s"
	} else {
		vars["SQLITE_DATABASE_PATH"] = c.database
	}
	if c.replicas > 1 {
		// The subscription job runs every 2 s, on any replica: each would
		// subscribe on its own if they did not share what they know.
		vars["MOSIP_WEBSUB_CHECK_INTERVAL"] = "2s"
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

// pid is the process id of the mediator started last (0: none).
func (c *child) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// cpuSeconds is the CPU time (user and system) of the running mediator,
// from /proc (0 when it is not running or /proc cannot tell).
func (c *child) cpuSeconds() float64 {
	pid := c.pid()
	if pid == 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is
	// the 3rd field of the line, utime the 14th and stime the 15th.
	rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const userHZ = 100 // Linux's USER_HZ, the unit of /proc's times
	return (utime + stime) / userHZ
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
// Result's Dir), or of each replica's.
func LogTail(dir string, n int) string {
	logs, _ := filepath.Glob(filepath.Join(dir, strings.TrimSuffix(mediatorLog, ".log")+"*.log"))
	if len(logs) <= 1 {
		c := &child{logPath: filepath.Join(dir, mediatorLog)}
		return strings.Join(c.logTail(n), "\n")
	}
	var b strings.Builder
	for _, path := range logs {
		c := &child{logPath: path}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", filepath.Base(path), strings.Join(c.logTail(n/len(logs)+1), "\n"))
	}
	return b.String()
}
