package app

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"opencrvs-mosip/internal/bridge"
)

const (
	kafkaBirthTopic = "OPENCRVS_BIRTH_RECORDS"
	kafkaDeathTopic = "OPENCRVS_DEATH_RECORDS"
)

func withKafka(brokers ...string) func(*Config) {
	return func(c *Config) {
		c.Split.Kafka = KafkaConfig{Brokers: brokers, BirthTopic: kafkaBirthTopic, DeathTopic: kafkaDeathTopic, Group: "opencrvs-mosip-test"}
	}
}

func startKafka(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(2, kafkaBirthTopic, kafkaDeathTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// With KAFKA_BROKERS the MOSIP side's intake hands each stored record to
// its packet work through Kafka: births get their UIN token back and a
// death marks the identity, as without Kafka.
func TestSplitThroughKafka(t *testing.T) {
	k := startKafka(t)
	s := startSplit(t, splitOptions{mosip: withKafka(k.ListenAddrs()...)})
	s.waitSubscribed(t)
	var births []string
	for range 3 {
		births = append(births, s.sendWebhookRecord(t, map[string]any{"kind": "birth"}).ID)
	}
	var uin string
	for _, id := range births {
		s.waitState(t, s.ocSide, id, bridge.StateConfirmed)
		uin = s.waitState(t, s.mosipSide, id, bridge.StateConfirmed).UIN
	}
	death := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": uin})
	s.waitState(t, s.ocSide, death.ID, bridge.StateConfirmed)
	s.waitState(t, s.mosipSide, death.ID, bridge.StateConfirmed)
}

// Kafka down when a record arrives: the MOSIP side keeps it but answers
// 503, the OpenCRVS side keeps it and sends it again, and once Kafka is
// back the record goes through, once.
func TestSplitKafkaDownAtIntake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there until Kafka "comes back"
	s := startSplit(t, splitOptions{mosip: withKafka(addr), opencrvs: func(c *Config) { c.CallTimeout = 2 * time.Second }})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})

	// Both sides hold the record while Kafka is away; the OpenCRVS side
	// keeps trying.
	var oc *bridge.Transaction
	for time.Now().Before(s.deadline) {
		trs, err := s.ocSide.m.Store().TransactionsByRecord(t.Context(), rec.ID)
		if err == nil && len(trs) == 1 && trs[0].Attempts >= 2 {
			oc = trs[0]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if oc == nil || oc.State != bridge.StateQueued {
		t.Fatalf("OpenCRVS side transaction %+v: want it QUEUED, retried", oc)
	}
	ms, err := s.mosipSide.m.Store().TransactionsByRecord(t.Context(), rec.ID)
	if err != nil || len(ms) != 1 || ms[0].State != bridge.StateQueued {
		t.Fatalf("MOSIP side transactions %v (%v): want the record stored, QUEUED, waiting for Kafka", ms, err)
	}

	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	startKafka(t, kfake.Ports(p))
	s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if trs, _ := s.mosipSide.m.Store().TransactionsByRecord(t.Context(), rec.ID); len(trs) != 1 {
		t.Errorf("MOSIP side has %d transactions of the record, want 1", len(trs))
	}
	if up := s.mosip.UploadStats(); up.Received != 1 {
		t.Errorf("MOSIP received %d packets, want 1", up.Received)
	}
}
