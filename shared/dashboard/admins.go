package dashboard

import (
	"context"
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/access"
)

// AdminRights tells whether a user holds an administrator right in a
// service they connected (sides.AdminRights): the right's name in plain
// words ("Salesforce: Modify All Data"), or "" for none.
type AdminRights interface {
	AdminRight(ctx context.Context, user string) (string, error)
}

// orgAdminRefusal says, in plain words, why a user may not be made an
// organisation admin ("" when they may): an organisation admin manages
// every user's sync, so only someone who already administers the CRM or the
// directory is eligible — "Modify All Data" or "Manage Users" in
// Salesforce, or an administrator role in Microsoft Entra. Other roles, and
// the bootstrap admins named in the settings, are not checked here.
func (h *Handler) orgAdminRefusal(r *http.Request, gr access.GrantRequest) string {
	if gr.Role != access.RoleOrgAdmin || h.d.AdminRights == nil {
		return ""
	}
	who := strings.TrimSpace(r.PostFormValue("email"))
	right, err := h.d.AdminRights.AdminRight(r.Context(), gr.User)
	if err != nil {
		h.d.Log.WarnContext(r.Context(), "dashboard: checking administrator rights failed", "user", gr.User, "err", err)
		return "we could not check " + who + "'s administrator rights in Salesforce or Microsoft 365 just now. Try again in a few minutes."
	}
	if right == "" {
		return who + " cannot be made an organisation admin: they need \"Modify All Data\" or \"Manage Users\" in Salesforce, " +
			"or an administrator role (Global Administrator, Privileged Role Administrator or User Administrator) in Microsoft Entra, " +
			"in an account they have connected to crmsync."
	}
	h.d.Log.InfoContext(r.Context(), "dashboard: organisation admin eligible", "user", gr.User, "right", right)
	return ""
}
