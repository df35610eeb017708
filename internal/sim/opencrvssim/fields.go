package opencrvssim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"opencrvs-mosip/internal/opencrvs"
)

// updateFieldInput is UpdateFieldInput of the 1.8 schema.
type updateFieldInput struct {
	FieldID      string  `json:"fieldId"`
	ValueString  *string `json:"valueString"`
	ValueBoolean *bool   `json:"valueBoolean"`
}

// maxFields bounds the form fields a record keeps.
const maxFields = 256

// updateField is the 1.8 gateway's updateField(id, details): it sets one
// form field of a record (the mediator's /events/review sets
// "<event>.<section>.<section>-view-group.verified"). A token for a single
// record must be for this one; user tokens (no recordId) may update any.
// GET /sim/records/{id} shows the fields.
func (s *Sim) updateField(w http.ResponseWriter, claims *opencrvs.Claims, args map[string]json.RawMessage) {
	id, gerr := argID(args["id"])
	if gerr != nil {
		gerr.write(w)
		return
	}
	if claims.RecordID != "" && claims.RecordID != id {
		s.unauthenticated(w, fmt.Errorf("%w: token is for record %q, not %q", errUnauthenticated, claims.RecordID, id))
		return
	}
	var in updateFieldInput
	if gerr := decodeInput(args["details"], "details", "UpdateFieldInput", &in); gerr != nil {
		gerr.write(w)
		return
	}
	if strings.TrimSpace(in.FieldID) == "" {
		writeGraphQLError(w, http.StatusOK, `Field "fieldId" of required type "String!" was not provided.`, CodeBadUserInput, nil)
		return
	}
	var value string
	switch {
	case in.ValueString != nil:
		value = *in.ValueString
	case in.ValueBoolean != nil:
		value = fmt.Sprint(*in.ValueBoolean)
	default:
		writeGraphQLError(w, http.StatusOK, "details needs valueString or valueBoolean", CodeBadUserInput, nil)
		return
	}
	s.mu.Lock()
	rec, ok := s.records[id]
	if !ok {
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s not found", id), CodeNotFound, nil)
		return
	}
	if _, exists := rec.fields[in.FieldID]; !exists && len(rec.fields) >= maxFields {
		s.mu.Unlock()
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s has %d fields set already", id, maxFields), CodeBadUserInput, nil)
		return
	}
	if rec.fields == nil {
		rec.fields = map[string]string{}
	}
	rec.fields[in.FieldID] = value
	s.mu.Unlock()
	s.log.Debug("opencrvssim: field updated", "record_id", id, "field", in.FieldID)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"updateField": true}})
}

// fieldsOf copies a record's updated fields for a view (nil: none). Callers
// hold s.mu.
func fieldsOf(rec *record) map[string]string {
	if len(rec.fields) == 0 {
		return nil
	}
	return maps.Clone(rec.fields)
}
