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
//	GET  /v1/authmanager/authorize/admin/validateToken  (token check: userId, role)
//	PUT  /commons/v1/packetmanager/createPacket         (packet manager)
//	POST /registrationprocessor/v1/workflowmanager/workflowinstance
//	POST /registrationprocessor/v1/registrationstatus/search
//	POST /websub/hub  (also /hub)                       (WebSub hub)
//	GET  /idrepository/v1/identity/idvid/{id}?type=demo&idType=RID|UIN|VID
//	                                                    (ID repository: identity read)
//	GET  /idrepository/v1/vid/uin/{UIN}                 (ID repository: VIDs of a UIN)
//	GET  /idrepository/v1/vid/{VID}                     (ID repository: UIN of a VID)
//	GET  /v1/keymanager/tokenid/{UIN}/{partnerCode}     (token ID generator: PSUT)
//	PATCH /idrepository/v1/identity/                    (ID repository: identity update)
//	GET  /v1/ridgenerator/generate/rid/{centerId}/{machineId}  (RID generator)
//	POST /v1/keymanager/encrypt                         (key manager, packet crypto)
//	POST /registrationprocessor/v1/registrationstatus/sync
//	POST /registrationprocessor/v1/packetreceiver/registrationpackets
//
// All but the first need the cookie Authorization=<token>; without a valid,
// unexpired token they answer HTTP 401 with KER-ATH-401 (the hub answers
// 500 hub.mode=denied, as MOSIP's hub does). Like MOSIP, the JSON
// endpoints answer their own errors with HTTP 200 and an errors list.
//
// The identity read finds an identity by UIN, by VID, or by the id of any
// registration that created it (UinGeneratorStage of CRVS_NEW) or changed
// it (death, update), as MOSIP's uin and uin_h tables do; without idType
// the id is tried as UIN, VID, then registration id. It answers
// {status, identity: {UIN, <fields>}, documents: []}: packet fields that
// hold JSON lists or objects (simpleType) come back as JSON, the others as
// strings. type may be demo, bio or all (there are no biometrics). The
// VID list holds the identity's one perpetual VID as MOSIP's VidInfoDTO
// (vid, vidType PERPETUAL, expiryTimestamp null, genratedOnTimestamp,
// transactionLimit null, hashAttributes). Unknown ids and UINs answer
// IDR-IDC-007; bad type or idType IDR-IDC-002.
//
// The VID read answers {"id":"mosip.vid.read","response":{"vidStatus":null,
// "restoredVid":null,"UIN":"<UIN>","VID":null}}; an unknown VID
// IDR-IDC-007, a VID whose UIN is not ACTIVATED IDR-VID-004 "<status> UIN".
// The token ID generator answers {"id":"mosip.kernel.tokenid.generate",
// "response":{"tokenID":"<36 digits>"}}, computed as MOSIP's keymanager
// does (TokenID; the salts are fixed, so tokens survive a restart): the
// same for the same (id, partner), different across partners. Unlike
// MOSIP, which hashes any text, it takes only a UIN it holds or a token
// (the second of the Java mediator's two hops: UIN -> mpartner-default-auth
// -> target partner) and answers IDR-IDC-007 otherwise; blank input
// KER-TIG-010.
//
// The identity update (IdRepoController.updateIdentity) takes
//
//	{"id":"mosip.id.update","version":"v1","requesttime":"2025-01-01T10:00:00.000Z",
//	 "request":{"registrationId":"<new id of this change>",
//	            "status":"ACTIVATED|BLOCKED|DEACTIVATED",      (optional)
//	            "identity":{"UIN":"<UIN>","IDSchemaVersion":0.5, <fields to set>},
//	            "documents":[],"verifiedAttributes":[]}}
//
// and answers {"id":"mosip.id.update","version":"v1","responsetime":..,
// "response":{"status":"<UIN status after the update>"}} (MOSIP returns the
// identity only on reads). Field values are stored as the identity read
// returns them: strings as sent, lists and objects (simpleType) as JSON;
// null values are skipped. It checks, in MOSIP's order: a JSON body
// (IDR-IDC-003 Invalid Request), request and identity.UIN present
// (IDR-IDC-001 Missing Input Parameter - request | identity/UIN), id
// (IDR-IDC-002 Invalid Input Parameter - id), then lists together what the
// request validator finds: requesttime, version, status not one of the
// three (IDR-IDC-002 ... - status), identity.IDSchemaVersion missing
// (IDR-IDC-001 ... - identity/IDSchemaVersion: MOSIP needs it to pick the
// schema), registrationId missing (IDR-IDC-001). An unknown UIN answers
// IDR-IDC-007; a registrationId that already created or changed any
// identity IDR-IDC-012 Record already exists in DB (MOSIP's uin and uin_h
// tables), so a retried update is told it was done. The status is set as
// asked: ACTIVATED ends a deactivation made by a death but leaves the
// deceased flag. Death flag and date fields in identity act as in a
// CRVS_UPDATE packet (below): {"deathDeclared":"no"} clears the flag. The
// registrationId is linked to the identity (idType=RID finds it).
//
// The upload path (the 2022 Java mediator's: RID, packet built by the
// caller, sync, upload; see internal/mosip/packetzip.go for the packet):
// the RID generator issues unique 29-digit RIDs, centre (5) + machine (5)
// + sequence (5) + yyyyMMddHHmmss (KER-RIG-002/003 for missing or wrong
// ids). The key manager encrypts {applicationId, referenceId, timeStamp,
// data, salt (12 bytes), aad, prependThumbprint} with an AES-256-GCM key
// of the simulator's per (applicationId, referenceId), made on first use;
// application ids without a key policy answer KER-KMS-002, REGISTRATION
// with a reference id that is not <centreId>_<machineId> KER-KMS-010,
// missing values KER-CRY-004. The sync needs the Center-Machine-RefId and
// timestamp headers and a body that is a JSON string of the URL-safe
// base64 of nonce | aad | key manager ciphertext (REGISTRATION, that
// reference id), decrypts it (RPR-RGS-028 if it cannot), checks the
// wrapper (id mosip.registration.sync, version 1.0, requesttime) and each
// registration (29-digit RID with a valid time, a known registrationType,
// three-letter langCode, supervisorStatus APPROVED or REJECTED,
// packetHashValue, positive packetSize), records hash and size per RID (a
// new sync of a RID replaces the old one, as MOSIP's does) and answers
// {response: [{registrationId, status: SUCCESS | FAILURE, errorCode,
// message}]}. The packet receiver takes the multipart part "file" named
// <rid>.zip and refuses, in MOSIP's order: a RID never synced
// (RPR-PKR-001), a packet received before (RPR-PKR-005), a size or a
// SHA-256 (UPPERCASE hex, compared exactly) other than the sync's
// (RPR-PKR-013, RPR-PKR-009), a packet it cannot open (RPR-PKR-003, 004;
// RPR-PKR-015 if the sub-packet does not decrypt). An accepted packet is
// stored and its workflow started as createPacket + workflowinstance would
// (process = the synced registrationType, source from <rid>_id.json), its
// registration marked uploaded with the opencrvsBRN of its metaData
// (/sim/registrations/{id}), and it answers {response: {registrationId,
// status: PACKET_RECEIVED}}. Uploaded packets are validated against an
// open ID schema (the simulator has no master data to look theirs up in).
// Syncs and received packets survive a restart of the caller: they live as
// long as the simulator. /sim/stats "uploads" counts them.
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
//	CRVS_NEW (NEW alike, without the infant rule):
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
//	  UIN, VID, vid, nationalIdNumber (FAILED "UIN not found" if none, or if
//	  no identity has it) is flagged deceased with the date of the first
//	  non-empty Config.DeathDateFields field (dateOfDeath,
//	  deceasedDeclarationDate), and the packet's other fields are applied
//	  (MOSIP handles CRVS_DEATH as an update). The UIN stays ACTIVATED
//	  (MOSIP's policy) unless Config.DeactivateOnDeath, which also sets it
//	  DEACTIVATED. Already deceased: no change. Then finalization and a
//	  death credential (unless switched off).
//	CRVS_UPDATE (UPDATE alike): securezone, validator, demo dedupe,
//	  UinGeneratorStage applies the packet's fields to the identity named as
//	  for a death (FAILED "UIN not found" likewise), finalization, credential.
//	  The first Config.DeathFlagFields field present (deathDeclared,
//	  declaredAsDeceased) reverses a death when it says no, false, N or 0:
//	  the deceased flag, the date of death and the date fields go, and a UIN
//	  a death deactivated is ACTIVATED again. Saying yes, true, Y or 1, it
//	  declares a death as CRVS_DEATH does. A packet that changes nothing is
//	  PROCESSED ("no field changed") and publishes no event.
//
//	OPENCRVS_NEW (MOSIP's 1.2 OpenCRVS integration plan; opencrvs.go):
//	  PacketReceiverStage          finds the packet as the securezone stage above does
//	                               (createPacket + workflowinstance, or an upload)
//	  SecurezoneNotificationStage, PacketUploaderStage
//	  PacketValidatorStage         as above (rejectRate rejects here: no dedupe, no CMD)
//	  PacketClassifierStage
//	  IntroducerValidatorStage     infants and minors whose packet names an
//	                               introducerUIN (an ACTIVATED UIN) or introducerRID (a
//	                               registration that made an identity), else REJECTED;
//	                               skipped otherwise
//	  UinGeneratorStage, FinalizationStage, PrintingStage (nothing to do)
//	  OpencrvsStage                the registration's UIN from the ID repository (none:
//	                               FAILED RPR-OPC-002), its perpetual VID (none:
//	                               REPROCESS RPR-OPC-027), the BRN from metaInfo metaData
//	                               label opencrvsBRN (any case; none: a warning), then an
//	                               "opencrvs" credential for Config.OpenCRVSPartnerID
//	                               -> PROCESSED, code RPR-OPC-SUCCESS-001, the reason
//	                               naming the credential request id
//	  Its credential is MOSIP's formatted credential {credentialSubject: {id: <VID>,
//	  UIN}, issuedTo: <partner>}, encrypted to Config.PartnerCert, published on
//	  "<OpenCRVSPartnerID>/CREDENTIAL_ISSUED" only, with event.data {credential,
//	  opencrvsBRN, proof, credentialType: "opencrvs", protectionKey} and
//	  event.transactionId the credential request id. REPROCESS is final here
//	  (MOSIP's reprocessor would retry) and not counted in /sim/stats.
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
//	       proof RsaSignature2018 made as MOSIP's credential service makes
//	       it (internal/vc): jws = detached PS256 JWS (b64:false) over
//	       SHA-256(URDNA2015 of the proof options) || SHA-256(URDNA2015 of
//	       the credential without its proof); the context at
//	       /.well-known/mosip-context.json is VCContext.
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
// Partners report what they did with a credential by publishing to
// CREDENTIAL_STATUS_UPDATE: POST /websub/hub?hub.mode=publish&hub.topic=
// CREDENTIAL_STATUS_UPDATE, Content-Type application/json, the token
// cookie, body {publishedOn, publisher, topic, event: {id, requestId,
// status, timestamp, url}} (id, requestId and status required). The hub
// answers 200 hub.mode=accepted, records the event under its requestId
// (GET /sim/credential-status/{requestId}) and delivers it to the topic's
// live subscribers (no backlog). Other topics, and publishes with a form
// body, are denied with 400 (the credential topics are the credential
// service's); a missing or bad token with 500, as for subscriptions.
//
// # Identity history and update events
//
// Every identity keeps its history (GET /sim/identities/{id}, "changes"):
// its creation (process CRVS_NEW, NEW, OPENCRVS_NEW or SIM_SEED, with all
// its field names), then one entry per change:
//
//	{"registrationId":"<RID>","process":"CRVS_UPDATE","at":"<time>",
//	 "fields":["fullName"],            names of the fields set or cleared
//	 "status":"DEACTIVATED",           the new UIN status, if it changed
//	 "deceased":true,                  the new deceased flag, if it changed
//	 "eventId":"<uuid>"}               the event published for it
//
// Processes: CRVS_DEATH, CRVS_UPDATE, UPDATE, ID_REPO_UPDATE (the PATCH) and
// RESIDENT_UPDATE (POST /sim/identities/{id}/update). Each change publishes
// an event (mosip.IdentityEvent) to Config.IdentityUpdateTopic (default
// IDENTITY_UPDATED), delivered like credentials: HMAC-signed, retried,
// kept in the backlog without a subscriber, and subject to the lost and
// duplicate delivery faults:
//
//	{"publisher":"ID_REPO","topic":"IDENTITY_UPDATED","publishedOn":"<time>",
//	 "event":{"id":"<uuid, one per change>",
//	          "transactionId":"<RID of the change, or a uuid without one>",
//	          "type":{"namespace":"mosip","name":"IDENTITY_UPDATED"},
//	          "timestamp":"<time>",
//	          "data":{"UIN":"..","VID":"..","registrationId":"<RID, if any>",
//	                  "process":"CRVS_UPDATE","status":"ACTIVATED","deceased":false,
//	                  "changedAttributes":["fullName","status","deceased"]}}}
//
// changedAttributes lists the changed fields, then "status" and "deceased"
// if they changed. The event carries no demographics: read them with GET
// /idrepository/v1/identity/idvid/{UIN}.
//
// What MOSIP does, and what is the simulator's: MOSIP's ID repository has
// no general identity-update topic. On an update it requests new
// credentials for its online verification partners (CREDENTIAL_ISSUED to
// each), and when the UIN leaves ACTIVATED it publishes
// <partner>/DEACTIVATE_ID (REMOVE_ID for BLOCKED) to them, in the envelope
// above with publisher ID_REPO, transactionId the registration id, type
// {mosip, ida} and data {id_hash, expiry_timestamp, transaction_limit}
// (id-repository CredentialServiceManager and IdRepoProxyServiceImpl).
// MOSIP's 1.2 design for data pushed to a CRVS has a registration
// processor stage ("CRVS connector") send the data to a MOSIP-side
// mediator. The envelope, publisher and transactionId follow MOSIP; the
// topic, the type name and data are the simulator's.
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
//	                                         createPacket, workflow, status, hub, idrepo,
//	                                         ida, tokenid;
//	                                         empty: all
//	      "rejectRate":0, "failRate":0,      registrations REJECTED at demo dedupe /
//	                                         FAILED at a random stage
//	      "duplicateDeliveryRate":0,         deliveries sent twice
//	      "lostDeliveryRate":0,              deliveries never sent
//	      "disableDemoDedupe":false, "disableDeathCredential":false,
//	      "disablePerpetualVID":false}       UINs without a perpetual VID
//	GET  /sim/packets/{id}        a stored packet and its PacketInfos
//	GET  /sim/registrations/{id}  process, status, UIN/VID, tags, and every stage
//	                              with its status, code, reason and times
//	GET  /sim/identities/{uin}    an identity by UIN or VID, with its history
//	POST /sim/identities          add one: {"UIN"?, "VID"?, "fields":{...}, "deceased"?}
//	                              (e.g. people whose deaths will be registered)
//	POST /sim/identities/{id}/update
//	                              a resident updates their data in MOSIP:
//	                              {"fields":{"name":"value"}, "registrationId"?}
//	                              -> 200 {"changed":[..], "eventId"?, "identity":{..}};
//	                              404 unknown UIN/VID, 409 registrationId used,
//	                              400 no fields or UIN/VID/vid among them
//	GET  /sim/subscriptions       active subscriptions (secrets not shown)
//	GET  /sim/credential-status/{requestId}
//	                              the CREDENTIAL_STATUS_UPDATE events published for a
//	                              credential request: {"requestId", "events":[{eventId,
//	                              requestId, status, timestamp, url, publisher,
//	                              publishedOn, client, receivedAt}]}; 404 if none
//	POST /sim/hub/forget          forget every subscription, as after a hub restart
//	GET  /sim/stats               counters: packets, workflows, processed, rejected,
//	                              failed, queued stages, identities, subscriptions,
//	                              deliveries sent/failed (attempts)/pending/undelivered/
//	                              lost/duplicated/gone/backlog, hub intent results,
//	                              updates (packets, idrepo, resident, deaths,
//	                              deathReversals, unchanged), identityEvents
//
// Errors of the /sim API are RFC 9457 problem JSON. The same operations
// are methods of Sim (Faults, SetFaults, Packet, Registration, Identity,
// AddIdentity, UpdateIdentity, Subscriptions, ForgetSubscriptions, Stats,
// CredentialStatus) for in-process use. Rates draw from a math/rand/v2
// source seeded by Config.Seed.
//
// # Differences from MOSIP
//
// Tokens carry no roles: any valid token may call any endpoint and
// subscribe to any topic (MOSIP checks roles, for example
// REGISTRATION_PROCESSOR for the VID list, and for a topic P/NAME that
// the subscriber is partner P). The ID repository does not check the
// format of UINs and VIDs (MOSIP answers IDR-IDC-002 for a malformed one),
// and its VID list never answers an empty list (older MOSIP versions did
// instead of IDR-IDC-007). The status search answers the internal
// codes (RESUMABLE, PROCESSING, PROCESSED, REJECTED, FAILED), not MOSIP's
// external ones. The centre and machine of refId are not checked against
// master data. The identity update does not validate the identity against
// the ID schema, and finds the identity by UIN only (a VID there answers
// IDR-IDC-007, where MOSIP answers IDR-IDC-002 for a malformed UIN).
// Packets are kept as JSON, not as encrypted zips; their
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
//	IDR-IDC-001  Missing Input Parameter - request|identity/UIN|requesttime|version|
//	             identity/IDSchemaVersion|registrationId   (identity update)
//	IDR-IDC-002  Invalid Input Parameter - type|idType   (identity read);
//	             id|requesttime|version|status        (identity update)
//	IDR-IDC-003  Invalid Request                   (identity update: not JSON, wrong types)
//	IDR-IDC-007  No Record(s) found                (identity read and update, VIDs by UIN)
//	IDR-IDC-012  Record already exists in DB       (identity update: registrationId used)
//	IDR-IDC-004  Unknown error occurred            (injected errors200 at idrepo)
//	IDR-VID-004  <status> UIN                      (VID read: the UIN is not ACTIVATED)
//	KER-TIG-010  UIN and partner code cannot be empty   (token ID generator)
//	KER-UIG-005  Internal Server Error             (injected errors200 at tokenid)
//	Stage codes in /sim/registrations: RPR-FAC-003 (packet not found),
//	RPR-PVM-010 (mandatory field missing), RPR-PVM-013 (ID schema validation failed),
//	RPR-OPC-SUCCESS-001 / RPR-OPC-002 / RPR-OPC-027 / RPR-OPC-025 (OpenCRVS stage:
//	submitted / UIN not found / VID not available / credential request failed).
package mosipsim
