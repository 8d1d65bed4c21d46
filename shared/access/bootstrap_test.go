package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
)

func TestBootstrapMakesListedUsersOrgAdmins(t *testing.T) {
	ctx := context.Background()
	store := access.NewStore(openStore(t), time.Now)
	b := access.NewBootstrap(store, []string{" Admin@A.example ", ""})
	admin := access.Principal{User: "u-admin", Org: "org-a"}
	user := access.Principal{User: "u-user", Org: "org-a"}
	for _, tc := range []struct {
		p     access.Principal
		email string
		want  bool
	}{
		{admin, "admin@a.example", true},
		{admin, "ADMIN@a.example", false}, // already granted: idempotent
		{user, "user@a.example", false},
		{user, "", false},
	} {
		got, err := b.Apply(ctx, tc.p, tc.email)
		if err != nil || got != tc.want {
			t.Errorf("Apply(%s, %q) = %v, %v; want %v", tc.p.User, tc.email, got, err, tc.want)
		}
	}
	checker := access.NewChecker(store)
	if err := checker.Check(ctx, admin, access.GrantsWrite, access.Org("org-a")); err != nil {
		t.Errorf("the bootstrap admin cannot manage grants of the org: %v", err)
	}
	if err := checker.Check(ctx, admin, access.GrantsWrite, access.Org("org-b")); err == nil {
		t.Error("the bootstrap admin may manage another org")
	}
	if err := checker.Check(ctx, user, access.StatusRead, access.Org("org-a")); err == nil {
		t.Error("an unlisted user became admin")
	}
	if access.NewBootstrap(store, nil).Listed("admin@a.example") {
		t.Error("an empty list names someone")
	}
}
