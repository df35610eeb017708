package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLoadNeedsAnAdminTokenForPhases(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), []string{"load", "--opencrvs", "http://127.0.0.1:1", "--mediator", "http://127.0.0.1:1", "--records", "1"},
		noEnv, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--mediator: no admin token: set ADMIN_TOKEN") || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and an error naming ADMIN_TOKEN", code, stdout.String(), stderr.String())
	}
	for _, args := range [][]string{{"--opencrvs", " , "}, {"--rate", "fast"}, {"--rate", "-5/s"}, {"--clients", "9"}} {
		stderr.Reset()
		code = Main(t.Context(), append([]string{"load", "--records", "1"}, args...), noEnv, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), strings.TrimLeft(args[0], "-")) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and an error naming the flag", args, code, stderr.String())
		}
	}
}

// `load` with two clients, a rate and the mediator's admin API against
// `dev`: every record of either OpenCRVS version is found in the
// mediator, by its OpenCRVS id, and its phases are read.
func TestLoadAgainstDevReadsPhases(t *testing.T) {
	const token = "cli-load-test-admin-token-7f3a9c"
	env := func(name string) string {
		if name == "ADMIN_TOKEN" {
			return token
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	var devOut, devErr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"dev", "--data", t.TempDir(), "--mediator-addr", "127.0.0.1:0", "--mosip-addr", "127.0.0.1:0",
			"--opencrvs-addr", "127.0.0.1:0", "--log-level", "warn"}, env, &devOut, &devErr)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dev exited %d: %s", code, devErr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("dev did not stop within 30s")
		}
	}()
	mediatorRE, opencrvsRE := regexp.MustCompile(`mediator\s+(http://\S+)`), regexp.MustCompile(`OpenCRVS simulator\s+(http://\S+)`)
	var mediator, opencrvs string
	for deadline := time.Now().Add(30 * time.Second); mediator == "" || opencrvs == ""; time.Sleep(20 * time.Millisecond) {
		if m, o := mediatorRE.FindStringSubmatch(devOut.String()), opencrvsRE.FindStringSubmatch(devOut.String()); m != nil && o != nil {
			mediator, opencrvs = m[1], o[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no URLs: %s / %s", devOut.String(), devErr.String())
		}
	}

	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"load", "--records", "8", "--concurrency", "4", "--clients", "2", "--rate", "100/s",
		"--opencrvs", opencrvs + "," + opencrvs, "--mediator", mediator, "--version", "mixed", "--timeout", "30s"},
		env, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("load exited %d: %s", code, stderr.String())
	}
	var res struct {
		Completed int
		Clients   []struct{ Records, Completed int }
		Rate      *struct {
			TargetPerS float64 `json:"target_per_s"`
			LateStarts *int    `json:"late_starts"`
		}
		Phases *struct {
			Read   int
			Unread map[string]int
			Accept map[string]float64
		} `json:"phases_ms"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("load's summary %q: %v", stdout.String(), err)
	}
	if res.Completed != 8 || len(res.Clients) != 2 || res.Clients[0].Records != 4 || res.Clients[1].Records != 4 {
		t.Errorf("summary %s: want 8 completed, 4 by each of 2 clients", stdout.String())
	}
	if res.Rate == nil || res.Rate.TargetPerS != 100 || res.Rate.LateStarts == nil {
		t.Errorf("summary %s: want the rate held or not", stdout.String())
	}
	if res.Phases == nil || res.Phases.Read != 8 || len(res.Phases.Unread) != 0 || res.Phases.Accept["p50"] <= 0 {
		t.Errorf("summary %s: want the phases of all 8 records", stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Error("load printed the admin token")
	}
}
