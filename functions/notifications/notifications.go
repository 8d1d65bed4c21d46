// Package notifications is the HTTP function that receives Microsoft Graph
// change notifications (the mailbox webhook): it answers the validation
// handshake, checks each notification's subscription, clientState and tenant
// (the subscription owner's, when subs knows it: msgraph.SubscriptionOptions
// Tenants), and asks for a sync session for the user whose mailbox changed.
package notifications

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/schedule"
)

// Requester enqueues a session for a user at once; pushes while it is queued
// or running coalesce into one follow-up (schedule.Scheduler.RequestNow).
type Requester interface {
	RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error
}

// New returns the notifications function.
func New(log *slog.Logger, subs *msgraph.Subscriptions, req Requester, now func() time.Time) http.Handler {
	return msgraph.NotificationHandler(msgraph.NotificationOptions{
		Subscriptions: subs,
		Enqueue: func(ctx context.Context, user string) error {
			err := req.RequestNow(ctx, user, schedule.Push, now())
			if errors.Is(err, schedule.ErrDebounced) {
				return nil // coalesced: the outstanding session, or its follow-up, sees this change
			}
			return err
		},
		Now:    now,
		Logger: log.With("function", "notifications"),
	})
}
