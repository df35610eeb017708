package mosipsim_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// A birth goes through the simulator as the mediator sends it: token,
// packet, workflow; then the registration processor runs the CRVS_NEW
// route.
func Example() {
	partnerKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opencrvs-partner"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &partnerKey.PublicKey, partnerKey)
	cert, _ := x509.ParseCertificate(der)

	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: cert})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	call := func(method, path, token string, body any) []byte {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Cookie", "Authorization="+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if token == "" { // the auth call: the token is in the cookie
			for _, c := range resp.Cookies() {
				if c.Name == "Authorization" {
					return []byte(c.Value)
				}
			}
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return buf.Bytes()
	}

	token := string(call(http.MethodPost, mosipsim.PathAuth, "", mosip.Request[mosip.AuthRequest]{
		Request: mosip.AuthRequest{ClientID: mosipsim.DevRegprocClient, SecretKey: mosipsim.DevSecret, AppID: "regproc"},
	}))

	schema := `{"properties":{"identity":{"required":["IDSchemaVersion","fullName","dateOfBirth","gender"],"properties":{
		"IDSchemaVersion":{"type":"number"},
		"fullName":{"$ref":"#/definitions/simpleType","validators":[{"type":"regex","validator":"^(?=.{3,50}$).*"}]},
		"dateOfBirth":{"type":"string"},"gender":{"$ref":"#/definitions/simpleType"}}}}}`
	const rid = "100010123456789"
	call(http.MethodPut, mosipsim.PathCreatePacket, token, mosip.Request[mosip.PacketDto]{Request: mosip.PacketDto{
		ID: rid, RefID: "10001_10004", Process: "CRVS_NEW", Source: "OPENCRVS", SchemaVersion: "0.100", SchemaJSON: schema,
		Fields: map[string]string{
			"fullName":    `[{"language":"eng","value":"Amina Banda"}]`,
			"gender":      `[{"language":"eng","value":"Female"}]`,
			"dateOfBirth": time.Now().AddDate(0, -2, 0).Format("2006/01/02"),
		},
		MetaInfo: map[string]string{"operationsData": `[{"label":"officerId","value":"officer.1"}]`},
	}})
	call(http.MethodPost, mosipsim.PathWorkflow, token, mosip.Request[mosip.WorkflowRequest]{
		ID: mosip.WorkflowInstanceID, Version: mosip.WorkflowInstanceVersion, RequestTime: mosip.FormatTime(time.Now()),
		Request: mosip.WorkflowRequest{RegistrationID: rid, Process: "CRVS_NEW", Source: "OPENCRVS"},
	})

	for range 1000 {
		if v, _ := sim.Registration(rid); v.Status == mosip.StatusProcessed {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	v, _ := sim.Registration(rid)
	var stages []string
	for _, st := range v.Stages {
		stages = append(stages, strings.TrimSuffix(st.Stage, "Stage"))
	}
	fmt.Println(v.Status, len(v.UIN), len(v.VID))
	fmt.Println(strings.Join(stages, " "))
	// Output:
	// PROCESSED 10 16
	// SecurezoneNotification PacketValidator PacketClassifier CMDValidator OperatorValidator Demodedup UinGenerator Finalization CredentialRequestor
}
