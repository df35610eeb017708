package app

import (
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
)

// Neither mediator of the split design logs personal data or secrets: the
// births and a death go through both with debug logging, and every line is
// scanned for the records' personal values (as OpenCRVS delivered them),
// the UIN, VID and UIN token, the tokens that crossed, and the secrets.
func TestLogScanSplitDesign(t *testing.T) {
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The OpenCRVS side is reached through a recording proxy: the webhook
	// deliveries and the MOSIP side's results, as sent.
	rec := &recordingProxy{}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)
	s := startSplit(t, splitOptions{
		logger: logger,
		opencrvs: func(c *Config) {
			target, err := url.Parse("http://" + c.Addr)
			if err != nil {
				t.Fatal(err)
			}
			rec.setTarget(target)
			c.Split.WebhookCallbackURL = proxy.URL + "/webhooks/opencrvs"
		},
		mosip: func(c *Config) { c.Split.PeerURL = proxy.URL },
	})
	s.waitSubscribed(t)
	var births []*bridge.Transaction
	for range 2 {
		r := s.sendWebhookRecord(t, map[string]any{"kind": "birth"})
		s.waitState(t, s.ocSide, r.ID, bridge.StateConfirmed)
		births = append(births, s.waitState(t, s.mosipSide, r.ID, bridge.StateConfirmed))
	}
	death := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": births[0].UIN})
	s.waitState(t, s.ocSide, death.ID, bridge.StateConfirmed)
	refused := s.sendWebhookRecord(t, map[string]any{"kind": "death", "deceasedNationalId": "8888888888"})
	s.waitState(t, s.ocSide, refused.ID, bridge.StateReported)
	var tokens []string
	for _, b := range births {
		oc, err := s.ocSide.m.Store().Transaction(t.Context(), b.PeerID)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, oc.UIN)
	}
	s.ocSide.stop(t)
	s.mosipSide.stop(t) // flush: every line is written

	var secrets personalValues
	deliveries := rec.bodies("/webhooks/opencrvs")
	if len(deliveries) < 4 {
		t.Fatalf("%d webhook deliveries went through the proxy, want 4", len(deliveries))
	}
	for _, body := range deliveries {
		d, err := opencrvs.ParseWebhook(body)
		if err != nil {
			t.Fatal(err)
		}
		secrets.addJSON("OpenCRVS record", []byte(d.Bundle))
	}
	if len(rec.bodies("/birthReceiveNid")) == 0 {
		t.Fatal("no result went through the proxy")
	}
	for _, tok := range rec.tokens() {
		secrets.add("OpenCRVS system token", tok)
	}
	for _, b := range births {
		secrets.add("UIN", b.UIN)
		if idv, ok := s.mosip.Identity(b.UIN); ok {
			secrets.add("VID", idv.VID)
			for k, v := range idv.Fields {
				if personalKey(k) {
					secrets.addField(k, v)
				}
			}
		}
	}
	for _, tok := range tokens {
		secrets.add("UIN token", tok)
	}
	secrets.add("the 'unknown' national ID", "8888888888")
	for _, c := range []Config{s.ocSide.cfg, s.mosipSide.cfg} {
		secrets.add("SHA secret", c.Split.SHASecret)
		secrets.add("peer client secret", c.Split.PeerClientSecret)
		secrets.add("OpenCRVS client secret", c.OpenCRVSClientSecret)
		secrets.add("packet secret", c.PacketSecret)
		secrets.add("WebSub secret", c.WebSubSecret)
		secrets.add("P12 password", c.P12Password)
	}

	lines := logs.lines()
	scanned := 0
	for _, line := range lines {
		if c := componentOf(line); c != RoleOpenCRVSSide && c != RoleMOSIPSide {
			continue
		}
		scanned++
		text := withoutTime(line)
		for _, v := range secrets.values {
			if containsValue(text, v.text) {
				t.Errorf("the %s mediator logged a %s (%q):\n%s", componentOf(line), v.kind, v.text, line)
			}
		}
	}
	if scanned < 20 || !strings.Contains(strings.Join(lines, "\n"), `"level":"DEBUG"`) {
		t.Fatalf("only %d mediator log lines scanned, none at DEBUG: the scan saw nothing", scanned)
	}
	t.Logf("scanned %d log lines of both mediators for %d personal values and secrets", scanned, len(secrets.values))
}
