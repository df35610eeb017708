package jobs

import (
	"strings"
)

// PolicyRow is one line of the failure policy: what the mediator does when
// a call fails in a given way.
type PolicyRow struct {
	Call    string // which call
	Failure string // how it failed
	Outcome string // what happens
}

// Policy is the failure policy of every outbound call, in one table. The
// README prints it (kept in step by a test). Which errors are transient is
// decided by mosip.IsTransient (with its ErrorCodes table) and
// opencrvs.IsTransient; the backoff by RetryPolicy.
var Policy = []PolicyRow{
	{"MOSIP: auth, createPacket, workflowinstance",
		"network error, timeout, HTTP 401/403 (after one token renewal), 408, 429, 5xx, a body that is not MOSIP JSON, MOSIP codes marked transient (KER-PUT-0xx storage and keeper errors, RPR-WIS-000, ...)",
		"retried: backoff from `RETRY_BASE_DELAY`, doubled per attempt, capped at `RETRY_MAX_DELAY`, jittered to half..full; DEAD after `RETRY_MAX_ATTEMPTS` or `RETRY_MAX_AGE`"},
	{"MOSIP: createPacket, workflowinstance",
		"MOSIP refuses the record: any other MOSIP error code (KER-PUT-020 validation, KER-PUT-006 no packet writer, RPR-WIN-001, unknown codes)",
		"no retry: REJECTED_BY_MOSIP, OpenCRVS `rejectRegistration` with the plain-words reason, then REPORTED"},
	{"MOSIP: createPacket, workflowinstance",
		"`RPR-WIS-001` (workflow already started): a repeat after a crash",
		"success"},
	{"MOSIP: registration status (reconciliation)",
		"status REJECTED, FAILED, REPROCESS_FAILED or REREGISTER",
		"REJECTED_BY_MOSIP, then OpenCRVS is told, then REPORTED"},
	{"MOSIP: registration status (reconciliation)",
		"status PROCESSED or UIN_GENERATED, and no credential arrived",
		"a birth's UIN/VID is read from the ID repository, then ISSUED and confirmed; a death or update is confirmed"},
	{"MOSIP: registration status (reconciliation)",
		"MOSIP does not know the AID (twice), or status RESEND",
		"the packet is sent again under the same AID (createPacket replaces it; the workflow start is idempotent)"},
	{"MOSIP: registration status (reconciliation)",
		"still processing, or the search or ID repository fails",
		"asked again: after `RECONCILE_AFTER`, doubling per check up to `RECONCILE_MAX_INTERVAL`"},
	{"OpenCRVS: confirmRegistration, rejectRegistration",
		"network error, timeout, HTTP 408, 429, 5xx, a GraphQL error marked internal",
		"retried as for MOSIP; DEAD after `RETRY_MAX_ATTEMPTS` or `RETRY_MAX_AGE`"},
	{"OpenCRVS: confirmRegistration, rejectRegistration",
		"\"already registered\" / \"already rejected\": a repeat after a crash",
		"success"},
	{"OpenCRVS: confirmRegistration, rejectRegistration",
		"the record's token expired or was refused (401/403), or another GraphQL error",
		"DEAD at once, with the reason: send the record again from OpenCRVS (the new token replaces the old), then `tx retry`"},
	{"OpenCRVS 1.9: tRPC event.actions.register.accept, .reject",
		"network error, timeout, tRPC INTERNAL_SERVER_ERROR, TIMEOUT or TOO_MANY_REQUESTS, HTTP 408, 429, 5xx without a tRPC error",
		"retried as for MOSIP; DEAD after `RETRY_MAX_ATTEMPTS` or `RETRY_MAX_AGE`"},
	{"OpenCRVS 1.9: tRPC event.actions.register.accept, .reject",
		"\"already been accepted\" / \"already been rejected\" for the same operation (1.9 itself answers a repeat with success)",
		"success"},
	{"OpenCRVS 1.9: tRPC event.actions.register.accept, .reject",
		"the action token expired; tRPC UNAUTHORIZED, FORBIDDEN (token not for this event/action), NOT_FOUND (unknown event or action), BAD_REQUEST (e.g. the action was already rejected in OpenCRVS)",
		"DEAD at once, with OpenCRVS's answer and what it means; fix the cause, then `tx retry`"},
	{"OpenCRVS identity update endpoint (`OPENCRVS_IDENTITY_UPDATE_URL`)",
		"network error, timeout, HTTP 408, 409 (the record is not ready), 429, 5xx; or MOSIP's ID repository not answering the read",
		"retried with the backoff; any other answer is logged as an error and the change is not sent"},
	{"MOSIP ID repository: death reversal by update (`DEATH_REVERSAL_MODE=idrepo`)",
		"`IDR-IDC-012` (the update's id was seen: a repeat after a crash)",
		"success"},
	{"MOSIP WebSub hub: subscribe",
		"any failure, or the hub never verifies the intent",
		"retried with the backoff; the subscription is made again before its lease ends, at least every `MOSIP_WEBSUB_RENEW_INTERVAL`, and when the hub forgets it"},
	{"the mediator's own database",
		"unavailable while a job records its outcome",
		"the job runs again later without spending an attempt"},
	{"operators",
		"a DEAD transaction",
		"`opencrvs-mosip tx retry ID` or `POST /admin/transactions/{id}/retry` resumes it in the state it died in, with fresh attempts"},
	{"operators",
		"a REJECTED_BY_MOSIP transaction whose refusal OpenCRVS has not yet been told",
		"`tx retry ID` sends its packet to MOSIP again under a new AID (MOSIP keeps its decision on an AID); the refused one becomes CANCELLED"},
}

// PolicyMarkdown renders Policy as a Markdown table.
func PolicyMarkdown() string {
	var b strings.Builder
	b.WriteString("| call | failure | what happens |\n|---|---|---|\n")
	for _, r := range Policy {
		b.WriteString("| " + r.Call + " | " + r.Failure + " | " + r.Outcome + " |\n")
	}
	return b.String()
}
