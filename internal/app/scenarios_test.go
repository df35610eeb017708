package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/loadgen"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/websub"
)

// reversalToken is an OpenCRVS token that may ask for death reversals.
func (s *system) reversalToken(t *testing.T) http.Header {
	t.Helper()
	var ans struct{ Token string }
	if st := do(t, "POST", s.opencrvsURL+"/sim/tokens", nil, map[string]any{"scope": []string{"record.registration-correct"}}, &ans); st != http.StatusOK {
		t.Fatalf("mint token: %d", st)
	}
	return bearer(ans.Token)
}

// reverse asks for a death reversal and returns the status and the answer.
func (s *system) reverse(t *testing.T, req map[string]any) (int, map[string]any) {
	t.Helper()
	var ans map[string]any
	st := do(t, "POST", s.mediatorURL+"/events/death-reversal", s.reversalToken(t), req, &ans)
	return st, ans
}

// waitReversal polls a reversal until MOSIP finished it (or refused it).
func (s *system) waitReversal(t *testing.T, id string) map[string]any {
	t.Helper()
	tok := s.reversalToken(t)
	for range 600 {
		var st map[string]any
		if code := do(t, "GET", s.mediatorURL+"/events/death-reversal/"+id, tok, nil, &st); code != http.StatusOK {
			t.Fatalf("GET reversal %s: %d %v", id, code, st)
		}
		if st["state"] == string(bridge.StateConfirmed) || st["state"] == string(bridge.StateReported) || st["state"] == string(bridge.StateDead) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("reversal %s did not finish", id)
	return nil
}

// fieldValue reads a simulator identity field: text, or the value of a
// [{language, value}] list.
func fieldValue(v string) string {
	var list []struct{ Value string }
	if json.Unmarshal([]byte(v), &list) == nil && len(list) > 0 {
		return list[0].Value
	}
	return v
}

func (s *system) identity(t *testing.T, nid string) mosipsim.IdentityView {
	t.Helper()
	id, ok := s.mosip.Identity(nid)
	if !ok {
		t.Fatalf("MOSIP has no identity %s", nid)
	}
	return id
}

// The life of one person through the mediator: registered at birth, then
// dead, then the death corrected, then the death reversed because it was
// registered by mistake. MOSIP's identity ends active, alive and with the
// corrected data; OpenCRVS saw each record confirmed once.
func TestE2EBirthDeathCorrectionReversal(t *testing.T) {
	for _, mode := range []string{"fhir", "mapped"} {
		t.Run(mode, func(t *testing.T) {
			s := startSystem(t, systemOptions{})
			birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": mode}).ID)
			if birth.Status != "registered" || birth.NationalID == nil {
				t.Fatalf("birth: %+v", birth)
			}
			nid := *birth.NationalID

			death := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "mode": mode, "of": birth.ID}).ID)
			if death.Status != "registered" || death.Confirmations != 1 || death.NationalID != nil {
				t.Fatalf("death: %+v, want registered once, without a national ID", death)
			}
			if id := s.identity(t, nid); !id.Deceased || id.Status != "ACTIVATED" {
				t.Fatalf("after the death MOSIP's identity is deceased=%v status=%s, want deceased and (MOSIP's policy) still ACTIVATED", id.Deceased, id.Status)
			}

			corr := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death-correction", "mode": mode, "of": death.ID, "changes": true}).ID)
			if corr.Status != "registered" || corr.Confirmations != 1 {
				t.Fatalf("death correction: %+v", corr)
			}
			s.settle(t)
			corrTr := s.transactionByRecord(t, corr.ID)
			deathTr := s.transactionByRecord(t, death.ID)
			if corrTr.Corrects != deathTr.ID || corrTr.State != bridge.StateConfirmed {
				t.Errorf("correction transaction corrects %q (state %s), want %s CONFIRMED", corrTr.Corrects, corrTr.State, deathTr.ID)
			}
			// Only what changed goes to MOSIP, with the person's national ID.
			sent, err := s.mediator.Store().TransactionWithPacket(t.Context(), corrTr.ID)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := s.mediator.Store().TransactionWithPacket(t.Context(), deathTr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sent.Packet.Process != bridge.ProcessUpdate || len(sent.Packet.Fields) < 2 {
				t.Errorf("correction packet: process %s, %d fields", sent.Packet.Process, len(sent.Packet.Fields))
			}
			for k, v := range sent.Packet.Fields {
				if k == "nationalIdNumber" {
					if string(v) != fmt.Sprintf("%q", nid) {
						t.Errorf("correction names %s, want the deceased's national ID", v)
					}
					continue
				}
				if string(orig.Packet.Fields[k]) == string(v) {
					t.Errorf("correction sends %s, which did not change", k)
				}
			}
			corrected := s.identity(t, nid)
			if n := len(corrected.Changes); n < 3 || corrected.Changes[n-1].Process != bridge.ProcessUpdate {
				t.Fatalf("identity history %+v, want the death correction (CRVS_UPDATE) last", corrected.Changes)
			}

			// Reversal by the death's registration number, with the
			// demographics MOSIP holds.
			fields := corrected.Fields
			st, ans := s.reverse(t, map[string]any{
				"deathRegistrationNumber": *death.RegistrationNumber,
				"fullName":                fieldValue(fields["fullName"]),
				"dateOfBirth":             strings.ReplaceAll(fields["dateOfBirth"], "/", "-"),
				"gender":                  fieldValue(fields["gender"]),
			})
			if st != http.StatusAccepted {
				t.Fatalf("reversal: %d %v", st, ans)
			}
			id := ans["transactions"].([]any)[0].(map[string]any)["id"].(string)
			if got := s.waitReversal(t, id); got["state"] != string(bridge.StateConfirmed) || got["done"] != true {
				t.Fatalf("reversal ended %v", got)
			}
			final := s.identity(t, nid)
			if final.Deceased || final.Status != "ACTIVATED" {
				t.Errorf("after the reversal the identity is deceased=%v status=%s, want alive and ACTIVATED", final.Deceased, final.Status)
			}
			for _, f := range []string{"fullName", "dateOfBirth", "gender"} {
				if final.Fields[f] != corrected.Fields[f] {
					t.Errorf("%s changed by the reversal: %s -> %s", f, corrected.Fields[f], final.Fields[f])
				}
			}
			for _, r := range []simRecord{birth, death, corr} {
				if r = s.waitRecord(t, r.ID); r.Confirmations != 1 || r.Rejections != 0 {
					t.Errorf("record %s (%s): %d confirmations, %d rejections", r.ID, r.Kind, r.Confirmations, r.Rejections)
				}
			}
		})
	}
}

// Corrections the mediator cannot or need not send to MOSIP, and death
// reversals it refuses, each end in a clear state with a reason.
func TestCorrectionsAndReversalsRefused(t *testing.T) {
	s := startSystem(t, systemOptions{})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID)
	if birth.NationalID == nil {
		t.Fatalf("birth: %+v", birth)
	}

	// A correction that changes nothing: confirmed, MOSIP untouched.
	before := len(s.identity(t, *birth.NationalID).Changes)
	same := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth-correction", "of": birth.ID, "changes": false}).ID)
	s.settle(t)
	if tr := s.transactionByRecord(t, same.ID); same.Status != "registered" || tr.State != bridge.StateConfirmed || !strings.Contains(tr.SkipReason, "changes nothing") {
		t.Errorf("unchanged correction: record %s, transaction %s %q", same.Status, tr.State, tr.SkipReason)
	}
	if after := len(s.identity(t, *birth.NationalID).Changes); after != before {
		t.Errorf("a correction that changes nothing reached MOSIP (%d -> %d changes)", before, after)
	}

	// A correction of a registration the mediator never saw.
	tok := bearer(s.token(t, "corr-unknown", time.Hour))
	var problem map[string]any
	st := do(t, "POST", s.mediatorURL+"/events/registration", tok, map[string]any{
		"compositionId": "corr-unknown", "trackingId": "BNEVER1", "correction": true,
		"requestFields": map[string]any{"birthCertificateNumber": "2026BNEVER1", "fullName": []map[string]string{{"language": "eng", "value": "No Body"}}},
	}, &problem)
	if st != http.StatusNotFound || !strings.Contains(fmt.Sprint(problem["detail"]), "no birth with tracking id BNEVER1") {
		t.Errorf("correction of an unknown registration: %d %v", st, problem)
	}

	// Reversals: of a living person, with wrong demographics, of an
	// unknown identity.
	fields := s.identity(t, *birth.NationalID).Fields
	good := map[string]any{"nationalId": *birth.NationalID, "fullName": fieldValue(fields["fullName"]),
		"dateOfBirth": strings.ReplaceAll(fields["dateOfBirth"], "/", "-")}
	if st, ans := s.reverse(t, good); st != http.StatusConflict || !strings.Contains(fmt.Sprint(ans["detail"]), "does not record this person as deceased") {
		t.Errorf("reversal of a living person: %d %v", st, ans)
	}
	dead, err := s.mosip.AddIdentity(mosipsim.SeedIdentity{Deceased: true, DateOfDeath: "2026/01/02", Fields: map[string]string{
		"fullName": `[{"language":"eng","value":"Ada Lovelace"}]`, "dateOfBirth": "1990/12/10", "gender": `[{"language":"eng","value":"Female"}]`,
		"deathDeclared": "yes",
	}})
	if err != nil {
		t.Fatal(err)
	}
	wrong := map[string]any{"nationalId": dead.UIN, "fullName": "Ada  LOVELACE", "dateOfBirth": "1990-12-11"}
	if st, ans := s.reverse(t, wrong); st != http.StatusConflict || !strings.Contains(fmt.Sprint(ans["detail"]), "dateOfBirth differs") ||
		strings.Contains(fmt.Sprint(ans["detail"]), "fullName") {
		t.Errorf("reversal with a wrong date of birth: %d %v, want 409 naming dateOfBirth only", st, ans)
	}
	if st, ans := s.reverse(t, map[string]any{"nationalId": "9999999999", "fullName": "X", "dateOfBirth": "1990-01-01"}); st != http.StatusNotFound {
		t.Errorf("reversal of an unknown identity: %d %v", st, ans)
	}
	if st, ans := s.reverse(t, map[string]any{"deathRegistrationNumber": "2026DNONE", "fullName": "X", "dateOfBirth": "1990-01-01"}); st != http.StatusNotFound {
		t.Errorf("reversal of an unknown death: %d %v", st, ans)
	}
	// The right person, by VID, in a mediator that reverses through the ID
	// repository.
	st2, ans := s.reverse(t, map[string]any{"nationalId": dead.VID, "fullName": "ada lovelace", "dateOfBirth": "1990-12-10", "gender": "female"})
	if st2 != http.StatusAccepted {
		t.Fatalf("reversal: %d %v", st2, ans)
	}
	id := ans["transactions"].([]any)[0].(map[string]any)["id"].(string)
	if got := s.waitReversal(t, id); got["state"] != string(bridge.StateConfirmed) {
		t.Fatalf("reversal ended %v", got)
	}
	if got := s.identity(t, dead.UIN); got.Deceased {
		t.Errorf("identity still deceased after the reversal")
	}
	// Without the scope: refused.
	var p map[string]any
	if st := do(t, "POST", s.mediatorURL+"/events/death-reversal", tok, good, &p); st != http.StatusForbidden {
		t.Errorf("reversal with a record token: %d %v", st, p)
	}
}

// In idrepo mode the reversal reactivates the UIN through the ID
// repository's update API, including after a death that deactivated it.
func TestDeathReversalThroughTheIDRepository(t *testing.T) {
	s := startSystem(t, systemOptions{
		config: func(c *Config) { c.ReversalMode = "idrepo" },
		mosip:  func(c *mosipsim.Config) { c.DeactivateOnDeath = true },
	})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth"}).ID)
	death := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "of": birth.ID}).ID)
	if death.Status != "registered" {
		t.Fatalf("death: %+v", death)
	}
	id := s.identity(t, *birth.NationalID)
	if id.Status != "DEACTIVATED" || !id.Deceased {
		t.Fatalf("after the death: %s deceased=%v", id.Status, id.Deceased)
	}
	st, ans := s.reverse(t, map[string]any{"deathRegistrationNumber": *death.RegistrationNumber,
		"fullName": fieldValue(id.Fields["fullName"]), "dateOfBirth": strings.ReplaceAll(id.Fields["dateOfBirth"], "/", "-")})
	if st != http.StatusAccepted {
		t.Fatalf("reversal: %d %v", st, ans)
	}
	rid := ans["transactions"].([]any)[0].(map[string]any)["id"].(string)
	if got := s.waitReversal(t, rid); got["state"] != string(bridge.StateConfirmed) {
		t.Fatalf("reversal ended %v", got)
	}
	if id := s.identity(t, *birth.NationalID); id.Status != "ACTIVATED" || id.Deceased {
		t.Errorf("after the reversal: %s deceased=%v, want ACTIVATED and alive", id.Status, id.Deceased)
	}
}

// A resident updates their data in MOSIP: the mediator, subscribed to
// identity updates, finds the birth it registered that identity from and
// sends the new data to OpenCRVS's endpoint, once per change. A change of
// an identity no record here has is recorded and counted, not guessed.
func TestE2EIdentityUpdatesReachOpenCRVS(t *testing.T) {
	const secret = "identity-update-secret"
	s := startSystem(t, systemOptions{
		opencrvs: func(c *opencrvssim.Config) { c.IdentityUpdateSecret = []byte(secret) },
		config: func(c *Config) {
			c.IdentityTopic = "IDENTITY_UPDATED"
			c.IdentityCallback = strings.TrimSuffix(c.CallbackURL, "/callback") + "/identity"
			c.IdentitySinkURL = strings.TrimSuffix(c.OpenCRVSGraphQL, "/graphql") + opencrvssim.PathIdentityUpdates
			c.IdentitySinkSecret = secret
		},
	})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth"}).ID)
	if birth.NationalID == nil {
		t.Fatalf("birth: %+v", birth)
	}
	s.setMOSIPFaults(t, map[string]any{"duplicateDeliveryRate": 1.0})
	res, err := s.mosip.UpdateIdentity(*birth.NationalID, mosipsim.ResidentUpdate{Fields: map[string]string{
		"fullName": `[{"language":"eng","value":"Renamed Resident"}]`,
	}})
	if err != nil || res.EventID == "" {
		t.Fatalf("resident update: %+v %v", res, err)
	}
	var rec struct {
		Updates []struct {
			EventID string
			Changed []string
			Fields  map[string]json.RawMessage
		}
	}
	for i := 0; ; i++ {
		do(t, "GET", s.opencrvsURL+"/sim/records/"+birth.ID, nil, nil, &rec)
		if len(rec.Updates) > 0 || i == 300 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(rec.Updates) != 1 {
		t.Fatalf("OpenCRVS got %d identity updates, want 1", len(rec.Updates))
	}
	u := rec.Updates[0]
	if u.EventID != res.EventID || !strings.Contains(string(u.Fields["fullName"]), "Renamed Resident") {
		t.Errorf("update %+v, want event %s with the new name", u, res.EventID)
	}
	if _, ok := u.Fields["UIN"]; ok {
		t.Errorf("the UIN was sent to OpenCRVS")
	}

	// A forged change of that identity (no signature, another secret's,
	// sha1) is refused and changes nothing: not recorded, not sent on.
	forged, err := json.Marshal(mosip.IdentityEvent{Publisher: mosip.PublisherIDRepo, Topic: "IDENTITY_UPDATED", Event: mosip.IdentityEventMsg{
		ID: "e-forged", Data: mosip.IdentityEventData{UIN: *birth.NationalID, Process: "CRVS_UPDATE", Status: "ACTIVATED", ChangedAttributes: []string{"fullName"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{"missing": "", "wrong secret": websub.Sign([]byte("guess"), forged), "sha1": "sha1=" + strings.Repeat("0", 40)} {
		h := http.Header{}
		if sig != "" {
			h.Set(websub.SignatureHeader, sig)
		}
		var p problemAnswer
		if st := do(t, "POST", s.mediatorURL+"/websub/identity", h, forged, &p); st != http.StatusUnauthorized || p.Field != websub.SignatureHeader {
			t.Errorf("forged identity delivery, signature %s: status %d %+v, want 401 naming %s", name, st, p, websub.SignatureHeader)
		}
	}
	if seen, _ := s.mediator.Store().SeenDelivery(t.Context(), "e-forged"); seen {
		t.Error("a forged identity delivery was recorded")
	}

	// An identity the mediator never registered.
	other, err := s.mosip.AddIdentity(mosipsim.SeedIdentity{Fields: map[string]string{"fullName": `[{"language":"eng","value":"Some One"}]`}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.mosip.UpdateIdentity(other.UIN, mosipsim.ResidentUpdate{Fields: map[string]string{"fullName": `[{"language":"eng","value":"Some Body"}]`}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		counts, err := s.mediator.Store().CountDeliveries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if counts["unknown_identity"] == 1 {
			break
		}
		if i == 300 {
			t.Fatalf("deliveries by outcome %v, want one unknown_identity", counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The person's death, registered through the mediator, changes the
	// identity too: that change came from OpenCRVS and is not sent back.
	if d := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "of": birth.ID}).ID); d.Status != "registered" {
		t.Fatalf("death: %+v", d)
	}
	for i := 0; ; i++ {
		counts, _ := s.mediator.Store().CountDeliveries(t.Context())
		if counts["own_change"] >= 1 {
			break
		}
		if i == 300 {
			t.Fatalf("deliveries by outcome %v, want the death's change recorded as own_change", counts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	do(t, "GET", s.opencrvsURL+"/sim/records/"+birth.ID, nil, nil, &rec)
	if len(rec.Updates) != 1 {
		t.Errorf("OpenCRVS has %d updates for the birth, want still the resident's 1", len(rec.Updates))
	}
}

// `load --kind mixed`: births, deaths of those people and corrections of
// both, through the whole system; every record completes.
func TestE2ELoadMixed(t *testing.T) {
	s := startSystem(t, systemOptions{})
	res, err := loadgen.Run(t.Context(), loadgen.Config{OpenCRVSURL: s.opencrvsURL, Records: 100, Concurrency: 8, Kind: "mixed", Mode: "mixed", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 100 || res.Failed != 0 {
		s.settle(t)
		list, _ := s.mediator.Store().List(t.Context(), store.ListFilter{State: bridge.StateReported})
		for _, tr := range list {
			reg, _ := s.mosip.Registration(tr.ID)
			t.Logf("reported: %s %s corrects=%q: %s %+v", tr.ID, tr.Kind, tr.Corrects, tr.LastError, reg)
		}
		t.Fatalf("mixed load: %d completed, %d failed (%v)", res.Completed, res.Failed, res.Errors)
	}
	for _, kind := range []string{"birth", "death", "birth-correction", "death-correction"} {
		if res.CompletedByKind[kind] == 0 {
			t.Errorf("no %s completed: %v", kind, res.CompletedByKind)
		}
	}
	counts := s.settle(t)
	if len(counts) != 1 || counts[bridge.StateConfirmed] != 100 {
		t.Errorf("transactions by state %v, want 100 CONFIRMED", counts)
	}
}

// A second death of someone MOSIP already records as deceased, and a
// correction MOSIP refuses: each ends registered or rejected in OpenCRVS,
// once, with a reason.
func TestE2EDeathOfTheDeadAndARefusedCorrection(t *testing.T) {
	s := startSystem(t, systemOptions{})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}).ID)
	first := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "of": birth.ID}).ID)
	before := s.identity(t, *birth.NationalID)
	second := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "of": birth.ID}).ID)
	if first.Status != "registered" || second.Status != "registered" || second.Confirmations != 1 {
		t.Fatalf("deaths: %+v / %+v, want both registered once", first, second)
	}
	if after := s.identity(t, *birth.NationalID); !after.Deceased || after.DateOfDeath != before.DateOfDeath {
		t.Errorf("the second death changed MOSIP's record of the first: %v %s -> %v %s", before.Deceased, before.DateOfDeath, after.Deceased, after.DateOfDeath)
	}

	// A correction MOSIP rejects (its demographic deduplication, here
	// forced): the registrar is told why, the original stays registered.
	nameBefore := s.identity(t, *birth.NationalID).Fields["fullName"]
	s.setMOSIPFaults(t, map[string]any{"rejectRate": 1.0})
	corr := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth-correction", "of": birth.ID, "changes": true}).ID)
	if corr.Status != "rejected" || corr.Rejections != 1 || corr.Comment == nil || !strings.Contains(*corr.Comment, "MOSIP rejected this record") {
		t.Fatalf("refused correction: %+v, want rejected once with MOSIP's reason", corr)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, corr.ID)
	if tr.State != bridge.StateReported || tr.Corrects != s.transactionByRecord(t, birth.ID).ID {
		t.Errorf("refused correction: %s, corrects %q", tr.State, tr.Corrects)
	}
	if b := s.waitRecord(t, birth.ID); b.Status != "registered" {
		t.Errorf("the original is %s after its correction was refused", b.Status)
	}
	if got := s.identity(t, *birth.NationalID).Fields["fullName"]; got != nameBefore {
		t.Errorf("MOSIP applied the refused correction: %s -> %s", nameBefore, got)
	}
}

// A MOSIP that publishes no credential for deaths: the mediator learns the
// death is done from the registration status.
func TestE2EDeathCompletedByStatusPolling(t *testing.T) {
	s := startSystem(t, systemOptions{})
	birth := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "birth"}).ID)
	s.setMOSIPFaults(t, map[string]any{"disableDeathCredential": true})
	death := s.waitRecord(t, s.sendRecord(t, map[string]any{"kind": "death", "of": birth.ID}).ID)
	if death.Status != "registered" || death.Confirmations != 1 {
		t.Fatalf("death: %+v", death)
	}
	s.settle(t)
	tr := s.transactionByRecord(t, death.ID)
	events, err := s.mediator.Store().Events(t.Context(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	polled := false
	for _, e := range events {
		polled = polled || (e.To == bridge.StateIssued && strings.Contains(e.Reason, "status PROCESSED"))
	}
	if !polled || tr.State != bridge.StateConfirmed {
		t.Errorf("death %s: events %+v, want ISSUED from the registration status", tr.State, events)
	}
}
