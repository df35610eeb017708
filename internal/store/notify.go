package store

import (
	"context"
	"sync"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// River's SQLite driver carries notifications (e.g. "jobs were inserted in
// queue q") through a table that its listener polls every 50 ms. A SQLite
// database belongs to one process, so the mediator also delivers them in
// memory the moment the inserting transaction commits: a job starts within
// a millisecond instead of up to 50 ms later, which is most of a record's
// latency when MOSIP answers at once. The table path stays, for River's
// own notifications (leadership, queue control).

// topicInsert is River's notification topic for job inserts; its payload is
// {"queue": "<name>"}.
const topicInsert = "river_insert"

// riverDriver is River's SQLite driver with an in-process listener.
type riverDriver struct {
	*riversqlite.Driver
	bus *bus
}

func (d *riverDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &listener{inner: d.Driver.GetListener(params), bus: d.bus}
}

// bus fans notifications out to the connected listeners.
type bus struct {
	mu        sync.Mutex
	listeners map[*listener]struct{}
}

func newBus() *bus { return &bus{listeners: make(map[*listener]struct{})} }

func (b *bus) publish(topic, payload string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for l := range b.listeners {
		l.deliver(&riverdriver.Notification{Topic: topic, Payload: payload})
	}
}

func (b *bus) add(l *listener) {
	b.mu.Lock()
	b.listeners[l] = struct{}{}
	b.mu.Unlock()
}

func (b *bus) remove(l *listener) {
	b.mu.Lock()
	delete(b.listeners, l)
	b.mu.Unlock()
}

// listener merges the bus with River's table-polling listener.
type listener struct {
	inner riverdriver.Listener
	bus   *bus

	mu     sync.Mutex
	topics map[string]bool
	local  chan *riverdriver.Notification // from the bus
	polled chan waitResult                // from inner
	stop   context.CancelFunc
	done   chan struct{}
}

type waitResult struct {
	n   *riverdriver.Notification
	err error
}

func (l *listener) Connect(ctx context.Context) error {
	if err := l.inner.Connect(ctx); err != nil {
		return err
	}
	pollCtx, stop := context.WithCancel(context.Background())
	l.mu.Lock()
	l.topics = make(map[string]bool)
	l.local = make(chan *riverdriver.Notification, 256)
	l.polled = make(chan waitResult, 1)
	l.stop = stop
	l.done = make(chan struct{})
	l.mu.Unlock()
	go l.poll(pollCtx, l.polled, l.done)
	l.bus.add(l)
	return nil
}

// poll waits on the inner listener for the listener's lifetime, so that an
// interrupted WaitForNotification does not abandon a half-finished poll.
func (l *listener) poll(ctx context.Context, out chan<- waitResult, done chan<- struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		n, err := l.inner.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return
		}
		select {
		case out <- waitResult{n, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (l *listener) deliver(n *riverdriver.Notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.topics[n.Topic] {
		return
	}
	select {
	case l.local <- n:
	default: // full: producers still poll, nothing is lost
	}
}

func (l *listener) Close(ctx context.Context) error {
	l.bus.remove(l)
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return l.inner.Close(ctx)
}

func (l *listener) Listen(ctx context.Context, topic string) error {
	if err := l.inner.Listen(ctx, topic); err != nil {
		return err
	}
	l.mu.Lock()
	l.topics[topic] = true
	l.mu.Unlock()
	return nil
}

func (l *listener) Unlisten(ctx context.Context, topic string) error {
	l.mu.Lock()
	delete(l.topics, topic)
	l.mu.Unlock()
	return l.inner.Unlisten(ctx, topic)
}

func (l *listener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	l.mu.Lock()
	local, polled := l.local, l.polled
	l.mu.Unlock()
	select {
	case n := <-local:
		return n, nil
	case r := <-polled:
		return r.n, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *listener) Ping(ctx context.Context) error { return l.inner.Ping(ctx) }
func (l *listener) Schema() string                 { return l.inner.Schema() }
func (l *listener) SetAfterConnectExec(sql string) { l.inner.SetAfterConnectExec(sql) }
