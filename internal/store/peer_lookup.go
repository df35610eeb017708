package store

import (
	"context"

	"opencrvs-mosip/internal/bridge"
)

// PeerBirthByRegistrationNumber returns the newest birth registration the
// MOSIP side of the split design received from the OpenCRVS side with
// registration number regNo (a credential of MOSIP's OpenCRVS stage names
// the record by it, not by the AID); ENotFound if none.
func (t *Tx) PeerBirthByRegistrationNumber(ctx context.Context, regNo string) (*bridge.Transaction, error) {
	// (event_kind || ''), (intake || ''): only the registration number's
	// index applies (TestQueryPlans).
	return t.s.getTransaction(ctx, t.tx, summaryColumns,
		`registration_number = $1 AND (event_kind || '') = 'birth' AND (intake || '') = 'peer' AND corrects = ''
		ORDER BY created_at DESC LIMIT 1`, regNo)
}

// WebhookRecordByRegistrationNumber returns the newest transaction the
// OpenCRVS side of the split design made of a webhook delivery with
// registration number regNo (the existing Java MOSIP side names the record
// of its result only by it); ENotFound if none.
func (t *Tx) WebhookRecordByRegistrationNumber(ctx context.Context, regNo string) (*bridge.Transaction, error) {
	return t.s.getTransaction(ctx, t.tx, summaryColumns,
		`registration_number = $1 AND (intake || '') = 'webhook' AND corrects = ''
		ORDER BY created_at DESC LIMIT 1`, regNo)
}
