package side

import "context"

// Choice is one scope a user may pick on the settings page: a CRM list view
// of contacts or a mailbox calendar. Names are configuration, not content.
type Choice struct {
	ID, Name string
	// Default marks the choice that applies when the user picks none.
	Default bool
}

// ContactViews is an optional CRM ability: the user's list views of
// contacts to scope the sync to, and how many contacts a scope holds.
type ContactViews interface {
	// ContactViews lists the user's list views of contacts.
	ContactViews(ctx context.Context) ([]Choice, error)
	// CountContacts counts the contacts in the scope of listView ("" = the
	// contacts the user owns).
	CountContacts(ctx context.Context, listView string) (int, error)
}

// CalendarChooser is an optional Mailbox ability: the user's calendars,
// the default one first, to choose which events sync.
type CalendarChooser interface {
	CalendarChoices(ctx context.Context) ([]Choice, error)
}

// AdminRights is an optional ability of either side: the administrator
// right the connected user holds in the vendor's service ("Modify All
// Data", "Global Administrator"), or "" for none. Making someone an
// organisation admin in crmsync needs one.
type AdminRights interface {
	AdminRight(ctx context.Context) (string, error)
}
