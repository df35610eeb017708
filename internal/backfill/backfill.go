// Package backfill is the client side of `opencrvs-mosip backfill`: it
// streams historic records (OpenCRVS 1.8 FHIR bundles of records already
// registered, one a line, or a directory of .json and .ndjson files) to a
// running mediator's POST /admin/backfill in batches, at a rate, and keeps
// what it needs to resume after an interruption without sending a record
// twice.
//
// Memory stays flat whatever the input's size: records are read as they
// are sent, a batch at a time (bounded in records and bytes), and a
// record longer than Config.MaxRecordBytes is reported, not held.
//
// Resuming: after each batch the mediator acknowledged, the progress file
// (written atomically) records the position in the input (file, byte
// offset, line), the counts so far and the length of the report. A
// restart continues from there and truncates the report to that length,
// so nothing acknowledged is sent again and no line is reported twice.
// What was sent but not acknowledged (the run stopped during a batch) is
// sent again: the mediator answers those it already has as duplicates
// (one live transaction per record), so no record reaches MOSIP twice.
//
// The report (--report) lists, one per line, each record that the country
// rules do not send to MOSIP (skipped) and each that failed (with its code
// and reason), as JSON Lines, or CSV for a .csv name.
package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"opencrvs-mosip/internal/telemetry"
)

// Defaults of Config.
const (
	DefaultRate          = 5.0
	DefaultBatch         = 200
	DefaultMaxBatchBytes = 4 << 20
)

// maxPending bounds the records of a batch counting those that are not
// sent (too large, not JSON).
const maxPending = 10_000

// Config configures a run.
type Config struct {
	// Path is the input: an NDJSON file, or a directory whose *.json (one
	// record each) and *.ndjson files are read in name order.
	Path string
	// Server is the mediator's base URL; Token its ADMIN_TOKEN.
	Server, Token string
	// Rate is how many records a second are sent, and the rate the
	// mediator's backfill queue then keeps towards MOSIP (0: no limit).
	Rate float64
	// Batch bounds the records of one request (default DefaultBatch; at a
	// low rate, two seconds' worth); MaxBatchBytes its body (default
	// DefaultMaxBatchBytes; a batch the mediator finds too large is split).
	Batch, MaxBatchBytes int
	// MaxRecordBytes bounds one record (default DefaultMaxRecordBytes): a
	// longer one is reported as too large and not sent.
	MaxRecordBytes int
	// ReportPath and ProgressPath default to Path + ".report.jsonl" and
	// Path + ".progress".
	ReportPath, ProgressPath string
	// Restart ignores the progress file and starts from the beginning (the
	// mediator still answers records it has as duplicates).
	Restart bool
	// Progress receives the progress display (nil: none); Terminal
	// rewrites one line, otherwise a line is written every ProgressEvery
	// (default 10s).
	Progress      io.Writer
	Terminal      bool
	ProgressEvery time.Duration
	HTTPClient    *http.Client // nil: a client without a timeout (each request has its own)
	// RequestTimeout bounds one batch's request (default 5 minutes).
	RequestTimeout time.Duration
	// Now and Sleep are the clock (nil: the real one).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// Entry statuses and codes of the report (besides the mediator's error
// codes, such as invalid and unsupported).
const (
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
	CodeTooLarge  = "too_large"
	CodeInvalid   = "invalid"
)

// Entry is one line of the report.
type Entry struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	Status     string `json:"status"`
	Code       string `json:"code,omitempty"`
	Field      string `json:"field,omitempty"`
	RecordID   string `json:"recordId,omitempty"`
	TrackingID string `json:"trackingId,omitempty"`
	Reason     string `json:"reason"`
}

// Counts are the outcomes so far, over every run of one backfill.
type Counts struct {
	Accepted       int            `json:"accepted"`
	SkippedByRules int            `json:"skippedByRules"`
	Failed         int            `json:"failed"`
	FailedReasons  map[string]int `json:"failedReasons"`
	Duplicates     int            `json:"duplicates"`
}

func (c *Counts) done() int { return c.Accepted + c.SkippedByRules + c.Failed + c.Duplicates }

// Position is where the input was acknowledged up to.
type Position struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Line   int    `json:"line"`
}

// Report is the outcome of a run.
type Report struct {
	Input string `json:"input"`
	// Total is the number of records in the input; Done whether every one
	// was answered.
	Total int  `json:"total"`
	Done  bool `json:"done"`
	Counts
	// ThisRun is what this run sent; DurationSeconds and RatePerSecond
	// are this run's.
	ThisRun         int     `json:"thisRun"`
	DurationSeconds float64 `json:"durationSeconds"`
	RatePerSecond   float64 `json:"ratePerSecond"`
	// Resumed is where this run started, when it continued an earlier one.
	Resumed *Position `json:"resumedFrom,omitempty"`
	// MediatorRate is the mediator's backfill rate towards MOSIP, and
	// MediatorWaiting how many historic records wait for MOSIP there, as
	// of the last batch.
	MediatorRate    float64 `json:"mediatorRate"`
	MediatorWaiting int     `json:"mediatorWaiting"`
	ReportFile      string  `json:"report"`
	ProgressFile    string  `json:"progress"`
}

// progressFile is the progress file's content.
type progressFile struct {
	Version int    `json:"version"`
	Input   string `json:"input"`
	Position
	ReportBytes int64     `json:"reportBytes"`
	Counts      Counts    `json:"counts"`
	Done        bool      `json:"done"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Run sends the input's records to the mediator and returns the report of
// the whole backfill so far (with an error when it stopped before the end:
// ctx cancelled, or the mediator refused the batch for a reason retrying
// cannot fix). Batches the mediator answers busy or unavailable, or that
// do not reach it, are sent again after a pause, for as long as ctx lasts.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	r, err := newRun(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	err = r.run(ctx)
	return r.report(), err
}

type run struct {
	cfg   Config
	files []inputFile
	src   *source
	rep   *reportWriter
	prog  progressFile
	start time.Time
	// startDone and startBytes are where this run began.
	startDone  int
	startBytes int64
	resumed    *Position
	body       bytes.Buffer
	pending    []item
	sent       int // records sent this run, for the pace
	// total is the input's record count once counted (-1 before).
	mu            sync.Mutex
	total         int
	totalBytes    int64
	doneBytes     int64
	lastRate      float64
	lastWaiting   int
	stopDisplay   chan struct{}
	displayDone   chan struct{}
	maxBatchBytes int
}

func newRun(cfg Config) (*run, error) {
	if cfg.Path == "" {
		return nil, errors.New("no input: give --file")
	}
	cfg.Path = strings.TrimRight(cfg.Path, string(os.PathSeparator))
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("rate %v: want 0 (no limit) or more records a second", cfg.Rate)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Rate > 0 {
		// A batch is at most two seconds' worth, so that the pace is even.
		cfg.Batch = min(cfg.Batch, max(1, int(math.Ceil(2*cfg.Rate))))
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if cfg.ReportPath == "" {
		cfg.ReportPath = cfg.Path + ".report.jsonl"
	}
	if cfg.ProgressPath == "" {
		cfg.ProgressPath = cfg.Path + ".progress"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 5 * time.Minute
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	files, err := listInput(cfg.Path)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, files: files, total: -1, maxBatchBytes: cfg.MaxBatchBytes}
	for _, f := range files {
		r.totalBytes += f.size
	}
	if !cfg.Restart {
		if err := r.loadProgress(); err != nil {
			return nil, err
		}
	}
	if r.prog.Counts.FailedReasons == nil {
		r.prog.Counts.FailedReasons = map[string]int{}
	}
	r.prog.Version, r.prog.Input = 1, cfg.Path
	if r.src, err = newSource(files, r.prog.Position, cfg.MaxRecordBytes); err != nil {
		return nil, err
	}
	if r.rep, err = openReport(cfg.ReportPath, r.prog.ReportBytes); err != nil {
		r.src.close()
		return nil, err
	}
	if r.prog.File != "" {
		pos := r.prog.Position
		r.resumed = &pos
	}
	r.startDone, r.startBytes, r.doneBytes = r.prog.Counts.done(), r.src.done(), r.src.done()
	return r, nil
}

func (r *run) close() {
	r.src.close()
	r.rep.close()
}

// loadProgress reads the progress file, if any.
func (r *run) loadProgress() error {
	data, err := os.ReadFile(r.cfg.ProgressPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &r.prog); err != nil {
		return fmt.Errorf("progress file %s: %w (delete it, or use --restart)", r.cfg.ProgressPath, err)
	}
	if r.prog.Version != 1 {
		return fmt.Errorf("progress file %s: version %d is not one this program writes (use --restart)", r.cfg.ProgressPath, r.prog.Version)
	}
	if r.prog.Input != "" && r.prog.Input != r.cfg.Path {
		return fmt.Errorf("progress file %s is of the backfill of %s, not %s (give --progress, or use --restart)", r.cfg.ProgressPath, r.prog.Input, r.cfg.Path)
	}
	return nil
}

func (r *run) run(ctx context.Context) error {
	r.start = r.cfg.Now()
	r.startDisplay()
	defer r.stopDisplayLoop()
	if r.prog.Done {
		return nil
	}
	for {
		eof, err := r.fill()
		if err != nil {
			return err
		}
		if len(r.pending) > 0 {
			if err := r.pace(ctx, r.body.Len() > 0); err != nil {
				return err
			}
			if err := r.flush(ctx); err != nil {
				return err
			}
		}
		if eof {
			r.prog.Done = true
			return r.saveProgress()
		}
		if err := ctx.Err(); err != nil {
			return interrupted(err)
		}
	}
}

func interrupted(err error) error {
	return fmt.Errorf("interrupted (%w): run the same command again to resume", err)
}

// fill reads the next batch into body and pending.
func (r *run) fill() (eof bool, err error) {
	r.body.Reset()
	r.pending = r.pending[:0]
	sendable := 0
	for sendable < r.cfg.Batch && r.body.Len() < r.maxBatchBytes && len(r.pending) < maxPending {
		it, err := r.src.next(&r.body)
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", r.cfg.Path, err)
		}
		r.pending = append(r.pending, it)
		if it.failed == nil {
			sendable++
		}
	}
	return false, nil
}

// pace waits until this batch may go: the records sent so far at the rate.
func (r *run) pace(ctx context.Context, sending bool) error {
	if r.cfg.Rate <= 0 || !sending {
		return nil
	}
	due := r.start.Add(time.Duration(float64(r.sent) / r.cfg.Rate * float64(time.Second)))
	if wait := due.Sub(r.cfg.Now()); wait > 0 {
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return interrupted(err)
		}
	}
	return nil
}

// flush sends the pending batch, records its outcome, and saves the
// progress.
func (r *run) flush(ctx context.Context) error {
	lines := splitLines(r.body.Bytes())
	var sendable []item
	for _, it := range r.pending {
		if it.failed == nil {
			sendable = append(sendable, it)
		}
	}
	if len(lines) != len(sendable) {
		return fmt.Errorf("internal: %d lines for %d records", len(lines), len(sendable))
	}
	results, err := r.send(ctx, lines)
	if err != nil {
		return err
	}
	r.sent += len(sendable)
	r.mu.Lock() // the display reads the counts
	defer r.mu.Unlock()
	k := 0
	for _, it := range r.pending {
		e := it.failed
		if e == nil {
			e = r.outcome(results[k])
			k++
		} else {
			r.prog.Counts.Failed++
			r.prog.Counts.FailedReasons[e.Code]++
		}
		if e != nil {
			e.File, e.Line = it.file, it.line
			if err := r.rep.write(e); err != nil {
				return fmt.Errorf("write the report %s: %w", r.cfg.ReportPath, err)
			}
		}
	}
	last := r.pending[len(r.pending)-1]
	r.prog.Position = Position{File: last.file, Offset: last.end, Line: last.line}
	r.doneBytes = r.src.done()
	return r.saveProgress()
}

// outcome counts a mediator's result and returns its report entry (nil
// for accepted and duplicate records).
func (r *run) outcome(res result) *Entry {
	c := &r.prog.Counts
	switch res.Status {
	case "accepted":
		c.Accepted++
		return nil
	case "duplicate":
		c.Duplicates++
		return nil
	case "skipped":
		c.SkippedByRules++
		return &Entry{Status: StatusSkipped, RecordID: res.RecordID, TrackingID: res.TrackingID, Reason: res.Reason}
	}
	code := res.Code
	if code == "" {
		code = "unknown"
	}
	c.Failed++
	c.FailedReasons[code]++
	return &Entry{Status: StatusFailed, Code: code, Field: res.Field, RecordID: res.RecordID, TrackingID: res.TrackingID,
		Reason: telemetry.Printable(res.Reason, 1000)}
}

func splitLines(body []byte) [][]byte {
	var out [][]byte
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		out = append(out, body[:i+1])
		body = body[i+1:]
	}
	return out
}

// saveProgress writes the progress file atomically, after the report is
// on disk.
func (r *run) saveProgress() error {
	n, err := r.rep.sync()
	if err != nil {
		return fmt.Errorf("write the report %s: %w", r.cfg.ReportPath, err)
	}
	r.prog.ReportBytes, r.prog.UpdatedAt = n, r.cfg.Now().UTC()
	data, err := json.MarshalIndent(r.prog, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.cfg.ProgressPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write the progress file: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, r.cfg.ProgressPath)
	}
	if err != nil {
		return fmt.Errorf("write the progress file: %w", err)
	}
	return nil
}

// report is the Report of the backfill so far.
func (r *run) report() *Report {
	r.mu.Lock()
	total, rate, waiting := r.total, r.lastRate, r.lastWaiting
	r.mu.Unlock()
	c := r.prog.Counts
	c.FailedReasons = copyMap(c.FailedReasons)
	if total < 0 && r.prog.Done {
		total = c.done()
	}
	rep := &Report{
		Input: r.cfg.Path, Total: total, Done: r.prog.Done, Counts: c,
		ThisRun: c.done() - r.startDone, Resumed: r.resumed,
		MediatorRate: rate, MediatorWaiting: waiting,
		ReportFile: r.cfg.ReportPath, ProgressFile: r.cfg.ProgressPath,
	}
	if !r.start.IsZero() {
		d := r.cfg.Now().Sub(r.start)
		rep.DurationSeconds = math.Round(d.Seconds()*1000) / 1000
		if d > 0 {
			rep.RatePerSecond = math.Round(float64(rep.ThisRun)/d.Seconds()*10) / 10
		}
	}
	return rep
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfter reads a Retry-After of seconds (0 when absent).
func retryAfter(h http.Header) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(min(s, 300)) * time.Second
}
