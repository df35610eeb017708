// Package dashboard is the operators' web page at /ui/: the pipeline at a
// glance, the transactions with search and filters, and one transaction
// with its timeline, a retry button and a cancel form.
//
// Pages are rendered on the server with html/template; the stylesheet, a
// few lines of script and the icon are embedded, and the throughput chart
// is an SVG drawn on the server: nothing is loaded from elsewhere, and the
// Content-Security-Policy says so.
//
// Operators sign in with the admin token (ADMIN_TOKEN). The browser keeps
// only a signed, expiring session cookie (HttpOnly, SameSite=Strict, Secure
// over TLS) whose key is derived from the token: any replica accepts it and
// a new token signs everyone out. Every form carries the session's CSRF
// token, and cross-origin posts are refused before that. Without
// ADMIN_TOKEN the dashboard is off (403).
//
// Pages show what the admin API shows (pipeline.TransactionView): never an
// OpenCRVS token, a national ID or a person's data.
package dashboard

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/telemetry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CallStatser measures the outbound calls to a system ("mosip",
// "opencrvs") over the last window; telemetry.Metrics does.
type CallStatser interface {
	CallStats(system string, window time.Duration) telemetry.CallStats
}

// Config is what the dashboard needs.
type Config struct {
	// Admin answers every question about transactions (required when
	// AdminToken is set).
	Admin *admin.Service
	// Calls measures MOSIP and OpenCRVS calls (nil: the overview says
	// they are not measured).
	Calls CallStatser
	// AdminToken signs operators in ("": the dashboard is off).
	AdminToken string
	// SessionTTL is how long a sign-in lasts (default 8 hours).
	SessionTTL time.Duration
	// PageSize is how many transactions a list page shows (default 50).
	PageSize int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Handler serves the dashboard under /ui/.
type Handler struct {
	cfg      Config
	sessions *sessions
	pages    map[string]*template.Template
	// assets maps a static file's name to its URL, which carries a hash of
	// its content so that browsers may cache it for good.
	assets    map[string]string
	static    http.Handler
	crossSite *http.CrossOriginProtection
	mux       *http.ServeMux
}

// New returns the dashboard. It panics if the embedded templates do not
// parse (a bug the tests catch).
func New(cfg Config) *Handler {
	cfg.Logger = cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	h := &Handler{cfg: cfg, assets: map[string]string{}, crossSite: http.NewCrossOriginProtection()}
	h.sessions = newSessions(cfg.AdminToken, cfg.SessionTTL, cfg.Now)
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files, err := fs.ReadDir(static, ".")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		data, err := fs.ReadFile(static, f.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		h.assets[f.Name()] = "/ui/static/" + f.Name() + "?v=" + hex.EncodeToString(sum[:6])
	}
	h.static = http.StripPrefix("/ui/static/", http.FileServerFS(static))
	h.pages = map[string]*template.Template{}
	for _, page := range []string{"login", "off", "error", "overview", "list", "transaction"} {
		h.pages[page] = template.Must(template.New("").Funcs(h.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/static/{file}", h.serveStatic)
	mux.HandleFunc("GET /ui/login", h.loginPage)
	mux.HandleFunc("POST /ui/login", h.login)
	mux.HandleFunc("POST /ui/logout", h.post(h.logout))
	mux.HandleFunc("GET /ui/{$}", h.get(h.overview))
	mux.HandleFunc("GET /ui/transactions", h.get(h.list))
	mux.HandleFunc("GET /ui/transactions/{id}", h.get(h.transaction))
	mux.HandleFunc("POST /ui/transactions/{id}/retry", h.post(h.retry))
	mux.HandleFunc("POST /ui/transactions/{id}/cancel", h.post(h.cancel))
	mux.HandleFunc("/ui/", h.notFound)
	h.mux = mux
	return h
}

// ServeHTTP serves the dashboard's routes, all under /ui/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	if h.cfg.AdminToken == "" && !isStatic(r) {
		hdr.Set("Cache-Control", "no-store")
		h.render(w, r, http.StatusForbidden, "off", view{Title: "Dashboard off"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

func isStatic(r *http.Request) bool {
	return r.Method == http.MethodGet && len(r.URL.Path) > len("/ui/static/") && r.URL.Path[:len("/ui/static/")] == "/ui/static/"
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	h.static.ServeHTTP(w, r)
}

// view is what every page's template gets.
type view struct {
	Title    string
	Nav      string
	LoggedIn bool
	CSRF     string
	Flash    string
	Error    string
	// Refresh reloads the page every so many seconds (0: never).
	Refresh int
	Now     time.Time
	Data    any
}

// render executes page into a buffer first, so that a template error
// answers a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	v.Now = h.cfg.Now().UTC()
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.cfg.Logger.Error("dashboard page failed", "page", page, "err", err)
		http.Error(w, "the page could not be shown; operators can find why in the logs", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// get serves a page to a signed-in operator; anyone else goes to the
// sign-in page.
func (h *Handler) get(next func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se, ok := h.sessions.current(r)
		if !ok {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		next(w, r, se)
	}
}

// post guards a form: same-origin request (Sec-Fetch-Site, Origin), a
// signed-in operator, and the session's CSRF token, in that order.
func (h *Handler) post(next func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.crossSite.Check(r); err != nil {
			h.refuse(w, r, "a form of another site")
			return
		}
		se, ok := h.sessions.current(r)
		if !ok {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || !h.sessions.checkCSRF(se, r.PostForm.Get("csrf")) {
			h.refuse(w, r, "a form without this session's CSRF token")
			return
		}
		next(w, r, se)
	}
}

// refuse answers 403 to a form it will not act on.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, what string) {
	h.cfg.Logger.Warn("dashboard refused a form", "path", r.URL.Path, "why", what)
	h.render(w, r, http.StatusForbidden, "error", view{Title: "This form was refused: reload the page and try again"})
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.sessions.current(r); ok {
		http.Redirect(w, r, "/ui/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", view{Title: "Sign in"})
}

// login checks the admin token (hashes compared in constant time, so that
// neither the content nor the length leaks) and starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if err := h.crossSite.Check(r); err != nil {
		h.refuse(w, r, "a sign-in from another site")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.render(w, r, http.StatusBadRequest, "login", view{Title: "Sign in", Error: "The form could not be read."})
		return
	}
	got, want := sha256.Sum256([]byte(r.PostForm.Get("token"))), sha256.Sum256([]byte(h.cfg.AdminToken))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		h.cfg.Logger.Warn("dashboard sign-in refused: wrong admin token")
		h.render(w, r, http.StatusUnauthorized, "login", view{Title: "Sign in", Error: "That is not the admin token."})
		return
	}
	se, err := h.sessions.start()
	if err != nil {
		h.cfg.Logger.Error("dashboard sign-in failed", "err", err)
		h.render(w, r, http.StatusInternalServerError, "error", view{Title: "Sign-in failed"})
		return
	}
	http.SetCookie(w, h.sessions.cookie(r, se, false))
	h.cfg.Logger.Info("dashboard sign-in", "session", se.ID[:8])
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, se session) {
	h.sessions.revoke(se)
	http.SetCookie(w, h.sessions.cookie(r, se, true))
	h.cfg.Logger.Info("dashboard sign-out", "session", se.ID[:8])
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	_, ok := h.sessions.current(r)
	h.render(w, r, http.StatusNotFound, "error", view{Title: "No such page", LoggedIn: ok})
}

// signedIn is the view of a page for session se.
func (h *Handler) signedIn(se session, title, nav string) view {
	return view{Title: title, Nav: nav, LoggedIn: true, CSRF: h.sessions.csrf(se)}
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) string { return h.assets[name] },
		"add":   func(a, b float64) float64 { return a + b },
		"sub":   func(a, b float64) float64 { return a - b },
		"mid":   func(a, b float64) float64 { return (a + b) / 2 },
		// breakable lets a long state name wrap after its underscores.
		"breakable": func(s string) template.HTML {
			parts := strings.Split(s, "_")
			for i, p := range parts {
				parts[i] = template.HTMLEscapeString(p)
			}
			return template.HTML(strings.Join(parts, "_<wbr>"))
		},
	}
}
