package opencrvs

import (
	"context"
	"strings"
)

// OpUpsertRegistrationIdentifier names the mutation in a GraphQLError.
const OpUpsertRegistrationIdentifier = "upsertRegistrationIdentifier"

// upsertIdentifierMutation is OpenCRVS 1.8's mutation, as its gateway
// schema declares it.
const upsertIdentifierMutation = `mutation upsertRegistrationIdentifier($id: ID!, $identifierType: String!, $identifierValue: String!) { upsertRegistrationIdentifier(id: $id, identifierType: $identifierType, identifierValue: $identifierValue) }`

type upsertIdentifierVariables struct {
	ID              string `json:"id"`
	IdentifierType  string `json:"identifierType"`
	IdentifierValue string `json:"identifierValue"`
}

// UpsertRegistrationIdentifier adds an identifier (e.g. NATIONAL_ID) to the
// person of record recordID (the Composition id), a record already
// registered, or replaces the one of that type: the way to give a national
// ID to a record registered before the mediator ran (backfill). token is a
// system client's token (SystemClient). Doing it again changes nothing, so
// a repeat after a crash is harmless. Errors as for ConfirmRegistration;
// the value is blanked out of error messages.
func (c *GraphQLClient) UpsertRegistrationIdentifier(ctx context.Context, token, recordID, identifierType, value string) error {
	if err := checkArgs(OpUpsertRegistrationIdentifier, token, recordID); err != nil {
		return err
	}
	if strings.TrimSpace(identifierType) == "" || strings.TrimSpace(value) == "" {
		return invalidArg(OpUpsertRegistrationIdentifier, recordID, "identifier type or value is empty")
	}
	vars := upsertIdentifierVariables{ID: recordID, IdentifierType: identifierType, IdentifierValue: value}
	return c.mutate(ctx, OpUpsertRegistrationIdentifier, upsertIdentifierMutation, token, recordID, vars, []string{value})
}
