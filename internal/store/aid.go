package store

import (
	"context"
	"fmt"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// AIDFormat says how application ids (MOSIP registration ids) are made.
// Both forms are unique by construction: they come from a counter in the
// database, never from random digits.
type AIDFormat struct {
	// Kind is AIDRID (default) or AIDPrefixed.
	Kind string
	// CentreID and MachineID (5 digits each) start a RID.
	CentreID, MachineID string
	// Prefix (5 digits, TRANSACTION_ID_PREFIX) starts a prefixed id.
	Prefix string
}

const (
	// AIDRID is MOSIP's 29-digit registration id: centre (5) + machine (5) +
	// sequence (5) + timestamp yyyyMMddHHmmss (14, UTC). The sequence counts
	// the ids made in one second; when it would pass 99999 the timestamp
	// moves to the next second, so no (sequence, timestamp) pair repeats.
	AIDRID = "rid"
	// AIDPrefixed is the 15-digit form of the Node mosip-api: the prefix and
	// a 10-digit counter.
	AIDPrefixed = "prefixed"
)

// Validate checks the format's settings.
func (f AIDFormat) Validate() error {
	digits := func(name, v string, n int) error {
		if len(v) != n {
			return fmt.Errorf("%s must be %d digits, got %q", name, n, v)
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				return fmt.Errorf("%s must be %d digits, got %q", name, n, v)
			}
		}
		return nil
	}
	switch f.Kind {
	case AIDRID, "":
		if err := digits("MOSIP_CENTER_ID", f.CentreID, 5); err != nil {
			return err
		}
		return digits("MOSIP_MACHINE_ID", f.MachineID, 5)
	case AIDPrefixed:
		return digits("TRANSACTION_ID_PREFIX", f.Prefix, 5)
	}
	return fmt.Errorf("AID format must be %q or %q, got %q", AIDRID, AIDPrefixed, f.Kind)
}

// NextAID allocates the next application id in this transaction. On
// PostgreSQL it is allocated in a statement of its own instead: the
// counter's row is locked for that statement only, not until this
// transaction commits, so that the mediators sharing the database do not
// queue behind each other's intake; a rolled-back transaction leaves a gap
// in the counter.
func (t *Tx) NextAID(ctx context.Context, f AIDFormat) (string, error) {
	var q querier = t.tx
	if t.s.pg {
		q = t.s.rdb
	}
	switch f.Kind {
	case AIDPrefixed:
		var n int64
		err := q.QueryRowContext(ctx, `UPDATE id_sequences SET value = value + 1 WHERE name = 'prefixed' RETURNING value`).Scan(&n)
		if err != nil {
			return "", unavailable("allocate id", err)
		}
		if n > 9_999_999_999 {
			return "", &bridge.Error{Code: bridge.EInternal, Message: "the 10-digit transaction id counter is exhausted: switch to the RID format"}
		}
		return fmt.Sprintf("%s%010d", f.Prefix, n), nil
	default:
		now := t.s.now().Unix()
		var seq, second int64
		err := q.QueryRowContext(ctx, `UPDATE id_sequences SET
				second = CASE WHEN $1 > second THEN $1 WHEN value >= 99999 THEN second + 1 ELSE second END,
				value  = CASE WHEN $1 > second OR value >= 99999 THEN 1 ELSE value + 1 END
			WHERE name = 'rid' RETURNING value, second`, now).Scan(&seq, &second)
		if err != nil {
			return "", unavailable("allocate id", err)
		}
		ts := time.Unix(second, 0).UTC().Format("20060102150405")
		return fmt.Sprintf("%s%s%05d%s", f.CentreID, f.MachineID, seq, ts), nil
	}
}
