package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPublishThenConsume(t *testing.T) {
	t.Parallel()
	c := seeded(t, 1)
	var m counts
	cfg := testConfig(t, c, &m, nil)
	p := mustProducer(t, cfg)
	ctx := context.Background()
	if err := p.Publish(ctx, birthTopic, []byte("tx-birth"), []byte(`{"id":"tx-birth"}`), map[string]string{"kind": "birth", "version": "1.9"}); err != nil {
		t.Fatalf("Publish birth: %v", err)
	}
	if err := p.Publish(ctx, deathTopic, []byte("tx-death"), []byte(`{"id":"tx-death"}`), nil); err != nil {
		t.Fatalf("Publish death: %v", err)
	}

	var got collector
	startConsumer(t, cfg, got.handler())
	waitFor(t, "both records and their commits", func() bool { return got.len() >= 2 && m.committed.Load() >= 2 })

	want := []Record{
		{Topic: birthTopic, Offset: 0, Key: []byte("tx-birth"), Value: []byte(`{"id":"tx-birth"}`),
			Headers: map[string]string{"kind": "birth", "version": "1.9"}, Attempt: 1},
		{Topic: deathTopic, Offset: 0, Key: []byte("tx-death"), Value: []byte(`{"id":"tx-death"}`), Attempt: 1},
	}
	recs := got.all()
	slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.Topic, b.Topic) })
	if diff := cmp.Diff(want, recs, cmpopts.IgnoreFields(Record{}, "Timestamp")); diff != "" {
		t.Errorf("records handled (-want +got):\n%s", diff)
	}
	for _, r := range recs {
		if r.Timestamp.IsZero() {
			t.Errorf("record %s has no timestamp", r.Key)
		}
	}
	if got, want := [4]int64{m.published.Load(), m.consumed.Load(), m.retried.Load(), m.committed.Load()}, [4]int64{2, 2, 0, 2}; got != want {
		t.Errorf("published, consumed, retried, committed = %v, want %v", got, want)
	}
}

func TestOffsetCommittedOnlyAfterSuccess(t *testing.T) {
	t.Parallel()
	c := seeded(t, 1)
	var m counts
	cfg := testConfig(t, c, &m, nil)
	p := mustProducer(t, cfg)
	mustPublish(t, p, birthTopic, "tx-1", "v1")

	var (
		mu       sync.Mutex
		attempts []int
	)
	stop := startConsumer(t, cfg, func(_ context.Context, r Record) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, r.Attempt)
		if len(attempts) <= 2 {
			if n := m.committed.Load(); n != 0 {
				t.Errorf("%d records committed while the handler has not succeeded yet", n)
			}
			return errors.New("MOSIP unavailable")
		}
		return nil
	})
	waitFor(t, "the commit", func() bool { return m.committed.Load() >= 1 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1, 2, 3}, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if got, want := [3]int64{m.consumed.Load(), m.retried.Load(), m.committed.Load()}, [3]int64{1, 2, 1}; got != want {
		t.Errorf("consumed, retried, committed = %v, want %v", got, want)
	}

	// A new member of the group starts after the committed record.
	mustPublish(t, p, birthTopic, "tx-2", "v2")
	var again collector
	startConsumer(t, cfg, again.handler())
	waitFor(t, "tx-2", func() bool { return again.len() >= 1 })
	if diff := cmp.Diff([]string{"tx-2"}, again.keys()); diff != "" {
		t.Errorf("records seen by the restarted consumer (-want +got):\n%s", diff)
	}
}

func TestRecordNotCommittedIsHandledAgain(t *testing.T) {
	t.Parallel()
	c := seeded(t, 1)
	var m counts
	cfg := testConfig(t, c, &m, nil)
	p := mustProducer(t, cfg)
	mustPublish(t, p, birthTopic, "tx-1", "v1")

	// The first member stops while its handler is still working.
	started := make(chan struct{})
	var once sync.Once
	stop := startConsumer(t, cfg, func(ctx context.Context, _ Record) error {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return ctx.Err()
	})
	select {
	case <-started:
	case <-t.Context().Done():
		t.Fatal("test ended before the handler started")
	}
	stop()
	if n := m.committed.Load(); n != 0 {
		t.Fatalf("%d records committed, want 0", n)
	}

	var again collector
	startConsumer(t, cfg, again.handler())
	waitFor(t, "tx-1 again", func() bool { return again.len() >= 1 && m.committed.Load() >= 1 })
	if diff := cmp.Diff([]string{"tx-1"}, again.keys()); diff != "" {
		t.Errorf("records seen by the new consumer (-want +got):\n%s", diff)
	}
}

func TestPoisonRecordIsReportedAndCommitted(t *testing.T) {
	t.Parallel()
	c := seeded(t, 1)
	var (
		m    counts
		logs syncBuffer
	)
	cfg := testConfig(t, c, &m, &logs)
	type report struct {
		key string
		err string
	}
	var (
		mu      sync.Mutex
		reports []report
	)
	cfg.OnPoison = func(r Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, report{string(r.Key), err.Error()})
	}
	p := mustProducer(t, cfg)
	const secret = "Jane-Doe-1990-01-01" // stands for personal data: never logged
	mustPublish(t, p, birthTopic, "tx-bad", "garbage "+secret)
	mustPublish(t, p, birthTopic, "tx-flaky", "flaky "+secret)
	mustPublish(t, p, birthTopic, "tx-good", "good "+secret)

	var (
		calls   = map[string]int{}
		handled []string
	)
	stop := startConsumer(t, cfg, func(_ context.Context, r Record) error {
		mu.Lock()
		defer mu.Unlock()
		key := string(r.Key)
		calls[key]++
		switch {
		case key == "tx-bad":
			return Permanent(fmt.Errorf("envelope: not JSON"))
		case key == "tx-flaky" && calls[key] == 1:
			return errors.New("MOSIP unavailable")
		}
		handled = append(handled, key)
		return nil
	})
	waitFor(t, "three commits", func() bool { return m.committed.Load() >= 3 })
	stop()
	mu.Lock()
	defer mu.Unlock()

	if diff := cmp.Diff([]report{{"tx-bad", "envelope: not JSON"}}, reports, cmp.AllowUnexported(report{})); diff != "" {
		t.Errorf("poison reports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"tx-bad": 1, "tx-flaky": 2, "tx-good": 1}, calls); diff != "" {
		t.Errorf("handler calls per record (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tx-flaky", "tx-good"}, handled); diff != "" {
		t.Errorf("records handled (-want +got):\n%s", diff)
	}
	if got, want := [3]int64{m.poison.Load(), m.retried.Load(), m.committed.Load()}, [3]int64{1, 1, 3}; got != want {
		t.Errorf("poison, retried, committed = %v, want %v", got, want)
	}
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("a record value reached the logs:\n%s", out)
	}
	for _, want := range []string{"tx-bad", "tx-flaky", "envelope: not JSON", "MOSIP unavailable"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs do not mention %q:\n%s", want, out)
		}
	}

	// The poison record was committed: a new member does not see it.
	mustPublish(t, p, birthTopic, "tx-next", "next")
	var again collector
	startConsumer(t, cfg, again.handler())
	waitFor(t, "tx-next", func() bool { return again.len() >= 1 })
	if diff := cmp.Diff([]string{"tx-next"}, again.keys()); diff != "" {
		t.Errorf("records seen by the restarted consumer (-want +got):\n%s", diff)
	}
}

func TestOrderPerKeyWithRetries(t *testing.T) {
	t.Parallel()
	c := seeded(t, 4)
	var m counts
	cfg := testConfig(t, c, &m, nil)
	p := mustProducer(t, cfg)
	const keys, perKey = 6, 15
	for i := range perKey {
		for k := range keys {
			mustPublish(t, p, birthTopic, fmt.Sprintf("tx-%d", k), fmt.Sprint(i))
		}
	}

	var (
		mu    sync.Mutex
		tried = map[string]bool{}
		order = map[string][]string{}
		done  int
	)
	startConsumer(t, cfg, func(_ context.Context, r Record) error {
		mu.Lock()
		defer mu.Unlock()
		id := string(r.Key) + "/" + string(r.Value)
		// Records whose number ends in 0, 3, 6 or 9 fail once: each must
		// be retried before the records behind it.
		if n := r.Value[len(r.Value)-1]; n%3 == 0 && !tried[id] {
			tried[id] = true
			return errors.New("transient")
		}
		order[string(r.Key)] = append(order[string(r.Key)], string(r.Value))
		done++
		return nil
	})
	waitFor(t, "every record", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done >= keys*perKey
	})
	mu.Lock()
	defer mu.Unlock()
	var want []string
	for i := range perKey {
		want = append(want, fmt.Sprint(i))
	}
	for k := range keys {
		key := fmt.Sprintf("tx-%d", k)
		if diff := cmp.Diff(want, order[key]); diff != "" {
			t.Errorf("records of %s in the order handled (-want +got):\n%s", key, diff)
		}
	}
	if m.retried.Load() == 0 {
		t.Error("no record was retried: the test does not test retries")
	}
}

func TestRebalanceDoesNotShareARecord(t *testing.T) {
	t.Parallel()
	c := seeded(t, 2)
	cfg := testConfig(t, c, nil, nil)
	// One record on each partition.
	raw, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for part := range int32(2) {
		r := &kgo.Record{Topic: birthTopic, Partition: part, Key: fmt.Appendf(nil, "tx-%d", part), Value: []byte("v")}
		if err := raw.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatalf("produce to partition %d: %v", part, err)
		}
	}

	var (
		mu       sync.Mutex
		inFlight = map[string]bool{} // records the first member is handling
		second   []string            // records the second member handled
		overlap  []string            // records the second member got while the first still had them
	)
	// The first member never finishes a record: it holds both until its
	// context ends, which must happen before either moves to the second
	// member.
	startConsumer(t, cfg, func(ctx context.Context, r Record) error {
		id := string(r.Key)
		mu.Lock()
		inFlight[id] = true
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		delete(inFlight, id)
		mu.Unlock()
		return ctx.Err()
	})
	waitFor(t, "the first member to hold both records at once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(inFlight) == 2
	})
	startConsumer(t, cfg, func(_ context.Context, r Record) error {
		mu.Lock()
		defer mu.Unlock()
		id := string(r.Key)
		if inFlight[id] {
			overlap = append(overlap, id)
		}
		second = append(second, id)
		return nil
	})
	waitFor(t, "a partition to move to the second member", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(second) >= 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(overlap) > 0 {
		t.Errorf("records handled by both members at once: %v", overlap)
	}
	if len(inFlight) != 1 {
		t.Errorf("first member holds %d records after the rebalance, want 1 (the partition it kept)", len(inFlight))
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	cause := errors.New("not JSON")
	err := fmt.Errorf("decode: %w", Permanent(cause))
	if !IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = false, want true", err)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false, want true", err)
	}
	if IsPermanent(cause) {
		t.Errorf("IsPermanent(%v) = true, want false", cause)
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}
