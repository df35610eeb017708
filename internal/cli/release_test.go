package cli

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

func TestBuildInfo(t *testing.T) {
	vcs := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2025-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
		}}, true
	}
	installed := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name                  string
		version, commit, date string
		read                  func() (*debug.BuildInfo, bool)
		want                  string
	}{
		{"make release (-X values win)", "v1.2.3", "deadbeef", "2025-06-01T00:00:00Z", vcs,
			"opencrvs-mosip v1.2.3 (commit deadbeef, built 2025-06-01T00:00:00Z)"},
		{"go build in a checkout", "", "", "", vcs,
			"opencrvs-mosip dev (commit abc123-dirty, built 2025-01-02T03:04:05Z)"},
		{"go install pkg@v1.4.0", "", "", "", installed,
			"opencrvs-mosip v1.4.0 (commit unknown, built unknown)"},
		{"nothing known", "", "", "", none,
			"opencrvs-mosip dev (commit unknown, built unknown)"},
	}
	for _, tt := range tests {
		if got := buildInfo(tt.version, tt.commit, tt.date, tt.read).String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	tlsSrv := httptest.NewTLSServer(healthy.Config.Handler)
	defer tlsSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	_, port, _ := net.SplitHostPort(healthy.Listener.Addr().String())
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"default URL: 127.0.0.1:$PORT/healthz", nil, map[string]string{"PORT": port}, 0},
		{"TLS_CERT_FILE set: https on loopback", nil, map[string]string{"PORT": tlsPort, "TLS_CERT_FILE": "/x/cert.pem"}, 0},
		{"--url", []string{"--url", healthy.URL + "/healthz"}, nil, 0},
		{"503", []string{"--url", failing.URL + "/healthz"}, nil, 1},
		{"404", []string{"--url", healthy.URL + "/nope"}, nil, 1},
		{"nothing listening", []string{"--url", "http://" + closed + "/healthz"}, nil, 1},
		{"not a URL", []string{"--url", "ftp://x"}, nil, 1},
		{"bad flag", []string{"--frob"}, nil, 2},
	}
	for _, tt := range tests {
		env := func(k string) string { return tt.env[k] }
		var stdout, stderr bytes.Buffer
		code := Main(t.Context(), append([]string{"healthcheck"}, tt.args...), env, &stdout, &stderr)
		if code != tt.want {
			t.Errorf("%s: exit %d, want %d (stdout %q, stderr %q)", tt.name, code, tt.want, stdout.String(), stderr.String())
		}
	}
}

// keys demo makes the keystore the MOSIP simulator and the mediator share
// and a store key, and keeps them when run again.
func TestKeysDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"keys", "demo", "--dir", dir}, noEnv, &out, io.Discard); code != 0 {
		t.Fatalf("keys demo: exit %d", code)
	}
	key1, err := os.ReadFile(filepath.Join(dir, "store-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ParseKeys(string(bytes.TrimSpace(key1))); err != nil {
		t.Errorf("store-key.txt: %v", err)
	}
	p12 := filepath.Join(dir, "partner.p12")
	kp1, err := mosip.LoadPKCS12(p12, devP12Password)
	if err != nil {
		t.Fatalf("partner.p12 does not open with the demo password: %v", err)
	}
	if code := Main(t.Context(), []string{"keys", "demo", "--dir", dir}, noEnv, io.Discard, io.Discard); code != 0 {
		t.Fatalf("keys demo again: exit %d", code)
	}
	key2, _ := os.ReadFile(filepath.Join(dir, "store-key.txt"))
	kp2, err := mosip.LoadPKCS12(p12, devP12Password)
	if err != nil || !bytes.Equal(key1, key2) || !kp1.Cert.Equal(kp2.Cert) {
		t.Errorf("a second run replaced the keys (err %v)", err)
	}
	for _, f := range []string{"store-key.txt", "partner.p12"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", f, err, st.Mode().Perm())
		}
	}
}
