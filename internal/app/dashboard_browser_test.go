package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"opencrvs-mosip/internal/bridge"
)

// chromiumPath is Debian's chromium package, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for the test (skipped without it,
// except in CI) and returns a tab context bounded by timeout. The browser is
// stopped before the test's temporary directories are removed.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs %s (Debian package chromium) for the browser test: %v", chromiumPath, err)
		}
		t.Skipf("no %s (apt-get install chromium): browser test skipped", chromiumPath)
	}
	// The profile is not a t.TempDir: Chromium's helper processes can still
	// be writing to it for a moment after the browser exits, and TempDir's
	// one-shot removal then fails the test.
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancelTimeout()
		for i := 0; ; i++ { // bounded: a profile that will not go is logged, not fatal
			err := os.RemoveAll(profile)
			if err == nil {
				break
			}
			if i == 20 {
				t.Logf("leaving the browser profile %s: %v", profile, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err = chromedp.Run(tab); err != nil { // start the browser now: a failure to start is reported as such
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return tab
}

// follow runs an action that makes the page navigate (a click on a link, a
// form's submit) and returns once the new page has loaded. Without it the
// next step may run against the page being left: a list that already holds
// the link waited for, or a document torn down mid-read ("Cannot find
// context with specified id").
func follow(action chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := chromedp.RunResponse(ctx, action)
		return err
	})
}

// saveScreenshot writes png under the test's temporary directory and, when
// ARTIFACTS_DIR is set (CI keeps that directory), there too.
func saveScreenshot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	dirs := []string{dir}
	if a := os.Getenv("ARTIFACTS_DIR"); a != "" {
		dirs = append(dirs, a)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(d, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// The operator's morning, in a real browser: MOSIP was down and one record
// ran out of retries. They sign in to the dashboard, find the record by
// its tracking id among the DEAD ones, read why it failed, press Retry,
// and watch it complete. Screenshots of the pages are kept.
func TestDashboardInBrowserRetriesADeadRecord(t *testing.T) {
	s := startSystem(t, systemOptions{retryAttempts: 3, config: func(c *Config) { c.AdminToken = testAdminToken }})
	shots := filepath.Join(t.TempDir(), "screenshots")
	ctx := newBrowser(t, 3*time.Minute)

	// Some records go through; then MOSIP's packet manager is down and one
	// more runs out of retries.
	var ok []simRecord
	for range 3 {
		ok = append(ok, s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"}))
	}
	for i := range ok {
		ok[i] = s.waitRecord(t, ok[i].ID)
	}
	s.assertRegistered(t, ok)
	s.setMOSIPFaults(t, map[string]any{"outage": true, "endpoints": []string{"createPacket"}})
	rec := s.sendRecord(t, map[string]any{"kind": "birth", "mode": "mapped"})
	dead := s.waitState(t, rec.ID, bridge.StateDead)
	if rec.TrackingID == "" {
		t.Fatalf("record %s has no tracking id to search by", rec.ID)
	}
	secrets := []string{testAdminToken, dead.Token}
	s.setMOSIPFaults(t, map[string]any{}) // MOSIP is back

	base := s.mediatorURL + "/ui/"
	var title, body string
	// Signed out, the dashboard asks for the admin token; a wrong one is refused.
	err := chromedp.Run(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.SendKeys("#token", "not-the-admin-token", chromedp.ByID),
		follow(chromedp.Submit("#token", chromedp.ByID)),
		chromedp.WaitVisible(".flash.err", chromedp.ByQuery),
		chromedp.Text(".flash.err", &body, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("sign in with a wrong token: %v", err)
	}
	if !strings.Contains(body, "not the admin token") {
		t.Errorf("wrong token: the page says %q", body)
	}
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#token", testAdminToken, chromedp.ByID),
		follow(chromedp.Submit("#token", chromedp.ByID)),
		chromedp.WaitVisible("#states-h", chromedp.ByID),
		chromedp.Text("main", &body, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, want := range []string{"Pipeline at a glance", "DEAD", "CONFIRMED", "Throughput", "MOSIP", "OpenCRVS"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "no calls measured") {
		t.Error("the overview shows no measured calls to MOSIP or OpenCRVS")
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-overview.png", png)

	// Find it: the list, filtered to DEAD, searched by tracking id.
	link := fmt.Sprintf(`table.list a[href="/ui/transactions/%s"]`, dead.ID)
	err = chromedp.Run(ctx,
		follow(chromedp.Click(`nav a[href="/ui/transactions"]`, chromedp.ByQuery)),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.SendKeys("#q", rec.TrackingID, chromedp.ByID),
		chromedp.SetValue("#state", "DEAD", chromedp.ByID),
		follow(chromedp.Click(`form.filters button[type="submit"]`, chromedp.ByQuery)),
		chromedp.WaitVisible(link, chromedp.ByQuery),
		chromedp.Text("table.list tbody", &body, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("search for the DEAD record: %v", err)
	}
	if n := strings.Count(body, "DEAD"); n != 1 || !strings.Contains(body, rec.TrackingID) {
		t.Errorf("search results %q, want the one DEAD record %s", body, rec.TrackingID)
	}

	// Open it: why it failed, and the Retry button.
	err = chromedp.Run(ctx,
		follow(chromedp.Click(link, chromedp.ByQuery)),
		chromedp.WaitVisible("#retry", chromedp.ByID),
		chromedp.Text("main", &body, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("open the DEAD record: %v", err)
	}
	for _, want := range []string{dead.ID, "DEAD", "Last error", "retries exhausted", "Timeline", rec.ID} {
		if !strings.Contains(body, want) {
			t.Errorf("transaction page lacks %q", want)
		}
	}
	if dead.LastError != "" && !strings.Contains(body, dead.LastError) {
		t.Errorf("transaction page does not show the last error %q", dead.LastError)
	}
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-dead-transaction.png", png)

	// Retry, then watch it complete (the page reloads; bounded).
	err = chromedp.Run(ctx,
		follow(chromedp.Click("#retry", chromedp.ByID)),
		chromedp.WaitVisible(".flash.ok", chromedp.ByQuery),
		chromedp.Text(".flash.ok", &body, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !strings.Contains(body, "Retry started") {
		t.Errorf("after Retry the page says %q", body)
	}
	page := base + "transactions/" + dead.ID
	var state string
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err := chromedp.Run(ctx,
			chromedp.Navigate(page),
			chromedp.WaitVisible(".tx-title .badge", chromedp.ByQuery),
			chromedp.Text(".tx-title .badge", &state, chromedp.ByQuery),
		); err != nil {
			t.Fatalf("reload the transaction: %v", err)
		}
		if state == string(bridge.StateConfirmed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s is %s 90s after the retry, want CONFIRMED", dead.ID, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var html string
	err = chromedp.Run(ctx,
		chromedp.Title(&title),
		chromedp.Text("main", &body, chromedp.ByQuery),
		chromedp.OuterHTML("html", &html, chromedp.ByQuery),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-transaction.png", png)
	if !strings.Contains(title, dead.ID) {
		t.Errorf("page title %q does not name the transaction", title)
	}
	for _, want := range []string{"CONFIRMED", "retried by an operator (dashboard, session", "DEAD → QUEUED", "National ID issued\nyes"} {
		if !strings.Contains(body, want) {
			t.Errorf("completed transaction page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(html, `id="retry"`) {
		t.Error("a CONFIRMED transaction still offers Retry")
	}
	done := s.transactionByRecord(t, rec.ID)
	if done.State != bridge.StateConfirmed {
		t.Errorf("stored state %s, want CONFIRMED", done.State)
	}
	s.assertRegistered(t, append(ok, s.waitRecord(t, rec.ID)))
	secrets = append(secrets, done.UIN, done.VID)
	for _, secret := range secrets {
		if secret != "" && strings.Contains(html, secret) {
			t.Errorf("the transaction page shows a token or national id (%d characters)", len(secret))
		}
	}

	// On a phone: the same page fits the screen's width.
	var fits bool
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(page),
		chromedp.WaitVisible(".tx-title", chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-transaction-phone.png", png)
	if !fits {
		t.Error("on a 390 px wide phone the transaction page scrolls sideways")
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"transactions"),
		chromedp.WaitVisible("table.list", chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-list-phone.png", png)
	if !fits {
		t.Error("on a 390 px wide phone the transaction list scrolls sideways")
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(".chart-narrow svg", chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
		chromedp.FullScreenshot(&png, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shots, "dashboard-overview-phone.png", png)
	if !fits {
		t.Error("on a 390 px wide phone the overview scrolls sideways")
	}

	// Sign out: the pages ask for the token again.
	err = chromedp.Run(ctx,
		follow(chromedp.Click(".logout button", chromedp.ByQuery)),
		chromedp.WaitVisible("#token", chromedp.ByID),
		chromedp.Navigate(base),
		chromedp.WaitVisible("#token", chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
}
