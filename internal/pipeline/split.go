package pipeline

import (
	"context"
	"fmt"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/peer"
	"opencrvs-mosip/internal/store"
)

// The split design (MEDIATOR_ROLE opencrvs-side and mosip-side) uses the
// same transactions and jobs as the direct mediator, with two intakes:
// signed OpenCRVS webhook deliveries on the OpenCRVS side (AcceptWebhook)
// and sealed records from that side on the MOSIP side (AcceptPeer).

// MOSIPAIDType is the identifier type the OpenCRVS side adds to a record's
// subject with its MOSIP application id, and the MOSIP side takes the
// packet's registration id from (as the existing mediators do).
const MOSIPAIDType = "MOSIP_AID"

// SplitConfig configures the MOSIP side's intake.
type SplitConfig struct {
	// BirthProcess is the registration process of birth packets
	// (OPENCRVS_NEW: the route that ends in MOSIP's OpenCRVS stage).
	BirthProcess string
	// Handoff, when set, carries each accepted record from intake to the
	// packet work (Kafka): it is called after the record is stored, and
	// again for a resend of a record still waiting; an error is the
	// intake's (the OpenCRVS side keeps the record and sends it again).
	Handoff func(ctx context.Context, tr *bridge.Transaction) error
}

// AcceptWebhook accepts a verified OpenCRVS webhook delivery (OpenCRVS
// side): the record is registered in OpenCRVS already; the country rules
// decide whether it goes to MOSIP, and the delivery's payload is kept to be
// forwarded. A redelivery finds the record's transaction (by its tracking
// ID), so the record keeps one AID.
func (s *Service) AcceptWebhook(ctx context.Context, d *opencrvs.WebhookDelivery, payload []byte) ([]Accepted, error) {
	rec, err := fhir.ParseDelivered(d.Bundle)
	if err != nil {
		return nil, err
	}
	if rec.Event != d.Event() {
		return nil, bridge.Errorf(bridge.EInvalid, "a %s delivery carries a %s record", d.Topic, rec.Event)
	}
	// A record registered once is delivered again only when OpenCRVS did
	// not hear the answer: it keeps its transaction (and AID) even when
	// that one is finished, refused included (nothing in the record can
	// have changed).
	prev, err := s.Store.TransactionsByRecord(ctx, rec.RecordID)
	if err != nil {
		return nil, err
	}
	for i := len(prev) - 1; i >= 0; i-- {
		if p := prev[i]; p.Intake == bridge.IntakeWebhook && p.Kind == rec.Event {
			return []Accepted{{ID: p.ID, Event: p.Kind, State: p.State, TrackingID: p.TrackingID,
				RegistrationNumber: p.RegistrationNumber, Duplicate: true}}, nil
		}
	}
	return s.acceptRecord(ctx, rec, &bridge.Transaction{
		Version: bridge.OpenCRVS18, Intake: bridge.IntakeWebhook, RecordID: rec.RecordID,
		Packet: bridge.Packet{Record: payload},
	})
}

// AcceptPeer accepts a record the OpenCRVS-side mediator sealed (MOSIP
// side): peerID is that side's transaction id (the envelope's id), payload
// the OpenCRVS webhook payload it received. The packet's registration id is
// the record's MOSIP_AID identifier when it has one, else one made here.
// The answer's ID is that AID. A record sent again (the OpenCRVS side did
// not get the answer) finds its transaction.
func (s *Service) AcceptPeer(ctx context.Context, kind bridge.EventKind, peerID string, payload []byte) (Accepted, error) {
	d, err := opencrvs.ParseWebhook(payload)
	if err != nil {
		return Accepted{}, err
	}
	if d.Event() != kind {
		return Accepted{}, bridge.Errorf(bridge.EInvalid, "a %s record was sent to the %s endpoint", d.Event(), kind)
	}
	rec, err := fhir.ParseDelivered(d.Bundle)
	if err != nil {
		return Accepted{}, err
	}
	if prev, err := s.Store.TransactionByPeerID(ctx, peerID); err == nil {
		return s.peerResend(ctx, prev)
	} else if bridge.ErrorCodeOf(err) != bridge.ENotFound {
		return Accepted{}, err
	}
	tr := &bridge.Transaction{
		Version: bridge.OpenCRVS18, Intake: bridge.IntakePeer, RecordID: rec.RecordID, PeerID: peerID,
		ID: subjectAID(rec),
	}
	out, err := s.Country.Evaluate(rec, s.now())
	if err != nil {
		return Accepted{}, err
	}
	tr.Kind, tr.TrackingID, tr.RegistrationNumber = rec.Event, rec.TrackingID, out.RegistrationNumber
	if out.Forward {
		if out.Packet == nil {
			return Accepted{}, bridge.Errorf(bridge.EInternal, "the country configuration forwarded the record without a packet")
		}
		tr.Packet = *out.Packet
		if tr.Kind == bridge.EventBirth && s.Split.BirthProcess != "" {
			tr.Packet.Process = s.Split.BirthProcess
		}
	}
	accepted, err := s.accept(ctx, tr.RecordID, []intakeItem{{tr: tr, forward: out.Forward, reason: out.Reason, handoff: s.Split.Handoff != nil}})
	if err != nil {
		return Accepted{}, err
	}
	a := accepted[0]
	if a.Duplicate {
		// The same record under another envelope id (the OpenCRVS side
		// lost its transaction): the live one answers.
		prev, err := s.Store.Transaction(ctx, a.ID)
		if err != nil {
			return Accepted{}, err
		}
		return s.peerResend(ctx, prev)
	}
	if a.State == bridge.StateQueued && s.Split.Handoff != nil {
		if err := s.Split.Handoff(ctx, tr); err != nil {
			return Accepted{}, handoffError(err)
		}
	}
	return a, nil
}

// peerResend answers a record the OpenCRVS side sent again: with its
// transaction, handed off again while it waits for the packet work (the
// first hand-off may be what failed).
func (s *Service) peerResend(ctx context.Context, tr *bridge.Transaction) (Accepted, error) {
	if tr.State == bridge.StateQueued && s.Split.Handoff != nil {
		if err := s.Split.Handoff(ctx, tr); err != nil {
			return Accepted{}, handoffError(err)
		}
	}
	return Accepted{ID: tr.ID, Event: tr.Kind, State: tr.State, TrackingID: tr.TrackingID,
		RegistrationNumber: tr.RegistrationNumber, Duplicate: true}, nil
}

func handoffError(err error) error {
	return &bridge.Error{Code: bridge.EUnavailable, Message: "the record is stored but could not be queued for packet work (Kafka); send it again later", Err: err}
}

// subjectAID is the MOSIP_AID identifier of the record's subject, "" when
// it has none.
func subjectAID(rec *bridge.Record) string {
	for _, p := range []*bridge.Person{rec.Child, rec.Deceased} {
		if p == nil {
			continue
		}
		for _, id := range p.Identifiers {
			if id.Type == MOSIPAIDType && id.Value != "" {
				return id.Value
			}
		}
	}
	return ""
}

// QueueForPacket schedules the packet work of a record the hand-off
// (Kafka) delivered; a record past QUEUED, or already scheduled, is left
// alone (its submit job acts only on QUEUED). It reports whether it found
// the transaction.
func (s *Service) QueueForPacket(ctx context.Context, id string) (bool, error) {
	found := true
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		tr, err := tx.Transaction(ctx, id)
		if bridge.ErrorCodeOf(err) == bridge.ENotFound {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		if tr.State != bridge.StateQueued {
			return nil
		}
		return s.Jobs.EnqueueSubmitOnce(ctx, tx, id)
	})
	if err != nil {
		return false, fmt.Errorf("queue %s for packet work: %w", id, err)
	}
	return found, nil
}

// peerStage is the MOSIP side's first record of a transaction in
// birth_transactions or death_transactions.
func peerStage(tr *bridge.Transaction, reason string) store.Stage {
	st := store.Stage{TxnID: tr.PeerID, RID: tr.ID, BRN: tr.RegistrationNumber, Status: store.StageRIDGenerated}
	if tr.State == bridge.StateSkipped {
		st.Status, st.Reason = store.StageFailed, "not forwarded to MOSIP: "+reason
	}
	return st
}

// Outcomes of a result from the MOSIP side (OpenCRVS side).
const (
	ResultApplied   = "applied"
	ResultDuplicate = "duplicate"
)

// answerable are the states MOSIP's outcome moves a webhook record on
// from: forwarded (or still being forwarded: the answer to the forward was
// lost), or DEAD while waiting for it.
var answerable = []bridge.State{bridge.StateQueued, bridge.StateSubmitted, bridge.StateDead}

// ApplyPeerResult records MOSIP's outcome of a record, sent back by the
// MOSIP side (OpenCRVS side): id is this side's transaction id (the
// envelope's id; empty from the existing Java MOSIP side, which names the
// record only by its registration number). An issued or deactivated
// outcome schedules the write-back to OpenCRVS, a rejection its report;
// an outcome already recorded changes nothing (ResultDuplicate).
func (s *Service) ApplyPeerResult(ctx context.Context, id string, res peer.Result) (string, *bridge.Transaction, error) {
	outcome := ResultApplied
	var found *bridge.Transaction
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		var tr *bridge.Transaction
		var err error
		if id != "" {
			tr, err = tx.Transaction(ctx, id)
		} else {
			tr, err = tx.WebhookRecordByRegistrationNumber(ctx, res.BRN)
		}
		if bridge.ErrorCodeOf(err) == bridge.ENotFound {
			return bridge.Errorf(bridge.ENotFound, "no record sent to MOSIP matches this result (transaction %q, registration number %q)", id, res.BRN)
		}
		if err != nil {
			return err
		}
		found = tr
		if tr.Intake != bridge.IntakeWebhook {
			return bridge.Errorf(bridge.EConflict, "transaction %s did not come from an OpenCRVS webhook, so the MOSIP side has no result for it", tr.ID)
		}
		if res.BRN != "" && tr.RegistrationNumber != "" && res.BRN != tr.RegistrationNumber {
			return bridge.Errorf(bridge.EConflict, "the result names registration number %s but transaction %s is for %s", res.BRN, tr.ID, tr.RegistrationNumber)
		}
		if res.Event != "" && res.Event != tr.Kind {
			return bridge.Errorf(bridge.EConflict, "the result is for a %s but transaction %s is a %s", res.Event, tr.ID, tr.Kind)
		}
		if tr.State == bridge.StateDead && tr.DeadFrom != bridge.StateQueued && tr.DeadFrom != bridge.StateSubmitted {
			outcome = ResultDuplicate // died after MOSIP's answer: an operator decides
			return nil
		}
		if res.AID != "" && tr.PeerID == "" {
			if _, err := tx.SetPeerID(ctx, tr.ID, res.AID); err != nil {
				return err
			}
		}
		change := store.Change{From: answerable, To: bridge.StateIssued}
		switch res.Status {
		case peer.ResultRejected:
			reason := res.Reason
			msg := "MOSIP refused the record: " + reason
			change.To, change.Reason, change.RejectReason, change.LastError = bridge.StateRejectedByMOSIP, "the MOSIP side reported MOSIP's refusal", &reason, &msg
		case peer.ResultDeactivated:
			change.Reason = "MOSIP marked the deceased's identity"
		default:
			change.Reason = "MOSIP issued the national ID; the MOSIP side sent its UIN token"
			if tr.Kind == bridge.EventBirth {
				token := res.UINToken
				change.UIN = &token
			}
		}
		ok, err := tx.Transition(ctx, tr.ID, change)
		if err != nil {
			return err
		}
		if !ok {
			outcome = ResultDuplicate
			return nil
		}
		if change.To == bridge.StateRejectedByMOSIP {
			return s.Jobs.EnqueueReject(ctx, tx, tr.ID)
		}
		return s.Jobs.EnqueueConfirm(ctx, tx, tr.ID)
	})
	if err != nil {
		return "", nil, err
	}
	s.log().InfoContext(ctx, "result from the MOSIP side", "transaction_id", found.ID, "status", string(res.Status), "outcome", outcome)
	return outcome, found, nil
}

// NewAID makes an application id no transaction has yet (the MOSIP side's
// GET /generateAid): the record that comes with it as MOSIP_AID gets it.
func (s *Service) NewAID(ctx context.Context) (string, error) {
	var id string
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = tx.NextAID(ctx, s.AID)
		return err
	})
	return id, err
}
