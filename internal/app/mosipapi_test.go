package app

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/country"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/mosipapi"
	"opencrvs-mosip/internal/sim/opencrvssim"
	"opencrvs-mosip/internal/store"
)

// nodeAPI stands in for OpenCRVS's Node mosip-api before the switch: it
// takes records at /events/registration as mosip-api does and keeps them in
// a database with mosip-api's exact table, one row per birth: a random
// 15-digit transaction id, the caller's token and the birth certificate
// number. It sends nothing to MOSIP itself; forward sends a record's packet
// the way mosip-api did, with the transaction id as the registration id.
type nodeAPI struct {
	path string
	db   *sql.DB

	mu       sync.Mutex
	payloads map[string]mappedPayload // by transaction id
	byRecord map[string]string        // OpenCRVS record id -> transaction id
}

type mappedPayload struct {
	RequestFields map[string]json.RawMessage `json:"requestFields"`
	MetaInfo      map[string]json.RawMessage `json:"metaInfo"`
	Audit         map[string]json.RawMessage `json:"audit"`
	Notification  struct {
		RecipientFullName string `json:"recipientFullName"`
		RecipientEmail    string `json:"recipientEmail"`
		RecipientPhone    string `json:"recipientPhone"`
	} `json:"notification"`
}

func newNodeAPI(t *testing.T) *nodeAPI {
	t.Helper()
	n := &nodeAPI{path: filepath.Join(t.TempDir(), "mosip-api.db"), payloads: map[string]mappedPayload{}, byRecord: map[string]string{}}
	db, err := sql.Open("sqlite", "file:"+n.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// mosip-api's table (packages/mosip-api src/database.ts, 1.8 and 1.9).
	if _, err := db.Exec(`CREATE TABLE transactions (
		id TEXT PRIMARY KEY,
		token TEXT UNIQUE NOT NULL,
		registration_number TEXT UNIQUE NOT NULL,
		created_at TEXT NOT NULL DEFAULT (datetime('now'))
	) STRICT`); err != nil {
		t.Fatal(err)
	}
	n.db = db
	return n
}

// ServeHTTP is mosip-api's POST /events/registration for births.
func (n *nodeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/events/registration" {
		http.NotFound(w, r)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, err := io.ReadAll(r.Body)
	var p mappedPayload
	if !ok || err != nil || json.Unmarshal(body, &p) != nil {
		http.Error(w, `{"error":"An unexpected error occurred"}`, http.StatusInternalServerError)
		return
	}
	var number string
	if json.Unmarshal(p.RequestFields["birthCertificateNumber"], &number) != nil || number == "" {
		http.Error(w, `{"error":"only births here"}`, http.StatusInternalServerError)
		return
	}
	recordID := recordOf(token)
	txID := fmt.Sprintf("10001%010d", rand.Int64N(1e10))
	if _, err := n.db.Exec(`INSERT INTO transactions (id, token, registration_number) VALUES (?, ?, ?)`, txID, token, number); err != nil {
		http.Error(w, `{"error":"An unexpected error occurred"}`, http.StatusInternalServerError)
		return
	}
	n.mu.Lock()
	n.payloads[txID] = p
	n.byRecord[recordID] = txID
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "{}")
}

// recordOf is the OpenCRVS record a token is for (1.8 recordId, 1.9 eventId).
func recordOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ RecordID, EventID string }
	json.Unmarshal(payload, &c)
	if c.EventID != "" {
		return c.EventID
	}
	return c.RecordID
}

func (n *nodeAPI) txOf(t *testing.T, recordID string) string {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	id, ok := n.byRecord[recordID]
	if !ok {
		t.Fatalf("mosip-api has no transaction for record %s", recordID)
	}
	return id
}

// forward sends the packet of transaction txID to MOSIP as mosip-api did:
// createPacket with the transaction id, then the CRVS_NEW workflow.
func (n *nodeAPI) forward(t *testing.T, s *system, txID string) {
	t.Helper()
	n.mu.Lock()
	p := n.payloads[txID]
	n.mu.Unlock()
	strs := func(m map[string]json.RawMessage) map[string]string {
		out := map[string]string{}
		for k, raw := range m {
			var v string
			if json.Unmarshal(raw, &v) != nil {
				v = string(raw)
			}
			out[k] = v
		}
		return out
	}
	cc, err := country.Load("", country.Options{Vars: map[string]string{"centerId": s.cfg.CentreID, "machineId": s.cfg.MachineID}})
	if err != nil {
		t.Fatal(err)
	}
	client := mosip.NewClient(mosip.ClientConfig{
		Auth: mosip.NewAuthClient(mosip.AuthConfig{URL: s.cfg.MOSIPAuthURL, ClientID: s.cfg.PacketClientID,
			SecretKey: s.cfg.PacketSecret, AppID: s.cfg.MOSIPAppID}),
		CreatePacketURL: s.cfg.CreatePacketURL, WorkflowURL: s.cfg.WorkflowURL,
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = client.CreatePacket(ctx, &mosip.PacketDto{
		ID: txID, RefID: s.cfg.CentreID + "_" + s.cfg.MachineID, Process: bridge.ProcessNew, Source: s.cfg.PacketSource,
		SchemaVersion: s.cfg.SchemaVersion, SchemaJSON: cc.IDSchemaJSON(),
		Fields: strs(p.RequestFields), MetaInfo: strs(p.MetaInfo), Audits: []map[string]string{strs(p.Audit)},
	})
	if err != nil {
		t.Fatalf("mosip-api's createPacket of %s: %v", txID, err)
	}
	_, err = client.StartWorkflow(ctx, &mosip.WorkflowRequest{RegistrationID: txID, Process: bridge.ProcessNew, Source: s.cfg.PacketSource,
		NotificationInfo: mosip.NotificationInfo{Name: p.Notification.RecipientFullName, Email: p.Notification.RecipientEmail, Phone: p.Notification.RecipientPhone}})
	if err != nil {
		t.Fatalf("mosip-api's workflow of %s: %v", txID, err)
	}
}

// switchFromNodeAPI is the upgrade as docs/switching-from-mosip-api.md
// tells it: the mediator is stopped, the mosip-api database imported into
// its store, and the mediator started again on it.
func (s *system) switchFromNodeAPI(t *testing.T, n *nodeAPI) mosipapi.Report {
	t.Helper()
	s.stopMediator(t)
	st, err := store.Open(t.Context(), store.Config{Path: s.cfg.DatabasePath, MustExist: true, Sealer: s.cfg.StoreKeys})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := mosipapi.Import(t.Context(), st, n.path, mosipapi.Options{})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	s.startMediator(t)
	return rep
}

// startWithNodeAPI starts the system with the OpenCRVS simulator sending
// its records to a Node mosip-api instead of the mediator.
func startWithNodeAPI(t *testing.T, config func(*Config)) (*system, *nodeAPI) {
	t.Helper()
	node := newNodeAPI(t)
	srv := httptest.NewServer(node)
	t.Cleanup(srv.Close)
	s := startSystem(t, systemOptions{
		opencrvs: func(c *opencrvssim.Config) { c.MediatorURL = srv.URL },
		config:   config,
	})
	return s, node
}

// waitTransaction waits (bounded) until cond holds for transaction id.
func (s *system) waitTransaction(t *testing.T, id, what string, cond func(*bridge.Transaction) bool) *bridge.Transaction {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr, err := s.mediator.Store().Transaction(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(tr) {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s: %s, want %s", id, tr.State, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A country switches from the Node mosip-api with births waiting for MOSIP
// (an OpenCRVS 1.8 record and a 1.9 one): their rows are imported, and
// when MOSIP issues the credentials after the switch the mediator confirms
// both records in OpenCRVS with the national IDs.
func TestE2EMosipAPIUpgrade(t *testing.T) {
	s, node := startWithNodeAPI(t, func(c *Config) {
		// The status check would find the registrations too; keep it out
		// of the way so that the credentials do the work.
		c.ReconcileAfter, c.ReconcileMax = time.Hour, time.Hour
	})
	r18 := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	r19 := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped", "version": "1.9"})
	for _, r := range []simRecord{r18, r19} {
		if r.Status != "waiting" || r.MediatorStatus != http.StatusAccepted {
			t.Fatalf("record %s sent to mosip-api: %s (%d), want waiting (202)", r.ID, r.Status, r.MediatorStatus)
		}
	}
	tx18, tx19 := node.txOf(t, r18.ID), node.txOf(t, r19.ID)

	rep := s.switchFromNodeAPI(t, node)
	if rep.Rows != 2 || rep.Imported != 2 || rep.OpenCRVS18 != 1 || rep.OpenCRVS19 != 1 || rep.Births != 2 || len(rep.Problems) != 0 {
		t.Fatalf("import: %+v, want both births imported (one 1.8, one 1.9)", rep)
	}
	// The status check at start asked MOSIP once (it did not know them
	// yet); MOSIP now gets the packets mosip-api sent before the switch.
	for _, id := range []string{tx18, tx19} {
		s.waitTransaction(t, id, "SUBMITTED, checked once", func(tr *bridge.Transaction) bool { return tr.Checks >= 1 })
		node.forward(t, s, id)
	}

	for _, c := range []struct {
		rec  simRecord
		txID string
	}{{r18, tx18}, {r19, tx19}} {
		got := s.waitRecord(t, c.rec.ID)
		reg, ok := s.mosip.Registration(c.txID)
		if !ok {
			t.Fatalf("MOSIP has no registration %s", c.txID)
		}
		if got.Status != "registered" || got.Confirmations != 1 || got.NationalID == nil || *got.NationalID != reg.VID {
			t.Errorf("record %s: %s, %d confirmation(s), national id %v; want registered once with MOSIP's VID %s", c.rec.ID, got.Status, got.Confirmations, got.NationalID, reg.VID)
		}
		tr := s.waitTransaction(t, c.txID, "CONFIRMED", func(tr *bridge.Transaction) bool { return tr.State == bridge.StateConfirmed })
		if tr.Intake != bridge.IntakeMosipAPI || tr.RecordID != c.rec.ID || tr.Token != "" {
			t.Errorf("transaction %s: intake %s record %s token kept %v", tr.ID, tr.Intake, tr.RecordID, tr.Token != "")
		}
		events, err := s.mediator.Store().Events(t.Context(), c.txID)
		if err != nil {
			t.Fatal(err)
		}
		var path []string
		for _, e := range events {
			path = append(path, string(e.To)+": "+e.Reason)
		}
		if len(events) != 3 || events[1].Reason != "MOSIP issued the credential" {
			t.Errorf("transaction %s went %q, want SUBMITTED (imported) -> ISSUED by the credential -> CONFIRMED", c.txID, path)
		}
	}
	if got := s.mosip.Stats().Packets; got != 2 {
		t.Errorf("MOSIP received %d packets, want mosip-api's 2 (the mediator sends none again)", got)
	}

	// Importing again after the switch changes nothing.
	s.stopMediator(t)
	st, err := store.Open(t.Context(), store.Config{Path: s.cfg.DatabasePath, MustExist: true, Sealer: s.cfg.StoreKeys})
	if err != nil {
		t.Fatal(err)
	}
	again, err := mosipapi.Import(t.Context(), st, node.path, mosipapi.Options{})
	st.Close()
	if err != nil || again.Imported != 0 || again.AlreadyImported != 2 {
		t.Errorf("second import: %+v (%v), want nothing new", again, err)
	}
	s.startMediator(t)
	if counts := s.settle(t); counts[bridge.StateConfirmed] != 2 || len(counts) != 1 {
		t.Errorf("after the second import: %v, want the 2 transactions CONFIRMED and nothing else", counts)
	}
}

// A row whose packet MOSIP does not have (mosip-api failed to send it)
// cannot be sent again: mosip-api kept no packet. The transaction ends DEAD
// with the reason, for an operator; MOSIP gets no empty packet and
// OpenCRVS is not told the record was refused.
func TestE2EMosipAPIImportWithoutPacketEndsDead(t *testing.T) {
	s, node := startWithNodeAPI(t, func(c *Config) {
		c.ReconcileAfter, c.ReconcileMax = 200*time.Millisecond, time.Second
	})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	txID := node.txOf(t, rec.ID)
	if rep := s.switchFromNodeAPI(t, node); rep.Imported != 1 {
		t.Fatalf("import: %+v", rep)
	}
	tr := s.waitTransaction(t, txID, "DEAD", func(tr *bridge.Transaction) bool { return tr.State == bridge.StateDead })
	if !strings.Contains(tr.LastError, "no packet is kept") {
		t.Errorf("last error %q does not say there is no packet to send", tr.LastError)
	}
	var got simRecord
	do(t, "GET", s.opencrvsURL+"/sim/records/"+rec.ID, nil, nil, &got)
	if got.Status != "waiting" || got.Rejections != 0 {
		t.Errorf("OpenCRVS record: %s with %d rejection(s), want still waiting, never rejected", got.Status, got.Rejections)
	}
	if st := s.mosip.Stats(); st.Packets != 0 || st.Workflows != 0 {
		t.Errorf("MOSIP received %d packets and %d workflows, want none", st.Packets, st.Workflows)
	}
}
