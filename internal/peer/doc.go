// Package peer is the wire between the two mediators of the split design:
// the OpenCRVS-side mediator forwards each registered record to the
// MOSIP-side mediator, and the MOSIP side sends the outcome (a PSUT token,
// a deactivation, a rejection) back.
//
// Both directions carry an envelope (package envelope). A Client sends:
//
//	POST {URL}/birth, {URL}/death    OpenCRVS side -> MOSIP side (Forward)
//	GET  {URL}/generateAid           OpenCRVS side -> MOSIP side (GenerateAID)
//	POST {URL}/birthReceiveNid       MOSIP side -> OpenCRVS side (SendResult)
//
// with the paths, headers and answers of the existing mediators
// (mosip/mosip-opencrvs in Java, opencrvs/mosip-mediator in Node), so that
// either of ours can stand in for either of theirs: Forward sends the token
// both as the cookie Authorization, which the Java side reads, and as a
// Bearer header, which ours read; SendResult sends a Result whose JSON
// names are those the Node side reads (opencrvsBRN, uinToken).
//
// A Receiver opens envelopes on the receiving end and refuses replays with
// the help of a Replay store; its errors are bridge errors whose codes give
// the right HTTP status (401 for a bad signature, 409 for a replay, 400 for
// the rest). WriteAnswer and WriteJavaError write the Java mediator's
// answer shapes, which the Node side expects.
//
// A TokenValidator checks, on the MOSIP side, the MOSIP token the OpenCRVS
// side sends, at MOSIP's auth manager, and requires one of the configured
// roles: the Java mediator accepted any token of the realm.
package peer
