package dashboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/access"
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
			// Under the pages' referrer policy Chromium names this origin on
			// every form post (no-referrer made it send "Origin: null").
			posts := f.postsSeen()
			if len(posts) < 8 {
				t.Errorf("the server saw %d form posts, want every form of the walk", len(posts))
			}
			for _, p := range posts {
				if p.Origin != f.srv.URL || p.Site != "same-origin" {
					t.Errorf("POST %s came with Origin %q and Sec-Fetch-Site %q, want %q and same-origin", p.Path, p.Origin, p.Site, f.srv.URL)
				}
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

// signInAs signs in through the local identity provider by clicking.
func signInAs(b *browser, user string) {
	b.t.Helper()
	P := dashboard.Prefix
	if !b.has(`a[href^="` + P + `/auth/microsoft/login"]`) {
		b.open(P + "/")
	}
	b.click(`a[href^="` + P + `/auth/microsoft/login"]`)
	b.expect("Local sign-in", nil)
	b.click(`button[value="` + user + `"]`)
}

// TestBrowserAdminWalk is an org admin's visit by clicking: sign in, the
// organisation page, Add users, Grant role by e-mail address, Remove it, a
// user's page with its actions (Sync now, Pause, Resume, Confirm removals),
// back, sign out; at 1280 and 390 px.
func TestBrowserAdminWalk(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			raiseGuard(t, f)
			b := newBrowser(t, f.srv.URL, width)
			P := dashboard.Prefix

			b.open(P + "/")
			signInAs(b, "s-admin")
			// The admin has connected nothing: the page says so and claims
			// no success.
			b.expect("Overview", []string{"Signed in as admin@a.example", "Not connected", "No open issues"}, "Everything synced")

			b.click(`nav a[href="` + P + `/admin"]`)
			b.expect("Organisation", []string{"user@a.example", "peer@a.example", "admin@a.example (you)", "Organisation admin, User", "finished with 1 problem"},
				"orgadmin", "self")
			if b.has(`#grants input[name="role"][value="self"]`) {
				t.Error("the roles table offers Remove on a User role")
			}
			b.screenshot("org.png")

			b.typeInto("#addresses", "new@a.example\nnot-an-address")
			b.choose("#plan", "paid")
			b.click("#add-users")
			b.expect("Organisation", []string{"new@a.example", "Added", "not an e-mail address"})
			members, err := f.acc.Members(ctx, orgA)
			if err != nil {
				t.Fatal(err)
			}
			newUser := ""
			for _, m := range members {
				if m.Email == "new@a.example" {
					newUser = m.User
				}
			}
			if newUser == "" {
				t.Fatal("Add users did not add new@a.example")
			}
			if s, _ := f.acc.Settings(ctx, newUser); s.Plan != "paid" {
				t.Errorf("the added user's plan is %q, want paid", s.Plan)
			}

			b.typeInto("#grant-email", "peer@a.example")
			b.choose("#grant-role", "orgadmin")
			b.click("#grant-role-submit")
			b.expect("Organisation", []string{"Role granted."})
			if err := accessCheck(f, f.peer, true); err != nil {
				t.Errorf("after Grant role the peer cannot manage the org: %v", err)
			}
			b.click(`#grants form:has(input[name="user"][value="` + f.peer.User + `"]):has(input[name="role"][value="orgadmin"]) button`)
			b.expect("Organisation", []string{"Role removed."})
			if err := accessCheck(f, f.peer, false); err != nil {
				t.Error(err)
			}

			b.click(`#members a[href="` + P + `/users/` + f.user.User + `"]`)
			b.expect("user@a.example", []string{"The account of user@a.example.", issueName, "Needs reconnecting"})
			b.click("#sync-now")
			if got := b.path(); got != P+"/users/"+f.user.User+"?msg=queued" {
				t.Errorf("after Sync now on the user's page the browser is at %q", got)
			}
			b.expect("user@a.example", []string{"Sync requested"})
			b.click("#pause")
			b.expect("user@a.example", []string{"Sync paused"})
			if e, _ := f.sched.Get(ctx, f.user.User); !e.Paused {
				t.Error("the admin's Pause did not pause the user")
			}
			b.click("#resume")
			b.expect("user@a.example", []string{"Sync resumed"})
			b.click(`#issues button[type="submit"]`)
			b.expect("user@a.example", []string{"Removals confirmed"})
			if !guardConfirmed(t, f) {
				t.Error("the admin's Confirm removals did not confirm the guard")
			}
			b.screenshot("user.png")
			b.click(`main a[href="` + P + `/admin"]`)
			b.expect("Organisation", nil)

			b.click(`header button[type="submit"]`)
			b.expect("Sign in", []string{"You signed out."})
		})
	}
}

// accessCheck reports whether p manages org A's roles as want says.
func accessCheck(f *fixture, p access.Principal, want bool) error {
	err := access.NewChecker(f.grants).Check(context.Background(), p, access.GrantsWrite, access.Org(orgA))
	switch {
	case want && err != nil:
		return err
	case !want && err == nil:
		return fmt.Errorf("%s still manages the org's roles", p.User)
	}
	return nil
}

// TestBrowserSalesforceSignIn signs in with Salesforce by typing the user
// name and password into the local Salesforce's login page, as on
// login.salesforce.com: a new user, nothing connected yet, whom the page
// tells so rather than "Everything synced".
func TestBrowserSalesforceSignIn(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			b := newBrowser(t, f.srv.URL, width)
			P := dashboard.Prefix
			b.open(P + "/")
			b.click(`a[href^="` + P + `/auth/salesforce/login"]`)
			b.expect("Log in to Salesforce (local)", nil)
			b.typeInto("#username", sfUser)
			b.typeInto("#password", "wrong password")
			b.click("#Login")
			b.expect("Log in to Salesforce (local)", []string{"Please check your username and password"})
			b.typeInto("#password", sfPassword)
			b.click("#Login")
			if got := b.path(); got != P+"/overview" {
				t.Fatalf("after the Salesforce login the browser is at %q, want the overview", got)
			}
			b.expect("Overview", []string{"Signed in as " + sfUser, "Not connected", "Not scheduled yet"}, "Everything synced")
			b.click(`header button[type="submit"]`)
			b.expect("Sign in", []string{"You signed out."})
		})
	}
}

// TestBrowserBadInput: what a person runs into with several tabs and old
// pages, each answered with a page that says what happened and the way on,
// never a JSON body: a sign-in started in one tab and finished in another,
// a form sent after signing out in another tab, a form whose session was
// replaced (stale CSRF token), the same form sent twice.
func TestBrowserBadInput(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) { badInputWalk(t, width) })
	}
}

func badInputWalk(t *testing.T, width int64) {
	f := newFixture(t)
	b := newBrowser(t, f.srv.URL, width)
	P := dashboard.Prefix
	ctx := context.Background()

	// Two sign-ins started in two tabs: the first tab's answer comes back
	// after the second tab's sign-in started. The second tab finishes; then
	// the first tab's answer lands on the overview (already signed in).
	b.open(P + "/")
	b.click(`a[href^="` + P + `/auth/microsoft/login"]`)
	tab := b.newTab()
	tab.open(P + "/")
	tab.click(`a[href^="` + P + `/auth/microsoft/login"]`)
	b.clickExpectingError(`button[value="s-user"]`)
	b.expect("Sign-in did not finish", []string{"started again in another tab"})
	if b.has("pre") || strings.HasPrefix(strings.TrimSpace(b.text("body")), "{") {
		t.Error("the refused sign-in is a JSON body")
	}
	tab.click(`button[value="s-user"]`)
	tab.expect("Overview", []string{"Signed in as user@a.example"})
	b.click("#forward")
	b.expect("Overview", []string{"Signed in as user@a.example"})

	// A form open in one tab; the user signs out in the other, then sends it.
	b.click(`nav a[href="` + P + `/settings"]`)
	tab.click(`header button[type="submit"]`)
	tab.expect("Sign in", []string{"You signed out."})
	b.clickExpectingError("#save-settings")
	b.expect("Sign in", []string{"Your session ended before this form was sent, so nothing was changed"})
	signInAs(b, "s-user")
	b.expect("Overview", nil)

	// A form open in one tab; the user signs out and in again in the other
	// (a new session, a new token), then sends the old form.
	b.click(`nav a[href="` + P + `/settings"]`)
	tab.open(P + "/overview")
	tab.click(`header button[type="submit"]`)
	signInAs(tab, "s-user")
	b.clickExpectingError("#save-settings")
	b.expect("Nothing was changed", []string{"This form is out of date", "Reload the page and try again"})
	b.click("#forward")
	b.expect("Settings", nil)
	b.click("#save-settings")
	b.expect("Settings", []string{"Settings saved"})

	// The same form sent twice (the page open in two tabs, its button
	// pressed in each): the second confirmation confirms the same held-back
	// removals again (idempotent) and the page shows them confirmed; the
	// second account deletion finds no session and changes nothing.
	raiseGuard(t, f)
	b.open(P + "/overview")
	tab.open(P + "/overview")
	b.click(`#issues button[type="submit"]`)
	b.expect("Overview", []string{"Removals confirmed"})
	tab.click(`#issues button[type="submit"]`)
	tab.expect("Overview", []string{"Removals confirmed", "the next sync applies the removals"})
	if tab.has(`#issues button[type="submit"]`) {
		t.Error("after confirming, the overview still offers Confirm removals")
	}

	b.open(P + "/account/delete")
	tab.open(P + "/account/delete")
	b.tick(`input[name="confirm"]`)
	tab.tick(`input[name="confirm"]`)
	b.click("#delete-account")
	b.expect("Sign in", []string{"Your account was deleted."})
	tab.clickExpectingError("#delete-account")
	tab.expect("Sign in", []string{"Your session ended before this form was sent, so nothing was changed"})
	if _, err := f.acc.Profile(ctx, f.user.User); err == nil {
		t.Error("the profile survived account deletion")
	}
}
