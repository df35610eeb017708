package app

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// option is one configuration variable. Every option the mediator reads is
// in the options table, with its default and whether it is a secret; a
// secret NAME can also be given as a file path in NAME_FILE.
type option struct {
	name     string
	def      string
	required bool
	secret   bool
	help     string
}

// options are the environment variables of `serve`. Names and meanings
// follow OpenCRVS's Node mosip-api where it has them, so a country can swap
// it for this service without rewriting its deployment.
var options = []option{
	{name: "HOST", def: "0.0.0.0", help: "address to listen on"},
	{name: "PORT", def: "2024", help: "port to listen on"},
	{name: "SQLITE_DATABASE_PATH", def: "data/opencrvs-mosip.sqlite", help: "SQLite database file (created if missing)"},
	{name: "SQLITE_SYNCHRONOUS", def: "FULL", help: "FULL: what the mediator acknowledges (a record accepted, a delivery received) is on disk before it answers; NORMAL: faster, safe against a crash of the process but not a power cut"},
	{name: "AUTO_MIGRATE", def: "true", help: "apply database migrations at start; false: refuse to start on an out-of-date schema"},
	{name: "COUNTRY_CONFIG", help: "country rules and mapping (YAML); empty: the embedded Farajaland default"},

	{name: "OPENCRVS_PUBLIC_KEY_URL", required: true, help: "OpenCRVS auth service public key (PEM), e.g. http://auth:4040/.well-known"},
	{name: "OPENCRVS_GRAPHQL_GATEWAY_URL", required: true, help: "OpenCRVS 1.8 GraphQL gateway, e.g. http://gateway:7070/graphql"},
	{name: "OPENCRVS_TOKEN_ISSUER", help: "required issuer of OpenCRVS tokens (empty: not checked)"},
	{name: "OPENCRVS_TOKEN_AUDIENCE", help: "comma-separated audiences, one of which OpenCRVS tokens must carry (empty: not checked)"},

	{name: "MOSIP_AUTH_URL", required: true, help: "MOSIP auth manager .../v1/authmanager/authenticate/clientidsecretkey"},
	{name: "MOSIP_AUTH_CLIENT_APP_ID", def: "regproc", help: "appId sent to the auth manager"},
	{name: "MOSIP_PACKET_AUTH_CLIENT_ID", required: true, help: "client id for the packet manager and registration processor"},
	{name: "MOSIP_PACKET_AUTH_CLIENT_SECRET", required: true, secret: true, help: "its secret"},
	{name: "MOSIP_WEBSUB_AUTH_CLIENT_ID", required: true, help: "client id for the WebSub hub"},
	{name: "MOSIP_WEBSUB_AUTH_CLIENT_SECRET", required: true, secret: true, help: "its secret"},
	{name: "MOSIP_CREATE_PACKET_URL", required: true, help: "packet manager .../commons/v1/packetmanager/createPacket"},
	{name: "MOSIP_PROCESS_PACKET_URL", required: true, help: "registration processor .../registrationprocessor/v1/workflowmanager/workflowinstance"},
	{name: "MOSIP_REGISTRATION_STATUS_URL", help: "registration processor .../registrationprocessor/v1/registrationstatus/search (empty: derived from MOSIP_PROCESS_PACKET_URL)"},
	{name: "MOSIP_CENTER_ID", def: "10001", help: "registration centre id (packet refId, RID)"},
	{name: "MOSIP_MACHINE_ID", def: "10004", help: "registration machine id (packet refId, RID)"},
	{name: "MOSIP_PACKET_SOURCE", def: "OPENCRVS", help: "createPacket source (MOSIP's dev2 config names CRVS1)"},
	{name: "MOSIP_PACKET_SCHEMA_VERSION", def: "0.100", help: "createPacket schemaVersion"},
	{name: "AID_FORMAT", def: "rid", help: "application ids: rid (MOSIP's 29-digit form) or prefixed (TRANSACTION_ID_PREFIX + 10 digits)"},
	{name: "TRANSACTION_ID_PREFIX", def: "10001", help: "5-digit prefix of prefixed application ids"},

	{name: "MOSIP_WEBSUB_HUB_URL", required: true, help: "MOSIP WebSub hub"},
	{name: "MOSIP_WEBSUB_TOPIC", def: "CREDENTIAL_ISSUED", help: "credential topic, e.g. opencrvs-partner/CREDENTIAL_ISSUED"},
	{name: "MOSIP_WEBSUB_CALLBACK_URL", required: true, help: "this service's /websub/callback as MOSIP reaches it"},
	{name: "MOSIP_WEBSUB_SECRET", required: true, secret: true, help: "hub.secret: deliveries must be signed with it"},
	{name: "MOSIP_WEBSUB_LEASE_SECONDS", def: "0", help: "lease asked for (0: the hub's default)"},
	{name: "MOSIP_WEBSUB_RENEW_INTERVAL", def: "12h", help: "the subscription is renewed before its lease ends, and at least this often"},
	{name: "DECRYPT_P12_FILE_PATH", required: true, help: "PKCS#12 keystore with the partner key credentials are encrypted to"},
	{name: "DECRYPT_P12_FILE_PASSWORD", required: true, secret: true, help: "its password"},

	{name: "MAX_BODY_BYTES", def: "10485760", help: "largest request body accepted (bytes)"},
	{name: "CALL_TIMEOUT", def: "30s", help: "time limit of each call to MOSIP or OpenCRVS"},
	{name: "RETRY_BASE_DELAY", def: "2s", help: "first retry delay; doubled per attempt"},
	{name: "RETRY_MAX_DELAY", def: "30m", help: "longest retry delay"},
	{name: "RETRY_MAX_ATTEMPTS", def: "30", help: "attempts before a transaction is DEAD"},
	{name: "SUBMIT_WORKERS", def: "32", help: "concurrent calls to MOSIP"},
	{name: "FEEDBACK_WORKERS", def: "32", help: "concurrent calls to OpenCRVS"},
	{name: "SHUTDOWN_TIMEOUT", def: "30s", help: "time allowed to finish requests and jobs on stop"},
	{name: "LOG_LEVEL", def: "info", help: "debug, info, warn or error"},
	{name: "LOG_FORMAT", def: "json", help: "json or text"},
	{name: "PPROF_ADDR", help: "serve Go's profiler on this address, e.g. 127.0.0.1:6060 (off when empty; never expose it)"},
}

// Config is the mediator's configuration.
type Config struct {
	Addr               string
	DatabasePath       string
	Synchronous        string
	AutoMigrate        bool
	CountryConfig      string
	OpenCRVSPublicKey  string
	OpenCRVSGraphQL    string
	TokenIssuer        string
	TokenAudience      []string
	MOSIPAuthURL       string
	MOSIPAppID         string
	PacketClientID     string
	PacketSecret       string
	WebSubClientID     string
	WebSubClientSecret string
	CreatePacketURL    string
	WorkflowURL        string
	StatusURL          string
	CentreID           string
	MachineID          string
	PacketSource       string
	SchemaVersion      string
	AIDFormat          string
	AIDPrefix          string
	HubURL             string
	Topic              string
	CallbackURL        string
	WebSubSecret       string
	LeaseSeconds       int
	RenewInterval      time.Duration
	P12Path            string
	P12Password        string
	MaxBodyBytes       int64
	CallTimeout        time.Duration
	RetryBase          time.Duration
	RetryMax           time.Duration
	RetryAttempts      int
	SubmitWorkers      int
	FeedbackWorkers    int
	ShutdownTimeout    time.Duration
	LogLevel           string
	LogFormat          string
	PprofAddr          string

	// FetchPollInterval overrides how often idle job queues poll (tests).
	FetchPollInterval time.Duration
}

// LoadConfig reads the configuration from getenv. It reports every problem
// at once, one per line.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv, values: map[string]string{}}
	for _, o := range options {
		r.read(o)
	}
	c := Config{
		Addr:               r.values["HOST"] + ":" + r.port("PORT"),
		DatabasePath:       r.values["SQLITE_DATABASE_PATH"],
		Synchronous:        r.oneOf("SQLITE_SYNCHRONOUS", "FULL", "NORMAL"),
		AutoMigrate:        r.bool("AUTO_MIGRATE"),
		CountryConfig:      r.values["COUNTRY_CONFIG"],
		OpenCRVSPublicKey:  r.url("OPENCRVS_PUBLIC_KEY_URL"),
		OpenCRVSGraphQL:    r.url("OPENCRVS_GRAPHQL_GATEWAY_URL"),
		TokenIssuer:        r.values["OPENCRVS_TOKEN_ISSUER"],
		TokenAudience:      r.list("OPENCRVS_TOKEN_AUDIENCE"),
		MOSIPAuthURL:       r.url("MOSIP_AUTH_URL"),
		MOSIPAppID:         r.values["MOSIP_AUTH_CLIENT_APP_ID"],
		PacketClientID:     r.values["MOSIP_PACKET_AUTH_CLIENT_ID"],
		PacketSecret:       r.values["MOSIP_PACKET_AUTH_CLIENT_SECRET"],
		WebSubClientID:     r.values["MOSIP_WEBSUB_AUTH_CLIENT_ID"],
		WebSubClientSecret: r.values["MOSIP_WEBSUB_AUTH_CLIENT_SECRET"],
		CreatePacketURL:    r.url("MOSIP_CREATE_PACKET_URL"),
		WorkflowURL:        r.url("MOSIP_PROCESS_PACKET_URL"),
		StatusURL:          r.url("MOSIP_REGISTRATION_STATUS_URL"),
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
		P12Path:            r.values["DECRYPT_P12_FILE_PATH"],
		P12Password:        r.values["DECRYPT_P12_FILE_PASSWORD"],
		MaxBodyBytes:       int64(r.int("MAX_BODY_BYTES", 1024)),
		CallTimeout:        r.duration("CALL_TIMEOUT"),
		RetryBase:          r.duration("RETRY_BASE_DELAY"),
		RetryMax:           r.duration("RETRY_MAX_DELAY"),
		RetryAttempts:      r.int("RETRY_MAX_ATTEMPTS", 1),
		SubmitWorkers:      r.int("SUBMIT_WORKERS", 1),
		FeedbackWorkers:    r.int("FEEDBACK_WORKERS", 1),
		ShutdownTimeout:    r.duration("SHUTDOWN_TIMEOUT"),
		LogLevel:           r.oneOf("LOG_LEVEL", "debug", "info", "warn", "error"),
		LogFormat:          r.oneOf("LOG_FORMAT", "json", "text"),
		PprofAddr:          r.values["PPROF_ADDR"],
	}
	if c.StatusURL == "" && c.WorkflowURL != "" {
		c.StatusURL = strings.Replace(c.WorkflowURL, "/workflowmanager/workflowinstance", "/registrationstatus/search", 1)
	}
	if c.RetryMax < c.RetryBase {
		r.fail("RETRY_MAX_DELAY", "must not be shorter than RETRY_BASE_DELAY")
	}
	return c, errors.Join(r.errs...)
}

type reader struct {
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
	if v == "" && o.required {
		how := ""
		if o.secret {
			how = " (or " + o.name + "_FILE)"
		}
		r.fail(o.name, "is required%s: %s", how, o.help)
	}
	r.values[o.name] = v
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

func (r *reader) list(name string) []string {
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
		case o.required:
			def = "(required)"
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
