package kafka

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const (
	birthTopic = DefaultBirthTopic
	deathTopic = DefaultDeathTopic
	// waitLimit bounds every wait for something to happen in a test. It is
	// a failsafe against a hang, not a timing assertion.
	waitLimit = 60 * time.Second
)

// newCluster starts a one-broker fake Kafka on 127.0.0.1 (a free port),
// closed when the test ends.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake.NewCluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// seeded starts a cluster with both topics, of partitions each.
func seeded(t *testing.T, partitions int32) *kfake.Cluster {
	t.Helper()
	return newCluster(t, kfake.SeedTopics(partitions, birthTopic, deathTopic))
}

// testConfig is a Config for c with fast retries, a group of the test's
// own, the counts in m and the logs in logs (both may be nil).
func testConfig(t *testing.T, c *kfake.Cluster, m *counts, logs *syncBuffer) Config {
	cfg := Config{
		Brokers:        c.ListenAddrs(),
		ClientID:       "opencrvs-mosip-test",
		Group:          "group-" + t.Name(),
		RequestTimeout: 5 * time.Second,
		RetryMin:       5 * time.Millisecond,
		RetryMax:       50 * time.Millisecond,
	}
	if m != nil {
		cfg.Metrics = m.metrics()
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

func mustProducer(t *testing.T, cfg Config) *Producer {
	t.Helper()
	p, err := NewProducer(cfg)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

func mustPublish(t *testing.T, p *Producer, topic, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := p.Publish(ctx, topic, []byte(key), []byte(value), nil); err != nil {
		t.Fatalf("Publish(%s, %s): %v", topic, key, err)
	}
}

// startConsumer runs a Consumer of cfg with h until the returned stop is
// called (or the test ends); stop waits for Run to return.
func startConsumer(t *testing.T, cfg Config, h Handler) (stop func()) {
	t.Helper()
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatalf("NewConsumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("Run did not return within %s of its context's end", waitLimit)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counts counts what Metrics reports.
type counts struct {
	published, consumed, retried, poison, committed atomic.Int64
}

func (c *counts) metrics() Metrics {
	return Metrics{
		Published: func(string) { c.published.Add(1) },
		Consumed:  func(string) { c.consumed.Add(1) },
		Retried:   func(string) { c.retried.Add(1) },
		Poison:    func(string) { c.poison.Add(1) },
		Committed: func(_ string, n int) { c.committed.Add(int64(n)) },
	}
}

// collector records what a handler was given.
type collector struct {
	mu   sync.Mutex
	recs []Record
}

func (c *collector) add(r Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
}

func (c *collector) all() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.recs...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

func (c *collector) keys() []string {
	var keys []string
	for _, r := range c.all() {
		keys = append(keys, string(r.Key))
	}
	return keys
}

// handler returns a handler that collects every record and succeeds.
func (c *collector) handler() Handler {
	return func(_ context.Context, r Record) error {
		c.add(r)
		return nil
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
