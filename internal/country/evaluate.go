package country

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// Outcome is the decision on one record.
type Outcome struct {
	Forward bool
	// Reason says why, in words an operator understands: the rule and the
	// value of each of its conditions. It holds no personal data.
	Reason             string
	RegistrationNumber string
	// Packet is nil when the record is not forwarded.
	Packet *bridge.Packet
}

// Evaluate decides what happens to a record. It fills each person's
// Verification and Authenticated as configured and the record's
// RegistrationNumber (OpenCRVS's own, else the configured format), applies
// the event's forwarding rule and, when the rule says forward, maps the
// record to a MOSIP packet. It changes rec.
//
// An event the file does not configure is not forwarded. Errors are
// *bridge.Error: EUnsupported for an unknown event, EInvalid naming the
// rule or program that failed on this record.
func (c *Config) Evaluate(rec *bridge.Record, now time.Time) (*Outcome, error) {
	e, err := c.prepare(rec, now)
	if err != nil {
		return nil, err
	}
	out := &Outcome{RegistrationNumber: rec.RegistrationNumber}
	if e == nil {
		out.Reason = fmt.Sprintf("the country configuration %s has no %s section, so %s records are not sent to MOSIP", c.name, rec.Event, rec.Event)
		return out, nil
	}
	out.Forward, out.Reason, err = e.rule.decide(newRuleEnv(rec, c.vars, now.In(c.loc)))
	if err != nil {
		return nil, err
	}
	if !out.Forward {
		return out, nil
	}
	var notes []string
	if out.Packet, notes, err = c.mapPacket(e, e.process, rec, now); err != nil {
		return nil, err
	}
	if len(notes) > 0 {
		out.Reason += "; " + strings.Join(notes, "; ")
	}
	return out, nil
}

// Map maps a record to a MOSIP packet whatever the forwarding rule says
// (to check a configuration). Like Evaluate it fills verification and the
// registration number first.
func (c *Config) Map(rec *bridge.Record, now time.Time) (*bridge.Packet, error) {
	return c.mapAs(rec, now, func(e *event) string { return e.process })
}

// CorrectionProcess is the MOSIP process corrections of kind are sent with
// (the event's correctionProcess, default CRVS_UPDATE).
func (c *Config) CorrectionProcess(kind bridge.EventKind) string {
	if e := c.events[kind]; e != nil {
		return e.correctionProcess
	}
	return bridge.ProcessUpdate
}

// MapCorrection maps a corrected record to the packet of its correction:
// the event's mapping run with the event's correctionProcess (default
// CRVS_UPDATE) as $process, whatever the forwarding rule says (the record
// was forwarded when it was registered). The caller keeps only the fields
// that changed.
func (c *Config) MapCorrection(rec *bridge.Record, now time.Time) (*bridge.Packet, error) {
	return c.mapAs(rec, now, func(e *event) string { return e.correctionProcess })
}

// mapAs maps rec whatever the rule says, with the process process picks.
func (c *Config) mapAs(rec *bridge.Record, now time.Time, process func(*event) string) (*bridge.Packet, error) {
	e, err := c.prepare(rec, now)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, bridge.FieldErrorf(bridge.EUnsupported, "event",
			"the country configuration %s has no %s section", c.name, rec.Event)
	}
	pkt, _, err := c.mapPacket(e, process(e), rec, now)
	return pkt, err
}

// IDSchemaJSON is the MOSIP ID schema (compact JSON text) sent as the
// createPacket schemaJson.
func (c *Config) IDSchemaJSON() string { return c.schema.compact }

// Process returns the MOSIP process configured for an event, or "" when the
// event is not configured.
func (c *Config) Process(kind bridge.EventKind) string {
	if e := c.events[kind]; e != nil {
		return e.process
	}
	return ""
}

// prepare checks the record and fills verification and the registration
// number. The returned event is nil when the file does not configure it.
func (c *Config) prepare(rec *bridge.Record, now time.Time) (*event, error) {
	if rec == nil {
		return nil, bridge.Errorf(bridge.EInvalid, "no record")
	}
	if !rec.Event.Valid() {
		return nil, bridge.FieldErrorf(bridge.EUnsupported, "event", "event %q is not supported (want birth or death)", rec.Event)
	}
	if rec.RegistrationNumber == "" {
		if c.regNo.uses("trackingId") && rec.TrackingID == "" {
			return nil, bridge.FieldErrorf(bridge.EInvalid, "trackingId",
				"the record has no tracking id, which the registration number format needs")
		}
		if c.regNo.uses("recordId") && rec.RecordID == "" {
			return nil, bridge.FieldErrorf(bridge.EInvalid, "recordId",
				"the record has no id, which the registration number format needs")
		}
		rec.RegistrationNumber = c.regNo.render(now.In(c.loc).Format("2006"), rec.TrackingID, rec.RecordID)
	}
	e := c.events[rec.Event]
	if e != nil {
		c.verify(e, rec)
	}
	for _, p := range persons(rec) {
		p.Authenticated = c.isPassed(p.Verification)
	}
	return e, nil
}

// verify fills Verification from the configured answers and identifiers.
// A person with no configured source keeps what the intake set. An
// informant who is the mother, father or spouse and has no status of their
// own takes that person's: it is the same person.
func (c *Config) verify(e *event, rec *bridge.Record) {
	for _, src := range e.verify {
		p := role(rec, src.role)
		if p == nil {
			continue
		}
		if status := src.status(p, rec.Answers); status != "" {
			p.Verification = status
		}
	}
	inf := rec.Informant
	if inf == nil || inf.Verification != "" {
		return
	}
	var same *bridge.Person
	switch strings.ToUpper(inf.Relationship) {
	case "MOTHER":
		same = rec.Mother
	case "FATHER":
		same = rec.Father
	case "SPOUSE":
		same = rec.Spouse
	}
	if same != nil {
		inf.Verification = same.Verification
	}
}

func (s personSource) status(p *bridge.Person, answers map[string]string) string {
	for _, key := range s.answers {
		if v := strings.TrimSpace(answers[key]); v != "" {
			return v
		}
	}
	if s.identifierType != "" {
		for _, id := range p.Identifiers {
			if id.Type == s.identifierType && id.Value != "" {
				return "authenticated"
			}
		}
	}
	return ""
}

func (c *Config) isPassed(status string) bool {
	if status == "" {
		return false
	}
	for _, p := range c.passed {
		if strings.EqualFold(strings.TrimSpace(p), status) {
			return true
		}
	}
	return false
}

func role(rec *bridge.Record, name string) *bridge.Person {
	switch name {
	case "child":
		return rec.Child
	case "mother":
		return rec.Mother
	case "father":
		return rec.Father
	case "deceased":
		return rec.Deceased
	case "spouse":
		return rec.Spouse
	case "informant":
		if rec.Informant != nil {
			return &rec.Informant.Person
		}
	}
	return nil
}

func persons(rec *bridge.Record) []*bridge.Person {
	out := make([]*bridge.Person, 0, 6)
	for _, name := range []string{"child", "mother", "father", "deceased", "spouse", "informant"} {
		if p := role(rec, name); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// mapPacket runs the event's programs. An optional field whose value MOSIP's
// ID schema would refuse (a phone number in another format, say) is left
// out, with a note, rather than costing the whole record; a required one
// is an error.
//
// The time limit is wall-clock time, which a busy machine stretches: a
// mapping that runs out of it is run once more with a limit ten times as
// long (jqSlowLimit) before it counts as a loop, so that load alone never
// turns a good record into a mapping failure.
func (c *Config) mapPacket(e *event, process string, rec *bridge.Record, now time.Time) (*bridge.Packet, []string, error) {
	pkt, notes, err := c.mapPacketWithin(c.jqLimit, e, process, rec, now)
	if errors.Is(err, errJQTimeout) {
		pkt, notes, err = c.mapPacketWithin(c.jqSlowLimit, e, process, rec, now)
	}
	return pkt, notes, err
}

func (c *Config) mapPacketWithin(limit time.Duration, e *event, process string, rec *bridge.Record, now time.Time) (*bridge.Packet, []string, error) {
	run := c.newJQRun(rec, process, now)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	pkt := &bridge.Packet{Process: process}
	obj, err := e.fields.object(ctx, run)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	check := func(name string, v any) error {
		err := c.schema.check(name, v)
		var pe *patternError
		if errors.As(err, &pe) && !slices.Contains(c.schema.required, name) {
			notes = append(notes, "left out "+err.Error())
			return errLeaveOut
		}
		return err
	}
	if pkt.Fields, err = rawFields(e.fields.path, obj, check); err != nil {
		return nil, nil, err
	}
	if e.metaInfo != nil {
		if obj, err = e.metaInfo.object(ctx, run); err != nil {
			return nil, nil, err
		}
		if pkt.MetaInfo, err = rawFields(e.metaInfo.path, obj, nil); err != nil {
			return nil, nil, err
		}
	}
	if e.audit != nil {
		if obj, err = e.audit.object(ctx, run); err != nil {
			return nil, nil, err
		}
		if pkt.Audit, err = rawFields(e.audit.path, obj, nil); err != nil {
			return nil, nil, err
		}
	}
	if e.notification != nil {
		if obj, err = e.notification.object(ctx, run); err != nil {
			return nil, nil, err
		}
		if pkt.Notification, err = notification(e.notification.path, obj); err != nil {
			return nil, nil, err
		}
	}
	return pkt, notes, nil
}

func notification(path string, obj map[string]any) (bridge.Notification, error) {
	var n bridge.Notification
	for k, v := range obj {
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return n, bridge.FieldErrorf(bridge.EInvalid, path+"."+k, "want a string, got %s", typeName(v))
		}
		switch k {
		case "name":
			n.Name = s
		case "email":
			n.Email = s
		case "phone":
			n.Phone = s
		default:
			return n, bridge.FieldErrorf(bridge.EInvalid, path+"."+k, "unknown key (want name, email, phone)")
		}
	}
	return n, nil
}
