package opencrvssim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Kinds and modes of POST /sim/records.
const (
	KindBirth           = "birth"
	KindDeath           = "death"
	KindBirthCorrection = "birth-correction"
	KindDeathCorrection = "death-correction"
	ModeFHIR            = "fhir"
	ModeMapped          = "mapped"
)

// sendRequest is the body of POST /sim/records.
type sendRequest struct {
	Kind          string          `json:"kind"`
	Mode          string          `json:"mode"`
	Authenticated *bool           `json:"authenticated"`
	Bundle        json.RawMessage `json:"bundle"`
	// Of names the birth whose child died (kind death) or the record a
	// correction corrects.
	Of string `json:"of"`
	// Changes makes a correction change the data (default true).
	Changes *bool `json:"changes"`
	// Version is the OpenCRVS version to send as: "1.8" or "1.9" (default:
	// Config.DefaultVersion).
	Version string `json:"version"`
	// Delivery is "mediator" (the default: the country config's
	// event-registration hook) or DeliveryWebhook.
	Delivery string `json:"delivery"`
	// DeceasedNationalID, for a generated death without "of", is the
	// deceased's national ID (UIN or VID) instead of a random one: a person
	// MOSIP knows (the split design's deaths, whose births OpenCRVS holds
	// only a UIN token of).
	DeceasedNationalID string `json:"deceasedNationalId"`

	modeGiven bool
}

// isCorrection reports whether kind is a correction kind.
func isCorrection(kind string) bool {
	return kind == KindBirthCorrection || kind == KindDeathCorrection
}

// decodeSendRequest reads and checks a POST /sim/records body. Kind stays
// empty when absent so that a given bundle can decide it.
func decodeSendRequest(body []byte) (sendRequest, error) {
	var req sendRequest
	if err := decodeStrict(body, &req); err != nil {
		return req, err
	}
	switch req.Kind {
	case "", KindBirth, KindDeath, KindBirthCorrection, KindDeathCorrection:
	default:
		return req, fmt.Errorf("kind %q: want %q, %q, %q or %q", req.Kind, KindBirth, KindDeath, KindBirthCorrection, KindDeathCorrection)
	}
	switch req.Delivery {
	case "", "mediator", DeliveryWebhook:
	default:
		return req, fmt.Errorf("delivery %q: want \"mediator\" or %q", req.Delivery, DeliveryWebhook)
	}
	req.modeGiven = req.Mode != ""
	switch req.Mode {
	case "":
		req.Mode = ModeFHIR
	case ModeFHIR, ModeMapped, ModeEvent:
	default:
		return req, fmt.Errorf("mode %q: want %q, %q or %q (1.9)", req.Mode, ModeFHIR, ModeMapped, ModeEvent)
	}
	if isNull(req.Bundle) {
		req.Bundle = nil
	} else if t := bytes.TrimSpace(req.Bundle); t[0] != '{' {
		return req, errors.New("bundle must be a JSON object")
	}
	correction := isCorrection(req.Kind)
	switch {
	case correction && req.Of == "":
		return req, fmt.Errorf("a %s needs \"of\": the id of the registered record it corrects", req.Kind)
	case req.Of != "" && req.Kind != KindDeath && !correction:
		return req, errors.New(`"of" names the birth of a death's deceased ("kind":"death") or the record a correction corrects; give one of those kinds`)
	case req.DeceasedNationalID != "" && (req.Kind != KindDeath || req.Of != ""):
		return req, errors.New(`"deceasedNationalId" is for a generated death without "of" ("kind":"death")`)
	case req.Bundle != nil && (req.Of != "" || correction):
		return req, errors.New(`a death with "of" and a correction are generated from the earlier record: give "of", not a bundle`)
	case req.Changes != nil && !correction:
		return req, errors.New(`"changes" applies to a birth-correction or death-correction only`)
	case req.Authenticated != nil && correction:
		return req, errors.New(`"authenticated" does not apply to a correction: it repeats the form answers of the record it corrects`)
	}
	return req, nil
}

// outgoing is a record ready to go to the mediator.
type outgoing struct {
	id, trackingID, kind, mode string
	version, actionID          string // Version18 or Version19; 1.9: the REGISTER action
	sub                        string // registrar's user id, the token's sub
	payload                    []byte
	// subject is the child or the deceased as payload states them (nil
	// when a given document could not be read).
	subject *person
	// deathOf and correctionOf link the record to the birth whose child
	// died or to the record it corrects; changes lists what a correction
	// changed.
	deathOf, correctionOf string
	changes               []string
}

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirCoding struct {
	Coding []struct {
		Code string `json:"code"`
	} `json:"coding"`
}

// inspectBundle finds the record id (Composition id), tracking id and kind
// of a caller's FHIR bundle without changing it. Only the Composition and
// the Task are read; other resources may have any shape.
func inspectBundle(raw json.RawMessage) (id, trackingID, kind string, err error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", "", "", fmt.Errorf("bundle is not a FHIR bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return "", "", "", fmt.Errorf("bundle resourceType is %q, want \"Bundle\"", b.ResourceType)
	}
	var taskKind, taskTracking string
	found := false
	for i, e := range b.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &head) != nil {
			continue
		}
		switch head.ResourceType {
		case "Composition":
			if found {
				continue
			}
			var c struct {
				ID         string         `json:"id"`
				Identifier fhirIdentifier `json:"identifier"`
				Type       fhirCoding     `json:"type"`
			}
			if err := json.Unmarshal(e.Resource, &c); err != nil {
				return "", "", "", fmt.Errorf("bundle entry %d: Composition: %w", i, err)
			}
			found = true
			id, trackingID = c.ID, c.Identifier.Value
			if len(c.Type.Coding) > 0 {
				code := c.Type.Coding[0].Code
				switch {
				case strings.HasPrefix(code, "birth-"):
					kind = KindBirth
				case strings.HasPrefix(code, "death-"):
					kind = KindDeath
				}
			}
		case "Task":
			var task struct {
				Identifier []fhirIdentifier `json:"identifier"`
				Code       fhirCoding       `json:"code"`
			}
			if json.Unmarshal(e.Resource, &task) != nil {
				continue
			}
			if len(task.Code.Coding) > 0 && taskKind == "" {
				taskKind = strings.ToLower(task.Code.Coding[0].Code)
			}
			for _, ident := range task.Identifier {
				if strings.HasSuffix(ident.System, "-tracking-id") && taskTracking == "" {
					taskTracking = ident.Value
				}
			}
		}
	}
	if !found || id == "" {
		return "", "", "", errors.New("bundle has no Composition with an id (the record id)")
	}
	if trackingID == "" {
		trackingID = taskTracking
	}
	if kind == "" && (taskKind == KindBirth || taskKind == KindDeath) {
		kind = taskKind
	}
	if kind == "" {
		return "", "", "", errors.New("bundle is neither a birth nor a death: no Composition type birth-* or death-*, no Task code BIRTH or DEATH")
	}
	return id, trackingID, kind, nil
}

// inspectMapped reads the record id, tracking id and kind of a caller's
// mapped payload. A payload without compositionId gets a fresh record id
// (the payload itself is not changed; only the token carries it).
func inspectMapped(raw json.RawMessage) (id, trackingID, kind string, err error) {
	var p struct {
		CompositionID string `json:"compositionId"`
		TrackingID    string `json:"trackingId"`
		RequestFields struct {
			BirthCertificateNumber any `json:"birthCertificateNumber"`
			DeathCertificateNumber any `json:"deathCertificateNumber"`
		} `json:"requestFields"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", "", "", fmt.Errorf("bundle is not a mapped payload: %w", err)
	}
	id = p.CompositionID
	if id == "" {
		id = newUUID()
	}
	switch {
	case p.RequestFields.DeathCertificateNumber != nil:
		kind = KindDeath
	case p.RequestFields.BirthCertificateNumber != nil:
		kind = KindBirth
	}
	return id, p.TrackingID, kind, nil
}

// prepare builds the outgoing record: the caller's document, or a generated
// one.
func (s *Sim) prepare(req sendRequest) (outgoing, error) {
	version, err := s.versionOf(req)
	if err != nil {
		return outgoing{}, err
	}
	if version == Version19 {
		return s.prepare19(req)
	}
	if req.Bundle != nil {
		inspect := inspectBundle
		if req.Mode == ModeMapped {
			inspect = inspectMapped
		}
		id, trackingID, kind, err := inspect(req.Bundle)
		if err != nil {
			return outgoing{}, err
		}
		if kind == "" {
			kind = req.Kind
		}
		if kind == "" {
			kind = KindBirth
		}
		if req.Kind != "" && req.Kind != kind {
			return outgoing{}, fmt.Errorf("kind %q contradicts the bundle, which is a %s", req.Kind, kind)
		}
		return outgoing{
			id: id, trackingID: trackingID, kind: kind, mode: req.Mode, version: Version18,
			sub: defaultSubject(), payload: req.Bundle,
			subject: readSubject(req.Bundle, req.Mode, kind),
		}, nil
	}
	if isCorrection(req.Kind) {
		return s.prepareCorrection(req)
	}

	kind, d, trackingID, err := s.generate(req)
	if err != nil {
		return outgoing{}, err
	}
	o := outgoing{id: newUUID(), trackingID: trackingID, kind: kind, mode: req.Mode, version: Version18,
		sub: userID(registrars[d.registrar].username), subject: d.subjectSummary(), deathOf: req.Of}
	var doc obj
	if req.Mode == ModeMapped {
		doc = buildMapped(d, o.id, trackingID)
	} else {
		doc = buildBundle(d, o.id, trackingID)
	}
	if o.payload, err = json.Marshal(doc); err != nil {
		return outgoing{}, fmt.Errorf("opencrvssim: encode %s record: %w", kind, err)
	}
	return o, nil
}

// reserveTrackingID draws a tracking id no record of this simulator has.
func (s *Sim) reserveTrackingID(kind string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 64 { // 36^6 ids: a second draw is already rare
		t := randomTrackingID(kind)
		if _, used := s.trackingIDs[t]; !used {
			s.trackingIDs[t] = struct{}{}
			return t, nil
		}
	}
	return "", errors.New("opencrvssim: no free tracking id after 64 draws")
}

var errAlreadySent = errors.New("record already sent")

// admit stores the record as waiting before it leaves, so that a mediator
// that confirms faster than it answers finds it. A rejected record may be
// sent again (OpenCRVS lets a registrar retry); others may not.
func (s *Sim) admit(o outgoing) (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[o.id]
	switch {
	case ok && rec.status != StatusRejected:
		return nil, fmt.Errorf("%w: record %s is %s", errAlreadySent, o.id, rec.status)
	case ok:
		rec.trackingID, rec.kind, rec.mode, rec.subject = o.trackingID, o.kind, o.mode, o.subject
		rec.version, rec.actionID = cmp.Or(o.version, Version18), o.actionID
		rec.status, rec.reason, rec.comment = StatusWaiting, "", ""
		rec.mediatorStatus, rec.mediator = 0, nil
		rec.changed = make(chan struct{})
	default:
		rec = &record{
			id: o.id, trackingID: o.trackingID, kind: o.kind, mode: o.mode, subject: o.subject,
			version: cmp.Or(o.version, Version18), actionID: o.actionID,
			correctionOf: o.correctionOf, changes: o.changes, deathOf: o.deathOf,
			status: StatusWaiting, changed: make(chan struct{}),
		}
		s.records[o.id] = rec
		if orig, ok := s.records[o.correctionOf]; ok && o.correctionOf != "" {
			orig.corrections = append(orig.corrections, o.id)
		}
		if birth, ok := s.records[o.deathOf]; ok && o.deathOf != "" {
			birth.deaths = append(birth.deaths, o.id)
		}
	}
	if o.trackingID != "" {
		s.trackingIDs[o.trackingID] = struct{}{}
	}
	s.keepDocument(rec, o.payload)
	s.counts.sent++
	return rec, nil
}

// deliver posts the record to the mediator as OpenCRVS (1.8 workflow, or the
// country config's @opencrvs/mosip client) does.
func (s *Sim) deliver(o outgoing, token string) (int, json.RawMessage, error) {
	if s.mediatorURL == "" {
		return 0, nil, errors.New("no mediator URL configured")
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.mediatorURL+"/events/registration", bytes.NewReader(o.payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMediatorAns+1))
	if err != nil || len(body) > maxMediatorAns || !json.Valid(body) {
		return resp.StatusCode, nil, nil
	}
	return resp.StatusCode, json.RawMessage(body), nil
}

// sendView is the answer of POST /sim/records.
type sendView struct {
	ID             string          `json:"id"`
	TrackingID     string          `json:"trackingId"`
	Kind           string          `json:"kind"`
	Mode           string          `json:"mode"`
	Version        string          `json:"version"`
	CorrectionOf   *string         `json:"correctionOf"`
	Changed        []string        `json:"changed"`
	DeathOf        *string         `json:"deathOf"`
	Status         string          `json:"status"`
	MediatorStatus int             `json:"mediatorStatus"`
	Mediator       json.RawMessage `json:"mediator"`
	// Delivery, RegistrationNumber and Subscribers are set for
	// "delivery":"webhook": the record is registered, and Subscribers are
	// the deliveries to the subscribers of its topic ([] for none).
	Delivery           string          `json:"delivery,omitempty"`
	RegistrationNumber string          `json:"registrationNumber,omitempty"`
	Subscribers        []webhookResult `json:"subscribers,omitzero"`
}

func (s *Sim) handleSendRecord(w http.ResponseWriter, r *http.Request) {
	if s.ctx.Err() != nil {
		writeProblem(w, http.StatusServiceUnavailable, "simulator closed", "the simulator is shutting down and sends no more records")
		return
	}
	body, tooLarge, err := readBody(w, r, maxRecordBody)
	if err != nil {
		if tooLarge {
			writeProblem(w, http.StatusRequestEntityTooLarge, "body too large", "the record request is above 16 MiB")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	req, err := decodeSendRequest(body)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid record request", err.Error())
		return
	}
	if req.Delivery == DeliveryWebhook {
		s.handleWebhookRecord(w, req)
		return
	}
	o, err := s.prepare(req)
	if err != nil {
		var unusable *unusableError
		if errors.As(err, &unusable) {
			writeProblem(w, http.StatusConflict, "record not usable", err.Error())
			return
		}
		writeProblem(w, http.StatusBadRequest, "invalid record", err.Error())
		return
	}
	token, err := s.tokenFor(o) // record token (1.8) or action token (1.9)
	if err != nil {
		s.log.Error("opencrvssim: record token", "record_id", o.id, "error", err)
		writeProblem(w, http.StatusInternalServerError, "token not minted", "the simulator could not sign the record token")
		return
	}
	rec, err := s.admit(o)
	if err != nil {
		writeProblem(w, http.StatusConflict, "record already sent",
			err.Error()+"; only a rejected record can be sent again (give the bundle a new Composition id)")
		return
	}

	status, answer, sendErr := s.deliver(o, token)

	s.mu.Lock()
	rec.mediatorStatus, rec.mediator = status, answer
	failed := sendErr != nil || status < 200 || status > 299
	if failed {
		s.counts.mediatorFailures++
		if rec.status == StatusWaiting {
			rec.status = StatusRejected
			rec.reason = ReasonRegNumberGenerationFailed
			if sendErr != nil {
				rec.comment = "mediator unreachable: " + sendErr.Error()
			} else {
				rec.comment = fmt.Sprintf("mediator answered HTTP %d", status)
			}
			close(rec.changed)
		}
	}
	view := sendView{
		ID: rec.id, TrackingID: rec.trackingID, Kind: rec.kind, Mode: rec.mode, Version: rec.version,
		CorrectionOf: optional(rec.correctionOf), Changed: slices.Clone(rec.changes), DeathOf: optional(rec.deathOf),
		Status: rec.status, MediatorStatus: status, Mediator: answer,
	}
	s.mu.Unlock()

	if failed {
		s.log.Warn("opencrvssim: mediator did not accept record", "record_id", o.id, "tracking_id", o.trackingID,
			"mediator_status", status, "error", sendErr)
	} else {
		s.log.Debug("opencrvssim: record sent", "record_id", o.id, "tracking_id", o.trackingID,
			"kind", o.kind, "mode", o.mode, "mediator_status", status)
	}
	writeJSON(w, http.StatusAccepted, view)
}

// generate makes the declaration of a record the simulator invents (a
// birth, a death, or the death of the child of the birth req.Of) and
// reserves its tracking id.
func (s *Sim) generate(req sendRequest) (kind string, d *declaration, trackingID string, err error) {
	kind = req.Kind
	if kind == "" {
		kind = KindBirth
	}
	authenticated := req.Authenticated == nil || *req.Authenticated
	now := s.now()
	var deceased *person
	if req.Of != "" {
		if deceased, err = s.deceasedOf(req.Of); err != nil {
			return "", nil, "", err
		}
	}
	s.genMu.Lock()
	switch {
	case deceased != nil:
		d = s.gen.deathOf(now, authenticated, deceased)
	case kind == KindDeath:
		d = s.gen.death(now, authenticated)
		if req.DeceasedNationalID != "" {
			d.subject.nid = req.DeceasedNationalID
		}
	default:
		d = s.gen.birth(now, authenticated)
	}
	s.genMu.Unlock()
	trackingID, err = s.reserveTrackingID(kind)
	return kind, d, trackingID, err
}
