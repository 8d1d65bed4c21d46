package fakesalesforce

import (
	"fmt"
	"strings"
)

// Profiles and permission sets as a real org keeps them (Object Reference:
// Profile, PermissionSet, PermissionSetAssignment): every profile owns a
// permission set (IsOwnedByProfile, ProfileId) that carries its
// Permissions<Name> flags, and every user has a PermissionSetAssignment to
// their profile's set besides any permission set assigned to them, so one
// query over PermissionSetAssignment answers "does this user hold
// permission X" whether it comes from the profile or a permission set. Since
// Summer '20 only users with View Setup and Configuration, Assign Permission
// Sets or Manage Users may read PermissionSetAssignment and PermissionSet;
// for others the object does not exist (INVALID_TYPE).

// Standard profile names the server starts with.
const (
	ProfileSystemAdministrator = "System Administrator"
	ProfileStandardUser        = "Standard User"
	ProfileMinimumAccess       = "Minimum Access - Salesforce"
)

// permissionFields are the PermissionSet flags the server models.
var permissionFields = []string{"PermissionsModifyAllData", "PermissionsManageUsers", "PermissionsViewAllData",
	"PermissionsViewSetup", "PermissionsAssignPermissionSets", "PermissionsApiEnabled"}

// profilePermissions are the flags of the standard profiles' sets.
var profilePermissions = map[string][]string{
	ProfileSystemAdministrator: permissionFields,
	ProfileStandardUser:        {"PermissionsViewSetup", "PermissionsApiEnabled"},
	ProfileMinimumAccess:       {"PermissionsApiEnabled"},
}

// setupObjects are readable only with setup access.
var setupObjects = map[string]bool{"PermissionSet": true, "PermissionSetAssignment": true}

func permissionObjects() []Object {
	ps := []Field{
		{Name: "Name", Type: typeString, Label: "Permission Set Name", Length: 80, Required: true},
		{Name: "Label", Type: typeString, Label: "Permission Set Label", Length: 80, Required: true},
		{Name: "Description", Type: typeString, Label: "Description", Length: 255},
		{Name: "IsOwnedByProfile", Type: typeBoolean, Label: "Is Owned By Profile", ReadOnly: true, NotNull: true, Default: false},
		{Name: "ProfileId", Type: typeReference, Label: "Profile ID", ReferenceTo: []string{"Profile"}, RelationshipName: "Profile", ReadOnly: true},
	}
	for _, p := range permissionFields {
		ps = append(ps, Field{Name: p, Type: typeBoolean, Label: strings.TrimPrefix(p, "Permissions"), NotNull: true, Default: false})
	}
	return []Object{
		{Name: "Profile", KeyPrefix: "00e", Fields: []Field{
			{Name: "Name", Type: typeString, Label: "Name", Length: 255, Required: true},
			{Name: "UserType", Type: typeString, Label: "User Type", Length: 40, ReadOnly: true},
		}},
		{Name: "PermissionSet", KeyPrefix: "0PS", Fields: ps},
		{Name: "PermissionSetAssignment", KeyPrefix: "0Pa", Fields: []Field{
			{Name: "AssigneeId", Type: typeReference, Label: "Assignee ID", ReferenceTo: []string{"User"}, RelationshipName: "Assignee", Required: true, CreateOnly: true},
			{Name: "PermissionSetId", Type: typeReference, Label: "Permission Set ID", ReferenceTo: []string{"PermissionSet"}, RelationshipName: "PermissionSet", Required: true, CreateOnly: true},
			{Name: "IsActive", Type: typeBoolean, Label: "Active", ReadOnly: true, NotNull: true, Default: true},
		}},
	}
}

// seedProfiles makes the standard profiles and their permission sets;
// s.mu is held. sys is the account that owns the setup records.
func (s *Server) seedProfiles(sys *account) error {
	s.profiles = map[string]string{}
	s.profileSets = map[string]string{}
	for _, name := range []string{ProfileSystemAdministrator, ProfileStandardUser, ProfileMinimumAccess} {
		prof, err := s.insertRaw(sys, s.object("Profile"), map[string]any{"Name": name}, map[string]any{"UserType": "Standard"})
		if err != nil {
			return err
		}
		f := map[string]any{"Name": "X00e" + prof[3:], "Label": name}
		for _, p := range profilePermissions[name] {
			f[p] = true
		}
		set, err := s.insertRaw(sys, s.object("PermissionSet"), f, map[string]any{"IsOwnedByProfile": true, "ProfileId": prof})
		if err != nil {
			return err
		}
		s.profiles[name], s.profileSets[prof] = prof, set
	}
	return nil
}

// assignProfile puts a user on a profile: ProfileId and the assignment to
// the profile's permission set; s.mu is held.
func (s *Server) assignProfile(u *account, userID, profile string) error {
	prof := s.profiles[profile]
	if prof == "" {
		return fmt.Errorf("fakesalesforce: no profile %q", profile)
	}
	s.records[userID].f["ProfileId"] = prof
	_, err := s.insertRaw(u, s.object("PermissionSetAssignment"), map[string]any{"AssigneeId": userID, "PermissionSetId": s.profileSets[prof]}, nil)
	return err
}

// AssignPermissionSet creates a permission set with the given permissions
// (names as in permissionFields) and assigns it to a user, as an admin
// would in Setup; it returns the permission set's id.
func (s *Server) AssignPermissionSet(userID, name string, permissions ...string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return "", fmt.Errorf("fakesalesforce: no user %s", userID)
	}
	f := map[string]any{"Name": strings.ReplaceAll(name, " ", "_"), "Label": name}
	for _, p := range permissions {
		if !contains(permissionFields, p) {
			return "", fmt.Errorf("fakesalesforce: permission %q is not modelled (known: %s)", p, strings.Join(permissionFields, ", "))
		}
		f[p] = true
	}
	set, err := s.insertRaw(u, s.object("PermissionSet"), f, nil)
	if err != nil {
		return "", err
	}
	_, err = s.insertRaw(u, s.object("PermissionSetAssignment"), map[string]any{"AssigneeId": userID, "PermissionSetId": set}, nil)
	return set, err
}

// hasPermission reports whether a user holds a permission through any of
// their permission set assignments (their profile's included); s.mu is held.
func (s *Server) hasPermission(userID, permission string) bool {
	for _, a := range s.byObj["PermissionSetAssignment"] {
		if a.deleted || a.str("AssigneeId") != userID {
			continue
		}
		if set := s.records[a.str("PermissionSetId")]; set != nil && !set.deleted && set.f[permission] == true {
			return true
		}
	}
	return false
}

// setupAccess reports whether a user may read the setup objects.
func (s *Server) setupAccess(u *account) bool {
	for _, p := range []string{"PermissionsViewSetup", "PermissionsAssignPermissionSets", "PermissionsManageUsers"} {
		if s.hasPermission(u.id, p) {
			return true
		}
	}
	return false
}
