package mosipsim

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"opencrvs-mosip/internal/mosip"
)

// The registration processor's packet receiver (PacketReceiverStage): a
// packet synced before is uploaded as multipart/form-data, checked
// against its sync, opened, and becomes a registration as createPacket +
// workflowinstance would make it. The packet layout it reads is described
// in internal/mosip/packetzip.go; this reader is written from MOSIP's
// layout, not from that builder.

// PathPacketReceiver is the packet receiver's upload endpoint.
const PathPacketReceiver = "/registrationprocessor/v1/packetreceiver/registrationpackets"

// Endpoints of the upload path that faults can be aimed at.
const (
	EndpointRIDGenerator   = "ridgenerator"
	EndpointKeymanager     = "keymanager"
	EndpointSync           = "sync"
	EndpointPacketReceiver = "packetreceiver"
)

// Packet receiver answers (PlatformErrorMessages, RPR-PKR-*).
const (
	packetReceiverID      = "mosip.registration.packet"
	packetReceiverVersion = "1.0"

	CodePacketNotSynced      = "RPR-PKR-001" // Packet Not Found in Sync Table
	CodePacketTooLarge       = "RPR-PKR-002" // Invalid Packet Size
	CodePacketFormat         = "RPR-PKR-003" // Invalid Packet Format
	CodePacketInvalid        = "RPR-PKR-004" // Packet Validation Failed
	CodePacketDuplicate      = "RPR-PKR-005" // Duplicate Request Received
	CodePacketMissing        = "RPR-PKR-006" // Packet Not Available in Request
	CodePacketUnknown        = "RPR-PKR-007" // Unknown Exception Found
	CodePacketHashMismatch   = "RPR-PKR-009" // Packet HashSequence did not match
	CodePacketSizeMismatch   = "RPR-PKR-013" // Packet Size is Not Matching
	CodePacketDecryptFailure = "RPR-PKR-015" // Packet Decryption Failed
)

const (
	// maxUploadBody bounds an uploaded packet (MOSIP's default
	// registration.processor.max.file.size is 5 MB).
	maxUploadBody = 8 << 20
	// maxZipEntries and maxEntryBytes bound what is read of a packet's
	// zips, so that a zip bomb cannot exhaust memory.
	maxZipEntries = 64
	maxEntryBytes = 8 << 20
)

// uploadSchemaJSON is the ID schema the packet validator checks uploaded
// packets with. MOSIP reads the schema of the packet's IDSchemaVersion
// from its master data; the simulator has none and uses this open schema
// with the fields its stages read.
const uploadSchemaJSON = `{"properties":{"identity":{"required":["IDSchemaVersion"],"properties":{
	"IDSchemaVersion":{"type":"number","fieldCategory":"none"},
	"fullName":{"$ref":"#/definitions/simpleType","fieldCategory":"pvt"},
	"gender":{"$ref":"#/definitions/simpleType","fieldCategory":"pvt"},
	"dateOfBirth":{"type":"string","fieldCategory":"pvt"}}}}}`

// legacyState is the state of the upload path: RID sequences, key
// manager keys, syncs and received packets. The zero value is ready.
type legacyState struct {
	mu        sync.Mutex
	ridSeqs   map[string]*ridSequence // centre+machine -> sequence
	keys      map[string]*kmKey       // applicationId NUL referenceId -> key
	synced    map[string]*syncRecord  // RID -> last sync
	syncOrder fifo[string]            // retention order of synced
	received  map[string]bool         // RIDs whose packet was received
	recvOrder fifo[string]            // retention order of received

	// receiveMu makes "not received yet, store, start, mark received" one
	// step. Taken before Sim.mu, never while holding it.
	receiveMu sync.Mutex

	rids, ridRefusals            atomic.Int64
	encryptions, encryptRefusals atomic.Int64
	syncs, resyncs, syncRefusals atomic.Int64
	uploads, duplicates          atomic.Int64
	uploadRefusals               atomic.Int64
}

// UploadStats count the upload path's requests (/sim/stats "uploads").
type UploadStats struct {
	RIDs            int64 `json:"rids"`            // RIDs generated
	RIDRefusals     int64 `json:"ridRefusals"`     // RID requests refused
	Encryptions     int64 `json:"encryptions"`     // key manager encryptions
	EncryptRefusals int64 `json:"encryptRefusals"` // key manager requests refused
	Syncs           int64 `json:"syncs"`           // registrations synced (re-syncs included)
	Resyncs         int64 `json:"resyncs"`         // syncs of a RID synced before
	SyncRefusals    int64 `json:"syncRefusals"`    // sync requests or registrations refused
	Received        int64 `json:"received"`        // packets received: registrations started
	Duplicates      int64 `json:"duplicates"`      // uploads of a packet received before
	UploadRefusals  int64 `json:"uploadRefusals"`  // uploads refused (duplicates excluded)
}

// UploadStats returns the upload path's counters.
func (s *Sim) UploadStats() UploadStats {
	l := &s.legacy
	return UploadStats{
		RIDs: l.rids.Load(), RIDRefusals: l.ridRefusals.Load(),
		Encryptions: l.encryptions.Load(), EncryptRefusals: l.encryptRefusals.Load(),
		Syncs: l.syncs.Load(), Resyncs: l.resyncs.Load(), SyncRefusals: l.syncRefusals.Load(),
		Received: l.uploads.Load(), Duplicates: l.duplicates.Load(), UploadRefusals: l.uploadRefusals.Load(),
	}
}

type receiverResponse struct {
	RegistrationID string `json:"registrationId"`
	Status         string `json:"status"`
}

// refusal is a packet receiver error answer.
type refusal struct{ code, msg string }

func refuse(code, format string, args ...any) *refusal {
	return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Sim) handlePacketReceiver(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	rid, rf := s.receivePacket(w, r)
	if rf != nil {
		if rf.code == CodePacketDuplicate {
			s.legacy.duplicates.Add(1)
		} else {
			s.legacy.uploadRefusals.Add(1)
		}
		s.log.Info("mosipsim: packet refused", "registration_id", rid, "code", rf.code, "reason", rf.msg)
		s.mosipErrors(w, packetReceiverID, packetReceiverVersion, svcErr(rf.code, rf.msg))
		return
	}
	s.legacy.uploads.Add(1)
	s.writeMOSIP(w, http.StatusOK, packetReceiverID, packetReceiverVersion,
		receiverResponse{RegistrationID: rid, Status: mosip.PacketReceived}, nil)
}

// receivePacket checks an upload in the packet receiver's order (sync,
// duplicate, size, hash), opens the packet and starts its registration.
func (s *Sim) receivePacket(w http.ResponseWriter, r *http.Request) (string, *refusal) {
	name, data, rf := readUpload(w, r)
	if rf != nil {
		return "", rf
	}
	rid, ok := strings.CutSuffix(name, ".zip")
	if !ok || rid == "" {
		return "", refuse(CodePacketFormat, "Invalid Packet Format: the file must be named <registrationId>.zip")
	}
	rid = truncate(rid, 64)
	rec, synced := s.legacy.syncOf(rid)
	switch {
	case !synced:
		return rid, refuse(CodePacketNotSynced, "Packet Not Found in Sync Table: sync the registration before uploading its packet")
	case s.legacy.wasReceived(rid):
		return rid, refuse(CodePacketDuplicate, "Duplicate Request Received: this packet was received before")
	case int64(len(data)) != rec.size:
		return rid, refuse(CodePacketSizeMismatch, "Packet Size is Not Matching: %d bytes uploaded, %d synced", len(data), rec.size)
	case upperHexSHA256(data) != rec.hash:
		return rid, refuse(CodePacketHashMismatch, "Packet HashSequence did not match: the SHA-256 of the upload (UPPERCASE hex) is not the synced packetHashValue")
	}
	p, brn, rf := s.openPacket(rid, data, rec)
	if rf != nil {
		return rid, rf
	}

	l := &s.legacy
	l.receiveMu.Lock()
	defer l.receiveMu.Unlock()
	if l.wasReceived(rid) {
		return rid, refuse(CodePacketDuplicate, "Duplicate Request Received: this packet was received before")
	}
	s.mu.Lock()
	_, started := s.regs[regKey{rid: rid, process: p.dto.Process}]
	s.mu.Unlock()
	if started {
		return rid, refuse(CodePacketDuplicate, "Duplicate Request Received: a workflow of this registration and process was started before")
	}
	s.storePacket(p)
	_, started = s.startRegistration(regKey{rid: rid, process: p.dto.Process}, p.dto.Source, s.baseURL(r), func(reg *registration) {
		reg.uploaded, reg.brn = true, brn
	})
	if !started {
		return rid, refuse(CodePacketDuplicate, "Duplicate Request Received: a workflow of this registration and process was started before")
	}
	l.markReceived(rid, s.cfg.Retain)
	s.log.Info("mosipsim: packet received", "registration_id", rid, "process", p.dto.Process, "source", p.dto.Source)
	return rid, nil
}

// readUpload reads the multipart part "file": its file name and bytes.
func readUpload(w http.ResponseWriter, r *http.Request) (string, []byte, *refusal) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: send multipart/form-data with the packet in the part \"file\"")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: %s", err)
	}
	for parts := 0; parts < 16; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", nil, refuse(CodePacketTooLarge, "Invalid Packet Size: above %d bytes", maxUploadBody)
			}
			return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: unreadable multipart body")
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, maxUploadBody+1))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return "", nil, refuse(CodePacketTooLarge, "Invalid Packet Size: above %d bytes", maxUploadBody)
			}
			return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: the part \"file\" could not be read")
		}
		if len(data) > maxUploadBody {
			return "", nil, refuse(CodePacketTooLarge, "Invalid Packet Size: above %d bytes", maxUploadBody)
		}
		if len(data) == 0 {
			return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: the part \"file\" is empty")
		}
		return part.FileName(), data, nil
	}
	return "", nil, refuse(CodePacketMissing, "Packet Not Available in Request: no part \"file\"")
}

// packetInfoDoc is <rid>_id.json: the sub-packet's info, with the
// lowercase keys of MOSIP's PacketManagerHelper.getMetaMap.
type packetInfoDoc struct {
	ID            string `json:"id"`
	Source        string `json:"source"`
	Process       string `json:"process"`
	SchemaVersion string `json:"schemaversion"`
	EncryptedHash string `json:"encryptedhash"`
	RefID         string `json:"refid"`
	CreationDate  string `json:"creationdate"`
}

// openPacket opens an uploaded packet: the outer zip's <rid>_id.zip and
// <rid>_id.json, the sub-packet's encrypted hash, its decryption through
// the key manager, and ID.json, packet_meta_info.json and audit.json
// inside. It returns the packet to store and the BRN of its metaInfo.
func (s *Sim) openPacket(rid string, data []byte, rec syncRecord) (*packet, string, *refusal) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, "", refuse(CodePacketFormat, "Invalid Packet Format: the packet is not a zip file")
	}
	if len(zr.File) > maxZipEntries {
		return nil, "", refuse(CodePacketFormat, "Invalid Packet Format: more than %d entries", maxZipEntries)
	}
	var subFile, infoFile *zip.File
	for _, f := range zr.File {
		switch path.Base(f.Name) {
		case rid + "_id.zip":
			subFile = f
		case rid + "_id.json":
			infoFile = f
		}
	}
	if subFile == nil || infoFile == nil {
		return nil, "", refuse(CodePacketFormat, "Invalid Packet Format: the packet needs the sub-packet %s_id.zip and its %s_id.json", rid, rid)
	}
	invalid := func(format string, args ...any) (*packet, string, *refusal) {
		return nil, "", refuse(CodePacketInvalid, "Packet Validation Failed: "+format, args...)
	}
	infoBytes, err := readZipEntry(infoFile, 64<<10)
	if err != nil {
		return invalid("%s_id.json: %s", rid, err)
	}
	var info packetInfoDoc
	if err := strictObject(infoBytes, &info); err != nil {
		return invalid("%s_id.json: %s", rid, err)
	}
	switch {
	case info.ID != rid:
		return invalid("%s_id.json: id is not the registration id of the file name", rid)
	case info.Source == "" || info.Process == "":
		return invalid("%s_id.json: source and process are required", rid)
	case info.Process != rec.regType:
		return invalid("the packet's process %s is not the synced registrationType %s", truncate(info.Process, 64), rec.regType)
	case info.EncryptedHash == "":
		return invalid("%s_id.json: encryptedhash is required", rid)
	}
	if dir := path.Dir(subFile.Name); dir != "." && dir != info.Source+"/"+info.Process {
		return invalid("the sub-packet is stored under %s, not under <source>/<process> %s/%s", truncate(dir, 64), truncate(info.Source, 64), truncate(info.Process, 64))
	}
	enc, err := readZipEntry(subFile, maxEntryBytes)
	if err != nil {
		return invalid("%s_id.zip: %s", rid, err)
	}
	sum := sha256.Sum256(enc)
	if want, err := decodeB64(info.EncryptedHash); err != nil || !bytes.Equal(want, sum[:]) {
		return invalid("encryptedhash in %s_id.json is not the SHA-256 of %s_id.zip", rid, rid)
	}
	refID := info.RefID
	if refID == "" {
		refID = rid[:ridCenterLen] + "_" + rid[ridCenterLen:ridCenterLen+ridMachineLen] // MOSIP's getRefId
	}
	if !refIDPattern.MatchString(refID) {
		return invalid("%s_id.json: refid must be <centreId>_<machineId>", rid)
	}
	plain, err := s.legacy.decryptPacketCrypto(mosip.AppRegistration, refID, enc)
	if err != nil {
		return nil, "", refuse(CodePacketDecryptFailure, "Packet Decryption Failed: %s_id.zip is not encrypted by the key manager for REGISTRATION and %s", rid, refID)
	}
	sub, err := zip.NewReader(bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		return invalid("the decrypted %s_id.zip is not a zip file", rid)
	}
	if len(sub.File) > maxZipEntries {
		return invalid("%s_id.zip has more than %d entries", rid, maxZipEntries)
	}
	files := make(map[string][]byte, len(sub.File))
	for _, f := range sub.File {
		b, err := readZipEntry(f, maxEntryBytes)
		if err != nil {
			return invalid("%s_id.zip: %s: %s", rid, truncate(f.Name, 64), err)
		}
		files[f.Name] = b
	}
	for _, name := range []string{"ID.json", "packet_meta_info.json", "audit.json"} {
		if files[name] == nil {
			return invalid("%s_id.zip has no %s", rid, name)
		}
	}
	if h, ok := files["packet_data_hash.txt"]; ok && strings.TrimSpace(string(h)) != upperHexSHA256(files["ID.json"]) {
		return invalid("packet_data_hash.txt is not the SHA-256 of ID.json (the simulator takes packets without documents or biometrics)")
	}
	if h, ok := files["packet_operations_hash.txt"]; ok && strings.TrimSpace(string(h)) != upperHexSHA256(files["audit.json"]) {
		return invalid("packet_operations_hash.txt is not the SHA-256 of audit.json")
	}

	var idDoc, metaDoc struct {
		Identity map[string]json.RawMessage `json:"identity"`
	}
	if err := strictObject(files["ID.json"], &idDoc); err != nil || idDoc.Identity == nil {
		return invalid(`ID.json must be {"identity":{...}}`)
	}
	if err := strictObject(files["packet_meta_info.json"], &metaDoc); err != nil || metaDoc.Identity == nil {
		return invalid(`packet_meta_info.json must be {"identity":{...}}`)
	}
	var audits []map[string]json.RawMessage
	if err := json.Unmarshal(files["audit.json"], &audits); err != nil || len(audits) == 0 {
		return invalid("audit.json must be a non-empty JSON list of audits (MOSIP requires them)")
	}

	schemaVersion := info.SchemaVersion
	if v, ok := idDoc.Identity["IDSchemaVersion"]; ok {
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return invalid("ID.json: IDSchemaVersion must be a number")
		}
		schemaVersion = n.String()
	}
	if schemaVersion == "" {
		return invalid("no ID schema version in ID.json or %s_id.json", rid)
	}
	fields := make(map[string]string, len(idDoc.Identity))
	for k, v := range idDoc.Identity {
		if k == "IDSchemaVersion" {
			continue
		}
		if text, ok := packetText(v); ok {
			fields[k] = text
		}
	}
	meta := make(map[string]string, len(metaDoc.Identity))
	for k, v := range metaDoc.Identity {
		if text, ok := packetText(v); ok {
			meta[k] = text
		}
	}
	if id, ok := meta["registrationId"]; ok && id != rid {
		return invalid("packet_meta_info.json: registrationId is not the packet's")
	}
	labels, err := metaLabels(meta["metaData"])
	if err != nil {
		return invalid("packet_meta_info.json: metaData must be a list of {label, value}")
	}
	if t, ok := labels["registrationtype"]; ok && t != rec.regType {
		return invalid("metaData registrationType %s is not the synced registrationType %s", truncate(t, 64), rec.regType)
	}
	auditList := make([]map[string]string, 0, len(audits))
	for _, a := range audits {
		m := make(map[string]string, len(a))
		for k, v := range a {
			if text, ok := packetText(v); ok {
				m[k] = text
			}
		}
		auditList = append(auditList, m)
	}
	schema, err := s.schemaFor(uploadSchemaJSON)
	if err != nil {
		return nil, "", refuse(CodePacketUnknown, "Unknown Exception Found")
	}
	p := &packet{
		dto: mosip.PacketDto{
			ID: rid, RefID: refID, Process: info.Process, Source: info.Source, SchemaVersion: schemaVersion,
			Fields: fields, MetaInfo: meta, Audits: auditList,
		},
		schema:    schema,
		createdAt: s.now(),
	}
	p.infos = s.writeSubPackets(p)
	return p, labels["opencrvsbrn"], nil
}

// readZipEntry reads one zip entry of at most limit bytes.
func readZipEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("entry larger than %d bytes", limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, errors.New("unreadable zip entry")
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, errors.New("unreadable zip entry")
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("entry larger than %d bytes", limit)
	}
	return b, nil
}

// packetText is how createPacket carries a packet value: a JSON string as
// its text, null as absent, anything else (lists and objects of
// simpleType values, numbers) as compact JSON text.
func packetText(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", false
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return "", false
	}
	return buf.String(), true
}

// metaLabels reads metaInfo metaData (JSON text of [{label, value}]) into
// lower-cased label -> string value; "" gives no labels.
func metaLabels(text string) (map[string]string, error) {
	out := map[string]string{}
	if text == "" {
		return out, nil
	}
	var entries []struct {
		Label string          `json:"label"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(text), &entries); err != nil {
		return nil, err
	}
	for _, e := range entries {
		var v string
		if json.Unmarshal(e.Value, &v) == nil {
			out[strings.ToLower(e.Label)] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

// wasReceived reports whether rid's packet was received.
func (l *legacyState) wasReceived(rid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.received[rid]
}

// markReceived records rid as received, keeping at most retain RIDs.
func (l *legacyState) markReceived(rid string, retain int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.received == nil {
		l.received = make(map[string]bool)
	}
	if l.received[rid] {
		return
	}
	l.received[rid] = true
	l.recvOrder.push(rid)
	for l.recvOrder.len() > retain {
		gone, _ := l.recvOrder.pop()
		delete(l.received, gone)
	}
}

// upperHexSHA256 is the UPPERCASE hex SHA-256 of b: how MOSIP writes
// packet hashes (HMACUtils2.digestAsPlainText).
func upperHexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
