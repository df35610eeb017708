package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// publishAsync runs Publish in a goroutine and returns its result, failing
// the test if Publish has not returned waitLimit after ctx's deadline.
func publishAsync(t *testing.T, ctx context.Context, p *Producer) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.Publish(ctx, birthTopic, []byte("tx-1"), []byte("v"), nil) }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit + 10*time.Second):
		t.Fatal("Publish did not return while Kafka was down")
		return nil
	}
}

func TestPublishWhileKafkaIsDown(t *testing.T) {
	t.Parallel()
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		c := seeded(t, 1)
		var m counts
		cfg := testConfig(t, c, &m, nil)
		cfg.RequestTimeout = 10 * time.Minute // the context's deadline comes first
		p := mustProducer(t, cfg)
		mustPublish(t, p, birthTopic, "tx-0", "v") // connected and metadata known
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := publishAsync(t, ctx, p); err == nil {
			t.Fatal("Publish to a stopped cluster succeeded")
		}
		if n := m.published.Load(); n != 1 {
			t.Errorf("published = %d, want 1", n)
		}
	})
	t.Run("request timeout", func(t *testing.T) {
		t.Parallel()
		c := seeded(t, 1)
		cfg := testConfig(t, c, nil, nil)
		cfg.RequestTimeout = time.Second // bounds a Publish whose context has no deadline
		c.Close()
		p := mustProducer(t, cfg)
		if err := publishAsync(t, context.Background(), p); err == nil {
			t.Fatal("Publish to a stopped cluster succeeded")
		}
	})
}

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	t.Parallel()
	// The birth topic exists already, with one partition; the death
	// topic does not.
	c := newCluster(t, kfake.SeedTopics(1, birthTopic))
	cfg := testConfig(t, c, nil, nil)
	cfg.Partitions, cfg.ReplicationFactor = 3, 1
	p := mustProducer(t, cfg)
	for i := range 2 {
		if err := p.EnsureTopics(t.Context()); err != nil {
			t.Fatalf("EnsureTopics #%d: %v", i+1, err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(t.Context(), birthTopic, deathTopic)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	got := map[string]int{}
	for name, d := range details {
		if d.Err != nil {
			t.Errorf("topic %s: %v", name, d.Err)
		}
		got[name] = len(d.Partitions)
	}
	if diff := cmp.Diff(map[string]int{birthTopic: 1, deathTopic: 3}, got); diff != "" {
		t.Errorf("partitions per topic (-want +got):\n%s", diff)
	}
	mustPublish(t, p, deathTopic, "tx-1", "v")
}

func TestEnsureTopicsAndPingWhileKafkaIsDown(t *testing.T) {
	t.Parallel()
	c := seeded(t, 1)
	cfg := testConfig(t, c, nil, nil)
	cfg.RequestTimeout = time.Second
	p := mustProducer(t, cfg)
	if err := p.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	c.Close()
	if err := p.Ping(t.Context()); err == nil {
		t.Error("Ping of a stopped cluster succeeded")
	}
	if err := p.EnsureTopics(t.Context()); err == nil {
		t.Error("EnsureTopics on a stopped cluster succeeded")
	}
}

func TestSASL(t *testing.T) {
	t.Parallel()
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(SASLScramSHA256, "mediator", "s3cret"),
		kfake.SeedTopics(1, birthTopic, deathTopic))
	cfg := testConfig(t, c, nil, nil)
	cfg.RequestTimeout = 2 * time.Second
	cfg.SASL = &SASL{Mechanism: SASLScramSHA256, User: "mediator", Password: "s3cret"}
	p := mustProducer(t, cfg)
	mustPublish(t, p, birthTopic, "tx-1", "v")

	cfg.SASL = &SASL{Mechanism: SASLScramSHA256, User: "mediator", Password: "wrong"}
	if err := mustProducer(t, cfg).Ping(t.Context()); err == nil {
		t.Error("Ping with a wrong password succeeded")
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	serverCert, pool := selfSigned(t)
	c := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}),
		kfake.SeedTopics(1, birthTopic, deathTopic))
	var m counts
	cfg := testConfig(t, c, &m, nil)
	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	p := mustProducer(t, cfg)
	mustPublish(t, p, birthTopic, "tx-1", "v")
	var got collector
	startConsumer(t, cfg, got.handler())
	waitFor(t, "the record over TLS", func() bool { return got.len() >= 1 && m.committed.Load() >= 1 })

	cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12} // does not trust the broker
	cfg.RequestTimeout = 2 * time.Second
	if err := mustProducer(t, cfg).Ping(t.Context()); err == nil {
		t.Error("Ping of a broker whose certificate is not trusted succeeded")
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kfake"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
