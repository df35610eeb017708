package deploy

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/store"
)

const chart = "helm/opencrvs-mosip"

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
	role := fmt.Sprint(v["role"])
	env := map[string]string{"HOST": "0.0.0.0", "PORT": "2024", "MEDIATOR_ROLE": role}
	if sub(v, "database")["type"] == "sqlite" {
		env["SQLITE_DATABASE_PATH"] = filepath.Join(dir, "opencrvs-mosip.sqlite")
	}
	if role != app.RoleDirect {
		// The envelope key pair, as the Secret and the ConfigMap mount it.
		keyPEM, certPEM := envelopeKeyPair(t)
		env["ENVELOPE_PRIVATE_KEY_FILE"] = filepath.Join(dir, "envelope-key.pem")
		env["ENVELOPE_PEER_CERT_FILE"] = filepath.Join(dir, "peer-cert.pem")
		for name, data := range map[string][]byte{"ENVELOPE_PRIVATE_KEY_FILE": keyPEM, "ENVELOPE_PEER_CERT_FILE": certPEM} {
			if err := os.WriteFile(env[name], data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if kafka := sub(v, "kafka"); role == app.RoleMOSIPSide && len(asList(kafka["brokers"])) > 0 {
		var brokers []string
		for _, b := range asList(kafka["brokers"]) {
			brokers = append(brokers, fmt.Sprint(b))
		}
		env["KAFKA_BROKERS"] = strings.Join(brokers, ",")
		env["KAFKA_TLS"] = fmt.Sprint(kafka["tls"] == true)
		if m := fmt.Sprint(sub(kafka, "sasl")["mechanism"]); sub(kafka, "sasl")["mechanism"] != nil && m != "" {
			env["KAFKA_SASL_MECHANISM"] = m
			env["KAFKA_SASL_USERNAME"] = fmt.Sprint(sub(kafka, "sasl")["username"])
		}
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
	known := app.OptionNames()
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

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// envelopeKeyPair makes an envelope key (PKCS#8 PEM) and a self-signed
// certificate of it, as the openssl commands of docs/install.md do.
func envelopeKeyPair(t *testing.T) (keyPEM, certPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "chart test mediator"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// roleRequired reads the chart's lists of what each split role needs
// (_helpers.tpl, "opencrvs-mosip.roleRequired"): role -> entries, each
// entry one variable or alternatives.
func roleRequired(t *testing.T) map[string][][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chart, "templates", "_helpers.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*"(opencrvs-side|mosip-side)" "([A-Z0-9_| ]+)"\s*$`).FindAllStringSubmatch(string(data), -1) {
		for _, entry := range strings.Fields(m[2]) {
			out[m[1]] = append(out[m[1]], strings.Split(entry, "|"))
		}
	}
	if len(out) != 2 {
		t.Fatalf("_helpers.tpl: found the required lists of %v, want opencrvs-side and mosip-side", keys(out))
	}
	return out
}

// ciRoles returns the CI values files by role.
func ciRoles(t *testing.T) map[string][]string {
	t.Helper()
	defaults := readValues(t, filepath.Join(chart, "values.yaml"))
	files, err := filepath.Glob(filepath.Join(chart, "ci", "*-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		role := fmt.Sprint(merge(defaults, readValues(t, f))["role"])
		out[role] = append(out[role], f)
	}
	for _, role := range []string{app.RoleDirect, app.RoleOpenCRVSSide, app.RoleMOSIPSide} {
		if len(out[role]) == 0 {
			t.Errorf("no ci/*-values.yaml with role %s", role)
		}
	}
	return out
}

// The chart's lists of what each split role requires are the code's:
// with a CI values file of the role, the mediator refuses to start
// without a variable exactly when the chart's list names it (and no
// alternative of it is given). A variable with a default is never
// required, so taking it away must keep the configuration valid.
func TestHelmRoleRequired(t *testing.T) {
	defaults := readValues(t, filepath.Join(chart, "values.yaml"))
	required := roleRequired(t)
	known := app.OptionNames()
	for role, entries := range required {
		for _, entry := range entries {
			for _, name := range entry {
				if !slices.Contains(known, name) {
					t.Errorf("_helpers.tpl: role %s requires %s, which the mediator does not read", role, name)
				}
			}
		}
	}
	// Set by the chart itself, whatever the values.
	fixed := []string{"HOST", "PORT", "MEDIATOR_ROLE", "SQLITE_DATABASE_PATH"}
	for role, files := range ciRoles(t) {
		if role == app.RoleDirect {
			continue
		}
		for _, f := range files {
			env := chartEnv(t, merge(defaults, readValues(t, f)))
			if _, err := app.LoadConfig(func(name string) string { return env[name] }); err != nil {
				t.Errorf("%s: not a valid configuration to start from:\n%v", f, err)
				continue
			}
			chartRequires := func(name string) bool {
				// Required on conditions the chart checks on their own
				// (_helpers.tpl, validate; TestHelmRender has their messages).
				switch {
				case name == "KAFKA_SASL_USERNAME" && env["KAFKA_SASL_MECHANISM"] != "":
					return true
				case name == "WRITEBACK_URL" && env["WRITEBACK"] == "country-config":
					return true
				}
				name = strings.TrimSuffix(name, "_FILE")
				if name == "ENVELOPE_PRIVATE_KEY" || name == "ENVELOPE_PEER_CERT" {
					name += "_FILE"
				}
				for _, entry := range required[role] {
					if !slices.Contains(entry, name) {
						continue
					}
					others := 0
					for _, alt := range entry {
						if alt != name && (env[alt] != "" || env[alt+"_FILE"] != "") {
							others++
						}
					}
					if others == 0 {
						return true
					}
				}
				return false
			}
			for name := range env {
				if slices.Contains(fixed, name) {
					continue
				}
				_, err := app.LoadConfig(func(n string) string {
					if n == name {
						return ""
					}
					return env[n]
				})
				switch refused, listed := err != nil, chartRequires(name); {
				case refused && !listed:
					t.Errorf("%s: the mediator refuses role %s without %s, but the chart's list (_helpers.tpl) does not name it:\n%v", f, role, name, err)
				case !refused && listed:
					t.Errorf("%s: the chart requires %s for role %s, but the mediator starts without it", f, name, role)
				}
			}
			// Every entry of the list is given by the file (the chart
			// would refuse it otherwise), so each was tried above.
			for _, entry := range required[role] {
				if !slices.ContainsFunc(entry, func(n string) bool { return env[n] != "" || env[n+"_FILE"] != "" }) {
					t.Errorf("%s: does not give %s, which the chart requires for role %s", f, strings.Join(entry, " or "), role)
				}
			}
		}
	}
}

// helmBinary is the helm the tests run: $HELM, else the one `make
// helm-check` installs in bin/, else helm on the PATH; "" when there is
// none (the tests that need it are skipped; CI runs make helm-check,
// which installs it).
func helmBinary() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if _, err := os.Stat("../bin/helm"); err == nil {
		return "../bin/helm"
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	return ""
}

// helmTemplate renders the chart with a values file and --set flags.
func helmTemplate(t *testing.T, helm, values string, set ...string) (string, error) {
	t.Helper()
	args := []string{"template", "check", chart, "--kube-version", "1.30.0"}
	if values != "" {
		args = append(args, "--values", values)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errOut.String())
	}
	return out.String(), nil
}

// With helm: lint and template pass for the defaults and each CI values
// file, the rendered Deployment sets only variables the mediator reads (the
// role's own among them), the Ingress exposes the role's paths, and what a
// role lacks fails with a message naming it.
func TestHelmRender(t *testing.T) {
	helm := helmBinary()
	if helm == "" {
		t.Skip("no helm ($HELM, bin/helm or on the PATH): `make helm-check` installs it")
	}
	known := app.OptionNames()
	roles := ciRoles(t)
	for role, files := range roles {
		for _, f := range append([]string{""}, files...) {
			if f == "" && role != app.RoleDirect {
				continue
			}
			lint := exec.Command(helm, "lint", "--strict", "--kube-version", "1.30.0", chart)
			if f != "" {
				lint.Args = append(lint.Args, "--values", f)
			}
			if out, err := lint.CombinedOutput(); err != nil {
				t.Errorf("helm lint %s: %v\n%s", f, err, out)
			}
			out, err := helmTemplate(t, helm, f)
			if err != nil {
				t.Errorf("helm template %s: %v", f, err)
				continue
			}
			env, paths := renderedEnvAndPaths(t, out)
			for _, name := range env {
				if !slices.Contains(known, name) {
					t.Errorf("%s: the Deployment sets %s, which the mediator does not read", f, name)
				}
			}
			if !strings.Contains(out, "name: MEDIATOR_ROLE\n              value: \""+role+"\"") {
				t.Errorf("%s: the Deployment does not set MEDIATOR_ROLE=%s", f, role)
			}
			if role != app.RoleDirect {
				for _, name := range []string{"ENVELOPE_PRIVATE_KEY_FILE", "ENVELOPE_PEER_CERT_FILE"} {
					if !slices.Contains(env, name) {
						t.Errorf("%s: the Deployment does not set %s", f, name)
					}
				}
			}
			want := map[string][]string{
				app.RoleDirect:       {"/websub"},
				app.RoleOpenCRVSSide: {"/birthReceiveNid", "/webhooks/opencrvs"},
				app.RoleMOSIPSide:    {"/opencrvs/v1", "/websub"},
			}[role]
			if len(paths) > 0 && !slices.Equal(paths, want) {
				t.Errorf("%s: the Ingress exposes %v, want the role's %v", f, paths, want)
			}
		}
	}

	// What a split role lacks, the chart names.
	for _, c := range []struct {
		values string
		set    []string
		want   []string
	}{
		{roles[app.RoleOpenCRVSSide][0], []string{"config.PEER_URL="}, []string{"role opencrvs-side: missing PEER_URL"}},
		{roles[app.RoleOpenCRVSSide][0], []string{"config.OPENCRVS_WEBHOOKS_URL=", "secrets.env.PEER_CLIENT_SECRET=null"}, []string{"OPENCRVS_WEBHOOKS_URL", "PEER_CLIENT_SECRET"}},
		{roles[app.RoleOpenCRVSSide][0], []string{"envelope.privateKey.secretName="}, []string{"role opencrvs-side needs envelope.privateKey.secretName"}},
		{roles[app.RoleOpenCRVSSide][0], []string{"kafka.brokers={kafka:9092}"}, []string{"kafka.brokers with role opencrvs-side"}},
		{roles[app.RoleOpenCRVSSide][0], []string{"config.WRITEBACK=country-config"}, []string{"WRITEBACK_URL"}},
		{roles[app.RoleMOSIPSide][0], []string{"config.MOSIP_WEBSUB_CALLBACK_URL=", "config.OPENCRVS_AUTH_TOKEN_URL="}, []string{"role mosip-side: missing MOSIP_WEBSUB_CALLBACK_URL, OPENCRVS_AUTH_TOKEN_URL or OPENCRVS_PUBLIC_KEY_URL"}},
		{roles[app.RoleMOSIPSide][0], []string{"envelope.peerCert.configMapName=certs"}, []string{"one of envelope.peerCert.secretName or envelope.peerCert.configMapName"}},
		{roles[app.RoleMOSIPSide][0], []string{"secrets.env.KAFKA_SASL_PASSWORD=null"}, []string{"KAFKA_SASL_PASSWORD"}},
		{roles[app.RoleMOSIPSide][0], []string{"config.KAFKA_BROKERS=kafka:9092"}, []string{"KAFKA_BROKERS: the chart sets it from kafka.brokers"}},
		{"", []string{"role=mosip-side"}, []string{"role mosip-side needs envelope.privateKey.secretName"}},
		{"", []string{"role=split"}, []string{`role "split": must be one of`}},
	} {
		_, err := helmTemplate(t, helm, c.values, c.set...)
		if err == nil {
			t.Errorf("helm template %s --set %v rendered; want it refused", c.values, c.set)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("helm template %s --set %v: %v\nwant a message with %q", c.values, c.set, err, w)
			}
		}
	}
}

// renderedEnvAndPaths returns the names of the Deployment's container
// environment and the Ingress's paths in rendered manifests.
func renderedEnvAndPaths(t *testing.T, manifests string) (env, paths []string) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(manifests))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Env []struct {
								Name string `yaml:"name"`
							} `yaml:"env"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
				Rules []struct {
					HTTP struct {
						Paths []struct {
							Path string `yaml:"path"`
						} `yaml:"paths"`
					} `yaml:"http"`
				} `yaml:"rules"`
			} `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return env, paths
		}
		if err != nil {
			t.Fatalf("rendered manifests: %v", err)
		}
		switch doc.Kind {
		case "Deployment":
			for _, c := range doc.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					env = append(env, e.Name)
				}
			}
		case "Ingress":
			for _, r := range doc.Spec.Rules {
				for _, p := range r.HTTP.Paths {
					paths = append(paths, p.Path)
				}
			}
		}
	}
}
