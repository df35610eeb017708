package mosipsim

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Registration processor error codes (MOSIP's PlatformErrorMessages).
const (
	CodeWorkflowMissing = "RPR-WIN-000" // Missing Request Value - <field>
	CodeWorkflowInvalid = "RPR-WIN-001" // Invalid Request Value - <field>
	CodeWorkflowUnknown = "RPR-WIS-000" // Unknown Exception

	CodeStatusMissing              = "RPR-RGS-013" // Missing Request Value - <field>
	CodeStatusInvalid              = "RPR-RGS-014" // Invalid Request Value - <field>
	CodeStatusJSON                 = "RPR-RGS-017" // JSON Parsing Failed
	CodeStatusUnknown              = "RPR-RGS-018" // Unknown Exception Found
	CodeStatusMissingVersion       = "RPR-RGS-019"
	CodeStatusMissingTime          = "RPR-RGS-020"
	CodeStatusMissingID            = "RPR-RGS-021"
	CodeStatusInvalidVersion       = "RPR-RGS-022"
	CodeStatusInvalidTime          = "RPR-RGS-023"
	CodeStatusInvalidID            = "RPR-RGS-024"
	maxStatusIDs                   = 100
	msgMissing                     = "Missing Request Value - "
	msgInvalid                     = "Invalid Request Value - "
	msgWorkflowExists              = "WorkflowInstance already present"
	statusSearchMaxBody      int64 = 256 << 10
)

type regKey struct{ rid, process string }

// registration is one workflow instance going through the processor.
type registration struct {
	key       regKey
	source    string
	wfID      string
	baseURL   string
	route     []stage
	createdAt time.Time
	failAt    int  // stage index of an injected failure, -1 for none
	reject    bool // injected rejection
	// uploaded is set for registrations the packet receiver started; brn
	// is the opencrvsBRN of their packet's metaInfo.
	uploaded bool
	brn      string

	// Guarded by Sim.mu.
	status    string
	next      int
	history   []StageRecord
	tags      map[string]string
	uin, vid  string
	updatedAt time.Time

	// Used only by the stage running; stages of one registration never
	// overlap.
	pkt        *packet
	requireAge string // AGE_GROUP the CMD validator insists on, "" for any
	dedupeKey  string // the dedupe key this registration claimed
}

// StageRecord is one stage's result in a registration's history.
type StageRecord struct {
	Stage     string    `json:"stage"`
	Status    string    `json:"status"` // SUCCESS, REJECTED, FAILED or REPROCESS
	Code      string    `json:"code,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
}

// Stage statuses.
const (
	StageSuccess  = "SUCCESS"
	StageRejected = "REJECTED"
	StageFailed   = "FAILED"
	// StageReprocess ends the registration REPROCESS: MOSIP's
	// mark-as-reprocess, for a failure its reprocessor would retry (the
	// simulator does not).
	StageReprocess = "REPROCESS"
)

// RegistrationView is a registration as /sim/registrations/{id} shows it.
type RegistrationView struct {
	RegistrationID     string            `json:"registrationId"`
	Process            string            `json:"process"`
	Source             string            `json:"source"`
	WorkflowInstanceID string            `json:"workflowInstanceId"`
	Status             string            `json:"status"`
	UIN                string            `json:"UIN,omitempty"`
	VID                string            `json:"VID,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Stages             []StageRecord     `json:"stages"`
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
	// Uploaded is true for a packet uploaded to the packet receiver (after
	// a sync) rather than created through the packet manager; OpenCRVSBRN
	// is the opencrvsBRN label of its metaInfo.
	Uploaded    bool   `json:"uploaded,omitempty"`
	OpenCRVSBRN string `json:"opencrvsBRN,omitempty"`
}

// Registration returns the latest workflow of the registration id.
func (s *Sim) Registration(id string) (RegistrationView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg := s.latest[id]
	if reg == nil {
		return RegistrationView{}, false
	}
	return RegistrationView{
		RegistrationID: reg.key.rid, Process: reg.key.process, Source: reg.source,
		WorkflowInstanceID: reg.wfID, Status: reg.status, UIN: reg.uin, VID: reg.vid,
		Tags: maps.Clone(reg.tags), Stages: slices.Clone(reg.history),
		CreatedAt: reg.createdAt, UpdatedAt: reg.updatedAt,
		Uploaded: reg.uploaded, OpenCRVSBRN: reg.brn,
	}, true
}

func (s *Sim) handleWorkflow(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.log.Info("mosipsim: workflow instance refused", "code", code, "reason", msg)
		s.mosipErrors(w, mosip.WorkflowInstanceID, mosip.WorkflowInstanceVersion, svcErr(code, msg))
	}
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		fail(CodeWorkflowInvalid, msgInvalid+"request body: "+err.Error())
		return
	}
	var req mosip.Request[*mosip.WorkflowRequest]
	if err := strictObject(body, &req); err != nil {
		fail(CodeWorkflowInvalid, msgInvalid+"request body: "+err.Error())
		return
	}
	switch {
	case req.ID == "":
		fail(CodeWorkflowMissing, msgMissing+"id")
		return
	case req.ID != mosip.WorkflowInstanceID:
		fail(CodeWorkflowInvalid, msgInvalid+"id")
		return
	case req.Version == "":
		fail(CodeWorkflowMissing, msgMissing+"version")
		return
	case req.Version != mosip.WorkflowInstanceVersion:
		fail(CodeWorkflowInvalid, msgInvalid+"version")
		return
	case req.RequestTime == "":
		fail(CodeWorkflowMissing, msgMissing+"requesttime")
		return
	}
	if _, err := time.Parse(mosip.TimeLayout, req.RequestTime); err != nil {
		fail(CodeWorkflowInvalid, msgInvalid+"requesttime")
		return
	}
	wr := req.Request
	switch {
	case wr == nil:
		fail(CodeWorkflowMissing, msgMissing+"request")
		return
	case wr.RegistrationID == "":
		fail(CodeWorkflowMissing, msgMissing+"registrationId")
		return
	case !packetIDPattern.MatchString(wr.RegistrationID):
		fail(CodeWorkflowInvalid, msgInvalid+"registrationId")
		return
	case wr.Process == "":
		fail(CodeWorkflowMissing, msgMissing+"process")
		return
	case wr.Source == "":
		fail(CodeWorkflowMissing, msgMissing+"source")
		return
	}

	reg, started := s.startRegistration(regKey{rid: wr.RegistrationID, process: wr.Process}, wr.Source, s.baseURL(r), nil)
	if !started {
		fail(mosip.CodeWorkflowExists, msgWorkflowExists)
		return
	}
	s.writeMOSIP(w, http.StatusOK, mosip.WorkflowInstanceID, mosip.WorkflowInstanceVersion,
		mosip.WorkflowResponse{WorkflowInstanceID: reg.wfID}, nil)
}

// startRegistration queues a workflow instance of key (status RESUMABLE)
// and schedules its first stage; prepare, if not nil, fills in the
// registration before anyone else can see it. started is false if the
// workflow of key exists already.
func (s *Sim) startRegistration(key regKey, source, baseURL string, prepare func(*registration)) (reg *registration, started bool) {
	now := s.now()
	reg = &registration{
		key:       key,
		source:    source,
		wfID:      newUUID(),
		baseURL:   baseURL,
		createdAt: now,
		failAt:    -1,
		status:    mosip.StatusResumable,
		updatedAt: now,
	}
	reg.route = routeFor(key.process)
	reg.requireAge = requiredAgeGroup(key.process)
	f := s.faults.Load()
	if len(reg.route) > 0 && s.chance(f.FailRate) {
		reg.failAt = s.intN(len(reg.route))
	}
	reg.reject = s.chance(f.RejectRate)
	if prepare != nil {
		prepare(reg)
	}

	s.mu.Lock()
	if _, dup := s.regs[reg.key]; dup {
		s.mu.Unlock()
		return nil, false
	}
	s.regs[reg.key] = reg
	s.latest[reg.key.rid] = reg
	s.mu.Unlock()
	s.stats.workflows.Add(1)
	s.log.Info("mosipsim: workflow instance started", "registration_id", reg.key.rid, "process", reg.key.process,
		"workflow_instance_id", reg.wfID)
	s.scheduleStage(reg)
	return reg, true
}

func (s *Sim) scheduleStage(reg *registration) {
	s.proc.after(s.cfg.StageDelay, func(ctx context.Context) { s.runStage(ctx, reg) })
}

func (s *Sim) handleStatusSearch(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.mosipErrors(w, mosip.StatusSearchID, mosip.StatusSearchVersion, svcErr(code, msg))
	}
	body, err := readBody(w, r, statusSearchMaxBody)
	if err != nil {
		fail(CodeStatusInvalid, msgInvalid+"request body: "+err.Error())
		return
	}
	var req mosip.Request[[]*mosip.StatusQuery]
	if err := strictObject(body, &req); err != nil {
		fail(CodeStatusJSON, "JSON Parsing Failed: "+err.Error())
		return
	}
	if code, msg := checkRegprocHeader(req.ID, req.Version, req.RequestTime, mosip.StatusSearchID, mosip.StatusSearchVersion); code != "" {
		fail(code, msg)
		return
	}
	switch {
	case len(req.Request) == 0:
		fail(CodeStatusMissing, msgMissing+"request")
		return
	case len(req.Request) > maxStatusIDs:
		fail(CodeStatusInvalid, msgInvalid+"request holds more than 100 registration ids")
		return
	}
	out := make([]mosip.RegistrationStatus, 0, len(req.Request))
	s.mu.Lock()
	for _, q := range req.Request {
		if q == nil {
			continue
		}
		if reg := s.latest[q.RegistrationID]; reg != nil {
			out = append(out, mosip.RegistrationStatus{RegistrationID: reg.key.rid, StatusCode: reg.status})
		}
	}
	s.mu.Unlock()
	s.writeMOSIP(w, http.StatusOK, mosip.StatusSearchID, mosip.StatusSearchVersion, out, nil)
}

// checkRegprocHeader checks the id, version and requesttime of a
// registration status request (search or sync) as MOSIP does, giving the
// code and message of the first problem; code is "" when all are right.
func checkRegprocHeader(id, version, requestTime, wantID, wantVersion string) (code, msg string) {
	switch {
	case id == "":
		return CodeStatusMissingID, "Missing Request Parameter - id"
	case id != wantID:
		return CodeStatusInvalidID, "Invalid Request Parameter - id"
	case version == "":
		return CodeStatusMissingVersion, "Missing Request Value - version"
	case version != wantVersion:
		return CodeStatusInvalidVersion, "Invalid Request Parameter - version"
	case requestTime == "":
		return CodeStatusMissingTime, "Missing Request Parameter - requesttime"
	}
	if _, err := time.Parse(mosip.TimeLayout, requestTime); err != nil {
		return CodeStatusInvalidTime, "Invalid Request Parameter - requesttime"
	}
	return "", ""
}
