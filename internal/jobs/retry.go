package jobs

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy is how a job that failed for a reason that may pass (MOSIP or
// OpenCRVS down, slow, overloaded) is tried again: exponential backoff from
// Base, doubled per attempt, capped at Max, with jitter so that a recovering
// system is not hit by every job at once; after MaxAttempts the transaction
// is DEAD and waits for an operator. Failures that retrying cannot fix stop
// at once (see each worker).
type RetryPolicy struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
	// MaxAge gives up earlier than MaxAttempts once this long has passed
	// since the job was first tried (0: no age limit).
	MaxAge time.Duration
}

// retryable reports whether a transient failure of attempt (of
// maxAttempts), age after the job was created, is tried again.
func (p RetryPolicy) retryable(attempt, maxAttempts int, age time.Duration) bool {
	if attempt >= maxAttempts {
		return false
	}
	return p.MaxAge <= 0 || age < p.MaxAge
}

// DefaultRetryPolicy keeps trying for about half a day: enough to ride out
// a MOSIP maintenance window or a night-long outage.
var DefaultRetryPolicy = RetryPolicy{Base: 2 * time.Second, Max: 30 * time.Minute, MaxAttempts: 30}

// Delay returns how long to wait after the given failed attempt (1-based):
// a random duration in [d/2, d] where d = min(Max, Base*2^(attempt-1)).
func (p RetryPolicy) Delay(attempt int) time.Duration {
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

func (p RetryPolicy) next(attempt int, now time.Time) time.Time {
	return now.Add(p.Delay(attempt))
}
