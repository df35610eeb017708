package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/store"
)

// correction is a corrected record: a registration MOSIP already holds,
// sent again with changed data.
type correction struct {
	kind               bridge.EventKind
	version            bridge.OpenCRVSVersion
	intake             bridge.Intake
	recordID           string
	trackingID         string
	registrationNumber string
	token              string
	// packet is the whole corrected record mapped to MOSIP fields, with the
	// correction process; only the fields that changed are sent.
	packet bridge.Packet
	// explicit: the sender said it is a correction (the mapped payload's
	// marker), so anything but a correction of a known registration is an
	// error. A FHIR bundle is a correction only when its Task carries the
	// registration number of a registration the mediator completed.
	explicit bool
}

// errNotACorrection sends a FHIR bundle down the registration path.
var errNotACorrection = errors.New("pipeline: not a correction")

// notInPacket are fields a correction never sends as changes: the identity
// references (the packet names the person with the national ID the
// registration got) and the certificate numbers that tell the event.
var notInPacket = append(slices.Clone(bridge.IdentityRefFields), birthCertificateField, deathCertificateField)

// acceptCorrection stores a correction and its first job in one durable
// database transaction. The correction is diffed against what MOSIP holds
// for the record (the registration's packet and the corrections MOSIP
// already applied): only the changed fields are sent, in a packet of the
// correction process that names the person by the national ID MOSIP gave
// them (a birth) or that the registration carried (a death). A correction
// that changes nothing is confirmed without a call to MOSIP.
func (s *Service) acceptCorrection(ctx context.Context, c correction) ([]Accepted, error) {
	var out []Accepted
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		history, err := tx.History(ctx, c.kind, c.trackingID)
		if err != nil {
			return err
		}
		var reg *bridge.Transaction
		for _, tr := range history {
			if tr.Corrects == "" && tr.State != bridge.StateCancelled {
				reg = tr // the latest registration (one sent again after MOSIP refused it comes later); a cancelled one never counts
			}
		}
		switch {
		case reg == nil && !c.explicit, reg != nil && !correctable(reg) && !c.explicit:
			return errNotACorrection
		case reg == nil:
			return bridge.FieldErrorf(bridge.ENotFound, "registrationNumber",
				"no %s with tracking id %s was registered through the mediator, so MOSIP cannot be sent its correction; correct the identity in MOSIP directly",
				c.kind, c.trackingID)
		case reg.State == bridge.StateReported:
			return bridge.Errorf(bridge.EConflict,
				"MOSIP refused the registration of %s (transaction %s): send the corrected record as a new registration, without the correction marker",
				c.trackingID, reg.ID)
		case !correctable(reg):
			return bridge.Errorf(bridge.EConflict,
				"the registration of %s (transaction %s) is still being processed (%s): send the correction once it is complete",
				c.trackingID, reg.ID, reg.State)
		case c.registrationNumber != "" && c.registrationNumber != reg.RegistrationNumber:
			if !c.explicit {
				return errNotACorrection
			}
			return bridge.FieldErrorf(bridge.EConflict, "registrationNumber",
				"the correction names registration number %s, but %s was registered as %s",
				c.registrationNumber, c.trackingID, reg.RegistrationNumber)
		}

		tr := &bridge.Transaction{
			Kind: c.kind, Version: c.version, Intake: c.intake, RecordID: c.recordID,
			TrackingID: c.trackingID, RegistrationNumber: reg.RegistrationNumber, Token: c.token, Corrects: reg.ID,
		}
		item := intakeItem{tr: tr}
		changed := changedFields(currentFields(reg, history), c.packet.Fields)
		item.key = correctionKey(c.kind, c.trackingID, changed)
		ref, refValue := identityRef(reg)
		switch {
		case reg.Packet.Process == "":
			item.reason = "its registration was not sent to MOSIP, so neither is the correction"
		case len(changed) == 0:
			item.reason = "the correction changes nothing MOSIP holds"
		case refValue == "":
			return bridge.Errorf(bridge.EConflict, "the registration of %s (transaction %s) has no national ID that MOSIP could correct", c.trackingID, reg.ID)
		default:
			fields := maps.Clone(changed)
			fields[ref], _ = json.Marshal(refValue)
			pkt := c.packet
			pkt.Fields = fields
			tr.Packet = pkt
			item.forward = true
			item.reason = "a correction of " + reg.ID + " changing " + strings.Join(slices.Sorted(maps.Keys(changed)), ", ")
		}
		a, err := s.insertItem(ctx, tx, c.recordID, item)
		if err != nil {
			return err
		}
		out = []Accepted{a}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logAccepted(ctx, out)
	return out, nil
}

// correctable reports whether a registration can be corrected: MOSIP is
// done with it (or it was never sent there), so OpenCRVS may have
// registered it, even if the mediator has not yet recorded OpenCRVS's
// answer (ISSUED, SKIPPED) or gave up on it (DEAD there).
func correctable(reg *bridge.Transaction) bool {
	st := reg.State
	if st == bridge.StateDead {
		st = reg.DeadFrom
	}
	return st == bridge.StateConfirmed || st == bridge.StateIssued || st == bridge.StateSkipped
}

// currentFields is what MOSIP holds for the record as far as the mediator
// knows: the registration's fields with the corrections MOSIP applied, in
// order.
func currentFields(reg *bridge.Transaction, history []*bridge.Transaction) map[string]json.RawMessage {
	cur := maps.Clone(reg.Packet.Fields)
	if cur == nil {
		cur = map[string]json.RawMessage{}
	}
	for _, tr := range history {
		if tr.Corrects == reg.ID && correctable(tr) {
			maps.Copy(cur, tr.Packet.Fields)
		}
	}
	return cur
}

// changedFields are the fields of next that are new or differ from cur
// (as JSON, whitespace aside). Fields next leaves out are not sent: a MOSIP
// update carries changes only.
func changedFields(cur, next map[string]json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range next {
		if slices.Contains(notInPacket, k) || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		if old, ok := cur[k]; ok && jsonEqual(old, v) {
			continue
		}
		out[k] = v
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// correctionKey is the dedupe key of a correction: the same changes sent
// twice are one correction; different changes are another.
func correctionKey(kind bridge.EventKind, trackingID string, changed map[string]json.RawMessage) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(changed)) {
		var v bytes.Buffer
		if json.Compact(&v, changed[k]) != nil {
			v.Write(changed[k])
		}
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(v.Bytes())
		h.Write([]byte{0})
	}
	return "correction:" + string(kind) + ":" + trackingID + ":" + hex.EncodeToString(h.Sum(nil)[:12])
}

// identityRef names the person a correction is about: a birth by the UIN
// (else the VID) MOSIP issued; a death by the national ID its registration
// packet carried.
func identityRef(reg *bridge.Transaction) (field, value string) {
	if reg.IssuesNationalID() {
		switch {
		case reg.UIN != "":
			return "UIN", reg.UIN
		case reg.VID != "":
			return "vid", reg.VID // the ID schema's name for it
		}
		return "", ""
	}
	return bridge.IdentityRef(reg.Packet.Fields)
}
