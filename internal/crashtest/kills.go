package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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

// killAndRestart kills the mediator, or a replica (the first time the
// leader of the job queue, whose periodic jobs the others must take over;
// then one taken at random among those up), and restarts it on the same
// database unless KeepDown. On
// PostgreSQL it also measures how soon the jobs running at the kill were
// finished or resumed: by the other replicas, or by the restarted mediator.
func (e *env) killAndRestart(ctx context.Context, sendingDone <-chan struct{}) error {
	phase := "while sending"
	select {
	case <-sendingDone:
		phase = "while completing"
	default:
	}
	st, _ := e.opencrvsStats(ctx)
	var up []int
	for i, down := range e.down {
		if !down {
			up = append(up, i)
		}
	}
	victim := up[e.rng.IntN(len(up))]
	leader := false
	if e.dbURL != "" && len(up) > 1 && e.kills.Load() == 0 {
		if i, ok := e.leader(ctx); ok && !e.down[i] {
			victim, leader = i, true
		}
	}
	m := e.mediators[victim]
	if err := m.kill(); err != nil {
		return err
	}
	killed := time.Now()
	var running map[int64]bool
	if e.dbURL != "" {
		db, err := e.openDB()
		if err != nil {
			return err
		}
		defer db.Close()
		if running, err = runningJobs(ctx, db); err != nil {
			return fmt.Errorf("crashtest: read the running jobs: %w", err)
		}
		defer func() { e.measureResume(ctx, db, running, killed) }()
	}
	e.res.Kills = int(e.kills.Add(1))
	who := "the mediator"
	if len(e.mediators) > 1 {
		who = fmt.Sprintf("replica %d of %d", victim+1, len(e.mediators))
		if leader {
			who += " (the leader)"
		}
	}
	next := "restarting it on the same database"
	switch {
	case e.cfg.KeepDown:
		next = "it stays down"
	case len(e.mediators) > 1:
		next = "restarting it once the others resumed its jobs"
	}
	e.logf("kill %d/%d %s: SIGKILL of %s with %d accepted, %d registered, %d jobs running; %s",
		e.res.Kills, e.cfg.Kills, phase, who, e.relay.accepts.Load(), st.Registered, len(running), next)
	if e.cfg.KeepDown {
		e.down[victim] = true
		return nil
	}
	if len(e.mediators) > 1 && running != nil {
		// The others, not the restart, must resume its jobs.
		e.measureResume(ctx, nil, running, killed)
		running = nil
	}
	t := time.Now()
	if err := m.start(ctx, e.cfg.ReadyTimeout); err != nil {
		return err
	}
	e.logf("%s ready again after %.1fs", who, time.Since(t).Seconds())
	return nil
}

// leader returns the replica that leads the job queue: River's leader id is
// the mediator's (jobs.Runner.ID: host_pid_random).
func (e *env) leader(ctx context.Context) (int, bool) {
	db, err := e.openDB()
	if err != nil {
		return 0, false
	}
	defer db.Close()
	var id string
	if err := db.QueryRowContext(ctx, `SELECT leader_id FROM river_leader`).Scan(&id); err != nil {
		return 0, false
	}
	parts := strings.Split(id, "_")
	if len(parts) < 3 {
		return 0, false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil {
		return 0, false
	}
	for i, m := range e.mediators {
		if m.pid() == pid {
			return i, true
		}
	}
	return 0, false
}

// measureResume waits (at most a minute) until none of the jobs running at
// the kill is running any more, and records how long that took. A nil db
// opens one; a nil running does nothing.
func (e *env) measureResume(ctx context.Context, db *sql.DB, running map[int64]bool, killed time.Time) {
	if running == nil {
		return
	}
	if db == nil {
		var err error
		if db, err = e.openDB(); err != nil {
			e.logf("%v", err)
			return
		}
		defer db.Close()
	}
	deadline := killed.Add(time.Minute)
	for {
		n, err := stillRunning(ctx, db, running)
		if err == nil && n == 0 {
			took := time.Since(killed).Seconds()
			e.res.ResumeSeconds = append(e.res.ResumeSeconds, took)
			e.logf("the %d jobs running at the kill were finished or resumed within %.1fs", len(running), took)
			return
		}
		if time.Now().After(deadline) || sleep(ctx, 100*time.Millisecond) != nil {
			e.res.ResumeSeconds = append(e.res.ResumeSeconds, -1)
			e.logf("jobs running at the kill were still running a minute later (%d, %v)", n, err)
			return
		}
	}
}

// awaitCompletion waits until no record waits in OpenCRVS, the mediator has
// no submission or feedback job left, and MOSIP has nothing left to process
// or deliver; or until the timeout, after which the tally reports what is
// missing.
func (e *env) awaitCompletion(ctx context.Context) error {
	deadline := time.Now().Add(e.cfg.Timeout)
	db, err := e.openDB()
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
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
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

// openDB opens the mediators' database for reading, alongside them.
func (e *env) openDB() (*sql.DB, error) {
	if e.dbURL != "" {
		db, err := sql.Open("pgx", e.dbURL)
		if err != nil {
			return nil, fmt.Errorf("crashtest: open the mediators' database: %w", err)
		}
		db.SetMaxOpenConns(2)
		return db, nil
	}
	path := (&url.URL{Path: e.dir + "/" + databaseFile}).EscapedPath()
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
