package mosipsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Tests of timers and backoff run in a synctest bubble with fake time: the
// simulator's HTTP client calls the subscriber's handler in memory.

// handlerTransport serves requests with a handler instead of a network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// bubble is a simulator inside a synctest bubble.
type bubble struct {
	t   *testing.T
	sim *Sim
}

func newBubble(t *testing.T, subscriber http.Handler, mutate func(*Config)) *bubble {
	t.Helper()
	k := mustKeys(t)
	cfg := Config{
		Logger:        testLogger(t),
		PartnerCert:   k.cert,
		CredentialKey: k.vc,
		HTTPClient:    &http.Client{Transport: handlerTransport{subscriber}},
		BaseURL:       "http://mosip.test",
		Seed:          7,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &bubble{t: t, sim: s}
}

func (b *bubble) serve(ctx context.Context, method, path, token string, body any) *httptest.ResponseRecorder {
	b.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch v := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		data, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = strings.NewReader(string(data))
	}
	req := httptest.NewRequest(method, path, rd).WithContext(ctx)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Cookie", "Authorization="+token)
	}
	rec := httptest.NewRecorder()
	b.sim.ServeHTTP(rec, req)
	return rec
}

func (b *bubble) token() string {
	b.t.Helper()
	rec := b.serve(context.Background(), http.MethodPost, PathAuth, "", authRequest(DevRegprocClient, DevSecret))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "Authorization" {
			return c.Value
		}
	}
	b.t.Fatalf("no token: %s", rec.Body)
	return ""
}

func (b *bubble) register(token, rid string, fields map[string]any) {
	b.t.Helper()
	ctx := context.Background()
	if r := decodeMOSIP[[]mosip.PacketInfo](b.t, b.serve(ctx, http.MethodPut, PathCreatePacket, token, packetBody(rid, "CRVS_NEW", fields)).Body.Bytes()); len(r.Errors) > 0 {
		b.t.Fatalf("createPacket: %+v", r.Errors)
	}
	if r := decodeMOSIP[any](b.t, b.serve(ctx, http.MethodPost, PathWorkflow, token, workflowBody(rid, "CRVS_NEW")).Body.Bytes()); len(r.Errors) > 0 {
		b.t.Fatalf("workflowinstance: %+v", r.Errors)
	}
}

// flakySubscriber echoes challenges and answers deliveries with the given
// statuses, then 200, recording when each delivery came.
type flakySubscriber struct {
	mu       sync.Mutex
	statuses []int
	times    []time.Time
	hang     bool // block deliveries until the request is cancelled
}

func (f *flakySubscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	status := http.StatusOK
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	hang := f.hang
	f.mu.Unlock()
	if hang {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
}

func (b *bubble) subscribe(token string) {
	b.t.Helper()
	rec := b.serve(context.Background(), http.MethodPost, PathHub, token,
		form("subscribe", TopicCredentialIssued, "http://subscriber.test/websub/callback", "s"))
	if rec.Code != http.StatusAccepted {
		b.t.Fatalf("subscribe: %d %s", rec.Code, rec.Body)
	}
	synctest.Wait()
	if len(b.sim.Subscriptions()) != 1 {
		b.t.Fatalf("not subscribed")
	}
}

func TestRedeliveryBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sub := &flakySubscriber{statuses: []int{500, 500, 502, 503}}
		b := newBubble(t, sub, nil) // MOSIP's 3 s base and 20 s cap
		defer b.sim.Close()
		token := b.token()
		b.subscribe(token)
		b.register(token, "900010000000001", birthFields(infant("Backoff Baby")))
		time.Sleep(2 * time.Minute)
		synctest.Wait()

		sub.mu.Lock()
		times := sub.times
		sub.mu.Unlock()
		if len(times) != 5 {
			t.Fatalf("%d delivery attempts, want 4 failures and a success", len(times))
		}
		// Each wait doubles from 3 s, capped at 20 s, jittered into its
		// upper half.
		for i, full := range []time.Duration{3 * time.Second, 6 * time.Second, 12 * time.Second, 20 * time.Second} {
			gap := times[i+1].Sub(times[i])
			if gap < full/2 || gap > full {
				t.Errorf("wait before attempt %d = %v, want between %v and %v", i+2, gap, full/2, full)
			}
		}
		st := b.sim.Stats().Deliveries
		if st.Sent != 1 || st.Failed != 4 || st.Pending != 0 {
			t.Errorf("delivery stats = %+v", st)
		}
	})
}

func TestStageDelayPacing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, http.NotFoundHandler(), func(c *Config) { c.StageDelay = 10 * time.Second })
		defer b.sim.Close()
		token := b.token()
		start := time.Now()
		b.register(token, "910010000000001", birthFields(infant("Paced Route")))

		synctest.Wait()
		if v, _ := b.sim.Registration("910010000000001"); v.Status != mosip.StatusResumable || len(v.Stages) != 0 {
			t.Fatalf("before the first stage: %s with %d stages", v.Status, len(v.Stages))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if v, _ := b.sim.Registration("910010000000001"); v.Status != mosip.StatusProcessing || len(v.Stages) != 1 {
			t.Fatalf("after one delay: %s with %d stages", v.Status, len(v.Stages))
		}
		time.Sleep(80 * time.Second)
		synctest.Wait()
		v, _ := b.sim.Registration("910010000000001")
		if v.Status != mosip.StatusProcessed || len(v.Stages) != 9 {
			t.Fatalf("after nine delays: %s with %d stages", v.Status, len(v.Stages))
		}
		for i, st := range v.Stages {
			if want := start.Add(time.Duration(i+1) * 10 * time.Second); !st.StartedAt.Equal(want) {
				t.Errorf("stage %s started at +%v, want +%v", st.Stage, st.StartedAt.Sub(start), want.Sub(start))
			}
		}
	})
}

func TestLatencyFault(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, http.NotFoundHandler(), nil)
		defer b.sim.Close()
		if err := b.sim.SetFaults(Faults{Latency: Duration(1500 * time.Millisecond), Endpoints: []string{EndpointCreatePacket}}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		token := b.token()
		if d := time.Since(start); d != 0 {
			t.Errorf("auth took %v; latency was only for createPacket", d)
		}
		start = time.Now()
		rec := b.serve(context.Background(), http.MethodPut, PathCreatePacket, token, packetBody("920010000000001", "CRVS_NEW", birthFields(infant("Late Packet"))))
		if d := time.Since(start); d != 1500*time.Millisecond || rec.Code != http.StatusOK {
			t.Errorf("createPacket took %v (HTTP %d), want 1.5s", d, rec.Code)
		}
	})
}

func TestTimeoutFault(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, http.NotFoundHandler(), nil)
		defer b.sim.Close()
		token := b.token()
		if err := b.sim.SetFaults(Faults{ErrorRate: 1, ErrorMode: ModeTimeout, Timeout: Duration(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		// The client gives up first.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		b.serve(ctx, http.MethodPost, PathWorkflow, token, workflowBody("930010000000001", "CRVS_NEW"))
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("the hanging request returned after %v, want when the client gave up (5s)", d)
		}
		// A patient client gets a gateway timeout at the bound.
		start = time.Now()
		rec := b.serve(context.Background(), http.MethodPost, PathWorkflow, token, workflowBody("930010000000001", "CRVS_NEW"))
		if d := time.Since(start); d != time.Minute || rec.Code != http.StatusGatewayTimeout {
			t.Errorf("got HTTP %d after %v, want 504 after 1m", rec.Code, d)
		}
		if got := b.sim.Stats().Workflows; got != 0 {
			t.Errorf("a timed-out request started %d workflows", got)
		}
	})
}

func TestCloseWithWorkInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sub := &flakySubscriber{hang: true}
		b := newBubble(t, sub, func(c *Config) { c.Workers = 2; c.StageDelay = time.Hour })
		defer b.sim.Close()
		token := b.token()
		b.subscribe(token)
		// One registration reaches the (hanging) subscriber; more wait in
		// the stage queue.
		b.register(token, "940010000000001", birthFields(infant("In Flight")))
		time.Sleep(9*time.Hour + time.Minute)
		synctest.Wait()
		token = b.token()
		for i, name := range []string{"Queued One", "Queued Two", "Queued Three"} {
			b.register(token, "94001000000001"+string(rune('0'+i)), birthFields(infant(name)))
		}
		// And a request hangs in a timeout fault.
		if err := b.sim.SetFaults(Faults{ErrorRate: 1, ErrorMode: ModeTimeout, Endpoints: []string{EndpointStatus}}); err != nil {
			t.Fatal(err)
		}
		hung := make(chan int)
		go func() {
			hung <- b.serve(context.Background(), http.MethodPost, PathStatusSearch, token, statusBody("940010000000001")).Code
		}()
		synctest.Wait()
		if st := b.sim.Stats(); st.Deliveries.Pending != 1 || st.QueuedStages != 3 {
			t.Fatalf("before Close: %d deliveries pending, %d stages queued", st.Deliveries.Pending, st.QueuedStages)
		}

		start := time.Now()
		if err := b.sim.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v of (fake) time; everything should stop at once", d)
		}
		<-hung
		if rec := b.serve(context.Background(), http.MethodPost, PathAuth, "", authRequest(DevRegprocClient, DevSecret)); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("after Close: HTTP %d, want 503", rec.Code)
		}
		if err := b.sim.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
