package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The source reads records in order across a directory's files: blank
// lines skipped, a last line without its newline kept, a too long line
// and a .json file that is not JSON reported without being sent, and a
// resume starting where the progress says.
func TestSource(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.ndjson", "{\"n\":1}\n\n  {\"n\":2}  \r\n"+`{"n":"`+strings.Repeat("x", 100)+`"}`+"\n{\"n\":3}")
	write("b.json", "{\n  \"n\": 4\n}\n")
	write("c.json", "{not json")
	write("d.ndjson", "")
	write("e.txt", "{\"n\":99}\n")
	files, err := listInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		File string
		Line int
		Rec  string
		Fail string
	}
	read := func(pos Position) ([]got, []Position) {
		src, err := newSource(files, pos, 64)
		if err != nil {
			t.Fatal(err)
		}
		defer src.close()
		var out []got
		var ends []Position
		for {
			var body bytes.Buffer
			it, err := src.next(&body)
			if err == io.EOF {
				return out, ends
			}
			if err != nil {
				t.Fatal(err)
			}
			g := got{File: it.file, Line: it.line, Rec: body.String()}
			if it.failed != nil {
				g.Fail = it.failed.Code
			}
			out = append(out, g)
			ends = append(ends, Position{File: it.file, Offset: it.end, Line: it.line})
		}
	}
	all, ends := read(Position{})
	want := []got{
		{"a.ndjson", 1, "{\"n\":1}\n", ""},
		{"a.ndjson", 3, "{\"n\":2}\n", ""},
		{"a.ndjson", 4, "", CodeTooLarge},
		{"a.ndjson", 5, "{\"n\":3}\n", ""},
		{"b.json", 1, "{\"n\":4}\n", ""},
		{"c.json", 1, "", CodeInvalid},
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	// From each record's end, the rest follows.
	for i, pos := range ends {
		rest, _ := read(pos)
		if diff := cmp.Diff(want[i+1:], rest, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("resumed after record %d (-want +got):\n%s", i, diff)
		}
	}
	if _, err := newSource(files, Position{File: "gone.ndjson"}, 64); err == nil {
		t.Error("a progress naming a file the input lacks was taken")
	}
	if _, err := newSource(files, Position{File: "a.ndjson", Offset: 1 << 20}, 64); err == nil {
		t.Error("a progress beyond the file's end was taken")
	}
	if n, err := countRecords(files, nil); err != nil || n != 6 {
		t.Errorf("countRecords = %d, %v; want 6", n, err)
	}
}

// fakeMediator answers POST /admin/backfill: every record accepted, or
// the status fail returns for the next calls.
type fakeMediator struct {
	mu      sync.Mutex
	batches []int       // records per batch taken
	fail    []int       // statuses to answer first
	failOn  map[int]int // status to answer the n-th call (1-based)
	calls   int
	max     int // bodies above this answer 413 (0: none)
}

func (m *fakeMediator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Query().Get("rate") == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	m.calls++
	if st, ok := m.failOn[m.calls]; ok || len(m.fail) > 0 {
		if !ok {
			st, m.fail = m.fail[0], m.fail[1:]
		}
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(st)
		_, _ = w.Write([]byte(`{"detail":"busy"}`))
		return
	}
	if m.max > 0 && len(body) > m.max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	lines := bytes.Split(bytes.TrimSpace(body), []byte("\n"))
	ans := answer{Rate: 5}
	for i, l := range lines {
		res := result{Index: i, Status: "accepted"}
		if bytes.Contains(l, []byte("skip")) {
			res.Status, res.Reason = "skipped", "the rule said no"
		}
		if bytes.Contains(l, []byte("bad")) {
			res.Status, res.Code, res.Reason = "failed", "invalid", "not a record"
		}
		ans.Results = append(ans.Results, res)
	}
	m.batches = append(m.batches, len(lines))
	_ = json.NewEncoder(w).Encode(ans)
}

// fakeTime is a clock that sleeping moves on.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (f *fakeTime) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

func (f *fakeTime) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.slept = append(f.slept, d)
	return nil
}

func writeLines(t *testing.T, path string, n int, tag func(i int) string) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(`{"n":` + strings.Repeat("1", 1+i%3) + `,"t":"` + tag(i) + `"}` + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Batches go at the rate (on a fake clock: the second batch of 20 waits
// the 2 s the first took at 10 a second), a busy mediator is waited for as
// it asks (Retry-After), and a batch it finds too large is split; skipped
// and failed records are in the report (CSV).
func TestRunPacesRetriesAndSplits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.ndjson")
	writeLines(t, path, 50, func(i int) string {
		switch i % 10 {
		case 3:
			return "skip"
		case 7:
			return "bad"
		}
		return "ok"
	})
	// Calls: 1 is 413 (then 2 and 3 its halves), 4 busy, 5 rate limited,
	// 6 is 413 again (7 and 8), 9 the last batch.
	m := &fakeMediator{failOn: map[int]int{4: http.StatusServiceUnavailable, 5: http.StatusTooManyRequests}, max: 300}
	srv := httptest.NewServer(m)
	defer srv.Close()
	clock := &fakeTime{now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	rep, err := Run(t.Context(), Config{Path: path, Server: srv.URL, Token: "tok", Rate: 10,
		ReportPath: filepath.Join(dir, "report.csv"), Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Accepted: 40, SkippedByRules: 5, Failed: 5, FailedReasons: map[string]int{"invalid": 5}}
	if diff := cmp.Diff(want, rep.Counts); diff != "" || !rep.Done || rep.Total != 50 {
		t.Errorf("report %+v (-want +got counts):\n%s", rep, diff)
	}
	total := 0
	for _, n := range m.batches {
		total += n
		if n > 20 {
			t.Errorf("a batch of %d records: more than two seconds' worth", n)
		}
	}
	if total != 50 {
		t.Errorf("the mediator took %d records, want 50", total)
	}
	// The pace before the second batch, then twice the mediator's
	// Retry-After; the third batch was due by then.
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, clock.slept); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if m.calls != 9 {
		t.Errorf("%d calls, want 9", m.calls)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(report)), "\n")
	if len(lines) != 11 || lines[0] != strings.Join(csvHeader, ",") || !strings.HasPrefix(lines[1], "in.ndjson,4,skipped,") || !strings.HasPrefix(lines[2], "in.ndjson,8,failed,invalid,") {
		t.Errorf("report:\n%s", report)
	}
}

// A run stopped by its context keeps its place; the next run starts there,
// with the report as the acknowledged batches left it; a refusal that
// retrying cannot fix stops the run with the mediator's words.
func TestRunResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.ndjson")
	writeLines(t, path, 30, func(i int) string {
		if i%5 == 0 {
			return "skip"
		}
		return "ok"
	})
	m := &fakeMediator{}
	srv := httptest.NewServer(m)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	stopAfter := 2
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		m.mu.Lock()
		n := len(m.batches)
		m.mu.Unlock()
		if n == stopAfter { // stopped as the third batch would go
			cancel()
			return nil, context.Canceled
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	cfg := Config{Path: path, Server: srv.URL, Token: "tok", Rate: 0, Batch: 10, HTTPClient: client}
	rep, err := Run(ctx, cfg)
	if err == nil || rep.Done || rep.Counts.done() != 20 {
		t.Fatalf("stopped run: %+v, %v; want 2 batches acknowledged", rep, err)
	}
	cfg.HTTPClient = nil
	rep, err = Run(t.Context(), cfg)
	if err != nil || !rep.Done || rep.ThisRun != 10 || rep.Counts.done() != 30 || rep.Resumed == nil || rep.Resumed.Line != 20 {
		t.Fatalf("resumed run: %+v, %v", rep, err)
	}
	report, _ := os.ReadFile(path + ".report.jsonl")
	if n := strings.Count(string(report), "\n"); n != 6 {
		t.Errorf("report has %d lines, want the 6 skipped records once each:\n%s", n, report)
	}
	// The progress file belongs to its input.
	other := filepath.Join(dir, "other.ndjson")
	writeLines(t, other, 1, func(int) string { return "ok" })
	if _, err := Run(t.Context(), Config{Path: other, ProgressPath: path + ".progress", Server: srv.URL, Token: "tok"}); err == nil {
		t.Error("another input's progress file was used")
	}
	// A refusal stops the run.
	m.fail = []int{http.StatusConflict}
	_, err = Run(t.Context(), Config{Path: other, Server: srv.URL, Token: "tok"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 409: busy") {
		t.Errorf("refused batch: %v", err)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
