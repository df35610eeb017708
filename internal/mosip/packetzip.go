package mosip

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The packet zip of the upload path, built without MOSIP's Java packet
// manager library. The layout follows MOSIP's packet manager
// (commons-packet-manager PacketWriterImpl, PacketKeeper, PosixAdapter
// and PacketManagerHelper):
//
//	<rid>.zip
//	  <source>/<process>/<rid>_id.zip    the "id" sub-packet, encrypted:
//	                                     KeymanagerEncrypt(REGISTRATION, <centre>_<machine>)
//	                                     = nonce(12) | aad(32) | ciphertext
//	  <source>/<process>/<rid>_id.json   the sub-packet's info (lowercase keys, as
//	                                     PacketManagerHelper.getMetaMap writes them):
//	                                     id, packetname, source, process, schemaversion,
//	                                     signature, encryptedhash (URL-safe base64 of
//	                                     the SHA-256 of the encrypted sub-packet),
//	                                     providername, providerversion, creationdate, refid
//
//	<rid>_id.zip (plain)
//	  ID.json                    {"identity":{"IDSchemaVersion":<number>, <fields>}}; a field
//	                             value that is JSON text of a list or an object is
//	                             stored as JSON, any other value as the string
//	                             (RegistrationPacket.setFields)
//	  audit.json                 [ {audit} ]
//	  packet_operations_hash.txt UPPERCASE hex SHA-256 of audit.json
//	  packet_data_hash.txt       UPPERCASE hex SHA-256 of ID.json
//	  packet_meta_info.json      {"identity":{"metaData":[{label,value}],
//	                             "operationsData":[{label,value}],
//	                             "capturedRegisteredDevices":[], "documents":[],
//	                             "registrationId":"<rid>", "creationDate":"<UTC>"}}
//
// UNCONFIRMED, because the research did not establish them or MOSIP's
// versions differ:
//   - only the "id" sub-packet is written: fields the ID schema puts in
//     the evidence or optional sub-packets, documents and biometrics are
//     not supported (the Java mediator sends none);
//   - signature is empty: MOSIP signs the plain sub-packet through the key
//     manager's client-side signing, which this client does not call; a
//     MOSIP that verifies packet signatures
//     (packetmanager.packet.signature.disable-verification=false) would
//     refuse the packet;
//   - some packet manager versions name the sub-packet <rid>_<rid>_id, and
//     some PosixAdapter versions encrypt the whole <rid>.zip again when
//     packing it; neither is done here;
//   - the hashSequence1/hashSequence2 entries of packet_meta_info.json are
//     written as [{"value":["ID"]}] and [{"value":["audit"]}];
//   - the metaData label "uin" that the Java mediator filled with the RID
//     is left out.

// Process names of the upload path.
const (
	ProcessOpenCRVSNew = "OPENCRVS_NEW"
	ProcessCRVSDeath   = "CRVS_DEATH"
	SourceOpenCRVS     = "OPENCRVS"
)

// PacketInput is what BuildPacket puts in a packet.
type PacketInput struct {
	RID string
	// CenterID and MachineID make the key manager reference id
	// <centre>_<machine>; both empty: the RID's first 5 and next 5 digits
	// (MOSIP's PacketManagerHelper.getRefId does the same).
	CenterID, MachineID string
	// Process is ProcessOpenCRVSNew for births, ProcessCRVSDeath for
	// deaths.
	Process string
	// Source defaults to SourceOpenCRVS.
	Source string
	// SchemaVersion is the ID schema version, a number ("0.1").
	SchemaVersion string
	// Fields are the identity's fields as the packet manager takes them:
	// strings; lists and objects (simpleType values) as JSON text.
	Fields map[string]string
	// MetaData are labels added to metaInfo.metaData after
	// registrationType, centerId and machineId (which it cannot replace),
	// e.g. "opencrvsBRN".
	MetaData map[string]string
	// OperationsData fills metaInfo.operationsData: officerId,
	// supervisorId, ... (absent labels are null). The registration
	// processor's operator validator needs an officerId or a
	// supervisorId.
	OperationsData map[string]string
	// CreatedAt is the packet's creation time; zero: the time in the RID,
	// else now.
	CreatedAt time.Time
}

// PacketZip is a built packet: upload Zip and sync its Hash and Size.
type PacketZip struct {
	RID     string
	Process string
	// RefID is <centre>_<machine>, the sync's Center-Machine-RefId.
	RefID string
	// CreatedAt is the creation time, the sync's timestamp header.
	CreatedAt time.Time
	Zip       []byte
	// Hash is the UPPERCASE hex SHA-256 of Zip.
	Hash string
}

// Size is the zip's length in bytes.
func (p *PacketZip) Size() int64 { return int64(len(p.Zip)) }

// SyncRequest is the sync that announces p.
func (p *PacketZip) SyncRequest(comment string) SyncRequest {
	return SyncRequest{
		RID: p.RID, RegistrationType: p.Process, PacketHash: p.Hash, PacketSize: p.Size(),
		Comment: comment, CenterMachineRefID: p.RefID, Timestamp: p.CreatedAt,
	}
}

// BuildPacket builds the packet zip of in, encrypting the sub-packet
// through the key manager (KeymanagerEncrypt). Each call encrypts with a
// fresh nonce, so two builds of the same input differ: sync and upload the
// same PacketZip. Invalid input gives a plain error (permanent); the key
// manager's failures its *APIError, wrapped.
func (u *Uploader) BuildPacket(ctx context.Context, in PacketInput) (*PacketZip, error) {
	return buildPacket(in, u.c.now, func(refID string, plain []byte) ([]byte, error) {
		return u.KeymanagerEncrypt(ctx, AppRegistration, refID, plain)
	})
}

// labelValue is one {label, value} entry of metaData and operationsData.
type labelValue struct {
	Label string  `json:"label"`
	Value *string `json:"value"`
}

// operationsLabels are the operationsData labels MOSIP's packets carry.
var operationsLabels = []string{
	"officerId", "officerBiometricFileName", "supervisorId", "supervisorBiometricFileName",
	"supervisorPassword", "officerPassword", "supervisorPIN", "officerPIN",
	"supervisorOTPAuthentication", "officerOTPAuthentication",
}

func buildPacket(in PacketInput, now func() time.Time, encrypt func(refID string, plain []byte) ([]byte, error)) (*PacketZip, error) {
	const op = OpBuildPacket
	fail := func(format string, args ...any) error {
		return fmt.Errorf("mosip: %s %s: %s", op, in.RID, fmt.Sprintf(format, args...))
	}
	if !IsRID(in.RID) {
		return nil, fmt.Errorf("mosip: %s: registration id must be %d digits", op, RIDLength)
	}
	if in.Process == "" {
		return nil, fail("process is required")
	}
	source := in.Source
	if source == "" {
		source = SourceOpenCRVS
	}
	for name, v := range map[string]string{"process": in.Process, "source": source} {
		if strings.ContainsAny(v, "/\\") || strings.ContainsFunc(v, isNotPrintable) {
			return nil, fail("%s must be printable and without slashes", name)
		}
	}
	schemaVersion, err := strconv.ParseFloat(in.SchemaVersion, 64)
	if err != nil {
		return nil, fail("schema version %q is not a number", in.SchemaVersion)
	}
	center, machine := in.CenterID, in.MachineID
	if center == "" && machine == "" {
		center, machine = in.RID[:5], in.RID[5:10]
	}
	if center == "" || machine == "" {
		return nil, fail("centre id and machine id are both required, or neither")
	}
	refID := center + "_" + machine
	created := in.CreatedAt
	if created.IsZero() {
		var ok bool
		if created, ok = RIDTime(in.RID); !ok {
			created = now()
		}
	}
	created = created.UTC()

	identity := map[string]any{"IDSchemaVersion": schemaVersion}
	for name, v := range in.Fields {
		if name == "IDSchemaVersion" {
			continue // from SchemaVersion
		}
		identity[name] = packetValue(v)
	}
	idJSON, err := json.Marshal(map[string]any{"identity": identity})
	if err != nil {
		return nil, fail("encode ID.json: %v", err)
	}
	auditJSON, err := json.Marshal([]map[string]string{{
		"uuid": newRandomUUID(), "createdAt": FormatTime(created), "actionTimeStamp": FormatTime(created),
		"eventId": "OPENCRVS_CREATE_PACKET", "eventName": "opencrvs packet created", "eventType": "OPENCRVS",
		"hostName": "opencrvs-mosip", "hostIp": "", "applicationId": "opencrvs", "applicationName": "OPENCRVS",
		"sessionUserId": "opencrvs-mosip", "sessionUserName": "opencrvs-mosip",
		"id": in.RID, "idType": "REGISTRATION_ID", "description": "packet created by the OpenCRVS mediator",
	}})
	if err != nil {
		return nil, fail("encode audit.json: %v", err)
	}
	metaJSON, err := json.Marshal(map[string]any{"identity": map[string]any{
		"metaData":                  metaDataLabels(in, center, machine),
		"operationsData":            operationsDataLabels(in.OperationsData),
		"capturedRegisteredDevices": []any{},
		"documents":                 []any{},
		"registrationId":            in.RID,
		"creationDate":              FormatTime(created),
		"hashSequence1":             []any{map[string]any{"value": []string{"ID"}}},
		"hashSequence2":             []any{map[string]any{"value": []string{"audit"}}},
	}})
	if err != nil {
		return nil, fail("encode packet_meta_info.json: %v", err)
	}

	sub, err := zipFiles(created, []zipFile{
		{"ID.json", idJSON},
		{"audit.json", auditJSON},
		{"packet_operations_hash.txt", []byte(upperHexSHA256(auditJSON))},
		{"packet_data_hash.txt", []byte(upperHexSHA256(idJSON))},
		{"packet_meta_info.json", metaJSON},
	})
	if err != nil {
		return nil, fail("zip sub-packet: %v", err)
	}
	enc, err := encrypt(refID, sub)
	if err != nil {
		return nil, fmt.Errorf("mosip: %s %s: encrypt sub-packet: %w", op, in.RID, err)
	}
	encHash := sha256.Sum256(enc)
	info, err := json.Marshal(map[string]string{
		"id": in.RID, "packetname": "id", "source": source, "process": in.Process,
		"schemaversion": strconv.FormatFloat(schemaVersion, 'f', -1, 64), "signature": "",
		"encryptedhash": base64.RawURLEncoding.EncodeToString(encHash[:]),
		"providername":  "PacketWriterImpl", "providerversion": "v1.0",
		"creationdate": FormatTime(created), "refid": refID,
	})
	if err != nil {
		return nil, fail("encode %s_id.json: %v", in.RID, err)
	}
	dir := source + "/" + in.Process + "/"
	outer, err := zipFiles(created, []zipFile{
		{dir + in.RID + "_id.zip", enc},
		{dir + in.RID + "_id.json", info},
	})
	if err != nil {
		return nil, fail("zip packet: %v", err)
	}
	return &PacketZip{
		RID: in.RID, Process: in.Process, RefID: refID, CreatedAt: created,
		Zip: outer, Hash: upperHexSHA256(outer),
	}, nil
}

// packetValue is how the packet manager stores a field value: JSON lists
// and objects as JSON, anything else as the string.
func packetValue(v string) any {
	t := strings.TrimSpace(v)
	if t != "" && (t[0] == '[' || t[0] == '{') && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	return v
}

func metaDataLabels(in PacketInput, center, machine string) []labelValue {
	str := func(s string) *string { return &s }
	out := []labelValue{
		{"registrationType", str(in.Process)},
		{"centerId", str(center)},
		{"machineId", str(machine)},
	}
	labels := make([]string, 0, len(in.MetaData))
	for l := range in.MetaData {
		if l != "registrationType" && l != "centerId" && l != "machineId" {
			labels = append(labels, l)
		}
	}
	slices.Sort(labels)
	for _, l := range labels {
		out = append(out, labelValue{l, str(in.MetaData[l])})
	}
	return out
}

func operationsDataLabels(ops map[string]string) []labelValue {
	out := make([]labelValue, 0, len(operationsLabels)+len(ops))
	for _, l := range operationsLabels {
		lv := labelValue{Label: l}
		if v, ok := ops[l]; ok {
			lv.Value = &v
		}
		out = append(out, lv)
	}
	var extra []string
	for l := range ops {
		if !slices.Contains(operationsLabels, l) {
			extra = append(extra, l)
		}
	}
	slices.Sort(extra)
	for _, l := range extra {
		v := ops[l]
		out = append(out, labelValue{l, &v})
	}
	return out
}

type zipFile struct {
	name string
	data []byte
}

// zipFiles writes files into a zip, in order, dated modified.
func zipFiles(modified time.Time, files []zipFile) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// upperHexSHA256 is the UPPERCASE hex SHA-256 of b, as MOSIP's
// HMACUtils2.digestAsPlainText writes it.
func upperHexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func isNotPrintable(r rune) bool { return r < ' ' || r == 0x7f }

// newRandomUUID returns a random (version 4) UUID.
func newRandomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
