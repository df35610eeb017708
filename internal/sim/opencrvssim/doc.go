// Package opencrvssim simulates OpenCRVS 1.8 core together with a country
// configuration, as the mediator sees them: it signs record tokens, serves
// its public key, sends registered records to the mediator and records the
// mediator's feedback (confirmRegistration / rejectRegistration). Integrators
// run the whole flow on a laptop with it; end-to-end tests and the `load`
// command drive the system through it. State lives in memory.
//
// # Endpoints
//
//	GET  /.well-known             the RS256 public key, PKIX PEM, text/plain (OpenCRVS auth)
//	POST /graphql                 the gateway: confirmRegistration, rejectRegistration
//	POST /sim/records             send a record to the mediator, as OpenCRVS would
//	GET  /sim/records/{id}        a record's state; ?wait=30s long-polls (max 60s)
//	GET  /sim/records/{id}/document  the document sent for it, byte for byte (recent records)
//	POST /sim/tokens              mint a token: {"recordId","scope":[...],"expiresIn":"-1h"}
//	GET  /sim/stats               totals: records by status, confirmations, rejections
//	GET|PUT /sim/faults           {"latencyMs","errorRate","mode":"http500"|"graphqlError","outage"}
//
// # Sending a record
//
// POST /sim/records takes {"kind":"birth"|"death", "mode":"fhir"|"mapped",
// "authenticated":true, "bundle":{...}}, all optional. Without a bundle the
// simulator generates a realistic record: in fhir mode the FHIR document
// bundle OpenCRVS 1.8 core posts to the country config's /event-registration
// (record in WAITING_VALIDATION); in mapped mode the payload the
// @opencrvs/mosip country-config library posts after the country's rules and
// mapping. "authenticated" shapes the bundle's "*.verified" form answers
// (authenticated/verified, else failed or absent); a mapped payload has
// already passed the country's rules, so it ignores it. A given bundle is
// sent byte for byte; its Composition id is the record id (mapped payloads:
// compositionId, or a fresh id).
//
// The simulator stores the record as waiting, mints a record token (scopes
// record.confirm-registration and record.reject-registration, claim recordId)
// and posts the document to MediatorURL/events/registration with it. A 2xx
// answer leaves the record waiting for the mediator's feedback; any other
// answer or a network error rejects it with reason
// REG_NUMBER_GENERATION_FAILED, as OpenCRVS 1.8 does. That rejection is the
// simulator's own: it does not count as a rejectRegistration call. A
// rejected record may be sent again (same Composition id); a waiting or
// registered one may not (409).
//
// # Feedback
//
// The gateway checks the bearer token (RS256 with the simulator's key, not
// expired, issuer, the mutation's scope, recordId equal to the id argument)
// and answers 401 with a GraphQL error otherwise, recording nothing. Every
// authenticated, well-formed mutation on a known record is counted, so tests
// can assert exactly-once delivery. A confirmation of a registered record
// answers the GraphQL error ALREADY_REGISTERED ("record is already
// registered", extensions.sameDetails true when registration number and
// identifiers match the first confirmation); a rejection of a rejected record
// answers ALREADY_REJECTED, and the crossed cases answer the code of the
// record's state.
package opencrvssim
