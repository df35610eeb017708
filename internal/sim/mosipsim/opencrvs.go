package mosipsim

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"opencrvs-mosip/internal/mosip"
)

// The OPENCRVS_NEW route of MOSIP's 1.2 OpenCRVS integration plan: the
// registration processor's birth stages, then the OpenCRVS stage
// (registration-processor-opencrvs-stage, OpencrvsStage.java), which asks
// the credential service for an "opencrvs" credential of the new UIN's
// perpetual VID, carrying the packet's birth registration number, for the
// OpenCRVS partner.

// Codes of the OpenCRVS stage (its sub-status codes and audit module ids).
const (
	CodeOpenCRVSSubmitted       = "RPR-OPC-SUCCESS-001" // OpenCRVS request submitted
	CodeOpenCRVSUINNotFound     = "RPR-OPC-002"         // UIN_NOT_FOUND_IN_DATABASE
	CodeOpenCRVSFailed          = "RPR-OPC-025"         // generic failure (REPROCESS)
	CodeOpenCRVSVIDNotAvailable = "RPR-OPC-027"         // VID_NOT_AVAILABLE (REPROCESS)
)

// Credential of the OpenCRVS stage (mosip.regproc.opencrvs.credentialtype)
// and the metaInfo label it reads the birth registration number from.
const (
	CredentialTypeOpenCRVS = "opencrvs"
	MetaOpenCRVSBRN        = "opencrvsBRN"
)

// openCRVSRoute is the OPENCRVS_NEW route as the integration plan lists it.
// The stored MOSIP configuration also runs demo dedupe before the UIN
// generator; the plan's route, followed here, does not.
func openCRVSRoute() []stage {
	return []stage{
		// A packet created through createPacket + workflowinstance, or
		// uploaded to the packet receiver, is in the packet store: the
		// receiver finds it there by (id, source, process).
		{StagePacketReceiver, (*Sim).stageSecurezone},
		{StageSecurezone, (*Sim).stagePass},
		{StagePacketUploader, (*Sim).stagePass},
		{StagePacketValidator, (*Sim).stageOpenCRVSValidator},
		{StageClassifier, (*Sim).stageClassifier},
		{StageIntroducer, (*Sim).stageIntroducer},
		{StageUINGenerator, (*Sim).stageNewUIN},
		{StageFinalization, (*Sim).stageFinalization},
		{StagePrinting, (*Sim).stagePass},
		{StageOpenCRVS, (*Sim).stageOpenCRVS},
	}
}

// stagePass is a stage with nothing to simulate.
func (s *Sim) stagePass(reg *registration) outcome { return success("") }

// stageOpenCRVSValidator is the packet validator; the route has neither
// demo dedupe nor a CMD validator, so an injected rejection happens here.
func (s *Sim) stageOpenCRVSValidator(reg *registration) outcome {
	if reg.reject {
		return rejected("", "injected rejection (rejectRate)")
	}
	return s.stageValidator(reg)
}

// stageIntroducer validates the introducer of an infant or a minor when
// the packet names one (MOSIP's route runs the stage only then, with
// INTRODUCER_AVAILABILITY true): introducerUIN must be an ACTIVATED
// identity, introducerRID a registration that created or changed one.
func (s *Sim) stageIntroducer(reg *registration) outcome {
	s.mu.Lock()
	group := reg.tags["AGE_GROUP"]
	s.mu.Unlock()
	if group != AgeInfant && group != AgeMinor {
		if group == "" {
			group = "untagged"
		}
		return success("skipped: the introducer is validated for infants and minors only (AGE_GROUP " + group + ")")
	}
	fields := reg.pkt.dto.Fields
	uin, rid := strings.TrimSpace(fields["introducerUIN"]), strings.TrimSpace(fields["introducerRID"])
	if uin == "" && rid == "" {
		return success("skipped: the packet names no introducer (introducerUIN, introducerRID)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	field, id := "introducerUIN", s.ids.byUIN[uin]
	if uin == "" {
		field, id = "introducerRID", s.ids.byRID[rid]
	}
	switch {
	case id == nil:
		return rejected("", "introducer not found: no identity has the packet's "+field)
	case id.status != IdentityActivated:
		return rejected("", "introducer's UIN is "+id.status+", not ACTIVATED")
	}
	return success("introducer found by " + field + ", UIN ACTIVATED")
}

// stageOpenCRVS does what OpencrvsStage.process does: the registration's
// UIN from the ID repository (none: FAILED), its perpetual VID (none:
// REPROCESS), the BRN from the packet's metaInfo (none: a warning, the
// credential goes without), then a credential request of type opencrvs
// for issuer Config.OpenCRVSPartnerID.
func (s *Sim) stageOpenCRVS(reg *registration) outcome {
	s.mu.Lock()
	var uin, vid string
	id := s.ids.byRID[reg.key.rid]
	if id != nil {
		uin, vid = id.uin, id.vid
	}
	s.mu.Unlock()
	switch {
	case id == nil:
		return failed(CodeOpenCRVSUINNotFound, "UIN_NOT_FOUND_IN_DATABASE: the ID repository has no identity for this registration")
	case vid == "":
		return outcome{status: StageReprocess, code: CodeOpenCRVSVIDNotAvailable,
			reason: "VID_NOT_AVAILABLE: the UIN has no perpetual VID; MOSIP's reprocessor would retry the stage"}
	}
	brn := metaDataValue(reg.pkt.dto.MetaInfo, MetaOpenCRVSBRN)
	requestID, err := s.issueOpenCRVSCredential(reg.key.rid, uin, vid, brn)
	if err != nil {
		s.log.Error("mosipsim: OpenCRVS credential request failed", "registration_id", reg.key.rid, "err", err)
		return outcome{status: StageReprocess, code: CodeOpenCRVSFailed, reason: "OpenCRVS request failed: the credential could not be issued"}
	}
	reason := "OpenCRVS request submitted: credential request " + requestID + " for partner " + s.cfg.OpenCRVSPartnerID
	if brn == "" {
		reason += "; warning: metaInfo metaData has no " + MetaOpenCRVSBRN + ", the credential carries none"
	}
	return outcome{status: StageSuccess, code: CodeOpenCRVSSubmitted, reason: reason}
}

// metaDataValue is the value of label (case-insensitive, as the stage
// compares) in metaInfo's metaData, a JSON list of {label, value} sent as
// a string; "" if absent.
func metaDataValue(meta map[string]string, label string) string {
	var entries []struct {
		Label string          `json:"label"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal([]byte(meta["metaData"]), &entries) != nil {
		return ""
	}
	for _, e := range entries {
		if !strings.EqualFold(e.Label, label) {
			continue
		}
		var str string
		if json.Unmarshal(e.Value, &str) == nil {
			return strings.TrimSpace(str)
		}
		var n json.Number
		if json.Unmarshal(e.Value, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// issueOpenCRVSCredential makes the credential service's answer to the
// stage's request {id: <VID>, credentialType: opencrvs, issuer: <partner>,
// encryptionKey: <PIN>, additionalData: {opencrvsBRN}}: MOSIP's formatted
// credential of the VID sharing the UIN (the partner policy the
// integration's README asks for), encrypted to the partner certificate and
// published on "<partner>/CREDENTIAL_ISSUED" with the additional data in
// event.data. It returns the credential request id (event.transactionId).
func (s *Sim) issueOpenCRVSCredential(rid, uin, vid, brn string) (string, error) {
	partner := s.cfg.OpenCRVSPartnerID
	now := mosip.FormatTime(s.now())
	plain, err := canonicalJSON(map[string]any{
		"id":                  "http://mosip.io/credentials/" + newUUID(),
		"type":                []any{"MOSIPVerifiableCredential"},
		"issuer":              "https://mosip.io/issuers/",
		"issuanceDate":        now,
		"issuedTo":            partner,
		"consent":             "",
		"credentialSubject":   map[string]any{"id": vid, "UIN": uin},
		"protectedAttributes": []any{},
	})
	if err != nil {
		return "", err
	}
	enc, err := mosip.EncryptCredential(s.cfg.PartnerCert, plain)
	if err != nil {
		return "", fmt.Errorf("mosipsim: encrypt OpenCRVS credential %s: %w", rid, err)
	}
	sig, err := s.signDetached(jose.ES256, s.eventKey, kidCredentialService, plain)
	if err != nil {
		return "", fmt.Errorf("mosipsim: sign OpenCRVS credential %s: %w", rid, err)
	}
	proof, _ := json.Marshal(map[string]string{"signature": sig})
	s.rngMu.Lock()
	pin := fmt.Sprintf("%06d", s.rng.IntN(1000000))
	s.rngMu.Unlock()
	requestID := newUUID()
	topic := partner + "/" + TopicCredentialIssued
	body, err := json.Marshal(mosip.CredentialEvent{
		Publisher:   "CREDENTIAL_SERVICE",
		Topic:       topic,
		PublishedOn: now,
		Event: mosip.CredentialMsg{
			ID:            newUUID(),
			TransactionID: requestID,
			Type:          mosip.EventType{Namespace: "mosip", Name: "mosip"},
			Timestamp:     now,
			Data: mosip.CredentialData{
				Credential:     enc,
				OpencrvsBRN:    brn,
				Proof:          proof,
				CredentialType: CredentialTypeOpenCRVS,
				ProtectionKey:  pin,
			},
		},
	})
	if err != nil {
		return "", fmt.Errorf("mosipsim: encode OpenCRVS credential event %s: %w", rid, err)
	}
	s.route(topic, body)
	s.log.Info("mosipsim: OpenCRVS credential issued", "registration_id", rid, "topic", topic, "credential_request_id", requestID)
	return requestID, nil
}
