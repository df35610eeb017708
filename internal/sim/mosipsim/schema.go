package mosipsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// idSchema is a parsed MOSIP ID schema (the createPacket schemaJson): what
// the packet validator checks and how the packet writer splits fields.
type idSchema struct {
	raw      string
	required []string
	closed   bool // identity.additionalProperties is false
	fields   map[string]*schemaField
}

type schemaField struct {
	kind       string // simpleType, documentType, biometricsType, or a JSON type
	category   string // fieldCategory: pvt, kyc, evidence, optional, none
	validators []*fieldValidator
}

type fieldValidator struct {
	pattern  string
	langCode string
	re       *javaRegex // nil when the pattern uses Java syntax RE2 lacks
}

// Kinds of schema fields.
const (
	kindSimple    = "simpleType"
	kindDocument  = "documentType"
	kindBiometric = "biometricsType"
)

const maxSchemaCache = 32

// schemaFor parses schemaJson, caching by its text: every packet of a
// deployment carries the same schema.
func (s *Sim) schemaFor(text string) (*idSchema, error) {
	s.mu.Lock()
	sc := s.schemas[text]
	s.mu.Unlock()
	if sc != nil {
		return sc, nil
	}
	sc, err := parseIDSchema(text)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.schemas) >= maxSchemaCache {
		clear(s.schemas)
	}
	s.schemas[text] = sc
	s.mu.Unlock()
	return sc, nil
}

// parseIDSchema reads a MOSIP ID schema: a JSON schema whose
// properties.identity.properties describe the identity fields, each with an
// optional $ref to simpleType/documentType/biometricsType, a fieldCategory
// and regex validators.
func parseIDSchema(text string) (*idSchema, error) {
	var raw struct {
		Properties struct {
			Identity *struct {
				Required             []string `json:"required"`
				AdditionalProperties *bool    `json:"additionalProperties"`
				Properties           map[string]struct {
					Ref           string          `json:"$ref"`
					Type          json.RawMessage `json:"type"`
					FieldCategory string          `json:"fieldCategory"`
					Validators    []struct {
						Type      string  `json:"type"`
						Validator string  `json:"validator"`
						LangCode  *string `json:"langCode"`
					} `json:"validators"`
				} `json:"properties"`
			} `json:"identity"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("schemaJson is not a MOSIP ID schema: %s", jsonProblem(err))
	}
	id := raw.Properties.Identity
	if id == nil || id.Properties == nil {
		return nil, errors.New("schemaJson is not a MOSIP ID schema: it has no properties.identity.properties")
	}
	sc := &idSchema{
		raw:      text,
		required: id.Required,
		closed:   id.AdditionalProperties != nil && !*id.AdditionalProperties,
		fields:   make(map[string]*schemaField, len(id.Properties)),
	}
	for name, p := range id.Properties {
		f := &schemaField{category: strings.ToLower(p.FieldCategory), kind: jsonType(p.Type)}
		if p.Ref != "" {
			f.kind = p.Ref[strings.LastIndexByte(p.Ref, '/')+1:]
		}
		for _, v := range p.Validators {
			if !strings.EqualFold(v.Type, "regex") || v.Validator == "" {
				continue
			}
			fv := &fieldValidator{pattern: v.Validator}
			if v.LangCode != nil {
				fv.langCode = *v.LangCode
			}
			fv.re, _ = compileJavaRegex(v.Validator)
			f.validators = append(f.validators, fv)
		}
		sc.fields[name] = f
	}
	return sc, nil
}

// jsonType is the first non-null type of a JSON schema "type".
func jsonType(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	return ""
}

// subPacket names the sub-packet a field is written to.
func (sc *idSchema) subPacket(field string) string {
	if f := sc.fields[field]; f != nil {
		switch f.category {
		case "evidence":
			return "evidence"
		case "optional":
			return "optional"
		}
	}
	return "id"
}

// Packet validator codes (MOSIP's PlatformErrorMessages).
const (
	CodeMandatoryMissing = "RPR-PVM-010"
	CodeSchemaInvalid    = "RPR-PVM-013"
)

// problem is one failed check of the packet validator.
type schemaProblem struct {
	missing bool
	text    string
}

// validate checks a packet against its schema. For new identities every
// required field must be present; updates (death, correction) only carry
// what changes, so for them only present fields are checked. Notes list
// validators that could not be applied.
func (sc *idSchema) validate(p *packet, requireAll bool, now time.Time) (problems []schemaProblem, notes []string) {
	names := make([]string, 0, len(p.dto.Fields))
	for name := range p.dto.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		value := p.dto.Fields[name]
		f := sc.fields[name]
		if f == nil {
			if sc.closed {
				problems = append(problems, schemaProblem{text: name + ": not a field of the ID schema"})
			}
			continue
		}
		if msg := f.check(value); msg != "" {
			problems = append(problems, schemaProblem{text: name + ": " + msg})
			continue
		}
		for _, v := range f.validators {
			if v.re == nil {
				notes = append(notes, fmt.Sprintf("%s: validator %q uses regex syntax the simulator cannot run; not applied", name, v.pattern))
				continue
			}
			if bad := v.apply(f.kind, value); bad {
				problems = append(problems, schemaProblem{text: fmt.Sprintf("%s: value does not match validator %s", name, v.pattern)})
				break
			}
		}
	}
	if dob, ok := p.dto.Fields["dateOfBirth"]; ok {
		if msg := checkDate(dob, now); msg != "" {
			problems = append(problems, schemaProblem{text: "dateOfBirth: " + msg})
		}
	}
	if requireAll {
		for _, name := range sc.required {
			if !p.has(name, sc.fields[name]) {
				problems = append(problems, schemaProblem{missing: true, text: name + ": mandatory field missing"})
			}
		}
	}
	return problems, notes
}

// has reports whether the packet carries a value for a required field.
func (p *packet) has(name string, f *schemaField) bool {
	if name == "IDSchemaVersion" && p.dto.SchemaVersion != "" {
		return true // the packet writer fills it from schemaVersion
	}
	if v, ok := p.dto.Fields[name]; ok && strings.TrimSpace(v) != "" {
		return true
	}
	if f != nil && f.kind == kindDocument {
		_, ok := p.dto.Documents[name]
		return ok
	}
	if f != nil && f.kind == kindBiometric {
		for _, b := range p.biometrics {
			if b == name {
				return true
			}
		}
	}
	return false
}

// langValue is one entry of a simpleType value.
type langValue struct {
	Language *string `json:"language"`
	Value    *string `json:"value"`
}

func parseSimple(value string) ([]langValue, bool) {
	var list []langValue
	if err := json.Unmarshal([]byte(value), &list); err != nil {
		return nil, false
	}
	for _, e := range list {
		if e.Language == nil || e.Value == nil {
			return nil, false
		}
	}
	return list, true
}

// check tests a value against the field's type; "" when it fits.
func (f *schemaField) check(value string) string {
	switch f.kind {
	case kindSimple:
		if _, ok := parseSimple(value); !ok {
			return `must be a JSON list of {"language","value"} objects (MOSIP simpleType) sent as a string`
		}
	case "number":
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return "must be a number"
		}
	case "integer":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return "must be an integer"
		}
	case "boolean":
		if value != "true" && value != "false" {
			return "must be true or false"
		}
	case "array":
		var list []json.RawMessage
		if json.Unmarshal([]byte(value), &list) != nil {
			return "must be a JSON list sent as a string"
		}
	case kindDocument, kindBiometric, "object":
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(value), &obj) != nil {
			return "must be a JSON object sent as a string"
		}
	}
	return ""
}

// apply reports whether value fails the validator. A simpleType value is
// checked entry by entry (only the validator's language, if it names one).
func (v *fieldValidator) apply(kind, value string) (bad bool) {
	if kind != kindSimple {
		return !v.re.match(value)
	}
	list, _ := parseSimple(value)
	for _, e := range list {
		if v.langCode != "" && !strings.EqualFold(v.langCode, *e.Language) {
			continue
		}
		if !v.re.match(*e.Value) {
			return true
		}
	}
	return false
}

// mosipDate is the date format of MOSIP ID fields.
const mosipDate = "2006/01/02"

func checkDate(value string, now time.Time) string {
	d, err := time.Parse(mosipDate, value)
	if err != nil {
		return "must be a date written YYYY/MM/DD"
	}
	if d.After(now) {
		return "is in the future"
	}
	return ""
}

// javaRegex runs a MOSIP (Java) validator with Go's RE2 engine. Java's
// matches() must match the whole value; the length checks MOSIP writes as
// a leading lookahead, ^(?=.{3,50}$).*, which RE2 lacks, are run as
// separate anchored prefixes.
type javaRegex struct {
	lookaheads []*regexp.Regexp
	full       *regexp.Regexp
}

func (j *javaRegex) match(s string) bool {
	for _, la := range j.lookaheads {
		if !la.MatchString(s) {
			return false
		}
	}
	return j.full.MatchString(s)
}

// compileJavaRegex translates the Java patterns MOSIP schemas use. It
// fails on Java syntax RE2 cannot express (lookbehind, backreferences,
// possessive quantifiers, lookaheads not at the start).
func compileJavaRegex(pattern string) (*javaRegex, error) {
	rest := pattern
	anchored := strings.HasPrefix(rest, "^")
	j := &javaRegex{}
	if anchored {
		rest = rest[1:]
		for strings.HasPrefix(rest, "(?=") {
			end := closingParen(rest)
			if end < 0 {
				return nil, fmt.Errorf("unbalanced lookahead in %q", pattern)
			}
			la, err := regexp.Compile(`^(?:` + rest[3:end] + `)`)
			if err != nil {
				return nil, err
			}
			j.lookaheads = append(j.lookaheads, la)
			rest = rest[end+1:]
		}
	}
	full, err := regexp.Compile(`^(?:` + rest + `)$`)
	if err != nil {
		return nil, err
	}
	j.full = full
	return j, nil
}

// closingParen is the index of the parenthesis closing the group that
// opens at s[0], skipping escapes and character classes; -1 if none.
func closingParen(s string) int {
	depth := 0
	inClass := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
