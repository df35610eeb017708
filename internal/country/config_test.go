package country

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deployment is what the mediator passes from MOSIP_CENTER_ID and
// MOSIP_MACHINE_ID.
var deployment = Options{Vars: map[string]string{"centerId": "10002", "machineId": "10003"}}

func mustParse(t testing.TB, yaml string, opts Options) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml), "test.yaml", opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestLoadDefault(t *testing.T) {
	t.Parallel()
	c, err := Load("", deployment)
	if err != nil {
		t.Fatalf("Load default: %v", err)
	}
	if got, want := c.Process("birth"), "CRVS_NEW"; got != want {
		t.Errorf("birth process %q, want %q", got, want)
	}
	if got, want := c.Process("death"), "CRVS_DEATH"; got != want {
		t.Errorf("death process %q, want %q", got, want)
	}
	var schema struct {
		Properties struct {
			Identity struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"identity"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(c.IDSchemaJSON()), &schema); err != nil {
		t.Fatalf("IDSchemaJSON is not JSON: %v", err)
	}
	if got, want := strings.Join(schema.Properties.Identity.Required, ","), "IDSchemaVersion,fullName,dateOfBirth,gender,addressLine1"; got != want {
		t.Errorf("required %s, want %s", got, want)
	}
	for _, f := range []string{"fullName", "dateOfBirth", "gender", "guardianOrParentName", "birthCertificateNumber",
		"addressLine1", "addressLine2", "addressLine3", "district", "province", "postalCode", "phone", "email",
		"nationalIdNumber", "deathDeclared", "dateOfDeath", "introducerInfoToken", "UIN", "vid", "selectedHandles"} {
		if _, ok := schema.Properties.Identity.Properties[f]; !ok {
			t.Errorf("the ID schema has no %s", f)
		}
	}
	if strings.Contains(c.IDSchemaJSON(), "\n") {
		t.Error("IDSchemaJSON is not compact")
	}
}

// TestLoadErrors checks that each mistake an integrator can make stops the
// load with the file, the line and the reason.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		opts Options
		want []string // each line of the error
	}{
		{"bad YAML (a tab)", "birth:\n  forward: 'true'\n\tfields: x\n", Options{},
			[]string{"test.yaml:3: found character that cannot start any token"}},
		{"duplicate key", "birth:\n  forward: 'true'\n  fields: '{}'\n  fields: '{}'\n", Options{},
			[]string{`test.yaml:4: mapping key "fields" already defined at line 3`}},
		{"empty file", "", Options{}, []string{"test.yaml: the file is empty"}},
		{"two documents", "birth: {forward: 'true', fields: '{}'}\n---\ndeath: {}\n", Options{},
			[]string{"test.yaml:2: only one YAML document is allowed"}},
		{"unknown top-level key", "timezone: UTC\nbirth: {forward: 'true', fields: '{}'}\n", Options{},
			[]string{`test.yaml:1: unknown key "timezone" (allowed here: timeZone, language, registrationNumber, passed, idSchema, vars, jq, metaInfo, audit, notification, birth, death, rejectionReasons)`}},
		{"unknown event key", "birth:\n  forward: 'true'\n  field: '{}'\n", Options{},
			[]string{`test.yaml:3: unknown key "field" (allowed here: process, correctionProcess, verification, forward, fields, metaInfo, audit, notification)`}},
		{"unknown person key", "birth:\n  forward: 'true'\n  fields: '{}'\n  verification:\n    mother: {answer: [x]}\n", Options{},
			[]string{`test.yaml:5: unknown key "answer" (allowed here: answers, identifierType)`}},
		{"no event", "timeZone: UTC\n", Options{}, []string{"test.yaml: configure birth, death or both"}},
		{"expr syntax error", "birth:\n  forward: |\n    ageInYears(child.birthDate) < 10 &&\n      (mother.authenticated ||\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:4: birth.forward: unexpected token EOF (rule line 2, column 27)"}},
		{"non-boolean rule", "death:\n  forward: deceased.name.full\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:2: death.forward: expected bool, but got string: a rule must be true or false"}},
		{"unknown field in a rule", "birth:\n  forward: |\n    mother.authenticated\n    || mother.authenticatd\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:4: birth.forward: type country.rulePerson has no field authenticatd (rule line 2, column 11)"}},
		{"unknown name in a rule", "birth:\n  forward: chlid.present\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:2: birth.forward: unknown name chlid (rule line 1, column 1)"}},
		{"machine clock in a rule", "birth:\n  forward: now().Year() > 2000\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:2: birth.forward: unknown name now (rule line 1, column 1); use today or ageInYears, which follow timeZone"}},
		{"mismatched types in a rule", "birth:\n  forward: child.birthDate < 10\n  fields: '{}'\n", Options{},
			[]string{"test.yaml:2: birth.forward: invalid operation: < (mismatched types string and int) (rule line 1, column 17)"}},
		{"missing rule and fields", "death:\n  process: CRVS_DEATH\n", Options{},
			[]string{
				"test.yaml:1: death.forward: missing: write the rule that decides whether a death record goes to MOSIP (`true` for always)",
				"test.yaml:1: death.fields: missing: write the jq program that builds the MOSIP ID fields",
			}},
		{"jq syntax error", "birth:\n  forward: 'true'\n  fields: |\n    {\n      fullName: (.child.name.full | mosipText,\n    }\n", Options{},
			[]string{`test.yaml:6: birth.fields: jq: unexpected token "}" (program line 3)`}},
		{"jq unknown function", "birth:\n  forward: 'true'\n  fields: '{fullName: (.child.name.full | mosipTxt)}'\n", Options{},
			[]string{"test.yaml:3: birth.fields: function not defined: mosipTxt/0"}},
		{"jq variable nobody defines", "birth:\n  forward: 'true'\n  fields: '{}'\nmetaInfo: '{c: $centerId}'\n", Options{},
			[]string{"test.yaml:4: metaInfo: variable not defined: $centerId (set it under vars: or pass it from the deployment)"}},
		{"jq syntax error in shared definitions", "jq: |\n  def f: .a |;\nbirth:\n  forward: 'true'\n  fields: '{}'\n", Options{},
			[]string{`test.yaml:2: jq: jq: unexpected token ";" (program line 1)`}},
		{"bad settings", "timeZone: Mars/Olympus\nlanguage: en\nregistrationNumber: '{year}{trackingID}'\npassed: ['']\n" +
			"vars:\n  now: x\nbirth:\n  process: crvs new\n  forward: 'true'\n  fields: '{}'\n  verification:\n    spouse: {answers: [x]}\n    mother: {}\n", Options{},
			[]string{
				`test.yaml:1: timeZone: unknown time zone "Mars/Olympus" (want an IANA name such as Africa/Lusaka)`,
				`test.yaml:2: language: "en" is not an ISO 639-3 code (MOSIP uses three letters, e.g. eng, fra)`,
				`test.yaml:3: registrationNumber: unknown placeholder {trackingID} (want {year}, {trackingId} or {recordId})`,
				`test.yaml:4: passed[0]: empty value`,
				`test.yaml:6: vars.now: "now" cannot be a variable name (letters, digits and _; not one of now, today, year, uuid, process, language)`,
				`test.yaml:8: birth.process: "crvs new" is not a MOSIP process name (e.g. CRVS_NEW)`,
				`test.yaml:13: birth.verification.mother: give answers, identifierType or both`,
				`test.yaml:12: birth.verification.spouse: birth records have no "spouse" (want one of child, mother, father, informant)`,
			}},
		{"bad deployment variable", "birth: {forward: 'true', fields: '{}'}\n", Options{Vars: map[string]string{"center-id": "1"}},
			[]string{`deployment: vars.center-id: "center-id" cannot be a variable name (letters, digits and _; not one of now, today, year, uuid, process, language)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.yaml), "test.yaml", tt.opts)
			if err == nil {
				t.Fatalf("Parse = %v, want an error", c)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error %T has no *LoadError", err)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	schema := strings.Replace(string(defaultIDSchema), `"^.{3,50}$"`, `"^[A-Za-z .'-]{3,50}$"`, 1)
	writeFile(t, filepath.Join(dir, "schemas", "id.json"), schema)
	writeFile(t, filepath.Join(dir, "country.yaml"),
		"idSchema: schemas/id.json\nbirth:\n  forward: 'true'\n  fields: '{fullName: (.child.name.full | mosipText)}'\n")
	c, err := Load(filepath.Join(dir, "country.yaml"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !strings.Contains(c.IDSchemaJSON(), `^[A-Za-z .'-]{3,50}$`) {
		t.Error("the schema next to the file was not used")
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), Options{}); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v, want an error naming it", err)
	}
}

func TestLoadSchemaErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lookahead := strings.Replace(string(defaultIDSchema), `"^.{3,50}$"`, `"^(?=.{3,50}$).*"`, 1)
	writeFile(t, filepath.Join(dir, "lookahead.json"), lookahead)
	writeFile(t, filepath.Join(dir, "broken.json"), "{\n  \"properties\": {\n    \"identity\": [\n  }\n}\n")
	writeFile(t, filepath.Join(dir, "empty.json"), `{"properties": {}}`)
	line := 0
	for i, l := range strings.Split(lookahead, "\n") {
		if strings.Contains(l, "(?=") {
			line = i + 1
			break
		}
	}
	tests := []struct{ schema, want string }{
		{"lookahead.json", filepath.Join(dir, "lookahead.json") + ":" + strconv.Itoa(line) + ": ID schema field fullName: validator ^(?=.{3,50}$).* is not a regular expression Go can run (invalid or unsupported Perl syntax in (?=); " + lookaround},
		{"broken.json", filepath.Join(dir, "broken.json") + ":4: ID schema: not a valid JSON ID schema: invalid character '}' looking for beginning of value"},
		{"empty.json", filepath.Join(dir, "empty.json") + ": ID schema: no fields under properties.identity.properties"},
		{"nowhere.json", filepath.Join(dir, "c.yaml") + ":1: idSchema: cannot read the ID schema: open " + filepath.Join(dir, "nowhere.json") + ": no such file or directory"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte("idSchema: "+tt.schema+"\nbirth: {forward: 'true', fields: '{}'}\n"), filepath.Join(dir, "c.yaml"), Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error\n%v\nwant\n%s", tt.schema, err, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format, want, err string
	}{
		{"{year}{trackingId}", "2025BXXDBIC", ""},
		{"BR-{year}-{trackingId}-{recordId}", "BR-2025-BXXDBIC-r1", ""},
		{"fixed", "fixed", ""},
		{"{year", "", `unclosed { in "{year"`},
		{"year}", "", `unmatched } in "year}"`},
		{"{month}", "", "unknown placeholder {month} (want {year}, {trackingId} or {recordId})"},
	}
	for _, tt := range tests {
		tpl, err := parseTemplate(tt.format)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseTemplate(%q) error %v, want %s", tt.format, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseTemplate(%q): %v", tt.format, err)
		}
		if got := tpl.render("2025", "BXXDBIC", "r1"); got != tt.want {
			t.Errorf("render(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}
