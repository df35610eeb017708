package mosipsim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/vc"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkNumber asserts a MOSIP UIN/VID: n digits, no leading 0 or 1,
// Verhoeff check digit.
func checkNumber(t *testing.T, what, v string, n int) {
	t.Helper()
	if len(v) != n || v[0] == '0' || v[0] == '1' || !mosip.VerhoeffValid(v) {
		t.Errorf("%s %q: want %d digits, not starting with 0 or 1, with a Verhoeff check digit", what, v, n)
	}
}

func TestBirthEndToEnd(t *testing.T) {
	t.Parallel()
	for _, format := range []string{CredentialVC, CredentialMOSIP} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.CredentialFormat = format })
			packetToken := e.token(DevRegprocClient)
			hubToken := e.token(DevWebsubClient)
			topic := "opencrvs-partner/CREDENTIAL_ISSUED"
			sub := newSubscriber(t, e.keys.partner, "hmac-secret-1")
			e.subscribe(hubToken, sub, topic)

			sub.mu.Lock()
			intent := sub.intents[0]
			sub.mu.Unlock()
			if got, want := intent.Get("hub.mode"), "subscribe"; got != want {
				t.Errorf("intent hub.mode = %q, want %q", got, want)
			}
			if got, want := intent.Get("hub.topic"), topic; got != want {
				t.Errorf("intent hub.topic = %q, want %q", got, want)
			}
			if got, want := intent.Get("hub.lease_seconds"), "86400"; got != want {
				t.Errorf("intent hub.lease_seconds = %q, want %q", got, want)
			}
			if !uuidPattern.MatchString(intent.Get("hub.challenge")) {
				t.Errorf("intent hub.challenge %q is not a UUID", intent.Get("hub.challenge"))
			}

			const rid = "100010123456789"
			p := infant("Amina Banda")
			fields := birthFields(p)
			infos := e.createPacket(packetToken, packetBody(rid, "CRVS_NEW", fields))
			checkPacketInfos(t, e, rid, infos)

			wfID := e.startWorkflow(packetToken, rid, "CRVS_NEW")
			if !uuidPattern.MatchString(wfID) {
				t.Errorf("workflowInstanceId %q is not a UUID", wfID)
			}

			got := sub.next()
			checkDelivery(t, e, got, topic, rid)
			if got, want := got.event.Event.Data.CredentialType, map[string]string{CredentialVC: "vercred", CredentialMOSIP: "euin"}[format]; got != want {
				t.Errorf("credentialType = %q, want %q", got, want)
			}
			cred, err := mosip.ParseCredential(got.credential)
			if err != nil {
				t.Fatalf("ParseCredential: %v", err)
			}
			if cred.RegistrationID != rid {
				t.Errorf("credential names registration %q, want %q", cred.RegistrationID, rid)
			}
			checkNumber(t, "VID", cred.VID, 16)
			if format == CredentialVC {
				checkVC(t, e, got.credential, fields["birthCertificateNumber"].(string))
			} else {
				checkNumber(t, "UIN", cred.UIN, 10)
				checkMOSIPCredential(t, got.credential, rid, fields)
			}

			v := e.finished(rid)
			if v.Status != mosip.StatusProcessed {
				t.Fatalf("status = %s, want PROCESSED; stages %+v", v.Status, v.Stages)
			}
			var stages []string
			for _, st := range v.Stages {
				stages = append(stages, st.Stage)
				if st.Status != StageSuccess {
					t.Errorf("stage %s: %s %s", st.Stage, st.Status, st.Reason)
				}
			}
			want := []string{StageSecurezone, StagePacketValidator, StageClassifier, StageCMDValidator, StageOperator,
				StageDemoDedupe, StageUINGenerator, StageFinalization, StageCredential}
			if diff := cmp.Diff(want, stages); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			if got, want := v.Tags["AGE_GROUP"], AgeInfant; got != want {
				t.Errorf("AGE_GROUP = %q, want %q", got, want)
			}
			checkNumber(t, "UIN", v.UIN, 10)
			if v.VID != cred.VID {
				t.Errorf("registration VID %q, credential VID %q", v.VID, cred.VID)
			}
			id, ok := e.sim.Identity(v.UIN)
			if !ok {
				t.Fatalf("no identity for the new UIN")
			}
			if id.Status != IdentityActivated || id.Deceased || id.Fields["fullName"] != fields["fullName"] {
				t.Errorf("identity = %+v, want ACTIVATED, alive, with the packet's fields", id)
			}

			// The status search tells the same story.
			_, body := e.do(http.MethodPost, PathStatusSearch, packetToken, statusBody(rid, "unknown-rid"))
			r := decodeMOSIP[[]mosip.RegistrationStatus](t, body)
			if diff := cmp.Diff([]mosip.RegistrationStatus{{RegistrationID: rid, StatusCode: mosip.StatusProcessed}}, r.Response); diff != "" {
				t.Errorf("status search (-want +got):\n%s", diff)
			}
			sub.none()
		})
	}
}

// checkPacketInfos checks the three sub-packets and their signatures
// against the packet writer key the simulator publishes.
func checkPacketInfos(t *testing.T, e *env, rid string, infos []mosip.PacketInfo) {
	t.Helper()
	_, body := e.do(http.MethodGet, "/.well-known/jwks.json", "", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	ks := set.Key("packet-writer")
	if len(ks) != 1 {
		t.Fatalf("jwks has %d packet-writer keys", len(ks))
	}
	pub, ok := ks[0].Key.(ed25519.PublicKey)
	if !ok {
		t.Fatalf("packet-writer key is %T", ks[0].Key)
	}
	var names []string
	for _, info := range infos {
		names = append(names, info.PacketName)
		if info.ID != rid || info.Process != "CRVS_NEW" || info.Source != "OPENCRVS" || info.RefID != "10001_10004" ||
			info.SchemaVersion != "0.100" || info.ProviderName != "PacketWriterImpl" || info.CreationDate == "" {
			t.Errorf("packet info %+v does not describe the request", info)
		}
		content, ok := e.sim.SubPacketContent(rid, info.PacketName)
		if !ok {
			t.Fatalf("no content for %s", info.PacketName)
		}
		sig, err := base64.RawURLEncoding.DecodeString(info.Signature)
		if err != nil || !ed25519.Verify(pub, content, sig) {
			t.Errorf("%s: signature does not verify", info.PacketName)
		}
		hash := sha256.Sum256(content)
		if info.EncryptedHash != base64.RawURLEncoding.EncodeToString(hash[:]) {
			t.Errorf("%s: encryptedHash is not the content's hash", info.PacketName)
		}
	}
	if diff := cmp.Diff([]string{rid + "_id", rid + "_evidence", rid + "_optional"}, names); diff != "" {
		t.Errorf("packet names (-want +got):\n%s", diff)
	}
	idContent, _ := e.sim.SubPacketContent(rid, rid+"_id")
	if !bytes.Contains(idContent, []byte(`"fullName"`)) || !bytes.Contains(idContent, []byte(`"operationsData"`)) {
		t.Errorf("the _id sub-packet lacks the identity or the meta info: %s", idContent)
	}
}

func checkDelivery(t *testing.T, e *env, got received, topic, rid string) {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if link, want := got.header.Get("Link"), "<"+e.url+PathHub+`>; rel="hub", <`+topic+`>; rel="self"`; link != want {
		t.Errorf("Link = %q, want %q", link, want)
	}
	ev := got.event
	if ev.Publisher != "CREDENTIAL_SERVICE" || ev.Topic != topic || ev.PublishedOn == "" {
		t.Errorf("event header = %+v", ev)
	}
	if !uuidPattern.MatchString(ev.Event.ID) || !uuidPattern.MatchString(ev.Event.TransactionID) {
		t.Errorf("event id %q / transactionId %q are not UUIDs", ev.Event.ID, ev.Event.TransactionID)
	}
	if ev.Event.Type != (mosip.EventType{Namespace: "mosip", Name: "mosip"}) {
		t.Errorf("event type = %+v", ev.Event.Type)
	}
	d := ev.Event.Data
	if d.RegistrationID != rid || d.TemplateTypeCode != "RPR_UIN_CARD_TEMPLATE" || len(d.ProtectionKey) != 6 {
		t.Errorf("event data = registrationId %q templateTypeCode %q protectionKey %q", d.RegistrationID, d.TemplateTypeCode, d.ProtectionKey)
	}
	// proof.signature: a detached ES256 JWS over the plain credential by
	// the credential service key.
	var proof struct {
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(d.Proof, &proof); err != nil {
		t.Fatalf("proof: %v", err)
	}
	jws, err := jose.ParseDetached(proof.Signature, got.credential, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("proof.signature: %v", err)
	}
	set := e.sim.JWKS()
	key := set.Key("credential-service")[0]
	if _, err := jws.Verify(key.Key); err != nil {
		t.Errorf("proof.signature does not verify: %v", err)
	}
}

// checkVC checks the verifiable credential and its RsaSignature2018 proof
// with the key served at /.well-known/public-key.json.
func checkVC(t *testing.T, e *env, plain []byte, brn string) {
	t.Helper()
	var vc map[string]any
	if err := json.Unmarshal(plain, &vc); err != nil {
		t.Fatalf("credential: %v", err)
	}
	wantContext := []any{"https://www.w3.org/2018/credentials/v1", e.url + "/.well-known/mosip-context.json", map[string]any{"sec": "https://w3id.org/security#"}}
	if diff := cmp.Diff(wantContext, vc["@context"]); diff != "" {
		t.Errorf("@context (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"VerifiableCredential", "MOSIPVerifiableCredential"}, vc["type"]); diff != "" {
		t.Errorf("type (-want +got):\n%s", diff)
	}
	subject, _ := vc["credentialSubject"].(map[string]any)
	if subject["birthCertificateNumber"] != brn || subject["vcVer"] != "VC-V1" {
		t.Errorf("credentialSubject = %v", subject)
	}
	proof, _ := vc["proof"].(map[string]any)
	keyURL := e.url + "/.well-known/public-key.json"
	if proof["type"] != "RsaSignature2018" || proof["proofPurpose"] != "assertionMethod" || proof["verificationMethod"] != keyURL {
		t.Errorf("proof = %v", proof)
	}
	checkVCProof(t, e, vc)
}

func checkVCProof(t *testing.T, e *env, cred map[string]any) {
	t.Helper()
	proof, _ := cred["proof"].(map[string]any)
	jws, _ := proof["jws"].(string)
	header, _, ok := strings.Cut(jws, "..")
	if !ok {
		t.Fatalf("proof.jws %q is not a detached JWS", jws)
	}
	hdrJSON, _ := base64.RawURLEncoding.DecodeString(header)
	var hdr map[string]any
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil || hdr["alg"] != "PS256" || hdr["b64"] != false {
		t.Errorf("JWS header = %s", hdrJSON)
	}
	_, body := e.do(http.MethodGet, "/.well-known/public-key.json", "", nil)
	var doc struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Type != "RsaVerificationKey2018" {
		t.Fatalf("public-key.json = %s", body)
	}
	// The proof verifies as MOSIP's RsaSignature2018 proofs do (URDNA2015),
	// with the key served at verificationMethod and the context the
	// simulator serves.
	contexts, err := vc.BundledContexts().With(e.url+"/.well-known/mosip-context.json", VCContext())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vc.NewVerifier(vc.VerifierConfig{AllowList: []string{e.url + "/.well-known/public-key.json"}, Contexts: contexts})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(t.Context(), plain)
	if err != nil {
		t.Errorf("the VC proof does not verify: %v", err)
	}
	if len(res.Unsigned) != 0 {
		t.Errorf("properties the signature does not cover: %v", res.Unsigned)
	}
}

func checkMOSIPCredential(t *testing.T, plain []byte, rid string, fields map[string]any) {
	t.Helper()
	var c struct {
		Type              []string          `json:"type"`
		IssuedTo          string            `json:"issuedTo"`
		CredentialSubject map[string]string `json:"credentialSubject"`
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		t.Fatalf("credential: %v", err)
	}
	if c.IssuedTo != "opencrvs-partner" || len(c.Type) != 1 || c.Type[0] != "MOSIPVerifiableCredential" {
		t.Errorf("credential = %s", plain)
	}
	if c.CredentialSubject["id"] != rid || c.CredentialSubject["fullName"] != fields["fullName"] || c.CredentialSubject["dateOfBirth"] != fields["dateOfBirth"] {
		t.Errorf("credentialSubject = %v", c.CredentialSubject)
	}
}

func statusBody(ids ...string) map[string]any {
	var req []map[string]string
	for _, id := range ids {
		req = append(req, map[string]string{"registrationId": id})
	}
	return map[string]any{"id": mosip.StatusSearchID, "version": mosip.StatusSearchVersion, "requesttime": mosip.FormatTime(time.Now()), "request": req}
}
