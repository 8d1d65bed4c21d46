package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
)

func form(csrfUser string, kv ...string) string {
	v := url.Values{}
	if csrfUser != "" {
		v.Set("csrf_token", csrfFor(csrfUser))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestPages(t *testing.T) {
	P := dashboard.Prefix
	tests := []struct {
		name     string
		who      func(*fixture) access.Principal
		method   string
		path     string
		form     func(*fixture) string
		want     int
		location string   // wanted Location of a redirect
		has      []string // wanted in the body
		hasNot   []string
	}{
		{name: "sign-in page", who: anon, method: "GET", path: P + "/", want: 200,
			has: []string{`href="/api/dashboard/auth/microsoft/login">Sign in with Microsoft`, `href="/api/dashboard/auth/salesforce/login">Sign in with Salesforce`, `<html lang="en">`}},
		{name: "bare prefix", who: anon, method: "GET", path: P, want: 200, has: []string{"Sign in with Microsoft"}},
		{name: "anonymous page goes to sign-in", who: anon, method: "GET", path: P + "/overview", want: 303, location: P + "/?return=%2Fapi%2Fdashboard%2Foverview"},
		{name: "sign-in page keeps the page to return to", who: anon, method: "GET", path: P + "/?return=" + url.QueryEscape(P+"/settings"), want: 200,
			has: []string{`href="/api/dashboard/auth/microsoft/login?return=%2fapi%2fdashboard%2fsettings">Sign in with Microsoft`}},
		{name: "sign-in page drops a foreign return", who: anon, method: "GET", path: P + "/?return=" + url.QueryEscape("//evil.example/"), want: 200,
			has: []string{`href="/api/dashboard/auth/microsoft/login">Sign in with Microsoft`}},
		{name: "signed-in home goes to overview", who: user, method: "GET", path: P + "/", want: 303, location: P + "/overview"},
		{name: "overview", who: user, method: "GET", path: P + "/overview", want: 200,
			has: []string{issueName, issueReason, "Needs reconnecting", `href="/api/dashboard/connect/microsoft">Reconnect`, "Sync now", ">Pause<",
				"12 contacts created in your mailbox", "3 tasks updated in Salesforce", "finished with 1 problem", "user@a.example", `name="csrf_token" value="`},
			hasNot: []string{"<script>", refreshToken, sfPassword}},
		{name: "flash by code only", who: user, method: "GET", path: P + "/overview?msg=<b>hi</b>", want: 200, hasNot: []string{"<b>hi</b>"}},
		{name: "sync now form", who: user, method: "POST", path: P + "/sync-now", form: func(f *fixture) string { return form(f.user.User) }, want: 303, location: P + "/overview?msg=queued"},
		{name: "pause form", who: user, method: "POST", path: P + "/pause", form: func(f *fixture) string { return form(f.user.User) }, want: 303, location: P + "/overview?msg=paused"},
		{name: "form without csrf", who: user, method: "POST", path: P + "/pause", form: func(f *fixture) string { return form("") }, want: 403, has: []string{"CSRF"}},
		{name: "form with another user's csrf", who: user, method: "POST", path: P + "/pause", form: func(f *fixture) string { return form(f.peer.User) }, want: 403},
		{name: "settings page", who: user, method: "GET", path: P + "/settings", want: 200,
			has: []string{`<label for="contact-direction">Direction</label>`, `<option value="newer-wins" selected>`, `name="email.ownDomains"`,
				`Share category (empty: Salesforce)`}},
		{name: "settings form invalid", who: user, method: "POST", path: P + "/settings",
			form: func(f *fixture) string {
				return form(f.user.User, "contact.direction", "upwards", "pastDays", "many", "email.ownDomains", "bad domain", "contactListView", "nope")
			}, want: 400, has: []string{"upwards", "Days back for tasks and events: is not a whole number", `role="alert"`}},
		{name: "settings form saved", who: user, method: "POST", path: P + "/settings",
			form: func(f *fixture) string {
				return form(f.user.User, "contact.direction", "crm-to-mailbox", "contact.conflict", "crm-wins", "contact.mailboxDelete", "unlink", "contact.newItems", "none",
					"pastDays", "7", "email.enabled", "on", "email.ownDomains", "a.example, b.example")
			}, want: 303, location: P + "/settings?msg=saved"},
		{name: "delete page", who: user, method: "GET", path: P + "/account/delete", want: 200, has: []string{"cannot be undone", `name="confirm"`}},
		{name: "sign out ends on the sign-in page", who: user, method: "POST", path: P + "/auth/logout", form: func(f *fixture) string { return form(f.user.User) },
			want: 303, location: P + "/?msg=signedout"},
		{name: "signed-out page", who: anon, method: "GET", path: P + "/?msg=signedout", want: 200, has: []string{"You signed out.", "Sign in with Microsoft"}},
		{name: "delete without confirmation", who: user, method: "POST", path: P + "/account/delete", form: func(f *fixture) string { return form(f.user.User) }, want: 400, has: []string{"Tick the box"}},
		{name: "delete confirmed", who: user, method: "POST", path: P + "/account/delete", form: func(f *fixture) string { return form(f.user.User, "confirm", "yes") }, want: 303, location: P + "/?msg=deleted"},
		{name: "admin redirect", who: admin, method: "GET", path: P + "/admin", want: 303, location: P + "/orgs/" + orgA},
		{name: "org page as admin", who: admin, method: "GET", path: P + "/orgs/" + orgA, want: 200,
			has: []string{"user@a.example", "peer@a.example", "Add users", "Grant role", "1 of 2 connected, 1 needs reconnecting",
				"Organisation admin, User", "finished with 1 problem", "support@ops.example"},
			hasNot: []string{">orgadmin<", "self"}},
		{name: "org page as support", who: support, method: "GET", path: P + "/orgs/" + orgA, want: 200, has: []string{"user@a.example"}, hasNot: []string{"Add users", "Grant role"}},
		{name: "org page of another org", who: other, method: "GET", path: P + "/orgs/" + orgA, want: 403},
		{name: "provision form", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/provision",
			form: func(f *fixture) string {
				return form(f.admin.User, "addresses", "ann@a.example\r\nnot-an-address\r\n\r\npeer@a.example", "plan", "free")
			},
			want: 200, has: []string{`<td data-label="Line">1</td><td data-label="Address">ann@a.example</td><td data-label="Result">Added</td>`, "not an e-mail address", "already a user of this org"}},
		{name: "grant form", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", "Peer@A.example", "role", "support", "on", "")
			},
			want: 303, location: P + "/orgs/" + orgA + "?msg=granted"},
		{name: "org admin refused without an administrator right", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", "user@a.example", "role", "orgadmin", "on", "")
			},
			want: 400, has: []string{"The role was not changed: user@a.example cannot be made an organisation admin: they need &#34;Modify All Data&#34; or &#34;Manage Users&#34; in Salesforce"}},
		{name: "org admin granted to a Salesforce user with Modify All Data", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				if _, err := f.sf.AssignPermissionSet(f.sfID, "Data Steward", "PermissionsModifyAllData"); err != nil {
					panic(err)
				}
				return form(f.admin.User, "action", "add", "email", "user@a.example", "role", "orgadmin", "on", "")
			},
			want: 303, location: P + "/orgs/" + orgA + "?msg=granted"},
		{name: "grant form on one user", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", "peer@a.example", "role", "support", "on", "user@a.example")
			},
			want: 303, location: P + "/orgs/" + orgA + "?msg=granted"},
		{name: "grant form by an internal id is refused", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", f.peer.User, "role", "support")
			},
			want: 400, has: []string{"E-mail address of the user: no user of this organisation has that address"}},
		{name: "grant form with an unknown address", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", "nobody@a.example", "role", "support")
			},
			want: 400, has: []string{"no user of this organisation has that address"}},
		{name: "the User role cannot be removed", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "remove", "user", f.user.User, "role", "self", "resource", f.user.User)
			},
			want: 400, has: []string{"cannot be removed"}},
		{name: "grant form refused", who: admin, method: "POST", path: P + "/orgs/" + orgA + "/grants",
			form: func(f *fixture) string {
				return form(f.admin.User, "action", "add", "email", "peer@a.example", "role", "emperor")
			},
			want: 400, has: []string{"The role was not changed"}},
		{name: "user page as support", who: support, method: "GET", path: P + "/users/{user}", want: 200, has: []string{issueName}, hasNot: []string{"Sync now", "Delete my account"}},
		{name: "user page as peer", who: peer, method: "GET", path: P + "/users/{user}", want: 403},
		{name: "unknown page", who: user, method: "GET", path: P + "/nope", want: 404, has: []string{"no such page"}},
		{name: "unknown API path", who: user, method: "GET", path: P + "/v1/nope", want: 404, has: []string{`"error":"not_found"`}},
		{name: "static css", who: anon, method: "GET", path: P + "/static/app.css", want: 200, has: []string{"--accent"}},
		{name: "static missing", who: anon, method: "GET", path: P + "/static/nope.js", want: 404},
		{name: "connect goes to the injected flow", who: user, method: "GET", path: P + "/connect/microsoft", want: 200, has: []string{"connect flow"}},
		{name: "an admin connects their own account", who: admin, method: "GET", path: P + "/connect/microsoft", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			body := ""
			if tc.form != nil {
				body = tc.form(f)
			}
			code, got, hdr := f.call(t, tc.who(f), tc.method, tc.path, body, false)
			if code != tc.want {
				t.Fatalf("status = %d, want %d; body:\n%s", code, tc.want, got)
			}
			if tc.location != "" && hdr.Get("Location") != tc.location {
				t.Errorf("Location = %q, want %q", hdr.Get("Location"), tc.location)
			}
			for _, s := range tc.has {
				if !strings.Contains(got, s) {
					t.Errorf("body does not contain %q:\n%s", s, got)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(got, s) {
					t.Errorf("body contains %q", s)
				}
			}
		})
	}
}

func anon(*fixture) access.Principal { return access.Principal{} }

func TestSettingsFormStores(t *testing.T) {
	f := newFixture(t)
	view, err := f.sf.AddListView("Contact", "Key", "Key contacts", "", true)
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User,
		"contact.direction", "crm-to-mailbox", "contact.conflict", "crm-wins", "contact.mailboxDelete", "delete-in-crm", "contact.newItems", "none",
		"task.direction", "off", "futureDays", "40", "email.createLeads", "on", "email.ownDomains", "A.example, b.example", "contactListView", view), false)
	if code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", code, body)
	}
	s, err := f.acc.Settings(context.Background(), f.user.User)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Policy(item.Contact)
	if c.Direction != reconcile.CRMToMailbox || c.Conflict != reconcile.CRMWins || c.MailboxDelete != reconcile.DeleteInCRM || c.NewItems != reconcile.NewNone {
		t.Errorf("contact policy = %+v", c)
	}
	if s.Policy(item.Task).Direction != reconcile.Off || s.FutureDays != 40 || !s.Email.CreateLeads || s.Email.Enabled || s.ContactListView != view {
		t.Errorf("stored settings = %+v", s)
	}
	if got := strings.Join(s.Email.OwnDomains, ","); got != "a.example,b.example" {
		t.Errorf("own domains = %q", got)
	}
}

// TestSettingsFormCustomFields: the settings form adds a mapping from the
// blank row, removes a ticked one, shows them all again, and names a bad one.
func TestSettingsFormCustomFields(t *testing.T) {
	f := newFixture(t)
	post := func(kv ...string) (int, string) {
		t.Helper()
		code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User, kv...), false)
		return code, body
	}
	if code, body := post("contact.custom.0.crm", "Region__c", "contact.custom.0.mailbox", "extended:Region",
		"contact.custom.1.crm", "Nick__c", "contact.custom.1.mailbox", "nickName",
		"event.custom.0.crm", "Region__c", "event.custom.0.mailbox", "extended:Region"); code != http.StatusSeeOther {
		t.Fatalf("adding: status %d: %s", code, body)
	}
	code, page, _ := f.call(t, f.user, "GET", dashboard.Prefix+"/settings", "", false)
	for _, want := range []string{`name="contact.custom.0.crm" value="Region__c"`, `name="contact.custom.1.mailbox" value="nickName"`,
		`name="contact.custom.2.crm" value=""`, `id="contact-custom-1-remove"`, `name="event.custom.0.crm" value="Region__c"`, "To Do tasks have no free field"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Errorf("settings page (status %d) lacks %s", code, want)
		}
	}
	// Remove the first contact mapping, keep the second and the event's.
	if code, body := post("contact.custom.0.crm", "Region__c", "contact.custom.0.mailbox", "extended:Region", "contact.custom.0.remove", "on",
		"contact.custom.1.crm", "Nick__c", "contact.custom.1.mailbox", "nickName",
		"event.custom.0.crm", "Region__c", "event.custom.0.mailbox", "extended:Region"); code != http.StatusSeeOther {
		t.Fatalf("removing: status %d: %s", code, body)
	}
	s, err := f.acc.Settings(context.Background(), f.user.User)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Custom[item.Contact]; len(got) != 1 || got[0] != (item.CustomField{CRM: "Nick__c", Mailbox: "nickName"}) {
		t.Errorf("contact mappings = %+v, want only Nick__c", got)
	}
	if got := s.Custom[item.Event]; len(got) != 1 {
		t.Errorf("event mappings = %+v, want one", got)
	}
	code, body := post("contact.custom.0.crm", "Title", "contact.custom.0.mailbox", "nickName")
	if code != http.StatusBadRequest || !strings.Contains(body, "Contacts, custom field row 1: field Title is one Salesforce syncs by default already") ||
		!strings.Contains(body, `value="Title"`) {
		t.Errorf("bad mapping: status %d, page does not name it:\n%s", code, body)
	}
	// A mailbox field that is not free: the message explains extended:
	// in words, never the engine's extended:Name placeholder.
	code, body = post("contact.custom.0.crm", "Region__c", "contact.custom.0.mailbox", "jobTitle")
	if code != http.StatusBadRequest || !strings.Contains(body, "Contacts, custom field row 1: &#34;jobTitle&#34; is not a free contact property") ||
		strings.Contains(body, "extended:Name") {
		t.Errorf("unfree mailbox field: status %d, page:\n%s", code, body)
	}
}
