package sides

import (
	"context"
	"errors"

	"github.com/crmsync/crmsync/shared/fault"
)

// AdminRights tells the dashboard whether a user holds an administrator
// right in a service they connected, before someone makes them an
// organisation admin: "Modify All Data" or "Manage Users" in Salesforce
// (from their profile or a permission set), or an administrator directory
// role in Microsoft Entra (Global, Privileged Role or User Administrator).
// Each is read with the user's own connection. It keeps nothing between
// calls.
type AdminRights struct {
	Opener *Opener
}

// AdminRight names the right the user holds ("Salesforce: Modify All
// Data", "Microsoft Entra: Global Administrator"), or "" for none. A
// service the user has not connected counts as no right; an error of one
// service is returned only when the other shows no right either.
func (a AdminRights) AdminRight(ctx context.Context, user string) (string, error) {
	var errs []error
	notConnected := func(err error) bool { return fault.ClassOf(err) == fault.Reconnect }
	if sf, err := a.Opener.OpenSalesforce(ctx, user); err == nil {
		right, err := sf.AdminPermission(ctx)
		if err == nil && right != "" {
			return "Salesforce: " + right, nil
		}
		if err != nil && !notConnected(err) {
			errs = append(errs, err)
		}
	} else if !notConnected(err) {
		errs = append(errs, err)
	}
	if c, err := a.Opener.GraphClient(ctx, user); err == nil {
		role, err := c.AdminRole(ctx)
		if err == nil && role != "" {
			return "Microsoft Entra: " + role, nil
		}
		if err != nil && !notConnected(err) {
			errs = append(errs, err)
		}
	} else if !notConnected(err) {
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}
