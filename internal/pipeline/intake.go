package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

// Caller is who sent a record, from their verified OpenCRVS token.
type Caller struct {
	// Token is the bearer token; the mediator confirms the record with it.
	Token string
	// RecordID is the token's recordId claim (1.8 record tokens), if any.
	RecordID string
	// EventID, ActionID and Scope are the claims of 1.9 action confirmation
	// tokens (see Accept19).
	EventID, ActionID string
	Scope             []string
	// version is set by Accept19 for the mapped payloads it hands on.
	version bridge.OpenCRVSVersion
}

// AcceptFHIR accepts an OpenCRVS 1.8 FHIR bundle: the country rules decide
// whether it goes to MOSIP and the country mapping makes the packet.
func (s *Service) AcceptFHIR(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	rec, err := fhir.Parse(body)
	if err != nil {
		return nil, err
	}
	if caller.RecordID != "" && caller.RecordID != rec.RecordID {
		return nil, bridge.Errorf(bridge.EForbidden, "the token is for OpenCRVS record %s but the bundle is record %s", caller.RecordID, rec.RecordID)
	}
	if rec.RegistrationNumber != "" {
		// A registered record sent again, corrected?
		accepted, err := s.correctFHIR(ctx, rec, caller)
		if !errors.Is(err, errNotACorrection) {
			return accepted, err
		}
	}
	return s.acceptRecord(ctx, rec, &bridge.Transaction{
		Version: bridge.OpenCRVS18, Intake: bridge.IntakeFHIR, RecordID: rec.RecordID, Token: caller.Token,
	})
}

// acceptRecord decides and maps a record with the country configuration
// and accepts the transaction tr describes (its version, intake, OpenCRVS
// ids and token; the rest comes from the record and the decision).
func (s *Service) acceptRecord(ctx context.Context, rec *bridge.Record, tr *bridge.Transaction) ([]Accepted, error) {
	out, err := s.Country.Evaluate(rec, s.now())
	if err != nil {
		return nil, err
	}
	tr.Kind, tr.TrackingID, tr.RegistrationNumber = rec.Event, rec.TrackingID, out.RegistrationNumber
	if out.Forward {
		if out.Packet == nil {
			return nil, bridge.Errorf(bridge.EInternal, "the country configuration forwarded the record without a packet")
		}
		record := tr.Packet.Record // the webhook payload the OpenCRVS side forwards
		tr.Packet = *out.Packet
		tr.Packet.Record = record
	}
	return s.accept(ctx, tr.RecordID, []intakeItem{{tr: tr, forward: out.Forward, reason: out.Reason}})
}

// correctFHIR treats a bundle whose Task carries the registration number of
// a registration the mediator completed as its correction; otherwise it
// returns errNotACorrection.
func (s *Service) correctFHIR(ctx context.Context, rec *bridge.Record, caller Caller) ([]Accepted, error) {
	regNo := rec.RegistrationNumber
	pkt, err := s.Country.MapCorrection(rec, s.now())
	if bridge.ErrorCodeOf(err) == bridge.EUnsupported {
		return nil, errNotACorrection // an event the country does not send to MOSIP
	}
	if err != nil {
		return nil, err
	}
	return s.acceptCorrection(ctx, correction{
		kind: rec.Event, version: bridge.OpenCRVS18, intake: bridge.IntakeFHIR, recordID: rec.RecordID,
		trackingID: rec.TrackingID, registrationNumber: regNo, token: caller.Token, packet: *pkt,
	})
}

// MappedPayload is what the @opencrvs/mosip country-config library sends
// (MOSIPPayload in 1.8, MosipInteropPayload in 1.9): the country config
// already decided to forward the record and mapped it to MOSIP fields.
type MappedPayload struct {
	CompositionID string `json:"compositionId"`
	TrackingID    string `json:"trackingId"`
	Notification  struct {
		RecipientFullName string `json:"recipientFullName"`
		RecipientEmail    string `json:"recipientEmail"`
		RecipientPhone    string `json:"recipientPhone"`
	} `json:"notification"`
	RequestFields map[string]json.RawMessage `json:"requestFields"`
	SchemaJSON    json.RawMessage            `json:"schemaJson"`
	MetaInfo      map[string]json.RawMessage `json:"metaInfo"`
	Audit         map[string]json.RawMessage `json:"audit"`
	// Correction marks a corrected record: the registration with this
	// tracking id and certificate number, sent again with changed data.
	Correction bool `json:"correction"`
}

const (
	birthCertificateField = "birthCertificateNumber"
	deathCertificateField = "deathCertificateNumber"
)

// AcceptMapped accepts a mapped payload. Like the Node mosip-api, a payload
// with a birth certificate number starts a CRVS_NEW packet and one with a
// death certificate number a CRVS_DEATH packet (both, if both are given);
// unlike it, a payload with neither is refused rather than ignored.
func (s *Service) AcceptMapped(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	var p MappedPayload
	if err := decodeStrict(body, &p); err != nil {
		return nil, err
	}
	if p.TrackingID == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "trackingId", "the OpenCRVS tracking id is missing")
	}
	if p.RequestFields == nil {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "requestFields", "the MOSIP fields are missing")
	}
	recordID := caller.RecordID
	switch {
	case recordID == "" && p.CompositionID == "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, "compositionId", "cannot tell which OpenCRVS record to confirm: the token has no recordId and the payload no compositionId")
	case recordID == "":
		recordID = p.CompositionID
	case p.CompositionID != "" && p.CompositionID != recordID:
		return nil, bridge.Errorf(bridge.EForbidden, "the token is for OpenCRVS record %s but the payload is record %s", recordID, p.CompositionID)
	}
	birthNo, err := certificateNumber(p.RequestFields, birthCertificateField)
	if err != nil {
		return nil, err
	}
	deathNo, err := certificateNumber(p.RequestFields, deathCertificateField)
	if err != nil {
		return nil, err
	}
	if birthNo == "" && deathNo == "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "requestFields", "neither requestFields.birthCertificateNumber nor requestFields.deathCertificateNumber is given, so the record is neither a birth nor a death")
	}
	schema, err := schemaText(p.SchemaJSON)
	if err != nil {
		return nil, err
	}
	notify := bridge.Notification{Name: p.Notification.RecipientFullName, Email: p.Notification.RecipientEmail, Phone: p.Notification.RecipientPhone}
	if p.Correction {
		if birthNo != "" && deathNo != "" {
			return nil, bridge.FieldErrorf(bridge.EInvalid, "requestFields", "a correction corrects one record: give birthCertificateNumber or deathCertificateNumber, not both")
		}
		kind, number := bridge.EventBirth, birthNo
		if deathNo != "" {
			kind, number = bridge.EventDeath, deathNo
		}
		return s.acceptCorrection(ctx, correction{
			kind: kind, version: bridge.OpenCRVS18, intake: bridge.IntakeMapped, recordID: recordID,
			trackingID: p.TrackingID, registrationNumber: number, token: caller.Token, explicit: true,
			packet: bridge.Packet{
				Process: s.Country.CorrectionProcess(kind), Fields: p.RequestFields, MetaInfo: p.MetaInfo,
				Audit: p.Audit, SchemaJSON: schema, Notification: notify,
			},
		})
	}
	var items []intakeItem
	add := func(kind bridge.EventKind, process, number, drop string) {
		fields := maps.Clone(p.RequestFields)
		delete(fields, drop)
		if kind == bridge.EventDeath {
			// Not a field of MOSIP's ID schema: MOSIP refuses packets with it.
			delete(fields, deathCertificateField)
		}
		forward, reason := true, "the country configuration forwarded it (mapped payload)"
		if kind == bridge.EventDeath && !namesIdentity(fields) {
			// MOSIP would fail it ("UIN not found"): there is nobody to mark.
			forward, reason = false, "the deceased has no national ID in the record (none of "+strings.Join(bridge.IdentityRefFields, ", ")+"), so MOSIP has no identity to mark"
		}
		items = append(items, intakeItem{
			forward: forward,
			reason:  reason,
			tr: &bridge.Transaction{
				Kind: kind, Version: caller.openCRVSVersion(), Intake: bridge.IntakeMapped, ActionID: caller.ActionID,
				RecordID: recordID, TrackingID: p.TrackingID, RegistrationNumber: number, Token: caller.Token,
				Packet: bridge.Packet{
					Process: process, Fields: fields, MetaInfo: p.MetaInfo, Audit: p.Audit, SchemaJSON: schema,
					Notification: notify,
				},
			},
		})
	}
	if birthNo != "" {
		add(bridge.EventBirth, bridge.ProcessNew, birthNo, deathCertificateField)
	}
	if deathNo != "" {
		add(bridge.EventDeath, bridge.ProcessDeath, deathNo, birthCertificateField)
	}
	return s.accept(ctx, recordID, items)
}

// namesIdentity reports whether fields name a MOSIP identity.
func namesIdentity(fields map[string]json.RawMessage) bool {
	_, v := bridge.IdentityRef(fields)
	return v != ""
}

func certificateNumber(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", bridge.FieldErrorf(bridge.EInvalid, "requestFields."+name, "must be a string")
	}
	return s, nil
}

// schemaText accepts a custom ID schema as a JSON string or as JSON.
func schemaText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bridge.FieldErrorf(bridge.EInvalid, "schemaJson", "not a string: %v", err)
		}
		if !json.Valid([]byte(s)) {
			return "", bridge.FieldErrorf(bridge.EInvalid, "schemaJson", "is not a JSON document")
		}
		return s, nil
	}
	if raw[0] != '{' {
		return "", bridge.FieldErrorf(bridge.EInvalid, "schemaJson", "must be a JSON object or its text")
	}
	return string(raw), nil
}

// decodeStrict decodes a JSON object body, naming the field a type error is
// in.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return bridge.FieldErrorf(bridge.EInvalid, te.Field, "must be %s, not %s", jsonType(te.Type.Kind().String()), te.Value)
		}
		return &bridge.Error{Code: bridge.EInvalid, Message: "the body is not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return bridge.Errorf(bridge.EInvalid, "the body has data after the JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "a list"
	}
	return fmt.Sprintf("a %s", kind)
}
