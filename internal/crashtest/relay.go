package crashtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// relay stands between the OpenCRVS simulator and the mediator and does what
// a sender that must not lose a record does: it posts the record to the
// mediator until the mediator answers 202, retrying connection errors (the
// mediator was killed), 408, 429 and 5xx (503 with Retry-After when busy),
// and gives up only after its timeout. With several mediators (replicas) it
// is also their load balancer: each attempt goes to the next one in turn,
// so a retry after a killed replica's connection error reaches another. It
// notes which records the mediator accepted and with which transaction ids.
type relay struct {
	targets []string // the mediators' POST /events/registration
	next    atomic.Uint64
	timeout time.Duration
	client  *http.Client

	retries atomic.Int64
	accepts atomic.Int64 // records accepted at least once
	// resent counts 202 answers naming an existing transaction: a retry
	// of a record the mediator had committed before it was killed.
	resent   atomic.Int64
	mu       sync.Mutex
	records  map[string]*relayed // by record id (the token's recordId claim)
	failures []string            // records given up or refused, with why
}

// relayed is what the mediator answered about one record.
type relayed struct {
	accepted int             // 202 answers
	aids     map[string]bool // transaction ids in them
	refused  string          // why the relay gave up, when it did
}

// Retry pacing of the relay: doubling from relayBackoff to relayMaxBackoff,
// and a Retry-After honoured up to relayMaxRetryAfter.
const (
	relayBackoff       = 50 * time.Millisecond
	relayMaxBackoff    = time.Second
	relayMaxRetryAfter = 5 * time.Second
	relayCallTimeout   = 30 * time.Second
	maxRecordBytes     = 16 << 20
)

func newRelay(mediatorURLs []string, timeout time.Duration) *relay {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	targets := make([]string, len(mediatorURLs))
	for i, u := range mediatorURLs {
		targets[i] = strings.TrimRight(u, "/") + "/events/registration"
	}
	return &relay{
		targets: targets,
		timeout: timeout,
		client:  &http.Client{Transport: t, Timeout: relayCallTimeout},
		records: map[string]*relayed{},
	}
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/events/registration" {
		http.Error(w, "the crash test relay takes POST /events/registration only", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRecordBytes))
	if err != nil {
		http.Error(w, "unreadable record", http.StatusBadRequest)
		return
	}
	auth := r.Header.Get("Authorization")
	id := recordIDOf(auth)
	deadline := time.Now().Add(rl.timeout)
	backoff := relayBackoff
	for {
		status, answer, retryAfter, err := rl.post(r.Context(), body, auth)
		switch {
		case err == nil && status == http.StatusAccepted:
			rl.accepted(id, answer)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(answer)
			return
		case err == nil && !retryable(status):
			rl.refuse(id, "the mediator answered HTTP "+strconv.Itoa(status)+": "+truncate(string(answer), 300))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(answer)
			return
		case r.Context().Err() != nil:
			return
		}
		rl.retries.Add(1)
		wait := backoff + rand.N(backoff/2+1)
		if retryAfter > 0 {
			wait = min(retryAfter, relayMaxRetryAfter)
		}
		backoff = min(2*backoff, relayMaxBackoff)
		if time.Now().Add(wait).After(deadline) {
			why := "HTTP " + strconv.Itoa(status)
			if err != nil {
				why = err.Error()
			}
			rl.refuse(id, "the relay gave up after "+rl.timeout.String()+"; last answer: "+why)
			http.Error(w, "the mediator did not accept the record in time", http.StatusGatewayTimeout)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
}

// post makes one attempt. retryAfter is the answer's Retry-After, if any.
func (rl *relay) post(ctx context.Context, body []byte, auth string) (status int, answer []byte, retryAfter time.Duration, err error) {
	target := rl.targets[(rl.next.Add(1)-1)%uint64(len(rl.targets))]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	resp, err := rl.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, 0, err
	}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return resp.StatusCode, answer, retryAfter, nil
}

func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func (rl *relay) entry(id string) *relayed {
	e := rl.records[id]
	if e == nil {
		e = &relayed{aids: map[string]bool{}}
		rl.records[id] = e
	}
	return e
}

func (rl *relay) accepted(id string, answer []byte) {
	var a struct {
		Transactions []struct {
			ID        string `json:"id"`
			Duplicate bool   `json:"duplicate"`
		} `json:"transactions"`
	}
	_ = json.Unmarshal(answer, &a)
	if len(a.Transactions) > 0 && a.Transactions[0].Duplicate {
		rl.resent.Add(1)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	e := rl.entry(id)
	if e.accepted == 0 {
		rl.accepts.Add(1)
	}
	e.accepted++
	for _, t := range a.Transactions {
		if t.ID != "" {
			e.aids[t.ID] = true
		}
	}
}

func (rl *relay) refuse(id, why string) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.entry(id).refused = why
}

// view returns what the relay knows of record id.
func (rl *relay) view(id string) (accepted bool, aids []string, refused string) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	e := rl.records[id]
	if e == nil {
		return false, nil, ""
	}
	for aid := range e.aids {
		aids = append(aids, aid)
	}
	return e.accepted > 0, aids, e.refused
}

// ids returns every record id the relay saw.
func (rl *relay) ids() []string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make([]string, 0, len(rl.records))
	for id := range rl.records {
		out = append(out, id)
	}
	return out
}

// recordIDOf reads the recordId claim of a bearer token without verifying
// it (the mediator verifies; the relay only files the answer under it).
func recordIDOf(authorization string) string {
	_, token, _ := strings.Cut(authorization, " ")
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		RecordID string `json:"recordId"`
	}
	_ = json.Unmarshal(payload, &c)
	return c.RecordID
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
