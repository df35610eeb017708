package mosip

import (
	"context"
	"fmt"
	"net/http"
)

// OpUpdateIdentity names ID repository updates in errors.
const OpUpdateIdentity = "update identity"

// UpdateIdentity changes an identity in the ID repository (PATCH
// {IdentityURL}/, mosip.id.update): how a death registered by mistake is
// reversed when the deployment does it by UIN status rather than by packet.
// uin is the identity's UIN; it is put in Identity and never appears in
// errors. An unknown UIN gives an error for which IsNotFound is true.
func (c *Client) UpdateIdentity(ctx context.Context, uin string, u IdentityUpdateRequest) error {
	_, err := c.updateIdentity(ctx, uin, u)
	return err
}

// updateIdentity is UpdateIdentity, returning the UIN status MOSIP
// answered ("" if it answered none).
func (c *Client) updateIdentity(ctx context.Context, uin string, u IdentityUpdateRequest) (string, error) {
	const op = OpUpdateIdentity
	if uin == "" {
		return "", fmt.Errorf("mosip: %s: UIN is empty", op)
	}
	if c.identityURL == "" {
		return "", fmt.Errorf("mosip: %s: no URL configured", op)
	}
	identity := make(map[string]any, len(u.Identity)+1)
	for k, v := range u.Identity {
		identity[k] = v
	}
	identity["UIN"] = uin
	u.Identity = identity
	req := Request[IdentityUpdateRequest]{ID: IdentityUpdateID, Version: IdentityUpdateVersion, RequestTime: FormatTime(c.now()), Request: u}
	target := c.identityURL
	if target[len(target)-1] != '/' {
		target += "/"
	}
	status, body, err := c.call(ctx, op, u.RegistrationID, http.MethodPatch, target, req)
	if err != nil {
		return "", hideUIN(err, uin, target)
	}
	r, err := decodeResponse[*IdentityUpdateResponse](op, u.RegistrationID, status, body)
	if err != nil {
		return "", hideUIN(err, uin, "")
	}
	if len(r.Errors) > 0 {
		return "", hideUIN(newAPIError(op, u.RegistrationID, status, r.Errors, nil), uin, "")
	}
	c.log.Debug("mosip identity updated", "registration_id", u.RegistrationID, "status", u.Status)
	if r.Response == nil {
		return "", nil
	}
	return r.Response.Status, nil
}
