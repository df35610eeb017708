// Package deploy holds the deployment files: the Compose files under
// compose/ and the Helm chart under helm/. Its tests check them against the
// code (every variable they set is one the mediator reads, every probe hits
// a real port) and the Dockerfile against the rules of the image; nothing
// here needs a container engine or a cluster. `make helm-check` runs helm
// lint and helm template on the chart.
package deploy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/cli"
	"opencrvs-mosip/internal/store"
)

// binary is where the image keeps the program.
const binary = "/usr/local/bin/opencrvs-mosip"

type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile returns the Dockerfile's stages, each a list of
// instructions (continuation lines joined, comments dropped).
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]instruction
	var pending string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		line = strings.TrimSpace(pending + line)
		pending = ""
		if line == "" {
			continue
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s: %s before the first FROM", path, in.cmd)
			}
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func find(stage []instruction, cmd string) []string {
	var out []string
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// The image: built by `make release` (what CI runs), a non-root user, the
// data volume, the port and a HEALTHCHECK that runs the binary itself.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "../Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	if from := find(build, "FROM")[0]; !strings.Contains(from, "golang:1.26") {
		t.Errorf("build stage FROM %q, want golang:1.26", from)
	}
	runs := strings.Join(find(build, "RUN"), "\n")
	if !regexp.MustCompile(`\bmake release\b`).MatchString(runs) {
		t.Errorf("the build stage does not run `make release`:\n%s", runs)
	}
	if !strings.Contains(runs, "PLATFORMS=$TARGETOS/$TARGETARCH") {
		t.Errorf("the build stage does not build for the target platform (PLATFORMS=$TARGETOS/$TARGETARCH):\n%s", runs)
	}
	// make release names its binaries dist/opencrvs-mosip-<os>-<arch>.
	if !strings.Contains(runs, "dist/opencrvs-mosip-$TARGETOS-$TARGETARCH") {
		t.Errorf("the build stage does not take make release's binary dist/opencrvs-mosip-$TARGETOS-$TARGETARCH:\n%s", runs)
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(makefile), "-o dist/opencrvs-mosip-$$os-$$arch") || !strings.Contains(string(makefile), "CGO_ENABLED=0") {
		t.Error("the Makefile's release target no longer writes static dist/opencrvs-mosip-<os>-<arch>")
	}

	from := find(final, "FROM")[0]
	if !strings.Contains(from, "distroless/static") && from != "scratch" {
		t.Errorf("final stage FROM %q, want a minimal base (distroless/static or scratch)", from)
	}
	users := find(final, "USER")
	if len(users) == 0 {
		t.Fatal("the final stage sets no USER: the image would run as root")
	}
	user, _, _ := strings.Cut(users[len(users)-1], ":")
	if user == "root" || user == "0" || user == "" {
		t.Errorf("USER %q, want a non-root user", users[len(users)-1])
	}
	if got := find(final, "EXPOSE"); !slices.Contains(got, "2024") {
		t.Errorf("EXPOSE %v, want 2024", got)
	}
	if got := strings.Join(find(final, "VOLUME"), " "); !strings.Contains(got, `"/data"`) && got != "/data" {
		t.Errorf("VOLUME %q, want /data", got)
	}
	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 || !strings.Contains(hc[0], `CMD ["`+binary+`", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q, want one that runs %s healthcheck", hc, binary)
	}
	if got := find(final, "ENTRYPOINT"); len(got) != 1 || got[0] != `["`+binary+`"]` {
		t.Errorf("ENTRYPOINT %v, want [%q]", got, binary)
	}
	if got := find(final, "CMD"); len(got) != 1 || got[0] != `["serve"]` {
		t.Errorf("CMD %v, want [\"serve\"]", got)
	}
	copied := strings.Join(find(final, "COPY"), "\n")
	if !strings.Contains(copied, " "+binary) {
		t.Errorf("the final stage does not copy the binary to %s:\n%s", binary, copied)
	}
	// The data directory belongs to the user, so that a new volume does.
	if !regexp.MustCompile(`--chown=` + regexp.QuoteMeta(users[len(users)-1]) + `\b.* /data$`).MatchString(copied) {
		t.Errorf("the final stage does not create /data owned by %s:\n%s", users[len(users)-1], copied)
	}
	env := strings.Join(find(final, "ENV"), " ")
	if !strings.Contains(env, "SQLITE_DATABASE_PATH=/data/") {
		t.Errorf("ENV %q: the database is not under /data", env)
	}
	known := app.OptionNames()
	for _, kv := range strings.Fields(env) {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(known, name) {
			t.Errorf("ENV sets %s, which the mediator does not read", name)
		}
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "dist"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// compose is the part of a Compose file the tests read.
type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

type service struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	EnvFile     any               `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Secrets     []string          `yaml:"secrets"`
	User        string            `yaml:"user"`
	ReadOnly    bool              `yaml:"read_only"`
	Tmpfs       []string          `yaml:"tmpfs"`
	CapDrop     []string          `yaml:"cap_drop"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func readCompose(t *testing.T, path string) compose {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// checkHardened: non-root, read-only root with a writable /tmp, no
// capabilities.
func checkHardened(t *testing.T, name string, s service) {
	t.Helper()
	if u, _, _ := strings.Cut(s.User, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("%s: user %q, want the image's non-root user", name, s.User)
	}
	if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
		t.Errorf("%s: want read_only: true with a tmpfs /tmp", name)
	}
	if !slices.Contains(s.CapDrop, "ALL") {
		t.Errorf("%s: want cap_drop: [ALL]", name)
	}
}

// healthURL returns the URL a service's healthcheck asks ("" for the
// default: its own /healthz on $PORT) and fails unless the test runs the
// binary's healthcheck.
func healthURL(t *testing.T, name string, s service) string {
	t.Helper()
	if s.Healthcheck == nil {
		t.Errorf("%s: no healthcheck", name)
		return ""
	}
	test := s.Healthcheck.Test
	if len(test) < 3 || test[0] != "CMD" || test[1] != binary || test[2] != "healthcheck" {
		t.Errorf("%s: healthcheck %q, want [CMD %s healthcheck ...] (the image has no shell or curl)", name, test, binary)
		return ""
	}
	if i := slices.Index(test, "--url"); i > 0 && i+1 < len(test) {
		return test[i+1]
	}
	return ""
}

// flagValue returns the value of --name in a command.
func flagValue(cmd []string, name string) string {
	if i := slices.Index(cmd, "--"+name); i >= 0 && i+1 < len(cmd) {
		return cmd[i+1]
	}
	return ""
}

// publishes reports whether ports publishes the container port.
func publishes(ports []string, container string) bool {
	for _, p := range ports {
		if strings.HasSuffix(p, ":"+container) || p == container {
			return true
		}
	}
	return false
}

func mountsAt(volumes []string, target string) (string, bool) {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0], true
		}
	}
	return "", false
}

func checkKnownOptions(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := app.OptionNames()
	for name := range env {
		if !slices.Contains(known, name) {
			t.Errorf("%s sets %s, which the mediator does not read (internal/app/config.go)", where, name)
		}
	}
}

func TestComposeOpenCRVSHost(t *testing.T) {
	c := readCompose(t, "compose/opencrvs-host.yml")
	m, ok := c.Services["mediator"]
	if !ok || len(c.Services) != 1 {
		t.Fatalf("services %v, want the mediator alone", keys(c.Services))
	}
	if !strings.Contains(m.Image, "opencrvs-mosip") {
		t.Errorf("image %q", m.Image)
	}
	if !slices.Equal(m.Command, []string{"serve"}) {
		t.Errorf("command %q, want [serve]", m.Command)
	}
	if m.EnvFile != "mediator.env" {
		t.Errorf("env_file %v, want mediator.env (from mediator.env.example)", m.EnvFile)
	}
	if _, err := os.Stat("compose/mediator.env.example"); err != nil {
		t.Error(err)
	}
	checkKnownOptions(t, "opencrvs-host.yml", m.Environment)
	vol, ok := mountsAt(m.Volumes, "/data")
	if !ok {
		t.Errorf("volumes %q: nothing at /data", m.Volumes)
	} else if _, declared := c.Volumes[vol]; !declared {
		t.Errorf("volume %q is not a named volume of the file", vol)
	}
	if db := m.Environment["SQLITE_DATABASE_PATH"]; !strings.HasPrefix(db, "/data/") {
		t.Errorf("SQLITE_DATABASE_PATH %q is not in the volume", db)
	}
	// Files named by *_FILE and *_PATH variables are secrets of the file.
	for name, v := range m.Environment {
		if rest, ok := strings.CutPrefix(v, "/run/secrets/"); ok {
			if !slices.Contains(m.Secrets, rest) {
				t.Errorf("%s=%s: the service does not mount secret %s", name, v, rest)
			}
			if c.Secrets[rest].File == "" {
				t.Errorf("secret %s is not declared", rest)
			}
		}
	}
	if !publishes(m.Ports, "2024") {
		t.Errorf("ports %q do not publish 2024", m.Ports)
	}
	if u := healthURL(t, "mediator", m); u != "" {
		t.Errorf("healthcheck asks %s, want the default /healthz", u)
	}
	checkHardened(t, "mediator", m)
}

// The demo: the mediator and both simulators from one image, wired to
// each other; the mediator's environment is a valid configuration.
func TestComposeDemo(t *testing.T) {
	c := readCompose(t, "compose/demo.yml")
	for _, name := range []string{"keys", "mosip", "opencrvs", "mediator"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %s (services: %v)", name, keys(c.Services))
		}
	}
	image := c.Services["mediator"].Image
	for name, s := range c.Services {
		if s.Image != image {
			t.Errorf("%s: image %q, want the mediator's %q (one image)", name, s.Image, image)
		}
		checkHardened(t, name, s)
	}
	mosip, opencrvs, m := c.Services["mosip"], c.Services["opencrvs"], c.Services["mediator"]
	if !slices.Equal(mosip.Command[:2], []string{"sim", "mosip"}) || !slices.Equal(opencrvs.Command[:2], []string{"sim", "opencrvs"}) || !slices.Equal(m.Command, []string{"serve"}) {
		t.Errorf("commands: mosip %q, opencrvs %q, mediator %q", mosip.Command, opencrvs.Command, m.Command)
	}
	if got := c.Services["keys"].Command; !slices.Equal(got[:2], []string{"keys", "demo"}) {
		t.Errorf("keys: command %q, want keys demo", got)
	}

	// Each simulator listens on the port it publishes and its healthcheck asks.
	ports := map[string]string{"mediator": "2024"}
	for name, s := range map[string]service{"mosip": mosip, "opencrvs": opencrvs} {
		_, port, err := net.SplitHostPort(flagValue(s.Command, "addr"))
		if err != nil {
			t.Fatalf("%s: --addr: %v", name, err)
		}
		ports[name] = port
		if !publishes(s.Ports, port) {
			t.Errorf("%s: ports %q do not publish %s", name, s.Ports, port)
		}
		u, err := url.Parse(healthURL(t, name, s))
		if err != nil || u.Port() != port || u.Hostname() != "127.0.0.1" {
			t.Errorf("%s: healthcheck URL %v, want 127.0.0.1:%s", name, u, port)
		}
	}
	if !publishes(m.Ports, "2024") {
		t.Errorf("mediator: ports %q do not publish 2024", m.Ports)
	}
	if u := healthURL(t, "mediator", m); u != "" {
		t.Errorf("mediator: healthcheck asks %s, want the default /healthz", u)
	}

	// Every URL the mediator is given names a service of the file, on the
	// port that service listens on.
	checkKnownOptions(t, "demo.yml (mediator)", m.Environment)
	for name, v := range m.Environment {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		port, ok := ports[u.Hostname()]
		if !ok || u.Port() != port {
			t.Errorf("%s=%s: not a service of demo.yml on its port (%v)", name, v, ports)
		}
	}
	if got := flagValue(opencrvs.Command, "mediator"); got != "http://mediator:2024" {
		t.Errorf("the OpenCRVS simulator sends records to %q, want http://mediator:2024", got)
	}
	// The MOSIP simulator encrypts to the keystore the mediator decrypts with.
	if flagValue(mosip.Command, "partner-p12") != m.Environment["DECRYPT_P12_FILE_PATH"] ||
		flagValue(mosip.Command, "partner-p12-password") != m.Environment["DECRYPT_P12_FILE_PASSWORD"] {
		t.Errorf("the MOSIP simulator's --partner-p12 %q does not match the mediator's DECRYPT_P12_FILE_PATH %q (or their passwords differ)",
			flagValue(mosip.Command, "partner-p12"), m.Environment["DECRYPT_P12_FILE_PATH"])
	}
	keysDir := flagValue(c.Services["keys"].Command, "dir")
	for _, name := range []string{"STORE_ENCRYPTION_KEY_FILE", "DECRYPT_P12_FILE_PATH"} {
		if filepath.Dir(m.Environment[name]) != keysDir {
			t.Errorf("%s=%s is not in the directory keys demo writes (%s)", name, m.Environment[name], keysDir)
		}
	}
	for name, s := range map[string]service{"mediator": m, "mosip": mosip, "keys": c.Services["keys"]} {
		vol, ok := mountsAt(s.Volumes, "/data")
		if !ok {
			t.Errorf("%s: no volume at /data", name)
			continue
		}
		if _, declared := c.Volumes[vol]; !declared {
			t.Errorf("%s: volume %q is not declared", name, vol)
		}
	}
	for _, dep := range []string{"keys", "mosip", "opencrvs"} {
		if _, ok := m.DependsOn[dep]; !ok {
			t.Errorf("the mediator does not wait for %s", dep)
		}
	}

	// The environment is a configuration `serve` accepts (the key file
	// stands in for the one keys demo writes).
	dir := t.TempDir()
	line, err := store.GenerateKey("demo")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "store-key.txt")
	if err := os.WriteFile(keyFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(name string) string {
		if name == "STORE_ENCRYPTION_KEY_FILE" && m.Environment[name] != "" {
			return keyFile
		}
		return m.Environment[name]
	}
	if _, err := app.LoadConfig(env); err != nil {
		t.Errorf("the demo's mediator environment is not a valid configuration:\n%v", err)
	}
}

// The split demo: `dev --design split` in one service of the demo's image,
// with flags dev accepts, every part listening where its published port
// reaches it, its data (both databases and both envelope keys) in a volume.
func TestComposeSplitDemo(t *testing.T) {
	c := readCompose(t, "compose/split-demo.yml")
	s, ok := c.Services["split"]
	if !ok || len(c.Services) != 1 {
		t.Fatalf("services %v, want split alone", keys(c.Services))
	}
	if want := readCompose(t, "compose/demo.yml").Services["mediator"].Image; s.Image != want {
		t.Errorf("image %q, want the demo's %q", s.Image, want)
	}
	checkHardened(t, "split", s)
	if len(s.Command) < 3 || !slices.Equal(s.Command[:3], []string{"dev", "--design", "split"}) {
		t.Fatalf("command %q, want dev --design split ...", s.Command)
	}
	// dev parses its flags, then stops at -h: an unknown flag or a bad
	// value exits 2 instead.
	var stderr strings.Builder
	if code := cli.Main(context.Background(), append(slices.Clone(s.Command), "-h"), func(string) string { return "" }, io.Discard, &stderr); code != 0 {
		t.Errorf("opencrvs-mosip %s: exit %d, the flags are not dev's:\n%s", strings.Join(s.Command, " "), code, stderr.String())
	}
	ports := map[string]string{}
	for _, part := range []string{"opencrvs-addr", "opencrvs-side-addr", "mosip-side-addr", "mosip-addr"} {
		host, port, err := net.SplitHostPort(flagValue(s.Command, part))
		if err != nil {
			t.Errorf("--%s: %v", part, err)
			continue
		}
		if host != "0.0.0.0" {
			t.Errorf("--%s listens on %s: a published port cannot reach it; want 0.0.0.0", part, host)
		}
		if !publishes(s.Ports, port) {
			t.Errorf("ports %q do not publish --%s's %s", s.Ports, part, port)
		}
		ports[part] = port
	}
	u, err := url.Parse(healthURL(t, "split", s))
	if err != nil || u.Hostname() != "127.0.0.1" || (u.Port() != ports["opencrvs-side-addr"] && u.Port() != ports["mosip-side-addr"]) || u.Path != "/healthz" {
		t.Errorf("healthcheck URL %v, want a mediator's /healthz on 127.0.0.1", u)
	}
	data := flagValue(s.Command, "data")
	vol, ok := mountsAt(s.Volumes, data)
	if !ok {
		t.Errorf("volumes %q: nothing at --data %s", s.Volumes, data)
	} else if _, declared := c.Volumes[vol]; !declared {
		t.Errorf("volume %q is not declared", vol)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
