package mosipsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// The registration processor's sync (RegistrationSyncController): before a
// packet is uploaded, its RID, type, hash and size are announced in a
// request encrypted through the key manager.

// PathSync is the registration processor's sync endpoint.
const PathSync = "/registrationprocessor/v1/registrationstatus/sync"

// Sync answers (PlatformErrorMessages, RPR-RGS-*).
const (
	CodeSyncInvalidType       = "RPR-RGS-003" // Invalid Sync Type
	CodeSyncInvalidLang       = "RPR-RGS-004" // Invalid Language Code
	CodeSyncEmptyRID          = "RPR-RGS-006" // RID cannot be NULL
	CodeSyncRIDTimestamp      = "RPR-RGS-007" // Invalid Timestamp in RID
	CodeSyncRIDNumeric        = "RPR-RGS-008" // RID must be Numeric
	CodeSyncRIDLength         = "RPR-RGS-009" // RID Length is not as per Configuration
	CodeSyncInvalidSupervisor = "RPR-RGS-026" // Supervisor Status can be APPROVED/REJECTED
	CodeSyncHashMissing       = "RPR-RGS-027" // Hash Sequence is NULL
	CodeSyncDecryption        = "RPR-RGS-028" // Request Decryption Failed

	syncFailure  = "FAILURE"
	maxSyncBody  = 256 << 10
	maxSyncItems = 100
)

// syncTypes are the registration types the sync takes: MOSIP's
// registration types and the CRVS processes.
var syncTypes = []string{
	"NEW", "UPDATE", "LOST", "RES_UPDATE", "ACTIVATED", "DEACTIVATED", "RES_REPRINT",
	"OPENCRVS_NEW", "CRVS_NEW", "CRVS_UPDATE", "CRVS_DEATH",
}

// syncRecord is what a sync announced for a RID.
type syncRecord struct {
	regType string
	hash    string // as sent: the packet receiver compares it exactly
	size    int64
	refID   string
	at      time.Time
	syncs   int
}

func (s *Sim) handleSync(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.legacy.syncRefusals.Add(1)
		s.log.Info("mosipsim: sync refused", "code", code, "reason", msg)
		s.mosipErrors(w, mosip.SyncID, mosip.SyncVersion, svcErr(code, msg))
	}
	refID := r.Header.Get(mosip.HeaderCenterMachineRefID)
	stamp := r.Header.Get(mosip.HeaderTimestamp)
	switch {
	case refID == "":
		fail(CodeStatusMissing, msgMissing+"Center-Machine-RefId header")
		return
	case !refIDPattern.MatchString(refID):
		fail(CodeStatusInvalid, msgInvalid+"Center-Machine-RefId header: want <centreId>_<machineId>")
		return
	case stamp == "":
		fail(CodeStatusMissing, msgMissing+"timestamp header")
		return
	}
	if _, err := parseMOSIPTime(stamp); err != nil {
		fail(CodeStatusInvalid, msgInvalid+"timestamp header: want yyyy-MM-ddTHH:mm:ss.SSSZ")
		return
	}
	body, err := readBody(w, r, maxSyncBody)
	if err != nil {
		fail(CodeStatusInvalid, msgInvalid+"request body: "+err.Error())
		return
	}
	var encoded string
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '"' || json.Unmarshal(trimmed, &encoded) != nil {
		fail(CodeStatusJSON, "JSON Parsing Failed: the body must be a JSON string holding the URL-safe base64 of the encrypted sync request")
		return
	}
	blob, err := decodeB64(encoded)
	if err != nil {
		fail(CodeSyncDecryption, "Request Decryption Failed: the body's string is not base64")
		return
	}
	plain, err := s.legacy.decryptPacketCrypto(mosip.AppRegistration, refID, blob)
	if err != nil {
		fail(CodeSyncDecryption, "Request Decryption Failed: not encrypted by the key manager for REGISTRATION and this Center-Machine-RefId")
		return
	}
	var req mosip.Request[[]json.RawMessage]
	if err := strictObject(plain, &req); err != nil {
		fail(CodeStatusJSON, "JSON Parsing Failed: the decrypted sync request: "+err.Error())
		return
	}
	if code, msg := checkRegprocHeader(req.ID, req.Version, req.RequestTime, mosip.SyncID, mosip.SyncVersion); code != "" {
		fail(code, msg)
		return
	}
	switch {
	case len(req.Request) == 0:
		fail(CodeStatusMissing, msgMissing+"request")
		return
	case len(req.Request) > maxSyncItems:
		fail(CodeStatusInvalid, fmt.Sprintf("%srequest holds more than %d registrations", msgInvalid, maxSyncItems))
		return
	}
	now := s.now()
	out := make([]mosip.SyncStatus, 0, len(req.Request))
	for _, raw := range req.Request {
		st := s.syncOne(raw, refID, now)
		if st.Status == mosip.SyncSuccess {
			s.legacy.syncs.Add(1)
		} else {
			s.legacy.syncRefusals.Add(1)
			s.log.Info("mosipsim: sync of a registration refused", "registration_id", st.RegistrationID,
				"code", st.ErrorCode, "reason", st.Message)
		}
		out = append(out, st)
	}
	s.writeMOSIP(w, http.StatusOK, mosip.SyncID, mosip.SyncVersion, out, nil)
}

// syncOne validates one registration of a sync and records it.
func (s *Sim) syncOne(raw json.RawMessage, refID string, now time.Time) mosip.SyncStatus {
	var e struct {
		RegistrationID    *string      `json:"registrationId"`
		RegistrationType  *string      `json:"registrationType"`
		PacketHashValue   *string      `json:"packetHashValue"`
		PacketSize        *json.Number `json:"packetSize"`
		SupervisorStatus  *string      `json:"supervisorStatus"`
		SupervisorComment *string      `json:"supervisorComment"`
		LangCode          *string      `json:"langCode"`
	}
	rid := ""
	failure := func(code, msg string) mosip.SyncStatus {
		return mosip.SyncStatus{RegistrationID: rid, Status: syncFailure, ErrorCode: code, Message: msg}
	}
	if err := strictObject(raw, &e); err != nil {
		return failure(CodeStatusJSON, "JSON Parsing Failed: "+err.Error())
	}
	if e.RegistrationID != nil {
		rid = truncate(*e.RegistrationID, 64)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch id := str(e.RegistrationID); {
	case id == "":
		return failure(CodeSyncEmptyRID, "Invalid Request Value - RID cannot be NULL")
	case !allDigits(id):
		return failure(CodeSyncRIDNumeric, "Invalid Request Value - RID must be Numeric")
	case len(id) != mosip.RIDLength:
		return failure(CodeSyncRIDLength, fmt.Sprintf("Invalid Request Value - RID Length is not as per Configuration (%d digits)", mosip.RIDLength))
	}
	if _, ok := mosip.RIDTime(rid); !ok {
		return failure(CodeSyncRIDTimestamp, "Invalid Request Value - Invalid Timestamp in RID (its last 14 digits must be yyyyMMddHHmmss)")
	}
	regType := str(e.RegistrationType)
	switch {
	case regType == "":
		return failure(CodeStatusMissing, msgMissing+"registrationType")
	case !slices.Contains(syncTypes, regType):
		return failure(CodeSyncInvalidType, "Invalid Sync Type: "+truncate(regType, 64)+" (known: "+strings.Join(syncTypes, ", ")+")")
	case len(str(e.LangCode)) != 3:
		return failure(CodeSyncInvalidLang, "Invalid Language Code - Language Code must be of Three Characters")
	case str(e.SupervisorStatus) != "APPROVED" && str(e.SupervisorStatus) != "REJECTED":
		return failure(CodeSyncInvalidSupervisor, "Invalid Request Value - Supervisor Status can be APPROVED/REJECTED")
	case str(e.PacketHashValue) == "":
		return failure(CodeSyncHashMissing, "Invalid Request Value - Hash Sequence is NULL")
	case e.PacketSize == nil:
		return failure(CodeStatusMissing, msgMissing+"packetSize")
	}
	size, err := e.PacketSize.Int64()
	if err != nil || size <= 0 {
		return failure(CodeStatusInvalid, msgInvalid+"packetSize must be a positive whole number of bytes")
	}
	if size > maxUploadBody {
		return failure(CodeStatusInvalid, fmt.Sprintf("%spacketSize is above the packet receiver's limit of %d bytes", msgInvalid, maxUploadBody))
	}
	resynced := s.legacy.recordSync(rid, syncRecord{
		regType: regType, hash: *e.PacketHashValue, size: size, refID: refID, at: now,
	}, s.cfg.Retain)
	if resynced {
		s.legacy.resyncs.Add(1)
	}
	s.log.Info("mosipsim: registration synced", "registration_id", rid, "registration_type", regType, "resync", resynced)
	return mosip.SyncStatus{RegistrationID: rid, Status: mosip.SyncSuccess, Message: "Registration is successfully synced"}
}

// recordSync stores (or replaces, as MOSIP's sync does) what a sync
// announced for rid, keeping at most retain RIDs; it reports whether rid
// was synced before.
func (l *legacyState) recordSync(rid string, rec syncRecord, retain int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced == nil {
		l.synced = make(map[string]*syncRecord)
	}
	old := l.synced[rid]
	if old != nil {
		rec.syncs = old.syncs + 1
		*old = rec
		return true
	}
	rec.syncs = 1
	l.synced[rid] = &rec
	l.syncOrder.push(rid)
	for l.syncOrder.len() > retain {
		gone, _ := l.syncOrder.pop()
		delete(l.synced, gone)
	}
	return false
}

// syncOf returns what the last sync announced for rid.
func (l *legacyState) syncOf(rid string) (syncRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rec := l.synced[rid]
	if rec == nil {
		return syncRecord{}, false
	}
	return *rec, true
}
