package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer publishes records, creates the topics and answers readiness
// checks. It is safe for concurrent use.
type Producer struct {
	cfg Config
	cl  *kgo.Client
	log *slog.Logger
}

// NewProducer returns a Producer of cfg. It does not connect: the first
// Publish, EnsureTopics or Ping does.
func NewProducer(cfg Config) (*Producer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts := append(cfg.clientOpts(),
		kgo.RequiredAcks(kgo.AllISRAcks()), // and idempotent, kgo's default
		kgo.ProducerLinger(0),              // Publish waits for its record: send it now
		kgo.ProduceRequestTimeout(cfg.RequestTimeout),
		kgo.RecordDeliveryTimeout(cfg.RequestTimeout),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: producer: %w", err)
	}
	return &Producer{cfg: cfg, cl: cl, log: cfg.Logger}, nil
}

// Topics returns the topics of the records, defaults applied.
func (p *Producer) Topics() Topics { return p.cfg.Topics }

// Publish stores a record in topic under key (the record id: records with
// the same key keep their order) and returns once every in-sync replica
// has it. It returns an error when ctx ends or Config.RequestTimeout has
// passed first, Kafka being down or refusing the record: the record is then
// not known to be stored and the caller publishes it again later (it may
// still arrive, so the consumer sees it twice). Headers are sent in the
// order of their names.
func (p *Producer) Publish(ctx context.Context, topic string, key, value []byte, headers map[string]string) error {
	if topic == "" {
		return errors.New("kafka: publish: no topic")
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	r := &kgo.Record{Topic: topic, Key: key, Value: value}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: name, Value: []byte(headers[name])})
	}
	// Not ProduceSync: with the idempotent producer kgo cannot fail a
	// record once its request is on the wire, so ProduceSync could outlive
	// ctx during an outage. The promise writes to a buffered channel and
	// never blocks kgo when we have stopped waiting.
	done := make(chan error, 1)
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kafka: publish to %s: %w", topic, err)
		}
	case <-ctx.Done():
		return fmt.Errorf("kafka: publish to %s: no acknowledgement: %w", topic, context.Cause(ctx))
	}
	p.cfg.Metrics.published(topic)
	return nil
}

// EnsureTopics creates the topics of Config.Topics that do not exist, with
// Config.Partitions and Config.ReplicationFactor; topics that exist are
// left as they are. The caller should not refuse to start when it fails
// (Kafka may come up later): log it and try again.
func (p *Producer) EnsureTopics(ctx context.Context) error {
	adm := kadm.NewClient(p.cl)
	names := p.cfg.Topics.names()
	lctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	details, err := adm.ListTopics(lctx, names...)
	cancel()
	if err != nil {
		return fmt.Errorf("kafka: list topics: %w", err)
	}
	var missing []string
	for _, name := range names {
		d, ok := details[name]
		if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			missing = append(missing, name)
			continue
		}
		if d.Err != nil {
			return fmt.Errorf("kafka: topic %s: %w", name, d.Err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	resps, err := adm.CreateTopics(cctx, p.cfg.Partitions, p.cfg.ReplicationFactor, nil, missing...)
	if err != nil {
		return fmt.Errorf("kafka: create topics %v: %w", missing, err)
	}
	var errs []error
	for _, name := range missing {
		r, ok := resps[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("kafka: create topic %s: no answer for it", name))
		case r.Err == nil:
			p.log.Info("kafka: created topic", "topic", name, "partitions", r.NumPartitions, "replication_factor", r.ReplicationFactor)
		case errors.Is(r.Err, kerr.TopicAlreadyExists): // created by another mediator meanwhile
		default:
			errs = append(errs, fmt.Errorf("kafka: create topic %s: %w %s", name, r.Err, r.ErrMessage))
		}
	}
	return errors.Join(errs...)
}

// Ping reports whether a broker answers (for readiness), within ctx and
// Config.RequestTimeout.
func (p *Producer) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	if err := p.cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker answers: %w", err)
	}
	return nil
}

// Close fails the records not yet acknowledged (their Publish returns an
// error) and closes the connections.
func (p *Producer) Close() { p.cl.Close() }
