package app

import (
	"crypto/rsa"
	"net/url"
	"strings"
	"time"

	"opencrvs-mosip/internal/envelope"
)

// SplitConfig configures the split design's roles (MEDIATOR_ROLE
// opencrvs-side and mosip-side); see docs/split-design.md.
type SplitConfig struct {
	// PeerURL is the other mediator's base URL.
	PeerURL string
	// OwnKey signs what this mediator seals and opens what the peer sealed
	// to it; PeerKey is the peer's certificate.
	OwnKey  *rsa.PrivateKey
	PeerKey *envelope.PeerKey
	// Protocol is what this mediator sends (and accepts on its intake);
	// ResultProtocol is what the MOSIP side sends back (and the OpenCRVS
	// side accepts): both V2, or, for the existing mediators, JavaCompat
	// records and LegacyResult answers.
	Protocol, ResultProtocol envelope.Protocol
	Window                   time.Duration

	// OpenCRVS side.
	WebhooksURL, WebhookCallbackURL, SHASecret string
	ResubscribeInterval                        time.Duration
	AIDFromPeer                                bool
	PeerClientID, PeerClientSecret             string
	// WriteBack is "graphql" or "country-config" (WriteBackURL).
	WriteBack, WriteBackURL string

	// MOSIP side.
	PeerRoles        []string
	ValidateTokenURL string
	// PacketManager: births go through createPacket and the workflow
	// instead of sync and upload.
	PacketManager    bool
	RegprocURL       string
	BirthProcess     string
	DeathPacket      bool
	PSUTPartner      string
	PSUTIntermediary string
	TokenIDURL       string
	Kafka            KafkaConfig
}

// KafkaConfig is the MOSIP side's Kafka (Brokers empty: no Kafka).
type KafkaConfig struct {
	Brokers                          []string
	BirthTopic, DeathTopic, Group    string
	TLS                              bool
	SASLMechanism, SASLUser, SASLPwd string
}

// readSplit reads the split design's options (and checks them only in the
// roles that use them).
func (c *Config) readSplit(r *reader) {
	c.Role = r.oneOf("MEDIATOR_ROLE", RoleDirect, RoleOpenCRVSSide, RoleMOSIPSide)
	s := &c.Split
	s.PeerURL = strings.TrimRight(r.url("PEER_URL"), "/")
	s.Window = r.duration("ENVELOPE_WINDOW")
	proto := r.oneOf("ENVELOPE_PROTOCOL", "v2", "java-compat")
	s.Protocol, s.ResultProtocol = envelope.V2, envelope.V2
	if proto == "java-compat" {
		s.Protocol, s.ResultProtocol = envelope.JavaCompat, envelope.LegacyResult
	}
	s.WebhooksURL = r.url("OPENCRVS_WEBHOOKS_URL")
	s.WebhookCallbackURL = r.url("OPENCRVS_WEBHOOK_CALLBACK_URL")
	s.SHASecret = r.values["OPENCRVS_CLIENT_SHA_SECRET"]
	s.ResubscribeInterval = r.duration("WEBHOOK_RESUBSCRIBE_INTERVAL")
	s.AIDFromPeer = r.oneOf("AID_SOURCE", "local", "peer") == "peer"
	s.PeerClientID, s.PeerClientSecret = r.values["PEER_CLIENT_ID"], r.values["PEER_CLIENT_SECRET"]
	s.WriteBack = r.oneOf("WRITEBACK", "graphql", "country-config")
	s.WriteBackURL = r.url("WRITEBACK_URL")
	s.PeerRoles = r.list("PEER_ROLES")
	s.ValidateTokenURL = r.url("MOSIP_VALIDATE_TOKEN_URL")
	s.PacketManager = r.oneOf("UPLOAD_MODE", "sync-upload", "packet-manager") == "packet-manager"
	s.RegprocURL = strings.TrimRight(r.url("MOSIP_REGPROC_URL"), "/")
	s.BirthProcess = r.values["BIRTH_PROCESS"]
	s.DeathPacket = r.oneOf("DEATH_MODE", "deactivate", "packet") == "packet"
	s.PSUTPartner, s.PSUTIntermediary = r.values["PSUT_PARTNER"], r.values["PSUT_INTERMEDIARY_PARTNER"]
	s.TokenIDURL = r.url("MOSIP_TOKENID_URL")
	s.Kafka = KafkaConfig{
		Brokers: r.list("KAFKA_BROKERS"), BirthTopic: r.values["KAFKA_BIRTH_TOPIC"], DeathTopic: r.values["KAFKA_DEATH_TOPIC"],
		Group: r.values["KAFKA_GROUP"], TLS: r.bool("KAFKA_TLS"),
		SASLMechanism: r.values["KAFKA_SASL_MECHANISM"], SASLUser: r.values["KAFKA_SASL_USERNAME"], SASLPwd: r.values["KAFKA_SASL_PASSWORD"],
	}
	if c.Role == RoleDirect {
		return
	}
	if path := r.values["ENVELOPE_PRIVATE_KEY_FILE"]; path != "" {
		key, err := envelope.LoadPrivateKey(path)
		if err != nil {
			r.fail("ENVELOPE_PRIVATE_KEY_FILE", "%v", err)
		}
		s.OwnKey = key
	}
	if path := r.values["ENVELOPE_PEER_CERT_FILE"]; path != "" {
		key, err := envelope.LoadPeerKey(path)
		if err != nil {
			r.fail("ENVELOPE_PEER_CERT_FILE", "%v", err)
		}
		s.PeerKey = key
	}
	switch c.Role {
	case RoleOpenCRVSSide:
		if c.OpenCRVSClientID == "" {
			r.fail("OPENCRVS_CLIENT_ID", "is required with MEDIATOR_ROLE=opencrvs-side: the system client subscribes to OpenCRVS webhooks and writes MOSIP's answers to the records")
		}
		if s.WriteBack == "country-config" && s.WriteBackURL == "" {
			r.fail("WRITEBACK_URL", "is required with WRITEBACK=country-config: the country config endpoint that stores MOSIP_AID and MOSIP_PSUT_TOKEN_ID")
		}
	case RoleMOSIPSide:
		if c.OpenCRVSClientID == "" {
			r.fail("OPENCRVS_CLIENT_ID", "is required with MEDIATOR_ROLE=mosip-side: MOSIP's answers are sent to the OpenCRVS side with this OpenCRVS system client's token")
		}
		if s.RegprocURL == "" {
			if u, err := url.Parse(c.WorkflowURL); err == nil && u.Host != "" {
				s.RegprocURL = u.Scheme + "://" + u.Host
			}
		}
		if s.ValidateTokenURL == "" {
			if base, ok := strings.CutSuffix(c.MOSIPAuthURL, "/authenticate/clientidsecretkey"); ok {
				s.ValidateTokenURL = base + "/authorize/admin/validateToken"
			} else {
				r.fail("MOSIP_VALIDATE_TOKEN_URL", "is required with MEDIATOR_ROLE=mosip-side when MOSIP_AUTH_URL does not end in /authenticate/clientidsecretkey")
			}
		}
		if s.TokenIDURL == "" && s.RegprocURL != "" {
			s.TokenIDURL = s.RegprocURL + "/v1/keymanager/tokenid"
		}
		if len(s.PeerRoles) == 0 {
			r.fail("PEER_ROLES", "needs at least one role: every MOSIP client must not be able to send records")
		}
		if s.Kafka.SASLMechanism != "" && s.Kafka.SASLUser == "" {
			r.fail("KAFKA_SASL_USERNAME", "is required with KAFKA_SASL_MECHANISM")
		}
	}
}
