package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
)

// unknownView is a well-formed list view id the local Salesforce does not have.
const unknownView = "00B000000000099AAA"

// addContacts inserts n contacts the user owns, titled title.
func (f *fixture) addContacts(t *testing.T, n int, title string) {
	t.Helper()
	for i := range n {
		if _, err := f.sf.Insert(f.sfID, "Contact", map[string]any{"LastName": fmt.Sprintf("Roe %d", i), "Title": title}); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) settingsPage(t *testing.T, who access.Principal) string {
	t.Helper()
	code, body, _ := f.call(t, who, "GET", dashboard.Prefix+"/settings", "", false)
	if code != http.StatusOK {
		t.Fatalf("settings page: status %d: %s", code, body)
	}
	return html.UnescapeString(body)
}

func (f *fixture) saveScope(t *testing.T, id string) {
	t.Helper()
	s, err := f.acc.Settings(context.Background(), f.user.User)
	if err != nil {
		t.Fatal(err)
	}
	s.ContactListView = id
	if err := f.acc.SaveSettings(context.Background(), f.user.User, s); err != nil {
		t.Fatal(err)
	}
}

func wantIn(t *testing.T, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("the settings page lacks %q", w)
		}
	}
}

// TestSettingsScopeSelect: the page offers the user's Contact list views of
// the local Salesforce (name and id) after "Contacts I own", estimates the
// saved scope, and costs one list-views call and one COUNT query per render
// (a list view scope adds its describe, which carries its filter).
func TestSettingsScopeSelect(t *testing.T) {
	f := newFixture(t)
	key, err := f.sf.AddListView("Contact", "Key_Contacts", "Key contacts", "Title = 'Key'", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sf.AddListView("Contact", "All_Contacts", "All contacts", "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sf.AddListView("Account", "My_Accounts", "My accounts", "", true); err != nil {
		t.Fatal(err)
	}
	f.addContacts(t, 2, "Key")
	f.addContacts(t, 3, "Other")

	f.sf.ResetCalls()
	page := f.settingsPage(t, f.user)
	t.Logf("first render (cold describe cache): %v", f.sf.Calls())
	wantIn(t, page, `<select id="contactListView" name="contactListView"`, `<option value="" selected>Contacts I own</option>`,
		`<option value="`+key+`">Key contacts (`+key+`)</option>`, "All contacts (", "About 5 contacts in this scope.",
		"Your free plan syncs up to 500, so all of them sync.")
	if strings.Contains(page, "My accounts") {
		t.Error("the page offers an Account list view for contacts")
	}
	if strings.Index(page, "Contacts I own") > strings.Index(page, "Key contacts") {
		t.Error(`"Contacts I own" is not the first option`)
	}

	f.sf.ResetCalls()
	f.settingsPage(t, f.user)
	if got, want := f.sf.Calls(), map[string]int{"listviews": 1, "query": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("owned scope: one render made calls %v, want %v", got, want)
	}

	f.saveScope(t, key)
	f.sf.ResetCalls()
	page = f.settingsPage(t, f.user)
	wantIn(t, page, `<option value="`+key+`" selected>Key contacts`, `<option value="">Contacts I own</option>`, "About 2 contacts in this scope.")
	// listviews: the list, and the chosen view's describe (its filter).
	if got, want := f.sf.Calls(), map[string]int{"listviews": 2, "query": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("list view scope: one render made calls %v, want %v", got, want)
	}
}

// TestSettingsScopeEstimatePlan: the free plan's cap is said plainly when the
// scope holds more; a plan without a cap says nothing of one.
func TestSettingsScopeEstimatePlan(t *testing.T) {
	f := newFixture(t)
	f.addContacts(t, 501, "Key")
	wantIn(t, f.settingsPage(t, f.user), "About 501 contacts in this scope. Your free plan syncs the first 500; the rest are listed as left out.")

	if err := f.acc.SetPlan(context.Background(), f.user.User, "paid"); err != nil {
		t.Fatal(err)
	}
	page := f.settingsPage(t, f.user)
	wantIn(t, page, "About 501 contacts in this scope.</p>")
	if strings.Contains(page, "syncs the first") {
		t.Error("a plan without a cap mentions one")
	}
}

// TestSettingsScopeFallback: with Salesforce down, or no Salesforce
// connection, the page still renders, with the text box and a note why; a
// stored id that is not among the list views stays selected, marked.
func TestSettingsScopeFallback(t *testing.T) {
	f := newFixture(t)
	f.saveScope(t, unknownView)

	f.sf.Inject(fakesalesforce.Fault{Resource: "listviews", Status: http.StatusServiceUnavailable, ErrorCode: "SERVER_UNAVAILABLE", Times: 10})
	page := f.settingsPage(t, f.user)
	wantIn(t, page, `<input id="contactListView" name="contactListView" value="`+unknownView+`"`,
		"Salesforce could not be reached just now, so your list views are not listed")
	if strings.Contains(page, `id="contact-estimate"`) {
		t.Error("an estimate shows while Salesforce is down")
	}

	page = f.settingsPage(t, f.peer)
	wantIn(t, page, `<input id="contactListView" name="contactListView" value=""`, "Connect Salesforce (or reconnect it) to choose from your list views")
}

// TestSettingsScopeUnknownStored: a stored id missing from the list views is
// kept selected as "(unknown list view …)" and not estimated.
func TestSettingsScopeUnknownStored(t *testing.T) {
	f := newFixture(t)
	if _, err := f.sf.AddListView("Contact", "Key_Contacts", "Key contacts", "", true); err != nil {
		t.Fatal(err)
	}
	f.saveScope(t, unknownView)
	f.sf.ResetCalls()
	page := f.settingsPage(t, f.user)
	wantIn(t, page, `<option value="`+unknownView+`" selected>(unknown list view `+unknownView+`)</option>`, "Key contacts (")
	if strings.Contains(page, `id="contact-estimate"`) {
		t.Error("an unknown list view is estimated")
	}
	if got := f.sf.Calls(); got["query"] != 0 || got["listviews"] != 1 {
		t.Errorf("calls %v, want one listviews and no query", got)
	}
	// Saving other settings keeps the stored id.
	code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User, "contactListView", unknownView, "futureDays", "30"), false)
	if code != http.StatusSeeOther {
		t.Errorf("saving with the stored unknown id: status %d: %s", code, body)
	}
}

// TestSettingsScopeValidation: a newly chosen id must be one of the user's
// list views, in the form and in the JSON API, when Salesforce lists them.
func TestSettingsScopeValidation(t *testing.T) {
	f := newFixture(t)
	key, err := f.sf.AddListView("Contact", "Key_Contacts", "Key contacts", "", true)
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User, "contactListView", unknownView), false)
	body = html.UnescapeString(body)
	if code != http.StatusBadRequest || !strings.Contains(body, `Contacts to sync: "`+unknownView+`" is not one of your Salesforce contact list views`) {
		t.Errorf("form with an unknown id: status %d, page does not name it:\n%s", code, body)
	}
	if !strings.Contains(body, `<option value="`+unknownView+`" selected>(unknown list view`) {
		t.Error("the form does not keep the refused id selected")
	}

	put := func(who access.Principal, path, id string) (int, string) {
		t.Helper()
		code, body, _ := f.call(t, who, "PUT", path, `{"contactListView":"`+id+`"}`, true)
		return code, body
	}
	for _, c := range []struct {
		name, path string
		who        access.Principal
	}{{"self", dashboard.Prefix + "/v1/me/settings", f.user}, {"admin", dashboard.Prefix + "/v1/users/{user}/settings", f.admin}} {
		t.Run(c.name, func(t *testing.T) {
			code, body := put(c.who, c.path, unknownView)
			if code != http.StatusBadRequest || !strings.Contains(body, `"field":"contactListView"`) || !strings.Contains(body, unknownView) {
				t.Errorf("PUT unknown id: %d %s", code, body)
			}
			if code, body := put(c.who, c.path, key); code != http.StatusOK || !strings.Contains(body, `"contactListView":"`+key+`"`) {
				t.Errorf("PUT a list view: %d %s", code, body)
			}
			if code, body := put(c.who, c.path, ""); code != http.StatusOK {
				t.Errorf("PUT owned contacts: %d %s", code, body)
			}
		})
	}
	// With Salesforce down the id is accepted as before.
	f.sf.Inject(fakesalesforce.Fault{Resource: "listviews", Status: http.StatusServiceUnavailable, ErrorCode: "SERVER_UNAVAILABLE", Times: 5})
	if code, body := put(f.user, dashboard.Prefix+"/v1/me/settings", unknownView); code != http.StatusOK {
		t.Errorf("PUT while Salesforce is down: %d %s", code, body)
	}
}

// TestSettingsSaveKeepingTheScopeCostsNoCall: saving the form without a new
// list view reads nothing from Salesforce; only a new choice is checked.
func TestSettingsSaveKeepingTheScopeCostsNoCall(t *testing.T) {
	f := newFixture(t)
	key, err := f.sf.AddListView("Contact", "Key_Contacts", "Key contacts", "", true)
	if err != nil {
		t.Fatal(err)
	}
	f.saveScope(t, key)
	f.sf.ResetCalls()
	code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User, "contactListView", key), false)
	if code/100 != 3 {
		t.Fatalf("saving the form: status %d: %s", code, body)
	}
	if got := f.sf.Calls(); len(got) != 0 {
		t.Errorf("a save keeping the scope made Salesforce calls %v, want none", got)
	}
	other, err := f.sf.AddListView("Contact", "Other_Contacts", "Other contacts", "", true)
	if err != nil {
		t.Fatal(err)
	}
	f.sf.ResetCalls()
	if code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/settings", form(f.user.User, "contactListView", other), false); code/100 != 3 {
		t.Fatalf("saving a new list view: status %d: %s", code, body)
	}
	if got := f.sf.Calls(); got["listviews"] != 1 {
		t.Errorf("a save choosing a new list view made calls %v, want one list-views call to check it", got)
	}
}
