package country

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work in containers without /usr/share/zoneinfo

	yaml "go.yaml.in/yaml/v3"

	"opencrvs-mosip/internal/bridge"
)

//go:embed default.yaml
var defaultConfig []byte

// DefaultName is how the embedded default configuration is named in errors
// and in `config check`.
const DefaultName = "default.yaml (embedded)"

// Options are deployment values the configuration file does not hold.
type Options struct {
	// Vars are visible to jq as $name and to rules as vars.name. They add to
	// and override the file's vars (the mediator passes centerId and
	// machineId from MOSIP_CENTER_ID and MOSIP_MACHINE_ID).
	Vars map[string]string
}

// Config is a loaded and compiled country configuration. It is immutable
// and safe for concurrent use.
type Config struct {
	name     string
	loc      *time.Location
	language string
	regNo    template
	passed   []string
	vars     map[string]string
	varNames []string // sorted: the order of the values passed to jq
	schema   *idSchema
	events   map[bridge.EventKind]*event
	jqLimit  time.Duration // for the jq programs of one record
	// jqSlowLimit is the limit of a second run after the first ran out
	// of jqLimit (mapPacket).
	jqSlowLimit time.Duration
	reasons     map[string]string
}

// RejectionReasons returns the file's rejectionReasons: how MOSIP's
// refusals are explained to registrars, by MOSIP error code (KER-PUT-020),
// registration status (status:REJECTED) or "default". They override the
// mediator's own table; an empty text removes an entry.
func (c *Config) RejectionReasons() map[string]string { return maps.Clone(c.reasons) }

// event is the compiled configuration of one event kind.
type event struct {
	process string
	// correctionProcess is the MOSIP process of a correction of this event.
	correctionProcess string
	verify            []personSource
	rule              *rule
	fields            *jqProgram
	// metaInfo, audit and notification may be nil (nothing configured).
	metaInfo, audit, notification *jqProgram
}

// personSource says where one person's verification status is read.
type personSource struct {
	role           string // child, mother, ...
	answers        []string
	identifierType string
}

// LoadError is one problem in a configuration file: where it is and why.
type LoadError struct {
	File string
	Line int // 1-based; 0 when unknown
	// Path names the setting, e.g. "birth.forward".
	Path string
	Msg  string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and compiles the configuration file at path; "" loads the
// embedded default. The error lists every problem found, each a
// *LoadError with the file and line.
func Load(path string, opts Options) (*Config, error) {
	if path == "" {
		return Parse(defaultConfig, DefaultName, opts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("country: load %s: %w", path, err)
	}
	return Parse(data, path, opts)
}

// document is the YAML file. Programs are read as text here; their lines
// come from the yaml.Node tree.
type document struct {
	TimeZone           string            `yaml:"timeZone"`
	Language           string            `yaml:"language"`
	RegistrationNumber string            `yaml:"registrationNumber"`
	Passed             []string          `yaml:"passed"`
	IDSchema           string            `yaml:"idSchema"`
	Vars               map[string]string `yaml:"vars"`
	JQ                 string            `yaml:"jq"`
	MetaInfo           string            `yaml:"metaInfo"`
	Audit              string            `yaml:"audit"`
	Notification       string            `yaml:"notification"`
	Birth              *eventFile        `yaml:"birth"`
	Death              *eventFile        `yaml:"death"`
	// RejectionReasons override the mediator's explanations of MOSIP
	// refusals (keys: MOSIP error codes, status:<STATUS>, default).
	RejectionReasons map[string]string `yaml:"rejectionReasons"`
}

type eventFile struct {
	Process string `yaml:"process"`
	// CorrectionProcess is the MOSIP process a correction is sent with.
	CorrectionProcess string                `yaml:"correctionProcess"`
	Verification      map[string]personFile `yaml:"verification"`
	Forward           string                `yaml:"forward"`
	Fields            string                `yaml:"fields"`
	MetaInfo          string                `yaml:"metaInfo"`
	Audit             string                `yaml:"audit"`
	Notification      string                `yaml:"notification"`
}

type personFile struct {
	Answers        []string `yaml:"answers"`
	IdentifierType string   `yaml:"identifierType"`
}

// roles lists the persons whose verification an event may configure.
func roles(kind bridge.EventKind) []string {
	if kind == bridge.EventDeath {
		return []string{"deceased", "spouse", "informant"}
	}
	return []string{"child", "mother", "father", "informant"}
}

var (
	varName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	langCode   = regexp.MustCompile(`^[a-z]{3}$`)
	processRe  = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownKey = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// Parse compiles a configuration held in memory; name is used in errors
// and to resolve idSchema relative to the file (a bare name resolves in the
// working directory).
func Parse(data []byte, name string, opts Options) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, &LoadError{File: name, Msg: "the file is empty"}
	}
	var f document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &LoadError{File: name, Line: extra.Line, Msg: "only one YAML document is allowed"}
	}
	l := &loader{name: name, root: root.Content[0]}
	return l.compile(&f, opts)
}

// loader compiles one file and collects its problems.
type loader struct {
	name string
	root *yaml.Node
	errs []error
}

func (l *loader) fail(path string, format string, args ...any) {
	l.errs = append(l.errs, &LoadError{File: l.name, Line: l.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// node finds the YAML key and value nodes of a path such as
// "birth.forward" or "passed[0]"; nil when the file does not have it.
func (l *loader) node(path string) (key, value *yaml.Node) {
	value = l.root
	for _, seg := range strings.Split(path, ".") {
		name, index := seg, -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			name = seg[:i]
			if n, err := strconv.Atoi(seg[i+1 : len(seg)-1]); err == nil {
				index = n
			}
		}
		if value == nil || value.Kind != yaml.MappingNode {
			return nil, nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(value.Content); i += 2 {
			if value.Content[i].Value == name {
				key, next = value.Content[i], value.Content[i+1]
				break
			}
		}
		value = next
		if index >= 0 {
			if value == nil || value.Kind != yaml.SequenceNode || index >= len(value.Content) {
				return nil, nil
			}
			key, value = value.Content[index], value.Content[index]
		}
	}
	return key, value
}

// line returns the line where the setting at path is written, or where its
// closest parent is.
func (l *loader) line(path string) int {
	for path != "" {
		if key, _ := l.node(path); key != nil {
			return key.Line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// sourceLine maps a 1-based line inside a program to a line of the file:
// exact for literal blocks (|) and single-line scalars, the program's first
// line otherwise.
func (l *loader) sourceLine(path string, line int) int {
	_, n := l.node(path)
	if n == nil {
		return 0
	}
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		return n.Line + line
	case n.Style&yaml.FoldedStyle != 0:
		return n.Line + 1
	}
	return n.Line
}

func (l *loader) compile(f *document, opts Options) (*Config, error) {
	c := &Config{name: l.name, events: make(map[bridge.EventKind]*event, 2), jqLimit: jqTimeLimit, jqSlowLimit: 10 * jqTimeLimit, reasons: f.RejectionReasons}

	zone := cmpOr(f.TimeZone, "UTC")
	loc, err := time.LoadLocation(zone)
	if err != nil {
		l.fail("timeZone", "unknown time zone %q (want an IANA name such as Africa/Lusaka)", zone)
		loc = time.UTC
	}
	c.loc = loc

	c.language = cmpOr(f.Language, "eng")
	if !langCode.MatchString(c.language) {
		l.fail("language", "%q is not an ISO 639-3 code (MOSIP uses three letters, e.g. eng, fra)", c.language)
	}

	regNo, err := parseTemplate(cmpOr(f.RegistrationNumber, "{year}{trackingId}"))
	if err != nil {
		l.fail("registrationNumber", "%v", err)
	}
	c.regNo = regNo

	c.passed = f.Passed
	if f.Passed == nil {
		c.passed = []string{"verified", "authenticated"}
	}
	for i, p := range c.passed {
		if strings.TrimSpace(p) == "" {
			l.fail(fmt.Sprintf("passed[%d]", i), "empty value")
		}
	}

	c.vars = make(map[string]string, len(f.Vars)+len(opts.Vars))
	for _, k := range sortedKeys(f.Vars) {
		if !varName.MatchString(k) || isBuiltinVar(k) {
			l.fail("vars."+k, "%q cannot be a variable name (letters, digits and _; not one of %s)", k, builtinVarList())
			continue
		}
		c.vars[k] = f.Vars[k]
	}
	for _, k := range sortedKeys(opts.Vars) {
		if !varName.MatchString(k) || isBuiltinVar(k) {
			l.errs = append(l.errs, &LoadError{File: "deployment", Path: "vars." + k,
				Msg: fmt.Sprintf("%q cannot be a variable name (letters, digits and _; not one of %s)", k, builtinVarList())})
			continue
		}
		c.vars[k] = opts.Vars[k]
	}
	for k := range c.vars {
		c.varNames = append(c.varNames, k)
	}
	sort.Strings(c.varNames)

	c.schema = l.loadSchema(f.IDSchema)

	jqc := &jqCompiler{l: l, c: c}
	jqc.userDefs = jqc.parseDefs("jq", f.JQ)

	if f.Birth == nil && f.Death == nil {
		l.fail("", "configure birth, death or both")
	}
	for _, ev := range []struct {
		kind bridge.EventKind
		f    *eventFile
	}{{bridge.EventBirth, f.Birth}, {bridge.EventDeath, f.Death}} {
		if ev.f == nil {
			continue
		}
		if e := l.event(ev.kind, ev.f, f, jqc); e != nil {
			c.events[ev.kind] = e
		}
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return c, nil
}

func (l *loader) event(kind bridge.EventKind, ef *eventFile, f *document, jqc *jqCompiler) *event {
	k := string(kind)
	e := &event{process: ef.Process}
	if e.process == "" {
		e.process = bridge.ProcessNew
		if kind == bridge.EventDeath {
			e.process = bridge.ProcessDeath
		}
	}
	if !processRe.MatchString(e.process) {
		l.fail(k+".process", "%q is not a MOSIP process name (e.g. CRVS_NEW)", e.process)
	}
	e.correctionProcess = cmpOr(ef.CorrectionProcess, bridge.ProcessUpdate)
	if !processRe.MatchString(e.correctionProcess) {
		l.fail(k+".correctionProcess", "%q is not a MOSIP process name (e.g. CRVS_UPDATE)", e.correctionProcess)
	}

	allowed := roles(kind)
	whos := make([]string, 0, len(ef.Verification))
	for who := range ef.Verification {
		whos = append(whos, who)
	}
	sort.Slice(whos, func(i, j int) bool { return roleIndex(allowed, whos[i]) < roleIndex(allowed, whos[j]) })
	for _, who := range whos {
		pf := ef.Verification[who]
		path := k + ".verification." + who
		if roleIndex(allowed, who) == len(allowed) {
			l.fail(path, "%s records have no %q (want one of %s)", k, who, strings.Join(allowed, ", "))
			continue
		}
		if len(pf.Answers) == 0 && pf.IdentifierType == "" {
			l.fail(path, "give answers, identifierType or both")
			continue
		}
		for i, a := range pf.Answers {
			if strings.TrimSpace(a) == "" {
				l.fail(fmt.Sprintf("%s.answers[%d]", path, i), "empty answer key")
			}
		}
		e.verify = append(e.verify, personSource{role: who, answers: pf.Answers, identifierType: pf.IdentifierType})
	}

	if strings.TrimSpace(ef.Forward) == "" {
		l.fail(k+".forward", "missing: write the rule that decides whether a %s record goes to MOSIP (`true` for always)", k)
	} else {
		e.rule = l.compileRule(k+".forward", ef.Forward)
	}
	if strings.TrimSpace(ef.Fields) == "" {
		l.fail(k+".fields", "missing: write the jq program that builds the MOSIP ID fields")
	} else {
		e.fields = jqc.program(k+".fields", ef.Fields)
	}
	e.metaInfo = jqc.shared(k, "metaInfo", ef.MetaInfo, f.MetaInfo)
	e.audit = jqc.shared(k, "audit", ef.Audit, f.Audit)
	e.notification = jqc.shared(k, "notification", ef.Notification, f.Notification)
	return e
}

func roleIndex(roles []string, who string) int {
	for i, r := range roles {
		if r == who {
			return i
		}
	}
	return len(roles)
}

func (l *loader) loadSchema(path string) *idSchema {
	data, file := defaultIDSchema, "idschema.json (embedded)"
	if path != "" {
		file = path
		if !filepath.IsAbs(path) && l.name != DefaultName {
			file = filepath.Join(filepath.Dir(l.name), path)
		}
		var err error
		if data, err = os.ReadFile(file); err != nil {
			l.fail("idSchema", "cannot read the ID schema: %v", err)
			return nil
		}
	}
	s, err := parseIDSchema(data, file)
	if err != nil {
		l.errs = append(l.errs, err)
		return nil
	}
	return s
}

// yamlError turns a go-yaml error into LoadErrors with lines, and unknown
// keys into a list of the keys that are allowed there.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, yamlMessage(name, msg))
		}
		return errors.Join(errs...)
	}
	return yamlMessage(name, err.Error())
}

func yamlMessage(name, msg string) *LoadError {
	le := &LoadError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		fmt.Sscanf(m[1], "%d", &le.Line)
		le.Msg = m[2]
	}
	if m := unknownKey.FindStringSubmatch(le.Msg); m != nil {
		le.Msg = fmt.Sprintf("unknown key %q", m[1])
		if keys := allowedKeys(m[2]); keys != "" {
			le.Msg += " (allowed here: " + keys + ")"
		}
	}
	return le
}

// allowedKeys lists the keys of the level go-yaml names by its Go type.
func allowedKeys(typeName string) string {
	for _, v := range []any{document{}, eventFile{}, personFile{}} {
		t := reflect.TypeOf(v)
		if t.String() != typeName {
			continue
		}
		keys := make([]string, 0, t.NumField())
		for i := range t.NumField() {
			keys = append(keys, t.Field(i).Tag.Get("yaml"))
		}
		return strings.Join(keys, ", ")
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return strings.TrimSpace(s)
}

// template is a registration number format: text with {year},
// {trackingId} and {recordId}.
type template []templatePart

type templatePart struct {
	text string
	key  string // "" for text
}

func parseTemplate(s string) (template, error) {
	var t template
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			if strings.IndexByte(s, '}') >= 0 {
				return nil, fmt.Errorf("unmatched } in %q", s)
			}
			t = append(t, templatePart{text: s})
			break
		}
		if open > 0 {
			t = append(t, templatePart{text: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed { in %q", s)
		}
		key := s[open+1 : open+end]
		switch key {
		case "year", "trackingId", "recordId":
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} (want {year}, {trackingId} or {recordId})", key)
		}
		t = append(t, templatePart{key: key})
		s = s[open+end+1:]
	}
	return t, nil
}

func (t template) render(year, trackingID, recordID string) string {
	var b strings.Builder
	for _, p := range t {
		switch p.key {
		case "":
			b.WriteString(p.text)
		case "year":
			b.WriteString(year)
		case "trackingId":
			b.WriteString(trackingID)
		case "recordId":
			b.WriteString(recordID)
		}
	}
	return b.String()
}

func (t template) uses(key string) bool {
	for _, p := range t {
		if p.key == key {
			return true
		}
	}
	return false
}
