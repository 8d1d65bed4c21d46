package sides

import (
	"context"

	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/side"
)

// ContactScopes reads what the dashboard offers for a user's contact scope,
// through the user's own Salesforce connection so Salesforce's sharing
// decides what they see: their Contact list views and how many contacts a
// scope holds. It keeps nothing between calls.
type ContactScopes struct {
	Opener *Opener
}

// ListViews lists the user's Contact list views (names are configuration,
// not content).
func (c ContactScopes) ListViews(ctx context.Context, user string) ([]side.Choice, error) {
	crm, err := c.Opener.OpenSalesforce(ctx, user)
	if err != nil {
		return nil, err
	}
	return crm.ContactViews(ctx)
}

// Estimate counts the contacts in the scope of listView ("" = the contacts
// the user owns) with one COUNT() query.
func (c ContactScopes) Estimate(ctx context.Context, user, listView string) (int, error) {
	side, err := c.Opener.OpenSalesforce(ctx, user)
	if err != nil {
		return 0, err
	}
	return side.CountContacts(ctx, listView)
}

// MailboxCalendars lists a user's mailbox calendars for the dashboard's
// choice of calendars, through the user's own Microsoft connection (or the
// app's, for app-only mailboxes). It keeps nothing between calls.
type MailboxCalendars struct {
	Opener *Opener
}

// Calendars lists the user's calendars, the default one first.
func (m MailboxCalendars) Calendars(ctx context.Context, user string) ([]side.Choice, error) {
	c, err := m.Opener.GraphClient(ctx, user)
	if err != nil {
		return nil, err
	}
	return msgraph.NewSide(c, msgraph.SideOptions{}).CalendarChoices(ctx)
}
