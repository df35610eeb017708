package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
)

// Windows of the overview.
const (
	throughputWindow = time.Hour
	throughputStep   = time.Minute
	callsWindow      = 15 * time.Minute
)

// stateClass groups states by what they ask of an operator: ok (done),
// wait (in progress), warn (refused by MOSIP), bad (needs an operator).
func stateClass(s bridge.State) string {
	switch s {
	case bridge.StateConfirmed:
		return "ok"
	case bridge.StateReceived, bridge.StateSkipped, bridge.StateQueued, bridge.StateSubmitted, bridge.StateIssued:
		return "wait"
	case bridge.StateRejectedByMOSIP, bridge.StateReported:
		return "warn"
	case bridge.StateDead:
		return "bad"
	}
	return "other"
}

// stateHelp says what a state means, in the operator's words.
var stateHelp = map[bridge.State]string{
	bridge.StateReceived:        "Stored; the mediator has not yet decided what to do with it.",
	bridge.StateSkipped:         "The country rules said not to send it to MOSIP; OpenCRVS is being told to register it without a national ID.",
	bridge.StateQueued:          "Accepted; waiting to be sent to MOSIP.",
	bridge.StateSubmitted:       "MOSIP accepted the packet and is processing it.",
	bridge.StateIssued:          "MOSIP finished; OpenCRVS is being told.",
	bridge.StateConfirmed:       "Done: OpenCRVS registered the record.",
	bridge.StateRejectedByMOSIP: "MOSIP refused the record; OpenCRVS is being told why.",
	bridge.StateReported:        "Done: the registrar was told why MOSIP refused the record.",
	bridge.StateDead:            "Out of retries: waits for an operator to retry or cancel it.",
	bridge.StateCancelled:       "Stopped by an operator; the reason is in the timeline.",
}

// --- Overview ---------------------------------------------------------------

type stateCount struct {
	State bridge.State
	Count int
	Class string
	Href  string
	Help  string
}

type oldest struct {
	ID, Age, Href string
}

type callRow struct {
	System              string
	Measured, Alert     bool
	Calls, Errors       int
	ErrorRate, P50, P95 string
}

type overviewData struct {
	States       []stateCount
	Total        int
	Waiting      int
	Oldest       *oldest
	Wide, Narrow chart
	Calls        []callRow
	CallsWindow  string
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, se session) {
	ctx := r.Context()
	counts, err := h.cfg.Admin.Counts(ctx)
	if err != nil {
		h.fail(w, r, se, err)
		return
	}
	points, err := h.cfg.Admin.Throughput(ctx, throughputWindow, throughputStep)
	if err != nil {
		h.fail(w, r, se, err)
		return
	}
	d := overviewData{
		Wide:        throughputChart(points, throughputWindow, wideW, wideH),
		Narrow:      throughputChart(points, throughputWindow, narrowW, narrowH),
		CallsWindow: "15 minutes", Waiting: counts.Waiting,
	}
	var extra []bridge.State // states this build does not list (a newer schema)
	for s := range counts.ByState {
		if !slices.Contains(bridge.States, s) {
			extra = append(extra, s)
		}
	}
	slices.Sort(extra)
	states := append(slices.Clone(bridge.States), extra...)
	for _, s := range states {
		n := counts.ByState[s]
		d.Total += n
		d.States = append(d.States, stateCount{State: s, Count: n, Class: stateClass(s), Help: stateHelp[s],
			Href: "/ui/transactions?" + url.Values{"state": {string(s)}}.Encode()})
	}
	if counts.OldestWaitingID != "" {
		d.Oldest = &oldest{ID: counts.OldestWaitingID, Age: ago(counts.OldestWaiting), Href: txHref(counts.OldestWaitingID)}
	}
	for _, sys := range []struct{ key, name string }{{"mosip", "MOSIP"}, {"opencrvs", "OpenCRVS"}} {
		row := callRow{System: sys.name}
		if h.cfg.Calls != nil {
			st := h.cfg.Calls.CallStats(sys.key, callsWindow)
			row.Measured, row.Calls, row.Errors = st.Calls > 0, st.Calls, st.Errors
			if st.Calls > 0 {
				rate := float64(st.Errors) / float64(st.Calls)
				row.ErrorRate, row.Alert = fmt.Sprintf("%.1f%%", 100*rate), rate >= 0.05
				row.P50, row.P95 = latency(st.P50), latency(st.P95)
			}
		}
		d.Calls = append(d.Calls, row)
	}
	v := h.signedIn(se, "Overview", "overview")
	v.Data, v.Refresh = d, 30
	h.render(w, r, http.StatusOK, "overview", v)
}

// --- Transaction list ---------------------------------------------------------

// ages are the choices of the "older than" filter.
type ageChoice struct {
	Value, Label string
	D            time.Duration
}

var ages = []ageChoice{
	{"5m", "5 minutes", 5 * time.Minute},
	{"1h", "1 hour", time.Hour},
	{"24h", "1 day", 24 * time.Hour},
	{"168h", "1 week", 7 * 24 * time.Hour},
}

// listQuery is the list page's form, as submitted.
type listQuery struct {
	Search, State, Kind, Version, Age, Cursor string
}

func (q listQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": q.Search, "state": q.State, "kind": q.Kind, "version": q.Version, "age": q.Age, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

type listRow struct {
	ID, Href, State, StateClass, Kind, Version, TrackingID string
	Attempts                                               int
	UpdatedISO, UpdatedAgo, LastError                      string
}

type listData struct {
	Query    listQuery
	States   []bridge.State
	Kinds    []bridge.EventKind
	Versions []bridge.OpenCRVSVersion
	Ages     []ageChoice
	Rows     []listRow
	// First and Next link to the first and the next page ("": none).
	First, Next string
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, se session) {
	form := r.URL.Query()
	lq := listQuery{
		Search: strings.TrimSpace(form.Get("q")), State: strings.ToUpper(form.Get("state")), Kind: form.Get("kind"),
		Version: form.Get("version"), Age: form.Get("age"), Cursor: form.Get("cursor"),
	}
	d := listData{Query: lq, States: bridge.States, Kinds: []bridge.EventKind{bridge.EventBirth, bridge.EventDeath, bridge.EventDeathReversal},
		Versions: []bridge.OpenCRVSVersion{bridge.OpenCRVS18, bridge.OpenCRVS19}, Ages: ages}
	v := h.signedIn(se, "Transactions", "transactions")
	q := admin.Query{State: bridge.State(lq.State), Kind: bridge.EventKind(lq.Kind), Version: lq.Version, Search: lq.Search, Cursor: lq.Cursor, Limit: h.cfg.PageSize}
	if lq.Age != "" {
		i := slices.IndexFunc(ages, func(a ageChoice) bool { return a.Value == lq.Age })
		if i < 0 {
			v.Data, v.Error = d, "Unknown age filter."
			h.render(w, r, http.StatusBadRequest, "list", v)
			return
		}
		q.OlderThan = ages[i].D
	}
	page, err := h.cfg.Admin.List(r.Context(), q)
	if err != nil {
		if msg, ok := userError(err); ok && bridge.ErrorCodeOf(err) == bridge.EInvalid {
			v.Data, v.Error = d, msg
			h.render(w, r, http.StatusBadRequest, "list", v)
			return
		}
		h.fail(w, r, se, err)
		return
	}
	now := h.cfg.Now()
	for _, t := range page.Transactions {
		d.Rows = append(d.Rows, row(t, now))
	}
	if page.NextCursor != "" {
		next := lq
		next.Cursor = page.NextCursor
		d.Next = "/ui/transactions?" + next.values().Encode()
	}
	if lq.Cursor != "" {
		first := lq
		first.Cursor = ""
		d.First = "/ui/transactions?" + first.values().Encode()
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "list", v)
}

func row(t pipeline.TransactionView, now time.Time) listRow {
	return listRow{
		ID: t.ID, Href: txHref(t.ID), State: string(t.State), StateClass: stateClass(t.State), Kind: string(t.Event),
		Version: string(t.OpenCRVSVersion), TrackingID: t.TrackingID, Attempts: t.Attempts,
		UpdatedISO: t.UpdatedAt.UTC().Format(time.RFC3339), UpdatedAgo: ago(now.Sub(t.UpdatedAt)), LastError: clip(t.LastError, 160),
	}
}

// --- One transaction --------------------------------------------------------

type eventRow struct {
	At, AtISO, From, To, ToClass, Reason string
	Attempt                              int
}

type txData struct {
	ID, Href, State, StateClass, StateHelp         string
	Kind, Version, Intake, Corrects                string
	RecordID, TrackingID, RegistrationNumber       string
	Attempts                                       int
	DeadFrom, NextCheck                            string
	NationalIDIssued                               bool
	CreatedISO, CreatedAgo, UpdatedISO, UpdatedAgo string
	LastError, RejectReason, SkipReason            string
	CanRetry, CanCancel                            bool
	// Resolved: the transaction completed after its last error.
	Resolved  bool
	RetryHelp string
	Events    []eventRow
	Related   []listRow
}

// flashes are the messages a redirect after an action may ask for; only
// these, so that a link cannot put words on the page.
var flashes = map[string]string{
	"retried":     "Retry started: the transaction is back in the pipeline.",
	"resubmitted": "Resubmitted to MOSIP under a new AID: this is the new transaction; the refused one is cancelled.",
	"cancelled":   "Transaction cancelled.",
}

func (h *Handler) transaction(w http.ResponseWriter, r *http.Request, se session) {
	v := h.signedIn(se, "", "transactions")
	v.Flash = flashes[r.URL.Query().Get("done")]
	h.showTransaction(w, r, se, http.StatusOK, v)
}

func (h *Handler) showTransaction(w http.ResponseWriter, r *http.Request, se session, status int, v view) {
	det, err := h.cfg.Admin.Show(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, se, err)
		return
	}
	now := h.cfg.Now()
	d := txData{
		ID: det.ID, Href: txHref(det.ID), State: string(det.State), StateClass: stateClass(det.State), StateHelp: stateHelp[det.State],
		Kind: string(det.Event), Version: string(det.OpenCRVSVersion), Intake: string(det.Intake), Corrects: det.Corrects,
		RecordID: det.RecordID, TrackingID: det.TrackingID, RegistrationNumber: det.RegistrationNumber,
		Attempts: det.Attempts, DeadFrom: string(det.DeadFrom), NationalIDIssued: det.NationalIDIssued,
		CreatedISO: stamp(det.CreatedAt), CreatedAgo: ago(now.Sub(det.CreatedAt)),
		UpdatedISO: stamp(det.UpdatedAt), UpdatedAgo: ago(now.Sub(det.UpdatedAt)),
		LastError: det.LastError, RejectReason: det.RejectReason, SkipReason: det.SkipReason,
		CanRetry: det.Retry != "", RetryHelp: det.Retry, CanCancel: det.CanCancel,
		Resolved: det.State == bridge.StateConfirmed,
	}
	if det.NextStatusCheck != nil {
		d.NextCheck = stamp(*det.NextStatusCheck)
	}
	for _, e := range det.Events {
		d.Events = append(d.Events, eventRow{At: stamp(e.At), AtISO: e.At.UTC().Format(time.RFC3339Nano),
			From: string(e.From), To: string(e.To), ToClass: stateClass(e.To), Reason: e.Reason, Attempt: e.Attempt})
	}
	for _, t := range det.Related {
		d.Related = append(d.Related, row(t, now))
	}
	v.Title, v.Data = "Transaction "+det.ID, d
	if det.State.Waiting() {
		v.Refresh = 3 // work in progress: watch it move
	}
	h.render(w, r, status, "transaction", v)
}

func (h *Handler) retry(w http.ResponseWriter, r *http.Request, se session) {
	id := r.PathValue("id")
	tr, err := h.cfg.Admin.Retry(r.Context(), id, who(se))
	if err != nil {
		h.actionFailed(w, r, se, err)
		return
	}
	h.cfg.Logger.Info("dashboard retry", "transaction_id", id, "new_transaction_id", tr.ID, "session", se.ID[:8])
	if tr.ID != id { // a refused record goes to MOSIP again under a new AID
		http.Redirect(w, r, txHref(tr.ID)+"?done=resubmitted", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, txHref(id)+"?done=retried", http.StatusSeeOther)
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, se session) {
	id := r.PathValue("id")
	if _, err := h.cfg.Admin.Cancel(r.Context(), id, strings.TrimSpace(r.PostForm.Get("reason")), who(se)); err != nil {
		h.actionFailed(w, r, se, err)
		return
	}
	h.cfg.Logger.Info("dashboard cancel", "transaction_id", id, "session", se.ID[:8])
	http.Redirect(w, r, txHref(id)+"?done=cancelled", http.StatusSeeOther)
}

// actionFailed shows the transaction again with why the action was
// refused (a conflict, a missing reason), or the error page.
func (h *Handler) actionFailed(w http.ResponseWriter, r *http.Request, se session, err error) {
	msg, ok := userError(err)
	code := bridge.ErrorCodeOf(err)
	if !ok || (code != bridge.EConflict && code != bridge.EInvalid) {
		h.fail(w, r, se, err)
		return
	}
	v := h.signedIn(se, "", "transactions")
	v.Error = msg
	status := http.StatusConflict
	if code == bridge.EInvalid {
		status = http.StatusBadRequest
	}
	h.showTransaction(w, r, se, status, v)
}

// fail answers the error page for err: its message when it is one meant
// for the caller, a generic one (and a log line) otherwise.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, se session, err error) {
	v := h.signedIn(se, "", "")
	status := http.StatusInternalServerError
	switch bridge.ErrorCodeOf(err) {
	case bridge.ENotFound:
		status, v.Title = http.StatusNotFound, "No such transaction"
	case bridge.EInvalid:
		status, v.Title = http.StatusBadRequest, "Invalid request"
	case bridge.EConflict:
		status, v.Title = http.StatusConflict, "Not possible now"
	case bridge.EUnavailable, bridge.EBusy:
		status, v.Title = http.StatusServiceUnavailable, "The database is busy or unavailable: try again shortly"
	default:
		v.Title = "Something went wrong"
		h.cfg.Logger.Error("dashboard page failed", "path", r.URL.Path, "err", err)
	}
	if msg, ok := userError(err); ok && status != http.StatusInternalServerError {
		v.Error = msg
	}
	h.render(w, r, status, "error", v)
}

// userError is the message of an application error meant for the caller.
func userError(err error) (string, bool) {
	var e *bridge.Error
	if !errors.As(err, &e) || e.Code == bridge.EInternal || e.Message == "" {
		return "", false
	}
	if e.Field != "" {
		return e.Field + ": " + e.Message, true
	}
	return e.Message, true
}

// --- Formatting ---------------------------------------------------------------

func txHref(id string) string { return "/ui/transactions/" + url.PathEscape(id) }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// ago is a duration for people: "42 s", "12 min", "3 h 5 min", "2 d 4 h".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// latency is a call duration: "85 ms", "1.25 s".
func latency(d time.Duration) string {
	switch {
	case d > 0 && d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// clip cuts s to n runes, marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
