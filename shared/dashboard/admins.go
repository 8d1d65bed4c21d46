package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	return h.refuseOrgAdmin(r, gr, strings.TrimSpace(r.PostFormValue("email")))
}

// refuseOrgAdmin is orgAdminRefusal with the person named as who.
func (h *Handler) refuseOrgAdmin(r *http.Request, gr access.GrantRequest, who string) string {
	if gr.Role != access.RoleOrgAdmin || h.d.AdminRights == nil {
		return ""
	}
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

// maxGrantBody bounds a grant request's JSON body.
const maxGrantBody = 64 << 10

// eligibleFirst puts the organisation-admin check in front of the grant
// API's add (POST /v1/orgs/{org}/grants), so the JSON API holds the same
// rule as the form: the body is read, checked and handed on unchanged.
func (h *Handler) eligibleFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxGrantBody+1))
		if err != nil || len(body) > maxGrantBody {
			h.fail(w, r, http.StatusBadRequest, "bad_json", "the request body could not be read or is larger than 64 KB")
			return
		}
		var gr access.GrantRequest
		if json.Unmarshal(body, &gr) == nil && gr.Role == access.RoleOrgAdmin {
			if why := h.refuseOrgAdmin(r, gr, "this user"); why != "" {
				h.fail(w, r, http.StatusUnprocessableEntity, "not_eligible", sentence(why))
				return
			}
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		next.ServeHTTP(w, r)
	})
}
