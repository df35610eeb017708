package app

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
)

// A birth registered in OpenCRVS reaches MOSIP through both mediators and
// its UIN token comes back to the record.
func TestSplitBirthGetsUINToken(t *testing.T) {
	s := startSplit(t, splitOptions{})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})

	oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	if oc.UIN == "" {
		t.Fatalf("OpenCRVS side: no UIN token kept for %s", oc.ID)
	}
	ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if ms.PeerID != oc.ID || ms.ID != oc.ID {
		t.Errorf("MOSIP side transaction %s (peer %s), want the OpenCRVS side's AID %s for both", ms.ID, ms.PeerID, oc.ID)
	}
	if ms.UIN == "" || ms.UIN == oc.UIN {
		t.Errorf("MOSIP side UIN %q, OpenCRVS side token %q: the token must not be the UIN", ms.UIN, oc.UIN)
	}
	if st := s.stage(t, bridge.EventBirth, oc.ID); st.Status != store.StageSentToOpenCRVS || st.RID != ms.ID {
		t.Errorf("birth_transactions row %+v, want %q for rid %s", st, store.StageSentToOpenCRVS, ms.ID)
	}
	ids, ok := s.opencrvs.RecordIdentifiers(rec.ID)
	if !ok || ids.Upserts < 1 {
		t.Errorf("OpenCRVS record identifiers %+v: the UIN token was not written", ids)
	}
	// Operators of the MOSIP side see the stage and the peer's id.
	var detail struct {
		PeerID string `json:"peerId"`
		Stage  *struct {
			Status string `json:"status"`
		} `json:"stage"`
	}
	if st, err := call("GET", s.mosipSide.url+"/admin/transactions/"+ms.ID, bearer(splitAdminToken), nil, &detail); err != nil || st != 200 {
		t.Fatalf("GET /admin/transactions/%s: %d %v", ms.ID, st, err)
	}
	if detail.PeerID != oc.ID || detail.Stage == nil || detail.Stage.Status != store.StageSentToOpenCRVS {
		t.Errorf("admin view peer %q stage %+v, want %s and %q", detail.PeerID, detail.Stage, oc.ID, store.StageSentToOpenCRVS)
	}
	// MOSIP's credential service learns the credential was served.
	reg, ok := s.mosip.Registration(ms.ID)
	if !ok {
		t.Fatalf("MOSIP has no registration %s", ms.ID)
	}
	raw, _ := json.Marshal(reg)
	m := regexp.MustCompile(`credential request ([0-9a-f-]{36})`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("registration %s names no credential request: %s", ms.ID, raw)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := s.mosip.CredentialStatus(string(m[1])); len(st) == 1 && st[0].Status == "served" {
			break
		} else if time.Now().After(end) {
			t.Fatalf("credential status of request %s: %+v, want one \"served\"", m[1], st)
		}
	}
}

// AID_SOURCE=peer: the MOSIP side makes the record's AID, the OpenCRVS
// side keeps it (as the transaction's peer id) and writes it back with
// WRITEBACK=country-config, with the UIN token, as the Node mediator did.
func TestSplitAIDFromPeerAndCountryConfigWriteBack(t *testing.T) {
	var s *splitSystem
	s = startSplit(t, splitOptions{opencrvs: func(c *Config) {
		c.Split.AIDFromPeer = true
		c.MachineID = "10005" // its own ids then differ from the MOSIP side's AIDs
		c.Split.WriteBack = "country-config"
		c.Split.WriteBackURL = c.OpenCRVSGraphQL[:len(c.OpenCRVSGraphQL)-len("/graphql")] + "/mosip-openhim-mediator"
	}})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if oc.PeerID == "" || oc.PeerID == oc.ID || ms.ID != oc.PeerID || ms.PeerID != oc.ID {
		t.Errorf("OpenCRVS side %s (AID %s), MOSIP side %s (peer %s): want the MOSIP side's AID kept by the OpenCRVS side", oc.ID, oc.PeerID, ms.ID, ms.PeerID)
	}
	var view struct {
		MosipAID         *string `json:"mosipAid"`
		MosipPSUTTokenID *string `json:"mosipPsutTokenId"`
	}
	if st, err := call("GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &view); err != nil || st != 200 {
		t.Fatalf("GET /sim/records/%s: %d %v", rec.ID, st, err)
	}
	if view.MosipAID == nil || *view.MosipAID != ms.ID || view.MosipPSUTTokenID == nil || *view.MosipPSUTTokenID != oc.UIN {
		t.Errorf("country config got AID %v and token %v, want %s and %s", view.MosipAID, view.MosipPSUTTokenID, ms.ID, oc.UIN)
	}
}

// A death naming a person MOSIP knows marks their identity DEACTIVATED
// (DEATH_MODE=deactivate); a death naming a national ID MOSIP does not
// know comes back as MOSIP's refusal, with the reason, on both sides.
func TestSplitDeathDeactivatesTheIdentity(t *testing.T) {
	s := startSplit(t, splitOptions{})
	s.waitSubscribed(t)
	birth := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	born := s.waitState(t, s.mosipSide, birth.ID, bridge.StateConfirmed)

	death := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": born.UIN})
	oc := s.waitState(t, s.ocSide, death.ID, bridge.StateConfirmed)
	ms := s.waitState(t, s.mosipSide, death.ID, bridge.StateConfirmed)
	if st := s.stage(t, bridge.EventDeath, oc.ID); st.Status != store.StageSentToOpenCRVS {
		t.Errorf("death_transactions row %+v, want %q", st, store.StageSentToOpenCRVS)
	}
	var ident map[string]any
	if st, err := call("GET", s.mosipURL+"/sim/identities/"+born.UIN, nil, nil, &ident); err != nil || st != 200 {
		t.Fatalf("GET /sim/identities/%s: %d %v", born.UIN, st, err)
	}
	if got := ident["status"]; got != "DEACTIVATED" {
		t.Errorf("identity status %v after the death (transaction %s), want DEACTIVATED", got, ms.ID)
	}

	unknown := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": "9999999999"})
	refused := s.waitState(t, s.ocSide, unknown.ID, bridge.StateReported)
	if refused.RejectReason == "" {
		t.Errorf("OpenCRVS side: refused death %s has no reason", refused.ID)
	}
	s.waitState(t, s.mosipSide, unknown.ID, bridge.StateReported)
	if st := s.stage(t, bridge.EventDeath, refused.ID); st.Status != store.StageFailed || st.Reason == "" {
		t.Errorf("death_transactions row %+v, want %q with a reason", st, store.StageFailed)
	}
}

// OpenCRVS lost the webhook subscriptions: the OpenCRVS side makes them
// again, and registered records reach it again.
func TestSplitResubscribesWhenOpenCRVSForgets(t *testing.T) {
	s := startSplit(t, splitOptions{opencrvs: func(c *Config) { c.Split.ResubscribeInterval = 200 * time.Millisecond }})
	s.waitSubscribed(t)
	var list struct {
		Entries []struct {
			ID string `json:"id"`
		} `json:"entries"`
	}
	tok, err := s.opencrvs.SystemToken(opencrvssim.DevSystemClient)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := call("GET", s.opencrvsURL+"/webhooks", bearer(tok), nil, &list); err != nil || st != 200 || len(list.Entries) != 2 {
		t.Fatalf("GET /webhooks: %d %v %v", st, list, err)
	}
	for _, sub := range list.Entries {
		if st, err := call("DELETE", s.opencrvsURL+"/webhooks/"+sub.ID, bearer(tok), nil, nil); err != nil || st != 204 {
			t.Fatalf("DELETE /webhooks/%s: %d %v", sub.ID, st, err)
		}
	}
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
}

// The MOSIP side's other modes: births through the packet manager
// (UPLOAD_MODE=packet-manager) and deaths as CRVS_DEATH packets
// (DEATH_MODE=packet) reach the same ends.
func TestSplitPacketManagerAndDeathPackets(t *testing.T) {
	s := startSplit(t, splitOptions{mosip: func(c *Config) {
		c.Split.PacketManager, c.Split.DeathPacket = true, true
		c.Split.RegprocURL = "" // no sync or upload in this mode
	}})
	s.waitSubscribed(t)
	rec := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
	oc := s.waitState(t, s.ocSide, rec.ID, bridge.StateConfirmed)
	ms := s.waitState(t, s.mosipSide, rec.ID, bridge.StateConfirmed)
	if oc.UIN == "" || ms.UIN == "" {
		t.Fatalf("UIN token %q, UIN %q: want both", oc.UIN, ms.UIN)
	}
	if up := s.mosip.UploadStats(); up.Syncs != 0 || up.Received != 0 {
		t.Errorf("upload stats %+v: the packet manager mode synced or uploaded", up)
	}
	death := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": ms.UIN})
	s.waitState(t, s.ocSide, death.ID, bridge.StateConfirmed)
	if st := s.mosip.Stats(); st.Updates.Deaths != 1 {
		t.Errorf("MOSIP flagged %d identities deceased, want 1 (the death packet's)", st.Updates.Deaths)
	}
}
