package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/websub"
)

// Readiness configures /readyz beyond what the handler already has (the
// store, the WebSub subscribers, Stopping).
type Readiness struct {
	// MOSIPAuth asks MOSIP's auth manager for a token now (not from a
	// cache): MOSIP is reachable when it succeeds (nil: not checked).
	MOSIPAuth func(context.Context) error
	// Timeout bounds each check (default 2s).
	Timeout time.Duration
	// MOSIPAuthCache is how long a MOSIP auth result is reused (default
	// 30s): a probe every few seconds does not ask MOSIP for a token each
	// time.
	MOSIPAuthCache time.Duration
	// SubscriptionGrace is how long a WebSub subscription may be missing
	// before readiness fails: after start, and after the mediator suspects
	// the hub forgot it (default 2m). See websub.Subscriber.Readiness.
	SubscriptionGrace time.Duration
	// RequireDependencies makes a failing dependency check (the WebSub
	// subscriptions, MOSIP's auth manager) fail readiness. By default they
	// are reported ("status": "degraded") but the mediator stays ready:
	// it queues records durably while MOSIP is away, and a load balancer
	// that stopped sending would turn a MOSIP outage into records that
	// OpenCRVS 1.8 rejects (any non-2xx from the country configuration
	// rejects the record).
	RequireDependencies bool
}

// Names of the readiness checks, as /readyz answers them.
const (
	CheckDatabase       = "database"        // a write commits
	CheckMigrations     = "migrations"      // the schema is the one this program needs
	CheckWebSub         = "websub"          // the credential subscription
	CheckWebSubIdentity = "websub_identity" // the identity update subscription, when configured
	CheckMOSIPAuth      = "mosip_auth"      // MOSIP's auth manager gives a token
	CheckShutdown       = "shutdown"        // the mediator is not stopping
)

// Check outcomes.
const (
	checkPass    = "pass"
	checkFail    = "fail"
	checkSkipped = "skipped" // not run: the mediator is shutting down
)

// checkResult is one check in the /readyz answer. Detail never holds a
// secret or an internal error (those are logged).
type checkResult struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// readinessProblem is the 503 answer: problem JSON with the checks.
type readinessProblem struct {
	problem
	Failed []string               `json:"failed"`
	Checks map[string]checkResult `json:"checks"`
}

// readiness is /readyz's state: the last MOSIP auth result and which
// checks failed at the last probe (a change is logged, not every probe).
type readiness struct {
	cfg Readiness

	authMu  sync.Mutex
	authAt  time.Time
	authErr error

	mu      sync.Mutex
	failing map[string]bool
}

func newReadiness(cfg Readiness) *readiness {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MOSIPAuthCache <= 0 {
		cfg.MOSIPAuthCache = 30 * time.Second
	}
	if cfg.SubscriptionGrace <= 0 {
		cfg.SubscriptionGrace = 2 * time.Minute
	}
	return &readiness{cfg: cfg, failing: map[string]bool{}}
}

// healthz answers while the process serves requests.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// check is one readiness check: a detail to show and, when it fails, the
// cause to log. A dependency check fails readiness only when
// Readiness.RequireDependencies is set.
type check struct {
	name       string
	run        func(ctx context.Context) (detail string, err error)
	dependency bool
}

// readyz answers 200 when the mediator can take records: its database
// takes writes and has the schema this program needs, and it is not
// shutting down. Otherwise 503, problem JSON naming the failed checks.
// Its dependencies are checked too (the WebSub subscriptions are in place
// or being made, MOSIP's auth manager answers): when one fails the answer
// is 200 "degraded" naming it, or 503 with RequireDependencies. Every check
// is named in the answer with its result.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	checks := h.readinessChecks()
	results := make(map[string]checkResult, len(checks)+1)
	if h.Stopping != nil && h.Stopping() {
		// Load balancers must stop sending at once: nothing else matters,
		// and MOSIP is not asked for anything.
		results[CheckShutdown] = checkResult{Status: checkFail, Detail: "the mediator is shutting down"}
		for _, c := range checks {
			results[c.name] = checkResult{Status: checkSkipped}
		}
		h.notReady(w, r, results, bridge.Errorf(bridge.EBusy, "the mediator is shutting down"))
		return
	}
	results[CheckShutdown] = checkResult{Status: checkPass, Detail: "running"}
	causes := make([]error, len(checks))
	details := make([]string, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), h.ready.cfg.Timeout)
			defer cancel()
			details[i], causes[i] = c.run(ctx)
		})
	}
	wg.Wait()
	var failed, degraded []string
	for i, c := range checks {
		st := checkPass
		switch {
		case causes[i] == nil:
		case c.dependency && !h.ready.cfg.RequireDependencies:
			st = checkFail
			degraded = append(degraded, c.name)
		default:
			st = checkFail
			failed = append(failed, c.name)
		}
		results[c.name] = checkResult{Status: st, Detail: details[i]}
		h.ready.note(r.Context(), h.Logger, c.name, details[i], causes[i])
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		h.notReady(w, r, results, bridge.Errorf(bridge.EUnavailable, "not ready: %s", strings.Join(failed, ", ")))
		return
	}
	if len(degraded) > 0 {
		slices.Sort(degraded)
		writeJSON(w, http.StatusOK, map[string]any{"status": "degraded", "degraded": degraded, "checks": results})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": results})
}

// readinessChecks are the checks this mediator's configuration calls for.
func (h *handler) readinessChecks() []check {
	var checks []check
	if h.Store != nil {
		checks = append(checks, check{name: CheckDatabase, run: h.checkDatabase}, check{name: CheckMigrations, run: h.checkMigrations})
	}
	if h.Subscriber != nil {
		checks = append(checks, check{name: CheckWebSub, run: h.checkSubscription(h.Subscriber), dependency: true})
	}
	if h.IdentitySubscriber != nil {
		checks = append(checks, check{name: CheckWebSubIdentity, run: h.checkSubscription(h.IdentitySubscriber), dependency: true})
	}
	if h.ready.cfg.MOSIPAuth != nil {
		checks = append(checks, check{name: CheckMOSIPAuth, run: h.checkMOSIPAuth, dependency: true})
	}
	return checks
}

func (h *handler) checkDatabase(ctx context.Context) (string, error) {
	if err := h.Store.CheckWritable(ctx); err != nil {
		return h.ready.describe(err, "the database did not take a write"), err
	}
	return "a write committed", nil
}

func (h *handler) checkMigrations(ctx context.Context) (string, error) {
	err := h.Store.CheckSchema(ctx)
	switch {
	case err == nil:
		return "the schema is current", nil
	case bridge.ErrorCodeOf(err) == bridge.EUnavailable || errors.Is(err, context.DeadlineExceeded):
		return h.ready.describe(err, "the schema version could not be read"), err
	}
	return "the database schema is not the one this program needs: run `opencrvs-mosip migrate`", err
}

func (h *handler) checkSubscription(sub *websub.Subscriber) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		// Another mediator on the database may have subscribed or
		// received the hub's verification. If the database does not
		// answer, this mediator's copy is reported (and the database
		// check says why).
		_ = sub.Refresh(ctx)
		detail, err := sub.Readiness(h.ready.cfg.SubscriptionGrace)
		if err != nil {
			return detail + ": " + err.Error(), err
		}
		return detail, nil
	}
}

// checkMOSIPAuth asks MOSIP's auth manager for a token, at most once per
// MOSIPAuthCache: probes in between get the last result. The call outlives
// a prober that hangs up, so that its result is kept.
func (h *handler) checkMOSIPAuth(ctx context.Context) (string, error) {
	rd := h.ready
	rd.authMu.Lock()
	defer rd.authMu.Unlock()
	if rd.authAt.IsZero() || h.Now().Sub(rd.authAt) >= rd.cfg.MOSIPAuthCache {
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rd.cfg.Timeout)
		rd.authErr = rd.cfg.MOSIPAuth(callCtx)
		cancel()
		rd.authAt = h.Now()
	}
	if err := rd.authErr; err != nil {
		return authFailure(err, rd.cfg.Timeout), err
	}
	return "a token was issued at " + rd.authAt.UTC().Format(time.RFC3339), nil
}

// authFailure says why MOSIP's auth manager failed, without its answer's
// text.
func authFailure(err error, timeout time.Duration) string {
	var ae *mosip.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("MOSIP's auth manager did not answer within %s", timeout)
	case errors.As(err, &ae) && ae.StatusCode == 0:
		return "MOSIP's auth manager could not be reached"
	case errors.As(err, &ae) && len(ae.Errors) > 0:
		codes := make([]string, len(ae.Errors))
		for i, e := range ae.Errors {
			codes[i] = e.ErrorCode
		}
		return fmt.Sprintf("MOSIP's auth manager refused to issue a token (HTTP %d, %s)", ae.StatusCode, strings.Join(codes, ", "))
	case errors.As(err, &ae):
		return fmt.Sprintf("MOSIP's auth manager refused to issue a token (HTTP %d)", ae.StatusCode)
	}
	return "MOSIP's auth manager did not issue a token"
}

// describe is what a failed database check shows.
func (rd *readiness) describe(err error, what string) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s within %s", what, rd.cfg.Timeout)
	}
	return what
}

// note logs a check that starts or stops failing, with its cause.
func (rd *readiness) note(ctx context.Context, log *slog.Logger, name, detail string, cause error) {
	rd.mu.Lock()
	was := rd.failing[name]
	rd.failing[name] = cause != nil
	rd.mu.Unlock()
	switch {
	case cause != nil && !was:
		log.WarnContext(ctx, "readiness check failing", "check", name, "detail", detail, "err", cause)
	case cause == nil && was:
		log.InfoContext(ctx, "readiness check passing again", "check", name)
	}
}

// notReady answers 503 with problem JSON (type busy while shutting down,
// unavailable otherwise) that names the failed checks and lists them all.
func (h *handler) notReady(w http.ResponseWriter, r *http.Request, results map[string]checkResult, err *bridge.Error) {
	st, title := status(err.Code)
	var failed []string
	for name, c := range results {
		if c.Status == checkFail {
			failed = append(failed, name)
		}
	}
	slices.Sort(failed)
	retry := "5"
	if err.Code == bridge.EBusy {
		retry = busyRetryAfter
	}
	w.Header().Set("Retry-After", retry)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(readinessProblem{
		problem: problem{
			Type: problemTypePrefix + string(err.Code), Title: title, Status: st, Detail: err.Message,
			Instance: r.URL.Path, RequestID: requestID(r.Context()),
		},
		Failed: failed,
		Checks: results,
	})
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "no route %s %s", r.Method, r.URL.Path))
}
