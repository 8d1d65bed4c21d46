package session

import (
	"context"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
)

// UserSettings is what a session needs to know about its user.
type UserSettings struct {
	// Policies per kind; a kind absent from the map uses the defaults.
	Policies map[item.Kind]reconcile.Policy
	// ContactListView scopes CRM contacts to a list view ("" = owned contacts).
	ContactListView string
	// PastDays and FutureDays bound the event and task windows (defaults 14 / 28).
	PastDays, FutureDays int
	// FingerprintKey is the user's key for keyed field fingerprints.
	FingerprintKey []byte
	// MaxRecords caps linked records per kind by the user's plan (0 = no cap).
	MaxRecords int
	// Custom are the user's custom field mappings per kind; their canonical
	// names are among the kind's policy fields.
	Custom map[item.Kind][]item.CustomField
	// Calendars are the mailbox calendars events sync from (ids; none = the
	// default calendar).
	Calendars []string
	Email     EmailSettings
}

// EmailSettings control e-mail sharing.
type EmailSettings struct {
	Enabled bool
	// CreateLeads turns unknown external addresses into Leads.
	CreateLeads bool
	// OwnAddress is the user's own address; OwnDomains are never made Leads.
	OwnAddress string
	OwnDomains []string
	// SkipFreeMail keeps free-mail addresses (gmail.com…) from becoming Leads.
	SkipFreeMail bool
	// ShareCategory marks messages to share ("" = "Salesforce").
	ShareCategory string
	// Folder is the share folder ("" = "Salesforce Emails").
	Folder string
}

// SettingsSource loads a user's settings.
type SettingsSource interface {
	UserSettings(ctx context.Context, user string) (UserSettings, error)
}
