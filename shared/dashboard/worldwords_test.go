package dashboard

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/fault"
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

// TestScopeNoteForACRMWithoutListViews: a CRM that answers but has no list
// views (SAP Cloud for Customer, sides.ContactScopes' no_list_views) is not
// said to be unreachable; one that fails is.
func TestScopeNoteForACRMWithoutListViews(t *testing.T) {
	h := &Handler{d: Deps{CRM: side.Connector{Name: "SAP Cloud for Customer"}}}
	if got := h.scopeNote(fmt.Errorf("listing: %w", fault.New(fault.Permanent, "no_list_views", "the CRM offers no list views of contacts"))); !strings.Contains(got, "SAP Cloud for Customer offers no list views") || strings.Contains(got, "could not be reached") {
		t.Errorf("no list views: note %q", got)
	}
	if got := h.scopeNote(fault.New(fault.Temporary, "", "timeout")); !strings.Contains(got, "could not be reached") {
		t.Errorf("unreachable: note %q", got)
	}
}

// calendarsErr is a MailboxCalendars that fails with err.
type calendarsErr struct{ err error }

func (c calendarsErr) Calendars(context.Context, string) ([]side.Choice, error) { return nil, c.err }

// TestCalendarsNoteWhenNotConnected: a user whose mailbox is not connected
// (the demo admin) is asked to connect it, and a mailbox without a choice of
// calendars (Google Workspace) is said to have none, neither told it did
// not answer; a mailbox that fails did not answer.
func TestCalendarsNoteWhenNotConnected(t *testing.T) {
	names := namesOf(side.Connector{Name: "SAP Cloud for Customer"}, side.Connector{Name: "Google Workspace"})
	for _, c := range []struct {
		err       error
		want, not string
	}{
		{fault.New(fault.Reconnect, "notconnected", "no google connection"), "Connect Google Workspace (or reconnect it)", "did not answer"},
		{fault.New(fault.Temporary, "", "timeout"), "did not answer", "Connect"},
		{fmt.Errorf("listing: %w", fault.New(fault.Permanent, "no_calendars", "the mailbox offers no choice of calendars")), "Google Workspace calendars cannot be listed here", "did not answer"},
	} {
		h := &Handler{d: Deps{Calendars: calendarsErr{c.err}}, names: names}
		got := h.calendarsView(context.Background(), "u-1", nil).Note
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) {
			t.Errorf("%v: note %q, want %q and no %q", c.err, got, c.want, c.not)
		}
	}
}
