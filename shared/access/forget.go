package access

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/crmsync/crmsync/shared/tablestore"
)

// DeletedUser stands in for a deleted user in rows that are about someone
// else but name the deleted user as the one who acted (a grant's GrantedBy,
// an audit entry's actor): the other users' trails survive, and nothing in
// them identifies the person who is gone.
const DeletedUser = "deleted-user"

// DeleteUser forgets user in every org where the user holds or held a grant
// (the grant index) and in org, the user's own: grants held by or on the user
// and audit entries about the user are deleted, and where another user's
// grant or audit entry names the user as its actor, the actor becomes
// DeletedUser. It then records one "account.delete" entry in org, by actor,
// about DeletedUser. It is idempotent: the index rows go last, so a rerun
// after an interruption finds every org again.
func (s *Store) DeleteUser(ctx context.Context, actor Principal, org, user string) error {
	if err := validID("user", user); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	orgs, err := s.keys(ctx, GrantIndexTable, user, "")
	if err != nil {
		return err
	}
	if org != "" && !slices.Contains(orgs, org) {
		orgs = append(orgs, org)
	}
	removed := false
	for _, o := range orgs {
		// Grants first: the principal rows ("p|…") sort before the resource
		// rows, so the user's access ends before the admin view changes.
		for _, table := range []string{GrantsTable, AuditTable} {
			n, err := s.forget(ctx, table, o, user)
			if err != nil {
				return err
			}
			removed = removed || (table == GrantsTable && n > 0)
		}
	}
	for _, o := range orgs {
		if err := s.tables.Delete(ctx, GrantIndexTable, user, o, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return fmt.Errorf("access: removing grant index: %w", err)
		}
	}
	if !removed || org == "" {
		return nil
	}
	if actor.User == user {
		actor.User = DeletedUser
	}
	gone := Principal{User: DeletedUser, Org: org}
	return s.audit(ctx, actor, "account.delete", Grant{Principal: gone, Resource: User(org, DeletedUser)}, s.now())
}

// forget deletes the rows of one org partition that are about user (as
// principal or as resource) and puts DeletedUser in place of user as the
// actor of the others. It returns how many rows it deleted.
func (s *Store) forget(ctx context.Context, table, org, user string) (int, error) {
	var about, acted []tablestore.Entity
	err := s.scan(ctx, table, org, "", func(e tablestore.Entity) {
		str := func(k string) string { v, _ := e.Properties[k].(string); return v }
		switch {
		case str("PrincipalUser") == user || str("ResourceUser") == user:
			about = append(about, e)
		case str("GrantedBy") == user:
			acted = append(acted, e)
		}
	})
	if err != nil {
		return 0, err
	}
	for _, e := range about {
		if err := s.tables.Delete(ctx, table, e.PartitionKey, e.RowKey, "*"); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return 0, fmt.Errorf("access: deleting %s row of a deleted user: %w", table, err)
		}
	}
	for _, e := range acted {
		e.Properties["GrantedBy"] = DeletedUser
		// The ETag read above: a row another deletion removed meanwhile
		// stays removed rather than coming back.
		if _, err := s.tables.Update(ctx, table, e, e.ETag); err != nil && !errors.Is(err, tablestore.ErrNotFound) {
			return 0, fmt.Errorf("access: replacing a deleted actor in %s: %w", table, err)
		}
	}
	return len(about), nil
}
