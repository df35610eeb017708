package mosip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// From a UIN or a VID to the UIN, as a death needs it: OpenCRVS gives the
// deceased's national ID without saying which kind it is.

// OpUINByVID names VID look-ups in errors.
const OpUINByVID = "read UIN by VID"

// MOSIP's default UIN and VID lengths (mosip.kernel.uin.length,
// mosip.kernel.vid.length). Deployments change them: ResolveUIN uses them
// only to pick which look-up to try first, never to decide.
const (
	DefaultUINLength = 10
	DefaultVIDLength = 16
)

// VID service codes the clients treat specially.
const (
	// CodeVIDNotActive is the VID service's INVALID_VID ("VID is <status>"):
	// the VID is expired, revoked or deactivated (MOSIP deactivates the
	// VIDs of a deactivated UIN).
	CodeVIDNotActive = "IDR-VID-001"
	// CodeUINNotActive is its INVALID_UIN ("<status> UIN"): the VID's UIN
	// is not ACTIVATED.
	CodeUINNotActive = "IDR-VID-004"
	// CodeIDRepoInvalidInput is the ID repository's "Invalid Input
	// Parameter": for a look-up, an id that is not of the kind asked for.
	CodeIDRepoInvalidInput = "IDR-IDC-002"
)

// IsInactive reports whether err is the VID service saying the VID or its
// UIN is not active (CodeVIDNotActive, CodeUINNotActive): the person
// exists, but their UIN is deactivated or blocked, or the VID is no longer
// usable. For a death already recorded by deactivation it means done; a
// revoked VID of a living person gives it too, so read the identity by
// UIN when the difference matters.
func IsInactive(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.HasCode(CodeUINNotActive) || ae.HasCode(CodeVIDNotActive))
}

// vidResponse is the VID read's VidResponseDTO; UIN is a string in
// recent MOSIP versions and a number in older ones.
type vidResponse struct {
	UIN json.RawMessage `json:"UIN"`
}

// UINByVID returns the UIN of a VID (GET {VIDURL}/{VID}). An unknown VID
// gives an error for which IsNotFound is true; a VID that is not active,
// or whose UIN is not, one for which IsInactive is true. Errors never
// carry the VID.
func (c *Client) UINByVID(ctx context.Context, vid string) (string, error) {
	const op = OpUINByVID
	if vid == "" {
		return "", fmt.Errorf("mosip: %s: VID is empty", op)
	}
	if c.vidURL == "" {
		return "", fmt.Errorf("mosip: %s: no URL configured", op)
	}
	status, body, err := c.call(ctx, op, "", http.MethodGet, joinPath(c.vidURL, vid), nil)
	if err != nil {
		return "", hideID(err, vid, "{VID}", joinPath(c.vidURL)+"/{VID}")
	}
	r, err := decodeResponse[*vidResponse](op, "", status, body)
	if err != nil {
		return "", hideID(err, vid, "{VID}", "")
	}
	if len(r.Errors) > 0 {
		return "", hideID(newAPIError(op, "", status, r.Errors, nil), vid, "{VID}", "")
	}
	if r.Response == nil {
		return "", newAPIError(op, "", status, nil, ErrNullResponse)
	}
	uin, ok := uinOf(r.Response.UIN)
	if !ok {
		return "", newAPIError(op, "", status, nil, ErrNoUIN)
	}
	c.log.Debug("mosip UIN read by VID")
	return uin, nil
}

// ResolveUIN returns the UIN of a national ID that may be a UIN or a VID:
// it reads the identity with the id as a UIN (GET {IdentityURL}/idvid/{id}
// ?idType=UIN) and, if MOSIP has no such UIN, looks the id up as a VID
// (UINByVID). An id of DefaultVIDLength digits is tried as a VID first;
// both look-ups are made whatever the length. The UIN read succeeds for a
// deactivated UIN; the VID look-up of a deactivated UIN's VID fails with
// IsInactive.
//
// If neither look-up knows the id, the error is the last "not found" (for
// which IsNotFound is true); any other failure (transient ones included)
// is returned at once. Errors never carry the id.
func (c *Client) ResolveUIN(ctx context.Context, uinOrVID string) (string, error) {
	if uinOrVID == "" {
		return "", fmt.Errorf("mosip: resolve UIN: national ID is empty")
	}
	asUIN := func() (string, error) {
		ident, err := c.IdentityByNationalID(ctx, uinOrVID, "UIN")
		if err != nil {
			return "", err
		}
		return ident.UIN, nil
	}
	asVID := func() (string, error) { return c.UINByVID(ctx, uinOrVID) }
	lookups := []func() (string, error){asUIN, asVID}
	if len(uinOrVID) == DefaultVIDLength {
		lookups[0], lookups[1] = asVID, asUIN
	}
	var err error
	for _, look := range lookups {
		var uin string
		if uin, err = look(); err == nil {
			return uin, nil
		}
		if !notThisKind(err) {
			return "", err
		}
	}
	return "", err
}

// notThisKind reports whether a look-up failed because the id is not of
// the kind it looked for: not found, or refused as malformed
// (CodeIDRepoInvalidInput alone).
func notThisKind(err error) bool {
	var ae *APIError
	return IsNotFound(err) || (errors.As(err, &ae) && ae.Class() == Permanent && onlyCode(ae.Errors, CodeIDRepoInvalidInput))
}
