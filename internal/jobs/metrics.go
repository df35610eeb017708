package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/telemetry"
)

// jobMetrics is River middleware that counts every job run: its kind,
// attempt, duration and outcome.
type jobMetrics struct {
	river.MiddlewareDefaults
	m   *telemetry.Metrics
	now func() time.Time
}

func (j *jobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	start := j.now()
	outcome := telemetry.JobFailed // a panic, unless err says otherwise
	defer func() {
		j.m.JobRun(job.Kind, job.Attempt, j.now().Sub(start), outcome)
	}()
	err = doInner(ctx)
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		outcome = telemetry.JobOK
	case errors.As(err, &snooze):
		outcome = telemetry.JobSnoozed
	case errors.Is(err, &rivertype.JobCancelError{}):
		outcome = telemetry.JobCancelled
	}
	return err
}

// mosipEndpoints names the endpoint of each MOSIP operation as the
// outbound metrics do (internal/app wires the same names to the URLs).
var mosipEndpoints = map[string]string{
	mosip.OpAuthenticate:   "auth",
	mosip.OpCreatePacket:   "createPacket",
	mosip.OpStartWorkflow:  "workflow",
	mosip.OpSearchStatus:   "status",
	mosip.OpReadIdentity:   "identity",
	mosip.OpUpdateIdentity: "identity",
	mosip.OpListVIDs:       "vid",
}

// noteCallError counts the error code of a failed MOSIP or OpenCRVS call
// whose answer was 2xx (MOSIP answers most errors that way, OpenCRVS's
// GraphQL too): the HTTP status did not show the failure, so the outbound
// metrics' transport counted a success. Failures with an error status or
// without an answer are counted there already.
func (r *Runner) noteCallError(err error) {
	m := r.cfg.Metrics
	if m == nil || err == nil {
		return
	}
	var (
		me *mosip.APIError
		ge *opencrvs.GraphQLError
		te *opencrvs.TRPCError
	)
	switch {
	case errors.As(err, &me) && is2xx(me.StatusCode):
		endpoint, ok := mosipEndpoints[me.Op]
		if !ok {
			endpoint = telemetry.EndpointOther
		}
		code := errorKind(me.Err)
		if codes := me.Codes(); len(codes) > 0 {
			code = codes[0]
		}
		m.OutboundError(telemetry.SystemMOSIP, endpoint, code)
	case errors.As(err, &ge) && is2xx(ge.StatusCode):
		code := errorKind(ge.Err)
		for _, c := range ge.Codes {
			if c != "" {
				code = c
				break
			}
		}
		if code == "" {
			code = "graphql_error"
		}
		m.OutboundError(telemetry.SystemOpenCRVS, "graphql", code)
	case errors.As(err, &te) && is2xx(te.StatusCode):
		code := te.Code
		if code == "" {
			code = errorKind(te.Err)
		}
		if code == "" {
			code = "trpc_error"
		}
		m.OutboundError(telemetry.SystemOpenCRVS, "trpc", code)
	}
}

func is2xx(status int) bool { return status >= 200 && status <= 299 }

// errorKind names what went wrong with a 2xx answer besides listed errors.
func errorKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, mosip.ErrNullResponse), errors.Is(err, opencrvs.ErrNoData):
		return "no_result"
	case errors.Is(err, mosip.ErrNotMOSIPJSON), errors.Is(err, opencrvs.ErrNotGraphQL), errors.Is(err, opencrvs.ErrNotTRPC):
		return "not_json"
	case errors.Is(err, mosip.ErrBodyTooLarge), errors.Is(err, opencrvs.ErrBodyTooLarge):
		return "too_large"
	case errors.Is(err, mosip.ErrNoResponse), errors.Is(err, opencrvs.ErrNoResponse):
		return "body_cut_short"
	case errors.Is(err, mosip.ErrNoToken):
		return "no_token"
	case errors.Is(err, mosip.ErrNoUIN):
		return "no_uin"
	}
	return "bad_answer"
}
