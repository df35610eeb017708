package mosipsim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// The registration processor: each process has a route of stages, as
// MOSIP's camel routes for crvs_new, crvs_death and crvs_update.

// Stage names (MOSIP's).
const (
	StageSecurezone      = "SecurezoneNotificationStage"
	StagePacketValidator = "PacketValidatorStage"
	StageClassifier      = "PacketClassifierStage"
	StageCMDValidator    = "CMDValidatorStage"
	StageOperator        = "OperatorValidatorStage"
	StageSupervisor      = "SupervisorValidatorStage"
	StageDemoDedupe      = "DemodedupStage"
	StageUINGenerator    = "UinGeneratorStage"
	StageFinalization    = "FinalizationStage"
	StageCredential      = "CredentialRequestorStage"

	// Stages of the OPENCRVS_NEW route (opencrvs.go).
	StagePacketReceiver = "PacketReceiverStage"
	StagePacketUploader = "PacketUploaderStage"
	StageIntroducer     = "IntroducerValidatorStage"
	StagePrinting       = "PrintingStage"
	StageOpenCRVS       = "OpencrvsStage"
)

// AGE_GROUP tags of the packet classifier.
const (
	AgeInfant = "INFANT" // under 5
	AgeMinor  = "MINOR"  // under 18
	AgeAdult  = "ADULT"
)

// CodePacketNotFound is the registration processor's "Packet Not Found in
// Packet Store".
const CodePacketNotFound = "RPR-FAC-003"

type stage struct {
	name string
	run  func(s *Sim, reg *registration) outcome
}

type outcome struct {
	status string
	code   string
	reason string
	stage  string // overrides the stage name in the history
}

func success(reason string) outcome { return outcome{status: StageSuccess, reason: reason} }
func rejected(code, reason string) outcome {
	return outcome{status: StageRejected, code: code, reason: reason}
}
func failed(code, reason string) outcome {
	return outcome{status: StageFailed, code: code, reason: reason}
}

// routeFor is the stage list of a process; nil when MOSIP has no route
// for it.
func routeFor(process string) []stage {
	switch process {
	case "OPENCRVS_NEW":
		return openCRVSRoute()
	case "CRVS_NEW", "NEW":
		return []stage{
			{StageSecurezone, (*Sim).stageSecurezone},
			{StagePacketValidator, (*Sim).stageValidator},
			{StageClassifier, (*Sim).stageClassifier},
			{StageCMDValidator, (*Sim).stageCMDValidator},
			{StageOperator, (*Sim).stageOperator},
			{StageDemoDedupe, (*Sim).stageDedupe},
			{StageUINGenerator, (*Sim).stageNewUIN},
			{StageFinalization, (*Sim).stageFinalization},
			{StageCredential, (*Sim).stageCredential},
		}
	case "CRVS_DEATH":
		return []stage{
			{StageSecurezone, (*Sim).stageSecurezone},
			{StagePacketValidator, (*Sim).stageValidator},
			{StageClassifier, (*Sim).stageClassifier},
			{StageCMDValidator, (*Sim).stageCMDValidator},
			{StageOperator, (*Sim).stageOperator},
			{StageUINGenerator, (*Sim).stageDeath},
			{StageFinalization, (*Sim).stageFinalization},
			{StageCredential, (*Sim).stageCredential},
		}
	case "CRVS_UPDATE", "UPDATE":
		return []stage{
			{StageSecurezone, (*Sim).stageSecurezone},
			{StagePacketValidator, (*Sim).stageValidator},
			{StageDemoDedupe, (*Sim).stageDedupe},
			{StageUINGenerator, (*Sim).stageUpdate},
			{StageFinalization, (*Sim).stageFinalization},
			{StageCredential, (*Sim).stageCredential},
		}
	}
	return nil
}

func knownProcesses() []string {
	return []string{"CRVS_NEW", "CRVS_DEATH", "CRVS_UPDATE", "NEW", "UPDATE", "OPENCRVS_NEW"}
}

// requiredAgeGroup is what the CMD validator insists on: the crvs_new
// route only takes infants.
func requiredAgeGroup(process string) string {
	if process == "CRVS_NEW" {
		return AgeInfant
	}
	return ""
}

func isNew(process string) bool {
	return process == "CRVS_NEW" || process == "NEW" || process == "OPENCRVS_NEW"
}

func (s *Sim) runStage(ctx context.Context, reg *registration) {
	if ctx.Err() != nil {
		return
	}
	started := s.now()
	s.mu.Lock()
	reg.status = mosip.StatusProcessing
	reg.updatedAt = started
	idx := reg.next
	s.mu.Unlock()

	var name string
	var out outcome
	switch {
	case len(reg.route) == 0:
		name = StageSecurezone
		out = failed("", fmt.Sprintf("no registration processor route for process %q (known: %s)",
			truncate(reg.key.process, 64), strings.Join(knownProcesses(), ", ")))
	case idx == reg.failAt:
		name = reg.route[idx].name
		out = failed("", "injected failure (failRate)")
	default:
		name = reg.route[idx].name
		out = reg.route[idx].run(s, reg)
	}
	if out.stage != "" {
		name = out.stage
	}
	ended := s.now()

	s.mu.Lock()
	reg.history = append(reg.history, StageRecord{
		Stage: name, Status: out.status, Code: out.code, Reason: out.reason, StartedAt: started, EndedAt: ended,
	})
	reg.updatedAt = ended
	final := ""
	switch out.status {
	case StageSuccess:
		reg.next++
		if reg.next == len(reg.route) {
			final = mosip.StatusProcessed
		}
	case StageRejected:
		final = mosip.StatusRejected
	case StageReprocess:
		final = mosip.StatusReprocess
	default:
		final = mosip.StatusFailed
	}
	if final != "" {
		s.finishLocked(reg, final)
	}
	s.mu.Unlock()

	if out.status != StageSuccess {
		s.log.Info("mosipsim: stage ended the registration", "registration_id", reg.key.rid, "process", reg.key.process,
			"stage", name, "status", out.status, "code", out.code, "reason", out.reason)
	}
	if final == "" {
		s.scheduleStage(reg)
	} else {
		s.log.Info("mosipsim: registration finished", "registration_id", reg.key.rid, "process", reg.key.process, "status", final)
	}
}

// finishLocked ends a registration. Called with s.mu held.
func (s *Sim) finishLocked(reg *registration, status string) {
	reg.status = status
	if status != mosip.StatusProcessed && reg.dedupeKey != "" {
		if e := s.ids.dedupe[reg.dedupeKey]; e.rid == reg.key.rid && e.uin == "" {
			delete(s.ids.dedupe, reg.dedupeKey)
		}
	}
	switch status {
	case mosip.StatusProcessed:
		s.stats.processed.Add(1)
	case mosip.StatusRejected:
		s.stats.rejected.Add(1)
	case mosip.StatusReprocess:
		// Not counted: MOSIP's reprocessor would pick it up again later.
	default:
		s.stats.failed.Add(1)
	}
	reg.pkt = nil // the packet store keeps it as long as retention allows
	s.finished.push(reg)
	for s.finished.len() > s.cfg.Retain {
		old, _ := s.finished.pop()
		if s.regs[old.key] == old {
			delete(s.regs, old.key)
		}
		if s.latest[old.key.rid] == old {
			delete(s.latest, old.key.rid)
		}
	}
}

// stageSecurezone finds the packet the workflow names: MOSIP reads it by
// (id, source, process).
func (s *Sim) stageSecurezone(reg *registration) outcome {
	s.mu.Lock()
	p := s.packets[reg.key.rid]
	s.mu.Unlock()
	switch {
	case p == nil:
		return failed(CodePacketNotFound, "Packet Not Found in Packet Store: no packet was created with this id")
	case p.dto.Process != reg.key.process:
		return failed(CodePacketNotFound, fmt.Sprintf("Packet Not Found in Packet Store: the packet was written for process %s, the workflow asks for %s",
			p.dto.Process, truncate(reg.key.process, 64)))
	case !strings.EqualFold(p.dto.Source, reg.source):
		return failed(CodePacketNotFound, fmt.Sprintf("Packet Not Found in Packet Store: the packet was written for source %s, the workflow asks for %s",
			p.dto.Source, truncate(reg.source, 64)))
	}
	reg.pkt = p
	return success("")
}

const maxReasons = 5

func (s *Sim) stageValidator(reg *registration) outcome {
	problems, notes := reg.pkt.schema.validate(reg.pkt, isNew(reg.key.process), s.now())
	if len(problems) == 0 {
		return success(strings.Join(notes, "; "))
	}
	code := CodeSchemaInvalid
	if problems[0].missing {
		code = CodeMandatoryMissing
	}
	texts := make([]string, 0, maxReasons)
	for i, p := range problems {
		if i == maxReasons {
			texts = append(texts, fmt.Sprintf("and %d more", len(problems)-maxReasons))
			break
		}
		texts = append(texts, p.text)
	}
	return rejected(code, "ID Schema Validation Failed: "+strings.Join(texts, "; "))
}

func (s *Sim) stageClassifier(reg *registration) outcome {
	dob, err := time.Parse(mosipDate, reg.pkt.dto.Fields["dateOfBirth"])
	if err != nil {
		return success("no dateOfBirth: AGE_GROUP not tagged")
	}
	group := ageGroup(dob, s.now())
	s.mu.Lock()
	reg.tags = map[string]string{"AGE_GROUP": group}
	s.mu.Unlock()
	return success("AGE_GROUP=" + group)
}

// ageGroup tags by age in completed years.
func ageGroup(dob, now time.Time) string {
	age := now.Year() - dob.Year()
	if now.Month() < dob.Month() || (now.Month() == dob.Month() && now.Day() < dob.Day()) {
		age--
	}
	switch {
	case age < 5:
		return AgeInfant
	case age < 18:
		return AgeMinor
	}
	return AgeAdult
}

func hasStage(route []stage, name string) bool {
	return slices.ContainsFunc(route, func(st stage) bool { return st.name == name })
}

func (s *Sim) stageCMDValidator(reg *registration) outcome {
	if reg.reject && !hasStage(reg.route, StageDemoDedupe) {
		return rejected("", "injected rejection (rejectRate)")
	}
	if reg.requireAge == "" {
		return success("")
	}
	s.mu.Lock()
	group := reg.tags["AGE_GROUP"]
	s.mu.Unlock()
	if group == reg.requireAge {
		return success("")
	}
	if group == "" {
		group = "untagged (no dateOfBirth)"
	}
	return rejected("", fmt.Sprintf("%s packet is allowed but received the %s packet hence rejecting", reg.requireAge, group))
}

// stageOperator needs an officer or a supervisor in metaInfo
// operationsData; the crvs routes complete as FAILED without one.
func (s *Sim) stageOperator(reg *registration) outcome {
	raw, ok := reg.pkt.dto.MetaInfo["operationsData"]
	if !ok {
		return failed("", "metaInfo.operationsData is missing: it must name an officerId or a supervisorId")
	}
	var entries []struct {
		Label string  `json:"label"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal([]byte(raw), &entries); err != nil {
		return failed("", `metaInfo.operationsData must be a JSON list of {"label","value"} sent as a string`)
	}
	find := func(label string) bool {
		for _, e := range entries {
			if e.Label == label && e.Value != nil && strings.TrimSpace(*e.Value) != "" {
				return true
			}
		}
		return false
	}
	switch {
	case find("officerId"):
		return outcome{status: StageSuccess, stage: StageOperator}
	case find("supervisorId"):
		return outcome{status: StageSuccess, stage: StageSupervisor}
	}
	return failed("", "metaInfo.operationsData has neither an officerId nor a supervisorId")
}

func (s *Sim) stageDedupe(reg *registration) outcome {
	if reg.reject {
		return rejected("", "injected rejection (rejectRate)")
	}
	if s.faults.Load().DisableDemoDedupe {
		return success("demo dedupe switched off")
	}
	update := !isNew(reg.key.process)
	fields := reg.pkt.dto.Fields
	self := ""
	s.mu.Lock()
	defer s.mu.Unlock()
	if update {
		id := s.ids.find(identityRef(fields))
		if id == nil {
			return success("identity not found; nothing to compare")
		}
		self = id.uin
		merged := maps.Clone(id.fields)
		maps.Copy(merged, fields)
		fields = merged
	}
	key := dedupeKey(fields)
	if key == "" {
		return success("not enough demographic data to compare")
	}
	if e, taken := s.ids.dedupe[key]; taken && e.rid != reg.key.rid && (self == "" || e.uin != self) {
		if e.rid == "" {
			return rejected("", "duplicate identity: demographic match with an existing identity")
		}
		return rejected("", "duplicate identity: demographic match with registration "+e.rid)
	}
	if !update {
		s.ids.dedupe[key] = dedupeEntry{rid: reg.key.rid}
		reg.dedupeKey = key
	}
	return success("no demographic match")
}

func (s *Sim) stageNewUIN(reg *registration) outcome {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	uin, vid, err := s.newUINAndVID()
	if err != nil {
		return failed("", "UIN generation failed: "+err.Error())
	}
	noVID := s.faults.Load().DisablePerpetualVID
	if noVID {
		vid = ""
	}
	id := &identity{
		uin: uin, vid: vid, status: IdentityActivated, fields: maps.Clone(reg.pkt.dto.Fields),
		dedupeKey: reg.dedupeKey, createdAt: now, updatedAt: now,
	}
	s.ids.link(id, reg.key.rid)
	if id.fields == nil {
		id.fields = map[string]string{}
	}
	id.changes = append(id.changes, IdentityChange{
		RegistrationID: reg.key.rid, Process: reg.key.process, At: now, Fields: sortedKeys(id.fields), Status: IdentityActivated,
	})
	s.ids.byUIN[uin] = id
	if vid != "" {
		s.ids.byVID[vid] = id
	}
	if reg.dedupeKey != "" {
		s.ids.dedupe[reg.dedupeKey] = dedupeEntry{rid: reg.key.rid, uin: uin}
	}
	reg.uin, reg.vid = uin, vid
	if noVID {
		return success("UIN generated without a perpetual VID (disablePerpetualVID); identity ACTIVATED")
	}
	return success("UIN and perpetual VID generated; identity ACTIVATED")
}

// withIdentity runs f, under the simulator's lock, on the identity a death
// or update packet names (by UIN, VID or national id number).
func (s *Sim) withIdentity(reg *registration, f func(id *identity, ref string, now time.Time) outcome) outcome {
	ref := identityRef(reg.pkt.dto.Fields)
	if ref == "" {
		return failed("", "UIN not found: the packet has none of the fields "+strings.Join(identityRefFields, ", "))
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.ids.find(ref)
	if id == nil {
		return failed("", "UIN not found")
	}
	return f(id, ref, now)
}

// stageDeath flags the identity deceased and applies the packet's fields,
// as MOSIP's uin generator handles CRVS_DEATH (an update). MOSIP's policy
// is flagging only: the UIN stays ACTIVATED unless Config.DeactivateOnDeath.
func (s *Sim) stageDeath(reg *registration) outcome {
	var ev *pendingEvent
	out := s.withIdentity(reg, func(id *identity, ref string, now time.Time) outcome {
		reg.uin, reg.vid = id.uin, id.vid
		if id.deceased {
			return success("identity already marked deceased; no change")
		}
		c := s.applyLocked(id, changeRequest{
			rid: reg.key.rid, process: reg.key.process, fields: packetChanges(reg.pkt.dto.Fields, ref), declareDeath: true,
		}, now)
		ev = s.eventLocked(id, c)
		if id.status == IdentityDeactivated && id.deathDeactivated {
			return success("identity marked deceased; UIN DEACTIVATED")
		}
		return success("identity marked deceased; UIN stays " + id.status)
	})
	s.publishIdentityEvent(ev)
	return out
}

// stageUpdate applies the packet's fields to the identity. A death flag
// field saying "no" reverses a death; one saying "yes" declares one.
func (s *Sim) stageUpdate(reg *registration) outcome {
	var ev *pendingEvent
	out := s.withIdentity(reg, func(id *identity, ref string, now time.Time) outcome {
		reg.uin, reg.vid = id.uin, id.vid
		wasDeceased := id.deceased
		c := s.applyLocked(id, changeRequest{
			rid: reg.key.rid, process: reg.key.process, fields: packetChanges(reg.pkt.dto.Fields, ref),
		}, now)
		if c == nil {
			return success("identity updated: no field changed")
		}
		ev = s.eventLocked(id, c)
		reason := fmt.Sprintf("identity updated: %d field(s) changed", len(c.Fields))
		switch {
		case wasDeceased && !id.deceased:
			reason += "; death reversed: deceased flag cleared, UIN " + id.status
		case !wasDeceased && id.deceased:
			reason += "; identity marked deceased, UIN " + id.status
		}
		return success(reason)
	})
	s.publishIdentityEvent(ev)
	return out
}

func (s *Sim) stageFinalization(reg *registration) outcome { return success("") }

func (s *Sim) stageCredential(reg *registration) outcome {
	death := reg.key.process == "CRVS_DEATH"
	if death && s.faults.Load().DisableDeathCredential {
		return success("death credentials are switched off")
	}
	s.mu.Lock()
	in := credentialInput{rid: reg.key.rid, uin: reg.uin, vid: reg.vid, death: death, baseURL: reg.baseURL}
	if id := s.ids.find(reg.uin); id != nil {
		in.fields = maps.Clone(id.fields)
	}
	s.mu.Unlock()
	if in.fields == nil {
		in.fields = map[string]string{}
	}
	// The packet's values win: a birth credential carries what was sent.
	maps.Copy(in.fields, reg.pkt.dto.Fields)
	if err := s.issueCredential(in); err != nil {
		s.log.Error("mosipsim: credential issuance failed", "registration_id", reg.key.rid, "err", err)
		return failed("", "credential issuance failed")
	}
	return success("credential issued to partner " + s.cfg.PartnerID)
}
