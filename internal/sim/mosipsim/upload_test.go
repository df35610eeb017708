package mosipsim

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// The upload path's endpoints, driven by hand: packets here are built in
// the test from MOSIP's layout, not by internal/mosip's builder.

const testRefID = "10001_10004"

// post sends body with the token, content type and headers.
func (e *env) post(path, token, contentType string, header map[string]string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Cookie", "Authorization="+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, data
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// kmRequestBody is a key manager encrypt request.
func kmRequestBody(app, ref string, data, salt, aad []byte, thumb bool) map[string]any {
	return map[string]any{
		"id": "mosip.cryptomanager.encrypt", "version": "v1", "requesttime": mosip.FormatTime(time.Now()),
		"request": map[string]any{
			"applicationId": app, "referenceId": ref, "timeStamp": mosip.FormatTime(time.Now()),
			"data": b64(data), "salt": b64(salt), "aad": b64(aad), "prependThumbprint": thumb,
		},
	}
}

// encrypt encrypts data through the key manager endpoint as the packet
// manager does: nonce | aad | ciphertext.
func (e *env) encrypt(token, ref string, data []byte) []byte {
	e.t.Helper()
	salt, aad := randomBytes(12), randomBytes(32)
	_, body := e.do(http.MethodPost, PathKeymanagerEncrypt, token, kmRequestBody(mosip.AppRegistration, ref, data, salt, aad, true))
	r := decodeMOSIP[*kmResponse](e.t, body)
	if len(r.Errors) > 0 || r.Response == nil {
		e.t.Fatalf("key manager encrypt: %s", body)
	}
	sealed, err := decodeB64(r.Response.Data)
	if err != nil {
		e.t.Fatal(err)
	}
	return append(append(append([]byte{}, salt...), aad...), sealed...)
}

func syncPlain(entries ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": mosip.SyncID, "version": mosip.SyncVersion, "requesttime": mosip.FormatTime(time.Now()),
		"request": entries,
	})
	return b
}

func syncEntryFor(rid, regType string, packet []byte) map[string]any {
	sum := sha256.Sum256(packet)
	return map[string]any{
		"registrationId": rid, "registrationType": regType,
		"packetHashValue": strings.ToUpper(fmt.Sprintf("%x", sum)), "packetSize": len(packet),
		"supervisorStatus": "APPROVED", "supervisorComment": "test", "langCode": "eng",
	}
}

func syncHeaders() map[string]string {
	return map[string]string{mosip.HeaderCenterMachineRefID: testRefID, mosip.HeaderTimestamp: mosip.FormatTime(time.Now())}
}

// sync sends an encrypted sync and returns MOSIP's answer.
func (e *env) sync(token string, plain []byte) mosip.Response[[]mosip.SyncStatus] {
	e.t.Helper()
	body, _ := json.Marshal(b64(e.encrypt(token, testRefID, plain)))
	_, data := e.post(PathSync, token, "application/json", syncHeaders(), body)
	return decodeMOSIP[[]mosip.SyncStatus](e.t, data)
}

// upload sends file as the multipart part "file" named name.
func (e *env) upload(token, name string, file []byte) mosip.Response[*receiverResponse] {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", name)
	_, _ = w.Write(file)
	_ = mw.Close()
	_, data := e.post(PathPacketReceiver, token, mw.FormDataContentType(), nil, buf.Bytes())
	return decodeMOSIP[*receiverResponse](e.t, data)
}

func zipOf(t *testing.T, files ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(f[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// handPacket is a packet made by hand from MOSIP's layout; change
// modifies its parts before they are zipped.
type handPacket struct {
	rid, process, source, refID string
	idJSON, metaJSON, auditJSON string
	encryptFor                  string // reference id the sub-packet is encrypted for
	infoHash                    string // "" : the right one
	omit                        string // sub-packet file left out
}

func newHandPacket(rid, brn string) *handPacket {
	dob := time.Now().AddDate(0, -2, 0).Format("2006/01/02")
	return &handPacket{
		rid: rid, process: "OPENCRVS_NEW", source: "OPENCRVS", refID: testRefID, encryptFor: testRefID,
		idJSON: `{"identity":{"IDSchemaVersion":0.1,"fullName":[{"language":"eng","value":"Thandiwe Zulu"}],` +
			`"gender":[{"language":"eng","value":"Female"}],"dateOfBirth":"` + dob + `"}}`,
		metaJSON: `{"identity":{"metaData":[{"label":"registrationType","value":"OPENCRVS_NEW"},{"label":"opencrvsBRN","value":"` + brn + `"}],` +
			`"operationsData":[{"label":"officerId","value":"officer.1"}],"registrationId":"` + rid + `"}}`,
		auditJSON: `[{"eventId":"OPENCRVS_CREATE_PACKET","id":"` + rid + `"}]`,
	}
}

func (h *handPacket) build(e *env, token string) []byte {
	e.t.Helper()
	var files [][2]string
	for _, f := range [][2]string{{"ID.json", h.idJSON}, {"packet_meta_info.json", h.metaJSON}, {"audit.json", h.auditJSON}} {
		if f[0] != h.omit {
			files = append(files, f)
		}
	}
	enc := e.encrypt(token, h.encryptFor, zipOf(e.t, files...))
	sum := sha256.Sum256(enc)
	hash := b64(sum[:])
	if h.infoHash != "" {
		hash = h.infoHash
	}
	info, _ := json.Marshal(map[string]string{
		"id": h.rid, "source": h.source, "process": h.process, "schemaversion": "0.1",
		"encryptedhash": hash, "refid": h.refID, "signature": "",
	})
	return zipOf(e.t, [2]string{h.rid + "_id.zip", string(enc)}, [2]string{h.rid + "_id.json", string(info)})
}

// ridAt is a RID of centre 10001, machine 10004 with sequence seq.
func ridAt(seq int) string {
	return fmt.Sprintf("1000110004%05d%s", seq, time.Now().UTC().Format("20060102150405"))
}

func TestRIDGenerator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	seen := map[string]bool{}
	for range 50 {
		_, body := e.do(http.MethodGet, PathRIDGenerator+"/10001/10004", tok, nil)
		r := decodeMOSIP[*ridResponse](t, body)
		if len(r.Errors) > 0 || r.Response == nil {
			t.Fatalf("RID generator: %s", body)
		}
		rid := r.Response.RID
		if !mosip.IsRID(rid) || !strings.HasPrefix(rid, "1000110004") {
			t.Fatalf("RID %q: want 29 digits starting 1000110004", rid)
		}
		created, ok := mosip.RIDTime(rid)
		if !ok || created.Sub(time.Now()).Abs() > time.Hour {
			t.Errorf("RID %s carries time %v, want about now", rid, created)
		}
		if seen[rid] {
			t.Fatalf("RID %s issued twice", rid)
		}
		seen[rid] = true
	}
	for _, path := range []string{"/1001/10004", "/10001/100045", "/1000a/10004"} {
		_, body := e.do(http.MethodGet, PathRIDGenerator+path, tok, nil)
		if got := errorCodes(decodeMOSIP[any](t, body).Errors); len(got) != 1 || got[0] != CodeRIDLength {
			t.Errorf("GET %s: errors %v, want %s", path, got, CodeRIDLength)
		}
	}
	if resp, _ := e.do(http.MethodGet, PathRIDGenerator+"/10001/10004", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: HTTP %d, want 401", resp.StatusCode)
	}
}

func TestRIDSequenceUniqueWithinASecond(t *testing.T) {
	t.Parallel()
	var l legacyState
	seen := make(map[string]bool, ridSeqMax)
	const second = "20250301100000"
	for i := range ridSeqMax {
		rid, ok := l.nextRID("10001", "10004", second)
		if !ok || seen[rid] || len(rid) != mosip.RIDLength {
			t.Fatalf("RID %d: %q ok=%v duplicate=%v", i, rid, ok, seen[rid])
		}
		seen[rid] = true
	}
	if rid, ok := l.nextRID("10001", "10004", second); ok {
		t.Fatalf("RID %s issued after %d in one second: it repeats a sequence number", rid, ridSeqMax)
	}
	// A clock that goes back keeps the latest second: no repeat.
	rid, ok := l.nextRID("10001", "10004", "20250301095959")
	if ok {
		t.Errorf("clock went back: issued %s, want a refusal until the second has passed", rid)
	}
	rid, ok = l.nextRID("10001", "10004", "20250301100001")
	if !ok || seen[rid] || !strings.HasSuffix(rid, "20250301100001") {
		t.Errorf("next second: %q ok=%v, want a new RID of that second", rid, ok)
	}
}

func TestKeymanagerEncrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	data := []byte(`{"secret":"packet bytes"}`)
	for _, thumb := range []bool{true, false} {
		salt, aad := randomBytes(12), randomBytes(32)
		_, body := e.do(http.MethodPost, PathKeymanagerEncrypt, tok, kmRequestBody(mosip.AppRegistration, testRefID, data, salt, aad, thumb))
		r := decodeMOSIP[*kmResponse](t, body)
		if len(r.Errors) > 0 || r.Response == nil {
			t.Fatalf("encrypt: %s", body)
		}
		sealed, err := decodeB64(r.Response.Data)
		if err != nil {
			t.Fatal(err)
		}
		blob := append(append(append([]byte{}, salt...), aad...), sealed...)
		plain, err := e.sim.legacy.decryptPacketCrypto(mosip.AppRegistration, testRefID, blob)
		if err != nil || !bytes.Equal(plain, data) {
			t.Errorf("thumbprint %v: decrypt = %q, %v; want the data back", thumb, plain, err)
		}
		if _, err := e.sim.legacy.decryptPacketCrypto(mosip.AppRegistration, "10001_10005", blob); err == nil {
			t.Errorf("thumbprint %v: another reference id's key decrypted it", thumb)
		}
		blob[len(blob)-1] ^= 1
		if _, err := e.sim.legacy.decryptPacketCrypto(mosip.AppRegistration, testRefID, blob); err == nil {
			t.Errorf("thumbprint %v: a tampered ciphertext decrypted", thumb)
		}
	}

	tests := []struct {
		name string
		req  map[string]any
		code string
	}{
		{"unknown application", kmRequestBody("SOMETHING", testRefID, data, randomBytes(12), randomBytes(32), true), CodeKeymanagerAppID},
		{"registration key of no machine", kmRequestBody(mosip.AppRegistration, "machine-7", data, randomBytes(12), randomBytes(32), true), CodeKeymanagerRefID},
		{"no salt", kmRequestBody(mosip.AppRegistration, testRefID, data, nil, randomBytes(32), true), CodeCryptoEmpty},
		{"short salt", kmRequestBody(mosip.AppRegistration, testRefID, data, randomBytes(8), randomBytes(32), true), CodeCryptoData},
		{"no data", kmRequestBody(mosip.AppRegistration, testRefID, nil, randomBytes(12), randomBytes(32), true), CodeCryptoEmpty},
	}
	for _, tt := range tests {
		_, body := e.do(http.MethodPost, PathKeymanagerEncrypt, tok, tt.req)
		if got := errorCodes(decodeMOSIP[any](t, body).Errors); len(got) != 1 || got[0] != tt.code {
			t.Errorf("%s: errors %v, want %s", tt.name, got, tt.code)
		}
	}
	bad := kmRequestBody(mosip.AppRegistration, testRefID, data, randomBytes(12), randomBytes(32), true)
	bad["request"].(map[string]any)["timeStamp"] = "yesterday"
	_, body := e.do(http.MethodPost, PathKeymanagerEncrypt, tok, bad)
	if got := errorCodes(decodeMOSIP[any](t, body).Errors); len(got) != 1 || got[0] != CodeCryptoTime {
		t.Errorf("bad timeStamp: errors %v, want %s", got, CodeCryptoTime)
	}
}

func TestSyncRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	rid := ridAt(1)
	plain := syncPlain(syncEntryFor(rid, "OPENCRVS_NEW", []byte("packet")))
	encrypted, _ := json.Marshal(b64(e.encrypt(tok, testRefID, plain)))

	refusals := []struct {
		name   string
		header map[string]string
		body   []byte
		code   string
	}{
		{"body is a JSON object, not a string", syncHeaders(), plain, CodeStatusJSON},
		{"body is not JSON", syncHeaders(), []byte("not json"), CodeStatusJSON},
		{"timestamp header missing", map[string]string{mosip.HeaderCenterMachineRefID: testRefID}, encrypted, CodeStatusMissing},
		{"timestamp header not a time", map[string]string{mosip.HeaderCenterMachineRefID: testRefID, mosip.HeaderTimestamp: "now"}, encrypted, CodeStatusInvalid},
		{"Center-Machine-RefId header missing", map[string]string{mosip.HeaderTimestamp: mosip.FormatTime(time.Now())}, encrypted, CodeStatusMissing},
		{"encrypted for another machine", map[string]string{mosip.HeaderCenterMachineRefID: "10001_10005", mosip.HeaderTimestamp: mosip.FormatTime(time.Now())}, encrypted, CodeSyncDecryption},
		{"string is not base64", syncHeaders(), []byte(`"%%%"`), CodeSyncDecryption},
	}
	for _, tt := range refusals {
		_, data := e.post(PathSync, tok, "application/json", tt.header, tt.body)
		r := decodeMOSIP[[]mosip.SyncStatus](t, data)
		if got := errorCodes(r.Errors); len(got) != 1 || got[0] != tt.code {
			t.Errorf("%s: errors %v, want %s (%s)", tt.name, got, tt.code, data)
		}
	}
	if _, ok := e.sim.legacy.syncOf(rid); ok {
		t.Fatal("a refused sync was recorded")
	}

	wrongID, _ := json.Marshal(map[string]any{"id": "mosip.registration.status", "version": "1.0",
		"requesttime": mosip.FormatTime(time.Now()), "request": []any{syncEntryFor(rid, "OPENCRVS_NEW", []byte("p"))}})
	if got := errorCodes(e.sync(tok, wrongID).Errors); len(got) != 1 || got[0] != CodeStatusInvalidID {
		t.Errorf("wrong id: errors %v, want %s", got, CodeStatusInvalidID)
	}

	entry := func(change func(m map[string]any)) map[string]any {
		m := syncEntryFor(ridAt(2), "OPENCRVS_NEW", []byte("packet"))
		change(m)
		return m
	}
	bad := []struct {
		name  string
		entry map[string]any
		code  string
	}{
		{"RID too short", entry(func(m map[string]any) { m["registrationId"] = "1000110004" }), CodeSyncRIDLength},
		{"RID not numeric", entry(func(m map[string]any) { m["registrationId"] = strings.Repeat("a", 29) }), CodeSyncRIDNumeric},
		{"RID without a time", entry(func(m map[string]any) { m["registrationId"] = "1000110004" + "00001" + "99999999999999" }), CodeSyncRIDTimestamp},
		{"unknown registration type", entry(func(m map[string]any) { m["registrationType"] = "BIRTH" }), CodeSyncInvalidType},
		{"two-letter language", entry(func(m map[string]any) { m["langCode"] = "en" }), CodeSyncInvalidLang},
		{"supervisor status", entry(func(m map[string]any) { m["supervisorStatus"] = "OK" }), CodeSyncInvalidSupervisor},
		{"no hash", entry(func(m map[string]any) { delete(m, "packetHashValue") }), CodeSyncHashMissing},
		{"size zero", entry(func(m map[string]any) { m["packetSize"] = 0 }), CodeStatusInvalid},
		{"size not a number", entry(func(m map[string]any) { m["packetSize"] = "twelve" }), CodeStatusJSON},
	}
	for _, tt := range bad {
		r := e.sync(tok, syncPlain(tt.entry))
		if len(r.Errors) > 0 || len(r.Response) != 1 || r.Response[0].Status != "FAILURE" || r.Response[0].ErrorCode != tt.code {
			t.Errorf("%s: response %+v errors %v, want one FAILURE %s", tt.name, r.Response, r.Errors, tt.code)
		}
	}

	r := e.sync(tok, plain)
	if len(r.Errors) > 0 || len(r.Response) != 1 || r.Response[0].Status != mosip.SyncSuccess || r.Response[0].RegistrationID != rid {
		t.Fatalf("valid sync: %+v %v", r.Response, r.Errors)
	}
	if rec, ok := e.sim.legacy.syncOf(rid); !ok || rec.size != int64(len("packet")) || rec.regType != "OPENCRVS_NEW" {
		t.Errorf("sync record %+v, %v: want size 6, OPENCRVS_NEW", rec, ok)
	}
}

func TestPacketReceiverHandMadePacket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	rid := ridAt(7)
	pkt := newHandPacket(rid, "2025BHAND1").build(e, tok)

	if r := e.upload(tok, rid+".zip", pkt); len(r.Errors) != 1 || r.Errors[0].ErrorCode != CodePacketNotSynced {
		t.Errorf("upload before sync: %+v, want %s", r.Errors, CodePacketNotSynced)
	}
	if r := e.sync(tok, syncPlain(syncEntryFor(rid, "OPENCRVS_NEW", pkt))); r.Response[0].Status != mosip.SyncSuccess {
		t.Fatalf("sync: %+v", r)
	}
	r := e.upload(tok, rid+".zip", pkt)
	if len(r.Errors) > 0 || r.Response == nil || r.Response.Status != mosip.PacketReceived || r.Response.RegistrationID != rid {
		t.Fatalf("upload: %+v %+v", r.Response, r.Errors)
	}
	v := e.finished(rid)
	if v.Status != mosip.StatusProcessed || v.UIN == "" || !v.Uploaded || v.OpenCRVSBRN != "2025BHAND1" || v.Process != "OPENCRVS_NEW" || v.Source != "OPENCRVS" {
		t.Errorf("registration %+v: want PROCESSED with a UIN, uploaded, BRN 2025BHAND1, OPENCRVS_NEW from OPENCRVS", v)
	}
	p, ok := e.sim.Packet(rid)
	if !ok || p.Fields["dateOfBirth"] == "" || !strings.Contains(p.Fields["fullName"], "Thandiwe Zulu") || p.MetaInfo["operationsData"] == "" {
		t.Errorf("stored packet %+v: want the ID.json fields and metaInfo as createPacket stores them", p.PacketDto)
	}
	if r := e.upload(tok, rid+".zip", pkt); len(r.Errors) != 1 || r.Errors[0].ErrorCode != CodePacketDuplicate {
		t.Errorf("second upload: %+v, want %s", r.Errors, CodePacketDuplicate)
	}
	st := e.sim.Stats().Uploads
	if st.Received != 1 || st.Duplicates != 1 || st.UploadRefusals != 1 {
		t.Errorf("upload stats %+v: want 1 received, 1 duplicate, 1 refusal", st)
	}
}

func TestPacketReceiverRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	seq := 100
	// synced returns a new RID and a packet made by change, synced as it
	// is.
	synced := func(change func(h *handPacket) []byte) (string, []byte) {
		seq++
		rid := ridAt(seq)
		h := newHandPacket(rid, "B")
		pkt := change(h)
		if r := e.sync(tok, syncPlain(syncEntryFor(rid, "OPENCRVS_NEW", pkt))); len(r.Response) != 1 || r.Response[0].Status != mosip.SyncSuccess {
			t.Fatalf("sync: %+v", r)
		}
		return rid, pkt
	}
	built := func(h *handPacket) []byte { return h.build(e, tok) }
	tests := []struct {
		name   string
		change func(h *handPacket) []byte
		code   string
	}{
		{"not a zip", func(h *handPacket) []byte { return []byte("PK but not a zip") }, CodePacketFormat},
		{"no sub-packet", func(h *handPacket) []byte { return zipOf(t, [2]string{"readme.txt", "x"}) }, CodePacketFormat},
		{"wrong encryptedhash", func(h *handPacket) []byte { h.infoHash = b64(randomBytes(32)); return built(h) }, CodePacketInvalid},
		{"encrypted for another machine", func(h *handPacket) []byte { h.encryptFor = "10002_10004"; return built(h) }, CodePacketDecryptFailure},
		{"no audit.json", func(h *handPacket) []byte { h.omit = "audit.json"; return built(h) }, CodePacketInvalid},
		{"ID.json without identity", func(h *handPacket) []byte { h.idJSON = `{"fullName":"x"}`; return built(h) }, CodePacketInvalid},
		{"process other than synced", func(h *handPacket) []byte { h.process = "CRVS_NEW"; return built(h) }, CodePacketInvalid},
		{"metaData of another type", func(h *handPacket) []byte {
			h.metaJSON = `{"identity":{"metaData":[{"label":"registrationType","value":"NEW"}]}}`
			return built(h)
		}, CodePacketInvalid},
	}
	for _, tt := range tests {
		rid, pkt := synced(tt.change)
		r := e.upload(tok, rid+".zip", pkt)
		if len(r.Errors) != 1 || r.Errors[0].ErrorCode != tt.code {
			t.Errorf("%s: errors %+v, want %s", tt.name, r.Errors, tt.code)
		}
		if _, ok := e.sim.Registration(rid); ok {
			t.Errorf("%s: a refused packet started a registration", tt.name)
		}
	}

	rid, pkt := synced(built)
	if r := e.upload(tok, rid+".txt", pkt); len(r.Errors) != 1 || r.Errors[0].ErrorCode != CodePacketFormat {
		t.Errorf("file not named .zip: %+v, want %s", r.Errors, CodePacketFormat)
	}
	_, data := e.post(PathPacketReceiver, tok, "application/json", nil, []byte(`{}`))
	if got := errorCodes(decodeMOSIP[any](t, data).Errors); len(got) != 1 || got[0] != CodePacketMissing {
		t.Errorf("not multipart: errors %v, want %s", got, CodePacketMissing)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("other", "x")
	_ = mw.Close()
	_, data = e.post(PathPacketReceiver, tok, mw.FormDataContentType(), nil, buf.Bytes())
	if got := errorCodes(decodeMOSIP[any](t, data).Errors); len(got) != 1 || got[0] != CodePacketMissing {
		t.Errorf("no part \"file\": errors %v, want %s", got, CodePacketMissing)
	}
	// The good packet of that RID is still accepted after the refusals.
	if r := e.upload(tok, rid+".zip", pkt); len(r.Errors) > 0 {
		t.Errorf("valid upload after refusals: %+v", r.Errors)
	}
}

func TestUploadEndpointsTakeFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)
	for _, ep := range []string{EndpointRIDGenerator, EndpointKeymanager, EndpointSync, EndpointPacketReceiver} {
		if err := e.sim.SetFaults(Faults{ErrorRate: 1, ErrorMode: ModeErrors200, Endpoints: []string{ep}}); err != nil {
			t.Fatalf("faults on %s: %v", ep, err)
		}
		var resp *http.Response
		var body []byte
		switch ep {
		case EndpointRIDGenerator:
			resp, body = e.do(http.MethodGet, PathRIDGenerator+"/10001/10004", tok, nil)
		case EndpointKeymanager:
			resp, body = e.do(http.MethodPost, PathKeymanagerEncrypt, tok, kmRequestBody(mosip.AppRegistration, testRefID, []byte("x"), randomBytes(12), randomBytes(32), true))
		case EndpointSync:
			resp, body = e.post(PathSync, tok, "application/json", syncHeaders(), []byte(`"x"`))
		case EndpointPacketReceiver:
			resp, body = e.post(PathPacketReceiver, tok, "application/json", nil, []byte(`{}`))
		}
		codes := errorCodes(decodeMOSIP[any](t, body).Errors)
		if resp.StatusCode != http.StatusOK || len(codes) != 1 {
			t.Fatalf("%s: HTTP %d %s, want one injected MOSIP error", ep, resp.StatusCode, body)
		}
		if class, known := mosip.CodeClass(codes[0]); !known || class != mosip.Transient {
			t.Errorf("%s: injected %s is %v (known %v), want a transient code", ep, codes[0], class, known)
		}
	}
}
