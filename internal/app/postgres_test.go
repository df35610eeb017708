package app

import (
	"testing"

	"opencrvs-mosip/internal/store/pgtest"
)

// The mediator on PostgreSQL (DATABASE_URL): births get national IDs end to
// end, and after a restart a resend changes nothing. Skipped without
// TEST_DATABASE_URL, except under CI (internal/store/pgtest).
func TestE2EPostgresBirths(t *testing.T) {
	dbURL := pgtest.URL(t)
	s := startSystem(t, systemOptions{config: func(c *Config) { c.DatabaseURL = dbURL }})
	if got := s.mediator.Store().Dialect(); got != "postgres" {
		t.Fatalf("the mediator runs on %s, want postgres", got)
	}
	recs := s.sendAll(t, 10, 4, birth)
	s.assertRegistered(t, recs)

	s.restartMediator(t)
	more := s.sendAll(t, 2, 2, birth)
	s.assertRegistered(t, append(recs, more...))
}
