package dashboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
)

// widths are the windows the walks run in: a laptop and a phone.
var widths = []int64{1280, 390}

// TestBrowserUserWalk is a user's whole visit in headless Chromium, by
// clicking only: sign in through the local identity provider, use every
// form and button of the overview and settings, sign out (ending on the
// sign-in page), sign in again, delete the account. Each page is checked
// for its heading and words, console errors, CSP violations and horizontal
// overflow, at 1280 and 390 px.
func TestBrowserUserWalk(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			raiseGuard(t, f)
			b := newBrowser(t, f.srv.URL, width)
			P := dashboard.Prefix

			b.open(P + "/overview")
			b.expect("Sign in", []string{"Sign in with Microsoft", "Sign in with Salesforce"})
			b.click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.expect("Local sign-in", []string{"Uma User"})
			b.screenshot("idp.png")
			b.click(`button[value="s-user"]`)
			if got := b.path(); got != P+"/overview" {
				t.Fatalf("after signing in the browser is at %q, want the overview", got)
			}
			b.expect("Overview", []string{"Signed in as user@a.example", issueName, issueReason})
			cookie := sessionCookie(t, b)
			if !cookie.Secure || !cookie.HTTPOnly || cookie.Path != "/" || cookie.Domain != "127.0.0.1" || cookie.SameSite != network.CookieSameSiteLax {
				t.Errorf("Chromium holds the session cookie as %+v, want Secure, HttpOnly, Path=/, host-only, SameSite=Lax", cookie)
			}
			b.screenshot("overview.png")

			b.click("#sync-now")
			b.expect("Overview", []string{"Sync requested"})
			msgs, err := f.q.Dequeue(context.Background(), schedule.SessionsQueue, 10, time.Minute)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("after Sync now the sessions queue holds %d messages (%v), want 1", len(msgs), err)
			}

			b.click("#pause")
			b.expect("Overview", []string{"Sync paused"})
			if e, _ := f.sched.Get(context.Background(), f.user.User); !e.Paused {
				t.Error("after Pause the schedule is not paused")
			}
			b.click("#resume")
			b.expect("Overview", []string{"Sync resumed"})
			if e, _ := f.sched.Get(context.Background(), f.user.User); e.Paused {
				t.Error("after Resume the schedule is still paused")
			}

			b.click(`#issues button[type="submit"]`)
			b.expect("Overview", []string{"Removals confirmed"})
			if !guardConfirmed(t, f) {
				t.Error("Confirm removals did not confirm the guard")
			}

			b.click(`nav a[href="` + P + `/settings"]`)
			b.expect("Settings", []string{"Contacts", "Tasks", "Events", "E-mail sharing"})
			b.choose("#contact-direction", string(reconcile.CRMToMailbox))
			b.typeInto("#email-ownDomains", "acme.example")
			b.typeInto("#contact-custom-0-crm", "Region__c")
			b.typeInto("#contact-custom-0-mailbox", "extended:Region")
			b.click("#save-settings")
			b.expect("Settings", []string{"Settings saved"})
			s, err := f.acc.Settings(context.Background(), f.user.User)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Policy(item.Contact).Direction; got != reconcile.CRMToMailbox {
				t.Errorf("stored contact direction = %q, want crm-to-mailbox", got)
			}
			if got := s.Custom[item.Contact]; len(got) != 1 || got[0] != (item.CustomField{CRM: "Region__c", Mailbox: "extended:Region"}) {
				t.Errorf("stored contact mappings = %+v, want Region__c ↔ extended:Region", got)
			}
			// A bad value comes back as the same form, the field named as
			// the page labels it.
			b.do("clearing days back", chromedp.SetValue(chromedp.CSS("#pastDays"), ""))
			b.typeInto("#pastDays", "999")
			b.clickExpectingError("#save-settings")
			b.expect("Settings", []string{"Days back for tasks and events"})
			b.screenshot("settings-error.png")

			// Sign out ends on the sign-in page; the dashboard is closed.
			b.click(`header button[type="submit"]`)
			if got := b.path(); got != P+"/?msg=signedout" {
				t.Errorf("after signing out the browser is at %q, want the sign-in page", got)
			}
			b.expect("Sign in", []string{"You signed out."})
			b.open(P + "/settings")
			b.expect("Sign in", nil)

			// Sign in again; delete the account.
			b.click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.click(`button[value="s-user"]`)
			b.expect("Overview", []string{"Signed in as user@a.example"})
			b.click(`a[href="` + P + `/account/delete"]`)
			b.expect("Delete your account", []string{"This cannot be undone."})
			b.tick(`input[name="confirm"]`)
			b.click("#delete-account")
			b.expect("Sign in", []string{"Your account was deleted."})
			if _, err := f.acc.Profile(context.Background(), f.user.User); err == nil {
				t.Error("the profile survived account deletion")
			}
		})
	}
}

// sessionCookie is the session cookie as Chromium stores it (read, never set).
func sessionCookie(t *testing.T, b *browser) *network.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Action[network.GetCookiesResult](func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	}))
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies
	for _, c := range cookies {
		if c.Name == testCookie {
			return c
		}
	}
	t.Fatalf("Chromium holds no %s cookie after signing in (it has %d others)", testCookie, len(cookies))
	return nil
}
