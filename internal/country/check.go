package country

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

// sampleBirth is an OpenCRVS 1.8 birth bundle (Farajaland) whose mother
// passed in-form verification: what `config check` shows without --record.
//
//go:embed sample-birth.json
var sampleBirth []byte

// Check is `opencrvs-mosip config check [--record FILE]`: it parses an
// OpenCRVS 1.8 FHIR bundle (nil: an embedded sample birth), and prints the
// decision, the reason and the packet the mapping gives (even when the rule
// does not forward, so the mapping can be checked). The output shows
// personal data of the record: it is for integrators, not for logs.
func (c *Config) Check(w io.Writer, record []byte, now time.Time) error {
	source := "the --record file"
	if record == nil {
		record, source = sampleBirth, "the built-in sample birth"
	}
	rec, err := fhir.Parse(record)
	if err != nil {
		return fmt.Errorf("country: check %s: %w", source, err)
	}
	taskRegNo := rec.RegistrationNumber // OpenCRVS's own: the record was registered
	out, err := c.Evaluate(rec, now)
	if err != nil {
		return fmt.Errorf("country: check %s: %w", source, err)
	}
	pkt := out.Packet
	var mapErr error
	if pkt == nil && c.events[rec.Event] != nil {
		pkt, mapErr = c.Map(rec, now)
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	line("configuration", c.name)
	line("record", fmt.Sprintf("%s %s (OpenCRVS record %s)", rec.Event, rec.TrackingID, rec.RecordID))
	if out.Forward {
		line("decision", "forward to MOSIP as "+pkt.Process)
	} else {
		line("decision", "not forwarded: OpenCRVS registers the record without a national ID")
	}
	line("reason", out.Reason)
	line("registration number", out.RegistrationNumber)

	fmt.Fprintln(tw, "\nverification")
	for _, name := range []string{"child", "mother", "father", "deceased", "spouse", "informant"} {
		p := role(rec, name)
		if p == nil {
			continue
		}
		status := "none recorded"
		if p.Verification != "" {
			status = p.Verification
			if p.Authenticated {
				status += " (passed)"
			} else {
				status += " (not passed)"
			}
		}
		if name == "informant" && rec.Informant.Relationship != "" {
			name += " (" + rec.Informant.Relationship + ")"
		}
		line("  "+name, status)
	}

	switch {
	case mapErr != nil:
		fmt.Fprintf(tw, "\nmapping failed: %v\n", mapErr)
	case pkt == nil:
	default:
		if !out.Forward {
			fmt.Fprintln(tw, "\nwere it forwarded, MOSIP would receive:")
		}
		section(tw, "fields (process "+pkt.Process+")", pkt.Fields)
		section(tw, "metaInfo", pkt.MetaInfo)
		section(tw, "audit", pkt.Audit)
		fmt.Fprintln(tw, "\nnotification")
		line("  name", orDash(pkt.Notification.Name))
		line("  email", orDash(pkt.Notification.Email))
		line("  phone", orDash(pkt.Notification.Phone))
		// A new identity needs the required fields; death and update
		// packets change an identity MOSIP already holds.
		if missing := c.missingRequired(pkt); len(missing) > 0 && pkt.Process == bridge.ProcessNew {
			fmt.Fprintf(tw, "\nnote: the ID schema marks %s as required and this packet has none; MOSIP may refuse it\n",
				strings.Join(missing, ", "))
		}
	}
	if taskRegNo != "" && c.events[rec.Event] != nil {
		corr, err := c.MapCorrection(rec, now)
		if err != nil {
			return fmt.Errorf("country: check %s as a correction: %w", source, err)
		}
		fmt.Fprintf(tw, "\nas a correction: the record carries registration number %s. If the mediator registered %s %s\n", taskRegNo, rec.Event, rec.TrackingID)
		fmt.Fprintln(tw, "under that number, this is its correction and MOSIP receives, instead of the above, the fields")
		fmt.Fprintf(tw, "below that differ from what MOSIP holds, as process %s, with the person's national ID\n", corr.Process)
		fmt.Fprintln(tw, "(the UIN MOSIP issued for a birth; the deceased's national ID for a death). The rules do not")
		fmt.Fprintln(tw, "apply to corrections: a registration MOSIP holds is corrected there.")
		section(tw, "correction fields (process "+corr.Process+")", corr.Fields)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("country: check: %w", err)
	}
	return mapErr
}

func section(w io.Writer, title string, values map[string]json.RawMessage) {
	fmt.Fprintf(w, "\n%s\n", title)
	if len(values) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := string(values[k])
		var s string
		if json.Unmarshal(values[k], &s) == nil {
			v = s // strings are sent as they are
		}
		fmt.Fprintf(w, "  %s\t%s\n", k, v)
	}
}

// missingRequired lists the schema's required fields the packet lacks.
// IDSchemaVersion is left out: MOSIP's packet writer sets it.
func (c *Config) missingRequired(pkt *bridge.Packet) []string {
	var missing []string
	for _, name := range c.schema.required {
		if _, ok := pkt.Fields[name]; !ok && name != "IDSchemaVersion" {
			missing = append(missing, name)
		}
	}
	return missing
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
