package msgraph

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Connector is the Microsoft 365 mailbox connector: what generic packages
// know of Graph mailboxes (side.Connector).
var Connector = side.Connector{
	Provider: string(connection.Microsoft),
	Name:     "Microsoft 365",
	Role:     side.MailboxRole,
	Custom:   customFields{},
	Flows:    []string{string(connection.FlowAuthCode), string(connection.FlowClientCredentials)},
	Tables: []side.Table{
		{Name: DebounceTable, PerUser: true, Why: "msgraph.DebounceTable: one row per user, PartitionKey user"},
		{Name: SubscriptionTable, Why: "msgraph.Subscriptions.Forget: rows keyed by subscription id plus a user index"},
	},
	Link: itemLink,
}

// itemLink opens a mailbox item in Outlook on the web: an event in the
// calendar, a message by its id, a task in To Do ("" for contacts: Outlook
// on the web has no link to one contact).
func itemLink(_, kind, id string) string {
	switch kind {
	case "event":
		return "https://outlook.office.com/calendar/item/" + url.PathEscape(id)
	case "task":
		return "https://to-do.office.com/tasks/id/" + url.PathEscape(id) + "/details"
	case "email":
		return "https://outlook.office.com/mail/deeplink/read/" + url.PathEscape(id)
	}
	return ""
}

// customFields checks the mailbox half of custom field mappings.
type customFields struct{}

// Check is CheckCustom for a mapping's mailbox field.
func (customFields) Check(kind item.Kind, field string) error {
	return CheckCustom(kind, item.CustomField{Mailbox: field})
}

// Offered lists the free properties of kind and, where items carry them,
// an extended property ("extended:Name").
func (customFields) Offered(kind item.Kind) []string {
	free := CustomProperties(kind)
	if ExtendedSupported(kind) {
		free = append(free, item.ExtendedPrefix+"Name")
	}
	return free
}

// CalendarChoices implements side.CalendarChooser: Calendars, as choices.
func (s *Side) CalendarChoices(ctx context.Context) ([]side.Choice, error) {
	cals, err := s.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]side.Choice, len(cals))
	for i, c := range cals {
		out[i] = side.Choice{ID: c.ID, Name: c.Name, Default: c.Default}
	}
	return out, nil
}

var _ side.CalendarChooser = (*Side)(nil)

// Push is the mailbox's side.Pusher: Graph change notifications, checked
// against the stored subscriptions.
type Push struct {
	// Subscriptions checks subscription ids and clientState (required).
	Subscriptions *Subscriptions
	// Now is the clock (nil = time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

var _ side.Pusher = Push{}

// PushHandler implements side.Pusher with NotificationHandler.
func (p Push) PushHandler(enqueue func(ctx context.Context, user string) error) http.Handler {
	return NotificationHandler(NotificationOptions{Subscriptions: p.Subscriptions, Enqueue: enqueue, Now: p.Now, Logger: p.Logger})
}
