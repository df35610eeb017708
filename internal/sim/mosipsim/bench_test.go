package mosipsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opencrvs-mosip/internal/websub"
)

// BenchmarkBirth pushes births end to end over HTTP: createPacket and
// workflowinstance from parallel clients, the route, the credential and
// its signed delivery to a subscriber.
func BenchmarkBirth(b *testing.B) {
	for _, format := range []string{CredentialVC, CredentialMOSIP} {
		b.Run(format, func(b *testing.B) { benchmarkBirth(b, format) })
	}
}

func benchmarkBirth(b *testing.B, format string) {
	k := mustKeys(b)
	var delivered atomic.Int64
	secret := []byte("bench-secret")
	subSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		if !websub.Verify(secret, r.Header.Get(websub.SignatureHeader), body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		delivered.Add(1)
	}))
	defer subSrv.Close()
	sim, err := New(Config{PartnerCert: k.cert, CredentialKey: k.vc, DisableDemoDedupe: true, CredentialFormat: format})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	post := func(method, path, token string, body []byte, ct string) []byte {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", ct)
		if token != "" {
			req.Header.Set("Cookie", "Authorization="+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return nil
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			b.Errorf("%s: HTTP %d %s", path, resp.StatusCode, data)
		}
		return data
	}
	authBody, _ := json.Marshal(authRequest(DevRegprocClient, DevSecret))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+PathAuth, strings.NewReader(string(authBody)))
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	token := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0], "Authorization=")
	post(http.MethodPost, PathHub, token, []byte(url.Values{
		"hub.mode": {"subscribe"}, "hub.topic": {TopicCredentialIssued}, "hub.callback": {subSrv.URL + "/cb"}, "hub.secret": {string(secret)},
	}.Encode()), "application/x-www-form-urlencoded")
	for len(sim.Subscriptions()) == 0 {
		time.Sleep(time.Millisecond)
	}

	fields := birthFields(infant("Bench Child"))
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rid := fmt.Sprintf("1%014d", n.Add(1))
			pkt, _ := json.Marshal(packetBody(rid, "CRVS_NEW", fields))
			wf, _ := json.Marshal(workflowBody(rid, "CRVS_NEW"))
			post(http.MethodPut, PathCreatePacket, token, pkt, "application/json")
			post(http.MethodPost, PathWorkflow, token, wf, "application/json")
		}
	})
	deadline := time.Now().Add(time.Minute)
	for delivered.Load() < n.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := delivered.Load(); got != n.Load() {
		b.Fatalf("%d of %d credentials delivered", got, n.Load())
	}
	b.ReportMetric(float64(sim.Stats().Processed)/b.Elapsed().Seconds(), "records/s")
}
