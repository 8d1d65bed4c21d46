// Package notifications is the HTTP function that receives the mailbox's
// change notifications (its webhook, side.Pusher: Graph's for Microsoft 365):
// the connector's handler checks each delivery is genuine, and this function
// asks for a sync session for the user whose mailbox changed.
package notifications

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/side"
)

// Requester enqueues a session for a user at once; pushes while it is queued
// or running coalesce into one follow-up (schedule.Scheduler.RequestNow).
type Requester interface {
	RequestNow(ctx context.Context, user string, reason schedule.Reason, now time.Time) error
}

// New returns the notifications function over the mailbox connector's push.
func New(push side.Pusher, req Requester, now func() time.Time) http.Handler {
	return push.PushHandler(func(ctx context.Context, user string) error {
		err := req.RequestNow(ctx, user, schedule.Push, now())
		if errors.Is(err, schedule.ErrDebounced) {
			return nil // coalesced: the outstanding session, or its follow-up, sees this change
		}
		return err
	})
}
