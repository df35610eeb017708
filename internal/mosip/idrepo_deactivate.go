package mosip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"opencrvs-mosip/internal/telemetry"
)

// DeactivateUIN sets a UIN DEACTIVATED through the ID repository's
// identity update (PATCH {IdentityURL}/, mosip.id.update, status
// DEACTIVATED, identity {UIN, IDSchemaVersion}), as MOSIP's 2022 mediator
// recorded a death (DeathEventHandlerService). MOSIP's current policy is
// to flag the deceased and keep the UIN active (a CRVS_DEATH packet);
// this is the deployment's choice.
//
// registrationID names the change and must be the same on a retry:
// MOSIP refuses a registration id it has seen (CodeRecordExists), which
// DeactivateUIN takes as done. A UIN already DEACTIVATED under another
// registration id is answered with the status unchanged, which is done too.
// schemaVersion is the ID schema version MOSIP checks the update against
// ("0.0" when empty, the 2022 mediator's value). An unknown UIN gives an
// error for which IsNotFound is true. Errors never carry the UIN.
func (c *Client) DeactivateUIN(ctx context.Context, uin, registrationID, schemaVersion string) error {
	const op = OpUpdateIdentity
	if registrationID == "" {
		return fmt.Errorf("mosip: %s: registration id is empty", op)
	}
	if schemaVersion == "" {
		schemaVersion = "0.0"
	}
	if _, err := strconv.ParseFloat(schemaVersion, 64); err != nil {
		return fmt.Errorf("mosip: %s %s: schema version %q is not a number", op, registrationID, schemaVersion)
	}
	status, err := c.updateIdentity(ctx, uin, IdentityUpdateRequest{
		RegistrationID: registrationID,
		Status:         UINDeactivated,
		Identity:       map[string]any{"IDSchemaVersion": json.Number(schemaVersion)},
	})
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Class() == Permanent && onlyCode(ae.Errors, CodeRecordExists):
		c.log.Info("mosip deactivation already recorded under this registration id; treating as done", "registration_id", registrationID)
		return nil
	case err != nil:
		return err
	case status != "" && status != UINDeactivated:
		// MOSIP took the update but not the status: it must not pass for
		// a deactivation.
		return newAPIError(op, registrationID, 200, nil, fmt.Errorf("the ID repository answered UIN status %s, not %s",
			telemetry.Printable(status, 20), UINDeactivated))
	}
	return nil
}
