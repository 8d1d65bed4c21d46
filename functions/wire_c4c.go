package main

import (
	"context"
	"net/http"

	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
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

// c4cSAMLAdmin is the C4C SAML bearer admin provider: its JSON routes and
// the organisation admin's page (csrf: the session's form token).
func c4cSAMLAdmin(conns *connection.Store, csrf func(*http.Request) string) c4c.SAMLAdmin {
	return c4c.SAMLAdmin{Connections: conns, CSRFToken: csrf, Prefix: dashboard.Prefix + "/connect",
		Overview: dashboard.Prefix + "/overview", Static: dashboard.Prefix + "/static"}
}

// c4cAdminPages are the C4C provider's admin pages for the dashboard's
// organisation page.
func c4cAdminPages(p c4c.SAMLAdmin) []dashboard.AdminPage {
	var out []dashboard.AdminPage
	for _, ap := range p.AdminPages() {
		out = append(out, dashboard.AdminPage{Title: ap.Title, Path: ap.Path})
	}
	return out
}
