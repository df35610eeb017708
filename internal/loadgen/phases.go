package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Phases are the per-phase latencies of the completed records, in
// milliseconds. Accept is measured by load; the others come from the event
// log of each record's transaction in the mediator, found by the record's
// OpenCRVS id (GET /admin/transactions?q=<record id>, the newest CONFIRMED
// one, then GET /admin/transactions/{AID}): they are the mediator's clock,
// to the millisecond. A phase is measured over the records that went
// through it: a record the country rules did not forward to MOSIP
// (SKIPPED), or whose credential came before the submission was recorded,
// has no submit or credential phase.
type Phases struct {
	// Accept is the sending request (as Result.AcceptLatencyMS), over the
	// records read.
	Accept Percentiles `json:"accept"`
	// Submit is from the transaction's creation (the record accepted) to
	// its first SUBMITTED (MOSIP took the packet).
	Submit Percentiles `json:"submit"`
	// Credential is from SUBMITTED to ISSUED (MOSIP's credential or
	// result received).
	Credential Percentiles `json:"credential"`
	// Confirm is from ISSUED (or SKIPPED) to CONFIRMED (OpenCRVS
	// registered the record).
	Confirm Percentiles `json:"confirm"`
	// Read counts the completed records whose transaction was read; Unread
	// those whose was not, by cause: "not_found" (no transaction has the
	// record's id), "not_confirmed" (none of them is CONFIRMED),
	// "timeout" (Config.PhasesTimeout ran out, or a request's 30 s),
	// "canceled", "network", "bad_answer" or "http_<status>".
	Read   int            `json:"read"`
	Unread map[string]int `json:"unread"`
}

// Causes of unread transactions that are not failure causes of records.
const (
	CauseNotFound     = "not_found"
	CauseNotConfirmed = "not_confirmed"
)

const (
	// phaseWorkers is how many transactions are read at once.
	phaseWorkers = 8
	// adminRequestTimeout bounds one admin API request.
	adminRequestTimeout = 30 * time.Second
	// A record OpenCRVS registered may not be CONFIRMED in the mediator
	// yet: the mediator records it once OpenCRVS answered. Its transaction
	// is read again, at most confirmWaits times confirmPause apart.
	confirmWaits = 40
	confirmPause = 50 * time.Millisecond
	// maxListed is how many transactions of one record are listed (a
	// record has a handful: sent again after a rejection, resubmitted).
	maxListed = 20
	// maxDetail bounds a problem's detail quoted in an error.
	maxDetail = 300
)

var (
	errNotFound     = errors.New("no transaction has the record's id")
	errNotConfirmed = errors.New("no transaction of the record is CONFIRMED")
)

// adminReader reads transactions from mediators' admin API.
type adminReader struct {
	mediators []string
	token     string
	http      *http.Client
	timeout   time.Duration
	progress  io.Writer
}

func newAdminReader(cfg Config) *adminReader {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = phaseWorkers
	return &adminReader{
		mediators: cfg.MediatorURLs, token: strings.TrimSpace(cfg.AdminToken),
		http:    &http.Client{Transport: t, Timeout: adminRequestTimeout},
		timeout: cfg.PhasesTimeout, progress: cfg.Progress,
	}
}

// adminError is an admin API answer other than 2xx.
type adminError struct {
	mediator string
	status   int
	detail   string
}

func (e *adminError) Error() string {
	msg := fmt.Sprintf("the admin API of the mediator at %s answered HTTP %d", e.mediator, e.status)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.status == http.StatusUnauthorized {
		msg += " (check ADMIN_TOKEN: it must be the mediator's)"
	}
	return msg
}

// refused reports whether the admin API will not answer this client at
// all: a wrong token, the admin API off, too many wrong tokens.
func (e *adminError) refused() bool {
	return e.status == http.StatusUnauthorized || e.status == http.StatusForbidden || e.status == http.StatusTooManyRequests
}

// listAnswer and detailAnswer are what loadgen reads of the admin API's
// admin.Page and admin.Detail.
type listAnswer struct {
	Transactions []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"transactions"`
}

type detailAnswer struct {
	ID     string        `json:"id"`
	State  string        `json:"state"`
	Events []eventAnswer `json:"events"`
}

type eventAnswer struct {
	At time.Time `json:"at"`
	To string    `json:"to"`
}

// get calls GET mediator+path and decodes a 2xx JSON answer into out.
func (a *adminReader) get(ctx context.Context, mediator, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, mediator+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var p struct{ Title, Detail string }
		_ = json.Unmarshal(raw, &p) // a problem, or not: the status says enough
		detail := p.Detail
		if detail == "" {
			detail = p.Title
		}
		return &adminError{mediator: redact(mediator), status: resp.StatusCode, detail: printable(detail, maxDetail)}
	}
	if json.Unmarshal(raw, out) != nil {
		return fmt.Errorf("GET %s%s: %w", redact(mediator), path, ErrBadAnswer)
	}
	return nil
}

// check makes sure every mediator's admin API answers with the token
// before the run, so that a wrong token or URL does not waste one.
func (a *adminReader) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, adminRequestTimeout)
	defer cancel()
	for _, m := range a.mediators {
		var page listAnswer
		err := a.get(ctx, m, "/admin/transactions?limit=1", &page)
		var ae *adminError
		switch {
		case errors.As(err, &ae):
			return err
		case err != nil:
			return fmt.Errorf("cannot read the admin API of the mediator at %s: %w", redact(m), err)
		}
	}
	return nil
}

// recordPhases are one record's phases (see Phases).
type recordPhases struct {
	submit, credential, confirm time.Duration
	hasSubmit, hasCredential    bool
}

// read reads the transactions of the completed records, phaseWorkers at
// once, within a.timeout. It returns an error, with what it read, when an
// admin API refused the token.
func (a *adminReader) read(ctx context.Context, outcomes []outcome) (*Phases, error) {
	var todo []int
	for i, o := range outcomes {
		if o.completed && o.id != "" {
			todo = append(todo, i)
		}
	}
	if a.progress != nil {
		fmt.Fprintf(a.progress, "load: reading the transactions of %d completed records from the admin API\n", len(todo))
	}
	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	found := make([]recordPhases, len(todo))
	causes := make([]string, len(todo)) // "" once read
	var next atomic.Int64
	var refusal atomic.Pointer[adminError]
	var wg sync.WaitGroup
	for range min(phaseWorkers, len(todo)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(todo) {
					return
				}
				if e := refusal.Load(); e != nil {
					causes[k] = "http_" + strconv.Itoa(e.status)
					continue
				}
				ph, err := a.phasesOf(rctx, a.mediators[k%len(a.mediators)], outcomes[todo[k]].id)
				if err != nil {
					causes[k] = unreadCause(ctx, rctx, err)
					if ae := (*adminError)(nil); errors.As(err, &ae) && ae.refused() {
						refusal.CompareAndSwap(nil, ae)
					}
					continue
				}
				found[k] = ph
			}
		})
	}
	wg.Wait()

	res := &Phases{Unread: map[string]int{}}
	var accepts, submits, credentials, confirms []time.Duration
	for k, i := range todo {
		if causes[k] != "" {
			res.Unread[causes[k]]++
			continue
		}
		res.Read++
		ph := found[k]
		accepts = append(accepts, outcomes[i].acceptLatency)
		confirms = append(confirms, ph.confirm)
		if ph.hasSubmit {
			submits = append(submits, ph.submit)
		}
		if ph.hasCredential {
			credentials = append(credentials, ph.credential)
		}
	}
	res.Accept, res.Submit = PercentilesOf(accepts), PercentilesOf(submits)
	res.Credential, res.Confirm = PercentilesOf(credentials), PercentilesOf(confirms)
	if a.progress != nil {
		fmt.Fprintf(a.progress, "load: read %d transactions, %d unread\n", res.Read, len(todo)-res.Read)
	}
	if e := refusal.Load(); e != nil {
		return res, e
	}
	return res, nil
}

// unreadCause is the key of why a transaction was not read; parent is the
// run's context, rctx the reading's.
func unreadCause(parent, rctx context.Context, err error) string {
	var ae *adminError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return "http_" + strconv.Itoa(ae.status)
	case errors.Is(err, errNotFound):
		return CauseNotFound
	case errors.Is(err, errNotConfirmed):
		return CauseNotConfirmed
	case errors.Is(err, ErrBadAnswer):
		return CauseBadAnswer
	case parent.Err() != nil:
		return CauseCanceled
	case rctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CauseTimeout
	}
	return CauseNetwork
}

// phasesOf reads the phases of the record with OpenCRVS id recordID from
// mediator.
func (a *adminReader) phasesOf(ctx context.Context, mediator, recordID string) (recordPhases, error) {
	list := "/admin/transactions?" + url.Values{"q": {recordID}, "limit": {strconv.Itoa(maxListed)}}.Encode()
	for attempt := 0; ; attempt++ {
		var page listAnswer
		if err := a.get(ctx, mediator, list, &page); err != nil {
			return recordPhases{}, err
		}
		aid, pending := "", false
		for _, t := range page.Transactions { // newest first
			if t.State == "CONFIRMED" {
				aid = t.ID
				break
			}
			pending = pending || t.State == "ISSUED" || t.State == "SKIPPED"
		}
		if aid == "" {
			switch {
			case len(page.Transactions) == 0:
				return recordPhases{}, errNotFound
			case !pending || attempt >= confirmWaits:
				return recordPhases{}, errNotConfirmed
			}
			if err := sleep(ctx, confirmPause); err != nil {
				return recordPhases{}, err
			}
			continue
		}
		var d detailAnswer
		if err := a.get(ctx, mediator, "/admin/transactions/"+url.PathEscape(aid), &d); err != nil {
			return recordPhases{}, err
		}
		ph, ok := phasesFrom(d.Events)
		if !ok {
			return recordPhases{}, fmt.Errorf("transaction %s has no CONFIRMED event: %w", aid, ErrBadAnswer)
		}
		return ph, nil
	}
}

// phasesFrom measures a confirmed transaction's phases from its event log,
// oldest first: the first event is its creation, and each phase ends at the
// first event into its state. Negative spans (replicas' clocks differ)
// count as 0. ok is false without a CONFIRMED event.
func phasesFrom(events []eventAnswer) (ph recordPhases, ok bool) {
	if len(events) == 0 {
		return ph, false
	}
	first := map[string]time.Time{}
	for _, e := range events {
		if _, seen := first[e.To]; !seen {
			first[e.To] = e.At
		}
	}
	confirmed, ok := first["CONFIRMED"]
	if !ok {
		return ph, false
	}
	created := events[0].At
	submitted, hasSubmitted := first["SUBMITTED"]
	issued, hasIssued := first["ISSUED"]
	received := created
	if skipped, ok := first["SKIPPED"]; ok {
		received = skipped
	}
	if hasIssued {
		received = issued
	}
	ph.confirm = max(0, confirmed.Sub(received))
	if hasSubmitted {
		ph.submit, ph.hasSubmit = max(0, submitted.Sub(created)), true
		if hasIssued {
			ph.credential, ph.hasCredential = max(0, issued.Sub(submitted)), true
		}
	}
	return ph, true
}

// printable is s without control characters, at most n runes.
func printable(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			n--
		}
	}
	return b.String()
}
