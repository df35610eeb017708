package app

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/vc"
)

// option is one configuration variable. Every option the mediator reads is
// in the options table, with its default and whether it is a secret; a
// secret NAME can also be given as a file path in NAME_FILE.
type option struct {
	name     string
	def      string
	required bool
	// requiredIn, when set, limits required to these roles
	// (MEDIATOR_ROLE values).
	requiredIn []string
	secret     bool
	help       string
}

// requiredFor reports whether o must be set when the mediator plays role.
func (o option) requiredFor(role string) bool {
	return o.required && (o.requiredIn == nil || slices.Contains(o.requiredIn, role))
}

// The roles `serve` plays (MEDIATOR_ROLE).
const (
	RoleDirect       = "direct"
	RoleOpenCRVSSide = "opencrvs-side"
	RoleMOSIPSide    = "mosip-side"
)

// Where options are required: the direct mediator and the MOSIP-side one
// call MOSIP's packet services and receive its credentials; the direct one
// and the OpenCRVS-side one talk to OpenCRVS.
var (
	notOpenCRVSSide = []string{RoleDirect, RoleMOSIPSide}
	notMOSIPSide    = []string{RoleDirect, RoleOpenCRVSSide}
	splitRoles      = []string{RoleOpenCRVSSide, RoleMOSIPSide}
)

// options are the environment variables of `serve`. Names and meanings
// follow OpenCRVS's Node mosip-api where it has them, so a country can swap
// it for this service without rewriting its deployment.
var options = []option{
	{name: "HOST", def: "0.0.0.0", help: "address to listen on"},
	{name: "PORT", def: "2024", help: "port to listen on"},
	{name: "DATABASE_URL", secret: true, help: "PostgreSQL database, postgres://user:password@host:5432/database?sslmode=verify-full (pool_max_conns=N sizes the pool, default 20), shared by any number of mediators; empty: SQLite at SQLITE_DATABASE_PATH"},
	{name: "SQLITE_DATABASE_PATH", def: "data/opencrvs-mosip.sqlite", help: "SQLite database file (created if missing)"},
	{name: "STORE_ENCRYPTION_KEY", required: true, secret: true, help: "encrypts the OpenCRVS tokens kept in the database (AES-256-GCM): <key id>:<base64 of 32 bytes>[,<older key>...], the current key first (`opencrvs-mosip keys generate`; after a change, `opencrvs-mosip keys rotate`)"},
	{name: "SQLITE_SYNCHRONOUS", def: "FULL", help: "FULL: what the mediator acknowledges (a record accepted, a delivery received) is on disk before it answers; NORMAL: faster, safe against a crash of the process but not a power cut (with DATABASE_URL too: PostgreSQL's synchronous_commit of those commits)"},
	{name: "AUTO_MIGRATE", def: "true", help: "apply database migrations at start; false: refuse to start on an out-of-date schema"},
	{name: "COUNTRY_CONFIG", help: "country rules and mapping (YAML); empty: the embedded Farajaland default"},

	{name: "MEDIATOR_ROLE", def: "direct", help: "direct: OpenCRVS (or its country config) sends records here and this mediator calls MOSIP; opencrvs-side: the split design's mediator next to OpenCRVS (OpenCRVS webhooks in, sealed records out to the MOSIP-side mediator at PEER_URL, MOSIP's answer written back to OpenCRVS); mosip-side: the split design's mediator inside MOSIP's network (sealed records in from the OpenCRVS side, registration packets synced and uploaded, credentials proxied back to PEER_URL)"},

	{name: "OPENCRVS_PUBLIC_KEY_URL", required: true, requiredIn: notMOSIPSide, help: "OpenCRVS auth service public key (PEM), e.g. http://auth:4040/.well-known"},
	{name: "OPENCRVS_GRAPHQL_GATEWAY_URL", required: true, requiredIn: notMOSIPSide, help: "OpenCRVS 1.8 GraphQL gateway, e.g. http://gateway:7070/graphql"},
	{name: "OPENCRVS_GATEWAY_URL", help: "OpenCRVS 1.9 gateway; 1.9 records are accepted or rejected by tRPC at its /events, e.g. http://gateway:7070 (empty: OPENCRVS_GRAPHQL_GATEWAY_URL without /graphql)"},
	{name: "OPENCRVS_TOKEN_ISSUER", def: "opencrvs:auth-service", help: "required issuer of OpenCRVS tokens (none: not checked)"},
	{name: "OPENCRVS_CLIENT_ID", help: "OpenCRVS system client (client credentials) the mediator adds the national IDs of backfilled records with (upsertRegistrationIdentifier); empty: `opencrvs-mosip backfill` is refused"},
	{name: "OPENCRVS_CLIENT_SECRET", secret: true, help: "its secret (required with OPENCRVS_CLIENT_ID)"},
	{name: "OPENCRVS_AUTH_TOKEN_URL", help: "OpenCRVS auth's token endpoint for the system client, e.g. http://auth:4040/token (empty: OPENCRVS_PUBLIC_KEY_URL with /token for /.well-known)"},
	{name: "OPENCRVS_TOKEN_AUDIENCE", def: "opencrvs:*", help: "comma-separated audiences, one of which OpenCRVS tokens must carry; a trailing * allows every audience it begins (opencrvs:*: a token OpenCRVS auth made for any of its services, e.g. opencrvs:countryconfig-user; none: not checked)"},

	{name: "MOSIP_AUTH_URL", required: true, help: "MOSIP auth manager .../v1/authmanager/authenticate/clientidsecretkey"},
	{name: "MOSIP_AUTH_CLIENT_APP_ID", def: "regproc", help: "appId sent to the auth manager"},
	{name: "MOSIP_PACKET_AUTH_CLIENT_ID", required: true, requiredIn: notOpenCRVSSide, help: "client id for the packet manager and registration processor"},
	{name: "MOSIP_PACKET_AUTH_CLIENT_SECRET", required: true, requiredIn: notOpenCRVSSide, secret: true, help: "its secret"},
	{name: "MOSIP_WEBSUB_AUTH_CLIENT_ID", required: true, requiredIn: notOpenCRVSSide, help: "client id for the WebSub hub"},
	{name: "MOSIP_WEBSUB_AUTH_CLIENT_SECRET", required: true, requiredIn: notOpenCRVSSide, secret: true, help: "its secret"},
	{name: "MOSIP_CREATE_PACKET_URL", required: true, requiredIn: notOpenCRVSSide, help: "packet manager .../commons/v1/packetmanager/createPacket"},
	{name: "MOSIP_PROCESS_PACKET_URL", required: true, requiredIn: notOpenCRVSSide, help: "registration processor .../registrationprocessor/v1/workflowmanager/workflowinstance"},
	{name: "MOSIP_REGISTRATION_STATUS_URL", help: "registration processor .../registrationprocessor/v1/registrationstatus/search (empty: derived from MOSIP_PROCESS_PACKET_URL)"},
	{name: "MOSIP_IDENTITY_URL", help: "ID repository .../idrepository/v1/identity, read to find the UIN of a processed birth whose credential never arrived (empty: derived from MOSIP_CREATE_PACKET_URL)"},
	{name: "MOSIP_VID_URL", help: "ID repository .../idrepository/v1/vid, read for the VID of such a birth (empty: derived from MOSIP_IDENTITY_URL)"},
	{name: "MOSIP_CENTER_ID", def: "10001", help: "registration centre id (packet refId, RID)"},
	{name: "MOSIP_MACHINE_ID", def: "10004", help: "registration machine id (packet refId, RID)"},
	{name: "MOSIP_PACKET_SOURCE", def: "OPENCRVS", help: "createPacket source (MOSIP's dev2 config names CRVS1)"},
	{name: "MOSIP_PACKET_SCHEMA_VERSION", def: "0.100", help: "createPacket schemaVersion"},
	{name: "AID_FORMAT", def: "rid", help: "application ids: rid (MOSIP's 29-digit form) or prefixed (TRANSACTION_ID_PREFIX + 10 digits)"},
	{name: "TRANSACTION_ID_PREFIX", def: "10001", help: "5-digit prefix of prefixed application ids"},

	{name: "MOSIP_WEBSUB_HUB_URL", required: true, requiredIn: notOpenCRVSSide, help: "MOSIP WebSub hub"},
	{name: "MOSIP_WEBSUB_TOPIC", def: "CREDENTIAL_ISSUED", help: "credential topic, e.g. opencrvs-partner/CREDENTIAL_ISSUED"},
	{name: "MOSIP_WEBSUB_CALLBACK_URL", required: true, requiredIn: notOpenCRVSSide, help: "this service's /websub/callback as MOSIP reaches it"},
	{name: "MOSIP_WEBSUB_SECRET", required: true, requiredIn: notOpenCRVSSide, secret: true, help: "hub.secret: deliveries must be signed with it"},
	{name: "MOSIP_WEBSUB_LEASE_SECONDS", def: "0", help: "lease asked for (0: the hub's default)"},
	{name: "MOSIP_WEBSUB_DEDUP_WINDOW", def: "720h", help: "how long WebSub deliveries are remembered by event id, so that a redelivery changes nothing; older ones are forgotten hourly"},
	{name: "MOSIP_WEBSUB_RENEW_INTERVAL", def: "12h", help: "the subscription is renewed before its lease ends, and at least this often"},
	{name: "MOSIP_WEBSUB_CHECK_INTERVAL", def: "1m", help: "how often the subscription job looks whether the subscription is due (made once for all the mediators sharing the database, whichever runs the job)"},
	{name: "DEATH_REVERSAL_MODE", def: "packet", help: "how a death registered by mistake is undone in MOSIP: packet (DEATH_REVERSAL_PROCESS packet clearing the death flag, through the registration processor) or idrepo (ID repository update: UIN ACTIVATED, death flag cleared)"},
	{name: "DEATH_REVERSAL_PROCESS", def: "CRVS_UPDATE", help: "process of the death reversal packet"},
	{name: "DEATH_REVERSAL_SCOPE", def: "record.registration-correct", help: "OpenCRVS token scope POST /events/death-reversal requires"},
	{name: "DEATH_FLAG_FIELD", def: "deathDeclared", help: "MOSIP identity field marking a person deceased (yes) or not (no)"},
	{name: "MOSIP_IDENTITY_UPDATE_TOPIC", help: "WebSub topic of identity changes made in MOSIP (e.g. IDENTITY_UPDATED); empty: not subscribed"},
	{name: "MOSIP_IDENTITY_UPDATE_CALLBACK_URL", help: "this service's /websub/identity as MOSIP reaches it (empty: derived from MOSIP_WEBSUB_CALLBACK_URL)"},
	{name: "OPENCRVS_IDENTITY_UPDATE_URL", help: "country configuration endpoint that receives identity changes for civil records (required with MOSIP_IDENTITY_UPDATE_TOPIC)"},
	{name: "OPENCRVS_IDENTITY_UPDATE_SECRET", secret: true, help: "HMAC key signing those posts (X-Hub-Signature); required with MOSIP_IDENTITY_UPDATE_TOPIC"},
	{name: "DECRYPT_P12_FILE_PATH", required: true, requiredIn: notOpenCRVSSide, help: "PKCS#12 keystore with the partner key credentials are encrypted to"},
	{name: "DECRYPT_P12_FILE_PASSWORD", required: true, requiredIn: notOpenCRVSSide, secret: true, help: "its password"},
	{name: "MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST", help: "comma-separated verification method URLs (MOSIP's key documents, e.g. https://<mosip>/.well-known/public-key.json) a credential's RsaSignature2018 proof must name, compared exactly (empty: proofs are not checked)"},
	{name: "MOSIP_VC_VERIFY", help: "enforce: a credential whose proof does not verify changes nothing (recorded, answered with an ERROR acknowledgement; 503 while the key cannot be fetched, so that the hub delivers again); log-only: a warning, then applied (for a migration); off. Default: enforce with MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST, else off"},
	{name: "MOSIP_VC_CONTEXTS", help: "JSON-LD contexts credentials may use besides the bundled W3C ones, as comma-separated URL=FILE pairs, e.g. https://<mosip>/.well-known/mosip-context.json=/etc/mediator/mosip-context.json (FILE builtin:mosip-context.json: MOSIP's stock file for that host); contexts are never fetched"},
	{name: "IDA_AUTH_URL", help: "MOSIP IDA auth endpoint .../idauthentication/v1/auth, for POST /verify and /events/review (empty: identity verification is off and they answer 404)"},
	{name: "IDA_AUTH_DOMAIN_URI", help: "domainUri of IDA requests (empty: the scheme and host of IDA_AUTH_URL)"},
	{name: "PARTNER_MISP_LK", secret: true, help: "MISP license key of the IDA auth partner (required with IDA_AUTH_URL)"},
	{name: "PARTNER_ID", help: "IDA auth partner id (required with IDA_AUTH_URL)"},
	{name: "PARTNER_APIKEY", secret: true, help: "IDA auth partner API key (required with IDA_AUTH_URL)"},
	{name: "ENCRYPT_CERT_PATH", help: "IDA partner certificate (PEM) IDA requests are encrypted to (required with IDA_AUTH_URL)"},
	{name: "SIGN_P12_FILE_PATH", help: "PKCS#12 keystore whose key signs IDA requests (empty: DECRYPT_P12_FILE_PATH)"},
	{name: "SIGN_P12_FILE_PASSWORD", secret: true, help: "its password (empty with SIGN_P12_FILE_PATH empty: DECRYPT_P12_FILE_PASSWORD)"},
	{name: "TRUSTED_QR_ISSUERS", help: "comma-separated ID card issuer keys POST /verify-qr trusts: JWKS URLs (http/https) and JWKS or PEM (certificate, public key) files; list several for key rotation (empty: /verify-qr is off)"},
	{name: "QR_ISSUER_KEYS_REFRESH", def: "1h", help: "how long a fetched issuer JWKS is used before it is fetched again (a code naming an unknown key id fetches it again after 30s)"},
	{name: "QR_VERIFY_SCOPE", help: "OpenCRVS token scope POST /verify-qr requires (empty: any valid OpenCRVS token)"},

	{name: "ESIGNET_TOKEN_URL", help: "E-Signet token endpoint .../v1/esignet/oauth/v2/token (or .../oauth/token), for POST /esignet/get-oidp-user-info (empty: E-Signet is off and the route answers 404)"},
	{name: "ESIGNET_USERINFO_URL", help: "E-Signet user info endpoint .../v1/esignet/oidc/userinfo (empty: derived from ESIGNET_TOKEN_URL)"},
	{name: "ESIGNET_JWKS_URL", help: "JWKS the user info signature is verified against, .../v1/esignet/oauth/.well-known/jwks.json (empty: derived from ESIGNET_TOKEN_URL)"},
	{name: "ESIGNET_CLIENT_ASSERTION_AUDIENCE", help: "aud of the client assertion (empty: ESIGNET_TOKEN_URL); set it to E-Signet's own token endpoint URL or issuer when the mediator reaches E-Signet by another address"},
	{name: "OIDP_CLIENT_PRIVATE_KEY_PATH", help: "file with the E-Signet client's private JWK, base64-encoded JSON as for mosip-api (required with ESIGNET_TOKEN_URL)"},
	{name: "OIDP_CLIENT_ID", help: "E-Signet client id; when set, requests may leave clientId out and may not name another (empty: each request names it)"},
	{name: "CLIENT_APP_URL", help: "comma-separated origins of the OpenCRVS client allowed to call /esignet/get-oidp-user-info from the browser (CORS), e.g. https://register.example.org (empty: no CORS headers)"},

	{name: "PEER_URL", required: true, requiredIn: splitRoles, help: "split design: the other mediator. On the OpenCRVS side, the MOSIP side's base URL, where /birth, /death and /generateAid are (e.g. https://mosip-side.example.org/opencrvs/v1); on the MOSIP side, the OpenCRVS side's base URL, where /birthReceiveNid is"},
	{name: "ENVELOPE_PRIVATE_KEY_FILE", required: true, requiredIn: splitRoles, help: "split design: this mediator's RSA private key (PEM): it signs the envelopes sent to the peer and opens the ones the peer sealed to this mediator's certificate"},
	{name: "ENVELOPE_PEER_CERT_FILE", required: true, requiredIn: splitRoles, help: "split design: the peer mediator's certificate (PEM): envelopes are encrypted to it and the peer's signatures checked with it"},
	{name: "ENVELOPE_PROTOCOL", def: "v2", help: "split design: v2 (this mediator's protocol: the signature covers the envelope's id and requestTime too, and envelopes older than ENVELOPE_WINDOW or seen before are refused; both mediators must run this service) or java-compat (exactly what the existing Java MOSIP-side and Node OpenCRVS-side mediators send and accept: the signature covers only the ciphertext, id and requestTime are not protected and no freshness is checked; a copy of a record envelope is still refused for twice ENVELOPE_WINDOW)"},
	{name: "ENVELOPE_WINDOW", def: "5m", help: "split design, protocol 2: how far an envelope's requestTime may be from this mediator's clock; envelopes are remembered twice as long to refuse replays"},
	{name: "OPENCRVS_WEBHOOKS_URL", required: true, requiredIn: []string{RoleOpenCRVSSide}, help: "OpenCRVS-side: OpenCRVS's webhooks service subscription endpoint, e.g. http://webhooks:2525/webhooks (BIRTH_REGISTERED and DEATH_REGISTERED are subscribed with the OPENCRVS_CLIENT_ID system client)"},
	{name: "OPENCRVS_WEBHOOK_CALLBACK_URL", required: true, requiredIn: []string{RoleOpenCRVSSide}, help: "OpenCRVS-side: this service's /webhooks/opencrvs as OpenCRVS reaches it"},
	{name: "OPENCRVS_CLIENT_SHA_SECRET", required: true, requiredIn: []string{RoleOpenCRVSSide}, secret: true, help: "OpenCRVS-side: the system client's SHA secret: OpenCRVS signs webhook deliveries with it (X-Hub-Signature)"},
	{name: "WEBHOOK_RESUBSCRIBE_INTERVAL", def: "6h", help: "OpenCRVS-side: how often the webhook subscriptions are checked and made again when OpenCRVS lost them"},
	{name: "AID_SOURCE", def: "local", help: "OpenCRVS-side: local (this mediator makes each record's MOSIP application id, in AID_FORMAT, and adds it to the record as MOSIP_AID) or peer (the MOSIP side's GET /generateAid makes it); either way one AID per record, kept across redeliveries"},
	{name: "PEER_CLIENT_ID", required: true, requiredIn: []string{RoleOpenCRVSSide}, help: "OpenCRVS-side: MOSIP client id whose token (from MOSIP_AUTH_URL) the MOSIP side accepts"},
	{name: "PEER_CLIENT_SECRET", required: true, requiredIn: []string{RoleOpenCRVSSide}, secret: true, help: "its secret"},
	{name: "WRITEBACK", def: "graphql", help: "OpenCRVS-side: how MOSIP's answer reaches the registered record: graphql (a birth's UIN token added as its MOSIP_PSUT_TOKEN_ID identifier with upsertRegistrationIdentifier, by the OPENCRVS_CLIENT_ID system client; nothing is written for a death) or country-config (POST {BRN|DRN, MOSIP_AID} and, for a birth, {BRN, MOSIP_PSUT_TOKEN_ID} to WRITEBACK_URL, as the Node mediator does)"},
	{name: "WRITEBACK_URL", help: "OpenCRVS-side: the country config's endpoint for WRITEBACK=country-config, e.g. https://countryconfig.example.org/mosip-openhim-mediator"},
	{name: "PEER_ROLES", def: "OPENCRVS_MEDIATOR", help: "MOSIP-side: comma-separated MOSIP roles, one of which the OpenCRVS side's token must carry (checked at MOSIP_VALIDATE_TOKEN_URL)"},
	{name: "MOSIP_VALIDATE_TOKEN_URL", help: "MOSIP-side: auth manager .../v1/authmanager/authorize/admin/validateToken the OpenCRVS side's tokens are checked at (empty: derived from MOSIP_AUTH_URL)"},
	{name: "UPLOAD_MODE", def: "sync-upload", help: "MOSIP-side: how a birth's packet reaches MOSIP: sync-upload (the packet is built here, synced with the registration processor and uploaded to its packet receiver, as the Java mediator does) or packet-manager (createPacket and the workflow, as the direct mediator does)"},
	{name: "MOSIP_REGPROC_URL", help: "MOSIP-side: base URL of the key manager, registration processor sync and packet receiver, e.g. https://api-internal.example.org (empty: the scheme and host of MOSIP_PROCESS_PACKET_URL)"},
	{name: "BIRTH_PROCESS", def: "OPENCRVS_NEW", help: "MOSIP-side: registration process of birth packets (the route ending in MOSIP's OpenCRVS stage)"},
	{name: "DEATH_MODE", def: "deactivate", help: "MOSIP-side: how a death reaches MOSIP: deactivate (the deceased's UIN, found from their UIN or VID, is DEACTIVATED in the ID repository) or packet (a CRVS_DEATH packet, as the direct mediator sends)"},
	{name: "PSUT_PARTNER", def: "opencrvs-partner", help: "MOSIP-side: partner the UIN token (PSUT) sent back to OpenCRVS is made for; the UIN itself never leaves MOSIP"},
	{name: "PSUT_INTERMEDIARY_PARTNER", def: "mpartner-default-auth", help: "MOSIP-side: partner of the token's first hop"},
	{name: "MOSIP_TOKENID_URL", help: "MOSIP-side: key manager .../v1/keymanager/tokenid (empty: derived from MOSIP_REGPROC_URL)"},
	{name: "KAFKA_BROKERS", help: "MOSIP-side: comma-separated Kafka brokers, host:port: records go from intake to packet work through Kafka topics (empty: through the database's job queue)"},
	{name: "KAFKA_BIRTH_TOPIC", def: "OPENCRVS_BIRTH_RECORDS", help: "MOSIP-side: Kafka topic of birth records"},
	{name: "KAFKA_DEATH_TOPIC", def: "OPENCRVS_DEATH_RECORDS", help: "MOSIP-side: Kafka topic of death records"},
	{name: "KAFKA_GROUP", def: "opencrvs-mosip", help: "MOSIP-side: Kafka consumer group, the same for every MOSIP-side mediator of a deployment"},
	{name: "KAFKA_TLS", def: "false", help: "MOSIP-side: true: connect to the brokers over TLS (OUTBOUND_CA_FILE and the client certificate apply)"},
	{name: "KAFKA_SASL_MECHANISM", help: "MOSIP-side: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"},
	{name: "KAFKA_SASL_USERNAME", help: "MOSIP-side: SASL user"},
	{name: "KAFKA_SASL_PASSWORD", secret: true, help: "its password"},

	{name: "MAX_BODY_BYTES", def: "10485760", help: "largest request body accepted (bytes)"},
	{name: "CALL_TIMEOUT", def: "30s", help: "time limit of each call to MOSIP or OpenCRVS"},
	{name: "RETRY_BASE_DELAY", def: "2s", help: "first retry delay; doubled per attempt"},
	{name: "RETRY_MAX_DELAY", def: "30m", help: "longest retry delay"},
	{name: "RETRY_MAX_ATTEMPTS", def: "30", help: "attempts before a transaction is DEAD"},
	{name: "RETRY_MAX_AGE", def: "48h", help: "a call still failing this long after its first attempt makes the transaction DEAD, whatever the attempt count"},
	{name: "RECONCILE_AFTER", def: "10m", help: "ask MOSIP for the status of a submitted record when no answer came by WebSub this long after submission"},
	{name: "RECONCILE_MAX_INTERVAL", def: "6h", help: "longest wait between two status checks of the same record (the wait doubles per check)"},
	{name: "RECONCILE_INTERVAL", def: "1m", help: "how often reconciliation looks for records due for a status check"},
	{name: "RECONCILE_BATCH", def: "500", help: "most records checked per reconciliation run"},
	{name: "INTAKE_RATE_LIMIT", def: "200", help: "records per second each client may send to /events/registration and /events/death-reversal (and, in the split design, to /opencrvs/v1/* and /birthReceiveNid), with bursts of twice that; above it the answer is 429 with Retry-After (0: no limit)"},
	{name: "VERIFY_RATE_LIMIT", def: "20", help: "requests per second each client may send to /verify, /events/review, /verify-qr and E-Signet user info, with bursts of twice that (0: no limit)"},
	{name: "TRUSTED_PROXIES", help: "comma-separated addresses or CIDRs of reverse proxies in front of the mediator: behind them, a client for the rate limits is the address in X-Forwarded-For"},
	{name: "MAX_QUEUE_DEPTH", def: "10000", help: "records waiting to be submitted to MOSIP above which intake answers 503 with Retry-After (0: no limit); a backfill's historic records do not count (BACKFILL_MAX_WAITING bounds them)"},
	{name: "ADMIN_TOKEN", secret: true, help: "bearer token of the /admin API (empty: the admin API is off)"},
	{name: "SUBMIT_WORKERS", def: "32", help: "concurrent calls to MOSIP"},
	{name: "FEEDBACK_WORKERS", def: "32", help: "concurrent calls to OpenCRVS"},
	{name: "BACKFILL_WORKERS", def: "4", help: "concurrent calls to MOSIP for backfilled (historic) records, on a job queue of their own (submit_backfill) so that live records never wait behind them; their rate is the backfill's --rate"},
	{name: "BACKFILL_MAX_WAITING", def: "2000", help: "historic records waiting to be sent to MOSIP above which POST /admin/backfill holds a batch until there is room (up to 20 s, then 503: the backfill command sends it again), so that a backfill never floods the database (0: no limit)"},
	{name: "BACKFILL_IDENTIFIER_TYPE", def: "NATIONAL_ID", help: "OpenCRVS identifier type a backfilled birth's national ID is added as"},
	{name: "SHUTDOWN_TIMEOUT", def: "30s", help: "time allowed to finish requests and jobs on stop"},
	{name: "REPLICA_CHECK_INTERVAL", def: "5s", help: "with DATABASE_URL: how often each mediator resumes the running jobs, and drops the leadership, of mediators that are gone (their database session ended: killed, crashed, or their host silent for about 30 s)"},
	{name: "SHUTDOWN_DRAIN", def: "0s", help: "on stop, how long readiness fails (and intake answers 503) before the listener closes, so a load balancer stops sending first"},
	{name: "LOG_LEVEL", def: "info", help: "debug, info, warn or error"},
	{name: "LOG_FORMAT", def: "json", help: "json or text"},
	{name: "TLS_CERT_FILE", help: "serve HTTPS with this certificate (PEM, chain first) and TLS_KEY_FILE; empty: plain HTTP behind a TLS-terminating proxy"},
	{name: "TLS_KEY_FILE", help: "the private key (PEM) of TLS_CERT_FILE"},
	{name: "OUTBOUND_CA_FILE", help: "extra CA certificates (PEM) trusted for calls to MOSIP and OpenCRVS, e.g. a ministry's private CA"},
	{name: "OUTBOUND_CLIENT_CERT_FILE", help: "client certificate (PEM) for mutual TLS to MOSIP and OpenCRVS, with OUTBOUND_CLIENT_KEY_FILE"},
	{name: "OUTBOUND_CLIENT_KEY_FILE", help: "its private key (PEM)"},
	{name: "PPROF_ADDR", help: "serve Go's profiler on this address, e.g. 127.0.0.1:6060 (off when empty; never expose it)"},
	{name: "OTEL_EXPORTER_OTLP_ENDPOINT", help: "OpenTelemetry collector (OTLP over HTTP) traces are sent to, at its /v1/traces, e.g. http://otel-collector:4318; the exporter also reads the other standard OTEL_EXPORTER_OTLP_* variables (headers, timeout, certificate) (empty, with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT empty: tracing is off)"},
	{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", help: "full URL traces are posted to, e.g. http://otel-collector:4318/v1/traces (empty: from OTEL_EXPORTER_OTLP_ENDPOINT)"},
	{name: "OTEL_SERVICE_NAME", def: "opencrvs-mosip", help: "service.name of the traces"},
	{name: "READYZ_TIMEOUT", def: "2s", help: "time limit of each /readyz check (database write, schema, MOSIP auth)"},
	{name: "READYZ_MOSIP_AUTH_CACHE", def: "30s", help: "how long /readyz reuses the result of asking MOSIP's auth manager for a token, so that frequent probes do not each ask"},
	{name: "READYZ_WEBSUB_GRACE", def: "2m", help: "how long a WebSub subscription may be missing (after start, or after credentials stopped arriving) before /readyz reports it"},
	{name: "READYZ_REQUIRE_DEPENDENCIES", def: "false", help: "true: /readyz fails (503) when MOSIP's auth manager or a WebSub subscription fails; false: it answers 200 \"degraded\" naming them, so that a MOSIP outage does not take the mediator out of its load balancer while it can still queue records"},
}

// Config is the mediator's configuration.
type Config struct {
	Addr         string
	DatabasePath string
	// DatabaseURL selects PostgreSQL instead of SQLite at DatabasePath.
	DatabaseURL string
	// StoreKeys encrypts the tokens kept in the database.
	StoreKeys *store.Sealer
	// TLS of the server and of outbound calls (files; empty: off).
	TLSCertFile, TLSKeyFile                           string
	OutboundCAFile, OutboundCertFile, OutboundKeyFile string
	Synchronous                                       string
	AutoMigrate                                       bool
	CountryConfig                                     string
	OpenCRVSPublicKey                                 string
	OpenCRVSGraphQL                                   string
	OpenCRVSGateway                                   string
	TokenIssuer                                       string
	TokenAudience                                     []string
	IntakeRateLimit, VerifyRateLimit                  httpapi.RateLimit
	TrustedProxies                                    []netip.Prefix
	MOSIPAuthURL                                      string
	MOSIPAppID                                        string
	PacketClientID                                    string
	PacketSecret                                      string
	WebSubClientID                                    string
	WebSubClientSecret                                string
	CreatePacketURL                                   string
	WorkflowURL                                       string
	StatusURL                                         string
	IdentityURL                                       string
	VIDURL                                            string
	CentreID                                          string
	MachineID                                         string
	PacketSource                                      string
	SchemaVersion                                     string
	AIDFormat                                         string
	AIDPrefix                                         string
	HubURL                                            string
	Topic                                             string
	CallbackURL                                       string
	WebSubSecret                                      string
	LeaseSeconds                                      int
	RenewInterval                                     time.Duration
	DeliveryRetention                                 time.Duration
	P12Path                                           string
	P12Password                                       string
	// Verifiable credential proofs (internal/vc): VCVerify is one of
	// httpapi's CredentialCheck values; VCContexts are the JSON-LD contexts
	// canonicalization may use (nil: the bundled ones).
	VCAllowList []string
	VCVerify    string
	VCContexts  *vc.Contexts
	// IDA (identity verification); IDAAuthURL empty: off.
	IDAAuthURL      string
	IDADomainURI    string
	PartnerMISPLK   string
	PartnerID       string
	PartnerAPIKey   string
	IDAEncryptCert  string
	IDASignP12      string
	IDASignPassword string
	// ID card QR codes (/verify-qr); TrustedQRIssuers empty: off.
	TrustedQRIssuers []string
	QRKeysRefresh    time.Duration
	QRScope          string
	// E-Signet (in-form authentication); ESignetTokenURL empty: off.
	ESignetTokenURL    string
	ESignetUserInfoURL string
	ESignetJWKSURL     string
	ESignetAudience    string
	OIDPKeyPath        string
	OIDPClientID       string
	ClientAppOrigins   []string
	MaxBodyBytes       int64
	CallTimeout        time.Duration
	RetryBase          time.Duration
	RetryMax           time.Duration
	RetryAttempts      int
	RetryMaxAge        time.Duration
	ReconcileAfter     time.Duration
	ReconcileMax       time.Duration
	ReconcileInterval  time.Duration
	ReconcileBatch     int
	MaxQueueDepth      int
	AdminToken         string
	ReversalMode       string
	ReversalProcess    string
	ReversalScope      string
	DeathFlagField     string
	IdentityTopic      string
	IdentityCallback   string
	IdentitySinkURL    string
	IdentitySinkSecret string
	SubmitWorkers      int
	FeedbackWorkers    int
	ShutdownTimeout    time.Duration
	DrainDelay         time.Duration
	LogLevel           string
	LogFormat          string
	PprofAddr          string
	// Tracing (OpenTelemetry, OTLP over HTTP); both endpoints empty: off.
	OTLPEndpoint       string
	OTLPTracesEndpoint string
	ServiceName        string
	// Readiness (/readyz).
	ReadyTimeout     time.Duration
	ReadyAuthCache   time.Duration
	ReadyWebSubGrace time.Duration
	ReadyRequireDeps bool

	// The OpenCRVS system client backfill adds national IDs with
	// (OpenCRVSClientID empty: none, and backfill is refused).
	OpenCRVSClientID, OpenCRVSClientSecret, OpenCRVSTokenURL string
	// Backfill of historic records: the backfill queue's workers, how many
	// may wait for it, the identifier type of the national ID.
	BackfillWorkers, BackfillMaxWaiting int
	BackfillIdentifierType              string

	// Role is MEDIATOR_ROLE; Split configures the split design's roles.
	Role  string
	Split SplitConfig

	// FetchPollInterval overrides how often idle job queues poll (tests).
	FetchPollInterval time.Duration
	// SubscriptionCheck is how often the WebSub subscription job runs
	// (default a minute).
	SubscriptionCheck time.Duration
	// ReplicaCheck is how often, on PostgreSQL, the jobs of mediators that
	// are gone are looked for (default 5s).
	ReplicaCheck time.Duration
	// ForgetSubscriptions drops, at start, what the database says of the
	// WebSub subscriptions: the hub is new and empty (dev's simulator).
	ForgetSubscriptions bool
}

// LoadConfig reads the configuration from getenv. It reports every problem
// at once, one per line.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv, values: map[string]string{}}
	r.role = cmp.Or(strings.TrimSpace(getenv("MEDIATOR_ROLE")), RoleDirect)
	for _, o := range options {
		r.read(o)
	}
	c := Config{
		Addr:               r.values["HOST"] + ":" + r.port("PORT"),
		DatabasePath:       r.values["SQLITE_DATABASE_PATH"],
		DatabaseURL:        r.databaseURL("DATABASE_URL"),
		Synchronous:        r.oneOf("SQLITE_SYNCHRONOUS", "FULL", "NORMAL"),
		StoreKeys:          r.storeKeys("STORE_ENCRYPTION_KEY"),
		AutoMigrate:        r.bool("AUTO_MIGRATE"),
		CountryConfig:      r.values["COUNTRY_CONFIG"],
		OpenCRVSPublicKey:  r.url("OPENCRVS_PUBLIC_KEY_URL"),
		OpenCRVSGraphQL:    r.url("OPENCRVS_GRAPHQL_GATEWAY_URL"),
		OpenCRVSGateway:    r.url("OPENCRVS_GATEWAY_URL"),
		TokenIssuer:        r.unlessNone("OPENCRVS_TOKEN_ISSUER"),
		TokenAudience:      r.list("OPENCRVS_TOKEN_AUDIENCE"),
		IntakeRateLimit:    r.rate("INTAKE_RATE_LIMIT"),
		VerifyRateLimit:    r.rate("VERIFY_RATE_LIMIT"),
		TrustedProxies:     r.prefixes("TRUSTED_PROXIES"),
		MOSIPAuthURL:       r.url("MOSIP_AUTH_URL"),
		MOSIPAppID:         r.values["MOSIP_AUTH_CLIENT_APP_ID"],
		PacketClientID:     r.values["MOSIP_PACKET_AUTH_CLIENT_ID"],
		PacketSecret:       r.values["MOSIP_PACKET_AUTH_CLIENT_SECRET"],
		WebSubClientID:     r.values["MOSIP_WEBSUB_AUTH_CLIENT_ID"],
		WebSubClientSecret: r.values["MOSIP_WEBSUB_AUTH_CLIENT_SECRET"],
		CreatePacketURL:    r.url("MOSIP_CREATE_PACKET_URL"),
		WorkflowURL:        r.url("MOSIP_PROCESS_PACKET_URL"),
		StatusURL:          r.url("MOSIP_REGISTRATION_STATUS_URL"),
		IdentityURL:        r.url("MOSIP_IDENTITY_URL"),
		VIDURL:             r.url("MOSIP_VID_URL"),
		CentreID:           r.values["MOSIP_CENTER_ID"],
		MachineID:          r.values["MOSIP_MACHINE_ID"],
		PacketSource:       r.values["MOSIP_PACKET_SOURCE"],
		SchemaVersion:      r.values["MOSIP_PACKET_SCHEMA_VERSION"],
		AIDFormat:          r.oneOf("AID_FORMAT", "rid", "prefixed"),
		AIDPrefix:          r.values["TRANSACTION_ID_PREFIX"],
		HubURL:             r.url("MOSIP_WEBSUB_HUB_URL"),
		Topic:              r.values["MOSIP_WEBSUB_TOPIC"],
		CallbackURL:        r.url("MOSIP_WEBSUB_CALLBACK_URL"),
		WebSubSecret:       r.values["MOSIP_WEBSUB_SECRET"],
		LeaseSeconds:       r.int("MOSIP_WEBSUB_LEASE_SECONDS", 0),
		RenewInterval:      r.duration("MOSIP_WEBSUB_RENEW_INTERVAL"),
		SubscriptionCheck:  r.duration("MOSIP_WEBSUB_CHECK_INTERVAL"),
		DeliveryRetention:  r.duration("MOSIP_WEBSUB_DEDUP_WINDOW"),
		P12Path:            r.values["DECRYPT_P12_FILE_PATH"],
		P12Password:        r.values["DECRYPT_P12_FILE_PASSWORD"],
		VCAllowList:        r.urls("MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST"),
		VCContexts:         r.vcContexts("MOSIP_VC_CONTEXTS"),
		IDAAuthURL:         r.url("IDA_AUTH_URL"),
		IDADomainURI:       r.values["IDA_AUTH_DOMAIN_URI"],
		PartnerMISPLK:      r.values["PARTNER_MISP_LK"],
		PartnerID:          r.values["PARTNER_ID"],
		PartnerAPIKey:      r.values["PARTNER_APIKEY"],
		IDAEncryptCert:     r.values["ENCRYPT_CERT_PATH"],
		IDASignP12:         r.values["SIGN_P12_FILE_PATH"],
		IDASignPassword:    r.values["SIGN_P12_FILE_PASSWORD"],
		TrustedQRIssuers:   r.list("TRUSTED_QR_ISSUERS"),
		QRKeysRefresh:      r.duration("QR_ISSUER_KEYS_REFRESH"),
		QRScope:            r.values["QR_VERIFY_SCOPE"],
		ESignetTokenURL:    r.url("ESIGNET_TOKEN_URL"),
		ESignetUserInfoURL: r.url("ESIGNET_USERINFO_URL"),
		ESignetJWKSURL:     r.url("ESIGNET_JWKS_URL"),
		ESignetAudience:    r.values["ESIGNET_CLIENT_ASSERTION_AUDIENCE"],
		OIDPKeyPath:        r.values["OIDP_CLIENT_PRIVATE_KEY_PATH"],
		OIDPClientID:       r.values["OIDP_CLIENT_ID"],
		ClientAppOrigins:   r.list("CLIENT_APP_URL"),
		MaxBodyBytes:       int64(r.int("MAX_BODY_BYTES", 1024)),
		CallTimeout:        r.duration("CALL_TIMEOUT"),
		RetryBase:          r.duration("RETRY_BASE_DELAY"),
		RetryMax:           r.duration("RETRY_MAX_DELAY"),
		RetryAttempts:      r.int("RETRY_MAX_ATTEMPTS", 1),
		RetryMaxAge:        r.duration("RETRY_MAX_AGE"),
		ReconcileAfter:     r.duration("RECONCILE_AFTER"),
		ReconcileMax:       r.duration("RECONCILE_MAX_INTERVAL"),
		ReconcileInterval:  r.duration("RECONCILE_INTERVAL"),
		ReconcileBatch:     r.int("RECONCILE_BATCH", 1),
		MaxQueueDepth:      r.int("MAX_QUEUE_DEPTH", 0),
		AdminToken:         r.values["ADMIN_TOKEN"],
		ReversalMode:       r.oneOf("DEATH_REVERSAL_MODE", "packet", "idrepo"),
		ReversalProcess:    r.values["DEATH_REVERSAL_PROCESS"],
		ReversalScope:      r.values["DEATH_REVERSAL_SCOPE"],
		DeathFlagField:     r.values["DEATH_FLAG_FIELD"],
		IdentityTopic:      r.values["MOSIP_IDENTITY_UPDATE_TOPIC"],
		IdentityCallback:   r.url("MOSIP_IDENTITY_UPDATE_CALLBACK_URL"),
		IdentitySinkURL:    r.url("OPENCRVS_IDENTITY_UPDATE_URL"),
		IdentitySinkSecret: r.values["OPENCRVS_IDENTITY_UPDATE_SECRET"],
		SubmitWorkers:      r.int("SUBMIT_WORKERS", 1),
		FeedbackWorkers:    r.int("FEEDBACK_WORKERS", 1),
		ShutdownTimeout:    r.duration("SHUTDOWN_TIMEOUT"),
		ReplicaCheck:       r.duration("REPLICA_CHECK_INTERVAL"),
		DrainDelay:         r.durationOrZero("SHUTDOWN_DRAIN"),
		LogLevel:           r.oneOf("LOG_LEVEL", "debug", "info", "warn", "error"),
		LogFormat:          r.oneOf("LOG_FORMAT", "json", "text"),
		PprofAddr:          r.values["PPROF_ADDR"],
		OTLPEndpoint:       r.url("OTEL_EXPORTER_OTLP_ENDPOINT"),
		OTLPTracesEndpoint: r.url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		ServiceName:        r.values["OTEL_SERVICE_NAME"],
		ReadyTimeout:       r.duration("READYZ_TIMEOUT"),
		ReadyAuthCache:     r.duration("READYZ_MOSIP_AUTH_CACHE"),
		ReadyWebSubGrace:   r.duration("READYZ_WEBSUB_GRACE"),
		ReadyRequireDeps:   r.bool("READYZ_REQUIRE_DEPENDENCIES"),
		TLSCertFile:        r.values["TLS_CERT_FILE"],
		TLSKeyFile:         r.values["TLS_KEY_FILE"],
		OutboundCAFile:     r.values["OUTBOUND_CA_FILE"],
		OutboundCertFile:   r.values["OUTBOUND_CLIENT_CERT_FILE"],
		OutboundKeyFile:    r.values["OUTBOUND_CLIENT_KEY_FILE"],
	}
	if c.OpenCRVSGateway == "" {
		c.OpenCRVSGateway = gatewayOf(c.OpenCRVSGraphQL)
	}
	c.OpenCRVSClientID, c.OpenCRVSClientSecret = r.values["OPENCRVS_CLIENT_ID"], r.values["OPENCRVS_CLIENT_SECRET"]
	c.OpenCRVSTokenURL = r.url("OPENCRVS_AUTH_TOKEN_URL")
	c.BackfillWorkers, c.BackfillMaxWaiting = r.int("BACKFILL_WORKERS", 1), r.int("BACKFILL_MAX_WAITING", 0)
	c.BackfillIdentifierType = r.values["BACKFILL_IDENTIFIER_TYPE"]
	if (c.OpenCRVSClientID == "") != (c.OpenCRVSClientSecret == "") {
		r.fail("OPENCRVS_CLIENT_SECRET", "set OPENCRVS_CLIENT_ID and OPENCRVS_CLIENT_SECRET together (the OpenCRVS system client backfill uses), or neither")
	}
	if c.OpenCRVSTokenURL == "" {
		c.OpenCRVSTokenURL = tokenURLOf(c.OpenCRVSPublicKey)
	}
	if c.OpenCRVSClientID != "" && c.OpenCRVSTokenURL == "" {
		r.fail("OPENCRVS_AUTH_TOKEN_URL", "is required with OPENCRVS_CLIENT_ID (it cannot be derived from OPENCRVS_PUBLIC_KEY_URL)")
	}
	c.esignetDefaults(&r)
	if c.StatusURL == "" && c.WorkflowURL != "" {
		c.StatusURL = strings.Replace(c.WorkflowURL, "/workflowmanager/workflowinstance", "/registrationstatus/search", 1)
	}
	if c.IdentityURL == "" && strings.Contains(c.CreatePacketURL, "/commons/v1/packetmanager/createPacket") {
		c.IdentityURL = strings.Replace(c.CreatePacketURL, "/commons/v1/packetmanager/createPacket", "/idrepository/v1/identity", 1)
	}
	if c.VIDURL == "" && strings.HasSuffix(c.IdentityURL, "/idrepository/v1/identity") {
		c.VIDURL = strings.TrimSuffix(c.IdentityURL, "/identity") + "/vid"
	}
	if c.IdentityTopic != "" {
		if c.IdentityCallback == "" && strings.HasSuffix(c.CallbackURL, "/websub/callback") {
			c.IdentityCallback = strings.TrimSuffix(c.CallbackURL, "/callback") + "/identity"
		}
		if c.IdentityCallback == "" {
			r.fail("MOSIP_IDENTITY_UPDATE_CALLBACK_URL", "is required with MOSIP_IDENTITY_UPDATE_TOPIC (it cannot be derived from MOSIP_WEBSUB_CALLBACK_URL)")
		}
		if c.IdentitySinkURL == "" {
			r.fail("OPENCRVS_IDENTITY_UPDATE_URL", "is required with MOSIP_IDENTITY_UPDATE_TOPIC: where identity changes go")
		}
		if c.IdentitySinkSecret == "" {
			r.fail("OPENCRVS_IDENTITY_UPDATE_SECRET", "is required with MOSIP_IDENTITY_UPDATE_TOPIC: it signs what is sent")
		}
		if c.IdentityURL == "" {
			r.fail("MOSIP_IDENTITY_URL", "is required with MOSIP_IDENTITY_UPDATE_TOPIC: the changed identity is read there")
		}
	}
	c.VCVerify = r.vcVerify("MOSIP_VC_VERIFY", c.VCAllowList)
	c.readSplit(&r)
	if c.IDAAuthURL != "" {
		for _, req := range []struct{ name, v string }{
			{"PARTNER_MISP_LK", c.PartnerMISPLK}, {"PARTNER_ID", c.PartnerID},
			{"PARTNER_APIKEY", c.PartnerAPIKey}, {"ENCRYPT_CERT_PATH", c.IDAEncryptCert},
		} {
			if req.v == "" {
				r.fail(req.name, "is required with IDA_AUTH_URL (identity verification through MOSIP IDA)")
			}
		}
		if c.IDADomainURI == "" {
			if u, err := url.Parse(c.IDAAuthURL); err == nil {
				c.IDADomainURI = u.Scheme + "://" + u.Host
			}
		}
		if c.IDASignP12 == "" {
			c.IDASignP12, c.IDASignPassword = c.P12Path, cmp.Or(c.IDASignPassword, c.P12Password)
		}
	}
	if _, err := strconv.ParseFloat(c.SchemaVersion, 64); err != nil {
		r.fail("MOSIP_PACKET_SCHEMA_VERSION", "must be a number such as 0.100, got %q", c.SchemaVersion)
	}
	if c.ReconcileMax < c.ReconcileAfter {
		r.fail("RECONCILE_MAX_INTERVAL", "must not be shorter than RECONCILE_AFTER")
	}
	if c.RetryMax < c.RetryBase {
		r.fail("RETRY_MAX_DELAY", "must not be shorter than RETRY_BASE_DELAY")
	}
	return c, errors.Join(r.errs...)
}

type reader struct {
	// role is MEDIATOR_ROLE: which options are required depends on it.
	role   string
	getenv func(string) string
	values map[string]string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) read(o option) {
	v := strings.TrimSpace(r.getenv(o.name))
	if o.secret {
		if path := strings.TrimSpace(r.getenv(o.name + "_FILE")); path != "" {
			if v != "" {
				r.fail(o.name, "set either %s or %s_FILE, not both", o.name, o.name)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				r.fail(o.name+"_FILE", "cannot read %s: %v", path, err)
			}
			v = strings.TrimRight(string(b), "\r\n")
		}
	}
	if v == "" {
		v = o.def
	}
	if v == "" && o.requiredFor(r.role) {
		how := ""
		if o.secret {
			how = " (or " + o.name + "_FILE)"
		}
		r.fail(o.name, "is required%s: %s", how, o.help)
	}
	r.values[o.name] = v
}

// databaseURL checks a PostgreSQL URL without ever quoting it: it may hold
// a password.
func (r *reader) databaseURL(name string) string {
	v := r.values[name]
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		r.fail(name, "must be a postgres://user:password@host:5432/database URL")
	}
	return v
}

func (r *reader) url(name string) string {
	v := r.values[name]
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "must be an http(s) URL, got %q", v)
	}
	return v
}

func (r *reader) int(name string, min int) int {
	n, err := strconv.Atoi(r.values[name])
	if err != nil || n < min {
		r.fail(name, "must be a whole number of at least %d, got %q", min, r.values[name])
	}
	return n
}

func (r *reader) port(name string) string {
	n, err := strconv.Atoi(r.values[name])
	if err != nil || n < 0 || n > 65535 {
		r.fail(name, "must be a port number, got %q", r.values[name])
	}
	return r.values[name]
}

func (r *reader) duration(name string) time.Duration {
	d, err := time.ParseDuration(r.values[name])
	if err != nil || d <= 0 {
		r.fail(name, "must be a positive duration such as 30s or 5m, got %q", r.values[name])
	}
	return d
}

func (r *reader) durationOrZero(name string) time.Duration {
	d, err := time.ParseDuration(r.values[name])
	if err != nil || d < 0 {
		r.fail(name, "must be a duration such as 0s, 5s or 1m, got %q", r.values[name])
	}
	return d
}

func (r *reader) storeKeys(name string) *store.Sealer {
	if r.values[name] == "" {
		return nil // reported as required
	}
	s, err := store.ParseKeys(r.values[name])
	if err != nil {
		r.fail(name, "%v", err)
	}
	return s
}

func (r *reader) bool(name string) bool {
	b, err := strconv.ParseBool(r.values[name])
	if err != nil {
		r.fail(name, "must be true or false, got %q", r.values[name])
	}
	return b
}

func (r *reader) oneOf(name string, allowed ...string) string {
	v := r.values[name]
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	r.fail(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	return v
}

// unlessNone is the value of name, or "" when it is "none".
func (r *reader) unlessNone(name string) string {
	if strings.EqualFold(r.values[name], "none") {
		return ""
	}
	return r.values[name]
}

// rate reads a per-second rate; bursts are twice the rate.
func (r *reader) rate(name string) httpapi.RateLimit {
	f, err := strconv.ParseFloat(r.values[name], 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		r.fail(name, "must be a number of requests per second (0: no limit), got %q", r.values[name])
		return httpapi.RateLimit{}
	}
	return httpapi.RateLimit{PerSecond: f, Burst: int(math.Ceil(2 * f))}
}

// prefixes reads addresses and CIDRs.
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range r.list(name) {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				r.fail(name, "%q is neither an address nor a CIDR such as 10.0.0.0/8", v)
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// urls reads a list of http(s) URLs.
func (r *reader) urls(name string) []string {
	out := r.list(name)
	for _, v := range out {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail(name, "%q is not an http(s) URL", v)
		}
	}
	return out
}

// vcContexts reads URL=FILE pairs of JSON-LD contexts (vc.ParseContextList).
func (r *reader) vcContexts(name string) *vc.Contexts {
	c, err := vc.ParseContextList(r.values[name], nil)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return c
}

// vcVerify reads how credential proofs are checked: enforce by default with
// an allow-list, off without one.
func (r *reader) vcVerify(name string, allow []string) string {
	v := strings.ToLower(r.values[name])
	switch v {
	case "":
		if len(allow) > 0 {
			return httpapi.CredentialCheckEnforce
		}
		return httpapi.CredentialCheckOff
	case httpapi.CredentialCheckEnforce, httpapi.CredentialCheckLogOnly:
		if len(allow) == 0 {
			r.fail(name, "%s needs MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST: the keys credentials must be signed with", v)
		}
		return v
	case httpapi.CredentialCheckOff:
		return v
	}
	r.fail(name, "must be one of enforce, log-only, off, got %q", r.values[name])
	return v
}

func (r *reader) list(name string) []string {
	if strings.EqualFold(r.values[name], "none") {
		return nil
	}
	var out []string
	for _, p := range strings.Split(r.values[name], ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// PrintOptions writes the options table (for `serve --help` and the README).
func PrintOptions(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tDESCRIPTION")
	for _, o := range options {
		def := o.def
		switch {
		case o.required && o.requiredIn == nil:
			def = "(required)"
		case o.required:
			def = "(required in " + strings.Join(o.requiredIn, ", ") + ")"
		case def == "":
			def = "-"
		}
		help := o.help
		if o.secret {
			help += " (secret; or " + o.name + "_FILE)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.name, def, help)
	}
	tw.Flush()
}

// tokenURLOf derives OpenCRVS auth's token endpoint from its public key
// URL: http://auth:4040/.well-known -> http://auth:4040/token ("" when
// the URL does not end in /.well-known).
func tokenURLOf(publicKey string) string {
	u, err := url.Parse(publicKey)
	if publicKey == "" || err != nil || !strings.HasSuffix(u.Path, "/.well-known") {
		return ""
	}
	u.Path = strings.TrimSuffix(u.Path, "/.well-known") + "/token"
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

// gatewayOf derives the OpenCRVS 1.9 gateway from the 1.8 GraphQL URL:
// http://gateway:7070/graphql -> http://gateway:7070 ("" for "").
func gatewayOf(graphQL string) string {
	u, err := url.Parse(graphQL)
	if graphQL == "" || err != nil {
		return ""
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/graphql")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return strings.TrimRight(u.String(), "/")
}
