package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/eventsv2"
)

// Scopes an OpenCRVS 1.9 action confirmation token carries: the events
// service refuses accept and reject without both.
const (
	scopeConfirmRegistration = "record.confirm-registration"
	scopeRejectRegistration  = "record.reject-registration"
)

// IsOpenCRVS19 tells, from the caller's token and the body's keys, whether a
// POST /events/registration comes from OpenCRVS 1.9: a token with an
// eventId claim (the action confirmation token), or an EventDocument (a
// body with "actions" that is neither a FHIR bundle nor a mapped payload).
func IsOpenCRVS19(body []byte, caller Caller) bool {
	if caller.EventID != "" {
		return true
	}
	return bytes.Contains(body, []byte(`"actions"`)) &&
		!bytes.Contains(body, []byte(`"resourceType"`)) &&
		!bytes.Contains(body, []byte(`"requestFields"`))
}

// Accept19 accepts a record from OpenCRVS 1.9, sent with the action
// confirmation token of its REGISTER action (claims eventId, actionId and
// both registration scopes): either the raw EventDocument core posts to the
// country config, decided and mapped here by the country configuration, or
// the MosipInteropPayload of the @opencrvs/mosip library, which the country
// config already decided and mapped. The transaction keeps the event and
// action ids: they address the tRPC accept or reject that ends it.
//
// Errors: EForbidden when the token is not an action confirmation token or
// is for another event or action than the document; EUnsupported for
// corrections (not yet done for 1.9) and events other than birth and
// death; EConflict when the action is no longer waiting; EInvalid for
// malformed bodies.
func (s *Service) Accept19(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	if caller.EventID == "" || caller.ActionID == "" {
		return nil, bridge.Errorf(bridge.EForbidden, "an OpenCRVS 1.9 record needs the action confirmation token OpenCRVS sent with it (claims eventId and actionId); this token has no %s", missingClaim(caller))
	}
	for _, scope := range []string{scopeConfirmRegistration, scopeRejectRegistration} {
		if !slices.Contains(caller.Scope, scope) {
			return nil, bridge.Errorf(bridge.EForbidden, "the token does not carry the scope %s, without which OpenCRVS 1.9 refuses the mediator's answer", scope)
		}
	}
	switch {
	case bytes.Contains(body, []byte(`"requestFields"`)):
		return s.acceptMapped19(ctx, body, caller)
	case bytes.Contains(body, []byte(`"resourceType"`)):
		return nil, bridge.Errorf(bridge.EInvalid, "the body is an OpenCRVS 1.8 FHIR bundle but the token is an OpenCRVS 1.9 action token (claim eventId): send 1.8 bundles with their record token")
	default:
		return s.acceptEventDocument(ctx, body, caller)
	}
}

func missingClaim(c Caller) string {
	if c.EventID == "" {
		return "eventId"
	}
	return "actionId"
}

// acceptEventDocument decides and maps an EventDocument with the country
// configuration, as AcceptFHIR does a 1.8 bundle.
func (s *Service) acceptEventDocument(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	doc, err := eventsv2.Parse(body)
	if err != nil {
		return nil, err
	}
	if doc.ID != caller.EventID {
		return nil, bridge.Errorf(bridge.EForbidden, "the token is for OpenCRVS event %s but the document is event %s", caller.EventID, doc.ID)
	}
	action := doc.Action(caller.ActionID)
	if action == nil {
		return nil, bridge.Errorf(bridge.EForbidden, "the token is for action %s, which event %s does not have", caller.ActionID, doc.ID)
	}
	if action.Type != eventsv2.ActionRegister {
		return nil, bridge.Errorf(bridge.EUnsupported, "the token is for a %s action; the mediator answers REGISTER actions only (1.9 corrections are not supported yet)", action.Type)
	}
	if st := doc.Pending(action); st != eventsv2.StatusRequested {
		return nil, bridge.Errorf(bridge.EConflict, "the REGISTER action %s is %s, not Requested: OpenCRVS is not waiting for an answer on it", action.ID, st)
	}
	rec, err := eventsv2.Record(doc)
	if err != nil {
		return nil, err
	}
	if rec.RegistrationNumber != "" {
		return nil, bridge.Errorf(bridge.EUnsupported, "event %s is already registered: corrections of OpenCRVS 1.9 records are not supported yet", doc.ID)
	}
	return s.acceptRecord(ctx, rec, &bridge.Transaction{
		Version: bridge.OpenCRVS19, Intake: bridge.IntakeEventDocument, RecordID: doc.ID, ActionID: action.ID, Token: caller.Token,
	})
}

// acceptMapped19 accepts a MosipInteropPayload: AcceptMapped with the
// event as the record and the 1.9 version, for one event only.
func (s *Service) acceptMapped19(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	var p struct {
		Correction    bool                       `json:"correction"`
		RequestFields map[string]json.RawMessage `json:"requestFields"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &bridge.Error{Code: bridge.EInvalid, Message: "the body is not a JSON mapped payload: " + err.Error()}
	}
	if p.Correction {
		return nil, bridge.Errorf(bridge.EUnsupported, "corrections of OpenCRVS 1.9 records are not supported yet")
	}
	birth, _ := certificateNumber(p.RequestFields, birthCertificateField)
	death, _ := certificateNumber(p.RequestFields, deathCertificateField)
	if birth != "" && death != "" {
		return nil, bridge.FieldErrorf(bridge.EInvalid, "requestFields", "an OpenCRVS 1.9 action is about one event: give birthCertificateNumber or deathCertificateNumber, not both")
	}
	caller.RecordID = caller.EventID
	caller.version = bridge.OpenCRVS19
	return s.AcceptMapped(ctx, body, caller)
}

// openCRVSVersion is the version a caller's mapped payload came from.
func (c Caller) openCRVSVersion() bridge.OpenCRVSVersion {
	if c.version != "" {
		return c.version
	}
	return bridge.OpenCRVS18
}
