package crashtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx": the mediators' PostgreSQL

	"opencrvs-mosip/internal/sim/mosipsim"
)

// Several mediators ("replicas", Config.Replicas) share one PostgreSQL
// database. The relay spreads records over them; MOSIP's hub calls one
// callback URL, a balancer in front of them (as a load balancer would be);
// the MOSIP simulator is watched to count subscribe requests and packets.

// balancer passes each request to the next replica in turn, and to the one
// after when a replica cannot be reached (it was killed): what a load
// balancer with health checks does for MOSIP's hub.
type balancer struct {
	targets []string // replicas' base URLs
	next    atomic.Uint64
	client  *http.Client
	// unreachable counts requests a replica did not take.
	unreachable atomic.Int64
}

func newBalancer(targets []string) *balancer {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &balancer{targets: targets, client: &http.Client{Transport: t, Timeout: relayCallTimeout}}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRecordBytes))
	if err != nil {
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	start := b.next.Add(1) - 1
	for i := range uint64(len(b.targets)) {
		target := b.targets[(start+i)%uint64(len(b.targets))]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := b.client.Do(req)
		if err != nil {
			if r.Context().Err() != nil {
				return
			}
			b.unreachable.Add(1)
			continue
		}
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			b.unreachable.Add(1)
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
		return
	}
	http.Error(w, "no mediator could be reached", http.StatusBadGateway)
}

// mosipWatch serves the MOSIP simulator and counts, by what they name,
// the calls that must not be repeated beyond what MOSIP treats as the same
// call: subscribe requests at the hub, createPacket by packet id and
// workflow starts by registration id.
type mosipWatch struct {
	sim http.Handler

	subscribes atomic.Int64
	mu         sync.Mutex
	packets    map[string]int // createPacket calls by packet id (the AID)
	workflows  map[string]int // workflowinstance calls by registration id
}

func newMOSIPWatch(sim http.Handler) *mosipWatch {
	return &mosipWatch{sim: sim, packets: map[string]int{}, workflows: map[string]int{}}
}

func (m *mosipWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	watched := (r.Method == http.MethodPost && (r.URL.Path == mosipsim.PathHub || r.URL.Path == mosipsim.PathWorkflow)) ||
		(r.Method == http.MethodPut && r.URL.Path == mosipsim.PathCreatePacket)
	if !watched {
		m.sim.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRecordBytes))
	if err != nil {
		http.Error(w, "unreadable request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch r.URL.Path {
	case mosipsim.PathHub:
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("hub.mode") == "subscribe" {
			m.subscribes.Add(1)
		}
	case mosipsim.PathCreatePacket:
		var req struct {
			Request struct {
				ID string `json:"id"`
			} `json:"request"`
		}
		if json.Unmarshal(body, &req) == nil && req.Request.ID != "" {
			m.mu.Lock()
			m.packets[req.Request.ID]++
			m.mu.Unlock()
		}
	case mosipsim.PathWorkflow:
		var req struct {
			Request struct {
				RegistrationID string `json:"registrationId"`
			} `json:"request"`
		}
		if json.Unmarshal(body, &req) == nil && req.Request.RegistrationID != "" {
			m.mu.Lock()
			m.workflows[req.Request.RegistrationID]++
			m.mu.Unlock()
		}
	}
	m.sim.ServeHTTP(w, r)
}

// repeats returns how many packet ids and workflow registrations were
// sent more than once, and how many calls beyond the first that made.
func (m *mosipWatch) repeats() (packetIDs, packetCalls, workflowIDs, workflowCalls int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.packets {
		if n > 1 {
			packetIDs++
			packetCalls += n - 1
		}
	}
	for _, n := range m.workflows {
		if n > 1 {
			workflowIDs++
			workflowCalls += n - 1
		}
	}
	return
}

// createDatabase makes an empty database for the run on the PostgreSQL
// server of serverURL (its database, or the server's "postgres" one when
// that does not exist, runs the CREATE) and returns its URL and a function
// that drops it.
func createDatabase(ctx context.Context, serverURL string) (string, func() error, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("crashtest: the database URL must be a postgres:// URL")
	}
	admin, err := openAdmin(ctx, u)
	if err != nil {
		return "", nil, fmt.Errorf("crashtest: cannot reach PostgreSQL: %w", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "crash_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("crashtest: create database %s: %w", name, err)
	}
	drop := func() error {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("crashtest: drop database %s: %w", name, err)
		}
		return nil
	}
	db := *u
	db.Path = "/" + name
	return db.String(), drop, nil
}

func openAdmin(ctx context.Context, u *url.URL) (*sql.DB, error) {
	open := func(dsn string) (*sql.DB, error) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := open(u.String())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		other := *u
		other.Path = "/postgres"
		db, err = open(other.String())
	}
	return db, err
}

// periodicRuns reads the finished runs of a periodic job (kind) from the
// shared database: how many there were, how many replicas ran them, and how
// many started before the previous one had finished (each must run on one
// replica at a time).
func periodicRuns(ctx context.Context, db *sql.DB, kind string) (runs, replicas, overlaps int, err error) {
	rows, err := db.QueryContext(ctx, `SELECT attempted_at, finalized_at, attempted_by[array_upper(attempted_by, 1)]
		FROM river_job WHERE kind = $1 AND state = 'completed' AND attempted_at IS NOT NULL ORDER BY attempted_at`, kind)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("crashtest: read the %s jobs: %w", kind, err)
	}
	defer rows.Close()
	by := map[string]bool{}
	var lastEnd time.Time
	for rows.Next() {
		var started, ended time.Time
		var replica sql.NullString
		if err := rows.Scan(&started, &ended, &replica); err != nil {
			return 0, 0, 0, fmt.Errorf("crashtest: read the %s jobs: %w", kind, err)
		}
		runs++
		by[replica.String] = true
		if started.Before(lastEnd) {
			overlaps++
		}
		if ended.After(lastEnd) {
			lastEnd = ended
		}
	}
	return runs, len(by), overlaps, rows.Err()
}

// runningJobs returns the ids of the jobs running now.
func runningJobs(ctx context.Context, db *sql.DB) (map[int64]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM river_job WHERE state = 'running'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// stillRunning counts which of ids are still running.
func stillRunning(ctx context.Context, db *sql.DB, ids map[int64]bool) (int, error) {
	now, err := runningJobs(ctx, db)
	if err != nil {
		return 0, err
	}
	n := 0
	for id := range ids {
		if now[id] {
			n++
		}
	}
	return n, nil
}

// logName is the log file of replica i (of n).
func logName(i, n int) string {
	if n <= 1 {
		return mediatorLog
	}
	return strings.TrimSuffix(mediatorLog, ".log") + fmt.Sprintf("-%d.log", i+1)
}
