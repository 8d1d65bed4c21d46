package schedule

import (
	"context"
	"errors"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// Plan is the plan a user is enrolled on, "" when the user is not enrolled.
// The schedule row is where a user's plan is stored, once: the tick needs it
// for every due user, and everything else (settings, the dashboard) reads it
// from here.
func (s *Scheduler) Plan(ctx context.Context, user string) (string, error) {
	en, err := s.Get(ctx, user)
	if errors.Is(err, tablestore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return en.Plan, nil
}
