package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	_ "modernc.org/sqlite" // read the mediator's database

	"opencrvs-mosip/internal/loadgen"
)

// killPlan says when the mediator is killed: the first kills when the
// mediator has accepted a given number of records (then a short random
// pause, so the kill lands mid-request), the others at random pauses after
// the sending ended (or after the previous restart), while confirmations
// are still under way.
type killPlan struct {
	during []int           // accepted-record thresholds, ascending
	jitter []time.Duration // pause after each threshold
	after  []time.Duration // pauses of the kills after the sending
}

func newKillPlan(rng *mrand.Rand, records, kills int) killPlan {
	var p killPlan
	during := kills - kills/2
	for range during {
		p.during = append(p.during, int(float64(records)*(0.05+0.85*rng.Float64())))
		p.jitter = append(p.jitter, time.Duration(rng.Int64N(int64(250*time.Millisecond))))
	}
	slices.Sort(p.during)
	for range kills - during {
		p.after = append(p.after, 100*time.Millisecond+time.Duration(rng.Int64N(int64(1400*time.Millisecond))))
	}
	return p
}

// killDuring carries out the plan; it returns when every kill is done and
// the mediator is running again.
func (e *env) killDuring(ctx context.Context, plan killPlan, sendingDone <-chan struct{}) error {
	for i, threshold := range plan.during {
	wait:
		for e.relay.accepts.Load() < int64(threshold) {
			select {
			case <-sendingDone:
				break wait
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(10 * time.Millisecond):
			}
		}
		if err := sleep(ctx, plan.jitter[i]); err != nil {
			return err
		}
		if err := e.killAndRestart(ctx, sendingDone); err != nil {
			return err
		}
	}
	for _, pause := range plan.after {
		select {
		case <-sendingDone:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
		if err := e.killAndRestart(ctx, sendingDone); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) killAndRestart(ctx context.Context, sendingDone <-chan struct{}) error {
	phase := "while sending"
	select {
	case <-sendingDone:
		phase = "while completing"
	default:
	}
	st, _ := e.opencrvsStats(ctx)
	if err := e.mediator.kill(); err != nil {
		return err
	}
	e.res.Kills = int(e.kills.Add(1))
	e.logf("kill %d/%d %s: SIGKILL with %d accepted, %d registered; restarting on the same database",
		e.res.Kills, e.cfg.Kills, phase, e.relay.accepts.Load(), st.Registered)
	t := time.Now()
	if err := e.mediator.start(ctx, e.cfg.ReadyTimeout); err != nil {
		return err
	}
	e.logf("mediator ready again after %.1fs", time.Since(t).Seconds())
	return nil
}

// awaitCompletion waits until no record waits in OpenCRVS, the mediator has
// no submission or feedback job left, and MOSIP has nothing left to process
// or deliver; or until the timeout, after which the tally reports what is
// missing.
func (e *env) awaitCompletion(ctx context.Context) error {
	deadline := time.Now().Add(e.cfg.Timeout)
	db, err := openDB(e.dir)
	if err != nil {
		return err
	}
	defer db.Close()
	e.logf("sending done; waiting up to %v for every record to be confirmed", e.cfg.Timeout)
	for {
		st, err := e.opencrvsStats(ctx)
		if err != nil {
			return err
		}
		jobs, jerr := outstandingJobs(ctx, db)
		ms := e.mosip.Stats()
		if st.Waiting == 0 && jerr == nil && jobs == 0 && ms.QueuedStages == 0 && ms.Deliveries.Pending == 0 {
			e.logf("complete: %d registered, %d rejected, nothing left to do", st.Registered, st.Rejected)
			return nil
		}
		if time.Now().After(deadline) {
			e.logf("gave up waiting after %v: %d records still waiting in OpenCRVS, %d jobs outstanding (%v), MOSIP: %d stages queued, %d deliveries pending",
				e.cfg.Timeout, st.Waiting, jobs, jerr, ms.QueuedStages, ms.Deliveries.Pending)
			return nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

func (e *env) reportProgress(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := e.opencrvsStats(ctx)
		if err != nil {
			continue
		}
		ms := e.mosip.Stats()
		e.logf("sent %d/%d, accepted %d, registered %d, waiting %d, rejected %d; relay retries %d; MOSIP deliveries pending %d; kills %d/%d",
			e.sent.Load(), e.cfg.Records, e.relay.accepts.Load(), st.Registered, st.Waiting, st.Rejected,
			e.relay.retries.Load(), ms.Deliveries.Pending, e.kills.Load(), e.cfg.Kills)
	}
}

// opencrvsStats are the totals of the OpenCRVS simulator's GET /sim/stats.
type opencrvsStats struct {
	Records       int `json:"records"`
	Waiting       int `json:"waiting"`
	Registered    int `json:"registered"`
	Rejected      int `json:"rejected"`
	Confirmations int `json:"confirmations"`
	Rejections    int `json:"rejections"`
}

func (e *env) opencrvsStats(ctx context.Context) (opencrvsStats, error) {
	var st opencrvsStats
	status, err := getJSON(ctx, e.client, e.opencrvsURL+"/sim/stats", &st)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("crashtest: OpenCRVS simulator stats: HTTP %d", status)
	}
	return st, err
}

// openDB opens the mediator's database for reading, alongside the mediator.
func openDB(dir string) (*sql.DB, error) {
	path := (&url.URL{Path: dir + "/" + databaseFile}).EscapedPath()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("crashtest: open the mediator's database: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// outstandingJobs counts submission and feedback jobs not finished, among
// them those a killed mediator left running until River rescues them.
func outstandingJobs(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM river_job
		WHERE queue IN ('submit', 'feedback') AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n)
	return n, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func postJSON(ctx context.Context, client *http.Client, target, body string, out any) (int, error) {
	return loadgen.CallJSON(ctx, client, http.MethodPost, target, []byte(body), out)
}

func getJSON(ctx context.Context, client *http.Client, target string, out any) (int, error) {
	return loadgen.CallJSON(ctx, client, http.MethodGet, target, nil, out)
}
