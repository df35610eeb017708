package opencrvssim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// bubbleSim is a simulator driven without a network, so that synctest's
// fake clock measures its waits exactly.
type bubbleSim struct {
	s      *Sim
	mu     sync.Mutex
	tokens map[string]string // record id -> token the mediator received
}

func newBubbleSim(t *testing.T) *bubbleSim {
	t.Helper()
	b := &bubbleSim{tokens: map[string]string{}}
	client := inProcessClient(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			Entry []struct {
				Resource struct{ ID string }
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil || len(doc.Entry) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.tokens[doc.Entry[0].Resource.ID] = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		b.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	s, err := New(Config{Key: testKey(), Logger: quietLogger(), HTTPClient: client, MediatorURL: "http://mediator.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	b.s = s
	return b
}

func (b *bubbleSim) serve(t *testing.T, method, target, auth, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	w := httptest.NewRecorder()
	b.s.ServeHTTP(w, r)
	return w
}

func (b *bubbleSim) send(t *testing.T) (id, token string) {
	t.Helper()
	w := b.serve(t, http.MethodPost, "/sim/records", "", `{}`)
	var out sendResult
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusAccepted {
		t.Fatalf("send: %d %s", w.Code, w.Body)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return out.ID, b.tokens[out.ID]
}

func (b *bubbleSim) get(t *testing.T, id, wait string) recordView {
	t.Helper()
	w := b.serve(t, http.MethodGet, "/sim/records/"+id+"?wait="+wait, "", "")
	var v recordView
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != http.StatusOK {
		t.Errorf("GET %s: %d %s", id, w.Code, w.Body)
	}
	return v
}

func (b *bubbleSim) confirm(t *testing.T, id, token string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": confirmMutation, "variables": confirmVars(id, "R-"+id, "1234567890")})
	if w := b.serve(t, http.MethodPost, "/graphql", token, string(body)); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "errors") {
		t.Fatalf("confirm: %d %s", w.Code, w.Body)
	}
}

func TestLongPollReturnsWhenTheWaitElapses(t *testing.T) {
	t.Parallel()
	testKey() // outside the bubble: key generation is slow
	synctest.Test(t, func(t *testing.T) {
		b := newBubbleSim(t)
		id, _ := b.send(t)
		tests := []struct {
			wait string
			want time.Duration
		}{
			{"5s", 5 * time.Second},
			{"0s", 0},
			{"10m", maxWait}, // capped
		}
		for _, tt := range tests {
			start := time.Now()
			v := b.get(t, id, tt.wait)
			if got := time.Since(start); got != tt.want {
				t.Errorf("wait=%s returned after %v, want %v", tt.wait, got, tt.want)
			}
			if v.Status != StatusWaiting {
				t.Errorf("wait=%s: status %q, want waiting", tt.wait, v.Status)
			}
		}
	})
}

func TestLongPollReturnsWhenTheRecordChanges(t *testing.T) {
	t.Parallel()
	testKey()
	synctest.Test(t, func(t *testing.T) {
		b := newBubbleSim(t)
		id, token := b.send(t)
		start := time.Now()
		done := make(chan recordView, 1)
		go func() { done <- b.get(t, id, "60s") }()
		synctest.Wait() // the poller is blocked on the record
		select {
		case v := <-done:
			t.Fatalf("long poll returned %+v before the record changed", v)
		default:
		}
		b.confirm(t, id, token)
		v := <-done
		if v.Status != StatusRegistered || v.NationalID == nil || *v.NationalID != "1234567890" {
			t.Errorf("long poll answered %+v, want registered with national id", v)
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("long poll returned after %v, want at once", got)
		}
		// A final record answers at once.
		start = time.Now()
		if v := b.get(t, id, "30s"); v.Status != StatusRegistered || time.Since(start) != 0 {
			t.Errorf("GET of a registered record waited %v (status %q), want an immediate answer", time.Since(start), v.Status)
		}
	})
}

func TestLatencyFault(t *testing.T) {
	t.Parallel()
	testKey()
	synctest.Test(t, func(t *testing.T) {
		b := newBubbleSim(t)
		id, token := b.send(t)
		if w := b.serve(t, http.MethodPut, "/sim/faults", "", `{"latencyMs":1500}`); w.Code != http.StatusOK {
			t.Fatalf("PUT faults: %d %s", w.Code, w.Body)
		}
		start := time.Now()
		b.confirm(t, id, token)
		if got := time.Since(start); got != 1500*time.Millisecond {
			t.Errorf("confirm took %v, want the injected 1.5s", got)
		}
	})
}

func TestCloseReleasesLongPolls(t *testing.T) {
	t.Parallel()
	testKey()
	synctest.Test(t, func(t *testing.T) {
		b := newBubbleSim(t)
		id, _ := b.send(t)
		done := make(chan recordView, 1)
		go func() { done <- b.get(t, id, "60s") }()
		synctest.Wait()
		start := time.Now()
		_ = b.s.Close()
		if v := <-done; v.Status != StatusWaiting || time.Since(start) != 0 {
			t.Errorf("after Close the poll answered %+v after %v, want waiting at once", v, time.Since(start))
		}
	})
}
