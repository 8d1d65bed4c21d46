package sides

import (
	"context"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// ContactScopes reads what the dashboard offers for a user's contact scope,
// through the user's own CRM connection so the CRM's sharing decides what
// they see: their list views of contacts and how many contacts a scope
// holds (side.ContactViews). It keeps nothing between calls.
type ContactScopes struct {
	Opener *Opener
}

func (c ContactScopes) views(ctx context.Context, user string) (side.ContactViews, error) {
	crm, err := c.Opener.OpenCRM(ctx, user, nil)
	if err != nil {
		return nil, err
	}
	v, ok := crm.(side.ContactViews)
	if !ok {
		return nil, fault.New(fault.Permanent, "no_list_views", "the CRM offers no list views of contacts")
	}
	return v, nil
}

// ListViews lists the user's list views of contacts (names are
// configuration, not content).
func (c ContactScopes) ListViews(ctx context.Context, user string) ([]side.Choice, error) {
	v, err := c.views(ctx, user)
	if err != nil {
		return nil, err
	}
	return v.ContactViews(ctx)
}

// Estimate counts the contacts in the scope of listView ("" = the contacts
// the user owns) with one count query.
func (c ContactScopes) Estimate(ctx context.Context, user, listView string) (int, error) {
	v, err := c.views(ctx, user)
	if err != nil {
		return 0, err
	}
	return v.CountContacts(ctx, listView)
}

// MailboxCalendars lists a user's mailbox calendars for the dashboard's
// choice of calendars, through the user's own mailbox connection (or the
// app's, for app-only mailboxes; side.CalendarChooser). It keeps nothing
// between calls.
type MailboxCalendars struct {
	Opener *Opener
}

// Calendars lists the user's calendars, the default one first.
func (m MailboxCalendars) Calendars(ctx context.Context, user string) ([]side.Choice, error) {
	mbx, err := m.Opener.OpenMailbox(ctx, user, nil)
	if err != nil {
		return nil, err
	}
	cc, ok := mbx.(side.CalendarChooser)
	if !ok {
		return nil, fault.New(fault.Permanent, "no_calendars", "the mailbox offers no choice of calendars")
	}
	return cc.CalendarChoices(ctx)
}
