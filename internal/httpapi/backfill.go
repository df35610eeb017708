package httpapi

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/pipeline"
)

// backfill: POST /admin/backfill?rate=N takes a batch of historic records
// (`opencrvs-mosip backfill`), one OpenCRVS 1.8 FHIR bundle a line
// (NDJSON; blank lines are ignored), and answers a
// pipeline.BackfillAnswer: one result per record, in order, once those
// accepted are stored. rate (records a second towards MOSIP, 0: no limit;
// "5/s" is read as 5) becomes the backfill queue's rate, for every
// mediator on the database.
func (h *handler) backfill(w http.ResponseWriter, r *http.Request) {
	var opts pipeline.BackfillOptions
	if q := r.URL.Query().Get("rate"); q != "" {
		rate, err := ParseRate(q)
		if err != nil {
			writeError(w, r, h.Logger, err)
			return
		}
		opts.Rate = &rate
	}
	if h.Stopping != nil && h.Stopping() {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.EBusy, "the mediator is shutting down; send the batch again in a moment"))
		return
	}
	body, err := readBody(w, r, h.MaxBodyBytes)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var records [][]byte
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			records = append(records, line)
		}
	}
	ans, err := h.Pipeline.AcceptBackfill(r.Context(), records, opts)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// ParseRate reads a rate of records a second: "5", "5/s" or "0.5" (0: no
// limit). EInvalid otherwise.
func ParseRate(s string) (float64, error) {
	v := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	rate, err := strconv.ParseFloat(v, 64)
	if err != nil || rate < 0 || rate > 1e6 || math.IsNaN(rate) {
		return 0, bridge.FieldErrorf(bridge.EInvalid, "rate", "%q is not a rate such as 5/s (records a second; 0: no limit)", s)
	}
	return rate, nil
}

// liveQueued counts the live records waiting to be submitted to MOSIP:
// the QUEUED transactions less the historic ones waiting on the backfill
// queue, which have a limit of their own and must not hold up intake.
func liveQueued(count, backfill func(context.Context) (int, error)) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		n, err := count(ctx)
		if err != nil {
			return 0, err
		}
		b, err := backfill(ctx)
		if err != nil {
			return 0, err
		}
		return max(0, n-b), nil
	}
}

// backfillWaiting is the queue liveQueued subtracts.
const backfillWaiting = jobs.QueueSubmitBackfill
