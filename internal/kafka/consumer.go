package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a consumed record.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // the record id
	Value     []byte // personal data: never log it
	Headers   map[string]string
	Timestamp time.Time
	// Attempt is 1 for the first handler call of this record by this
	// member, 2 for the first retry, and so on.
	Attempt int
}

func newRecord(r *kgo.Record) Record {
	rec := Record{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
	}
	if len(r.Headers) > 0 {
		rec.Headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			rec.Headers[h.Key] = string(h.Value)
		}
	}
	return rec
}

// Handler does the work of a record. It returns nil once the work is
// durable (the record is then committed), an error to have the record
// tried again later, or Permanent(err) for a record that can never be
// handled. It must be idempotent and honour ctx (see the package
// documentation).
type Handler func(ctx context.Context, r Record) error

// Permanent marks err as a failure that retrying cannot fix (the record is
// undecodable): the record is reported through Config.OnPoison and
// committed instead of retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Consumer consumes the topics as a member of Config.Group.
type Consumer struct {
	cfg Config
	log *slog.Logger
}

// NewConsumer returns a Consumer of cfg.
func NewConsumer(cfg Config) (*Consumer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, log: cfg.Logger}, nil
}

// Run joins the group and gives each record of the partitions assigned to
// it to h, until ctx ends: then it stops the handlers (canceling their
// context), commits what they finished, leaves the group and returns nil.
// It returns an error only if it cannot start. Kafka being down is not an
// error: Run logs it and waits for the brokers. Each call is a new member
// of the group.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("kafka: consumer: no handler")
	}
	s := &session{cfg: c.cfg, log: c.log, handler: h, parent: ctx, workers: make(map[partition]*worker)}
	topics := c.cfg.Topics.names()
	opts := append(c.cfg.clientOpts(),
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// No assign, revoke or lost callback runs between a poll and
		// AllowRebalance: records are given to a partition's worker
		// only while the partition is ours.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: consumer: %w", err)
	}
	s.cl = cl
	c.log.Info("kafka: consuming", "group", c.cfg.Group, "topics", topics)
	s.poll(ctx)
	s.shutdown(ctx)
	c.log.Info("kafka: stopped consuming", "group", c.cfg.Group)
	return nil
}

// partition is a topic partition.
type partition struct {
	topic string
	id    int32
}

func (p partition) String() string { return fmt.Sprintf("%s/%d", p.topic, p.id) }

// session is one Run: its client and a worker per assigned partition.
type session struct {
	cfg     Config
	log     *slog.Logger
	handler Handler
	parent  context.Context // Run's: the handlers' contexts derive from it
	// cl is used by Run's goroutine only (kgo may call the callbacks
	// before NewClient returns): the callbacks and workers use their own
	// reference.
	cl *kgo.Client

	mu      sync.Mutex
	workers map[partition]*worker
	closing bool // Run is stopping: no new workers
}

// poll gives the fetched records to the partitions' workers until ctx ends.
func (s *session) poll(ctx context.Context) {
	failures := 0 // polls in a row that returned errors and no record
	for {
		fetches := s.cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			s.cl.AllowRebalance()
			return
		}
		failed := false
		fetches.EachError(func(topic string, p int32, err error) {
			failed = true
			s.log.Warn("kafka: fetch failed", "topic", topic, "partition", p, "error", err)
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				s.dispatch(partition{p.Topic, p.Partition}, p.Records)
			}
		})
		s.cl.AllowRebalance()
		if !failed || fetches.NumRecords() > 0 {
			failures = 0
			continue
		}
		// An error kgo returns at once (authorization, a group error)
		// must not turn this loop into a busy loop.
		failures++
		t := time.NewTimer(s.cfg.retryDelay(failures))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// dispatch queues records for their partition's worker. It runs between a
// poll and AllowRebalance, so the partition is assigned to this member.
func (s *session) dispatch(p partition, recs []*kgo.Record) {
	s.mu.Lock()
	w := s.workers[p]
	if w == nil && !s.closing {
		// OnPartitionsAssigned runs before a partition is fetched, so
		// this should not happen; if it does, the partition is ours
		// and its records must not be dropped.
		w = s.startWorker(s.cl, p)
	}
	s.mu.Unlock()
	if w != nil {
		w.push(recs)
	}
}

// startWorker starts the worker of p; s.mu is held.
func (s *session) startWorker(cl *kgo.Client, p partition) *worker {
	ctx, cancel := context.WithCancel(s.parent)
	w := &worker{
		s: s, cl: cl, p: p, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), wake: make(chan struct{}, 1),
	}
	s.workers[p] = w
	go w.run()
	return w
}

func (s *session) assigned(_ context.Context, cl *kgo.Client, assigned map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	for topic, ids := range assigned {
		for _, id := range ids {
			p := partition{topic, id}
			if s.workers[p] == nil {
				s.startWorker(cl, p)
			}
		}
	}
	// A pause left from an earlier assignment of a partition must not
	// stall this one.
	cl.ResumeFetchPartitions(assigned)
	s.log.Info("kafka: partitions assigned", "group", s.cfg.Group, "partitions", assigned)
}

// revoked stops the workers of partitions given to another member and
// commits what they finished, before the rebalance goes on.
func (s *session) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	if len(revoked) > 0 {
		s.log.Info("kafka: partitions revoked", "group", s.cfg.Group, "partitions", revoked)
	}
	s.stop(ctx, cl, among(revoked), true)
}

// lost stops the workers of partitions this member lost (its session
// expired): their offsets can no longer be committed.
func (s *session) lost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	if len(lost) > 0 {
		s.log.Warn("kafka: partitions lost; their unfinished records will be handled again", "group", s.cfg.Group, "partitions", lost)
	}
	s.stop(ctx, cl, among(lost), false)
}

// stop stops the workers of the partitions in, waits for their handlers to
// return and, if commit, commits the records they finished.
func (s *session) stop(ctx context.Context, cl *kgo.Client, in func(partition) bool, commit bool) {
	var ws []*worker
	s.mu.Lock()
	for p, w := range s.workers {
		if in(p) {
			ws = append(ws, w)
			delete(s.workers, p)
		}
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	stopped := make(map[string][]int32)
	for _, w := range ws {
		<-w.done
		stopped[w.p.topic] = append(stopped[w.p.topic], w.p.id)
	}
	if commit {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
		defer cancel()
		for _, w := range ws {
			w.commit(ctx)
		}
	}
	if len(stopped) > 0 {
		cl.ResumeFetchPartitions(stopped)
	}
}

// among returns whether a partition is in parts.
func among(parts map[string][]int32) func(partition) bool {
	return func(p partition) bool { return slices.Contains(parts[p.topic], p.id) }
}

func everyPartition(partition) bool { return true }

// shutdown stops every worker, commits what they finished and leaves the
// group.
func (s *session) shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.stop(ctx, s.cl, everyPartition, true)
	s.cl.Close()
}
