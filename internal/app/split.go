package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/kafka"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/peer"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

// splitParts are the split design's pieces of a mediator: what its jobs,
// intake and HTTP API get, and the Kafka clients of the MOSIP side.
type splitParts struct {
	jobs     jobs.SplitConfig
	pipeline pipeline.SplitConfig
	http     *httpapi.SplitConfig
	producer *kafka.Producer
	consumer *kafka.Consumer
}

// newSplit wires the split design's role (nil for the direct mediator).
func newSplit(cfg Config, st *store.Store, httpClient *http.Client, mosipClient *mosip.Client, system *opencrvs.SystemClient, metrics *telemetry.Metrics, log *slog.Logger) (*splitParts, error) {
	s := cfg.Split
	p := &splitParts{}
	switch cfg.Role {
	case RoleOpenCRVSSide:
		auth := mosip.NewAuthClient(mosip.AuthConfig{URL: cfg.MOSIPAuthURL, ClientID: s.PeerClientID, SecretKey: s.PeerClientSecret, AppID: cfg.MOSIPAppID, HTTPClient: httpClient, Logger: log})
		p.jobs = jobs.SplitConfig{
			Peer:         &peer.Client{URL: s.PeerURL, Sealer: &envelope.Sealer{Own: s.OwnKey, Peer: s.PeerKey, Protocol: s.Protocol}, Token: auth.Token, HTTPClient: httpClient},
			AIDFromPeer:  s.AIDFromPeer,
			Webhooks:     &webhookSubscriptions{system: system, url: s.WebhooksURL, callback: s.WebhookCallbackURL, secret: s.SHASecret, log: log},
			WebhookCheck: s.ResubscribeInterval,
		}
		if s.WriteBack == "country-config" {
			p.jobs.WriteBack = jobs.NewCountryConfigWriteBack(s.WriteBackURL, system.Token, httpClient)
		}
		p.http = &httpapi.SplitConfig{
			OpenCRVSSide: true, WebhookSecret: []byte(s.SHASecret),
			Results: newReceiver(s, s.ResultProtocol, st),
		}
	case RoleMOSIPSide:
		p.jobs = jobs.SplitConfig{
			Peer:             &peer.Client{URL: s.PeerURL, Sealer: &envelope.Sealer{Own: s.OwnKey, Peer: s.PeerKey, Protocol: s.ResultProtocol}, Token: system.Token, HTTPClient: httpClient},
			DeactivateDeaths: !s.DeathPacket,
			PSUT:             mosip.PSUTPartners{Intermediary: s.PSUTIntermediary, Partner: s.PSUTPartner},
			HubURL:           cfg.HubURL,
			CentreID:         cfg.CentreID, MachineID: cfg.MachineID,
		}
		if !s.PacketManager {
			p.jobs.Uploader = mosipClient.Uploader(mosip.DefaultUploadURLs(s.RegprocURL))
		}
		p.pipeline.BirthProcess = s.BirthProcess
		p.http = &httpapi.SplitConfig{
			MOSIPSide: true,
			Tokens:    &peer.TokenValidator{URL: s.ValidateTokenURL, Roles: s.PeerRoles, HTTPClient: httpClient, Cache: time.Minute},
			Records:   newReceiver(s, s.Protocol, st),
		}
		if len(s.Kafka.Brokers) > 0 {
			if err := p.wireKafka(cfg, metrics, log); err != nil {
				return nil, err
			}
		}
	default:
		return nil, nil
	}
	return p, nil
}

func newReceiver(s SplitConfig, proto envelope.Protocol, st *store.Store) *peer.Receiver {
	var replay peer.Replay = st
	if proto == envelope.LegacyResult {
		// The Java MOSIP side signs the result's plaintext, so the same
		// result sent again is the same envelope: refusing it as a replay
		// would refuse an honest retry. Applying a result is idempotent
		// (a result already recorded changes nothing), so a copy can do no
		// harm.
		replay = resendsWelcome{}
	}
	return &peer.Receiver{
		Opener: &envelope.Opener{Own: s.OwnKey, Peer: s.PeerKey.Public, Protocol: proto, Window: s.Window},
		Replay: replay, Window: s.Window,
	}
}

// resendsWelcome remembers no envelope (see newReceiver).
type resendsWelcome struct{}

func (resendsWelcome) RememberEnvelope(context.Context, string, time.Time) (bool, error) {
	return true, nil
}

// wireKafka makes the MOSIP side's Kafka producer (intake publishes each
// stored record's id) and consumer (which schedules its packet work).
func (p *splitParts) wireKafka(cfg Config, metrics *telemetry.Metrics, log *slog.Logger) error {
	k := cfg.Split.Kafka
	kc := kafka.Config{
		Brokers: k.Brokers, ClientID: cfg.ServiceName, Group: k.Group,
		Topics: kafka.Topics{Birth: k.BirthTopic, Death: k.DeathTopic}, Logger: log,
	}
	if k.TLS {
		t, err := outboundTLS(cfg)
		if err != nil {
			return fmt.Errorf("configuration: KAFKA_TLS: %w", err)
		}
		kc.TLS = t
	}
	if k.SASLMechanism != "" {
		kc.SASL = &kafka.SASL{Mechanism: k.SASLMechanism, User: k.SASLUser, Password: k.SASLPwd}
	}
	kc.OnPoison = func(r kafka.Record, err error) {
		log.Error("Kafka record cannot be handled; skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
	}
	var err error
	if p.producer, err = kafka.NewProducer(kc); err != nil {
		return fmt.Errorf("configuration: KAFKA_BROKERS: %w", err)
	}
	if p.consumer, err = kafka.NewConsumer(kc); err != nil {
		p.producer.Close()
		return fmt.Errorf("configuration: KAFKA_BROKERS: %w", err)
	}
	topics := kc.Topics
	p.pipeline.Handoff = func(ctx context.Context, tr *bridge.Transaction) error {
		topic := cmp.Or(topics.Birth, "OPENCRVS_BIRTH_RECORDS")
		if tr.Kind == bridge.EventDeath {
			topic = cmp.Or(topics.Death, "OPENCRVS_DEATH_RECORDS")
		}
		value, _ := json.Marshal(kafkaRecord{ID: tr.ID, Event: tr.Kind})
		return p.producer.Publish(ctx, topic, []byte(tr.ID), value, nil)
	}
	return nil
}

// kafkaRecord is what the MOSIP side puts on its Kafka topics: the id of
// a stored record, never the record (personal data stays in the database).
type kafkaRecord struct {
	ID    string           `json:"id"`
	Event bridge.EventKind `json:"event"`
}

// kafkaHandler schedules the packet work of each record the topics carry;
// the offset is committed once that is durable.
func kafkaHandler(svc *pipeline.Service) kafka.Handler {
	return func(ctx context.Context, r kafka.Record) error {
		var rec kafkaRecord
		if err := json.Unmarshal(r.Value, &rec); err != nil || rec.ID == "" {
			return kafka.Permanent(fmt.Errorf("not a record id: %v", err))
		}
		found, err := svc.QueueForPacket(ctx, rec.ID)
		if err != nil {
			return err
		}
		if !found {
			return kafka.Permanent(fmt.Errorf("no transaction %s", rec.ID))
		}
		return nil
	}
}

// webhookSubscriptions subscribes the OpenCRVS side to OpenCRVS's
// BIRTH_REGISTERED and DEATH_REGISTERED webhooks when OpenCRVS does not
// list them for its callback (first start, or OpenCRVS lost them).
type webhookSubscriptions struct {
	system                *opencrvs.SystemClient
	url, callback, secret string
	log                   *slog.Logger
}

func (w *webhookSubscriptions) Ensure(ctx context.Context) error {
	have, err := w.system.ListWebhooks(ctx, w.url)
	if err != nil {
		return err
	}
	var errs []error
	for _, topic := range []string{opencrvs.TopicBirthRegistered, opencrvs.TopicDeathRegistered} {
		found := false
		for _, sub := range have {
			if sub.Topic == topic && sub.Callback == w.callback {
				found = true
				break
			}
		}
		if found {
			continue
		}
		if err := w.system.SubscribeWebhook(ctx, w.url, w.callback, topic, w.secret); err != nil {
			errs = append(errs, err)
			continue
		}
		w.log.InfoContext(ctx, "subscribed to OpenCRVS webhooks", "topic", topic)
	}
	return errors.Join(errs...)
}

// run starts the Kafka consumer (MOSIP side with KAFKA_BROKERS); the
// returned function stops it (after the HTTP server, so that no record is
// published after it) and closes the Kafka clients.
func (p *splitParts) run(ctx context.Context, svc *pipeline.Service, log *slog.Logger) (stop func()) {
	if p == nil || p.consumer == nil {
		return func() { p.close() }
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		// In the background: brokers that do not answer must not hold up
		// the start (intake answers 503 until they do).
		ensureCtx, cancel := context.WithTimeout(runCtx, 30*time.Second)
		if err := p.producer.EnsureTopics(ensureCtx); err != nil {
			log.Warn("Kafka topics not checked; records wait in the database until Kafka answers", "err", err)
		}
		cancel()
		if err := p.consumer.Run(runCtx, kafkaHandler(svc)); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("Kafka consumer stopped", "err", err)
		}
	}()
	return func() {
		stopRun()
		<-done
		p.close()
	}
}

// close releases the Kafka clients (nil-safe).
func (p *splitParts) close() {
	if p == nil {
		return
	}
	if p.producer != nil {
		p.producer.Close()
	}
}
