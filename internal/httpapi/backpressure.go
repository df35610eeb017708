package httpapi

import (
	"context"
	"sync"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// depthCacheFor is how long a count of the queue is trusted: intake asks
// at most this often, however many records arrive.
const depthCacheFor = 500 * time.Millisecond

// admission decides whether intake takes a new record: not while the
// mediator shuts down, nor while more than max records wait to be
// submitted to MOSIP (it answers 503 with Retry-After instead, and the
// sender tries again later; nothing it accepted is dropped).
type admission struct {
	max      int
	count    func(context.Context) (int, error)
	stopping func() bool
	now      func() time.Time

	mu      sync.Mutex
	depth   int
	countAt time.Time
}

func (a *admission) admit(ctx context.Context) error {
	if a.stopping != nil && a.stopping() {
		return bridge.Errorf(bridge.EBusy, "the mediator is shutting down; send the record again in a moment")
	}
	if a.max <= 0 || a.count == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := a.now(); now.Sub(a.countAt) >= depthCacheFor {
		n, err := a.count(ctx)
		if err != nil {
			return err
		}
		a.depth, a.countAt = n, now
	}
	if a.depth >= a.max {
		return bridge.Errorf(bridge.EBusy, "%d records are waiting to be submitted to MOSIP (the limit is %d); send this record again later", a.depth, a.max)
	}
	return nil
}
