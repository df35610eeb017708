package opencrvs

import (
	"context"
	"errors"
	"strings"
)

// OpUpdateField names the updateField mutation in a GraphQLError.
const OpUpdateField = "updateField"

// updateFieldMutation is OpenCRVS 1.8's mutation, as mosip-api sends it.
const updateFieldMutation = `mutation updateField($id: ID!, $details: UpdateFieldInput!) { updateField(id: $id, details: $details) }`

type updateFieldVariables struct {
	ID      string             `json:"id"`
	Details updateFieldDetails `json:"details"`
}

// updateFieldDetails is UpdateFieldInput{fieldId!, valueString, valueBoolean}.
type updateFieldDetails struct {
	FieldID     string `json:"fieldId"`
	ValueString string `json:"valueString"`
}

// UpdateField sets a form field of record recordID (the Composition id),
// e.g. fieldID "birth.mother.mother-view-group.verified" to "verified". token
// is the caller's OpenCRVS token. An answer without errors is success even
// when its data is null (the mutation's result type is nullable). Errors as
// for ConfirmRegistration.
func (c *GraphQLClient) UpdateField(ctx context.Context, token, recordID, fieldID, value string) error {
	if err := checkArgs(OpUpdateField, token, recordID); err != nil {
		return err
	}
	if strings.TrimSpace(fieldID) == "" {
		return invalidArg(OpUpdateField, recordID, "field id is empty")
	}
	vars := updateFieldVariables{ID: recordID, Details: updateFieldDetails{FieldID: fieldID, ValueString: value}}
	err := c.mutate(ctx, OpUpdateField, updateFieldMutation, token, recordID, vars, nil)
	if errors.Is(err, ErrNoData) {
		return nil
	}
	return err
}
