package mosip

import "context"

// Check asks the auth manager for a new token now, whatever the cache
// holds, and keeps it for the callers of Token: it tells whether MOSIP's
// auth answers (readiness), and costs nothing extra when it does. Errors
// are as Token's.
func (a *AuthClient) Check(ctx context.Context) error {
	token, renewAt, err := a.fetch(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight == nil && !renewAt.Before(a.renewAt) {
		a.token, a.renewAt = token, renewAt
	}
	return nil
}
