package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/telemetry"
)

// counters gathers the counters of family name as "label=value,..." ->
// value.
func counters(t *testing.T, m *telemetry.Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var key []string
			for _, l := range s.GetLabel() {
				key = append(key, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(key, ",")] = s.GetCounter().GetValue() + float64(s.GetHistogram().GetSampleCount())
		}
	}
	return out
}

// Error codes are counted for failures a 2xx answer carried, by the
// endpoint the metrics' transport names; failures with an error status are
// the transport's to count.
func TestNoteCallError(t *testing.T) {
	m := telemetry.NewMetrics()
	r := &Runner{cfg: Config{Metrics: m}}
	for _, err := range []error{
		fmt.Errorf("create packet: %w", &mosip.APIError{Op: mosip.OpCreatePacket, StatusCode: 200,
			Errors: []mosip.ServiceError{{ErrorCode: "KER-PUT-015"}, {ErrorCode: "KER-PUT-016"}}}),
		&mosip.APIError{Op: mosip.OpStartWorkflow, StatusCode: 200, Err: mosip.ErrNullResponse},
		&mosip.APIError{Op: mosip.OpSearchStatus, StatusCode: 503, Errors: []mosip.ServiceError{{ErrorCode: "RPR-RGS-001"}}}, // the transport's
		&mosip.APIError{Op: mosip.OpCreatePacket, Err: fmt.Errorf("%w: refused", mosip.ErrNoResponse)},                       // no answer: the transport's
		&mosip.APIError{Op: mosip.OpUpdateIdentity, StatusCode: 200, Errors: []mosip.ServiceError{{ErrorCode: "IDR-IDC-001"}}},
		river.JobCancel(&opencrvs.GraphQLError{Op: opencrvs.OpConfirmRegistration, StatusCode: 200, Codes: []string{"", "UNAUTHENTICATED"}, Messages: []string{"a", "b"}}),
		&opencrvs.GraphQLError{Op: opencrvs.OpRejectRegistration, StatusCode: 200, Err: opencrvs.ErrNotGraphQL},
		&opencrvs.TRPCError{Op: "event.actions.register.accept", StatusCode: 200, Code: "CONFLICT"},
		&opencrvs.TRPCError{Op: "event.actions.register.accept", StatusCode: 403, Code: "FORBIDDEN"}, // the transport's
		errors.New("database is locked"),
		nil,
	} {
		r.noteCallError(err)
	}
	want := map[string]float64{
		"code=KER-PUT-015,endpoint=createPacket,system=mosip":   1,
		"code=no_result,endpoint=workflow,system=mosip":         1,
		"code=IDR-IDC-001,endpoint=identity,system=mosip":       1,
		"code=UNAUTHENTICATED,endpoint=graphql,system=opencrvs": 1,
		"code=not_json,endpoint=graphql,system=opencrvs":        1,
		"code=CONFLICT,endpoint=trpc,system=opencrvs":           1,
	}
	if diff := cmp.Diff(want, counters(t, m, "opencrvs_mosip_outbound_errors_total")); diff != "" {
		t.Errorf("errors counted (-want +got):\n%s", diff)
	}
	(&Runner{}).noteCallError(errors.New("no metrics: nothing happens"))
}

func TestJobMetricsMiddleware(t *testing.T) {
	m := telemetry.NewMetrics()
	mw := &jobMetrics{m: m, now: time.Now}
	for _, c := range []struct {
		kind    string
		attempt int
		err     error
	}{
		{"submit", 1, nil},
		{"submit", 2, errors.New("mosip: create packet: HTTP 503")},
		{"submit", 3, river.JobCancel(errors.New("given up"))},
		{"confirm", 1, river.JobSnooze(time.Second)},
		{"confirm", 2, nil},
	} {
		job := &rivertype.JobRow{Kind: c.kind, Attempt: c.attempt}
		err := mw.Work(context.Background(), job, func(context.Context) error { return c.err })
		if err != c.err {
			t.Errorf("%s attempt %d: middleware returned %v, want %v", c.kind, c.attempt, err, c.err)
		}
	}
	// A panic is counted as a failure and goes on up to River.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		_ = mw.Work(context.Background(), &rivertype.JobRow{Kind: "reject", Attempt: 1}, func(context.Context) error { panic("bug") })
	}()
	if diff := cmp.Diff(map[string]float64{
		"kind=submit,outcome=ok": 1, "kind=submit,outcome=failed": 1, "kind=submit,outcome=cancelled": 1,
		"kind=confirm,outcome=snoozed": 1, "kind=confirm,outcome=ok": 1, "kind=reject,outcome=failed": 1,
	}, counters(t, m, "opencrvs_mosip_job_runs_total")); diff != "" {
		t.Errorf("job runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"kind=submit": 2, "kind=confirm": 1},
		counters(t, m, "opencrvs_mosip_job_retries_total")); diff != "" {
		t.Errorf("retries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"kind=submit": 3, "kind=confirm": 2, "kind=reject": 1},
		counters(t, m, "opencrvs_mosip_job_duration_seconds")); diff != "" {
		t.Errorf("durations observed (-want +got):\n%s", diff)
	}
}
