package dashboard

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/side"
)

// TestAddinLinkOnlyWithOutlook: every page links the Outlook add-in while
// the mailbox side is Microsoft 365 (or unnamed), and none does in a Google
// Workspace world (`make run MAILBOX=google`), which has no Outlook.
func TestAddinLinkOnlyWithOutlook(t *testing.T) {
	for _, c := range []struct {
		mailbox side.Connector
		linked  bool
	}{
		{side.Connector{Provider: "microsoft", Name: "Microsoft 365"}, true},
		{side.Connector{}, true},
		{side.Connector{Provider: "google", Name: "Google Workspace"}, false},
	} {
		names := namesOf(side.Connector{Name: "Salesforce"}, c.mailbox)
		h := &Handler{d: Deps{Mailbox: c.mailbox}, names: names, page: newPages(names)}
		d := h.data(httptest.NewRequest("GET", Prefix+"/", nil), "Not Found", "")
		rec := httptest.NewRecorder()
		h.render(rec, 404, "error", d)
		if got := strings.Contains(rec.Body.String(), `id="addin-link"`); got != c.linked {
			t.Errorf("mailbox %q: the page links the Outlook add-in: %v, want %v\n%s", c.mailbox.Provider, got, c.linked, rec.Body.String())
		}
	}
}

// TestSettingsWordsNameTheMailbox: the settings page says "To Do tasks"
// only where the mailbox is Microsoft 365; in a Google Workspace world
// (no custom fields at all) each object says Google Workspace has no field
// to map, not that To Do tasks have none.
func TestSettingsWordsNameTheMailbox(t *testing.T) {
	for _, c := range []struct {
		mailbox      side.Connector
		want, wantNo string
	}{
		{side.Connector{Provider: "google", Name: "Google Workspace"}, "Google Workspace has no field crmsync can map these to", "To Do"},
		{side.Connector{Provider: "microsoft", Name: "Microsoft 365"}, "To Do tasks have no free field", "crmsync can map these to"},
	} {
		names := namesOf(side.Connector{Name: "Salesforce"}, c.mailbox)
		h := &Handler{d: Deps{Mailbox: c.mailbox}, names: names, page: newPages(names)}
		d := h.settingsData(httptest.NewRequest("GET", Prefix+"/settings", nil), SettingsDoc{})
		rec := httptest.NewRecorder()
		h.render(rec, 200, "settings", d)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, c.want) || strings.Contains(body, c.wantNo) {
			t.Errorf("mailbox %s: settings page (%d) says %q: %v; says %q: %v\n%s", c.mailbox.Name, rec.Code, c.want, strings.Contains(body, c.want), c.wantNo, strings.Contains(body, c.wantNo), body)
		}
	}
}
