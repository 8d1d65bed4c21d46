package dashboard_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
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
			b := browsertest.New(t, f.srv.URL, width)
			P := dashboard.Prefix

			b.Open(P + "/overview")
			b.Expect("Sign in", []string{"Sign in with Microsoft", "Sign in with Salesforce"})
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Expect("Local sign-in", []string{"Uma User"})
			b.Screenshot("idp.png")
			b.Click(`button[value="s-user"]`)
			if got := b.Path(); got != P+"/overview" {
				t.Fatalf("after signing in the browser is at %q, want the overview", got)
			}
			b.Expect("Overview", []string{"Signed in as user@a.example", issueName, issueReason})
			cookie := b.Cookie(testCookie)
			if cookie == nil {
				t.Fatalf("Chromium holds no %s cookie after signing in", testCookie)
			}
			if !cookie.Secure || !cookie.HTTPOnly || cookie.Path != "/" || cookie.Domain != "127.0.0.1" || cookie.SameSite != network.CookieSameSiteLax {
				t.Errorf("Chromium holds the session cookie as %+v, want Secure, HttpOnly, Path=/, host-only, SameSite=Lax", cookie)
			}
			b.Screenshot("overview.png")

			b.Click("#sync-now")
			b.Expect("Overview", []string{"Sync requested"})
			msgs, err := f.q.Dequeue(context.Background(), schedule.SessionsQueue, 10, time.Minute)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("after Sync now the sessions queue holds %d messages (%v), want 1", len(msgs), err)
			}

			b.Click("#pause")
			b.Expect("Overview", []string{"Sync paused"})
			if e, _ := f.sched.Get(context.Background(), f.user.User); !e.Paused {
				t.Error("after Pause the schedule is not paused")
			}
			b.Click("#resume")
			b.Expect("Overview", []string{"Sync resumed"})
			if e, _ := f.sched.Get(context.Background(), f.user.User); e.Paused {
				t.Error("after Resume the schedule is still paused")
			}

			b.Click(`#issues button[type="submit"]`)
			b.Expect("Overview", []string{"Removals confirmed"})
			if !guardConfirmed(t, f) {
				t.Error("Confirm removals did not confirm the guard")
			}

			f.cals.set([]side.Choice{{ID: "AAMkDefault=", Name: "Calendar", Default: true}, {ID: "AAMkSales=", Name: "Sales"}}, false)
			b.Click(`nav a[href="` + P + `/settings"]`)
			b.Expect("Settings", []string{"Contacts", "Tasks", "Events", "E-mail sharing", "Calendar (default)", "Sales"})
			b.Tick(`input[name="calendars"][value="AAMkSales="]`)
			b.Choose("#contact-direction", string(reconcile.CRMToMailbox))
			b.TypeInto("#email-ownDomains", "acme.example")
			b.TypeInto("#contact-custom-0-crm", "Region__c")
			b.TypeInto("#contact-custom-0-mailbox", "extended:Region")
			b.Click("#save-settings")
			b.Expect("Settings", []string{"Settings saved"})
			s, err := f.acc.Settings(context.Background(), f.user.User)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Policy(item.Contact).Direction; got != reconcile.CRMToMailbox {
				t.Errorf("stored contact direction = %q, want crm-to-mailbox", got)
			}
			if !slices.Equal(s.Calendars, []string{"AAMkDefault=", "AAMkSales="}) {
				t.Errorf("stored calendars = %v, want the default and Sales (ticked)", s.Calendars)
			}
			if got := s.Custom[item.Contact]; len(got) != 1 || got[0] != (item.CustomField{CRM: "Region__c", Mailbox: "extended:Region"}) {
				t.Errorf("stored contact mappings = %+v, want Region__c ↔ extended:Region", got)
			}
			// A bad value comes back as the same form, the field named as
			// the page labels it.
			b.Do("clearing days back", chromedp.SetValue(chromedp.CSS("#pastDays"), ""))
			b.TypeInto("#pastDays", "999")
			b.ClickExpectingError("#save-settings")
			b.Expect("Settings", []string{"Days back for tasks and events"})
			b.Screenshot("settings-error.png")

			// Sign out ends on the sign-in page; the dashboard is closed.
			b.Click(`header button[type="submit"]`)
			if got := b.Path(); got != P+"/?msg=signedout" {
				t.Errorf("after signing out the browser is at %q, want the sign-in page", got)
			}
			b.Expect("Sign in", []string{"You signed out."})
			b.Open(P + "/settings")
			b.Expect("Sign in", nil)

			// Sign in again: back on the page asked for. Delete the account.
			b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
			b.Click(`button[value="s-user"]`)
			b.Expect("Settings", nil)
			b.Click(`nav a[href="` + P + `/overview"]`)
			b.Expect("Overview", []string{"Signed in as user@a.example"})
			b.Click(`a[href="` + P + `/account/delete"]`)
			b.Expect("Delete your account", []string{"This cannot be undone."})
			b.Tick(`input[name="confirm"]`)
			b.Click("#delete-account")
			b.Expect("Sign in", []string{"Your account was deleted."})
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

// signInAs signs in through the local identity provider by clicking.
func signInAs(t *testing.T, b *browsertest.Browser, user string) {
	t.Helper()
	P := dashboard.Prefix
	if !b.Has(`a[href^="` + P + `/auth/microsoft/login"]`) {
		b.Open(P + "/")
	}
	b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
	b.Expect("Local sign-in", nil)
	b.Click(`button[value="` + user + `"]`)
}

// TestBrowserAdminWalk is an org admin's visit by clicking: sign in, the
// organisation page, Add users, Grant role by e-mail address (organisation
// admin refused in plain words to a user without an administrator right in
// Salesforce or Microsoft Entra, granted once the local Salesforce gives
// them Manage Users), Remove it, a
// user's page with its actions (Sync now, Pause, Resume, Confirm removals),
// back, sign out; at 1280 and 390 px.
func TestBrowserAdminWalk(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			raiseGuard(t, f)
			b := browsertest.New(t, f.srv.URL, width)
			P := dashboard.Prefix

			b.Open(P + "/")
			signInAs(t, b, "s-admin")
			// The admin has connected nothing: the page says so and claims
			// no success.
			b.Expect("Overview", []string{"Signed in as admin@a.example", "Not connected", "No open issues"}, "Everything synced")

			b.Click(`nav a[href="` + P + `/admin"]`)
			b.Expect("Organisation", []string{"user@a.example", "peer@a.example", "admin@a.example (you)", "Organisation admin, User", "finished with 1 problem"},
				"orgadmin", "self")
			if b.Has(`#grants input[name="role"][value="self"]`) {
				t.Error("the roles table offers Remove on a User role")
			}
			b.Screenshot("org.png")

			b.TypeInto("#addresses", "new@a.example\nnot-an-address")
			b.Choose("#plan", "paid")
			b.Click("#add-users")
			b.Expect("Organisation", []string{"new@a.example", "Added", "not an e-mail address"})
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

			// Only someone who administers Salesforce or the directory may
			// become an organisation admin: the user holds neither right.
			b.TypeInto("#grant-email", "user@a.example")
			b.Choose("#grant-role", "orgadmin")
			b.ClickExpectingError("#grant-role-submit")
			b.Expect("Organisation", []string{"The role was not changed: user@a.example cannot be made an organisation admin",
				`"Modify All Data" or "Manage Users" in Salesforce`, "administrator role"})
			if err := accessCheck(f, f.user, false); err != nil {
				t.Error(err)
			}
			// A Salesforce admin gives them Manage Users (a permission set):
			// now they may.
			if _, err := f.sf.AssignPermissionSet(f.sfID, "User Management", "PermissionsManageUsers"); err != nil {
				t.Fatal(err)
			}
			b.TypeInto("#grant-email", "user@a.example")
			b.Choose("#grant-role", "orgadmin")
			b.Click("#grant-role-submit")
			b.Expect("Organisation", []string{"Role granted."})
			if err := accessCheck(f, f.user, true); err != nil {
				t.Errorf("after Grant role the user cannot manage the org: %v", err)
			}
			b.Click(`#grants form:has(input[name="user"][value="` + f.user.User + `"]):has(input[name="role"][value="orgadmin"]) button`)
			b.Expect("Organisation", []string{"Role removed."})
			if err := accessCheck(f, f.user, false); err != nil {
				t.Error(err)
			}

			b.Click(`#members a[href="` + P + `/users/` + f.user.User + `"]`)
			b.Expect("user@a.example", []string{"The account of user@a.example.", issueName, "Needs reconnecting"})
			b.Click("#sync-now")
			if got := b.Path(); got != P+"/users/"+f.user.User+"?msg=queued" {
				t.Errorf("after Sync now on the user's page the browser is at %q", got)
			}
			b.Expect("user@a.example", []string{"Sync requested"})
			b.Click("#pause")
			b.Expect("user@a.example", []string{"Sync paused"})
			if e, _ := f.sched.Get(ctx, f.user.User); !e.Paused {
				t.Error("the admin's Pause did not pause the user")
			}
			b.Click("#resume")
			b.Expect("user@a.example", []string{"Sync resumed"})
			b.Click(`#issues button[type="submit"]`)
			b.Expect("user@a.example", []string{"Removals confirmed"})
			if !guardConfirmed(t, f) {
				t.Error("the admin's Confirm removals did not confirm the guard")
			}
			b.Screenshot("user.png")
			b.Click(`main a[href="` + P + `/admin"]`)
			b.Expect("Organisation", nil)

			b.Click(`header button[type="submit"]`)
			b.Expect("Sign in", []string{"You signed out."})
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
			b := browsertest.New(t, f.srv.URL, width)
			P := dashboard.Prefix
			b.Open(P + "/")
			b.Click(`a[href^="` + P + `/auth/salesforce/login"]`)
			b.Expect("Log in to Salesforce (local)", nil)
			b.TypeInto("#username", sfUser)
			b.TypeInto("#password", "wrong password")
			b.Click("#Login")
			b.Expect("Log in to Salesforce (local)", []string{"Please check your username and password"})
			b.TypeInto("#password", sfPassword)
			b.Click("#Login")
			if got := b.Path(); got != P+"/overview" {
				t.Fatalf("after the Salesforce login the browser is at %q, want the overview", got)
			}
			b.Expect("Overview", []string{"Signed in as " + sfUser, "Not connected", "Not scheduled yet"}, "Everything synced")
			b.Click(`header button[type="submit"]`)
			b.Expect("Sign in", []string{"You signed out."})
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
	b := browsertest.New(t, f.srv.URL, width)
	P := dashboard.Prefix
	ctx := context.Background()

	// Two sign-ins started in two tabs: the first tab's answer comes back
	// after the second tab's sign-in started. The second tab finishes; then
	// the first tab's answer lands on the overview (already signed in).
	b.Open(P + "/")
	b.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
	tab := b.NewTab()
	tab.Open(P + "/")
	tab.Click(`a[href^="` + P + `/auth/microsoft/login"]`)
	b.ClickExpectingError(`button[value="s-user"]`)
	b.Expect("Sign-in did not finish", []string{"started again in another tab"})
	if b.Has("pre") || strings.HasPrefix(strings.TrimSpace(b.Text("body")), "{") {
		t.Error("the refused sign-in is a JSON body")
	}
	tab.Click(`button[value="s-user"]`)
	tab.Expect("Overview", []string{"Signed in as user@a.example"})
	b.Click("#forward")
	b.Expect("Overview", []string{"Signed in as user@a.example"})

	// A form open in one tab; the user signs out in the other, then sends it.
	b.Click(`nav a[href="` + P + `/settings"]`)
	tab.Click(`header button[type="submit"]`)
	tab.Expect("Sign in", []string{"You signed out."})
	b.ClickExpectingError("#save-settings")
	b.Expect("Sign in", []string{"Your session ended before this form was sent, so nothing was changed"})
	signInAs(t, b, "s-user")
	b.Expect("Overview", nil)

	// A form open in one tab; the user signs out and in again in the other
	// (a new session, a new token), then sends the old form.
	b.Click(`nav a[href="` + P + `/settings"]`)
	tab.Open(P + "/overview")
	tab.Click(`header button[type="submit"]`)
	signInAs(t, tab, "s-user")
	b.ClickExpectingError("#save-settings")
	b.Expect("Nothing was changed", []string{"This form is out of date", "Reload the page and try again"})
	b.Click("#forward")
	b.Expect("Settings", nil)
	b.Click("#save-settings")
	b.Expect("Settings", []string{"Settings saved"})

	// The same form sent twice (the page open in two tabs, its button
	// pressed in each): the second confirmation confirms the same held-back
	// removals again (idempotent) and the page shows them confirmed; the
	// second account deletion finds no session and changes nothing.
	raiseGuard(t, f)
	b.Open(P + "/overview")
	tab.Open(P + "/overview")
	b.Click(`#issues button[type="submit"]`)
	b.Expect("Overview", []string{"Removals confirmed"})
	tab.Click(`#issues button[type="submit"]`)
	tab.Expect("Overview", []string{"Removals confirmed", "the next sync applies the removals"})
	if tab.Has(`#issues button[type="submit"]`) {
		t.Error("after confirming, the overview still offers Confirm removals")
	}

	b.Open(P + "/account/delete")
	tab.Open(P + "/account/delete")
	b.Tick(`input[name="confirm"]`)
	tab.Tick(`input[name="confirm"]`)
	b.Click("#delete-account")
	b.Expect("Sign in", []string{"Your account was deleted."})
	tab.ClickExpectingError("#delete-account")
	tab.Expect("Sign in", []string{"Your session ended before this form was sent, so nothing was changed"})
	if _, err := f.acc.Profile(ctx, f.user.User); err == nil {
		t.Error("the profile survived account deletion")
	}
}
