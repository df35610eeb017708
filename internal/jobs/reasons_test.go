package jobs

import (
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
)

func TestReasons(t *testing.T) {
	r := DefaultReasons.With(map[string]string{
		StatusKey("REJECTED"): "Doublon possible.",
		"KER-PUT-006":         "  ", // removes the entry
	})
	if got := r.Explain(StatusKey("REJECTED")); got != "Doublon possible." {
		t.Errorf("override: %q", got)
	}
	if got := r.Explain("KER-PUT-006"); got != DefaultReasons[ReasonDefault] {
		t.Errorf("a removed entry falls back to the default, got %q", got)
	}
	if DefaultReasons["KER-PUT-006"] == "" {
		t.Errorf("With changed the default table")
	}
	// The first code the table knows explains a MOSIP error.
	err := &mosip.APIError{Op: mosip.OpCreatePacket, StatusCode: 200, Errors: []mosip.ServiceError{
		{ErrorCode: "XYZ-000"}, {ErrorCode: "KER-PUT-020", Message: "fullName invalid"},
	}}
	if got := r.ExplainError(err); got != DefaultReasons["KER-PUT-020"] {
		t.Errorf("ExplainError = %q", got)
	}
	if got := r.ExplainError(bridge.Errorf(bridge.EInvalid, "x")); got != DefaultReasons[ReasonDefault] {
		t.Errorf("a non-MOSIP error: %q", got)
	}
	if got := (Reasons{}).Explain("nothing"); got != DefaultReasons[ReasonDefault] {
		t.Errorf("an empty table still explains: %q", got)
	}
	c := rejectComment("Fix it.", "10001100040000120261123214601", "registration status REJECTED")
	for _, want := range []string{"Fix it.", "Application ID: 10001100040000120261123214601.", "MOSIP said: registration status REJECTED"} {
		if !strings.Contains(c, want) {
			t.Errorf("comment %q lacks %q", c, want)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy{Base: time.Second, Max: 8 * time.Second, MaxAttempts: 5, MaxAge: time.Hour}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 9: 8 * time.Second} {
		for range 50 {
			if d := p.Delay(attempt); d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	cases := []struct {
		attempt int
		age     time.Duration
		want    bool
	}{
		{1, 0, true}, {4, 59 * time.Minute, true}, {5, 0, false}, {2, time.Hour, false},
	}
	for _, c := range cases {
		if got := p.retryable(c.attempt, p.MaxAttempts, c.age); got != c.want {
			t.Errorf("retryable(attempt %d, age %v) = %v", c.attempt, c.age, got)
		}
	}
	if !(RetryPolicy{MaxAttempts: 3}).retryable(2, 3, 1000*time.Hour) {
		t.Errorf("no MaxAge: age never stops retries")
	}
}

func TestNextCheckBacksOff(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &Runner{cfg: Config{Now: func() time.Time { return now },
		Reconcile: ReconcileConfig{After: time.Minute, MaxInterval: 5 * time.Minute}}}
	for checks, want := range map[int]time.Duration{0: time.Minute, 1: 2 * time.Minute, 2: 4 * time.Minute, 3: 5 * time.Minute, 40: 5 * time.Minute} {
		if got := r.nextCheck(&bridge.Transaction{Checks: checks}).Sub(now); got != want {
			t.Errorf("after %d checks: next in %v, want %v", checks, got, want)
		}
	}
}

func TestPolicyMarkdown(t *testing.T) {
	md := PolicyMarkdown()
	if got := strings.Count(md, "\n"); got != len(Policy)+2 {
		t.Errorf("%d lines for %d rows", got, len(Policy))
	}
	for _, r := range Policy {
		if strings.Contains(r.Call+r.Failure+r.Outcome, "|") || strings.Contains(r.Call+r.Failure+r.Outcome, "\n") {
			t.Errorf("row %q breaks the Markdown table", r.Call)
		}
	}
}
