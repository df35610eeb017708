package kafka

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// worker handles the records of one assigned partition, one at a time in
// offset order, and commits each once it is done.
type worker struct {
	s      *session
	cl     *kgo.Client
	p      partition
	ctx    context.Context // canceled when the partition is revoked or Run stops
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	wake   chan struct{} // a batch was queued

	mu     sync.Mutex
	queue  [][]*kgo.Record
	paused bool // fetching of the partition is paused until the queue drains

	// Owned by run, then by stop once done is closed.
	last        *kgo.Record // the last record done and not yet committed
	uncommitted int         // records done and not yet committed
}

// maxQueued is how many fetched batches may wait for a worker before its
// partition's fetching is paused, so that a partition stuck on a failing
// record does not fill memory. Pausing never skips: kgo fetches the
// partition again from where the last batch ended once it is resumed.
const maxQueued = 2

// push queues a batch. It runs between a poll and AllowRebalance.
func (w *worker) push(recs []*kgo.Record) {
	w.mu.Lock()
	w.queue = append(w.queue, recs)
	if len(w.queue) >= maxQueued && !w.paused {
		w.paused = true
		w.cl.PauseFetchPartitions(map[string][]int32{w.p.topic: {w.p.id}})
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// next returns the next batch, or nil once the worker is stopped.
func (w *worker) next() []*kgo.Record {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			b := w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
			if len(w.queue) == 0 && w.paused {
				w.paused = false
				w.cl.ResumeFetchPartitions(map[string][]int32{w.p.topic: {w.p.id}})
			}
			w.mu.Unlock()
			return b
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return nil
		}
	}
}

func (w *worker) run() {
	defer close(w.done)
	for {
		batch := w.next()
		if batch == nil {
			return
		}
		for _, r := range batch {
			if !w.handle(r) {
				return // stopped: r and the rest are not committed
			}
			w.last = r
			w.uncommitted++
			w.commit(w.ctx)
		}
	}
}

// handle calls the handler until it succeeds or reports the record as
// poison (true), or until the worker is stopped (false).
func (w *worker) handle(kr *kgo.Record) bool {
	cfg, log := w.s.cfg, w.s.log
	r := newRecord(kr)
	for attempt := 1; ; attempt++ {
		r.Attempt = attempt
		if attempt == 1 {
			cfg.Metrics.consumed(r.Topic)
		} else {
			cfg.Metrics.retried(r.Topic)
		}
		err := w.s.handler(w.ctx, r)
		if err == nil {
			return true
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			log.Error("kafka: poison record, committed without its work", "topic", r.Topic, "partition", r.Partition,
				"offset", r.Offset, "record_key", string(r.Key), "error", perm.err)
			cfg.Metrics.poison(r.Topic)
			if cfg.OnPoison != nil {
				cfg.OnPoison(r, perm.err)
			}
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		delay := cfg.retryDelay(attempt)
		log.Warn("kafka: record failed, will retry", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset,
			"record_key", string(r.Key), "attempt", attempt, "retry_in", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-w.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// commit commits the offset after the last record done, if any. A failed
// commit is logged and retried with the next record or when the worker
// stops: offsets are cumulative, so a later commit covers this one.
func (w *worker) commit(ctx context.Context) {
	if w.last == nil {
		return
	}
	if err := w.cl.CommitRecords(ctx, w.last); err != nil {
		if ctx.Err() == nil {
			w.s.log.Warn("kafka: commit failed; will commit again", "topic", w.p.topic, "partition", w.p.id,
				"offset", w.last.Offset, "error", err)
		}
		return
	}
	w.s.cfg.Metrics.committed(w.p.topic, w.uncommitted)
	w.last, w.uncommitted = nil, 0
}
