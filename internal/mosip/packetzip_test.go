package mosip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// unzip reads every entry of a zip.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = data
	}
	return out
}

func TestBuildPacketLayout(t *testing.T) {
	t.Parallel()
	const rid = "10001100040000120250301101500"
	var gotRef string
	// A stand-in key manager: a 44-byte prefix like nonce | aad, then the
	// plain sub-packet.
	prefix := bytes.Repeat([]byte{7}, PacketNonceSize+PacketAADSize)
	encrypt := func(refID string, plain []byte) ([]byte, error) {
		gotRef = refID
		return append(append([]byte{}, prefix...), plain...), nil
	}
	in := PacketInput{
		RID: rid, CenterID: "10001", MachineID: "10004", Process: ProcessOpenCRVSNew, SchemaVersion: "0.1",
		Fields: map[string]string{
			"fullName":               `[{"language":"eng","value":"Amina Banda"}]`,
			"dateOfBirth":            "2025/01/15",
			"birthCertificateNumber": "12345",
		},
		MetaData:       map[string]string{"opencrvsBRN": "2025B7QX1"},
		OperationsData: map[string]string{"officerId": "officer.1"},
	}
	p, err := buildPacket(in, time.Now, encrypt)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(p.Zip)
	if p.Hash != strings.ToUpper(hex.EncodeToString(sum[:])) || p.Size() != int64(len(p.Zip)) {
		t.Errorf("hash %s size %d: want the UPPERCASE hex SHA-256 and length of the zip", p.Hash, p.Size())
	}
	if p.RefID != "10001_10004" || gotRef != "10001_10004" {
		t.Errorf("reference id %q, encrypted for %q; want 10001_10004", p.RefID, gotRef)
	}
	if want := time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC); !p.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want the RID's time %v", p.CreatedAt, want)
	}

	outer := unzip(t, p.Zip)
	dir := "OPENCRVS/OPENCRVS_NEW/" + rid
	enc, info := outer[dir+"_id.zip"], outer[dir+"_id.json"]
	if enc == nil || info == nil || len(outer) != 2 {
		t.Fatalf("outer entries %v: want %s_id.zip and %s_id.json", entryNames(outer), dir, dir)
	}
	var meta map[string]string
	if err := json.Unmarshal(info, &meta); err != nil {
		t.Fatal(err)
	}
	encSum := sha256.Sum256(enc)
	wantInfo := map[string]string{
		"id": rid, "packetname": "id", "source": "OPENCRVS", "process": "OPENCRVS_NEW", "schemaversion": "0.1",
		"signature": "", "encryptedhash": base64.RawURLEncoding.EncodeToString(encSum[:]),
		"providername": "PacketWriterImpl", "providerversion": "v1.0", "creationdate": "2025-03-01T10:15:00.000Z",
		"refid": "10001_10004",
	}
	if diff := cmp.Diff(wantInfo, meta); diff != "" {
		t.Errorf("%s_id.json (-want +got):\n%s", rid, diff)
	}

	sub := unzip(t, enc[len(prefix):])
	for _, name := range []string{"ID.json", "audit.json", "packet_meta_info.json", "packet_data_hash.txt", "packet_operations_hash.txt"} {
		if sub[name] == nil {
			t.Errorf("sub-packet has no %s (entries %v)", name, entryNames(sub))
		}
	}
	var id struct {
		Identity map[string]any `json:"identity"`
	}
	if err := json.Unmarshal(sub["ID.json"], &id); err != nil {
		t.Fatal(err)
	}
	wantID := map[string]any{
		"IDSchemaVersion":        0.1,
		"fullName":               []any{map[string]any{"language": "eng", "value": "Amina Banda"}},
		"dateOfBirth":            "2025/01/15",
		"birthCertificateNumber": "12345",
	}
	if diff := cmp.Diff(wantID, id.Identity); diff != "" {
		t.Errorf("ID.json identity (-want +got):\n%s", diff)
	}
	if got := string(sub["packet_data_hash.txt"]); got != upperHexSHA256(sub["ID.json"]) {
		t.Errorf("packet_data_hash.txt = %s, want the UPPERCASE hex SHA-256 of ID.json", got)
	}
	var mi struct {
		Identity struct {
			MetaData       []labelValue `json:"metaData"`
			OperationsData []labelValue `json:"operationsData"`
			RegistrationID string       `json:"registrationId"`
			CreationDate   string       `json:"creationDate"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(sub["packet_meta_info.json"], &mi); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, lv := range mi.Identity.MetaData {
		if lv.Value != nil {
			labels[lv.Label] = *lv.Value
		}
	}
	wantLabels := map[string]string{"registrationType": "OPENCRVS_NEW", "centerId": "10001", "machineId": "10004", "opencrvsBRN": "2025B7QX1"}
	if diff := cmp.Diff(wantLabels, labels); diff != "" {
		t.Errorf("metaData (-want +got):\n%s", diff)
	}
	ops := map[string]*string{}
	for _, lv := range mi.Identity.OperationsData {
		ops[lv.Label] = lv.Value
	}
	if v := ops["officerId"]; v == nil || *v != "officer.1" {
		t.Errorf("operationsData officerId = %v, want officer.1", v)
	}
	if v, ok := ops["supervisorId"]; !ok || v != nil {
		t.Errorf("operationsData supervisorId = %v (present %v), want null", v, ok)
	}
	if mi.Identity.RegistrationID != rid || mi.Identity.CreationDate != "2025-03-01T10:15:00.000Z" {
		t.Errorf("metaInfo registrationId %q creationDate %q", mi.Identity.RegistrationID, mi.Identity.CreationDate)
	}
	var audits []map[string]string
	if err := json.Unmarshal(sub["audit.json"], &audits); err != nil || len(audits) != 1 || audits[0]["id"] != rid {
		t.Errorf("audit.json = %s (%v), want one audit of the RID", sub["audit.json"], err)
	}
}

func TestBuildPacketInputs(t *testing.T) {
	t.Parallel()
	const rid = "20002300030000120250301101500"
	var gotRef string
	encrypt := func(refID string, plain []byte) ([]byte, error) { gotRef = refID; return plain, nil }
	ok := PacketInput{RID: rid, Process: ProcessCRVSDeath, SchemaVersion: "0.2"}
	p, err := buildPacket(ok, time.Now, encrypt)
	if err != nil {
		t.Fatal(err)
	}
	if p.RefID != "20002_30003" || gotRef != "20002_30003" {
		t.Errorf("reference id from the RID = %q (encrypted for %q), want 20002_30003", p.RefID, gotRef)
	}
	if _, found := unzip(t, p.Zip)["OPENCRVS/CRVS_DEATH/"+rid+"_id.zip"]; !found {
		t.Errorf("death packet entries %v: want OPENCRVS/CRVS_DEATH/<rid>_id.zip", entryNames(unzip(t, p.Zip)))
	}

	bad := map[string]func(in *PacketInput){
		"RID of 28 digits":            func(in *PacketInput) { in.RID = rid[1:] },
		"no process":                  func(in *PacketInput) { in.Process = "" },
		"process with a slash":        func(in *PacketInput) { in.Process = "CRVS/NEW" },
		"schema version not a number": func(in *PacketInput) { in.SchemaVersion = "v1" },
		"centre without machine":      func(in *PacketInput) { in.CenterID = "10001" },
	}
	for name, change := range bad {
		in := ok
		change(&in)
		if _, err := buildPacket(in, time.Now, encrypt); err == nil || IsTransient(err) {
			t.Errorf("%s: err = %v, want a permanent error", name, err)
		}
	}

	keyErr := newAPIError(OpKeymanagerEncrypt, "", 503, nil, nil)
	_, err = buildPacket(ok, time.Now, func(string, []byte) ([]byte, error) { return nil, keyErr })
	if !errors.Is(err, keyErr) || !IsTransient(err) {
		t.Errorf("key manager down: err = %v, want its transient APIError wrapped", err)
	}
}

func entryNames(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
