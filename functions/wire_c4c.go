package main

import (
	"context"

	"github.com/crmsync/crmsync/shared/c4c"
)

// c4cEmail is the address a user's C4C employee is found by: the one of
// their crmsync profile (their sign-in address).
func (a *app) c4cEmail(ctx context.Context, user string) (string, error) {
	p, err := a.accounts.Profile(ctx, user)
	if err != nil {
		return "", err
	}
	return p.Email, nil
}

// matchC4CEmployee finds and keeps the C4C employee of a user who just
// connected, so their first session syncs their own records. A failure
// only logs: the session looks again and reports the same clear error.
func (a *app) matchC4CEmployee(ctx context.Context, user string) {
	op, ok := a.opener.CRM.(*c4c.Opener)
	if !ok {
		return
	}
	if _, err := op.MatchEmployee(ctx, a.conns, user); err != nil {
		a.log.WarnContext(ctx, "C4C employee of the user not matched; their sessions will say why", "user", user, "err", err)
	}
}
