package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/backfill"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/store/pgtest"
)

// backfillSystem is a system whose mediator takes backfills: the admin API
// on, the OpenCRVS simulator's system client configured.
func startBackfillSystem(t *testing.T, opts systemOptions) *system {
	t.Helper()
	more := opts.config
	opts.config = func(c *Config) {
		c.AdminToken = testAdminToken
		c.OpenCRVSClientID, c.OpenCRVSClientSecret = opencrvssim.DevSystemClient, opencrvssim.DevSystemSecret
		c.OpenCRVSTokenURL = tokenURLOf(c.OpenCRVSPublicKey)
		c.BackfillWorkers = 4
		if more != nil {
			more(c)
		}
	}
	return startSystem(t, opts)
}

// historic writes n historic records of the OpenCRVS simulator to path
// and returns their record ids, in order.
func (s *system) historic(t *testing.T, path string, n int, authenticated bool) []string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.opencrvs.WriteHistoric(t.Context(), &buf, opencrvssim.HistoricRequest{Count: n, Authenticated: &authenticated}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return recordIDs(t, buf.Bytes())
}

func recordIDs(t *testing.T, ndjson []byte) []string {
	t.Helper()
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var b struct {
			Entry []struct {
				Resource struct{ ResourceType, ID string } `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b.Entry {
			if e.Resource.ResourceType == "Composition" {
				ids = append(ids, e.Resource.ID)
			}
		}
	}
	return ids
}

// backfillConfig is a backfill of path through s's mediator.
func (s *system) backfillConfig(path string, rate float64) backfill.Config {
	return backfill.Config{Path: path, Server: s.mediatorURL, Token: testAdminToken, Rate: rate}
}

// waitIdentifiers waits (bounded) until every record has its national ID
// in the OpenCRVS simulator.
func (s *system) waitIdentifiers(t *testing.T, ids []string) {
	t.Helper()
	missing := 0
	ok := waitFor(time.Until(s.deadline), func() bool {
		missing = 0
		for _, id := range ids {
			if got, _ := s.opencrvs.RecordIdentifiers(id); got.NationalID == "" {
				missing++
			}
		}
		return missing == 0
	})
	if !ok {
		t.Fatalf("%d of %d records never got their national ID", missing, len(ids))
	}
}

// checkOnce checks that each record reached MOSIP in one packet, sent once,
// and got its national ID in OpenCRVS once: the one MOSIP issued for that
// packet.
func (s *system) checkOnce(t *testing.T, ids []string) {
	t.Helper()
	for _, id := range ids {
		tr := s.transactionByRecord(t, id) // exactly one transaction
		if tr.Intake != bridge.IntakeBackfill || tr.State != bridge.StateConfirmed {
			t.Errorf("record %s: transaction %s %s, want a CONFIRMED backfill", id, tr.Intake, tr.State)
			continue
		}
		if p, ok := s.mosip.Packet(tr.ID); !ok || p.Creates != 1 {
			t.Errorf("record %s: packet %s sent %d times, want once", id, tr.ID, p.Creates)
		}
		got, _ := s.opencrvs.RecordIdentifiers(id)
		if got.Upserts != 1 || got.NationalID != tr.NationalID() {
			t.Errorf("record %s: %d identifier upserts, national ID %q; want 1, the one MOSIP issued", id, got.Upserts, got.NationalID)
		}
	}
	if n := s.mosip.Stats().Packets; n != int64(len(ids)) {
		t.Errorf("MOSIP received %d packets for %d records", n, len(ids))
	}
}

// A backfill of a directory of generated historic records, with records
// that are not for backfill among them: every good record reaches MOSIP
// once and gets its national ID in OpenCRVS exactly once; the others are
// in the report with their reason, none silently dropped.
func TestBackfillEndToEnd(t *testing.T) {
	rec := &exchanges{}
	s := startBackfillSystem(t, systemOptions{wrap: rec.wrap})
	dir := t.TempDir()
	in := filepath.Join(dir, "records")
	if err := os.Mkdir(in, 0o700); err != nil {
		t.Fatal(err)
	}
	good := s.historic(t, filepath.Join(in, "a.ndjson"), 120, true)
	good = append(good, s.historic(t, filepath.Join(in, "b.ndjson"), 60, true)...)
	// One record alone in a .json file, pretty-printed.
	one := s.historic(t, filepath.Join(dir, "one.ndjson"), 1, true)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, mustRead(t, filepath.Join(dir, "one.ndjson")), "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "c.json"), pretty.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	good = append(good, one...)
	// Records the rules do not send (no parent verified), and bad ones.
	skipped := s.historic(t, filepath.Join(in, "d.ndjson"), 3, false)
	tooLong := mutateChild(t, s, func(child map[string]any) {
		child["name"] = []any{map[string]any{"use": "en", "given": []any{"Chimwemwe"}, "family": strings.Repeat("Banda", 12)}}
	})
	unregistered := unregister(t, s)
	bad := strings.Join([]string{
		`{"this is": not json`,
		`{"id":"0b4f9e1c-3c2a-4d35-9c3a-7d1f2a9c8e11","type":"birth","trackingId":"BX1Y2Z3","actions":[{"id":"a1","type":"REGISTER","status":"Accepted"}]}`,
		`{"trackingId":"B1234567","requestFields":{"birthCertificateNumber":"2026B1234567"}}`,
		string(tooLong), string(unregistered),
	}, "\n") + "\n\n" // a blank line is no record
	if err := os.WriteFile(filepath.Join(in, "e.ndjson"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	// Files other than .json and .ndjson are not read.
	if err := os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not records\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := s.backfillConfig(in, 0)
	cfg.Batch = 25
	cfg.ReportPath = filepath.Join(dir, "report.csv")
	rep, err := backfill.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := backfill.Counts{Accepted: len(good), SkippedByRules: len(skipped), Failed: 5,
		FailedReasons: map[string]int{"invalid": 3, "unsupported": 2}}
	if got := rep.Counts; got.Accepted != want.Accepted || got.SkippedByRules != want.SkippedByRules ||
		got.Failed != want.Failed || got.Duplicates != 0 || !equalCounts(got.FailedReasons, want.FailedReasons) {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	if !rep.Done || rep.Total != len(good)+len(skipped)+5 {
		t.Errorf("report: done %v, total %d; want done, %d", rep.Done, rep.Total, len(good)+len(skipped)+5)
	}
	s.waitIdentifiers(t, good)
	waitFor(time.Until(s.deadline), func() bool {
		n, _ := s.mediator.Store().CountInState(t.Context(), bridge.StateConfirmed)
		return n == len(good)
	})
	s.checkOnce(t, good)
	for _, id := range skipped {
		if trs, _ := s.mediator.Store().TransactionsByRecord(t.Context(), id); len(trs) != 0 {
			t.Errorf("skipped record %s has a transaction", id)
		}
	}

	// The report lists each skipped and failed record with its reason.
	rows := readCSV(t, cfg.ReportPath)
	if len(rows) != len(skipped)+5 {
		t.Fatalf("report has %d rows, want %d:\n%v", len(rows), len(skipped)+5, rows)
	}
	reasons := map[string]string{} // file:line -> status code reason
	for _, r := range rows {
		reasons[r["file"]+":"+r["line"]] = r["status"] + " " + r["code"] + " " + r["reason"]
	}
	for key, want := range map[string]string{
		"e.ndjson:1": "failed invalid",
		"e.ndjson:2": "failed unsupported an OpenCRVS 1.9 EventDocument cannot be backfilled",
		"e.ndjson:3": "failed unsupported a mapped payload cannot be backfilled",
		"e.ndjson:4": "failed invalid field fullName does not match the ID schema validator",
		"e.ndjson:5": "failed invalid the record has no registration number",
		"d.ndjson:1": "skipped",
	} {
		if !strings.HasPrefix(reasons[key], want) && !strings.Contains(reasons[key], strings.TrimPrefix(want, "failed invalid ")) {
			t.Errorf("report line for %s: %q, want %q", key, reasons[key], want)
		}
	}
	if r := reasons["d.ndjson:1"]; !strings.Contains(r, "authenticated") {
		t.Errorf("a skipped record's reason %q does not say what the rule saw", r)
	}

	// Run again: everything was done; nothing is sent.
	rep2, err := backfill.Run(t.Context(), cfg)
	if err != nil || rep2.ThisRun != 0 || rep2.Counts.Accepted != len(good) {
		t.Errorf("second run: %+v, %v; want nothing done again", rep2, err)
	}
	// Starting over sends every record again: the mediator answers each as
	// a duplicate, and MOSIP sees nothing more.
	cfg.Restart = true
	rep3, err := backfill.Run(t.Context(), cfg)
	if err != nil || rep3.Counts.Duplicates != len(good) || rep3.Counts.Accepted != 0 {
		t.Errorf("restart: %+v, %v; want %d duplicates", rep3.Counts, err, len(good))
	}
	if n := s.mosip.Stats().Packets; n != int64(len(good)) {
		t.Errorf("after the restart MOSIP has %d packets, want %d", n, len(good))
	}

	// A rate that is not one is refused; every batch's exchange is as
	// openapi.yaml describes it.
	if st := do(t, "POST", s.mediatorURL+"/admin/backfill?rate=fast", bearer(testAdminToken), []byte("{}\n"), nil); st != http.StatusBadRequest {
		t.Errorf("rate=fast: %d, want 400", st)
	}
	// (The validator reads an NDJSON body as one JSON document, which it
	// is not: the answers are held to the document.)
	var batches []exchange
	answers := map[string]probe{}
	for i, x := range rec.snapshot() {
		if strings.HasPrefix(x.target, "/admin/backfill") && x.status == http.StatusOK {
			id := fmt.Sprintf("backfill-batch-%d", i)
			x.reqHeader.Set("X-Request-Id", id)
			answers[id] = probe{name: id, invalid: true}
			batches = append(batches, x)
		}
	}
	if len(batches) < 8 {
		t.Errorf("%d backfill exchanges recorded", len(batches))
	}
	for _, v := range validateExchanges(t, batches, answers) {
		t.Error(v)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, row := range all[1:] {
		m := map[string]string{}
		for i, h := range all[0] {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// mutateChild returns a historic record with its child changed by f.
func mutateChild(t *testing.T, s *system, f func(child map[string]any)) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.opencrvs.WriteHistoric(t.Context(), &buf, opencrvssim.HistoricRequest{Count: 1}); err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	entries := b["entry"].([]any)
	var childRef string
	for _, e := range entries {
		res := e.(map[string]any)["resource"].(map[string]any)
		if res["resourceType"] != "Composition" {
			continue
		}
		for _, sec := range res["section"].([]any) {
			sec := sec.(map[string]any)
			code := sec["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]
			if code == "child-details" {
				childRef = sec["entry"].([]any)[0].(map[string]any)["reference"].(string)
			}
		}
	}
	for _, e := range entries {
		res := e.(map[string]any)["resource"].(map[string]any)
		if res["resourceType"] == "Patient" && "Patient/"+res["id"].(string) == childRef {
			f(res)
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unregister returns a historic record whose Task has no registration
// number: a record OpenCRVS has not registered.
func unregister(t *testing.T, s *system) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.opencrvs.WriteHistoric(t.Context(), &buf, opencrvssim.HistoricRequest{Count: 1}); err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		if res["resourceType"] != "Task" {
			continue
		}
		var keep []any
		for _, id := range res["identifier"].([]any) {
			if !strings.HasSuffix(id.(map[string]any)["system"].(string), "-registration-number") {
				keep = append(keep, id)
			}
		}
		res["identifier"] = keep
		delete(res, "businessStatus")
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cutAfter is an HTTP transport that, from the n-th backfill batch on,
// lets the mediator take the batch but loses its answer and stops the
// run: the backfill stops as if killed after the mediator committed and
// before the progress was saved.
type cutAfter struct {
	n      int
	seen   atomic.Int64
	cancel context.CancelFunc
}

func (c *cutAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || c.seen.Add(1) < int64(c.n) {
		return resp, err
	}
	resp.Body.Close()
	c.cancel()
	return nil, errors.New("killed")
}

// Done when: a backfill interrupted midway — after the mediator took a
// batch whose answer never came back — and resumed sends each record to
// MOSIP once: the resumed run starts after the last acknowledged batch, the
// mediator answers the unacknowledged one's records as duplicates, and
// every record ends with one packet in MOSIP and its national ID in
// OpenCRVS once.
func TestBackfillResumesWithoutSendingTwice(t *testing.T) {
	s := startBackfillSystem(t, systemOptions{})
	dir := t.TempDir()
	path := filepath.Join(dir, "records.ndjson")
	ids := s.historic(t, path, 300, true)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := s.backfillConfig(path, 0)
	cfg.Batch = 20
	cfg.HTTPClient = &http.Client{Transport: &cutAfter{n: 5, cancel: cancel}}
	rep, err := backfill.Run(ctx, cfg)
	if err == nil || rep.Done {
		t.Fatalf("interrupted run: %+v, %v; want it stopped", rep, err)
	}
	if rep.Counts.Accepted != 80 || rep.ThisRun != 80 {
		t.Fatalf("interrupted run acknowledged %+v, want 4 batches of 20", rep.Counts)
	}
	var prog struct {
		Offset int64
		Line   int
	}
	if err := json.Unmarshal(mustRead(t, path+".progress"), &prog); err != nil || prog.Line != 80 {
		t.Fatalf("progress %+v, %v; want line 80", prog, err)
	}

	cfg.HTTPClient = nil
	rep, err = backfill.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed == nil || rep.Resumed.Line != 80 {
		t.Errorf("resumed from %+v, want line 80", rep.Resumed)
	}
	if c := rep.Counts; !rep.Done || c.Accepted != 280 || c.Duplicates != 20 || c.Failed != 0 || rep.Total != 300 || rep.ThisRun != 220 {
		t.Errorf("resumed run: %+v; want 280 accepted and the lost batch's 20 as duplicates, 220 this run", rep)
	}
	s.waitIdentifiers(t, ids)
	waitFor(time.Until(s.deadline), func() bool {
		n, _ := s.mediator.Store().CountInState(t.Context(), bridge.StateConfirmed)
		return n == len(ids)
	})
	s.checkOnce(t, ids)
}

// The backfill queue never runs more calls to MOSIP at once than its
// workers, takes a slot of the shared rate for each, and does not hold
// up live records: one sent while historic records wait is registered,
// and intake's queue limit does not count the historic records.
func TestBackfillRateAndQueue(t *testing.T) {
	var mu sync.Mutex
	inFlight, most, packets := 0, 0, 0
	s := startBackfillSystem(t, systemOptions{config: func(c *Config) {
		c.BackfillWorkers = 2
		c.MaxQueueDepth = 5
	}})
	// Count the createPacket calls in flight at MOSIP (the backfill's,
	// until the live record): MOSIP back on its address behind a counter.
	inner := s.mosip
	s.stopMOSIP()
	s.mosipSrv = startServer(t, s.mosipSrv, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isPacket := strings.HasSuffix(r.URL.Path, "/createPacket")
		if isPacket {
			mu.Lock()
			inFlight++
			packets++
			most = max(most, inFlight)
			mu.Unlock()
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		}
		inner.ServeHTTP(w, r)
	}))
	const n, rate = 40, 10.0
	path := filepath.Join(t.TempDir(), "records.ndjson")
	ids := s.historic(t, path, n, true)
	start := time.Now()
	rep, err := backfill.Run(t.Context(), s.backfillConfig(path, rate))
	if err != nil || rep.Counts.Accepted != n || rep.MediatorRate != rate {
		t.Fatalf("backfill: %+v, %v", rep, err)
	}
	// Historic records still wait for their slots: a live record goes
	// through meanwhile, past the queue limit of 5.
	// (The rate keeps them waiting: the last batch went 2 s after the first,
	// and the queue cannot send faster than 10 a second.)
	if waiting, err := s.mediator.Store().QueueWaiting(t.Context(), jobs.QueueSubmitBackfill); err != nil || waiting <= 5 {
		t.Fatalf("%d historic records waiting (%v), want more than the queue limit of 5", waiting, err)
	}
	live := s.sendRecord(t, map[string]any{"kind": "birth"})
	if live.MediatorStatus != http.StatusAccepted {
		t.Fatalf("live record answered %d: %s", live.MediatorStatus, live.Mediator)
	}
	if got := s.waitRecord(t, live.ID); got.Status != "registered" {
		t.Errorf("live record %s", got.Status)
	}
	s.waitIdentifiers(t, ids)
	mu.Lock()
	defer mu.Unlock()
	if most > 2 {
		t.Errorf("%d createPacket calls at once, want at most the 2 backfill workers", most)
	}
	if packets != n+1 {
		t.Errorf("%d packets, want %d", packets, n+1)
	}
	// Each historic packet took a slot: the limit's next slot is at least
	// n intervals after the backfill started.
	next, err := s.mediator.Store().NextSlot(t.Context(), store.RateBackfill)
	if err != nil {
		t.Fatal(err)
	}
	if min := start.Add(time.Duration(n) * time.Second / rate); next.Before(min) {
		t.Errorf("next slot %v, want at least %v: not every packet took its slot", next, min)
	}
}

// The system client is configured whole or not at all, its token URL
// derived from the public key's; the backfill defaults are the documented
// ones.
func TestBackfillConfiguration(t *testing.T) {
	c, err := LoadConfig(envOf(requiredEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenCRVSClientID != "" || c.BackfillWorkers != 4 || c.BackfillMaxWaiting != 2000 || c.BackfillIdentifierType != "NATIONAL_ID" ||
		c.OpenCRVSTokenURL != "http://auth:4040/token" {
		t.Errorf("defaults: client %q, workers %d, max waiting %d, type %q, token URL %q", c.OpenCRVSClientID,
			c.BackfillWorkers, c.BackfillMaxWaiting, c.BackfillIdentifierType, c.OpenCRVSTokenURL)
	}
	env := requiredEnv()
	env["OPENCRVS_CLIENT_ID"] = "mediator"
	if _, err := LoadConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "OPENCRVS_CLIENT_SECRET") {
		t.Errorf("a client id without a secret: %v", err)
	}
	env["OPENCRVS_CLIENT_SECRET"] = "s3"
	env["OPENCRVS_PUBLIC_KEY_URL"] = "http://auth:4040/publickey"
	if _, err := LoadConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "OPENCRVS_AUTH_TOKEN_URL") {
		t.Errorf("no token URL to derive: %v", err)
	}
	env["OPENCRVS_AUTH_TOKEN_URL"] = "https://auth.example/token"
	if c, err := LoadConfig(envOf(env)); err != nil || c.OpenCRVSTokenURL != "https://auth.example/token" || c.OpenCRVSClientSecret != "s3" {
		t.Errorf("a whole system client: %+v, %v", c.OpenCRVSTokenURL, err)
	}
}

// Without a system client the admin API refuses a backfill, saying what
// to set; nothing is stored.
func TestBackfillOffWithoutSystemClient(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.AdminToken = testAdminToken }})
	path := filepath.Join(t.TempDir(), "records.ndjson")
	s.historic(t, path, 3, true)
	rep, err := backfill.Run(t.Context(), s.backfillConfig(path, 5))
	if err == nil || !strings.Contains(err.Error(), "OPENCRVS_CLIENT_ID") || rep.Done || rep.ThisRun != 0 {
		t.Errorf("backfill without a system client: %+v, %v; want refused, naming OPENCRVS_CLIENT_ID", rep, err)
	}
	if n := s.mosip.Stats().Packets; n != 0 {
		t.Errorf("%d packets sent", n)
	}
}

// A historic record MOSIP refuses ends REPORTED, its reason kept, and
// OpenCRVS is not called (the record stays registered there); one whose
// national ID OpenCRVS does not take at first (its gateway failing) gets
// it once the gateway is back.
func TestBackfillRefusalsAndOpenCRVSFailures(t *testing.T) {
	s := startBackfillSystem(t, systemOptions{})
	if err := s.mosip.SetFaults(mosipsim.Faults{RejectRate: 1}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refused := s.historic(t, filepath.Join(dir, "refused.ndjson"), 3, true)
	if _, err := backfill.Run(t.Context(), s.backfillConfig(filepath.Join(dir, "refused.ndjson"), 0)); err != nil {
		t.Fatal(err)
	}
	for _, id := range refused {
		tr := s.waitState(t, id, bridge.StateReported)
		if tr.RejectReason == "" {
			t.Errorf("record %s: REPORTED without a reason", id)
		}
	}
	var st struct {
		GraphQLRequests int `json:"graphqlRequests"`
	}
	do(t, "GET", s.opencrvsURL+"/sim/stats", nil, nil, &st)
	if st.GraphQLRequests != 0 {
		t.Errorf("OpenCRVS got %d GraphQL calls for refused historic records, want none", st.GraphQLRequests)
	}

	if err := s.mosip.SetFaults(mosipsim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{"errorRate": 1.0, "mode": "http500"}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	ids := s.historic(t, filepath.Join(dir, "later.ndjson"), 3, true)
	if _, err := backfill.Run(t.Context(), s.backfillConfig(filepath.Join(dir, "later.ndjson"), 0)); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		s.waitTransaction(t, s.transactionByRecord(t, id).ID, "a failed attempt at the national ID", func(tr *bridge.Transaction) bool {
			return tr.State == bridge.StateIssued && tr.Attempts > 0
		})
	}
	if st := do(t, "PUT", s.opencrvsURL+"/sim/faults", nil, map[string]any{}, nil); st/100 != 2 {
		t.Fatalf("PUT opencrvs /sim/faults: %d", st)
	}
	s.waitIdentifiers(t, ids)
	for _, id := range ids {
		s.waitState(t, id, bridge.StateConfirmed)
		if got, _ := s.opencrvs.RecordIdentifiers(id); got.Upserts != 1 {
			t.Errorf("record %s: %d upserts, want 1", id, got.Upserts)
		}
	}
}

// The same backfill on PostgreSQL: every record once to MOSIP, its
// national ID once in OpenCRVS, and a second pass only duplicates.
func TestBackfillPostgres(t *testing.T) {
	dbURL := pgtest.URL(t)
	s := startBackfillSystem(t, systemOptions{config: func(c *Config) { c.DatabaseURL = dbURL }})
	path := filepath.Join(t.TempDir(), "records.ndjson")
	ids := s.historic(t, path, 60, true)
	cfg := s.backfillConfig(path, 0)
	cfg.Batch = 15
	if rep, err := backfill.Run(t.Context(), cfg); err != nil || rep.Counts.Accepted != len(ids) {
		t.Fatalf("backfill: %+v, %v", rep, err)
	}
	s.waitIdentifiers(t, ids)
	waitFor(time.Until(s.deadline), func() bool {
		n, _ := s.mediator.Store().CountInState(t.Context(), bridge.StateConfirmed)
		return n == len(ids)
	})
	s.checkOnce(t, ids)
	cfg.Restart = true
	if rep, err := backfill.Run(t.Context(), cfg); err != nil || rep.Counts.Duplicates != len(ids) {
		t.Errorf("second pass: %+v, %v; want only duplicates", rep, err)
	}
}

// A historic record whose tracking ID already belongs to another record is
// listed as failed with the reason, not counted as a duplicate of it.
func TestBackfillRefusesATrackingIDOfAnotherRecord(t *testing.T) {
	s := startBackfillSystem(t, systemOptions{})
	dir := t.TempDir()
	first := filepath.Join(dir, "first.ndjson")
	ids := s.historic(t, first, 1, true)
	if _, err := backfill.Run(t.Context(), s.backfillConfig(first, 0)); err != nil {
		t.Fatal(err)
	}
	line, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	// The same record under another record id: the same tracking ID.
	second := filepath.Join(dir, "second.ndjson")
	other := bytes.ReplaceAll(line, []byte(ids[0]), []byte("0b9e4f4e-0000-4000-8000-000000000001"))
	if bytes.Equal(other, line) {
		t.Fatal("the record id is not in the line")
	}
	if err := os.WriteFile(second, other, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := backfill.Run(t.Context(), s.backfillConfig(second, 0))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Failed != 1 || rep.Counts.Duplicates != 0 || rep.Counts.Accepted != 0 {
		t.Fatalf("counts %+v, want the record failed", rep.Counts)
	}
	report, err := os.ReadFile(second + ".report.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(report, []byte("already belongs to another record")) {
		t.Errorf("report %s does not say the tracking ID is taken", report)
	}
}
