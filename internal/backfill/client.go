package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"opencrvs-mosip/internal/telemetry"
)

// result is the mediator's answer for one record
// (pipeline.BackfillResult).
type result struct {
	Index      int    `json:"index"`
	Status     string `json:"status"`
	ID         string `json:"id"`
	RecordID   string `json:"recordId"`
	TrackingID string `json:"trackingId"`
	Code       string `json:"code"`
	Field      string `json:"field"`
	Reason     string `json:"reason"`
}

// answer is the mediator's answer to a batch (pipeline.BackfillAnswer).
type answer struct {
	Results []result `json:"results"`
	Rate    float64  `json:"rate"`
	Waiting int      `json:"waiting"`
}

// Pauses between attempts at a batch the mediator did not take.
const (
	firstPause = time.Second
	maxPause   = 30 * time.Second
)

// send sends lines (records, each ending in a newline) and returns one
// result per line. A batch the mediator finds too large is split in two.
// Batches that do not reach the mediator, or that it answers busy,
// unavailable or rate limited, are sent again after a pause.
func (r *run) send(ctx context.Context, lines [][]byte) ([]result, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	pause := firstPause
	for attempt := 1; ; attempt++ {
		ans, status, wait, err := r.post(ctx, lines)
		switch {
		case err == nil:
			r.mu.Lock()
			r.lastRate, r.lastWaiting = ans.Rate, ans.Waiting
			r.mu.Unlock()
			return ans.Results, nil
		case ctx.Err() != nil:
			return nil, interrupted(ctx.Err())
		case status == http.StatusRequestEntityTooLarge && len(lines) > 1:
			// Smaller batches from now on, and this one in halves.
			r.maxBatchBytes = max(1, r.maxBatchBytes/2)
			half := len(lines) / 2
			first, err := r.send(ctx, lines[:half])
			if err != nil {
				return nil, err
			}
			second, err := r.send(ctx, lines[half:])
			return append(first, second...), err
		case status == http.StatusRequestEntityTooLarge:
			return []result{{Status: StatusFailed, Code: CodeTooLarge, Reason: "the record is larger than the mediator takes (MAX_BODY_BYTES)"}}, nil
		case !retryable(status):
			return nil, err
		}
		if wait <= 0 {
			wait = pause
			pause = min(2*pause, maxPause)
		}
		r.notef("batch not taken (attempt %d): %v; sending it again in %s", attempt, err, wait)
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return nil, interrupted(err)
		}
	}
}

// retryable: no answer (status 0), or the mediator busy, unavailable or
// rate limiting.
func retryable(status int) bool {
	switch status {
	case 0, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// post sends one batch. status is the answer's HTTP status (0: none); wait
// the Retry-After it asked for.
func (r *run) post(ctx context.Context, lines [][]byte) (*answer, int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	target := r.cfg.Server + "/admin/backfill?rate=" + url.QueryEscape(strconv.FormatFloat(r.cfg.Rate, 'f', -1, 64))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(bytes.Join(lines, nil)))
	if err != nil {
		return nil, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("cannot reach the mediator at %s: %w", r.cfg.Server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read the mediator's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, retryAfter(resp.Header), problemError(resp.StatusCode, raw)
	}
	var ans answer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, resp.StatusCode, 0, fmt.Errorf("the mediator's answer is not a backfill answer: %w", err)
	}
	if len(ans.Results) != len(lines) {
		return nil, resp.StatusCode, 0, fmt.Errorf("the mediator answered %d results for %d records", len(ans.Results), len(lines))
	}
	return &ans, resp.StatusCode, 0, nil
}

// problemError says what a problem answer says.
func problemError(status int, raw []byte) error {
	var p struct{ Title, Detail, Field string }
	msg := ""
	if json.Unmarshal(raw, &p) == nil {
		msg = p.Detail
		if msg == "" {
			msg = p.Title
		}
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if status == http.StatusUnauthorized {
		msg += " (check ADMIN_TOKEN or ADMIN_TOKEN_FILE)"
	}
	return fmt.Errorf("the mediator answered HTTP %d: %s", status, telemetry.Printable(msg, 500))
}
