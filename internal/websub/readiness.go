package websub

import (
	"errors"
	"time"
)

// Readiness says whether the subscription is where it should be, for a
// readiness probe. It is nil when the hub verified the subscription and
// its lease runs; when the hub accepted a subscribe request whose
// verification may still come (a probe that failed then would keep the
// hub's verification GET from reaching an instance a load balancer took
// out of service); and when the subscription has been missing for less
// than grace, since the Subscriber was made (start-up) or since Suspect
// dropped it. Otherwise the error says what is wrong, for an operator (it
// holds no secret). detail describes the state in either case.
//
// Denial notices do not count: anyone who can reach the callback can send
// one, and readiness must not be theirs to take away.
func (s *Subscriber) Readiness(grace time.Duration) (detail string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, st := s.now(), s.st.Status
	switch {
	case s.st.Unsubscribing:
		return "unsubscribed", errors.New("the mediator unsubscribed from the topic")
	case !st.Verified.IsZero() && now.Before(st.LeaseEnds):
		return "active, lease ends " + st.LeaseEnds.UTC().Format(time.RFC3339), nil
	case !st.Requested.IsZero() && st.Requested.After(st.Verified) && !s.st.AttemptFailed && now.Sub(st.Requested) < unverifiedRetry:
		return "requested, awaiting the hub's verification", nil
	}
	missing := s.created
	if s.st.Suspected.After(missing) {
		missing = s.st.Suspected
	}
	if now.Sub(missing) < grace {
		return "not subscribed yet", nil
	}
	switch {
	case s.st.AttemptFailed:
		return "not subscribed", errors.New("the last subscribe request to the hub failed")
	case s.st.LastAttempt.IsZero():
		return "not subscribed", errors.New("no subscribe request was made")
	case !st.LeaseEnds.IsZero() && !now.Before(st.LeaseEnds):
		return "lease ended " + st.LeaseEnds.UTC().Format(time.RFC3339), errors.New("the subscription's lease ended and was not renewed")
	default:
		return "not verified", errors.New("the hub did not verify the subscription request")
	}
}
