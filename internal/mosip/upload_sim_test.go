package mosip_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// The upload path (RID, packet, sync, upload) against the MOSIP simulator
// over real HTTP on 127.0.0.1.

var uploadPartner = sync.OnceValues(func() (*x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opencrvs-partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
})

type uploadEnv struct {
	sim *mosipsim.Sim
	url string
	srv *httptest.Server
	c   *mosip.Client
	up  *mosip.Uploader
}

// startUploadSim starts a simulator and returns an Uploader of it.
func startUploadSim(t *testing.T) *uploadEnv {
	t.Helper()
	cert, err := uploadPartner()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: cert, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		if err := sim.Close(); err != nil {
			t.Errorf("closing the simulator: %v", err)
		}
	})
	e := &uploadEnv{sim: sim, url: srv.URL, srv: srv}
	e.c, e.up = e.newUploader()
	return e
}

// newUploader is a client with a token of its own: a mediator that
// started afresh.
func (e *uploadEnv) newUploader() (*mosip.Client, *mosip.Uploader) {
	auth := mosip.NewAuthClient(mosip.AuthConfig{
		URL: e.url + mosipsim.PathAuth, ClientID: mosipsim.DevRegprocClient, SecretKey: mosipsim.DevSecret,
		AppID: "regproc", HTTPClient: e.srv.Client(),
	})
	c := mosip.NewClient(mosip.ClientConfig{
		Auth: auth, HTTPClient: e.srv.Client(), IdentityURL: e.url + mosipsim.PathIdentity,
	})
	return c, c.Uploader(mosip.DefaultUploadURLs(e.url + "/"))
}

func simple(v string) string {
	b, _ := json.Marshal([]map[string]string{{"language": "eng", "value": v}})
	return string(b)
}

// birthInput is a birth packet for rid.
func birthInput(rid, name, brn string) mosip.PacketInput {
	return mosip.PacketInput{
		RID: rid, CenterID: "10001", MachineID: "10004", Process: mosip.ProcessOpenCRVSNew,
		SchemaVersion: "0.1",
		Fields: map[string]string{
			"fullName":               simple(name),
			"gender":                 simple("Female"),
			"dateOfBirth":            time.Now().AddDate(0, -3, 0).Format("2006/01/02"),
			"birthCertificateNumber": brn,
		},
		MetaData:       map[string]string{"opencrvsBRN": brn},
		OperationsData: map[string]string{"officerId": "officer.k.mweene"},
	}
}

// newPacket generates a RID and builds a birth packet for it.
func (e *uploadEnv) newPacket(t *testing.T, name, brn string) *mosip.PacketZip {
	t.Helper()
	rid, err := e.up.GenerateRID(t.Context(), "10001", "10004")
	if err != nil {
		t.Fatalf("GenerateRID: %v", err)
	}
	p, err := e.up.BuildPacket(t.Context(), birthInput(rid, name, brn))
	if err != nil {
		t.Fatalf("BuildPacket: %v", err)
	}
	return p
}

// finished waits (bounded) for the registration to end.
func (e *uploadEnv) finished(t *testing.T, rid string) mosipsim.RegistrationView {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, ok := e.sim.Registration(rid)
		if ok && v.Status != mosip.StatusResumable && v.Status != mosip.StatusProcessing {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration %s not finished within 15s: %+v", rid, v)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mustCode fails unless err is an *APIError with code, classified as
// transient or not.
func mustCode(t *testing.T, what string, err error, code string, transient bool) {
	t.Helper()
	var ae *mosip.APIError
	if !errors.As(err, &ae) || !ae.HasCode(code) {
		t.Fatalf("%s: err = %v, want MOSIP error %s", what, err, code)
	}
	if got := mosip.IsTransient(err); got != transient {
		t.Errorf("%s: IsTransient = %v, want %v (%v)", what, got, transient, err)
	}
}

func TestUploadPathAgainstSimulator(t *testing.T) {
	t.Parallel()
	e := startUploadSim(t)
	p := e.newPacket(t, "Amina Banda", "2025B7QX1")
	if !mosip.IsRID(p.RID) || !strings.HasPrefix(p.RID, "1000110004") {
		t.Fatalf("RID %q: want 29 digits starting with centre 10001 and machine 10004", p.RID)
	}
	if err := e.up.SyncPacket(t.Context(), p.SyncRequest("UIN creation for a birth registered in OpenCRVS")); err != nil {
		t.Fatalf("SyncPacket: %v", err)
	}
	if err := e.up.UploadPacket(t.Context(), p.RID, p.Zip); err != nil {
		t.Fatalf("UploadPacket: %v", err)
	}

	v := e.finished(t, p.RID)
	if v.Status != mosip.StatusProcessed {
		t.Fatalf("registration ended %s, want PROCESSED; stages %+v", v.Status, v.Stages)
	}
	if v.Process != mosip.ProcessOpenCRVSNew || v.Source != mosip.SourceOpenCRVS || !v.Uploaded || v.OpenCRVSBRN != "2025B7QX1" {
		t.Errorf("registration process %q source %q uploaded %v BRN %q; want OPENCRVS_NEW, OPENCRVS, true, 2025B7QX1",
			v.Process, v.Source, v.Uploaded, v.OpenCRVSBRN)
	}
	id, err := e.c.IdentityByRID(t.Context(), p.RID)
	if err != nil {
		t.Fatalf("IdentityByRID: %v", err)
	}
	if id.UIN == "" || id.UIN != v.UIN {
		t.Errorf("identity UIN %q, registration UIN %q: want the same, not empty", id.UIN, v.UIN)
	}
	var name []struct{ Language, Value string }
	if err := json.Unmarshal(id.Fields["fullName"], &name); err != nil || len(name) != 1 || name[0].Value != "Amina Banda" {
		t.Errorf("identity fullName = %s (%v), want the packet's", id.Fields["fullName"], err)
	}

	// The same upload again (its answer was lost, say) succeeds without a
	// second registration.
	if err := e.up.UploadPacket(t.Context(), p.RID, p.Zip); err != nil {
		t.Errorf("second UploadPacket: %v, want success (already received)", err)
	}
	st := e.sim.Stats().Uploads
	if st.Received != 1 || st.Duplicates != 1 || st.Syncs != 1 || st.RIDs != 1 {
		t.Errorf("upload stats %+v: want 1 RID, 1 sync, 1 received, 1 duplicate", st)
	}
}

func TestUploadDeathPacketProcess(t *testing.T) {
	t.Parallel()
	e := startUploadSim(t)
	rid, err := e.up.GenerateRID(t.Context(), "10001", "10004")
	if err != nil {
		t.Fatal(err)
	}
	in := birthInput(rid, "Joseph Phiri", "2025D1")
	in.Process = mosip.ProcessCRVSDeath
	p, err := e.up.BuildPacket(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err != nil {
		t.Fatal(err)
	}
	if err := e.up.UploadPacket(t.Context(), p.RID, p.Zip); err != nil {
		t.Fatal(err)
	}
	// The death names no existing identity: the simulator's UIN generator
	// fails it, but the packet was received and routed as CRVS_DEATH.
	v := e.finished(t, p.RID)
	if v.Process != mosip.ProcessCRVSDeath || !v.Uploaded {
		t.Errorf("registration %+v: want process CRVS_DEATH, uploaded", v)
	}
}

func TestUploadResyncAfterRestart(t *testing.T) {
	t.Parallel()
	e := startUploadSim(t)
	p := e.newPacket(t, "Chipo Mwale", "2025B7QX2")
	if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err != nil {
		t.Fatal(err)
	}
	// The mediator restarts between sync and upload: a new client (new
	// token) syncs the same packet again, then uploads it.
	_, up := e.newUploader()
	if err := up.SyncPacket(t.Context(), p.SyncRequest("")); err != nil {
		t.Fatalf("re-sync of the same RID and hash: %v", err)
	}
	if err := up.UploadPacket(t.Context(), p.RID, p.Zip); err != nil {
		t.Fatalf("upload after re-sync: %v", err)
	}
	if v := e.finished(t, p.RID); v.Status != mosip.StatusProcessed {
		t.Errorf("registration ended %s, want PROCESSED", v.Status)
	}
	if st := e.sim.Stats().Uploads; st.Syncs != 2 || st.Resyncs != 1 || st.Received != 1 {
		t.Errorf("upload stats %+v: want 2 syncs, 1 re-sync, 1 received", st)
	}
}

func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	e := startUploadSim(t)

	t.Run("upload without sync", func(t *testing.T) {
		p := e.newPacket(t, "Grace Tembo", "2025B01")
		err := e.up.UploadPacket(t.Context(), p.RID, p.Zip)
		mustCode(t, "upload without sync", err, "RPR-PKR-001", true)
		if _, ok := e.sim.Registration(p.RID); ok {
			t.Error("a refused packet started a registration")
		}
	})
	t.Run("hash mismatch", func(t *testing.T) {
		p := e.newPacket(t, "Grace Tembo", "2025B02")
		r := p.SyncRequest("")
		r.PacketHash = strings.ToLower(r.PacketHash) // MOSIP compares the UPPERCASE hex exactly
		if err := e.up.SyncPacket(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		err := e.up.UploadPacket(t.Context(), p.RID, p.Zip)
		mustCode(t, "hash mismatch", err, "RPR-PKR-009", false)
	})
	t.Run("size mismatch", func(t *testing.T) {
		p := e.newPacket(t, "Grace Tembo", "2025B03")
		r := p.SyncRequest("")
		r.PacketSize++
		if err := e.up.SyncPacket(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		err := e.up.UploadPacket(t.Context(), p.RID, p.Zip)
		mustCode(t, "size mismatch", err, "RPR-PKR-013", false)
	})
	t.Run("another packet than the synced one", func(t *testing.T) {
		p := e.newPacket(t, "Grace Tembo", "2025B04")
		if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err != nil {
			t.Fatal(err)
		}
		// Built again: same content, new nonce, so other bytes.
		again, err := e.up.BuildPacket(t.Context(), birthInput(p.RID, "Grace Tembo", "2025B04"))
		if err != nil {
			t.Fatal(err)
		}
		if again.Hash == p.Hash {
			t.Fatal("two builds gave the same bytes; want a fresh nonce each time")
		}
		err = e.up.UploadPacket(t.Context(), again.RID, again.Zip)
		var ae *mosip.APIError
		if !errors.As(err, &ae) || mosip.IsTransient(err) || !(ae.HasCode("RPR-PKR-009") || ae.HasCode("RPR-PKR-013")) {
			t.Errorf("upload of a rebuilt packet: err = %v, want a permanent hash or size mismatch", err)
		}
	})
	t.Run("sync refused", func(t *testing.T) {
		p := e.newPacket(t, "Grace Tembo", "2025B05")
		r := p.SyncRequest("")
		r.LangCode = "english"
		err := e.up.SyncPacket(t.Context(), r)
		mustCode(t, "sync with a bad language code", err, "RPR-RGS-004", false)
		r = p.SyncRequest("")
		r.RegistrationType = "BIRTH"
		err = e.up.SyncPacket(t.Context(), r)
		mustCode(t, "sync with an unknown registration type", err, "RPR-RGS-003", false)
	})
	t.Run("keymanager unknown application", func(t *testing.T) {
		_, err := e.up.KeymanagerEncrypt(t.Context(), "NOT_AN_APP", "10001_10004", []byte("x"))
		mustCode(t, "unknown application id", err, "KER-KMS-002", false)
		_, err = e.up.KeymanagerEncrypt(t.Context(), mosip.AppRegistration, "machine-7", []byte("x"))
		mustCode(t, "REGISTRATION with a reference id that is not centre_machine", err, "KER-KMS-010", false)
	})
	t.Run("RID generator refuses bad ids", func(t *testing.T) {
		_, err := e.up.GenerateRID(t.Context(), "1001", "10004")
		mustCode(t, "4-digit centre id", err, "KER-RIG-003", false)
	})
	if st := e.sim.Stats().Uploads; st.Received != 0 || st.UploadRefusals < 4 || st.SyncRefusals < 2 || st.EncryptRefusals < 2 || st.RIDRefusals < 1 {
		t.Errorf("upload stats %+v: want refusals counted and nothing received", st)
	}
}

func TestUploadPathFaultsAreTransient(t *testing.T) {
	t.Parallel()
	e := startUploadSim(t)
	modes := []mosipsim.Faults{
		{ErrorRate: 1, ErrorMode: mosipsim.ModeErrors200},
		{ErrorRate: 1, ErrorMode: mosipsim.ModeHTTP500},
		{Outage: true},
	}
	set := func(f mosipsim.Faults, endpoint string) {
		t.Helper()
		f.Endpoints = []string{endpoint}
		if err := e.sim.SetFaults(f); err != nil {
			t.Fatal(err)
		}
	}
	clearFaults := func() {
		t.Helper()
		if err := e.sim.SetFaults(mosipsim.Faults{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range modes {
		name := f.ErrorMode
		if f.Outage {
			name = "outage"
		}
		t.Run(name, func(t *testing.T) {
			clearFaults()
			p := e.newPacket(t, "Mercy Lungu", "2025B9"+name)

			set(f, mosipsim.EndpointRIDGenerator)
			if _, err := e.up.GenerateRID(t.Context(), "10001", "10004"); err == nil || !mosip.IsTransient(err) {
				t.Errorf("RID generator fault: err = %v, want transient", err)
			}
			set(f, mosipsim.EndpointKeymanager)
			if _, err := e.up.BuildPacket(t.Context(), birthInput(p.RID, "Mercy Lungu", "x")); err == nil || !mosip.IsTransient(err) {
				t.Errorf("key manager fault: BuildPacket err = %v, want transient", err)
			}
			if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err == nil || !mosip.IsTransient(err) {
				t.Errorf("key manager fault: SyncPacket err = %v, want transient", err)
			}
			set(f, mosipsim.EndpointSync)
			if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err == nil || !mosip.IsTransient(err) {
				t.Errorf("sync fault: err = %v, want transient", err)
			}
			clearFaults()
			if err := e.up.SyncPacket(t.Context(), p.SyncRequest("")); err != nil {
				t.Fatal(err)
			}
			set(f, mosipsim.EndpointPacketReceiver)
			if err := e.up.UploadPacket(t.Context(), p.RID, p.Zip); err == nil || !mosip.IsTransient(err) {
				t.Errorf("packet receiver fault: err = %v, want transient", err)
			}
			// Once the fault is gone the retry goes through.
			clearFaults()
			if err := e.up.UploadPacket(t.Context(), p.RID, p.Zip); err != nil {
				t.Errorf("upload after the fault: %v", err)
			}
		})
	}
}
