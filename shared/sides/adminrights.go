package sides

import (
	"context"
	"errors"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/side"
)

// AdminRights tells the dashboard whether a user holds an administrator
// right in a service they connected, before someone makes them an
// organisation admin: for Salesforce "Modify All Data" or "Manage Users"
// (from their profile or a permission set), for Microsoft Entra an
// administrator directory role (Global, Privileged Role or User
// Administrator). Each side that has the ability (side.AdminRights) is
// asked with the user's own connection. It keeps nothing between calls.
type AdminRights struct {
	Opener *Opener
}

// AdminRight names the right the user holds, after the service's name
// ("Salesforce: Modify All Data", "Microsoft 365: Global Administrator"),
// or "" for none. A service the user has not connected counts as no right;
// an error of one service is returned only when the other shows no right
// either.
func (a AdminRights) AdminRight(ctx context.Context, user string) (string, error) {
	var errs []error
	notConnected := func(err error) bool { return fault.ClassOf(err) == fault.Reconnect }
	ask := func(name string, s any, err error) string {
		if err != nil {
			if !notConnected(err) {
				errs = append(errs, err)
			}
			return ""
		}
		r, ok := s.(side.AdminRights)
		if !ok {
			return ""
		}
		right, err := r.AdminRight(ctx)
		if err != nil && !notConnected(err) {
			errs = append(errs, err)
		}
		if right == "" {
			return ""
		}
		return name + ": " + right
	}
	if a.Opener.CRM != nil {
		crm, err := a.Opener.OpenCRM(ctx, user, nil)
		if right := ask(a.Opener.CRM.Connector().Name, crm, err); right != "" {
			return right, nil
		}
	}
	if a.Opener.Mailbox != nil {
		mbx, err := a.Opener.OpenMailbox(ctx, user, nil)
		if right := ask(a.Opener.Mailbox.Connector().Name, mbx, err); right != "" {
			return right, nil
		}
	}
	return "", errors.Join(errs...)
}
