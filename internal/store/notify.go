package store

import (
	"context"
	"sync"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// River's SQLite driver carries notifications ("jobs were inserted in queue
// q") through a table that its listener polls every 50 ms: a write in every
// inserting transaction, a query every 50 ms, and up to 50 ms before a new
// job starts. A SQLite database belongs to one process, so the mediator
// delivers them in memory instead, the moment the inserting transaction
// commits (Store.NotifyQueue from Tx.AfterCommit): a job starts within a
// millisecond, which is most of a record's latency when MOSIP answers at
// once, and the single writer connection does less.

// topicInsert is River's notification topic for job inserts; its payload is
// {"queue": "<name>"}.
const topicInsert = "river_insert"

// riverDriver is River's SQLite driver with in-process notifications.
type riverDriver struct {
	*riversqlite.Driver
	bus *bus
}

// SupportsListenNotify is false: River does not write notifications to the
// table (nobody would read them); the store publishes them itself.
func (d *riverDriver) SupportsListenNotify() bool { return false }

func (d *riverDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &listener{bus: d.bus, schema: params.Schema}
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

// listener receives the bus's notifications for the topics it listens to.
type listener struct {
	bus    *bus
	schema string

	mu     sync.Mutex
	topics map[string]bool
	ch     chan *riverdriver.Notification
}

func (l *listener) Connect(context.Context) error {
	l.mu.Lock()
	l.topics = make(map[string]bool)
	l.ch = make(chan *riverdriver.Notification, 256)
	l.mu.Unlock()
	l.bus.add(l)
	return nil
}

func (l *listener) deliver(n *riverdriver.Notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.topics[n.Topic] {
		return
	}
	select {
	case l.ch <- n:
	default: // full: producers still poll, nothing is lost
	}
}

func (l *listener) Close(context.Context) error {
	l.bus.remove(l)
	return nil
}

func (l *listener) Listen(_ context.Context, topic string) error {
	l.mu.Lock()
	l.topics[topic] = true
	l.mu.Unlock()
	return nil
}

func (l *listener) Unlisten(_ context.Context, topic string) error {
	l.mu.Lock()
	delete(l.topics, topic)
	l.mu.Unlock()
	return nil
}

func (l *listener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	l.mu.Lock()
	ch := l.ch
	l.mu.Unlock()
	select {
	case n := <-ch:
		return n, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *listener) Ping(context.Context) error     { return nil }
func (l *listener) Schema() string                 { return l.schema }
func (l *listener) SetAfterConnectExec(sql string) {}

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
