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
//	POST /token                   OpenCRVS auth's client credentials grant: a system client's token
//	POST /graphql                 the gateway: confirmRegistration, rejectRegistration,
//	                              upsertRegistrationIdentifier, updateField
//	POST /events/{procedure}      the 1.9 events service (tRPC v11, superjson, ?batch=1):
//	                              event.actions.register.accept, event.actions.register.reject
//	POST /sim/records             send a record (birth, death, correction) to the mediator, as OpenCRVS would
//	POST /sim/historic            {"count":N}: N births registered before the mediator ran, as NDJSON
//	GET  /sim/records/{id}        a record's state and links; ?wait=30s long-polls (max 60s)
//	GET  /sim/records/{id}/document  the document sent for it, byte for byte (recent records)
//	POST /sim/tokens              mint a token: {"recordId","scope":[...],"expiresIn":"-1h"}
//	GET  /sim/stats               totals: records by status, confirmations, rejections
//	POST /sim/identity-updates    a country config endpoint for identity changes made in MOSIP
//	                              (the mediator's OPENCRVS_IDENTITY_UPDATE_URL): JSON {eventId,
//	                              recordId, changed, fields}, signed X-Hub-Signature with
//	                              Config.IdentityUpdateSecret; shown under "updates" of the record
//	GET|PUT /sim/faults           {"latencyMs","errorRate","mode":"http500"|"graphqlError","outage"}
//	POST /webhooks                the webhooks service: subscribe {"hub":{"callback","mode","topic","secret"}}
//	GET  /webhooks                the calling system client's subscriptions {"entries":[...]}
//	DELETE /webhooks/{id}         end a subscription (204)
//	POST /mosip-openhim-mediator  the country config's write-back: {"BRN"|"DRN","MOSIP_AID"} or
//	                              {"BRN","MOSIP_PSUT_TOKEN_ID"}, with a system client's token
//
// # Sending a record
//
// POST /sim/records takes {"kind":"birth"|"death"|"birth-correction"|
// "death-correction", "mode":"fhir"|"mapped", "authenticated":true,
// "bundle":{...}, "of":"<record id>", "changes":true}, all optional but "of"
// for a correction ("of" and "changes" are described below; a bundle goes
// with neither). It answers 202 {"id", "trackingId", "kind", "mode",
// "correctionOf", "changed", "deathOf", "status", "mediatorStatus",
// "mediator"}, problem JSON otherwise. Without a bundle the
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
// # Deaths of known people
//
// {"kind":"death", "of":"<id>"} declares the death of the child of a
// registered birth: the deceased has the child's name, birth date and gender
// (as the birth's latest registered correction states them) and, as a
// NATIONAL_ID identifier (FHIR) or nationalIdNumber (mapped), the national
// ID the mediator confirmed the birth with. A parent informs (with an
// in-form verification shaped by "authenticated"), no spouse is declared,
// and the death date falls in the last 30 days, not before the birth. The
// death is a new record (own id and tracking id, in the requested mode) with
// deathOf set; the birth lists it under deaths. An "of" that is unknown, not
// a birth, not registered, or registered without a NATIONAL_ID identifier
// answers 409 with a problem saying which. Several deaths of one birth are
// allowed: that is how a death of someone already dead is tested.
//
// # Corrections
//
// {"kind":"birth-correction"|"death-correction", "of":"<id>", "changes":true}
// corrects a registered birth or death. The correction is a new record (own
// id and record token, kind birth-correction or death-correction,
// correctionOf the original's id, listed under the original's corrections)
// in the original's mode ("mode" may be left out; another mode is a 400).
// It starts from the record as it stands (the latest registered correction,
// else the original) and changes at least one thing: a birth's child's given
// name and/or birth date (1 to 3 days earlier), a death's date of death
// (moved, never before the birth) and/or the deceased's given name; the
// answer's "changed" lists what changed ("givenName", "birthDate",
// "deathDate"). "changes": false sends the data unchanged ("changed": []),
// which the mediator confirms without a call to MOSIP. In fhir mode the
// document is the original bundle with the changes, the Composition id set to
// the correction's record id, the same tracking id, a Task identifier
// http://opencrvs.org/specs/id/<birth|death>-registration-number carrying the
// original's registration number and, for a birth, the child's NATIONAL_ID
// identifier from the birth's confirmation (OpenCRVS stores confirmed
// identifiers on the child). In mapped mode it is the original payload with
// top-level "correction": true, compositionId the correction's id, the same
// trackingId, the corrected requestFields, birthCertificateNumber or
// deathCertificateNumber set to the registration number, nationalIdNumber
// (a birth: the confirmed national ID), registrationType CRVS_UPDATE in
// metaInfo.metaData and a new audit event. An "of" that is unknown, a
// correction itself, of the other kind or not registered answers 409, as
// does a record whose document was dropped to bound memory.
//
// The mediator confirms a correction with confirmRegistration on the
// correction's record id (waiting -> registered), without identifiers and
// with the original's registration number (otherwise BAD_USER_INPUT, not
// counted), or rejects it with rejectRegistration. The original stays
// registered either way; a rejected correction is not the record's state.
//
// # Record state
//
// GET /sim/records/{id} answers {"id", "trackingId", "kind", "mode",
// "status", "nationalId", "registrationNumber", "reason", "comment",
// "confirmations", "rejections", "correctionOf", "corrections", "changed",
// "deathOf", "deaths", "mediatorStatus", "mediator"}; what does not apply is
// null.
//
// # Delivery
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
//
// # Records registered before the mediator (backfill)
//
// POST /sim/historic {"count": N, "authenticated": true} answers N FHIR
// bundles of births OpenCRVS registered earlier, one a line (NDJSON), as
// the input of `opencrvs-mosip backfill` (Sim.WriteHistoric does the same
// in Go): the Task REGISTERED with identifiers birth-tracking-id and
// birth-registration-number (<year><tracking id>), the children born up
// to 4 years ago (MOSIP's CRVS_NEW route takes infants only), the
// parents' in-form verification shaped by "authenticated" (default true,
// which the default country rules forward).
// The simulator keeps them, compactly (a million fit in memory), as
// registered records: GET /sim/records/{id} shows them with "historic":
// true.
//
// A system client gets a token at POST /token with client_id,
// client_secret and grant_type=client_credentials in the query (as
// OpenCRVS 1.8's auth reads them) or a form body: 200 {"access_token",
// "token_type":"Bearer"} (an RS256 JWT, userType "system", sub the client
// id, valid SystemTokenTTL), 400 {"error":"invalid_request"} or
// {"error":"unsupported_grant_type"}, 401 {"error":"invalid_client"}. The
// clients are Config.SystemClients (default DevSystemClient /
// DevSystemSecret).
//
// upsertRegistrationIdentifier(id, identifierType, identifierValue) adds
// the identifier to a registered record (historic or registered through
// the simulator), or replaces the one of that type, with a system token or
// the record's own token. A waiting or rejected record answers
// BAD_USER_INPUT, an unknown one NOT_FOUND. Each call that changes or
// repeats an identifier is counted: "identifierUpserts" on the record and
// in GET /sim/stats, so tests can assert that each record got its national
// ID once.
//
// # Webhooks (OpenCRVS 1.8)
//
// A system client (bearer token from POST /token) subscribes a callback to
// a topic at POST /webhooks {"hub":{"callback","mode":"subscribe",
// "topic","secret"}}, checked as OpenCRVS checks it: the topic must be one
// of BIRTH_REGISTERED, DEATH_REGISTERED, BIRTH_CERTIFIED, DEATH_CERTIFIED,
// BIRTH_CORRECTED, DEATH_CORRECTED, the client a known system client, the
// secret its SHA secret (Config.SHASecret, default DevSHASecret) and the
// mode "subscribe"; otherwise 400 {"hub":{"mode":"denied","topic",
// "reason"}}. Then the simulator GETs the callback with
// ?mode=subscribe&challenge=<url-encoded base64 of 16 random bytes>&topic=
// and needs JSON {"challenge"} with the same value back (else 400
// "Subscription callback check failed"), stores the subscription in memory
// and answers 202. Subscribing twice makes two subscriptions, as in
// OpenCRVS. GET /webhooks lists the caller's subscriptions; DELETE
// /webhooks/{id} answers 204, known id or not.
//
// POST /sim/records {"kind":"birth"|"death", "delivery":"webhook"} (also
// with "of" and "authenticated", and for a death without "of"
// "deceasedNationalId": the deceased's UIN or VID; FHIR, 1.8, generated
// records only)
// registers the record at once (Task REGISTERED, registration number
// <year><tracking id>, also as a BIRTH_REGISTRATION_NUMBER or
// DEATH_REGISTRATION_NUMBER identifier of the child or the deceased) and
// POSTs {"timestamp","id":<subscription id>,"event":{"hub":{"topic"},
// "context":[bundle]}} to every subscriber of BIRTH_REGISTERED or
// DEATH_REGISTERED, with X-Hub-Signature: sha256=<hex HMAC-SHA256 under the
// secret of "sha256:"+encodeURIComponent(body)>. The bundle is the Task
// followed by the document's resources, Composition included. A delivery is
// tried up to 3 times when the subscriber cannot be reached, and never
// again after an HTTP answer, whatever its status, as OpenCRVS does. The
// answer (202) adds "delivery", "registrationNumber" and "subscribers":
// [{"subscription","callback","topic","status","attempts","error"}] (status
// 0: not reached); GET /sim/records/{id} shows the same under "webhooks".
//
// The mediator gives the record its national ID with
// upsertRegistrationIdentifier, or writes MOSIP's AID and PSUT token back
// through POST /mosip-openhim-mediator (system client token), which finds
// the record by its registration number (404 problem if none), stores
// them ("mosipAid", "mosipPsutTokenId" on the record) and counts each call
// ("writeBacks" on the record and in GET /sim/stats, with the webhook
// counters webhookSubscriptions, webhookSubscribes,
// webhookSubscriptionsDenied, webhookDeliveries, webhookDeliveryFailures,
// webhookAttempts; each left out of the answer while 0).
//
// # OpenCRVS 1.9
//
// {"version":"1.9"} (the default with Config.DefaultVersion "1.9", `dev
// --opencrvs-version 1.9`) sends a record as OpenCRVS 1.9 does: in mode
// "event" (the default) the EventDocument core posts to the country
// config's REGISTER trigger (CREATE, DECLARE with Farajaland v1.9 field ids
// such as child.name, mother.nid, mother.verified, VALIDATE, and a
// REGISTER action in status Requested); in mode "mapped" the
// MosipInteropPayload of @opencrvs/mosip (no compositionId). The token is
// an action confirmation token: claims eventId (the record id) and
// actionId (the REGISTER action), scopes record.confirm-registration and
// record.reject-registration, no recordId. A given bundle is an
// EventDocument with exactly one waiting REGISTER action. Deaths with "of"
// work as in 1.8; corrections of 1.9 records are refused (409).
//
// The mediator answers at POST /events/event.actions.register.accept
// ({transactionId, eventId, actionId, registrationNumber, declaration?:
// {"child.nid": ...}}, strict) or .reject ({transactionId, eventId,
// actionId}), in tRPC's batch form {"0":{"json":{...}}}. As OpenCRVS 1.9
// does, the simulator answers UNAUTHORIZED for a bad token, FORBIDDEN when
// the token lacks a scope or its eventId/actionId are not the input's,
// BAD_REQUEST for invalid input (unknown keys, a declaration field of
// another form, such as child.nid on a death), NOT_FOUND for an unknown
// event or action; an accept of an accepted action and a reject of a
// rejected one succeed again; an accept of a rejected action is
// BAD_REQUEST "Action has already been rejected." and a reject of an
// accepted one INTERNAL_SERVER_ERROR. Errors are shaped as tRPC does:
// [{"error":{"json":{"message","code":-32003,"data":{"code":"FORBIDDEN",
// "httpStatus":403,"path":...}}}}] with that HTTP status. GET
// /sim/records/{id} shows "version" and "actionId"; a rejected 1.9 record
// has reason REGISTER_REJECTED (1.9 takes no reason). PUT /sim/faults
// {"errorRate":1,"trpcCode":"FORBIDDEN"} makes every tRPC call answer that
// error (default INTERNAL_SERVER_ERROR); an outage answers 503.
package opencrvssim
