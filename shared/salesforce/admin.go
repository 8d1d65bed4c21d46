package salesforce

import (
	"context"
	"errors"
	"github.com/crmsync/crmsync/shared/side"

	"github.com/crmsync/crmsync/shared/fault"
)

// Administrator permissions that let a Salesforce user be made an
// organisation admin in crmsync, in the words Setup shows them.
const (
	PermissionModifyAllData = "Modify All Data"
	PermissionManageUsers   = "Manage Users"
)

// AdminPermission reports which administrator permission the connected
// user holds — PermissionModifyAllData or PermissionManageUsers — or ""
// for neither. Salesforce keeps a profile's permissions in a permission set
// the profile owns, and assigns it to the profile's users like any other
// (Object Reference: PermissionSet, PermissionSetAssignment), so one query
// over the user's assignments covers profile and permission sets. A user
// who may not read PermissionSetAssignment (it needs View Setup and
// Configuration, Assign Permission Sets or Manage Users; the object is then
// INVALID_TYPE) holds neither.
func (s *Side) AdminPermission(ctx context.Context) (string, error) {
	if err := s.resolveUser(ctx); err != nil {
		return "", err
	}
	user, err := quote(s.user, false)
	if err != nil {
		return "", err
	}
	recs, err := s.c.Collect(ctx, "SELECT Id, PermissionSet.PermissionsModifyAllData, PermissionSet.PermissionsManageUsers FROM PermissionSetAssignment WHERE AssigneeId = "+user+
		" AND (PermissionSet.PermissionsModifyAllData = true OR PermissionSet.PermissionsManageUsers = true)")
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code == "INVALID_TYPE" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	manage := ""
	for _, r := range recs {
		set, _ := r["PermissionSet"].(map[string]any)
		if set["PermissionsModifyAllData"] == true {
			return PermissionModifyAllData, nil
		}
		if set["PermissionsManageUsers"] == true {
			manage = PermissionManageUsers
		}
	}
	return manage, nil
}

var _ side.AdminRights = (*Side)(nil)

// AdminRight implements side.AdminRights.
func (s *Side) AdminRight(ctx context.Context) (string, error) { return s.AdminPermission(ctx) }
