package dashboard_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
)

// chromiumPath is where Debian's chromium package puts the browser;
// CRMSYNC_CHROMIUM overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CRMSYNC_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := "headless Chromium not found at " + path + "; install it with " +
			"`apt-get update && apt-get install -y --no-install-recommends chromium` (or set CRMSYNC_CHROMIUM)"
		if os.Getenv("CI") != "" || os.Getenv("CRMSYNC_REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// TestBrowserOverview drives the real pages in headless Chromium: the
// overview shows the seeded issue, "Sync now" reaches the queue, a setting
// changed through the form is stored; a screenshot lands in a temp dir
// (copied to CRMSYNC_SCREENSHOT_DIR when set, to look at).
func TestBrowserOverview(t *testing.T) {
	exe := chromiumPath(t)
	f := newFixture(t)

	// A sign-in stand-in: the test cookie, then the overview.
	mux := http.NewServeMux()
	mux.Handle("/", f.h)
	mux.HandleFunc("/test-login", func(w http.ResponseWriter, r *http.Request) {
		who, next := f.user.User, dashboard.Prefix+"/overview"
		if r.URL.Query().Get("as") == "admin" {
			who, next = f.admin.User, dashboard.Prefix+"/admin"
		}
		http.SetCookie(w, &http.Cookie{Name: testCookie, Value: who, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
	f.srv.Config.Handler = mux

	profile, err := os.MkdirTemp("", "crmsync-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's children may still write for a moment after it stops.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1400),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// The first Run starts the browser and must not carry a timeout (it would
	// stop the browser); later steps get one each.
	if err := chromedp.Do(browser, chromedp.Navigate(f.srv.URL+"/test-login")); err != nil {
		t.Fatalf("starting Chromium and loading the overview: %v", err)
	}
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}

	step("waiting for the issues table", chromedp.WaitVisible(chromedp.CSS("#issues")))
	issues := text("#issues")
	for _, want := range []string{issueName, issueReason} {
		if !strings.Contains(issues, want) {
			t.Errorf("issues table %q does not show %q", issues, want)
		}
	}

	screenshot(t, browser, "overview.png")

	step("clicking Sync now", chromedp.Click(chromedp.CSS("#sync-now")))
	step("waiting for the confirmation", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text(".flash"); !strings.Contains(got, "Sync requested") {
		t.Errorf("after Sync now the page says %q, want it to confirm the request", got)
	}
	msgs, err := f.q.Dequeue(context.Background(), schedule.SessionsQueue, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("after Sync now %d messages are on the sessions queue, want 1", len(msgs))
	}
	if req, err := schedule.DecodeRequest(msgs[0].Body); err != nil || req.User != f.user.User || req.Reason != schedule.Manual {
		t.Errorf("queued request %+v (%v), want a manual one for the user", req, err)
	}

	// Two of the user's contacts are in a list view of the local Salesforce.
	view, err := f.sf.AddListView("Contact", "Key_Contacts", "Key contacts", "Title = 'Key'", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"Key", "Key", "Other"} {
		if _, err := f.sf.Insert(f.sfID, "Contact", map[string]any{"LastName": "Roe", "Title": title}); err != nil {
			t.Fatal(err)
		}
	}

	step("opening settings", chromedp.Navigate(f.srv.URL+dashboard.Prefix+"/settings"))
	step("waiting for the contact scope", chromedp.WaitVisible(chromedp.CSS("#contact-estimate")))
	if got := text("#contact-estimate"); !strings.Contains(got, "About 3 contacts in this scope") {
		t.Errorf("the estimate of owned contacts says %q", got)
	}
	step("choosing the list view", chromedp.SetValue(chromedp.CSS("#contactListView"), view))
	step("choosing crm-to-mailbox for contacts", chromedp.SetValue(chromedp.CSS("#contact-direction"), string(reconcile.CRMToMailbox)))
	step("typing the own domains", chromedp.SetValue(chromedp.CSS("#email-ownDomains"), "acme.example"))
	step("adding a custom contact field", chromedp.SendKeys(chromedp.CSS("#contact-custom-0-crm"), "Region__c"))
	step("naming its mailbox field", chromedp.SendKeys(chromedp.CSS("#contact-custom-0-mailbox"), "extended:Region"))
	step("saving", chromedp.Click(chromedp.CSS("#save-settings")))
	step("waiting for the confirmation", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text(".flash"); !strings.Contains(got, "Settings saved") {
		t.Errorf("after saving the page says %q", got)
	}
	s, err := f.acc.Settings(context.Background(), f.user.User)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Policy(item.Contact).Direction; got != reconcile.CRMToMailbox {
		t.Errorf("stored contact direction = %q, want crm-to-mailbox", got)
	}
	if got := strings.Join(s.Email.OwnDomains, ","); got != "acme.example" {
		t.Errorf("stored own domains = %q, want acme.example", got)
	}
	if got := s.Custom[item.Contact]; len(got) != 1 || got[0] != (item.CustomField{CRM: "Region__c", Mailbox: "extended:Region"}) {
		t.Errorf("stored contact mappings = %+v, want Region__c ↔ extended:Region", got)
	}
	if s.ContactListView != view {
		t.Errorf("stored contact list view = %q, want %q", s.ContactListView, view)
	}
	if got := text("#contact-estimate"); !strings.Contains(got, "About 2 contacts in this scope") {
		t.Errorf("the estimate of the list view says %q", got)
	}
	screenshot(t, browser, "settings.png")

	// The mapping shows on the page again; ticking its box removes it.
	step("opening settings again", chromedp.Navigate(f.srv.URL+dashboard.Prefix+"/settings"))
	step("waiting for the mapping row", chromedp.WaitVisible(chromedp.CSS("#contact-custom-0-remove")))
	if got, err := chromedp.Run(browser, chromedp.Value(chromedp.CSS("#contact-custom-0-crm"))); err != nil || got != "Region__c" {
		t.Errorf("the mapping row shows %q (%v), want Region__c", got, err)
	}
	step("ticking remove", chromedp.Click(chromedp.CSS("#contact-custom-0-remove")))
	step("saving", chromedp.Click(chromedp.CSS("#save-settings")))
	step("waiting for the confirmation", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if s, err = f.acc.Settings(context.Background(), f.user.User); err != nil {
		t.Fatal(err)
	}
	if got := s.Custom[item.Contact]; len(got) != 0 {
		t.Errorf("contact mappings after removing = %+v, want none", got)
	}

	// The org admin's page renders too.
	step("signing in as the org admin", chromedp.Navigate(f.srv.URL+"/test-login?as=admin"))
	step("waiting for the user list", chromedp.WaitVisible(chromedp.CSS("#addresses")))
	if got := text("main"); !strings.Contains(got, "user@a.example") {
		t.Errorf("the org page does not list the user: %q", got)
	}
	screenshot(t, browser, "org.png")
}

// screenshot saves the whole page as a PNG in the test's temp dir, and in
// CRMSYNC_SCREENSHOT_DIR when set, to look at.
func screenshot(t *testing.T, browser context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("CRMSYNC_SCREENSHOT_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Errorf("copying the screenshot: %v", err)
		}
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}
