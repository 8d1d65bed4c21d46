package access_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var clock = func() time.Time { return time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC) }

func TestStoreAddListRemove(t *testing.T) {
	ctx := context.Background()
	tables := openStore(t)
	store := access.NewStore(tables, clock)
	admin := access.Principal{User: "u-admin", Org: "org-a"}
	self := access.Grant{Principal: access.Principal{User: "u-1", Org: "org-a"}, Role: access.RoleSelf, Resource: access.User("org-a", "u-1")}
	orgAdmin := access.Grant{Principal: admin, Role: access.RoleOrgAdmin, Resource: access.Org("org-a")}
	support := access.Grant{Principal: access.Principal{User: "u-ops", Org: "org-ops"}, Role: access.RoleSupport, Resource: access.Org("org-a")}
	elsewhere := access.Grant{Principal: access.Principal{User: "u-ops", Org: "org-ops"}, Role: access.RoleSelf, Resource: access.User("org-ops", "u-ops")}

	for _, g := range []access.Grant{self, orgAdmin, support, elsewhere} {
		created, err := store.Add(ctx, admin, g)
		if err != nil || !created {
			t.Fatalf("Add(%v) = %v, %v; want created", g, created, err)
		}
	}
	if created, err := store.Add(ctx, admin, self); err != nil || created {
		t.Errorf("second Add = %v, %v; want not created, no error", created, err)
	}

	sortGrants := cmpopts.SortSlices(func(a, b access.Grant) bool { return a.Principal.User+a.Role < b.Principal.User+b.Role })
	got, err := store.ListOrg(ctx, "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]access.Grant{self, orgAdmin, support}, got, sortGrants); diff != "" {
		t.Errorf("ListOrg (-want +got):\n%s", diff)
	}
	got, err = store.ListPrincipal(ctx, "u-ops")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]access.Grant{support, elsewhere}, got, sortGrants); diff != "" {
		t.Errorf("ListPrincipal (-want +got):\n%s", diff)
	}

	if err := store.Remove(ctx, admin, support); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := store.Remove(ctx, admin, support); !errors.Is(err, access.ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
	checker := access.NewChecker(store)
	if err := checker.Check(ctx, support.Principal, access.StatusRead, access.User("org-a", "u-1")); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Check after removal = %v, want ErrDenied", err)
	}

	entries, err := store.Audit(ctx, "org-a", 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Grant.Role+" by "+e.Actor.User)
	}
	// Four changes in org-a (three adds and one removal); the org-ops grant
	// is audited in its own org. All carry the same clock, so order is not
	// asserted.
	want := []string{"grant.add orgadmin by u-admin", "grant.add self by u-admin", "grant.add support by u-admin", "grant.remove support by u-admin"}
	if diff := cmp.Diff(want, actions, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

func TestStoreRejectsMalformedGrants(t *testing.T) {
	store := access.NewStore(openStore(t), clock)
	p := access.Principal{User: "u-1", Org: "org-a"}
	tests := []struct {
		name string
		g    access.Grant
	}{
		{"unknown role", access.Grant{Principal: p, Role: "root", Resource: access.Org("org-a")}},
		{"separator in user id", access.Grant{Principal: access.Principal{User: "u|1", Org: "org-a"}, Role: access.RoleSelf, Resource: access.User("org-a", "u|1")}},
		{"slash in org id", access.Grant{Principal: p, Role: access.RoleSelf, Resource: access.User("org/a", "u-1")}},
		{"empty principal", access.Grant{Role: access.RoleSelf, Resource: access.User("org-a", "u-1")}},
		{"user resource without user", access.Grant{Principal: p, Role: access.RoleSelf, Resource: access.Resource{Kind: access.KindUser, Org: "org-a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := store.Add(context.Background(), p, tt.g); !errors.Is(err, access.ErrInvalid) {
				t.Errorf("Add = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestStoreDeleteUserLeavesNoRow(t *testing.T) {
	ctx := context.Background()
	tables := openStore(t)
	store := access.NewStore(tables, clock)
	sys := access.Principal{}
	u := access.Principal{User: "u-gone", Org: "org-a"}
	keep := access.Principal{User: "u-keep", Org: "org-a"}
	ops := access.Principal{User: "u-ops", Org: "org-b"}
	for _, add := range []struct {
		actor access.Principal
		g     access.Grant
	}{
		{sys, access.Grant{Principal: u, Role: access.RoleSelf, Resource: access.User("org-a", "u-gone")}},
		{sys, access.Grant{Principal: u, Role: access.RoleOrgAdmin, Resource: access.Org("org-a")}},
		{sys, access.Grant{Principal: u, Role: access.RoleSupport, Resource: access.Org("org-b")}},
		{sys, access.Grant{Principal: keep, Role: access.RoleOrgAdmin, Resource: access.User("org-a", "u-gone")}},
		// Changes the deleted user made to other users' grants, in both
		// orgs the user has grants in.
		{u, access.Grant{Principal: keep, Role: access.RoleSelf, Resource: access.User("org-a", "u-keep")}},
		{u, access.Grant{Principal: ops, Role: access.RoleSupport, Resource: access.User("org-b", "u-ops")}},
	} {
		if _, err := store.Add(ctx, add.actor, add.g); err != nil {
			t.Fatal(err)
		}
	}
	removed := access.Grant{Principal: ops, Role: access.RoleSupport, Resource: access.Org("org-a")}
	if _, err := store.Add(ctx, u, removed); err != nil {
		t.Fatal(err)
	}
	if err := store.Remove(ctx, u, removed); err != nil {
		t.Fatal(err)
	}
	admin := keep
	if err := store.DeleteUser(ctx, admin, "org-a", "u-gone"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, table := range []string{access.GrantsTable, access.GrantIndexTable, access.AuditTable} {
		for _, e := range rows(t, tables, table) {
			if mentions(e, "u-gone") {
				t.Errorf("table %s still names the deleted user: %s/%s %v", table, e.PartitionKey, e.RowKey, e.Properties)
			}
		}
	}
	got, err := store.ListPrincipal(ctx, "u-keep")
	if err != nil {
		t.Fatal(err)
	}
	if want := []access.Grant{{Principal: keep, Role: access.RoleSelf, Resource: access.User("org-a", "u-keep")}}; !cmp.Equal(got, want) {
		t.Errorf("u-keep grants = %v, want %v (its self grant only)", got, want)
	}
	// The other users' trails survive, with the deleted actor tombstoned,
	// and the deletion itself is on record without naming the user.
	for _, tt := range []struct {
		org  string
		want []string
	}{
		{"org-a", []string{
			"account.delete  on deleted-user by u-keep",
			"grant.add self on u-keep by deleted-user",
			"grant.add support on org by deleted-user",
			"grant.remove support on org by deleted-user",
		}},
		{"org-b", []string{"grant.add support on u-ops by deleted-user"}},
	} {
		entries, err := store.Audit(ctx, tt.org, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			on := e.Grant.Resource.User
			if on == "" {
				on = "org"
			}
			got = append(got, e.Action+" "+e.Grant.Role+" on "+on+" by "+e.Actor.User)
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("audit of %s after deletion (-want +got):\n%s", tt.org, diff)
		}
	}
	// A rerun (an interrupted deletion is finished that way) changes nothing.
	before := rows(t, tables, access.AuditTable)
	if err := store.DeleteUser(ctx, admin, "org-a", "u-gone"); err != nil {
		t.Fatalf("second DeleteUser: %v", err)
	}
	if got, want := len(rows(t, tables, access.AuditTable)), len(before); got != want {
		t.Errorf("audit rows after a second DeleteUser = %d, want %d", got, want)
	}
}

// mentions reports whether id appears in a row's keys or any property value.
func mentions(e tablestore.Entity, id string) bool {
	if strings.Contains(e.PartitionKey, id) || strings.Contains(e.RowKey, id) {
		return true
	}
	for _, v := range e.Properties {
		if strings.Contains(fmt.Sprint(v), id) {
			return true
		}
	}
	return false
}
