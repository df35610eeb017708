package mosip

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// RIDLength is the length of a MOSIP registration id: centre id (5),
// machine id (5), sequence (5) and the creation time yyyyMMddHHmmss (14),
// all digits.
const RIDLength = 29

// ridTimeLayout is the creation time at the end of a RID, in UTC.
const ridTimeLayout = "20060102150405"

// ridResponse is the RID generator's response.
type ridResponse struct {
	RID string `json:"rid"`
}

// GenerateRID asks MOSIP's RID generator for a new registration id of the
// centre and machine (GET {RIDGenerator}/{centerID}/{machineID}) and
// returns .response.rid. MOSIP refuses ids of the wrong length with
// KER-RIG-003 (permanent); an answer without a usable RID (not
// RIDLength digits) is an *APIError wrapping ErrNullResponse (transient).
func (u *Uploader) GenerateRID(ctx context.Context, centerID, machineID string) (string, error) {
	const op = OpGenerateRID
	if centerID == "" || machineID == "" {
		return "", fmt.Errorf("mosip: %s: centre id and machine id are required", op)
	}
	if u.urls.RIDGenerator == "" {
		return "", fmt.Errorf("mosip: %s: no URL configured", op)
	}
	target := joinPath(u.urls.RIDGenerator, centerID, machineID)
	status, body, err := u.c.exchange(ctx, op, "", http.MethodGet, target, "", nil, nil)
	if err != nil {
		return "", err
	}
	r, err := decodeResponse[*ridResponse](op, "", status, body)
	if err != nil {
		return "", err
	}
	if len(r.Errors) > 0 {
		return "", newAPIError(op, "", status, r.Errors, nil)
	}
	if r.Response == nil || !IsRID(r.Response.RID) {
		return "", newAPIError(op, "", status, nil, fmt.Errorf("%w: no %d-digit rid", ErrNullResponse, RIDLength))
	}
	u.c.log.Debug("mosip RID generated", "registration_id", r.Response.RID)
	return r.Response.RID, nil
}

// IsRID reports whether s has the shape of a MOSIP registration id:
// RIDLength digits.
func IsRID(s string) bool {
	if len(s) != RIDLength {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RIDTime returns the creation time a RID carries in its last 14 digits
// (UTC), and false if rid is not a RID or the digits are not a time.
func RIDTime(rid string) (time.Time, bool) {
	if !IsRID(rid) {
		return time.Time{}, false
	}
	t, err := time.Parse(ridTimeLayout, rid[RIDLength-len(ridTimeLayout):])
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
