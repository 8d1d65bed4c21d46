package salesforce

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
)

// TestAdminPermission: the administrator permission of the connected user,
// from their profile or from a permission set, read with their own
// credentials from the local Salesforce as a real org answers: a System
// Administrator holds Modify All Data; a Standard User none, until a
// permission set gives Manage Users; a user without setup access (who
// cannot even see PermissionSetAssignment) none.
func TestAdminPermission(t *testing.T) {
	l := newLocal(t, fakesalesforce.Options{}, Options{})
	sideFor := func(username string, u fakesalesforce.User) (*Side, string) {
		t.Helper()
		u.Username, u.Email, u.Password, u.LastName = username, username, "pw", "Person"
		id, err := l.srv.AddUser(u)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(Options{Tokens: Static(l.tokenFor(id)), RetryBase: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		side, err := NewSide(c, SideOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return side, id
	}
	admin, _ := sideFor("admin@example.com", fakesalesforce.User{Admin: true})
	standard, standardID := sideFor("rep@example.com", fakesalesforce.User{})
	minimum, minimumID := sideFor("temp@example.com", fakesalesforce.User{Profile: fakesalesforce.ProfileMinimumAccess})
	check := func(name string, s *Side, want string) {
		t.Helper()
		got, err := s.AdminPermission(t.Context())
		if err != nil || got != want {
			t.Errorf("%s: AdminPermission = %q, %v; want %q", name, got, err, want)
		}
	}
	check("system administrator", admin, PermissionModifyAllData)
	check("standard user", standard, "")
	check("minimum access", minimum, "")
	if _, err := l.srv.AssignPermissionSet(standardID, "User Management", "PermissionsManageUsers"); err != nil {
		t.Fatal(err)
	}
	check("standard user with the User Management permission set", standard, PermissionManageUsers)
	// Manage Users also opens the setup objects to a user without setup
	// access.
	if _, err := l.srv.AssignPermissionSet(minimumID, "Data Steward", "PermissionsModifyAllData", "PermissionsManageUsers"); err != nil {
		t.Fatal(err)
	}
	check("minimum access with Modify All Data", minimum, PermissionModifyAllData)
}
