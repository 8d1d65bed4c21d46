package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// ErrNothingToConfirm is returned by ConfirmGuard when no guard issue of the
// kind is open: there is no held-back removal for a confirmation to release.
var ErrNothingToConfirm = errors.New("session: no guard issue of this kind is open")

// guardKey is the issue key of a kind's guard issue (it names no item).
func guardKey(kind item.Kind) string { return issueKey(kind, "", "") }

// ConfirmGuard records the user's confirmation of the removals a guard held
// back for kind. It is kept on the guard issue itself, so it costs a session
// no extra read (the session loads the open issues anyway), it only exists
// while there is something to confirm, and it goes away with the issue: the
// next session of the kind lets the removals through and clears the issue,
// or clears it because the side recovered. Either way it is used once.
func (s *State) ConfirmGuard(ctx context.Context, kind item.Kind, now time.Time) error {
	e, err := s.store.Get(ctx, IssuesTable, s.user, guardKey(kind))
	if errors.Is(err, tablestore.ErrNotFound) {
		return ErrNothingToConfirm
	}
	if err != nil {
		return err
	}
	if code, _ := e.Properties["Code"].(string); code != string(reconcile.GuardTripped) {
		return ErrNothingToConfirm
	}
	e.Properties["Confirmed"] = now.UTC()
	s.writes++
	// The ETag makes a confirmation of an issue that a session cleared
	// meanwhile fail instead of bringing the issue back.
	_, err = s.store.Update(ctx, IssuesTable, e, e.ETag)
	if errors.Is(err, tablestore.ErrNotFound) || errors.Is(err, tablestore.ErrPrecondition) {
		return fmt.Errorf("%w (it changed meanwhile; reload and try again)", ErrNothingToConfirm)
	}
	return err
}

// confirmedGuards returns the kinds whose guard issue the user confirmed.
func confirmedGuards(open []Issue) map[item.Kind]bool {
	out := map[item.Kind]bool{}
	for _, is := range open {
		if is.Code == string(reconcile.GuardTripped) && is.RecordID == "" && !is.Confirmed.IsZero() {
			out[is.Kind] = true
		}
	}
	return out
}
