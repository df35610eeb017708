package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// mustModel builds the embedded document as libopenapi's OpenAPI 3 model.
func mustModel(t *testing.T) *v3.Document {
	t.Helper()
	doc, err := libopenapi.NewDocument(openAPIDocument)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi.yaml is OpenAPI %s, want 3.1", v)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.yaml does not build an OpenAPI 3 model: %v", err)
	}
	return &m.Model
}

// documentedRoutes lists "METHOD /path" for every operation of the document.
func documentedRoutes(t *testing.T, m *v3.Document) []string {
	t.Helper()
	var out []string
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().KeysFromOldest() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// registeredRoutes lists the patterns New registers.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var patterns []string
	New(Config{routeSeen: func(p string) { patterns = append(patterns, p) }})
	if len(patterns) == 0 {
		t.Fatal("New registered no route through its router")
	}
	return patterns
}

// The document names every route routes.go registers, and no other.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	documented := documentedRoutes(t, mustModel(t))
	byPath := map[string][]string{} // OpenAPI path -> methods documented
	for _, r := range documented {
		method, path, _ := strings.Cut(r, " ")
		byPath[path] = append(byPath[path], method)
	}
	served := map[string]bool{} // what the routes serve, as documented operations
	for _, pattern := range registeredRoutes(t) {
		method, path := openAPIPath(pattern)
		if path == "/" && method == "" {
			continue // the catch-all that answers 404 problem JSON
		}
		switch {
		case method == "" && len(byPath[path]) == 0:
			t.Errorf("route %q (any method) is not in openapi.yaml: document path %s", pattern, path)
		case method == "":
			for _, m := range byPath[path] {
				served[m+" "+path] = true
			}
		case !slices.Contains(byPath[path], method):
			t.Errorf("route %q is not in openapi.yaml: document %s %s", pattern, method, path)
		default:
			served[method+" "+path] = true
			if method == http.MethodGet {
				served["HEAD "+path] = true // the mux serves HEAD with GET
			}
		}
	}
	for _, r := range documented {
		if !served[r] {
			t.Errorf("openapi.yaml documents %s, which no route in routes.go serves", r)
		}
	}
}

func TestOpenAPIPath(t *testing.T) {
	tests := []struct{ pattern, method, path string }{
		{"GET /admin/transactions/{id}", "GET", "/admin/transactions/{id}"},
		{"POST /websub/callback/", "POST", "/websub/callback/"},
		{"/ui/", "", "/ui/"},
		{"GET /docs/{$}", "GET", "/docs/"},
		{"GET /files/{path...}", "GET", "/files/{path}"},
		{"GET example.org/x", "GET", "/x"},
		{"/", "", "/"},
	}
	for _, tt := range tests {
		method, path := openAPIPath(tt.pattern)
		if method != tt.method || path != tt.path {
			t.Errorf("openAPIPath(%q) = %q, %q; want %q, %q", tt.pattern, method, path, tt.method, tt.path)
		}
	}
}

// The document is valid OpenAPI 3.1: libopenapi builds its model, and it
// validates against the OpenAPI 3.1 schema. Every operation has a unique
// operationId and a declared tag, and every error answer of the API is
// problem JSON.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	m := mustModel(t)
	doc, err := libopenapi.NewDocument(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml: %s: %s (line %d)", e.Message, e.Reason, e.SpecLine)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s", f.Error())
			}
		}
	}

	tags := map[string]bool{}
	for _, tag := range m.Tags {
		tags[tag.Name] = true
	}
	ids := map[string]string{}
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			where := strings.ToUpper(method) + " " + path
			if op.OperationId == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationId]; dup {
				t.Errorf("%s and %s have the same operationId %s", where, other, op.OperationId)
			}
			ids[op.OperationId] = where
			if len(op.Tags) == 0 || !tags[op.Tags[0]] {
				t.Errorf("%s: tags %v, want one of the document's tags first", where, op.Tags)
			}
			if op.Summary == "" {
				t.Errorf("%s has no summary", where)
			}
			if op.Responses == nil || op.Responses.Codes == nil || op.Responses.Codes.Len() == 0 {
				t.Errorf("%s has no responses", where)
				continue
			}
			for code, resp := range op.Responses.Codes.FromOldest() {
				n, err := strconv.Atoi(code)
				if err != nil || n < 400 {
					continue
				}
				if _, html := resp.Content.Get("text/html"); html {
					continue // the dashboard's pages answer errors as pages
				}
				mt, ok := resp.Content.Get("application/problem+json")
				if !ok || resp.Content.Len() != 1 {
					t.Errorf("%s answers %s without application/problem+json (and only it)", where, code)
					continue
				}
				if mt.Schema == nil || !strings.HasSuffix(mt.Schema.GetReference(), "Problem") {
					t.Errorf("%s answers %s with a schema other than Problem", where, code)
				}
			}
		}
	}
}

// GET /openapi.yaml serves the document and GET /docs/ a page made from it
// that names every operation and schema, with no script and nothing from
// elsewhere.
func TestOpenAPIServedAndRendered(t *testing.T) {
	srv := httptest.NewServer(New(Config{}))
	t.Cleanup(srv.Close)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	resp, body := get("/openapi.yaml")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if diff := cmp.Diff(string(openAPIDocument), body); diff != "" {
		t.Errorf("GET /openapi.yaml is not the embedded document (-want +got):\n%s", diff)
	}

	resp, page := get("/docs/")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs/: %d %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	m := mustModel(t)
	for path, item := range m.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			for _, want := range []string{`id="op-` + anchor(op.OperationId) + `"`, `<span class="path">` + path + `</span>`} {
				if !strings.Contains(page, want) {
					t.Errorf("/docs/ lacks %s for %s %s", want, strings.ToUpper(method), path)
				}
			}
		}
	}
	for name := range m.Components.Schemas.KeysFromOldest() {
		if !strings.Contains(page, `id="schema-`+anchor(name)+`"`) {
			t.Errorf("/docs/ does not show schema %s", name)
		}
	}
	for _, want := range []string{
		"urn:opencrvs-mosip:problem:invalid", // the Problem schema's enum
		"&#34;transactions&#34;: [",          // an example, as JSON in document order
		`<a class="type" href="#schema-Transaction">Transaction</a>`,
		`<span class="req">required</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs/ lacks %s", want)
		}
	}
	for _, banned := range []string{"<script", " src=", `href="http`, "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("/docs/ contains %q: it must work without scripts or anything from elsewhere", banned)
		}
	}

	if resp, _ := get("/docs/elsewhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /docs/elsewhere: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get("/docs"); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/docs/" {
		t.Errorf("GET /docs: %d at %s, want the page at /docs/", resp.StatusCode, resp.Request.URL.Path)
	}
}

// Every description renders as escaped text.
func TestDocsProseEscapes(t *testing.T) {
	got := string(prose("a <b> & `c<d>`\n\nsecond\nline"))
	want := "<p>a &lt;b&gt; &amp; <code>c&lt;d&gt;</code></p><p>second line</p>"
	if got != want {
		t.Errorf("prose = %q, want %q", got, want)
	}
}
