package jobs

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"opencrvs-mosip/internal/mosip"
)

// Reasons turns MOSIP's refusals into words a registrar can act on. Keys
// are MOSIP error codes (KER-PUT-020), registration statuses written
// "status:REJECTED", or "default". A country overrides or adds entries with
// rejectionReasons in its configuration (in its own language).
type Reasons map[string]string

// ReasonDefault is the key of the explanation used when no other applies.
const ReasonDefault = "default"

// StatusKey is the Reasons key of a registration status.
func StatusKey(status string) string { return "status:" + status }

// DefaultReasons is the embedded table.
var DefaultReasons = Reasons{
	ReasonDefault: "MOSIP refused this record. Ask the MOSIP operators to look up the application ID below; correct the record and send it again if they find a data problem.",
	"KER-PUT-020": "The record's data did not pass MOSIP's packet checks (a missing or badly formatted field). Correct the record and send it again; MOSIP's message below names the field.",
	"KER-PUT-006": "MOSIP is not configured to accept this kind of record from OpenCRVS (no packet writer for its source and process). Ask the MOSIP operators to configure it, then retry.",
	"KER-PUT-025": "MOSIP is not configured to accept this kind of record from OpenCRVS (unknown source or process). Ask the MOSIP operators to configure it, then retry.",
	"RPR-WIN-000": "MOSIP's registration processor refused the request for this record (a value was missing). Ask the mediator's operators to check its configuration.",
	"RPR-WIN-001": "MOSIP's registration processor refused the request for this record (a value was invalid). Ask the mediator's operators to check its configuration.",

	StatusKey("REJECTED"):         "MOSIP rejected this record: most often because it found an existing identity with the same name, date of birth, gender and parent (a possible duplicate), or because a field failed its validation. Check whether the person already has a national ID; ask the MOSIP operators for the detail using the application ID below.",
	StatusKey("FAILED"):           "MOSIP could not finish processing this record (for a death or correction: often because the national ID in the record does not exist in MOSIP). Check the national ID in the record; ask the MOSIP operators for the detail using the application ID below.",
	StatusKey("REPROCESS_FAILED"): "MOSIP gave up processing this record after repeated internal failures. Ask the MOSIP operators to look up the application ID below, then send the record again.",
	StatusKey("REREGISTER"):       "MOSIP asks for this record to be registered again (its packet could not be processed). Send the record again from OpenCRVS.",
}

// With returns the table with overrides applied; empty texts remove an
// entry.
func (r Reasons) With(overrides map[string]string) Reasons {
	out := maps.Clone(r)
	if out == nil {
		out = Reasons{}
	}
	for k, v := range overrides {
		if strings.TrimSpace(v) == "" {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// Explain returns the explanation of the first key the table has, or the
// default.
func (r Reasons) Explain(keys ...string) string {
	for _, k := range keys {
		if s, ok := r[k]; ok {
			return s
		}
	}
	if s, ok := r[ReasonDefault]; ok {
		return s
	}
	return DefaultReasons[ReasonDefault]
}

// ExplainError explains a MOSIP error by its codes.
func (r Reasons) ExplainError(err error) string {
	var ae *mosip.APIError
	if errors.As(err, &ae) {
		return r.Explain(ae.Codes()...)
	}
	return r.Explain()
}

// Keys lists the table's keys, sorted (for documentation).
func (r Reasons) Keys() []string {
	return slices.Sorted(maps.Keys(r))
}

// rejectComment is the comment OpenCRVS stores with the rejection: the
// registrar's explanation, the application ID MOSIP's operators look up,
// and MOSIP's own words.
func rejectComment(reason, aid, technical string) string {
	var b strings.Builder
	b.WriteString(reason)
	b.WriteString(" Application ID: ")
	b.WriteString(aid)
	b.WriteString(".")
	if technical != "" {
		b.WriteString(" MOSIP said: ")
		b.WriteString(technical)
	}
	return b.String()
}
