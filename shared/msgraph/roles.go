package msgraph

import (
	"context"
	"encoding/json"
	"github.com/crmsync/crmsync/shared/side"
)

// adminRoles are the Microsoft Entra built-in roles whose holders manage
// users and their access in the tenant, by role template id (the same in
// every tenant and language; Entra built-in roles reference): Global
// Administrator, Privileged Role Administrator, User Administrator.
var adminRoles = map[string]string{
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
}

// AdminRole returns the name of an administrator directory role the
// mailbox's user holds, directly or through a group, or "" for none: one
// GET of the user's transitive memberships cast to directory roles (Graph
// user-list-transitivememberof; needs User.Read for the signed-in user,
// User.Read.All or Directory.Read.All for another).
func (c *Client) AdminRole(ctx context.Context) (string, error) {
	raw, err := c.list(ctx, c.mailbox()+"/transitiveMemberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId")
	if err != nil {
		return "", err
	}
	for _, r := range raw {
		var role struct {
			DisplayName    string `json:"displayName"`
			RoleTemplateID string `json:"roleTemplateId"`
		}
		if err := json.Unmarshal(r, &role); err != nil {
			return "", malformed("transitiveMemberOf", err)
		}
		if name, ok := adminRoles[role.RoleTemplateID]; ok {
			return name, nil
		}
	}
	return "", nil
}

var _ side.AdminRights = (*Side)(nil)

// AdminRight implements side.AdminRights with the mailbox user's directory
// roles.
func (s *Side) AdminRight(ctx context.Context) (string, error) { return s.c.AdminRole(ctx) }
