package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The reference page at /docs/ is made here from openapi.yaml: the parts
// of OpenAPI 3.1 the document uses, read in document order, turned into
// plain HTML with inline CSS (no script, nothing fetched from elsewhere).

//go:embed docs.html
var docsTemplate string

// ordered is a YAML mapping read in document order.
type ordered[T any] []named[T]

type named[T any] struct {
	Name  string
	Value T
}

func (o *ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v T
		if err := n.Content[i+1].Decode(&v); err != nil {
			return err
		}
		*o = append(*o, named[T]{Name: n.Content[i].Value, Value: v})
	}
	return nil
}

func (o ordered[T]) get(name string) (T, bool) {
	for _, e := range o {
		if e.Name == name {
			return e.Value, true
		}
	}
	var zero T
	return zero, false
}

type apiDocument struct {
	OpenAPI string `yaml:"openapi"`
	Info    struct {
		Title       string `yaml:"title"`
		Version     string `yaml:"version"`
		Summary     string `yaml:"summary"`
		Description string `yaml:"description"`
	} `yaml:"info"`
	Tags []struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"tags"`
	Security   []map[string][]string `yaml:"security"`
	Paths      ordered[yaml.Node]    `yaml:"paths"`
	Components struct {
		Schemas         ordered[*apiSchema]         `yaml:"schemas"`
		Parameters      ordered[*apiParameter]      `yaml:"parameters"`
		Responses       ordered[*apiResponse]       `yaml:"responses"`
		RequestBodies   ordered[*apiRequestBody]    `yaml:"requestBodies"`
		Headers         ordered[*apiHeader]         `yaml:"headers"`
		SecuritySchemes ordered[*apiSecurityScheme] `yaml:"securitySchemes"`
	} `yaml:"components"`
}

type apiOperation struct {
	Tags        []string               `yaml:"tags"`
	OperationID string                 `yaml:"operationId"`
	Summary     string                 `yaml:"summary"`
	Description string                 `yaml:"description"`
	Security    *[]map[string][]string `yaml:"security"`
	Parameters  []*apiParameter        `yaml:"parameters"`
	RequestBody *apiRequestBody        `yaml:"requestBody"`
	Responses   ordered[*apiResponse]  `yaml:"responses"`
	Deprecated  bool                   `yaml:"deprecated"`
}

type apiParameter struct {
	Ref         string     `yaml:"$ref"`
	Name        string     `yaml:"name"`
	In          string     `yaml:"in"`
	Description string     `yaml:"description"`
	Required    bool       `yaml:"required"`
	Schema      *apiSchema `yaml:"schema"`
	Example     yaml.Node  `yaml:"example"`
}

type apiRequestBody struct {
	Ref         string                `yaml:"$ref"`
	Description string                `yaml:"description"`
	Required    bool                  `yaml:"required"`
	Content     ordered[apiMediaType] `yaml:"content"`
}

type apiResponse struct {
	Ref         string                `yaml:"$ref"`
	Description string                `yaml:"description"`
	Headers     ordered[*apiHeader]   `yaml:"headers"`
	Content     ordered[apiMediaType] `yaml:"content"`
}

type apiHeader struct {
	Ref         string     `yaml:"$ref"`
	Description string     `yaml:"description"`
	Required    bool       `yaml:"required"`
	Schema      *apiSchema `yaml:"schema"`
}

type apiMediaType struct {
	Schema   *apiSchema `yaml:"schema"`
	Example  yaml.Node  `yaml:"example"`
	Examples ordered[struct {
		Summary string    `yaml:"summary"`
		Value   yaml.Node `yaml:"value"`
	}] `yaml:"examples"`
}

type apiSecurityScheme struct {
	Type         string `yaml:"type"`
	Scheme       string `yaml:"scheme"`
	BearerFormat string `yaml:"bearerFormat"`
	In           string `yaml:"in"`
	Name         string `yaml:"name"`
	Description  string `yaml:"description"`
}

type apiSchema struct {
	Ref                  string              `yaml:"$ref"`
	Type                 yaml.Node           `yaml:"type"`
	Format               string              `yaml:"format"`
	Description          string              `yaml:"description"`
	Properties           ordered[*apiSchema] `yaml:"properties"`
	Required             []string            `yaml:"required"`
	Items                *apiSchema          `yaml:"items"`
	PropertyNames        *apiSchema          `yaml:"propertyNames"`
	AdditionalProperties yaml.Node           `yaml:"additionalProperties"`
	Enum                 []yaml.Node         `yaml:"enum"`
	Const                yaml.Node           `yaml:"const"`
	AllOf                []*apiSchema        `yaml:"allOf"`
	AnyOf                []*apiSchema        `yaml:"anyOf"`
	OneOf                []*apiSchema        `yaml:"oneOf"`
	Pattern              string              `yaml:"pattern"`
	Minimum              *float64            `yaml:"minimum"`
	Maximum              *float64            `yaml:"maximum"`
	MinLength            *int                `yaml:"minLength"`
	MaxLength            *int                `yaml:"maxLength"`
	Extra                map[string]any      `yaml:",inline"`
}

// Views: what the template shows.

type docsPage struct {
	Title, Version, Summary string
	Description             template.HTML
	Tags                    []tagView
	Security                []securityView
	Schemas                 []namedSchemaView
}

type tagView struct {
	Name, Anchor string
	Description  template.HTML
	Operations   []operationView
}

type operationView struct {
	Anchor, Method, Path, Summary string
	Description                   template.HTML
	Security                      []string
	Parameters                    []parameterView
	RequestBody                   *bodyView
	Responses                     []responseView
}

type parameterView struct {
	Name, In    string
	Required    bool
	Schema      *schemaView
	Description template.HTML
	Example     string
}

type bodyView struct {
	Required    bool
	Description template.HTML
	Content     []contentView
}

type contentView struct {
	MediaType string
	Schema    *schemaView
	// Expanded is the named schema Schema links to, shown in place (but
	// not Problem, which every error shares).
	Expanded *schemaView
	Examples []exampleView
}

type exampleView struct{ Summary, Text string }

type responseView struct {
	Status      string
	Class       string // ok, redirect, client, server
	Description template.HTML
	Headers     []parameterView
	Content     []contentView
}

type securityView struct {
	Name, Anchor, Kind string
	Description        template.HTML
}

type namedSchemaView struct {
	Name, Anchor string
	Schema       *schemaView
}

// schemaView is a schema as a line ("string, date-time", a link to a named
// schema) and, for objects and compositions, what it is made of.
type schemaView struct {
	RefName, RefAnchor string
	Type               string
	Description        template.HTML
	Enum               []string
	Notes              []string
	// Includes are the named schemas (allOf) whose properties this one
	// has too.
	Includes   []*schemaView
	Properties []propertyView
	Items      *schemaView
	Keys       *schemaView // propertyNames
	Values     *schemaView // additionalProperties
	Combinator string      // "one of", "any of", "all of"
	Variants   []*schemaView
}

type propertyView struct {
	Name     string
	Required bool
	Schema   *schemaView
}

// renderDocs makes the reference page from an OpenAPI document.
func renderDocs(spec []byte) ([]byte, error) {
	var doc apiDocument
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("docs: read the OpenAPI document: %w", err)
	}
	r := docsRenderer{doc: &doc}
	page, err := r.page()
	if err != nil {
		return nil, fmt.Errorf("docs: %w", err)
	}
	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("docs: template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("docs: render: %w", err)
	}
	return buf.Bytes(), nil
}

type docsRenderer struct{ doc *apiDocument }

var methodOrder = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (r docsRenderer) page() (*docsPage, error) {
	d := r.doc
	p := &docsPage{Title: d.Info.Title, Version: d.Info.Version, Summary: d.Info.Summary, Description: prose(d.Info.Description)}
	tags := map[string]int{}
	for _, t := range d.Tags {
		tags[t.Name] = len(p.Tags)
		p.Tags = append(p.Tags, tagView{Name: t.Name, Anchor: "tag-" + anchor(t.Name), Description: prose(t.Description)})
	}
	for _, pe := range d.Paths {
		var item ordered[yaml.Node]
		if err := pe.Value.Decode(&item); err != nil {
			return nil, fmt.Errorf("path %s: %w", pe.Name, err)
		}
		for _, m := range methodOrder {
			n, ok := item.get(m)
			if !ok {
				continue
			}
			var op apiOperation
			if err := n.Decode(&op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(m), pe.Name, err)
			}
			v, err := r.operation(m, pe.Name, &op)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(m), pe.Name, err)
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			i, ok := tags[tag]
			if !ok {
				i = len(p.Tags)
				tags[tag] = i
				p.Tags = append(p.Tags, tagView{Name: tag, Anchor: "tag-" + anchor(tag)})
			}
			p.Tags[i].Operations = append(p.Tags[i].Operations, v)
		}
	}
	for _, s := range d.Components.SecuritySchemes {
		kind := s.Value.Type
		switch {
		case s.Value.Type == "http":
			kind = "HTTP " + s.Value.Scheme
			if s.Value.BearerFormat != "" {
				kind += " (" + s.Value.BearerFormat + ")"
			}
		case s.Value.Type == "apiKey":
			kind = s.Value.In + " " + s.Value.Name
		}
		p.Security = append(p.Security, securityView{Name: s.Name, Anchor: "security-" + anchor(s.Name), Kind: kind, Description: prose(s.Value.Description)})
	}
	for _, s := range d.Components.Schemas {
		p.Schemas = append(p.Schemas, namedSchemaView{Name: s.Name, Anchor: "schema-" + anchor(s.Name), Schema: r.schema(s.Value, 0)})
	}
	return p, nil
}

func (r docsRenderer) operation(method, path string, op *apiOperation) (operationView, error) {
	id := op.OperationID
	if id == "" {
		id = method + path
	}
	v := operationView{Anchor: "op-" + anchor(id), Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: prose(op.Description)}
	security := r.doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	for _, req := range security {
		var names []string
		for name := range req {
			names = append(names, name)
		}
		if len(names) > 0 {
			v.Security = append(v.Security, strings.Join(names, " + "))
		}
	}
	for _, prm := range op.Parameters {
		pv, err := r.parameter(prm)
		if err != nil {
			return v, err
		}
		v.Parameters = append(v.Parameters, pv)
	}
	if op.RequestBody != nil {
		rb := op.RequestBody
		if rb.Ref != "" {
			var ok bool
			if rb, ok = r.doc.Components.RequestBodies.get(refName(rb.Ref)); !ok {
				return v, fmt.Errorf("no request body %s", op.RequestBody.Ref)
			}
		}
		v.RequestBody = &bodyView{Required: rb.Required, Description: prose(rb.Description), Content: r.content(rb.Content)}
	}
	for _, re := range op.Responses {
		resp := re.Value
		if resp.Ref != "" {
			var ok bool
			if resp, ok = r.doc.Components.Responses.get(refName(resp.Ref)); !ok {
				return v, fmt.Errorf("no response %s", re.Value.Ref)
			}
		}
		rv := responseView{Status: re.Name, Class: statusClass(re.Name), Description: prose(resp.Description), Content: r.content(resp.Content)}
		for _, h := range resp.Headers {
			hd := h.Value
			if hd.Ref != "" {
				var ok bool
				if hd, ok = r.doc.Components.Headers.get(refName(hd.Ref)); !ok {
					return v, fmt.Errorf("no header %s", h.Value.Ref)
				}
			}
			rv.Headers = append(rv.Headers, parameterView{Name: h.Name, In: "header", Required: hd.Required, Schema: r.schema(hd.Schema, 0), Description: prose(hd.Description)})
		}
		v.Responses = append(v.Responses, rv)
	}
	return v, nil
}

func (r docsRenderer) parameter(prm *apiParameter) (parameterView, error) {
	if prm.Ref != "" {
		found, ok := r.doc.Components.Parameters.get(refName(prm.Ref))
		if !ok {
			return parameterView{}, fmt.Errorf("no parameter %s", prm.Ref)
		}
		prm = found
	}
	return parameterView{Name: prm.Name, In: prm.In, Required: prm.Required || prm.In == "path",
		Schema: r.schema(prm.Schema, 0), Description: prose(prm.Description), Example: exampleText(&prm.Example)}, nil
}

func (r docsRenderer) content(c ordered[apiMediaType]) []contentView {
	var out []contentView
	for _, mt := range c {
		cv := contentView{MediaType: mt.Name, Schema: r.schema(mt.Value.Schema, 0)}
		if cv.Schema != nil && cv.Schema.RefName != "" && cv.Schema.RefName != "Problem" {
			if s, ok := r.doc.Components.Schemas.get(cv.Schema.RefName); ok {
				cv.Expanded = r.schema(s, 1)
				if cv.Expanded.Type == "object" {
					cv.Expanded.Type = "" // the link says it
				}
			}
		}
		if s := exampleText(&mt.Value.Example); s != "" {
			cv.Examples = append(cv.Examples, exampleView{Text: s})
		}
		for _, ex := range mt.Value.Examples {
			summary := ex.Value.Summary
			if summary == "" {
				summary = ex.Name
			}
			cv.Examples = append(cv.Examples, exampleView{Summary: summary, Text: exampleText(&ex.Value.Value)})
		}
		out = append(out, cv)
	}
	return out
}

// maxSchemaDepth bounds inline nesting; named schemas are links, so a
// recursive schema cannot loop.
const maxSchemaDepth = 8

func (r docsRenderer) schema(s *apiSchema, depth int) *schemaView {
	if s == nil || depth > maxSchemaDepth {
		return nil
	}
	v := &schemaView{Description: prose(s.Description)}
	if s.Ref != "" {
		v.RefName = refName(s.Ref)
		v.RefAnchor = "schema-" + anchor(v.RefName)
		return v
	}
	v.Type = schemaType(s)
	for _, e := range s.Enum {
		v.Enum = append(v.Enum, scalarText(&e))
	}
	if s.Const.Kind != 0 {
		v.Enum = append(v.Enum, scalarText(&s.Const))
	}
	if s.Pattern != "" {
		v.Notes = append(v.Notes, "pattern "+s.Pattern)
	}
	if s.Minimum != nil {
		v.Notes = append(v.Notes, "≥ "+strconv.FormatFloat(*s.Minimum, 'f', -1, 64))
	}
	if s.Maximum != nil {
		v.Notes = append(v.Notes, "≤ "+strconv.FormatFloat(*s.Maximum, 'f', -1, 64))
	}
	if s.MinLength != nil {
		v.Notes = append(v.Notes, fmt.Sprintf("at least %d characters", *s.MinLength))
	}
	if s.MaxLength != nil {
		v.Notes = append(v.Notes, fmt.Sprintf("at most %d characters", *s.MaxLength))
	}
	if u, ok := s.Extra["unevaluatedProperties"].(bool); ok && !u {
		v.Notes = append(v.Notes, "no other properties")
	}
	for _, sub := range s.AllOf {
		if sub.Ref != "" {
			v.Includes = append(v.Includes, r.schema(sub, depth+1))
		}
	}
	for _, p := range s.Properties {
		v.Properties = append(v.Properties, propertyView{Name: p.Name, Required: contains(s.Required, p.Name), Schema: r.schema(p.Value, depth+1)})
	}
	v.Items = r.schema(s.Items, depth+1)
	v.Keys = r.schema(s.PropertyNames, depth+1)
	if ap := &s.AdditionalProperties; ap.Kind != 0 {
		switch ap.Kind {
		case yaml.MappingNode:
			var sub apiSchema
			if err := ap.Decode(&sub); err == nil {
				v.Values = r.schema(&sub, depth+1)
			}
		case yaml.ScalarNode:
			if ap.Value == "false" {
				v.Notes = append(v.Notes, "no other properties")
			}
		}
	}
	for _, c := range []struct {
		name string
		list []*apiSchema
	}{{"one of", s.OneOf}, {"any of", s.AnyOf}, {"all of", inline(s.AllOf)}} {
		if len(c.list) == 0 {
			continue
		}
		v.Combinator = c.name
		for _, sub := range c.list {
			v.Variants = append(v.Variants, r.schema(sub, depth+1))
		}
	}
	return v
}

// inline is the schemas of list that are not references.
func inline(list []*apiSchema) []*apiSchema {
	var out []*apiSchema
	for _, s := range list {
		if s.Ref == "" {
			out = append(out, s)
		}
	}
	return out
}

func schemaType(s *apiSchema) string {
	var types []string
	switch s.Type.Kind {
	case yaml.ScalarNode:
		types = []string{s.Type.Value}
	case yaml.SequenceNode:
		for _, t := range s.Type.Content {
			types = append(types, t.Value)
		}
	}
	t := strings.Join(types, " or ")
	if s.Format != "" {
		t = strings.TrimSpace(t + " (" + s.Format + ")")
	}
	if t == "" && (len(s.Properties) > 0 || len(s.AllOf) > 0) {
		t = "object"
	}
	return t
}

func statusClass(code string) string {
	switch {
	case strings.HasPrefix(code, "2"):
		return "ok"
	case strings.HasPrefix(code, "3"):
		return "redirect"
	case strings.HasPrefix(code, "4"):
		return "client"
	case strings.HasPrefix(code, "5"):
		return "server"
	}
	return "other"
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

var nonAnchor = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

func anchor(s string) string { return strings.Trim(nonAnchor.ReplaceAllString(s, "-"), "-") }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

// prose turns a description (paragraphs separated by blank lines, `code`
// in backquotes) into HTML. The text is escaped first, so nothing in it is
// markup.
func prose(s string) template.HTML {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		para = strings.Join(strings.Fields(para), " ")
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(inlineCode.ReplaceAllString(template.HTMLEscapeString(para), "<code>$1</code>"))
		b.WriteString("</p>")
	}
	return template.HTML(b.String())
}

// scalarText is a scalar as the document wrote it ("" for null).
func scalarText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return "null"
	}
	if n.Kind == yaml.ScalarNode && n.Value == "" {
		return `""`
	}
	return n.Value
}

// exampleText shows an example: a string as it is, anything else as
// indented JSON in the document's key order.
func exampleText(n *yaml.Node) string {
	if n == nil || n.Kind == 0 {
		return ""
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return n.Value
	}
	var b bytes.Buffer
	if err := writeNodeJSON(&b, n, ""); err != nil {
		return ""
	}
	return b.String()
}

func writeNodeJSON(b *bytes.Buffer, n *yaml.Node, indent string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return writeNodeJSON(b, n.Content[0], indent)
	case yaml.AliasNode:
		return writeNodeJSON(b, n.Alias, indent)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(",")
			}
			key, _ := json.Marshal(n.Content[i].Value)
			b.WriteString("\n" + indent + "  ")
			b.Write(key)
			b.WriteString(": ")
			if err := writeNodeJSON(b, n.Content[i+1], indent+"  "); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + indent + "  ")
			if err := writeNodeJSON(b, c, indent+"  "); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "]")
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(data)
	}
	return nil
}
