package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/loadgen"
)

const splitTestAdminToken = "cli-split-test-admin-token-4b1e07"

// devSplitURLs are the addresses `dev --design split` printed.
type devSplitURLs struct{ opencrvs, opencrvsSide, mosipSide, mosip string }

// startDevSplit runs `dev --design split` on free ports until the test
// ends, with the admin API of both mediators on (ADMIN_TOKEN), and returns
// its URLs.
func startDevSplit(t *testing.T, dir string, env map[string]string) devSplitURLs {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	getenv := func(name string) string {
		if name == "ADMIN_TOKEN" {
			return splitTestAdminToken
		}
		return env[name]
	}
	go func() {
		done <- Main(ctx, []string{"dev", "--design", "split", "--data", dir, "--opencrvs-addr", "127.0.0.1:0",
			"--opencrvs-side-addr", "127.0.0.1:0", "--mosip-side-addr", "127.0.0.1:0", "--mosip-addr", "127.0.0.1:0",
			"--log-level", "warn"}, getenv, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dev --design split exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("dev --design split did not stop within 30s")
		}
	})
	res := []*regexp.Regexp{
		regexp.MustCompile(`OpenCRVS simulator\s+(http://\S+)`), regexp.MustCompile(`OpenCRVS-side mediator\s+(http://\S+)`),
		regexp.MustCompile(`MOSIP-side mediator\s+(http://\S+)`), regexp.MustCompile(`MOSIP simulator\s+(http://\S+)`),
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out := stdout.String()
		var found []string
		for _, re := range res {
			if m := re.FindStringSubmatch(out); m != nil {
				found = append(found, m[1])
			}
		}
		if len(found) == len(res) {
			return devSplitURLs{found[0], found[1], found[2], found[3]}
		}
		select {
		case code := <-done:
			t.Fatalf("dev --design split exited %d before it printed its URLs: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev --design split printed no URLs within 30s: %s / %s", out, stderr.String())
		}
	}
}

// adminTransaction is the transaction of OpenCRVS record recordID in a
// mediator's admin API (nil while it has none).
func adminTransaction(t *testing.T, mediator, recordID string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, mediator+"/admin/transactions?q="+url.QueryEscape(recordID), nil)
	req.Header.Set("Authorization", "Bearer "+splitTestAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("admin API of %s: %v", mediator, err)
	}
	defer resp.Body.Close()
	var page struct{ Transactions []map[string]any }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&page) != nil {
		t.Fatalf("admin API of %s answered %d", mediator, resp.StatusCode)
	}
	for _, tr := range page.Transactions {
		if tr["recordId"] == recordID {
			return tr
		}
	}
	return nil
}

// waitSubscribed waits until the OpenCRVS side has subscribed to both
// webhook topics of the OpenCRVS simulator, which it does as it starts: a
// record registered before that reaches no one.
func waitSubscribed(ctx context.Context, t *testing.T, opencrvs string) {
	t.Helper()
	for {
		var stats struct{ WebhookSubscriptions int }
		code, err := loadgen.CallJSON(ctx, http.DefaultClient, http.MethodGet, opencrvs+"/sim/stats", nil, &stats)
		if err == nil && code == http.StatusOK && stats.WebhookSubscriptions >= 2 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the OpenCRVS side did not subscribe to the OpenCRVS simulator's webhooks (%+v, %d, %v)", stats, code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// simRecord is what the test reads of GET /sim/records/{id}.
type simRecord struct {
	Status            string
	IdentifierUpserts int
	WriteBacks        int
	MosipAID          *string `json:"mosipAid"`
	MosipPSUTTokenID  *string `json:"mosipPsutTokenId"`
}

// `dev --design split` (issue 6): a birth OpenCRVS registers and delivers
// by webhook crosses both mediators and MOSIP, and MOSIP's answer comes
// back to the OpenCRVS record; both mediators end the record CONFIRMED.
func TestDevSplitRunsTheWholeFlow(t *testing.T) {
	dir := t.TempDir()
	u := startDevSplit(t, dir, nil)
	for _, name := range []string{devOpenCRVSSideDB, devMOSIPSideDB, "opencrvs-side-envelope-key.pem", "mosip-side-envelope-cert.pem"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("--data has no %s: %v", name, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var sent struct {
		ID          string
		Status      string
		Subscribers []struct{ Status int }
	}
	waitSubscribed(ctx, t, u.opencrvs)
	code, err := loadgen.CallJSON(ctx, http.DefaultClient, http.MethodPost, u.opencrvs+"/sim/records",
		[]byte(`{"kind":"birth","delivery":"webhook"}`), &sent)
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("POST /sim/records: %d, %v", code, err)
	}
	if sent.Status != "registered" || len(sent.Subscribers) != 1 || sent.Subscribers[0].Status != http.StatusAccepted {
		t.Fatalf("record %s: status %q, delivery %+v; want registered and delivered (202)", sent.ID, sent.Status, sent.Subscribers)
	}

	var rec simRecord
	for rec.IdentifierUpserts == 0 && rec.WriteBacks == 0 {
		if ctx.Err() != nil {
			t.Fatalf("record %s: MOSIP's answer never reached the OpenCRVS simulator (%+v); OpenCRVS side %v, MOSIP side %v", sent.ID, rec,
				adminTransaction(t, u.opencrvsSide, sent.ID), adminTransaction(t, u.mosipSide, sent.ID))
		}
		time.Sleep(100 * time.Millisecond)
		if code, err := loadgen.CallJSON(ctx, http.DefaultClient, http.MethodGet, u.opencrvs+"/sim/records/"+sent.ID, nil, &rec); err != nil || code != http.StatusOK {
			t.Fatalf("GET /sim/records/%s: %d, %v", sent.ID, code, err)
		}
	}
	for side, mediator := range map[string]string{"OpenCRVS side": u.opencrvsSide, "MOSIP side": u.mosipSide} {
		for {
			tr := adminTransaction(t, mediator, sent.ID)
			if tr != nil && tr["state"] == "CONFIRMED" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: transaction of record %s is %v; want CONFIRMED", side, sent.ID, tr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if rec.IdentifierUpserts != 1 {
		t.Errorf("record %s: %d identifier upserts; want MOSIP's answer (the UIN token) written once", sent.ID, rec.IdentifierUpserts)
	}
}

// --design takes direct or split, and split refuses a shared PostgreSQL.
func TestDevDesignFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--design", "triple"}, `--design "triple": want direct or split`},
		{[]string{"--design", "split", "--database-url", "postgres://x"}, "--database-url"},
	} {
		var stdout, stderr syncBuffer
		code := Main(t.Context(), append([]string{"dev", "--data", t.TempDir()}, c.args...), noEnv, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("dev %v: exit %d, stderr %q; want 1 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}

// `load --delivery webhook` against `dev --design split`: every birth
// completes when MOSIP's answer is written back to it, and the phases are
// read from the OpenCRVS-side mediator.
func TestLoadAgainstDevSplit(t *testing.T) {
	u := startDevSplit(t, t.TempDir(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitSubscribed(ctx, t, u.opencrvs)
	env := func(name string) string {
		if name == "ADMIN_TOKEN" {
			return splitTestAdminToken
		}
		return ""
	}
	var stdout, stderr syncBuffer
	code := Main(ctx, []string{"load", "--delivery", "webhook", "--records", "20", "--concurrency", "4",
		"--opencrvs", u.opencrvs, "--mediator", u.opencrvsSide, "--timeout", "60s"}, env, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("load exited %d: %s", code, stderr.String())
	}
	var res struct {
		Records, Completed int
		Errors             map[string]int
		Latency            struct{ P50 float64 } `json:"latency_ms"`
		Phases             *struct{ Read int }   `json:"phases_ms"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("load's summary %q: %v", stdout.String(), err)
	}
	if res.Records != 20 || res.Completed != 20 || len(res.Errors) != 0 || res.Latency.P50 <= 0 {
		t.Errorf("summary %s: want 20 records completed, no errors", stdout.String())
	}
	if res.Phases == nil || res.Phases.Read != 20 {
		t.Errorf("summary %s: want the phases of all 20 records from the OpenCRVS side", stdout.String())
	}

}
