package dashboard_test

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/dashboard"
)

// TestGrantAPIOrgAdminNeedsAnAdminRight: the grant API holds the form's
// rule: making a user organisation admin is refused (422, not_eligible, in
// plain words) while they hold no administrator right in Salesforce or
// Microsoft Entra, and goes through once the local Salesforce gives them
// Manage Users; other roles are not checked.
func TestGrantAPIOrgAdminNeedsAnAdminRight(t *testing.T) {
	f := newFixture(t)
	path := dashboard.Prefix + "/v1/orgs/" + orgA + "/grants"
	body := `{"user":"` + f.user.User + `","role":"orgadmin"}`
	code, got, _ := f.call(t, f.admin, "POST", path, body, true)
	if code != 422 || !strings.Contains(got, "not_eligible") || !strings.Contains(got, `Manage Users`) {
		t.Fatalf("orgadmin for a user without a right: %d %s, want 422 not_eligible", code, got)
	}
	if err := accessCheck(f, f.user, false); err != nil {
		t.Error(err)
	}
	if code, got, _ := f.call(t, f.admin, "POST", path, `{"user":"`+f.user.User+`","role":"support"}`, true); code >= 300 {
		t.Errorf("support for the same user: %d %s, want it granted", code, got)
	}
	if _, err := f.sf.AssignPermissionSet(f.sfID, "User Management", "PermissionsManageUsers"); err != nil {
		t.Fatal(err)
	}
	if code, got, _ := f.call(t, f.admin, "POST", path, body, true); code >= 300 {
		t.Fatalf("orgadmin once they hold Manage Users: %d %s", code, got)
	}
	if err := accessCheck(f, f.user, true); err != nil {
		t.Error(err)
	}
}
