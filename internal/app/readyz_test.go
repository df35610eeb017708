package app

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// readiness is the /readyz answer, ready or not (problem JSON then).
type readiness struct {
	Status   string `json:"status"` // "ready" or "degraded", or the problem's HTTP status
	Type     string `json:"type"`
	Detail   string `json:"detail"`
	Failed   []string
	Degraded []string
	Checks   map[string]struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

func (s *system) readyz(t *testing.T) (int, readiness) {
	t.Helper()
	st, hdr, body := rawCall(t, "GET", s.mediatorURL+"/readyz", nil, nil)
	var r readiness
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("/readyz answered %d %s: not JSON", st, body)
	}
	json.Unmarshal(raw["checks"], &r.Checks)
	json.Unmarshal(raw["failed"], &r.Failed)
	json.Unmarshal(raw["degraded"], &r.Degraded)
	json.Unmarshal(raw["type"], &r.Type)
	json.Unmarshal(raw["detail"], &r.Detail)
	if st == http.StatusOK {
		json.Unmarshal(raw["status"], &r.Status)
	} else if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("/readyz %d with Content-Type %q, want problem JSON", st, ct)
	}
	return st, r
}

// waitReadyz polls /readyz (bounded) until want says yes, and returns the
// last answer.
func (s *system) waitReadyz(t *testing.T, what string, want func(int, readiness) bool) (int, readiness) {
	t.Helper()
	var st int
	var r readiness
	if !waitFor(30*time.Second, func() bool {
		st, r = s.readyz(t)
		return want(st, r)
	}) {
		t.Fatalf("%s: /readyz still %d %+v after 30s", what, st, r)
	}
	return st, r
}

// failing says /readyz answers 503 naming exactly the checks names.
func failing(names ...string) func(int, readiness) bool {
	return func(st int, r readiness) bool {
		return st == http.StatusServiceUnavailable && slices.Equal(r.Failed, names)
	}
}

func ready(st int, r readiness) bool { return st == http.StatusOK && r.Status == "ready" }

// degraded says /readyz answers 200 "degraded" naming exactly the checks
// names.
func degraded(names ...string) func(int, readiness) bool {
	return func(st int, r readiness) bool {
		return st == http.StatusOK && r.Status == "degraded" && slices.Equal(r.Degraded, names)
	}
}

// By default a dependency that fails (here MOSIP's auth manager) is
// reported, but the mediator stays ready and keeps taking records: it
// queues them durably, and a load balancer that stopped sending would turn
// the outage into records OpenCRVS rejects.
func TestReadyzDependenciesReportedByDefault(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.ReadyAuthCache = time.Nanosecond }})
	s.waitReadyz(t, "start", ready)
	s.setMOSIPFaults(t, map[string]any{"outage": true, "endpoints": []string{"auth"}})
	_, r := s.waitReadyz(t, "auth manager answering 503", degraded("mosip_auth"))
	if c := r.Checks["mosip_auth"]; c.Status != "fail" || c.Detail != "MOSIP's auth manager refused to issue a token (HTTP 503)" {
		t.Errorf("mosip_auth check %+v", c)
	}
	rec := s.sendRecord(t, map[string]any{"kind": "birth"})
	s.setMOSIPFaults(t, map[string]any{})
	s.waitReadyz(t, "auth manager back", ready)
	if got := s.waitRecord(t, rec.ID); got.Status != "registered" {
		t.Errorf("a record sent while MOSIP's auth was down: %+v, want registered once it came back", got)
	}
}

// Every check is named with its result; a working system is ready (the
// subscription may still be awaiting the hub's verification at first).
func TestReadyzAllChecksPass(t *testing.T) {
	s := startSystem(t, systemOptions{})
	_, r := s.waitReadyz(t, "a working system", func(st int, r readiness) bool {
		return st == http.StatusOK && r.Checks["websub"].Detail != "not subscribed yet"
	})
	if r.Status != "ready" {
		t.Errorf("status %q, want ready", r.Status)
	}
	for _, name := range []string{"database", "migrations", "websub", "mosip_auth", "shutdown"} {
		if c, ok := r.Checks[name]; !ok || c.Status != "pass" {
			t.Errorf("check %s: %+v (present %v), want pass", name, c, ok)
		}
	}
	if _, ok := r.Checks["websub_identity"]; ok {
		t.Error("the identity update subscription is checked, but none is configured")
	}
}

// With READYZ_REQUIRE_DEPENDENCIES, MOSIP's auth manager refusing (fault
// injection) or gone (its server closed) makes the mediator not ready,
// naming mosip_auth alone; the result is kept briefly, and the mediator is
// ready again once MOSIP is back.
func TestReadyzMOSIPAuthDown(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.ReadyAuthCache, c.ReadyRequireDeps = time.Nanosecond, true }})
	s.waitReadyz(t, "start", ready)

	s.setMOSIPFaults(t, map[string]any{"outage": true, "endpoints": []string{"auth"}})
	_, r := s.waitReadyz(t, "auth manager answering 503", failing("mosip_auth"))
	if r.Type != "urn:opencrvs-mosip:problem:unavailable" || r.Checks["mosip_auth"].Detail != "MOSIP's auth manager refused to issue a token (HTTP 503)" {
		t.Errorf("answer %+v", r)
	}
	for _, name := range []string{"database", "migrations", "shutdown"} {
		if r.Checks[name].Status != "pass" {
			t.Errorf("check %s: %+v, want pass", name, r.Checks[name])
		}
	}

	s.setMOSIPFaults(t, map[string]any{})
	s.waitReadyz(t, "auth manager back", ready)

	s.stopMOSIP() // connection refused
	_, r = s.waitReadyz(t, "MOSIP's server closed", func(st int, r readiness) bool {
		return st == http.StatusServiceUnavailable && slices.Contains(r.Failed, "mosip_auth")
	})
	if d := r.Checks["mosip_auth"].Detail; d != "MOSIP's auth manager could not be reached" {
		t.Errorf("mosip_auth detail %q", d)
	}
	s.startMOSIP(t)
	s.waitReadyz(t, "MOSIP restarted", ready)
}

// The MOSIP auth result is reused for READYZ_MOSIP_AUTH_CACHE: probes in
// between do not ask MOSIP, so an outage shows only once it is over.
func TestReadyzMOSIPAuthCached(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.ReadyAuthCache, c.ReadyRequireDeps = time.Hour, true }})
	s.waitReadyz(t, "start", ready)
	s.setMOSIPFaults(t, map[string]any{"outage": true, "endpoints": []string{"auth"}})
	for range 5 {
		if st, r := s.readyz(t); st != http.StatusOK {
			t.Fatalf("/readyz %d %+v within the cache time, want the cached pass", st, r)
		}
	}
}

// A database that no longer answers fails the write and schema checks.
func TestReadyzDatabaseClosed(t *testing.T) {
	s := startSystem(t, systemOptions{})
	s.waitReadyz(t, "start", ready)
	s.mediator.Store().Close()
	_, r := s.waitReadyz(t, "database closed", failing("database", "migrations"))
	if d := r.Checks["database"].Detail; d != "the database did not take a write" {
		t.Errorf("database detail %q", d)
	}
}

// A subscription whose lease ends while the hub refuses renewals is lost:
// (with READYZ_REQUIRE_DEPENDENCIES) not ready, naming websub; once the hub
// takes the renewal, ready again.
func TestReadyzSubscriptionLost(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) {
		c.ReadyRequireDeps = true
		c.LeaseSeconds = 2 // renewed after a second
		c.SubscriptionCheck = 100 * time.Millisecond
		c.ReadyWebSubGrace = 100 * time.Millisecond
	}})
	s.waitReadyz(t, "subscribed", func(st int, r readiness) bool {
		return st == http.StatusOK && r.Checks["websub"].Status == "pass" && r.Checks["websub"].Detail != "not subscribed yet"
	})
	s.setMOSIPFaults(t, map[string]any{"outage": true, "endpoints": []string{"hub"}})
	_, r := s.waitReadyz(t, "hub refusing renewals", failing("websub"))
	if d := r.Checks["websub"].Detail; d != "not subscribed: the last subscribe request to the hub failed" {
		t.Errorf("websub detail %q", d)
	}
	s.setMOSIPFaults(t, map[string]any{})
	s.waitReadyz(t, "hub back", ready)
}

// While the mediator stops, /readyz is 503 busy naming shutdown, and the
// other checks are not run.
func TestReadyzStopping(t *testing.T) {
	s := startSystem(t, systemOptions{config: func(c *Config) { c.DrainDelay = 2 * time.Second }})
	s.waitReadyz(t, "start", ready)
	s.cancel()
	_, r := s.waitReadyz(t, "stopping", failing("shutdown"))
	if r.Type != "urn:opencrvs-mosip:problem:busy" {
		t.Errorf("type %q, want busy", r.Type)
	}
	for _, name := range []string{"database", "migrations", "websub", "mosip_auth"} {
		if r.Checks[name].Status != "skipped" {
			t.Errorf("check %s while stopping: %+v, want skipped", name, r.Checks[name])
		}
	}
}
