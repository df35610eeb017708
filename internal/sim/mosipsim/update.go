package mosipsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Identity changes: the history every identity keeps, the identity update
// events, the ID repository's PATCH and the simulated resident update.

// Processes of changes that come from no registration packet.
const (
	// ProcessSeed created an identity through /sim/identities.
	ProcessSeed = "SIM_SEED"
	// ProcessIDRepoUpdate is PATCH /idrepository/v1/identity/.
	ProcessIDRepoUpdate = "ID_REPO_UPDATE"
	// ProcessResidentUpdate is a resident updating their data in MOSIP
	// (POST /sim/identities/{id}/update).
	ProcessResidentUpdate = "RESIDENT_UPDATE"
)

// Pseudo attributes listed among the changed attributes of an event.
const (
	attrStatus   = "status"
	attrDeceased = "deceased"
)

// IdentityChange is one entry of an identity's history.
type IdentityChange struct {
	// RegistrationID is the packet or request that made the change; empty
	// for a seeded identity or a resident update sent without one.
	RegistrationID string    `json:"registrationId,omitempty"`
	Process        string    `json:"process"`
	At             time.Time `json:"at"`
	// Fields are the names of the fields set or cleared, sorted (all of
	// them for the creation).
	Fields []string `json:"fields"`
	// Status is the UIN status the change set; empty if it did not change
	// it.
	Status string `json:"status,omitempty"`
	// Deceased is the deceased flag the change set; nil if it did not
	// change it.
	Deceased *bool `json:"deceased,omitempty"`
	// EventID is the id of the identity update event published for the
	// change (creations publish none).
	EventID string `json:"eventId,omitempty"`
}

func (c IdentityChange) clone() IdentityChange {
	c.Fields = slices.Clone(c.Fields)
	if c.Deceased != nil {
		c.Deceased = new(*c.Deceased)
	}
	return c
}

// attributes are the changed attributes as events list them: the fields,
// then "status" and "deceased" if they changed.
func (c IdentityChange) attributes() []string {
	out := slices.Clone(c.Fields)
	if c.Status != "" {
		out = append(out, attrStatus)
	}
	if c.Deceased != nil {
		out = append(out, attrDeceased)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// changeRequest is one change to apply to an identity.
type changeRequest struct {
	rid, process string
	fields       map[string]string // values to set
	status       string            // "" keeps the status
	declareDeath bool              // CRVS_DEATH: flag deceased whatever the fields say
}

// packetChanges are the fields of a death or update packet that change the
// identity: all but the references to it.
func packetChanges(fields map[string]string, ref string) map[string]string {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if k == "UIN" || k == "VID" || k == "vid" || (k == "nationalIdNumber" && v == ref) {
			continue
		}
		out[k] = v
	}
	return out
}

// deathFlag reads the first death flag field present: set reports whether
// one was present with a value understood, deceased what it says.
func (s *Sim) deathFlag(fields map[string]string) (set, deceased bool) {
	for _, name := range s.cfg.DeathFlagFields {
		v, ok := fields[name]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		if list, ok := parseSimple(v); ok && len(list) > 0 {
			v = *list[0].Value
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "yes", "y", "true", "1":
			return true, true
		case "no", "n", "false", "0":
			return true, false
		}
		return false, false
	}
	return false, false
}

// deathDate is the first non-empty death date field.
func (s *Sim) deathDate(fields map[string]string) string {
	for _, name := range s.cfg.DeathDateFields {
		if v := strings.TrimSpace(fields[name]); v != "" {
			return v
		}
	}
	return ""
}

// applyLocked applies a change to an identity, links its registration id
// and records it in the history. It returns the change, nil when nothing
// changed. Called with s.mu held.
func (s *Sim) applyLocked(id *identity, req changeRequest, now time.Time) *IdentityChange {
	c := IdentityChange{RegistrationID: req.rid, Process: req.process, At: now}
	for _, k := range sortedKeys(req.fields) {
		if old, ok := id.fields[k]; !ok || old != req.fields[k] {
			id.fields[k] = req.fields[k]
			c.Fields = append(c.Fields, k)
		}
	}

	flagSet, flagDeceased := s.deathFlag(req.fields)
	oldStatus := id.status
	switch {
	case (req.declareDeath || (flagSet && flagDeceased)) && !id.deceased:
		id.deceased = true
		id.dateOfDeath = s.deathDate(req.fields)
		if s.cfg.DeactivateOnDeath && id.status == IdentityActivated {
			id.status = IdentityDeactivated
			id.deathDeactivated = true
		}
		c.Deceased = new(true)
		s.stats.deaths.Add(1)
	case flagSet && !flagDeceased && id.deceased:
		// A death reversed: the flag and the date go, and a UIN the death
		// deactivated is active again.
		id.deceased = false
		id.dateOfDeath = ""
		for _, name := range s.cfg.DeathDateFields {
			if _, sent := req.fields[name]; !sent {
				if _, ok := id.fields[name]; ok {
					delete(id.fields, name)
					c.Fields = append(c.Fields, name)
				}
			}
		}
		sort.Strings(c.Fields)
		if id.deathDeactivated && id.status == IdentityDeactivated {
			id.status = IdentityActivated
		}
		id.deathDeactivated = false
		c.Deceased = new(false)
		s.stats.deathReversals.Add(1)
	case id.deceased:
		// A corrected date of death.
		if d := s.deathDate(req.fields); d != "" {
			id.dateOfDeath = d
		}
	}
	if req.status != "" && req.status != id.status {
		id.status = req.status
		id.deathDeactivated = false
	}
	if id.status != oldStatus {
		c.Status = id.status
	}

	if req.rid != "" {
		s.ids.link(id, req.rid)
	}
	if len(c.Fields) == 0 && c.Status == "" && c.Deceased == nil {
		s.stats.unchangedUpdates.Add(1)
		return nil
	}
	if len(c.Fields) > 0 {
		s.rekeyLocked(id, req.rid)
	}
	if c.Fields == nil {
		c.Fields = []string{}
	}
	id.updatedAt = now
	id.changes = append(id.changes, c)
	switch req.process {
	case "CRVS_UPDATE", "UPDATE":
		s.stats.packetUpdates.Add(1)
	case ProcessIDRepoUpdate:
		s.stats.idrepoUpdates.Add(1)
	case ProcessResidentUpdate:
		s.stats.residentUpdates.Add(1)
	}
	return &id.changes[len(id.changes)-1]
}

// rekeyLocked moves the identity's demographic dedupe key to its current
// fields. Called with s.mu held.
func (s *Sim) rekeyLocked(id *identity, rid string) {
	if e, ok := s.ids.dedupe[id.dedupeKey]; ok && id.dedupeKey != "" && e.uin == id.uin {
		delete(s.ids.dedupe, id.dedupeKey)
	}
	id.dedupeKey = ""
	if key := dedupeKey(id.fields); key != "" {
		if _, taken := s.ids.dedupe[key]; !taken {
			s.ids.dedupe[key] = dedupeEntry{rid: rid, uin: id.uin}
			id.dedupeKey = key
		}
	}
}

// pendingEvent is an identity update event to publish once s.mu is
// released.
type pendingEvent struct {
	id, txID string
	data     mosip.IdentityEventData
}

// eventLocked prepares the event of a change and stamps its id on the
// change; nil for no change. Called with s.mu held.
func (s *Sim) eventLocked(id *identity, c *IdentityChange) *pendingEvent {
	if c == nil {
		return nil
	}
	c.EventID = newUUID()
	tx := c.RegistrationID
	if tx == "" {
		tx = newUUID()
	}
	return &pendingEvent{id: c.EventID, txID: tx, data: mosip.IdentityEventData{
		UIN: id.uin, VID: id.vid, RegistrationID: c.RegistrationID, Process: c.Process,
		Status: id.status, Deceased: id.deceased, ChangedAttributes: c.attributes(),
	}}
}

// publishIdentityEvent publishes an identity update event to
// Config.IdentityUpdateTopic, delivered (signed, retried, subject to the
// delivery faults) as credentials are. nil does nothing.
func (s *Sim) publishIdentityEvent(ev *pendingEvent) {
	if ev == nil {
		return
	}
	ts := mosip.FormatTime(s.now())
	topic := s.cfg.IdentityUpdateTopic
	body, err := json.Marshal(mosip.IdentityEvent{
		Publisher:   mosip.PublisherIDRepo,
		Topic:       topic,
		PublishedOn: ts,
		Event: mosip.IdentityEventMsg{
			ID:            ev.id,
			TransactionID: ev.txID,
			Type:          mosip.EventType{Namespace: "mosip", Name: mosip.TopicIdentityUpdated},
			Timestamp:     ts,
			Data:          ev.data,
		},
	})
	if err != nil {
		s.log.Error("mosipsim: encode identity event", "registration_id", ev.data.RegistrationID, "err", err)
		return
	}
	s.stats.identityEvents.Add(1)
	s.log.Info("mosipsim: identity update event published", "topic", topic, "event_id", ev.id,
		"registration_id", ev.data.RegistrationID, "process", ev.data.Process)
	s.route(topic, body)
}

// ID repository codes of the update (IdRepoErrorConstants).
const (
	CodeIDRepoMissingInput   = "IDR-IDC-001" // Missing Input Parameter - <name>
	CodeIDRepoInvalidRequest = "IDR-IDC-003" // Invalid Request
	CodeIDRepoRecordExists   = "IDR-IDC-012" // Record already exists in DB
	msgIDRepoMissingInput    = "Missing Input Parameter - "
)

// handleIdentityUpdate serves the identity service's PATCH /: it changes
// the fields and status of the identity of request.identity.UIN, as
// IdRepoController.updateIdentity does.
func (s *Sim) handleIdentityUpdate(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(errs ...mosip.ServiceError) {
		s.log.Info("mosipsim: identity update refused", "code", errs[0].ErrorCode, "reason", errs[0].Message)
		s.mosipErrors(w, mosip.IdentityUpdateID, idRepoVersion, errs...)
	}
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		fail(svcErr(CodeIDRepoInvalidRequest, "Invalid Request"))
		return
	}
	req, err := decodeIdentityUpdate(body)
	if err != nil {
		fail(svcErr(CodeIDRepoInvalidRequest, "Invalid Request"))
		return
	}
	// The order of MOSIP's checks: the UIN, the id, then everything the
	// request validator collected.
	if req.Request == nil {
		fail(svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"request"))
		return
	}
	uin, ok := uinOfUpdate(req.Request.Identity)
	if !ok {
		fail(svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"identity/UIN"))
		return
	}
	if req.ID != mosip.IdentityUpdateID {
		fail(svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"id"))
		return
	}
	var errs []mosip.ServiceError
	switch {
	case req.RequestTime == "":
		errs = append(errs, svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"requesttime"))
	default:
		if _, err := time.Parse(mosip.TimeLayout, req.RequestTime); err != nil {
			errs = append(errs, svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"requesttime"))
		}
	}
	switch req.Version {
	case mosip.IdentityUpdateVersion:
	case "":
		errs = append(errs, svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"version"))
	default:
		errs = append(errs, svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"version"))
	}
	switch req.Request.Status {
	case "", IdentityActivated, IdentityBlocked, IdentityDeactivated:
	default:
		errs = append(errs, svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"status"))
	}
	if _, ok := req.Request.Identity["IDSchemaVersion"]; !ok {
		errs = append(errs, svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"identity/IDSchemaVersion"))
	}
	fields, badField := identityFields(req.Request.Identity)
	if badField != "" {
		errs = append(errs, svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"identity/"+badField))
	}
	rid := req.Request.RegistrationID
	if rid == "" {
		errs = append(errs, svcErr(CodeIDRepoMissingInput, msgIDRepoMissingInput+"registrationId"))
	} else if !packetIDPattern.MatchString(rid) {
		errs = append(errs, svcErr(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"registrationId"))
	}
	if len(errs) > 0 {
		fail(errs...)
		return
	}

	now := s.now()
	s.mu.Lock()
	id := s.ids.byUIN[uin]
	switch {
	case id == nil:
		s.mu.Unlock()
		fail(svcErr(CodeIDRepoNoRecord, msgIDRepoNoRecord))
		return
	case s.ids.byRID[rid] != nil:
		s.mu.Unlock()
		fail(svcErr(CodeIDRepoRecordExists, "Record already exists in DB"))
		return
	}
	c := s.applyLocked(id, changeRequest{rid: rid, process: ProcessIDRepoUpdate, fields: fields, status: req.Request.Status}, now)
	ev := s.eventLocked(id, c)
	status := id.status
	s.mu.Unlock()

	s.publishIdentityEvent(ev)
	s.log.Info("mosipsim: identity updated through the ID repository", "registration_id", rid, "status", status,
		"changed", c != nil)
	s.writeMOSIP(w, http.StatusOK, mosip.IdentityUpdateID, idRepoVersion, mosip.IdentityUpdateResponse{Status: status}, nil)
}

// decodeIdentityUpdate reads the update request, keeping numbers as they
// were written.
func decodeIdentityUpdate(body []byte) (mosip.Request[*mosip.IdentityUpdateRequest], error) {
	var req mosip.Request[*mosip.IdentityUpdateRequest]
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return req, errors.New("want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if dec.More() {
		return req, errors.New("trailing data after the JSON object")
	}
	return req, nil
}

// uinOfUpdate is identity.UIN as MOSIP reads it (String.valueOf of a
// string or a number).
func uinOfUpdate(identity map[string]any) (string, bool) {
	switch v := identity["UIN"].(type) {
	case string:
		return v, strings.TrimSpace(v) != ""
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// identityFields turns the update's identity into stored field values:
// strings as they are, numbers and booleans as text, lists and objects
// (simpleType) as JSON text; null values, UIN and IDSchemaVersion are not
// fields. badField names a value it cannot store.
func identityFields(identity map[string]any) (fields map[string]string, badField string) {
	fields = make(map[string]string, len(identity))
	for _, k := range slices.Sorted(maps.Keys(identity)) {
		if k == "UIN" || k == "IDSchemaVersion" {
			continue
		}
		switch v := identity[k].(type) {
		case nil:
		case string:
			fields[k] = v
		case json.Number:
			fields[k] = v.String()
		case bool:
			fields[k] = fmt.Sprint(v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, k
			}
			fields[k] = string(b)
		}
	}
	return fields, ""
}

// ResidentUpdate is a resident's change of their own data in MOSIP (for
// example through Resident Services), as POST /sim/identities/{id}/update
// takes it.
type ResidentUpdate struct {
	// Fields are the values to set, strings as packets carry them
	// (simpleType values as JSON text). UIN, VID and vid cannot be set.
	Fields map[string]string `json:"fields"`
	// RegistrationID, optional, is the id of the resident's update
	// request; it must not have been used before.
	RegistrationID string `json:"registrationId,omitempty"`
}

// UpdateResult is what an identity update did.
type UpdateResult struct {
	// Changed are the changed attributes as the event lists them; empty
	// when nothing changed (then no event is published).
	Changed  []string     `json:"changed"`
	EventID  string       `json:"eventId,omitempty"`
	Identity IdentityView `json:"identity"`
}

// Errors of UpdateIdentity.
var (
	// ErrIdentityNotFound: no identity has the UIN or VID.
	ErrIdentityNotFound = errors.New("mosipsim: no identity has this UIN or VID")
	// ErrRegistrationIDUsed: the registration id already changed an identity.
	ErrRegistrationIDUsed = errors.New("mosipsim: the registration id was used before")
)

// UpdateIdentity applies a resident's update to the identity with the UIN
// or VID and publishes an identity update event if anything changed.
func (s *Sim) UpdateIdentity(uinOrVID string, u ResidentUpdate) (UpdateResult, error) {
	if len(u.Fields) == 0 {
		return UpdateResult{}, errors.New("mosipsim: update identity: fields must name at least one field to change")
	}
	for k := range u.Fields {
		if k == "UIN" || k == "VID" || k == "vid" || strings.TrimSpace(k) == "" {
			return UpdateResult{}, fmt.Errorf("mosipsim: update identity: field %q cannot be changed", truncate(k, 64))
		}
	}
	if u.RegistrationID != "" && !packetIDPattern.MatchString(u.RegistrationID) {
		return UpdateResult{}, errors.New("mosipsim: update identity: registrationId must be 1-128 letters, digits, '.', '_' or '-'")
	}
	now := s.now()
	s.mu.Lock()
	id := s.ids.find(uinOrVID)
	switch {
	case id == nil:
		s.mu.Unlock()
		return UpdateResult{}, ErrIdentityNotFound
	case u.RegistrationID != "" && s.ids.byRID[u.RegistrationID] != nil:
		s.mu.Unlock()
		return UpdateResult{}, ErrRegistrationIDUsed
	}
	c := s.applyLocked(id, changeRequest{rid: u.RegistrationID, process: ProcessResidentUpdate, fields: maps.Clone(u.Fields)}, now)
	ev := s.eventLocked(id, c)
	res := UpdateResult{Changed: []string{}, Identity: id.view()}
	if c != nil {
		res.Changed, res.EventID = c.attributes(), c.EventID
	}
	s.mu.Unlock()
	s.publishIdentityEvent(ev)
	return res, nil
}

func (s *Sim) handleResidentUpdate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Unreadable request", err.Error())
		return
	}
	var u ResidentUpdate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		problem(w, http.StatusBadRequest, "invalid-update", "Invalid update",
			`the body must be {"fields": {name: string}, "registrationId"?: string}: `+jsonProblem(err))
		return
	}
	res, err := s.UpdateIdentity(r.PathValue("id"), u)
	switch {
	case errors.Is(err, ErrIdentityNotFound):
		problem(w, http.StatusNotFound, "not-found", "Identity not found", "no identity has this UIN or VID")
	case errors.Is(err, ErrRegistrationIDUsed):
		problem(w, http.StatusConflict, "registration-id-used", "Registration id already used",
			"this registrationId already changed an identity; send a new one")
	case err != nil:
		problem(w, http.StatusBadRequest, "invalid-update", "Invalid update", strings.TrimPrefix(err.Error(), "mosipsim: update identity: "))
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
