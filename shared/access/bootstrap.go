package access

import (
	"context"
	"fmt"
	"strings"
)

// BootstrapActor is the actor the audit log names for a grant made by
// Bootstrap (no person made it).
var BootstrapActor = Principal{User: "bootstrap-admin-emails"}

// Bootstrap makes an organisation's first admins: a deployment names their
// e-mail addresses in a setting, and a user signing in with one of them (as
// the identity provider states it) gets the org admin role on their own
// organisation. Without it no path outside tests grants the first orgadmin;
// from then on admins grant roles from the dashboard.
type Bootstrap struct {
	grants *Store
	emails map[string]bool
}

// NewBootstrap returns a Bootstrap over store for the addresses in emails
// (compared case-insensitively); an empty list makes no one admin.
func NewBootstrap(store *Store, emails []string) *Bootstrap {
	b := &Bootstrap{grants: store, emails: map[string]bool{}}
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			b.emails[e] = true
		}
	}
	return b
}

// Listed reports whether email is one of the bootstrap admin addresses.
func (b *Bootstrap) Listed(email string) bool {
	return b != nil && email != "" && b.emails[strings.ToLower(strings.TrimSpace(email))]
}

// Apply grants p the org admin role on p's organisation when email is
// listed. It is idempotent (a grant that exists stays as it is), so it runs
// at every sign-in: an admin whose role was removed by mistake gets it back
// by signing in, as long as the setting names them. granted reports a new
// grant.
func (b *Bootstrap) Apply(ctx context.Context, p Principal, email string) (granted bool, err error) {
	if !b.Listed(email) {
		return false, nil
	}
	granted, err = b.grants.Add(ctx, BootstrapActor, Grant{Principal: p, Role: RoleOrgAdmin, Resource: Org(p.Org)})
	if err != nil {
		return false, fmt.Errorf("access: granting the bootstrap admin role: %w", err)
	}
	return granted, nil
}
