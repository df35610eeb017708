package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

// `dev` (the README's first command) starts everything; a birth sent
// through its OpenCRVS simulator comes back registered with a national ID.
func TestDevRunsTheWholeFlow(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"dev", "--data", dir, "--mediator-addr", "127.0.0.1:0", "--mosip-addr", "127.0.0.1:0",
			"--opencrvs-addr", "127.0.0.1:0", "--log-level", "warn"}, noEnv, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dev exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("dev did not stop within 30s")
		}
	}()
	re := regexp.MustCompile(`OpenCRVS simulator\s+(http://\S+)`)
	var opencrvs string
	for deadline := time.Now().Add(30 * time.Second); opencrvs == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			opencrvs = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no URLs: %s / %s", stdout.String(), stderr.String())
		}
	}
	resp, err := http.Post(opencrvs+"/sim/records", "application/json", strings.NewReader(`{"kind":"birth"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ ID, Status string }
	json.NewDecoder(resp.Body).Decode(&rec)
	resp.Body.Close()
	for deadline := time.Now().Add(30 * time.Second); rec.Status != "registered"; {
		resp, err := http.Get(opencrvs + "/sim/records/" + rec.ID + "?wait=5s")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Status     string
			NationalID *string `json:"nationalId"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		rec.Status = got.Status
		if got.Status == "registered" && got.NationalID == nil {
			t.Fatal("registered without a national ID")
		}
		if got.Status == "rejected" || time.Now().After(deadline) {
			t.Fatalf("record %s: %s", rec.ID, got.Status)
		}
	}
	for _, f := range []string{devDatabaseFile, devPartnerP12} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("dev did not keep %s in its data directory: %v", f, err)
		}
	}
}

func TestServeRefusesAnIncompleteConfiguration(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), []string{"serve"}, noEnv, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, name := range []string{"OPENCRVS_PUBLIC_KEY_URL", "MOSIP_AUTH_URL", "DECRYPT_P12_FILE_PASSWORD"} {
		if !strings.Contains(stderr.String(), name+": is required") {
			t.Errorf("stderr does not name %s:\n%s", name, stderr.String())
		}
	}
}

func TestConfigCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(t.Context(), []string{"config", "check"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"decision", "forward to MOSIP as CRVS_NEW", "fullName", "dateOfBirth"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("config check output lacks %q:\n%s", want, stdout.String())
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("birth:\n  forward: child.agee < 10\n"), 0o600)
	stdout.Reset()
	stderr.Reset()
	if code := Main(t.Context(), []string{"config", "check", "--config", bad}, noEnv, &stdout, &stderr); code != 1 {
		t.Fatalf("a bad rule: exit %d", code)
	}
	if !strings.Contains(stderr.String(), "bad.yaml:2") {
		t.Errorf("the error does not give the file and line: %s", stderr.String())
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"frobnicate"}, noEnv, io.Discard, &out); code != 2 || !strings.Contains(out.String(), "unknown command") {
		t.Errorf("unknown command: exit %d, %s", code, out.String())
	}
	out.Reset()
	if code := Main(t.Context(), []string{"version"}, noEnv, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "opencrvs-mosip ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
}
