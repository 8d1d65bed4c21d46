package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
)

// ContactScopes reads the choices of a user's contact scope through the
// user's own CRM connection (sides.ContactScopes). The dashboard shows
// list view names and ids and keeps none of them.
type ContactScopes interface {
	// ListViews lists the user's Contact list views.
	ListViews(ctx context.Context, user string) ([]side.Choice, error)
	// Estimate counts the contacts in the scope of listViewID ("" = the
	// contacts the user owns).
	Estimate(ctx context.Context, user, listViewID string) (int, error)
}

// scopeView is the contact scope part of the settings form.
type scopeView struct {
	// Listed is set when the list views could be read: the form offers a
	// select of Views; otherwise a text box with Note saying why.
	Listed bool
	Views  []option
	// Unknown is a chosen id that is not among Views, kept selected so
	// nothing is lost silently.
	Unknown string
	Note    string
	// Estimate is the sentence beside the scope ("" = none).
	Estimate string
}

// scopeWait bounds each CRM read of the settings page, so a slow or
// retrying CRM delays the page a little, then makes the fallback.
const scopeWait = 5 * time.Second

// codeNoListViews is the fault code of a CRM that has no list views of
// contacts (sides.ContactScopes: SAP Cloud for Customer); that CRM was
// reached, so the note must not say it could not be.
const codeNoListViews = "no_list_views"

// errNoScopes stands for a dashboard wired without ContactScopes.
var errNoScopes = errors.New("contact scopes are not configured")

// listViews reads the user's Contact list views (one ListViews call).
func (h *Handler) listViews(ctx context.Context, user string) ([]side.Choice, error) {
	if h.d.Scopes == nil {
		return nil, errNoScopes
	}
	wait, cancel := context.WithTimeout(ctx, scopeWait)
	defer cancel()
	views, err := h.d.Scopes.ListViews(wait, user)
	if err != nil && !fault.Is(err, fault.Reconnect) {
		h.d.Log.WarnContext(ctx, "dashboard: listing contact list views failed", "user", user, "err", err)
	}
	return views, err
}

// scopeView makes the form's scope part from the list views read (or the
// error reading them), with chosen selected, and estimates the saved scope
// (one COUNT call) when it is the contacts the user owns or one of the list
// views. A CRM that cannot be reached makes a note, never an error.
func (h *Handler) scopeView(ctx context.Context, user, chosen, saved, plan string, views []side.Choice, err error) scopeView {
	var v scopeView
	if err != nil {
		v.Note = h.scopeNote(err)
		return v
	}
	v.Listed = true
	for _, lv := range views {
		v.Views = append(v.Views, option{Value: lv.ID, Label: lv.Name + " (" + lv.ID + ")"})
	}
	if chosen != "" && !hasView(views, chosen) {
		v.Unknown = chosen
	}
	if saved != "" && !hasView(views, saved) {
		return v
	}
	wait, cancel := context.WithTimeout(ctx, scopeWait)
	defer cancel()
	n, err := h.d.Scopes.Estimate(wait, user, saved)
	if err != nil {
		h.d.Log.WarnContext(ctx, "dashboard: estimating the contact scope failed", "user", user, "err", err)
		v.Estimate = "No estimate of the contacts in this scope right now: " + h.crmName() + " did not answer."
		return v
	}
	v.Estimate = estimateText(n, plan, chosen != saved)
	return v
}

func (h *Handler) scopeNote(err error) string {
	if errors.Is(err, errNoScopes) {
		return "Your list views cannot be listed here; enter a list view id or leave it empty."
	}
	if fe := (*fault.Error)(nil); errors.As(err, &fe) && fe.Code == codeNoListViews {
		return h.crmName() + " offers no list views to choose from: leave it empty for the contacts you own."
	}
	if fault.Is(err, fault.Reconnect) {
		return "Connect " + h.crmName() + " (or reconnect it) to choose from your list views; until then enter a list view id or leave it empty."
	}
	return h.crmName() + " could not be reached just now, so your list views are not listed; enter a list view id or leave it empty."
}

// crmName is the CRM's display name in messages (its connector's).
func (h *Handler) crmName() string { return cmp.Or(h.d.CRM.Name, "The CRM") }

// estimateText is "about N contacts in this scope", with the plan's cap said
// plainly.
func estimateText(n int, plan string, saved bool) string {
	scope := "this scope"
	if saved {
		scope = "the saved scope"
	}
	noun := "contacts"
	if n == 1 {
		noun = "contact"
	}
	s := fmt.Sprintf("About %d %s in %s.", n, noun, scope)
	if p, ok := schedule.Plans[plan]; ok && p.MaxRecords > 0 {
		if n > p.MaxRecords {
			s += fmt.Sprintf(" Your %s plan syncs the first %d; the rest are listed as left out.", plan, p.MaxRecords)
		} else {
			s += fmt.Sprintf(" Your %s plan syncs up to %d, so all of them sync.", plan, p.MaxRecords)
		}
	}
	return s
}

func hasView(views []side.Choice, id string) bool {
	for _, lv := range views {
		if lv.ID == id {
			return true
		}
	}
	return false
}

// checkListView refuses a newly chosen list view id that is not one of the
// user's list views, when they could be read (listed). The stored id
// passes unchanged: it was accepted when saved, and the form shows it as
// unknown if it is gone.
// An id Validate refuses already (not an id at all) gets only that error.
func (h *Handler) checkListView(doc SettingsDoc, cur account.Settings, views []side.Choice, listed bool) *account.FieldError {
	chosen := doc.ContactListView
	if chosen == "" || chosen == cur.ContactListView || !listed || hasView(views, chosen) {
		return nil
	}
	var ve *account.ValidationError
	// Only the list view's own error matters here: no connector checks.
	if errors.As(doc.apply(cur).Validate(side.Connector{}, side.Connector{}), &ve) {
		for _, fe := range ve.Fields {
			if fe.Field == "contactListView" {
				return nil
			}
		}
	}
	return &account.FieldError{Field: "contactListView", Message: fmt.Sprintf("%q is not one of your %s contact list views", chosen, h.crmName())}
}
