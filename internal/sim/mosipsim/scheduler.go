package mosipsim

import (
	"container/heap"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// scheduler runs tasks at or after their due time on a fixed pool of
// workers. Registration stages, intent verifications and deliveries all go
// through one, so the simulator's goroutine count stays fixed however many
// records are in flight, and Close stops them all at once.
type scheduler struct {
	name string
	log  *slog.Logger

	mu      sync.Mutex
	tasks   taskHeap
	seq     uint64
	stopped bool

	wake    chan struct{} // capacity 1: "the earliest due time may have changed"
	work    chan *task
	running atomic.Int64
}

type task struct {
	due time.Time
	seq uint64 // keeps tasks due at the same time in FIFO order
	run func(context.Context)
}

func newScheduler(name string, log *slog.Logger) *scheduler {
	return &scheduler{
		name: name,
		log:  log,
		wake: make(chan struct{}, 1),
		work: make(chan *task),
	}
}

// start launches the dispatcher and workers; they stop when ctx is done.
func (q *scheduler) start(ctx context.Context, wg *sync.WaitGroup, workers int) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.dispatch(ctx)
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.serve(ctx)
		}()
	}
	context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.stopped = true
		q.tasks = nil
		q.mu.Unlock()
	})
}

// after queues run to start after d. It reports false when the scheduler
// has stopped and the task was dropped.
func (q *scheduler) after(d time.Duration, run func(context.Context)) bool {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return false
	}
	q.seq++
	heap.Push(&q.tasks, &task{due: time.Now().Add(d), seq: q.seq, run: run})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// pending is the number of tasks queued or running.
func (q *scheduler) pending() int {
	q.mu.Lock()
	n := len(q.tasks)
	q.mu.Unlock()
	return n + int(q.running.Load())
}

func (q *scheduler) dispatch(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		q.mu.Lock()
		var next *task
		var wait <-chan time.Time
		if len(q.tasks) > 0 {
			if d := time.Until(q.tasks[0].due); d <= 0 {
				next = heap.Pop(&q.tasks).(*task)
			} else {
				timer.Reset(d)
				wait = timer.C
			}
		}
		q.mu.Unlock()
		if next != nil {
			select {
			case q.work <- next:
			case <-ctx.Done():
				return
			}
			continue
		}
		select {
		case <-wait:
		case <-q.wake:
			timer.Stop()
		case <-ctx.Done():
			return
		}
	}
}

func (q *scheduler) serve(ctx context.Context) {
	for {
		select {
		case t := <-q.work:
			q.running.Add(1)
			q.runTask(ctx, t)
			q.running.Add(-1)
		case <-ctx.Done():
			return
		}
	}
}

// runTask keeps one faulty task from taking the whole simulator (and the
// process it is embedded in) down.
func (q *scheduler) runTask(ctx context.Context, t *task) {
	defer func() {
		if v := recover(); v != nil {
			q.log.Error("mosipsim: task panicked", "scheduler", q.name, "panic", v)
		}
	}()
	t.run(ctx)
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return t
}
