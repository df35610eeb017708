package pipeline

import (
	"time"

	"opencrvs-mosip/internal/bridge"
)

// TransactionView is a transaction as operators see it (admin API, `tx`
// command): never the OpenCRVS token, the packet's personal data, or the
// national ID itself.
type TransactionView struct {
	ID                 string           `json:"id"`
	Event              bridge.EventKind `json:"event"`
	State              bridge.State     `json:"state"`
	RecordID           string           `json:"recordId"`
	TrackingID         string           `json:"trackingId"`
	RegistrationNumber string           `json:"registrationNumber"`
	Intake             bridge.Intake    `json:"intake"`
	// PeerID is, in the split design, the same record's id at the other
	// mediator (the MOSIP side's AID on the OpenCRVS side; the OpenCRVS
	// side's transaction on the MOSIP side).
	PeerID string `json:"peerId,omitempty"`
	// OpenCRVSVersion decides how the answer goes back (GraphQL for 1.8,
	// tRPC for 1.9); ActionID is the 1.9 REGISTER action.
	OpenCRVSVersion bridge.OpenCRVSVersion `json:"opencrvsVersion"`
	ActionID        string                 `json:"actionId,omitempty"`
	// Corrects is, for a correction, the registration it corrects.
	Corrects         string       `json:"corrects,omitempty"`
	Attempts         int          `json:"attempts"`
	LastError        string       `json:"lastError,omitempty"`
	RejectReason     string       `json:"rejectReason,omitempty"`
	SkipReason       string       `json:"skipReason,omitempty"`
	DeadFrom         bridge.State `json:"deadFrom,omitempty"`
	NationalIDIssued bool         `json:"nationalIdIssued"`
	// NextStatusCheck is when MOSIP is next asked for the status (SUBMITTED
	// transactions).
	NextStatusCheck *time.Time  `json:"nextStatusCheck,omitempty"`
	StatusChecks    int         `json:"statusChecks,omitempty"`
	CreatedAt       time.Time   `json:"createdAt"`
	UpdatedAt       time.Time   `json:"updatedAt"`
	Events          []EventView `json:"events,omitempty"`
}

// EventView is one entry of a transaction's log.
type EventView struct {
	At      time.Time    `json:"at"`
	From    bridge.State `json:"from,omitempty"`
	To      bridge.State `json:"to"`
	Reason  string       `json:"reason,omitempty"`
	Attempt int          `json:"attempt,omitempty"`
}

// View is tr (and its events, if given) as operators see it.
func View(tr *bridge.Transaction, events []bridge.Event) TransactionView {
	v := TransactionView{
		ID: tr.ID, Event: tr.Kind, State: tr.State, RecordID: tr.RecordID, TrackingID: tr.TrackingID,
		RegistrationNumber: tr.RegistrationNumber, Intake: tr.Intake, PeerID: tr.PeerID, Attempts: tr.Attempts,
		OpenCRVSVersion: tr.Version, ActionID: tr.ActionID, Corrects: tr.Corrects,
		LastError: tr.LastError, RejectReason: tr.RejectReason, SkipReason: tr.SkipReason,
		NationalIDIssued: tr.UIN != "" || tr.VID != "",
		CreatedAt:        tr.CreatedAt, UpdatedAt: tr.UpdatedAt,
	}
	if tr.State == bridge.StateDead {
		v.DeadFrom = tr.DeadFrom
	}
	if tr.State == bridge.StateSubmitted {
		at := tr.CheckAt
		v.NextStatusCheck, v.StatusChecks = &at, tr.Checks
	}
	for _, e := range events {
		v.Events = append(v.Events, EventView{At: e.At, From: e.From, To: e.To, Reason: e.Reason, Attempt: e.Attempt})
	}
	return v
}
