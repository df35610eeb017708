package app

import (
	"context"

	"opencrvs-mosip/internal/mosip"
)

// idRepository reads from MOSIP's ID repository the national ID of a
// registration whose credential never arrived (jobs.IdentityLookup).
type idRepository struct{ c *mosip.Client }

// NationalIDOf returns the UIN the registration rid created and the
// identity's perpetual VID ("" when it has none). A failed VID look-up is
// an error rather than a UIN alone: OpenCRVS is given the VID when there
// is one, as the credential would have.
func (r idRepository) NationalIDOf(ctx context.Context, rid string) (uin, vid string, err error) {
	id, err := r.c.IdentityByRID(ctx, rid)
	if err != nil {
		return "", "", err
	}
	vids, err := r.c.VIDsByUIN(ctx, id.UIN)
	if err != nil {
		return "", "", err
	}
	return id.UIN, mosip.PerpetualVID(vids), nil
}
