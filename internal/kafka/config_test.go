package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Config{Brokers: []string{"kafka:9092"}}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	got := []any{cfg.Group, cfg.Topics, cfg.Partitions, cfg.ReplicationFactor, cfg.DialTimeout, cfg.RequestTimeout, cfg.RetryMin, cfg.RetryMax}
	want := []any{"opencrvs-mosip", Topics{Birth: "OPENCRVS_BIRTH_RECORDS", Death: "OPENCRVS_DEATH_RECORDS"}, int32(-1), int16(-1),
		10 * time.Second, 10 * time.Second, 500 * time.Millisecond, 30 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if cfg.Logger == nil {
		t.Error("no default logger")
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	ok := Config{Brokers: []string{"kafka:9092"}}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // one message per problem
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, []string{"no brokers"}},
		{"empty broker", func(c *Config) { c.Brokers = []string{"a:9092", " "} }, []string{"broker 2 is empty"}},
		{"unknown SASL mechanism", func(c *Config) { c.SASL = &SASL{Mechanism: "GSSAPI", User: "u", Password: "p"} },
			[]string{`unknown SASL mechanism "GSSAPI"`}},
		{"SASL without password", func(c *Config) { c.SASL = &SASL{Mechanism: SASLPlain, User: "u"} },
			[]string{"SASL needs a user and a password"}},
		{"negative partitions", func(c *Config) { c.Partitions = -3 }, []string{"partitions -3"}},
		{"negative replication", func(c *Config) { c.ReplicationFactor = -2 }, []string{"replication factor -2"}},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -time.Second }, []string{"request timeout -1s is negative"}},
		{"request timeout too long", func(c *Config) { c.RequestTimeout = time.Hour }, []string{"request timeout 1h0m0s: want between 1s and 15m"}},
		{"request timeout too short", func(c *Config) { c.RequestTimeout = time.Millisecond }, []string{"request timeout 1ms: want between 1s and 15m"}},
		{"retry bounds", func(c *Config) { c.RetryMin, c.RetryMax = time.Minute, time.Second },
			[]string{"minimum retry delay 1m0s is above the maximum 1s"}},
		{"several", func(c *Config) { c.Brokers = nil; c.Partitions = -2 }, []string{"no brokers", "partitions -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.change(&cfg)
			_, err := cfg.withDefaults()
			if err == nil {
				t.Fatal("withDefaults accepted the configuration")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("error %q has %d lines, want %d", err, len(lines), len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("error line %d = %q, want it to contain %q", i+1, lines[i], want)
				}
			}
			if _, err := NewProducer(cfg); err == nil {
				t.Error("NewProducer accepted the configuration")
			}
			if _, err := NewConsumer(cfg); err == nil {
				t.Error("NewConsumer accepted the configuration")
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	cfg := Config{RetryMin: 100 * time.Millisecond, RetryMax: time.Second}
	for _, tt := range []struct {
		attempt int
		max     time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {50, time.Second}} {
		for range 20 {
			if d := cfg.retryDelay(tt.attempt); d < tt.max/2 || d > tt.max {
				t.Errorf("retryDelay(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.max/2, tt.max)
			}
		}
	}
}
