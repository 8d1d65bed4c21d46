package access

import "slices"

// Role is a named set of permissions.
type Role struct {
	Name        string
	Permissions []Permission
}

// Has reports whether the role carries p.
func (r Role) Has(p Permission) bool { return slices.Contains(r.Permissions, p) }

// Built-in role names.
const (
	// RoleSelf is granted to every user on their own account at sign-up.
	RoleSelf = "self"
	// RoleOrgAdmin manages the users of an org; granted on the org group.
	RoleOrgAdmin = "orgadmin"
	// RoleSupport reads sync status and issues, never secrets or settings.
	RoleSupport = "support"
)

// builtinRoles are the only roles; a grant naming another role is invalid.
var builtinRoles = []Role{
	{Name: RoleSelf, Permissions: []Permission{
		SyncRead, SyncWrite, SettingsWrite, ConnectionsWrite, StatusRead, IssuesRead, AccountDelete,
		AddinUse, AddinWrite, TrackingUse,
	}},
	// An org admin provisions and pauses users and changes their settings, but
	// does not connect accounts for them: connections carry each user's own
	// credentials, so only the user makes them.
	{Name: RoleOrgAdmin, Permissions: []Permission{
		UsersProvision, SyncRead, SyncWrite, SettingsWrite, GrantsWrite, StatusRead, IssuesRead, AccountDelete,
	}},
	{Name: RoleSupport, Permissions: []Permission{StatusRead, IssuesRead}},
}

// BuiltinRole returns the named built-in role.
func BuiltinRole(name string) (Role, bool) {
	for _, r := range builtinRoles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// Roles returns the built-in roles.
func Roles() []Role {
	out := make([]Role, len(builtinRoles))
	for i, r := range builtinRoles {
		out[i] = Role{Name: r.Name, Permissions: slices.Clone(r.Permissions)}
	}
	return out
}
