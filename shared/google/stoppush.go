package google

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/crmsync/crmsync/shared/fault"
)

// StopPush undoes the push a user's mailbox side set up, for account
// deletion while the user's token still works: each Calendar watch channel
// the events cursor holds (channels.stop) and, when the Gmail cursor says
// users.watch was called, the Gmail watch (users.stop). Every stop is tried;
// the error joins those that failed (a channel not stopped lapses at its
// expiry, and the push handler ignores a user who no longer exists).
func (c *Client) StopPush(ctx context.Context, eventCursor, gmailCursor string) error {
	var errs []error
	if cur, ok := parseEventCursor(eventCursor); ok {
		cals := make([]string, 0, len(cur.Watches))
		for cal := range cur.Watches {
			cals = append(cals, cal)
		}
		sort.Strings(cals) // one order, for logs and tests
		for _, cal := range cals {
			w := cur.Watches[cal]
			if w.ID == "" {
				continue
			}
			if err := c.do(ctx, "POST", c.cal+"/calendar/v3/channels/stop", map[string]string{"id": w.ID, "resourceId": w.ResourceID}, nil); err != nil && !fault.Is(err, fault.Gone) {
				// 404: the channel lapsed or was stopped already.
				errs = append(errs, fmt.Errorf("google: channels.stop of calendar %s: %w", cal, err))
			}
		}
	}
	if _, watched := cutGmailWatch(gmailCursor); watched > 0 {
		if err := c.do(ctx, "POST", c.gmail+"/gmail/v1/users/me/stop", nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("google: users.stop: %w", err))
		}
	}
	return errors.Join(errs...)
}
