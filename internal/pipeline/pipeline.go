// Package pipeline is the mediator's core: it accepts OpenCRVS records
// (deciding and mapping them with the country configuration) and applies
// MOSIP's answers, each time changing the store and scheduling the next job
// in one database transaction.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/country"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/store"
)

// Service accepts records and applies credentials.
type Service struct {
	Store   *store.Store
	Jobs    *jobs.Runner
	Country *country.Config
	AID     store.AIDFormat
	Now     func() time.Time
	Logger  *slog.Logger
}

// Accepted is one transaction an intake created or found.
type Accepted struct {
	ID                 string           `json:"id"`
	Event              bridge.EventKind `json:"event"`
	State              bridge.State     `json:"state"`
	TrackingID         string           `json:"trackingId"`
	RegistrationNumber string           `json:"registrationNumber"`
	// Duplicate is true when the record was already being processed: the
	// existing transaction is returned and nothing new was started.
	Duplicate bool `json:"duplicate"`
	// Reason says why the record was or was not forwarded to MOSIP.
	Reason string `json:"reason,omitempty"`
}

// intakeItem is one transaction to create.
type intakeItem struct {
	tr      *bridge.Transaction
	forward bool
	reason  string
}

// accept stores the items and their first jobs in one database transaction:
// all are accepted, or none.
func (s *Service) accept(ctx context.Context, requestRecordID string, items []intakeItem) ([]Accepted, error) {
	out := make([]Accepted, 0, len(items))
	// Durable: the caller is told "accepted" once this returns.
	err := s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, it := range items {
			tr := it.tr
			key := string(tr.Kind) + ":" + tr.TrackingID
			live, err := tx.LiveByDedupeKey(ctx, key)
			if err != nil {
				return err
			}
			if live != nil {
				// A resend: keep the transaction, take the fresher token
				// when it is for the same record.
				if !live.State.Final() && live.RecordID == requestRecordID && tr.Token != "" {
					if err := tx.SetToken(ctx, live.ID, tr.Token); err != nil {
						return err
					}
				}
				out = append(out, Accepted{ID: live.ID, Event: live.Kind, State: live.State, TrackingID: live.TrackingID,
					RegistrationNumber: live.RegistrationNumber, Duplicate: true})
				continue
			}
			id, err := tx.NextAID(ctx, s.AID)
			if err != nil {
				return err
			}
			tr.ID = id
			if it.forward {
				tr.State = bridge.StateQueued
				err = tx.Insert(ctx, tr, key, "accepted: "+it.reason)
				if err == nil {
					err = s.Jobs.EnqueueSubmit(ctx, tx, id)
				}
			} else {
				tr.State = bridge.StateSkipped
				tr.SkipReason = it.reason
				tr.Packet = bridge.Packet{}
				err = tx.Insert(ctx, tr, key, "not forwarded to MOSIP: "+it.reason)
				if err == nil {
					err = s.Jobs.EnqueueConfirm(ctx, tx, id)
				}
			}
			if err != nil {
				return err
			}
			out = append(out, Accepted{ID: id, Event: tr.Kind, State: tr.State, TrackingID: tr.TrackingID,
				RegistrationNumber: tr.RegistrationNumber, Reason: it.reason})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, a := range out {
		if !a.Duplicate {
			s.log().Info("record accepted", "transaction_id", a.ID, "event", a.Event, "state", a.State)
		}
	}
	return out, nil
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// errDuplicateDelivery rolls back a delivery seen before.
var errDuplicateDelivery = errors.New("pipeline: delivery seen before")
