// Package mosipsim simulates the parts of MOSIP that OpenCRVS integrations
// use, so that country configurations and the mediator can be developed
// and tested without a MOSIP installation. It speaks MOSIP's wire formats,
// keeps its state in memory, and runs the registration processor stage by
// stage as MOSIP's camel routes do, so packets MOSIP would refuse are
// refused here too, with the reason.
//
// # MOSIP endpoints
//
//	POST /v1/authmanager/authenticate/clientidsecretkey
//	     {request:{clientId, secretKey, appId}} -> token in
//	     Set-Cookie: Authorization=<JWT>; Max-Age=<ttl>; Path=/; Secure; HttpOnly
//	PUT  /commons/v1/packetmanager/createPacket         (packet manager)
//	POST /registrationprocessor/v1/workflowmanager/workflowinstance
//	POST /registrationprocessor/v1/registrationstatus/search
//	POST /websub/hub  (also /hub)                       (WebSub hub)
//
// All but the first need the cookie Authorization=<token>; without a valid,
// unexpired token they answer HTTP 401 with KER-ATH-401 (the hub answers
// 500 hub.mode=denied, as MOSIP's hub does). Like MOSIP, the JSON
// endpoints answer their own errors with HTTP 200 and an errors list.
//
// createPacket checks the request as the packet manager does: Jackson
// decoding (fields and metaInfo values are strings; numbers and booleans
// are taken as text, objects and lists are refused), a writer provider for
// (source, process) (Config.Providers; by default source OPENCRVS writes
// CRVS_NEW, CRVS_DEATH, CRVS_UPDATE, OPENCRVS_NEW, NEW, UPDATE and source
// CRVS1 writes the three CRVS processes), refId <centreId>_<machineId>,
// schemaVersion, and schemaJson being JSON. A schemaJson that is JSON but
// not an ID schema gets MOSIP's swallowed-exception answer: a null
// response with no errors. Writing the same id again replaces the packet.
//
// The workflow instance queues the registration (status RESUMABLE); a
// bounded worker pool then runs its route, pausing Config.StageDelay
// before each stage:
//
//	CRVS_NEW (NEW, OPENCRVS_NEW alike, without the infant rule):
//	  SecurezoneNotificationStage  the packet exists for (id, source, process), else FAILED
//	  PacketValidatorStage         the ID schema in schemaJson: required fields,
//	                               types (simpleType = JSON list of {language,value}),
//	                               regex validators (per value for simpleType),
//	                               no fields outside a closed schema,
//	                               dateOfBirth YYYY/MM/DD and not in the future; else REJECTED
//	  PacketClassifierStage        AGE_GROUP: INFANT under 5, MINOR under 18, ADULT
//	  CMDValidatorStage            CRVS_NEW must be INFANT, else REJECTED
//	  Operator/SupervisorValidatorStage  metaInfo.operationsData names an officerId
//	                               or supervisorId, else FAILED
//	  DemodedupStage               same fullName, dateOfBirth, gender and
//	                               guardianOrParentName as an identity: REJECTED
//	  UinGeneratorStage            10-digit UIN and 16-digit perpetual VID (no leading
//	                               0 or 1, Verhoeff check digit); identity ACTIVATED
//	  FinalizationStage
//	  CredentialRequestorStage     the credential is issued -> PROCESSED
//	CRVS_DEATH: securezone, validator, classifier, CMD, operator validator,
//	  UinGeneratorStage: the identity named by the first non-empty field of
//	  UIN, VID, vid, nationalIdNumber (FAILED "UIN not found" if none) is
//	  flagged deceased with its dateOfDeath; the UIN stays ACTIVATED (MOSIP's
//	  policy); already deceased: no change; then finalization and a death
//	  credential (unless switched off).
//	CRVS_UPDATE (UPDATE alike): securezone, validator, demo dedupe,
//	  UinGeneratorStage updates the identity's fields, finalization, credential.
//
// For deaths and updates the validator only checks the fields present (an
// update carries what changes). A process without a route fails at the
// first stage.
//
// # Credentials and WebSub
//
// Each credential is published to topic "<PartnerID>/CREDENTIAL_ISSUED"
// and to "CREDENTIAL_ISSUED"; subscribe to the one your deployment uses. A
// topic without subscribers keeps up to Config.Backlog events (as MOSIP's
// Kafka does) and hands them to its next subscriber. The event is MOSIP's
// credential service event (mosip.CredentialEvent), the credential
// encrypted to Config.PartnerCert (VER_R2, mosip.EncryptCredential),
// proof.signature a detached ES256 JWS of the credential service key over
// the plain credential. Config.CredentialFormat picks the credential:
//
//	vc     W3C verifiable credential like OpenCRVS's mock (credentialType vercred):
//	       credentialSubject {id: http://credential.idrepo/credentials/<RID>,
//	       VID, birthCertificateNumber, vcVer: VC-V1}; deaths {id, vcVer};
//	       proof RsaSignature2018, jws = detached PS256 JWS (b64:false) over
//	       the RFC 8785 canonical JSON of the credential without its proof.
//	mosip  MOSIP's formatted credential (credentialType euin):
//	       credentialSubject {id: <RID>, UIN, VID, fullName, dateOfBirth}.
//
// The hub answers subscribe/unsubscribe with 202 hub.mode=accepted (400 or
// 500 hub.mode=denied&hub.reason=... for bad or unauthorised requests),
// then asynchronously denies a second subscription of the same (topic,
// callback) with GET callback?hub.mode=denied&hub.topic=..&hub.reason=..,
// or verifies intent with GET
// callback?hub.mode=subscribe&hub.topic=..&hub.challenge=..&hub.lease_seconds=..
// (the answer must be 2xx with exactly the challenge; failures are retried
// 3 times with backoff). Deliveries are POSTs with Content-Type
// application/json, Link: <hub>; rel="hub", <topic>; rel="self" and
// X-Hub-Signature: sha256=<hex HMAC of the body under hub.secret>. 2xx is
// delivered, 410 removes the subscription, anything else is redelivered
// with jittered exponential backoff from Config.DeliveryRetryBase, at most
// Config.DeliveryAttempts times. Config.EnforceLease makes leases expire
// and lets a subscriber renew (MOSIP's hub does neither).
//
// The credential verification documents are served at
// /.well-known/public-key.json, /.well-known/controller.json and
// /.well-known/mosip-context.json; /.well-known/jwks.json holds the public
// keys of the credential service (ES256), the VC issuer (PS256) and the
// packet writer (EdDSA, sub-packet signatures).
//
// # The /sim API (JSON, no authentication)
//
//	GET  /sim/faults              the fault injection (Faults)
//	PUT  /sim/faults              replace it; fields left out are off:
//	     {"latency":"250ms",                 added to each request
//	      "errorRate":0.1,                   fraction of requests that fail ...
//	      "errorMode":"http500",             ... as http500 | errors200 | timeout
//	      "timeout":"2m",                    how long a timeout fault hangs at most
//	      "outage":false,                    answer 503 to everything
//	      "endpoints":["createPacket"],      where latency, errors and outage apply: auth,
//	                                         createPacket, workflow, status, hub; empty: all
//	      "rejectRate":0, "failRate":0,      registrations REJECTED at demo dedupe /
//	                                         FAILED at a random stage
//	      "duplicateDeliveryRate":0,         deliveries sent twice
//	      "lostDeliveryRate":0,              deliveries never sent
//	      "disableDemoDedupe":false, "disableDeathCredential":false}
//	GET  /sim/packets/{id}        a stored packet and its PacketInfos
//	GET  /sim/registrations/{id}  process, status, UIN/VID, tags, and every stage
//	                              with its status, code, reason and times
//	GET  /sim/identities/{uin}    an identity by UIN or VID
//	POST /sim/identities          add one: {"UIN"?, "VID"?, "fields":{...}, "deceased"?}
//	                              (e.g. people whose deaths will be registered)
//	GET  /sim/subscriptions       active subscriptions (secrets not shown)
//	POST /sim/hub/forget          forget every subscription, as after a hub restart
//	GET  /sim/stats               counters: packets, workflows, processed, rejected,
//	                              failed, queued stages, identities, subscriptions,
//	                              deliveries sent/failed (attempts)/pending/undelivered/
//	                              lost/duplicated/gone/backlog, hub intent results
//
// Errors of the /sim API are RFC 9457 problem JSON. The same operations
// are methods of Sim (Faults, SetFaults, Packet, Registration, Identity,
// AddIdentity, Subscriptions, ForgetSubscriptions, Stats) for in-process
// use. Rates draw from a math/rand/v2 source seeded by Config.Seed.
//
// # Differences from MOSIP
//
// Tokens carry no roles: any valid token may call any endpoint and
// subscribe to any topic (MOSIP checks roles, and for a topic P/NAME that
// the subscriber is partner P). The status search answers the internal
// codes (RESUMABLE, PROCESSING, PROCESSED, REJECTED, FAILED), not MOSIP's
// external ones. The centre and machine of refId are not checked against
// master data. Packets are kept as JSON, not as encrypted zips; their
// signatures are Ed25519 over a JSON rendering of each sub-packet
// (Sim.SubPacketContent). Deliveries to one subscriber run in parallel,
// so their order is not guaranteed. Schema validators are Java regexes run
// with Go's RE2: a leading lookahead such as ^(?=.{3,50}$).* is
// translated; a validator RE2 cannot run is skipped and named in the
// stage's reason.
//
// # Error codes
//
//	KER-ATH-401  Authentication Failed: missing, invalid or expired token (HTTP 401),
//	             or wrong clientId/secretKey at the auth manager (HTTP 200, no cookie)
//	KER-ATH-400  malformed auth request (the simulator's code)
//	KER-ATH-002  Fail to connect to auth service (injected errors200)
//	KER-PUT-020  Packet Validation exception occured: <reason> (every createPacket
//	             request check; the reason says which)
//	KER-PUT-025  Source not present in request.
//	KER-PUT-006  No available provider for given source and process
//	KER-PUT-015  Packet keeper exception occured. (injected errors200)
//	RPR-WIN-000  Missing Request Value - <field>   (workflowinstance)
//	RPR-WIN-001  Invalid Request Value - <field>
//	RPR-WIS-001  WorkflowInstance already present  (same registrationId and process)
//	RPR-WIS-000  Unknown Exception                 (injected errors200)
//	RPR-RGS-013/014  Missing/Invalid Request Value (status search request list)
//	RPR-RGS-017  JSON Parsing Failed
//	RPR-RGS-019/022  Missing/Invalid version; 020/023 requesttime; 021/024 id
//	RPR-RGS-018  Unknown Exception Found           (injected errors200)
//	Stage codes in /sim/registrations: RPR-FAC-003 (packet not found),
//	RPR-PVM-010 (mandatory field missing), RPR-PVM-013 (ID schema validation failed).
package mosipsim
