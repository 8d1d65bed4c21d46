package fakegraph

import (
	"fmt"
	"strings"
)

// Directory roles as Microsoft Graph lists a user's memberships
// (user-list-transitivememberof, user-list-memberof; resources/directoryrole):
// GET /users/{id}/transitiveMemberOf (and memberOf) lists directory objects
// with their @odata.type; the cast segment /microsoft.graph.directoryRole
// keeps only the activated directory roles, each with id, displayName,
// description and the roleTemplateId that names the role whatever its
// display language. Roles are assigned here by tests and the demo seed.

// roleTemplates are the built-in roles' template ids (Microsoft Entra
// built-in roles reference).
var roleTemplates = map[string]string{
	"Global Administrator":            "62e90394-69f5-4237-9190-012177145e10",
	"Privileged Role Administrator":   "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"User Administrator":              "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"Exchange Administrator":          "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Global Reader":                   "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	"Helpdesk Administrator":          "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"Directory Readers":               "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Application Administrator":       "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
}

// AssignDirectoryRole gives the user of a mailbox a built-in directory
// role by its display name.
func (s *Server) AssignDirectoryRole(upn, role string) error {
	if _, ok := roleTemplates[role]; !ok {
		return fmt.Errorf("fakegraph: unknown directory role %q", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxFor(upn)
	if m == nil {
		return fmt.Errorf("fakegraph: no mailbox %s", upn)
	}
	for _, r := range m.roles {
		if r == role {
			return nil
		}
	}
	m.roles = append(m.roles, role)
	return nil
}

// memberOf answers /memberOf and /transitiveMemberOf, with or without the
// directoryRole cast; the roles' ids are stable per template.
func (c *call) memberOf(cast string) response {
	if c.method != "GET" {
		return c.notAllowed()
	}
	if cast != "" && !strings.EqualFold(cast, "microsoft.graph.directoryRole") {
		if strings.EqualFold(cast, "microsoft.graph.group") || strings.EqualFold(cast, "microsoft.graph.administrativeUnit") {
			return c.page(nil)
		}
		return fail(badRequest("BadRequest", "Resource not found for the segment '"+cast+"'."))
	}
	items := []map[string]any{}
	for _, role := range c.m.roles {
		tmpl := roleTemplates[role]
		items = append(items, c.q.project(map[string]any{
			"@odata.type": "#microsoft.graph.directoryRole", "id": "d" + tmpl[1:], "displayName": role,
			"description": "Built-in role " + role + ".", "roleTemplateId": tmpl, "deletedDateTime": nil,
		}))
	}
	return c.page(items)
}
