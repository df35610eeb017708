package mosip_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// The ID repository look-ups against the MOSIP simulator (a separate test
// package: mosipsim imports mosip).

const simSchema = `{"properties":{"identity":{"required":["IDSchemaVersion","fullName","dateOfBirth","gender"],"properties":{
	"IDSchemaVersion":{"type":"number"},
	"fullName":{"$ref":"#/definitions/simpleType"},
	"dateOfBirth":{"type":"string"},"gender":{"$ref":"#/definitions/simpleType"}}}}}`

// newSimClient starts a simulator on 127.0.0.1 and returns it with a
// client of its endpoints.
func newSimClient(t *testing.T) (*mosipsim.Sim, *mosip.Client) {
	t.Helper()
	sim, c, _ := newSimClientURL(t)
	return sim, c
}

// newSimClientURL is newSimClient that also returns the simulator's URL.
func newSimClientURL(t *testing.T) (*mosipsim.Sim, *mosip.Client, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opencrvs-partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: cert, CredentialKey: key, Seed: 7})
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
	auth := mosip.NewAuthClient(mosip.AuthConfig{
		URL: srv.URL + mosipsim.PathAuth, ClientID: mosipsim.DevRegprocClient, SecretKey: mosipsim.DevSecret, AppID: "regproc",
		HTTPClient: srv.Client(),
	})
	return sim, mosip.NewClient(mosip.ClientConfig{
		Auth: auth, HTTPClient: srv.Client(),
		CreatePacketURL: srv.URL + mosipsim.PathCreatePacket,
		WorkflowURL:     srv.URL + mosipsim.PathWorkflow,
		IdentityURL:     srv.URL + mosipsim.PathIdentity,
		VIDURL:          srv.URL + mosipsim.PathVID,
		TokenIDURL:      srv.URL + mosipsim.PathTokenID,
	}), srv.URL
}

// registerBirth sends a birth through the simulator and waits until it is
// processed.
func registerBirth(t *testing.T, sim *mosipsim.Sim, c *mosip.Client, rid, name string) mosipsim.RegistrationView {
	t.Helper()
	_, err := c.CreatePacket(t.Context(), &mosip.PacketDto{
		ID: rid, RefID: "10001_10004", Process: "CRVS_NEW", Source: "OPENCRVS", SchemaVersion: "0.100", SchemaJSON: simSchema,
		Fields: map[string]string{
			"fullName":    `[{"language":"eng","value":"` + name + `"}]`,
			"gender":      `[{"language":"eng","value":"Female"}]`,
			"dateOfBirth": time.Now().AddDate(0, -2, 0).Format("2006/01/02"),
		},
		MetaInfo: map[string]string{"operationsData": `[{"label":"officerId","value":"officer.1"}]`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartWorkflow(t.Context(), &mosip.WorkflowRequest{RegistrationID: rid, Process: "CRVS_NEW", Source: "OPENCRVS"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := sim.Registration(rid)
		switch v.Status {
		case mosip.StatusProcessed:
			return v
		case mosip.StatusRejected, mosip.StatusFailed:
			t.Fatalf("registration %s ended %s: %+v", rid, v.Status, v.Stages)
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration %s not processed within 10s: %s", rid, v.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestIdRepoAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim, c := newSimClient(t)
	const rid = "100010000000123"
	reg := registerBirth(t, sim, c, rid, "Amina Banda")

	id, err := c.IdentityByRID(t.Context(), rid)
	if err != nil {
		t.Fatal(err)
	}
	if id.UIN != reg.UIN || id.Status != mosip.UINActivated {
		t.Errorf("identity UIN %q status %q; want the simulator's UIN %q, ACTIVATED", id.UIN, id.Status, reg.UIN)
	}
	var name []struct{ Language, Value string }
	if err := json.Unmarshal(id.Fields["fullName"], &name); err != nil || len(name) != 1 || name[0].Value != "Amina Banda" {
		t.Errorf("fullName = %s (%v)", id.Fields["fullName"], err)
	}

	vids, err := c.VIDsByUIN(t.Context(), id.UIN)
	if err != nil {
		t.Fatal(err)
	}
	if got := mosip.PerpetualVID(vids); got != reg.VID {
		t.Errorf("PerpetualVID = %q, want the simulator's VID %q (VIDs %+v)", got, reg.VID, vids)
	}

	// Unknown registrations and UINs are "not found", not failures to retry.
	_, err = c.IdentityByRID(t.Context(), "100010000000999")
	if !mosip.IsNotFound(err) || mosip.IsTransient(err) {
		t.Errorf("unknown RID: err = %v, want not found and permanent", err)
	}
	_, err = c.VIDsByUIN(t.Context(), "2000000000")
	if !mosip.IsNotFound(err) || mosip.IsTransient(err) {
		t.Errorf("unknown UIN: err = %v, want not found and permanent", err)
	}

	// The simulator's injected faults are transient for the client.
	for _, f := range []mosipsim.Faults{
		{ErrorRate: 1, ErrorMode: mosipsim.ModeErrors200, Endpoints: []string{mosipsim.EndpointIDRepo}},
		{ErrorRate: 1, ErrorMode: mosipsim.ModeHTTP500, Endpoints: []string{mosipsim.EndpointIDRepo}},
		{Outage: true, Endpoints: []string{mosipsim.EndpointIDRepo}},
	} {
		if err := sim.SetFaults(f); err != nil {
			t.Fatal(err)
		}
		_, err := c.IdentityByRID(t.Context(), rid)
		if !mosip.IsTransient(err) || mosip.IsNotFound(err) {
			t.Errorf("faults %+v: identity read err = %v, want transient", f, err)
		}
		_, err = c.VIDsByUIN(t.Context(), reg.UIN)
		if !mosip.IsTransient(err) || mosip.IsNotFound(err) {
			t.Errorf("faults %+v: VID list err = %v, want transient", f, err)
		}
	}
}
