package access_test

import (
	"context"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/access/accesstest"
)

func TestCheck(t *testing.T) {
	const a, b = accesstest.OrgA, accesstest.OrgB
	user := access.Principal{User: accesstest.TheUser, Org: a}
	admin := access.Principal{User: accesstest.TheAdmin, Org: a}
	support := access.Principal{User: accesstest.Supporter, Org: accesstest.OrgOps}
	checker := access.NewChecker(accesstest.FixtureGrants())
	tests := []struct {
		name     string
		p        access.Principal
		perm     access.Permission
		resource access.Resource
		allowed  bool
	}{
		{"anonymous is denied everything", access.Principal{}, access.SyncRead, access.User(a, accesstest.TheUser), false},
		{"self reads own sync", user, access.SyncRead, access.User(a, accesstest.TheUser), true},
		{"self connects own accounts", user, access.ConnectionsWrite, access.User(a, accesstest.TheUser), true},
		{"self cannot touch a peer", user, access.SyncRead, access.User(a, accesstest.ThePeer), false},
		{"self cannot administer the org", user, access.GrantsWrite, access.Org(a), false},
		{"self in another org's clothes is denied", access.Principal{User: accesstest.TheUser, Org: b}, access.SyncRead, access.User(a, accesstest.TheUser), false},
		{"org admin changes a user's settings", admin, access.SettingsWrite, access.User(a, accesstest.TheUser), true},
		{"org admin provisions", admin, access.UsersProvision, access.Org(a), true},
		{"org admin never connects for a user", admin, access.ConnectionsWrite, access.User(a, accesstest.TheUser), false},
		{"org admin stays in the org", admin, access.SettingsWrite, access.User(b, accesstest.OtherAdmin), false},
		{"support reads status", support, access.StatusRead, access.User(a, accesstest.TheUser), true},
		{"support reads issues", support, access.IssuesRead, access.User(a, accesstest.ThePeer), true},
		{"support cannot change settings", support, access.SettingsWrite, access.User(a, accesstest.TheUser), false},
		{"support cannot connect", support, access.ConnectionsWrite, access.User(a, accesstest.TheUser), false},
		{"support has no reach outside the org", support, access.StatusRead, access.User(b, accesstest.OtherAdmin), false},
		{"unknown permission is denied", admin, access.Permission("secrets.read"), access.User(a, accesstest.TheUser), false},
		{"malformed resource is denied", admin, access.SyncRead, access.Resource{Kind: "planet", Org: a}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checker.Check(context.Background(), tt.p, tt.perm, tt.resource)
			if got := err == nil; got != tt.allowed {
				t.Fatalf("Check = %v, want allowed=%v", err, tt.allowed)
			}
			if err != nil && !errors.Is(err, access.ErrDenied) {
				t.Errorf("Check error %v is not ErrDenied", err)
			}
		})
	}
}

func TestNoRoleGrantsSecretsOrGivesSupportWrites(t *testing.T) {
	for _, r := range access.Roles() {
		for _, p := range r.Permissions {
			if !p.Valid() {
				t.Errorf("role %s carries unknown permission %q", r.Name, p)
			}
		}
	}
	support, _ := access.BuiltinRole(access.RoleSupport)
	if got, want := len(support.Permissions), 2; got != want || !support.Has(access.StatusRead) || !support.Has(access.IssuesRead) {
		t.Errorf("support permissions = %v, want exactly status.read and issues.read", support.Permissions)
	}
}
