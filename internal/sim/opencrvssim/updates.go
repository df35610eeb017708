package opencrvssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"opencrvs-mosip/internal/websub"
)

// PathIdentityUpdates is the country configuration endpoint the simulator
// offers for identity changes made in MOSIP (the mediator's
// OPENCRVS_IDENTITY_UPDATE_URL).
const PathIdentityUpdates = "/sim/identity-updates"

// maxUpdateBody bounds an identity update post.
const maxUpdateBody = 1 << 20

// identityUpdate is one identity change applied to a record.
type identityUpdate struct {
	EventID string                     `json:"eventId"`
	At      time.Time                  `json:"at"`
	Changed []string                   `json:"changed"`
	Fields  map[string]json.RawMessage `json:"fields"`
}

// handleIdentityUpdate takes an identity change for a registered record, as
// a country configuration would: the body signed with
// Config.IdentityUpdateSecret (X-Hub-Signature), recordId naming a
// registered record. An event id seen before for the record is accepted
// again without a second update.
func (s *Sim) handleIdentityUpdate(w http.ResponseWriter, r *http.Request) {
	body, tooLarge, err := readBody(w, r, maxUpdateBody)
	if err != nil {
		if tooLarge {
			writeProblem(w, http.StatusRequestEntityTooLarge, "body too large", "an identity update is at most 1 MiB")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	if len(s.updateSecret) > 0 && !websub.Verify(s.updateSecret, r.Header.Get(websub.SignatureHeader), body) {
		writeProblem(w, http.StatusUnauthorized, "bad signature", "X-Hub-Signature is missing or does not match the body")
		return
	}
	var in struct {
		EventID  string                     `json:"eventId"`
		RecordID string                     `json:"recordId"`
		Changed  []string                   `json:"changed"`
		Fields   map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.EventID == "" || in.RecordID == "" {
		writeProblem(w, http.StatusBadRequest, "invalid identity update", "want JSON with eventId, recordId, changed and fields")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[in.RecordID]
	switch {
	case !ok:
		writeProblem(w, http.StatusNotFound, "unknown record", "no record "+in.RecordID)
		return
	case rec.status != StatusRegistered:
		writeProblem(w, http.StatusConflict, "record not registered", "record "+in.RecordID+" is "+rec.status)
		return
	}
	if !slices.ContainsFunc(rec.updates, func(u identityUpdate) bool { return u.EventID == in.EventID }) {
		rec.updates = append(rec.updates, identityUpdate{EventID: in.EventID, At: s.now().UTC(), Changed: in.Changed, Fields: in.Fields})
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordId": rec.id, "updates": len(rec.updates)})
}
