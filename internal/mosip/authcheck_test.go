package mosip

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
)

// Check always asks the auth manager (Token would answer from its cache),
// hands its token to Token's callers, and reports a refusal.
func TestAuthCheck(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	var down atomic.Bool
	a, n := newAuth(t, clock, func(w http.ResponseWriter, r *http.Request, n int32) {
		if down.Load() {
			reply(w, http.StatusServiceUnavailable, "down")
			return
		}
		setToken(w, "Authorization=token-"+string(rune('0'+n))+"; Max-Age=1800")
	})
	ctx := context.Background()
	for i := range 2 {
		if err := a.Check(ctx); err != nil {
			t.Fatalf("check %d: %v", i+1, err)
		}
	}
	if got := n.Load(); got != 2 {
		t.Errorf("two checks made %d requests, want 2", got)
	}
	if tok, err := a.Token(ctx); err != nil || tok != "token-2" || n.Load() != 2 {
		t.Errorf("Token after the checks = %q, %v (%d requests); want the second check's token from the cache", tok, err, n.Load())
	}
	down.Store(true)
	err := a.Check(ctx)
	if err == nil || !IsTransient(err) {
		t.Errorf("check against a down auth manager: %v, want a transient error", err)
	}
	if tok, _ := a.Token(ctx); tok != "token-2" {
		t.Errorf("a failed check dropped the cached token: %q", tok)
	}
}
