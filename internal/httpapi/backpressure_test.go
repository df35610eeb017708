package httpapi

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
)

func TestAdmission(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var depth, counts atomic.Int64
	var stopping atomic.Bool
	a := &admission{
		max:      10,
		count:    func(context.Context) (int, error) { counts.Add(1); return int(depth.Load()), nil },
		stopping: stopping.Load,
		now:      func() time.Time { return now },
	}
	ctx := t.Context()
	depth.Store(9)
	if err := a.admit(ctx); err != nil {
		t.Fatalf("below the limit: %v", err)
	}
	depth.Store(10)
	if err := a.admit(ctx); err != nil {
		t.Fatalf("the count is trusted for a while, so this is still admitted: %v", err)
	}
	if counts.Load() != 1 {
		t.Errorf("counted %d times within the cache period", counts.Load())
	}
	now = now.Add(depthCacheFor)
	err := a.admit(ctx)
	if bridge.ErrorCodeOf(err) != bridge.EBusy || !strings.Contains(err.Error(), "10 records are waiting") {
		t.Fatalf("at the limit: %v, want busy naming the depth", err)
	}
	depth.Store(0)
	now = now.Add(depthCacheFor)
	if err := a.admit(ctx); err != nil {
		t.Fatalf("drained: %v", err)
	}
	stopping.Store(true)
	if err := a.admit(ctx); bridge.ErrorCodeOf(err) != bridge.EBusy || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("while stopping: %v", err)
	}
	stopping.Store(false)

	// A database that does not answer is reported as such, not as busy.
	a.count = func(context.Context) (int, error) {
		return 0, &bridge.Error{Code: bridge.EUnavailable, Message: "db", Err: errors.New("locked")}
	}
	now = now.Add(depthCacheFor)
	if err := a.admit(ctx); bridge.ErrorCodeOf(err) != bridge.EUnavailable {
		t.Fatalf("count failed: %v", err)
	}
	// No limit: never counts.
	unlimited := &admission{count: func(context.Context) (int, error) { t.Fatal("counted"); return 0, nil }, now: time.Now}
	if err := unlimited.admit(ctx); err != nil {
		t.Fatal(err)
	}
}
