package country

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/itchyny/gojq"

	"opencrvs-mosip/internal/bridge"
)

//go:embed helpers.jq
var helpersJQ string

// builtinVars are the jq variables every program sees besides the
// configured ones, in the order newJQRun passes their values.
func builtinVars() []string {
	return []string{"now", "today", "year", "uuid", "process", "language"}
}

func isBuiltinVar(name string) bool {
	for _, b := range builtinVars() {
		if b == name {
			return true
		}
	}
	return false
}

func builtinVarList() string { return strings.Join(builtinVars(), ", ") }

// jqProgram is one compiled jq program of the configuration.
type jqProgram struct {
	path string // "birth.fields", "metaInfo"
	code *gojq.Code
}

// jqCompiler compiles the programs of one file with the same helpers and
// variables.
type jqCompiler struct {
	l        *loader
	c        *Config
	userDefs []*gojq.FuncDef
	helpers  []*gojq.FuncDef
	// cache holds shared programs (top-level metaInfo, ...) compiled once.
	cache map[string]*jqProgram
}

func (j *jqCompiler) parseDefs(path, src string) []*gojq.FuncDef {
	if j.helpers == nil {
		q, err := gojq.Parse(helpersJQ + "\n.")
		if err != nil {
			j.l.errs = append(j.l.errs, fmt.Errorf("country: built-in helpers.jq: %w", err))
			return nil
		}
		j.helpers = q.FuncDefs
	}
	if strings.TrimSpace(src) == "" {
		return nil
	}
	q, err := gojq.Parse(src + "\n.")
	if err != nil {
		j.parseError(path, src, err)
		return nil
	}
	return q.FuncDefs
}

// program compiles the jq program at path.
func (j *jqCompiler) program(path, src string) *jqProgram {
	q, err := gojq.Parse(src)
	if err != nil {
		j.parseError(path, src, err)
		return nil
	}
	defs := make([]*gojq.FuncDef, 0, len(j.helpers)+len(j.userDefs)+len(q.FuncDefs))
	defs = append(defs, j.helpers...)
	defs = append(defs, j.userDefs...)
	q.FuncDefs = append(defs, q.FuncDefs...)
	names := make([]string, 0, 6+len(j.c.varNames))
	for _, n := range builtinVars() {
		names = append(names, "$"+n)
	}
	for _, n := range j.c.varNames {
		names = append(names, "$"+n)
	}
	code, err := gojq.Compile(q, gojq.WithVariables(names),
		gojq.WithFunction("mosipDate", 0, 0, mosipDate),
		gojq.WithFunction("compactTime", 0, 0, compactTime),
		gojq.WithFunction("titleCase", 0, 0, titleCase),
		gojq.WithFunction("mosipText", 0, 0, mosipText(j.c.language)),
	)
	if err != nil {
		msg := err.Error()
		if strings.HasPrefix(msg, "variable not defined: ") {
			msg += " (set it under vars: or pass it from the deployment)"
		}
		j.l.errs = append(j.l.errs, &LoadError{File: j.l.name, Line: j.l.line(path), Path: path, Msg: msg})
		return nil
	}
	return &jqProgram{path: path, code: code}
}

// shared compiles an event's own program, else the top-level one.
func (j *jqCompiler) shared(event, key, own, top string) *jqProgram {
	if strings.TrimSpace(own) != "" {
		return j.program(event+"."+key, own)
	}
	if strings.TrimSpace(top) == "" {
		return nil
	}
	if p, ok := j.cache[key]; ok {
		return p
	}
	if j.cache == nil {
		j.cache = map[string]*jqProgram{}
	}
	p := j.program(key, top)
	j.cache[key] = p
	return p
}

func (j *jqCompiler) parseError(path, src string, err error) {
	le := &LoadError{File: j.l.name, Line: j.l.line(path), Path: path, Msg: "jq: " + err.Error()}
	var pe *gojq.ParseError
	if errors.As(err, &pe) {
		line := lineAt([]byte(src), pe.Offset)
		le.Line = j.l.sourceLine(path, line)
		le.Msg = fmt.Sprintf("jq: %v (program line %d)", err, line)
	}
	j.l.errs = append(j.l.errs, le)
}

// jqRun holds what every program of one record gets.
type jqRun struct {
	input any
	vars  []any
}

func (c *Config) newJQRun(rec *bridge.Record, process string, now time.Time) *jqRun {
	input := recordValue(rec)
	local := now.In(c.loc)
	vars := make([]any, 0, 6+len(c.varNames))
	vars = append(vars,
		now.UTC().Format("2006-01-02T15:04:05.000Z"), // MOSIP's time format
		local.Format(time.DateOnly),
		local.Format("2006"),
		recordUUID(rec.RecordID, now),
		process,
		c.language,
	)
	for _, n := range c.varNames {
		vars = append(vars, c.vars[n])
	}
	return &jqRun{input: input, vars: vars}
}

// jqTimeLimit bounds the mapping of one record: a program that loops on
// some record must not hold an intake worker forever.
const jqTimeLimit = 2 * time.Second

// object runs a program that must give one object.
func (p *jqProgram) object(ctx context.Context, run *jqRun) (map[string]any, error) {
	iter := p.code.RunWithContext(ctx, run.input, run.vars...)
	v, ok := iter.Next()
	if !ok {
		return nil, bridge.FieldErrorf(bridge.EInvalid, p.path, "the jq program gave no value, want an object")
	}
	if err, isErr := v.(error); isErr {
		return nil, p.failed(err)
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil, bridge.FieldErrorf(bridge.EInvalid, p.path, "the jq program gave %s, want an object", typeName(v))
	}
	if extra, more := iter.Next(); more {
		if err, isErr := extra.(error); isErr {
			return nil, p.failed(err)
		}
		return nil, bridge.FieldErrorf(bridge.EInvalid, p.path, "the jq program gave more than one value, want one object")
	}
	return obj, nil
}

// failed reports a jq runtime error. The cause is kept only as the cleaned
// message: gojq's own error quotes the record's values.
func (p *jqProgram) failed(err error) *bridge.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &bridge.Error{Code: bridge.EInvalid, Field: p.path, Message: "the jq program failed: " + errJQTimeout.Error(), Err: errJQTimeout}
	}
	msg := jqMessage(err)
	return &bridge.Error{Code: bridge.EInvalid, Field: p.path, Message: "the jq program failed: " + msg, Err: errors.New(msg)}
}

// errJQTimeout is a jq program running out of its time limit.
var errJQTimeout = errors.New("took too long (is there a loop?)")

// errLeaveOut tells rawFields to leave a field out of the packet.
var errLeaveOut = errors.New("leave the field out")

// rawFields encodes a program's object for the packet: null and "" values
// are dropped, strings stay strings, anything else is a JSON value.
func rawFields(path string, obj map[string]any, check func(string, any) error) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(obj))
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := obj[k]
		if v == nil || v == "" {
			continue
		}
		if check != nil {
			if err := check(k, v); errors.Is(err, errLeaveOut) {
				continue
			} else if err != nil {
				return nil, &bridge.Error{Code: bridge.EInvalid, Field: path + "." + k, Message: err.Error()}
			}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, &bridge.Error{Code: bridge.EInvalid, Field: path + "." + k, Message: "not encodable as JSON", Err: err}
		}
		out[k] = raw
	}
	return out, nil
}

// recordValue is the jq input: the record's JSON form (bridge.Record's
// tags, omitempty included), built directly because a JSON round trip per
// record costs more than every program together. A test keeps it equal to
// the round trip.
func recordValue(rec *bridge.Record) any {
	m := make(map[string]any, 16)
	m["event"] = string(rec.Event)
	m["recordId"] = rec.RecordID
	m["trackingId"] = rec.TrackingID
	putString(m, "registrationNumber", rec.RegistrationNumber)
	putString(m, "status", rec.Status)
	for _, p := range []struct {
		key string
		p   *bridge.Person
	}{{"child", rec.Child}, {"mother", rec.Mother}, {"father", rec.Father}, {"deceased", rec.Deceased}, {"spouse", rec.Spouse}} {
		if p.p != nil {
			m[p.key] = personValue(p.p, 12)
		}
	}
	if rec.Informant != nil {
		v := personValue(&rec.Informant.Person, 13)
		v["relationship"] = rec.Informant.Relationship
		m["informant"] = v
	}
	contact := make(map[string]any, 2)
	putString(contact, "email", rec.Contact.Email)
	putString(contact, "phone", rec.Contact.Phone)
	m["contact"] = contact
	if p := rec.PlaceOfEvent; p != nil {
		place := make(map[string]any, 3)
		putString(place, "id", p.ID)
		putString(place, "name", p.Name)
		putString(place, "type", p.Type)
		m["placeOfEvent"] = place
	}
	if len(rec.Answers) > 0 {
		answers := make(map[string]any, len(rec.Answers))
		for k, v := range rec.Answers {
			answers[k] = v
		}
		m["answers"] = answers
	}
	if rec.LastModified != nil {
		m["lastModified"] = rec.LastModified.Format(time.RFC3339Nano)
	}
	return m
}

func personValue(p *bridge.Person, size int) map[string]any {
	m := make(map[string]any, size)
	name := make(map[string]any, 3)
	if len(p.Name.Given) > 0 {
		name["given"] = stringsValue(p.Name.Given)
	}
	putString(name, "family", p.Name.Family)
	putString(name, "full", p.Name.Full)
	m["name"] = name
	putString(m, "birthDate", p.BirthDate)
	putString(m, "deathDate", p.DeathDate)
	putString(m, "gender", p.Gender)
	putString(m, "nationalId", p.NationalID)
	if len(p.Identifiers) > 0 {
		ids := make([]any, len(p.Identifiers))
		for i, id := range p.Identifiers {
			ids[i] = map[string]any{"type": id.Type, "value": id.Value}
		}
		m["identifiers"] = ids
	}
	if len(p.Addresses) > 0 {
		as := make([]any, len(p.Addresses))
		for i, a := range p.Addresses {
			v := make(map[string]any, 7)
			putString(v, "type", a.Type)
			if len(a.Lines) > 0 {
				v["lines"] = stringsValue(a.Lines)
			}
			putString(v, "city", a.City)
			putString(v, "district", a.District)
			putString(v, "state", a.State)
			putString(v, "postalCode", a.PostalCode)
			putString(v, "country", a.Country)
			as[i] = v
		}
		m["addresses"] = as
	}
	putString(m, "nationality", p.Nationality)
	putString(m, "verification", p.Verification)
	m["authenticated"] = p.Authenticated
	return m
}

func putString(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func stringsValue(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// recordUUID is a name-based (version 5 style) UUID of a record at a time:
// the same record mapped at the same instant gets the same id, so a
// repeated mapping is identical.
func recordUUID(recordID string, now time.Time) string {
	h := sha1.Sum([]byte(recordID + "\x00" + now.UTC().Format(time.RFC3339Nano)))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	var b [36]byte
	hex.Encode(b[0:8], h[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], h[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], h[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], h[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], h[10:16])
	return string(b[:])
}

// jq helpers written in Go: string work that runs on every record.

func mosipDate(v any, _ []any) any {
	s, ok, err := optionalString("mosipDate", v)
	if !ok {
		return err
	}
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	return strings.ReplaceAll(s, "-", "/")
}

func compactTime(v any, _ []any) any {
	s, ok, err := optionalString("compactTime", v)
	if !ok {
		return err
	}
	if len(s) > 19 {
		s = s[:19]
	}
	return strings.NewReplacer("-", "", "T", "", ":", "", " ", "").Replace(s)
}

func titleCase(v any, _ []any) any {
	s, ok, err := optionalString("titleCase", v)
	if !ok {
		return err
	}
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func mosipText(language string) func(any, []any) any {
	return func(v any, _ []any) any {
		s, ok, err := optionalString("mosipText", v)
		if !ok {
			return err
		}
		return []any{map[string]any{"language": language, "value": s}}
	}
}

// optionalString reads a helper's input: null and "" give null (ok false,
// result nil), other non-strings an error.
func optionalString(fn string, v any) (string, bool, any) {
	switch s := v.(type) {
	case nil:
		return "", false, nil
	case string:
		if s == "" {
			return "", false, nil
		}
		return s, true, nil
	}
	return "", false, fmt.Errorf("%s: want a string, got %s", fn, typeName(v))
}

// jqMessage is a jq error without the value previews gojq adds
// ("... got: string (\"Jane Doe\")"): values are personal data.
func jqMessage(err error) string {
	var ve gojq.ValueError
	if errors.As(err, &ve) {
		if s, ok := ve.Value().(string); ok {
			return s // the integrator's own error("...") message
		}
		return "error() with a value that is not text"
	}
	msg := err.Error()
	for _, t := range []string{"null", "boolean", "number", "string", "array", "object"} {
		i := strings.Index(msg, t+" (")
		if i < 0 {
			continue
		}
		if j := strings.LastIndexByte(msg, ')'); j > i {
			msg = msg[:i+len(t)] + msg[j+1:]
		}
	}
	return msg
}
