package app

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"opencrvs-mosip/internal/jobs"
)

// The README's configuration table is PrintOptions' output: a new option is
// documented or this test fails. UPDATE_README=1 rewrites it.
func TestREADMEListsEveryOption(t *testing.T) {
	var table strings.Builder
	table.WriteString("```\n")
	PrintOptions(&table)
	table.WriteString("```\n")
	checkREADMEBlock(t, "options", table.String())
}

// The README's failure policy is jobs.Policy.
func TestREADMEShowsFailurePolicy(t *testing.T) {
	checkREADMEBlock(t, "failure-policy", jobs.PolicyMarkdown())
}

// The configuration reference (docs/configuration.md) is the options
// table too.
func TestREADMEConfigurationReference(t *testing.T) {
	var table strings.Builder
	WriteOptionsMarkdown(&table)
	checkDocBlock(t, "../../docs/configuration.md", "options", table.String())
}

// The Compose env file documents every option (WriteEnvExample), as a
// whole generated file.
func TestREADMEEnvExample(t *testing.T) {
	const path = "../../deploy/compose/mediator.env.example"
	var want strings.Builder
	WriteEnvExample(&want)
	got, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if string(got) == want.String() {
		return
	}
	if os.Getenv("UPDATE_README") != "" {
		if err := os.WriteFile(path, []byte(want.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date; run UPDATE_README=1 go test ./internal/app -run README", path)
}

// checkREADMEBlock compares the README's block between <!-- name:begin ...
// and <!-- name:end --> with want; UPDATE_README=1 rewrites it.
func checkREADMEBlock(t *testing.T, name, want string) {
	t.Helper()
	checkDocBlock(t, "../../README.md", name, want)
}

// checkDocBlock is checkREADMEBlock for the document at path.
func checkDocBlock(t *testing.T, path, name, want string) {
	t.Helper()
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin", "<!-- "+name+":end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s has no %s ... %s block", path, begin, end)
	}
	i += bytes.IndexByte(readme[i:], '\n') + 1
	if got := string(readme[i:j]); got != want {
		if os.Getenv("UPDATE_README") != "" {
			out := append(append(append([]byte{}, readme[:i]...), want...), readme[j:]...)
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's %s block is out of date; run UPDATE_README=1 go test ./internal/app -run README", path, name)
	}
}

// mosipAPIVariables are the environment variables of the Node mosip-api
// (packages/mosip-api src/constants.ts, 1.8 and 1.9).
var mosipAPIVariables = []string{
	"PORT", "HOST", "LOCALE", "SQLITE_DATABASE_PATH", "CLIENT_APP_URL",
	"OPENCRVS_GRAPHQL_GATEWAY_URL", "OPENCRVS_GATEWAY_URL", "OPENCRVS_PUBLIC_KEY_URL",
	"MOSIP_AUTH_URL", "MOSIP_AUTH_CLIENT_APP_ID",
	"MOSIP_PACKET_AUTH_CLIENT_ID", "MOSIP_PACKET_AUTH_CLIENT_SECRET",
	"MOSIP_WEBSUB_AUTH_CLIENT_ID", "MOSIP_WEBSUB_AUTH_CLIENT_SECRET",
	"MOSIP_WEBSUB_HUB_URL", "MOSIP_WEBSUB_SECRET", "MOSIP_WEBSUB_TOPIC", "MOSIP_WEBSUB_CALLBACK_URL",
	"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST", "TRANSACTION_ID_PREFIX",
	"MOSIP_BIRTH_WEBHOOK_URL", "MOSIP_DEATH_WEBHOOK_URL",
	"ESIGNET_USERINFO_URL", "ESIGNET_TOKEN_URL", "OPENID_PROVIDER_CLAIMS", "OIDP_CLIENT_PRIVATE_KEY_PATH",
	"PARTNER_APIKEY", "PARTNER_MISP_LK", "PARTNER_ID", "IDA_AUTH_DOMAIN_URI", "IDA_AUTH_URL",
	"ENCRYPT_CERT_PATH", "DECRYPT_P12_FILE_PATH", "DECRYPT_P12_FILE_PASSWORD",
	"SIGN_P12_FILE_PATH", "SIGN_P12_FILE_PASSWORD",
	"MOSIP_CREATE_PACKET_URL", "MOSIP_PROCESS_PACKET_URL", "MOSIP_CENTER_ID", "MOSIP_MACHINE_ID",
}

// docs/switching-from-mosip-api.md names every mosip-api variable, and
// says "not read" exactly for those the mediator does not read.
func TestREADMESwitchingListsMosipAPIVariables(t *testing.T) {
	doc, err := os.ReadFile("../../docs/switching-from-mosip-api.md")
	if err != nil {
		t.Fatal(err)
	}
	known := OptionNames()
	named := map[string]bool{}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 4 || !slices.ContainsFunc(mosipAPIVariables, func(v string) bool { return strings.Contains(cells[1], "`"+v+"`") }) {
			continue
		}
		notRead := strings.HasPrefix(strings.TrimSpace(cells[2]), "not read")
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			named[m[1]] = true
			switch read := slices.Contains(known, m[1]); {
			case read && notRead:
				t.Errorf("switching-from-mosip-api.md says %s is not read, but the mediator reads it", m[1])
			case !read && !notRead:
				t.Errorf("switching-from-mosip-api.md says what the mediator does with %s, but it does not read it", m[1])
			}
		}
	}
	for _, v := range mosipAPIVariables {
		if !named[v] {
			t.Errorf("switching-from-mosip-api.md does not say what becomes of mosip-api's %s", v)
		}
	}
}

// docs/fuzzing.md records a ten-minute run of every fuzz target: a row
// "| <package> | <target> | ... |" for each func Fuzz… in the module's
// test files, and no row for a target that does not exist.
func TestFuzzingRecordListsEveryTarget(t *testing.T) {
	doc, err := os.ReadFile("../../docs/fuzzing.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `?([a-z0-9/]+)`? \\| `?(Fuzz[A-Za-z0-9_]+)`? \\|")
	listed := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		listed[m[1]+" "+m[2]] = true
	}
	target := regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]+)\(\w+ \*testing\.F\)`)
	var found []string
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../../")))
		for _, m := range target.FindAllStringSubmatch(string(src), -1) {
			found = append(found, pkg+" "+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 40 {
		t.Fatalf("found %d fuzz targets in the module, want at least 40: the walk missed files", len(found))
	}
	for _, f := range found {
		if !listed[f] {
			t.Errorf("fuzz target %s has no ten-minute run in docs/fuzzing.md: run it (the command is there) and add its row", f)
		}
		delete(listed, f)
	}
	for f := range listed {
		t.Errorf("docs/fuzzing.md lists %s, which is not a fuzz target of the module", f)
	}
}
