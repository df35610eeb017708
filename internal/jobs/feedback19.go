package jobs

import (
	"context"
	"fmt"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
)

// confirmInOpenCRVS registers the record in the OpenCRVS it came from:
// GraphQL confirmRegistration for 1.8, the tRPC accept of the waiting
// REGISTER action for 1.9 (with a birth's national ID as the declaration
// field child.nid).
func (r *Runner) confirmInOpenCRVS(ctx context.Context, tr *bridge.Transaction, ids []opencrvs.Identifier) error {
	if tr.Version != bridge.OpenCRVS19 {
		return r.cfg.OpenCRVS.ConfirmRegistration(ctx, tr.Token, tr.RecordID, tr.RegistrationNumber, ids)
	}
	if r.cfg.OpenCRVS19 == nil {
		return bridge.Errorf(bridge.EInvalid, "the mediator has no OpenCRVS 1.9 client (OPENCRVS_GATEWAY_URL)")
	}
	in := opencrvs.AcceptInput{
		TransactionID: feedbackTransactionID("accept", tr), EventID: tr.RecordID, ActionID: tr.ActionID,
		RegistrationNumber: tr.RegistrationNumber,
	}
	for _, id := range ids {
		if id.Type == NationalIDType {
			in.Declaration = map[string]string{opencrvs.NationalIDField: id.Value}
		}
	}
	return explained(r.cfg.OpenCRVS19.AcceptRegistration(ctx, tr.Token, in))
}

// rejectInOpenCRVS tells the OpenCRVS the record came from that MOSIP
// refused it: GraphQL rejectRegistration with the reason for 1.8, the tRPC
// reject of the waiting REGISTER action for 1.9 (which takes no reason:
// the reason stays in the transaction for operators).
func (r *Runner) rejectInOpenCRVS(ctx context.Context, tr *bridge.Transaction, comment string) error {
	if tr.Version != bridge.OpenCRVS19 {
		return r.cfg.OpenCRVS.RejectRegistration(ctx, tr.Token, tr.RecordID, RejectReason, comment)
	}
	if r.cfg.OpenCRVS19 == nil {
		return bridge.Errorf(bridge.EInvalid, "the mediator has no OpenCRVS 1.9 client (OPENCRVS_GATEWAY_URL)")
	}
	return explained(r.cfg.OpenCRVS19.RejectRegistration(ctx, tr.Token, opencrvs.RejectInput{
		TransactionID: feedbackTransactionID("reject", tr), EventID: tr.RecordID, ActionID: tr.ActionID,
	}))
}

// feedbackTransactionID is the tRPC transactionId of an answer: the same
// for every attempt of one answer on one action, so that OpenCRVS can tell
// a repeat.
func feedbackTransactionID(verb string, tr *bridge.Transaction) string {
	return fmt.Sprintf("opencrvs-mosip-%s-%s-%s", verb, tr.ID, tr.ActionID)
}

// explained puts the plain-words meaning of a permanent tRPC failure in
// front of it, for the transaction's last error.
func explained(err error) error {
	if err == nil || opencrvs.IsTransient(err) || opencrvs.IsAlreadyDone(err) {
		return err
	}
	if why := opencrvs.ExplainTRPC(err); why != "" {
		return fmt.Errorf("%s: %w", why, err)
	}
	return err
}
