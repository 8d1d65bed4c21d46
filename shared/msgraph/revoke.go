package msgraph

import (
	"context"

	"github.com/crmsync/crmsync/shared/connection"
)

// Revoker is the Microsoft half of account deletion, and it
// deliberately calls nothing.
//
// The Microsoft identity platform (v2.0) has no endpoint that revokes one
// refresh token. The only remote lever, Graph's revokeSignInSessions,
// invalidates every refresh token and browser session the user has with
// every application — Outlook, Teams, everything — and needs a
// User.RevokeSessions.All permission crmsync does not ask for. Doing that as a
// side effect of leaving crmsync would sign the person out of their whole
// work life, so crmsync never does it.
//
// What revokes crmsync's access instead: the account deletion removes the
// only copy of the sealed refresh token, so nobody can use it, and it expires
// unused after its inactivity lifetime (90 days). The user can remove
// crmsync's consent at https://myapps.microsoft.com (or an admin under
// Enterprise applications), which invalidates the grant at once. For
// app-only (client-credentials) mailboxes there is no per-user token at all:
// the admin removes the mailbox from the application access policy or RBAC
// scope.
type Revoker struct{}

var _ connection.Revoker = Revoker{}

// Revoke does nothing and succeeds; see the type's documentation for why
// deleting the sealed token is the revocation.
func (Revoker) Revoke(context.Context, string) error { return nil }
