package country

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
)

//go:embed idschema.json
var defaultIDSchema []byte

// idSchema is the MOSIP ID schema the packets are checked against and that
// is sent with every createPacket.
type idSchema struct {
	compact  string
	fields   map[string]*schemaField
	required []string
}

type schemaField struct {
	simple bool   // a [{language, value}] list (definitions/simpleType)
	typ    string // JSON schema "type" when not a reference
	rules  []validator
}

type validator struct {
	pattern string
	re      *regexp.Regexp
}

// lookaround explains the common reason a MOSIP validator does not compile
// in Go: Java supports lookaheads, RE2 does not.
const lookaround = "Go (RE2) has no lookaheads or lookbehinds; write the same rule without them, " +
	"e.g. ^.{3,50}$ instead of ^(?=.{3,50}$).*, which Java reads the same way"

// parseIDSchema reads a MOSIP ID schema (draft-07 JSON with
// properties.identity.properties). Problems are reported against file.
func parseIDSchema(data []byte, file string) (*idSchema, error) {
	var doc struct {
		Properties struct {
			Identity struct {
				Required   []string `json:"required"`
				Properties map[string]struct {
					Ref        string `json:"$ref"`
					Type       any    `json:"type"`
					Validators []struct {
						Type      string `json:"type"`
						Validator string `json:"validator"`
					} `json:"validators"`
				} `json:"properties"`
			} `json:"identity"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		le := &LoadError{File: file, Path: "ID schema", Msg: "not a valid JSON ID schema: " + err.Error()}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			le.Line = lineAt(data, int(syn.Offset))
		}
		return nil, le
	}
	props := doc.Properties.Identity.Properties
	if len(props) == 0 {
		return nil, &LoadError{File: file, Path: "ID schema", Msg: "no fields under properties.identity.properties"}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, &LoadError{File: file, Path: "ID schema", Msg: err.Error()}
	}
	s := &idSchema{compact: buf.String(), fields: make(map[string]*schemaField, len(props)), required: doc.Properties.Identity.Required}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		p := props[name]
		f := &schemaField{simple: strings.HasSuffix(p.Ref, "/simpleType")}
		if t, ok := p.Type.(string); ok {
			f.typ = t
		}
		for _, v := range p.Validators {
			if v.Type != "regex" || v.Validator == "" {
				continue
			}
			// MOSIP matches the whole value (Java's String.matches).
			re, err := regexp.Compile(`^(?:` + v.Validator + `)$`)
			if err != nil {
				errs = append(errs, &LoadError{File: file, Line: lineOfText(data, v.Validator),
					Path: "ID schema field " + name,
					Msg:  fmt.Sprintf("validator %s is not a regular expression Go can run (%v); %s", v.Validator, unwrapRegexp(err), lookaround)})
				continue
			}
			f.rules = append(f.rules, validator{pattern: v.Validator, re: re})
		}
		s.fields[name] = f
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func unwrapRegexp(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return string(re.Code) + " in " + re.Expr
	}
	return err.Error()
}

// check validates one mapped field value (a gojq value) against the schema.
// The returned message never contains the value: it may be personal data.
func (s *idSchema) check(name string, v any) error {
	f, ok := s.fields[name]
	if !ok {
		return fmt.Errorf("%q is not a field of the MOSIP ID schema", name)
	}
	switch {
	case f.simple:
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("field %s must be a non-empty [{language, value}] list (use mosipText), got %s", name, typeName(v))
		}
		for _, item := range list {
			obj, ok := item.(map[string]any)
			lang, okL := obj["language"].(string)
			val, okV := obj["value"].(string)
			if !ok || !okL || !okV || lang == "" {
				return fmt.Errorf("field %s must be a list of {language, value} strings (use mosipText)", name)
			}
			if err := f.match(name, val); err != nil {
				return err
			}
		}
	case f.typ == "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("field %s must be a string, got %s", name, typeName(v))
		}
		return f.match(name, str)
	}
	return nil
}

func (f *schemaField) match(name, value string) error {
	for _, r := range f.rules {
		if !r.re.MatchString(value) {
			return &patternError{field: name, pattern: r.pattern}
		}
	}
	return nil
}

// patternError is a value the ID schema's validator refuses (a problem of
// the record, not of the configuration).
type patternError struct{ field, pattern string }

func (e *patternError) Error() string {
	return fmt.Sprintf("field %s does not match the ID schema validator %s", e.field, e.pattern)
}

// lineAt returns the 1-based line of a byte offset.
func lineAt(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// lineOfText returns the line where s first appears as a JSON string, or 0.
func lineOfText(data []byte, s string) int {
	enc, err := json.Marshal(s)
	if err != nil {
		return 0
	}
	i := bytes.Index(data, enc)
	if i < 0 {
		return 0
	}
	return lineAt(data, i)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}
