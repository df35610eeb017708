package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Defaults of Config.
const (
	DefaultGroup          = "opencrvs-mosip"
	DefaultBirthTopic     = "OPENCRVS_BIRTH_RECORDS"
	DefaultDeathTopic     = "OPENCRVS_DEATH_RECORDS"
	DefaultDialTimeout    = 10 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultRetryMin       = 500 * time.Millisecond
	DefaultRetryMax       = 30 * time.Second
)

// SASL mechanisms of Config.SASL.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Config configures a Producer and a Consumer. The zero values of the
// optional fields take the defaults above.
type Config struct {
	// Brokers are the seed brokers, host:port (KAFKA_BROKERS).
	Brokers []string
	// ClientID names this mediator to the brokers (their logs, quotas).
	ClientID string
	// Group is the consumer group (default opencrvs-mosip). Every mediator
	// of one deployment uses the same group so that each record is handled
	// by one of them.
	Group string
	// Topics are the topics of birth and death records.
	Topics Topics
	// TLS, if not nil, connects to the brokers over TLS.
	TLS *tls.Config
	// SASL, if not nil, authenticates to the brokers.
	SASL *SASL
	// Partitions and ReplicationFactor are those of the topics
	// EnsureTopics creates; 0 (or -1) lets the brokers choose.
	Partitions        int32
	ReplicationFactor int16
	// DialTimeout bounds opening a connection to a broker.
	DialTimeout time.Duration
	// RequestTimeout (1 s to 15 min) bounds a Publish (with the context's deadline), each
	// step of EnsureTopics and Ping, and the commit when a consumer stops;
	// it is also the time a broker may take to answer beyond a request's
	// own timeout.
	RequestTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts at a
	// record whose handler failed: RetryMin doubled per attempt, capped at
	// RetryMax, with jitter.
	RetryMin, RetryMax time.Duration
	// OnPoison is told of a record whose handler returned Permanent(err),
	// with err, before the record is committed (nil: only logged). It
	// must store what it needs before returning: the record will not be
	// delivered again.
	OnPoison func(Record, error)
	// Metrics counts records; nil functions are not called.
	Metrics Metrics
	// Logger receives the package's and kgo's logs (nil: discard).
	Logger *slog.Logger
}

// Topics are the topics of the records, one per kind of event.
type Topics struct {
	Birth string // default OPENCRVS_BIRTH_RECORDS
	Death string // default OPENCRVS_DEATH_RECORDS
}

// names returns the distinct topic names.
func (t Topics) names() []string {
	if t.Death == t.Birth {
		return []string{t.Birth}
	}
	return []string{t.Birth, t.Death}
}

// SASL are the credentials of SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. PLAIN sends the
	// password as it is: use it over TLS only.
	Mechanism string
	User      string
	Password  string
}

// Metrics receives counts of records as they happen (the lead wires them to
// Prometheus counters). Each function is optional.
type Metrics struct {
	// Published counts a record Publish stored in Kafka.
	Published func(topic string)
	// Consumed counts a record given to the handler for the first time by
	// this member.
	Consumed func(topic string)
	// Retried counts a handler call again for a record whose previous call
	// failed.
	Retried func(topic string)
	// Poison counts a record whose handler returned Permanent(err).
	Poison func(topic string)
	// Committed counts records whose offsets were committed, n at a time.
	Committed func(topic string, n int)
}

func (m Metrics) published(topic string) {
	if m.Published != nil {
		m.Published(topic)
	}
}

func (m Metrics) consumed(topic string) {
	if m.Consumed != nil {
		m.Consumed(topic)
	}
}

func (m Metrics) retried(topic string) {
	if m.Retried != nil {
		m.Retried(topic)
	}
}

func (m Metrics) poison(topic string) {
	if m.Poison != nil {
		m.Poison(topic)
	}
}

func (m Metrics) committed(topic string, n int) {
	if m.Committed != nil && n > 0 {
		m.Committed(topic, n)
	}
}

// withDefaults returns cfg with the defaults in its zero fields, or one
// error per invalid field.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if len(cfg.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers (KAFKA_BROKERS, host:port separated by commas)"))
	}
	for i, b := range cfg.Brokers {
		if strings.TrimSpace(b) == "" {
			errs = append(errs, fmt.Errorf("kafka: broker %d is empty", i+1))
		}
	}
	cfg.Group = defaultString(cfg.Group, DefaultGroup)
	cfg.Topics.Birth = defaultString(cfg.Topics.Birth, DefaultBirthTopic)
	cfg.Topics.Death = defaultString(cfg.Topics.Death, DefaultDeathTopic)
	if s := cfg.SASL; s != nil {
		switch s.Mechanism {
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		default:
			errs = append(errs, fmt.Errorf("kafka: unknown SASL mechanism %q (want %s, %s or %s)", s.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512))
		}
		if s.User == "" || s.Password == "" {
			errs = append(errs, errors.New("kafka: SASL needs a user and a password"))
		}
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = -1
	}
	if cfg.Partitions < -1 {
		errs = append(errs, fmt.Errorf("kafka: partitions %d: want a positive number (or 0 for the brokers' default)", cfg.Partitions))
	}
	if cfg.ReplicationFactor == 0 {
		cfg.ReplicationFactor = -1
	}
	if cfg.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("kafka: replication factor %d: want a positive number (or 0 for the brokers' default)", cfg.ReplicationFactor))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"dial timeout", &cfg.DialTimeout, DefaultDialTimeout},
		{"request timeout", &cfg.RequestTimeout, DefaultRequestTimeout},
		{"minimum retry delay", &cfg.RetryMin, DefaultRetryMin},
		{"maximum retry delay", &cfg.RetryMax, DefaultRetryMax},
	} {
		if *d.v < 0 {
			errs = append(errs, fmt.Errorf("kafka: %s %s is negative", d.name, *d.v))
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.RequestTimeout > 0 && (cfg.RequestTimeout < time.Second || cfg.RequestTimeout > 15*time.Minute) {
		// kgo's limits: a record timeout of at least 1 s, a request
		// overhead of at most 15 min.
		errs = append(errs, fmt.Errorf("kafka: request timeout %s: want between 1s and 15m", cfg.RequestTimeout))
	}
	if cfg.RetryMin > cfg.RetryMax {
		errs = append(errs, fmt.Errorf("kafka: minimum retry delay %s is above the maximum %s", cfg.RetryMin, cfg.RetryMax))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return cfg, errors.Join(errs...)
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clientOpts are the kgo options every client of cfg shares.
func (cfg Config) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DialTimeout(cfg.DialTimeout),
		kgo.RequestTimeoutOverhead(cfg.RequestTimeout),
		kgo.WithLogger(kgoLogger{cfg.Logger}),
	}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS.Clone()))
	}
	if cfg.SASL != nil {
		opts = append(opts, kgo.SASL(cfg.SASL.mechanism()))
	}
	return opts
}

func (s *SASL) mechanism() sasl.Mechanism {
	switch s.Mechanism {
	case SASLPlain:
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case SASLScramSHA512:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	default:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	}
}

// retryDelay is how long to wait after the given failed attempt (1-based)
// at a record: a random duration in [d/2, d], d = min(RetryMax,
// RetryMin*2^(attempt-1)).
func (cfg Config) retryDelay(attempt int) time.Duration {
	d := cfg.RetryMin
	for i := 1; i < attempt && d < cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// kgoLogger passes kgo's warnings and errors to slog. kgo logs brokers,
// requests and errors, never record keys or values.
type kgoLogger struct{ log *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		lvl = slog.LevelError
	case kgo.LogLevelWarn:
		lvl = slog.LevelWarn
	case kgo.LogLevelInfo:
		lvl = slog.LevelInfo
	}
	l.log.Log(context.Background(), lvl, "kafka client: "+msg, keyvals...)
}
