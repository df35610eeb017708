package httpapi

import (
	_ "embed"
	"net/http"
	"strings"
)

// openAPIDocument describes every route of routes.go (a test holds the two
// to each other, and the end-to-end answers to the schemas).
//
//go:embed openapi.yaml
var openAPIDocument []byte

// openAPI: GET /openapi.yaml.
func (h *handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDocument)
}

// apiDocs: GET /docs/, the document as an HTML page. It is rendered per
// request: it is small, rarely read, and this keeps no state. The route is
// the subtree so that the mux redirects /docs here; nothing is below it.
func (h *handler) apiDocs(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/docs/" {
		h.notFound(w, r)
		return
	}
	page, err := renderDocs(openAPIDocument)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
}

// openAPIPath turns a ServeMux pattern ("GET /admin/transactions/{id}",
// "/ui/", "GET /docs/{$}", "GET /files/{path...}") into its method ("" for
// any) and its OpenAPI path ("/admin/transactions/{id}", "/ui/", "/docs/",
// "/files/{path}"). A trailing slash stays: in the mux it stands for the
// subtree, in the document for its root.
func openAPIPath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(strings.TrimSpace(pattern), " ")
	if !ok {
		method, path = "", pattern
	}
	path = strings.TrimSpace(path)
	if i := strings.Index(path, "/"); i > 0 {
		path = path[i:] // a host before the path
	}
	path = strings.TrimSuffix(path, "{$}")
	path = strings.ReplaceAll(path, "...}", "}")
	return strings.ToUpper(method), path
}

// router is the mux New registers routes on: a ServeMux that also tells
// seen (when set) each pattern, so that a test can list every route.
type router struct {
	*http.ServeMux
	seen func(pattern string)
}

func newRouter(seen func(pattern string)) *router {
	return &router{ServeMux: http.NewServeMux(), seen: seen}
}

func (m *router) Handle(pattern string, h http.Handler) {
	if m.seen != nil {
		m.seen(pattern)
	}
	m.ServeMux.Handle(pattern, h)
}

func (m *router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}
