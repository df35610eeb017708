package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/store"
)

const chart = "helm/opencrvs-mosip"

// notYetOptions are variables the chart sets for releases of the mediator
// that are being built: DATABASE_URL comes with PostgreSQL support. The
// chart's README says so; the test only keeps the list from growing.
var notYetOptions = []string{"DATABASE_URL"}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// merge is Helm's coalescing of a values file over the chart's values:
// maps merge, anything else replaces, null deletes.
func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = merge(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

func sub(v map[string]any, path ...string) map[string]any {
	for _, p := range path {
		next, _ := v[p].(map[string]any)
		v = next
	}
	return v
}

// The values files set only variables the mediator reads, and with each
// CI values file the chart gives the mediator a configuration it accepts.
func TestHelmValues(t *testing.T) {
	defaults := readValues(t, filepath.Join(chart, "values.yaml"))
	if defaults["role"] != "direct" {
		t.Errorf("role %v, want direct by default", defaults["role"])
	}
	files, err := filepath.Glob(filepath.Join(chart, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml (%v)", err)
	}
	known := app.OptionNames()
	for _, f := range append([]string{filepath.Join(chart, "values.yaml")}, files...) {
		v := merge(defaults, readValues(t, f))
		for _, section := range [][]string{{"config"}, {"secrets", "env"}, {"secrets", "files"}} {
			for name := range sub(v, section...) {
				if !slices.Contains(known, name) {
					t.Errorf("%s: %s.%s is not a variable the mediator reads", f, strings.Join(section, "."), name)
				}
			}
		}
		for name := range sub(v, "secrets", "env") {
			if !slices.Contains(app.SecretOptions(), name) {
				t.Errorf("%s: secrets.env.%s is not a secret option: put it in config", f, name)
			}
		}
		if f == filepath.Join(chart, "values.yaml") {
			continue // the defaults leave the URLs to the installer
		}
		env := chartEnv(t, v)
		if _, err := app.LoadConfig(func(name string) string { return env[name] }); err != nil {
			t.Errorf("%s: the mediator would refuse the configuration the chart gives it:\n%v", f, err)
		}
	}
}

// chartEnv is the environment the chart's Deployment gives the container
// for values v, with stand-ins for what Kubernetes fills in: secret values
// (a real store key where one is needed) and mounted files.
func chartEnv(t *testing.T, v map[string]any) map[string]string {
	t.Helper()
	dir := t.TempDir()
	key, err := store.GenerateKey("chart")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOST": "0.0.0.0", "PORT": "2024"}
	if sub(v, "database")["type"] == "sqlite" {
		env["SQLITE_DATABASE_PATH"] = filepath.Join(dir, "opencrvs-mosip.sqlite")
	}
	for name, value := range sub(v, "config") {
		if s := fmt.Sprint(value); value != nil && s != "" {
			env[name] = s
		}
	}
	for name := range sub(v, "secrets", "env") {
		env[name] = "secret-of-" + name
		if name == "STORE_ENCRYPTION_KEY" {
			env[name] = key
		}
	}
	for name := range sub(v, "secrets", "files") {
		path := filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = path
	}
	return env
}

// Variables the templates set themselves are the mediator's too, and the
// pod runs as the image's user.
func TestHelmTemplates(t *testing.T) {
	known := append(app.OptionNames(), notYetOptions...)
	tmpl, err := os.ReadFile(filepath.Join(chart, "templates", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*- name: ([A-Z][A-Z0-9_]*)\s*$`).FindAllStringSubmatch(string(tmpl), -1) {
		if !slices.Contains(known, m[1]) {
			t.Errorf("deployment.yaml sets %s, which the mediator does not read", m[1])
		}
	}
	defaults := readValues(t, filepath.Join(chart, "values.yaml"))
	for probe, path := range map[string]string{"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"} {
		get := sub(defaults, "probes", probe, "httpGet")
		if get["path"] != path || get["port"] != "http" {
			t.Errorf("probes.%s.httpGet %v, want path %s on port http", probe, get, path)
		}
	}
	users := find(parseDockerfile(t, "../Dockerfile")[1], "USER")
	uid, gid, _ := strings.Cut(users[len(users)-1], ":")
	pod := sub(defaults, "podSecurityContext")
	if fmt.Sprint(pod["runAsUser"]) != uid || fmt.Sprint(pod["runAsGroup"]) != gid || fmt.Sprint(pod["fsGroup"]) != gid || pod["runAsNonRoot"] != true {
		t.Errorf("podSecurityContext %v does not run as the image's user %s:%s (with fsGroup %s)", pod, uid, gid, gid)
	}
	ctr := sub(defaults, "securityContext")
	if ctr["readOnlyRootFilesystem"] != true || ctr["allowPrivilegeEscalation"] != false ||
		fmt.Sprint(sub(defaults, "securityContext", "capabilities")["drop"]) != "[ALL]" {
		t.Errorf("securityContext %v: want a read-only root, no privilege escalation, capabilities drop [ALL]", ctr)
	}
}
