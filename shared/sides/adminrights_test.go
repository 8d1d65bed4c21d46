package sides_test

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/shared/sides"
)

// TestAdminRights: whether a user may be made an organisation admin, read
// through their own connections from the local Salesforce and the local
// Graph as the real services answer: a Standard User in Salesforce with no
// directory role holds no right; a directory role that manages no users
// (Exchange Administrator) is none; Global Administrator in Microsoft Entra
// is one; so is Modify All Data from a Salesforce permission set, which is
// named first.
func TestAdminRights(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rights := sides.AdminRights{Opener: w.runner.Opener.(*sides.Opener)}
	check := func(step, want string) {
		t.Helper()
		got, err := rights.AdminRight(ctx, w.user)
		if err != nil || got != want {
			t.Errorf("%s: AdminRight = %q, %v; want %q", step, got, err, want)
		}
	}
	check("standard user, no role", "")
	if err := w.graph.AssignDirectoryRole(upn, "Exchange Administrator"); err != nil {
		t.Fatal(err)
	}
	check("Exchange Administrator", "")
	if err := w.graph.AssignDirectoryRole(upn, "Global Administrator"); err != nil {
		t.Fatal(err)
	}
	check("Global Administrator", "Microsoft 365: Global Administrator")
	if _, err := w.sf.AssignPermissionSet(w.sfID, "Data Steward", "PermissionsModifyAllData"); err != nil {
		t.Fatal(err)
	}
	check("Modify All Data", "Salesforce: Modify All Data")
	// A user with no connection holds no right, and no error is raised.
	if got, err := rights.AdminRight(ctx, "u-nobody"); err != nil || got != "" {
		t.Errorf("a user with no connection: %q, %v", got, err)
	}
}
