package dashboard

import (
	"net/http"

	"github.com/crmsync/crmsync/shared/access"
)

// Routes is the dashboard's whole HTTP surface: method, path, the permission
// it needs, the resource it acts on, and its handler. Every route goes
// through access.Guard; state-changing ones also through the CSRF check.
// "me" routes act on the caller, {user} routes on a user of an org the
// caller administers or supports, {org} routes on an org group.
func (h *Handler) Routes() []access.Route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		P                   = Prefix
	)
	pub := func(m, path string, hf http.Handler) access.Route {
		return access.Route{Method: m, Path: path, Resource: access.Public, Handler: hf}
	}
	route := func(m, path string, perm access.Permission, t access.Target, hf http.HandlerFunc) access.Route {
		var hh http.Handler = hf
		if m != get {
			hh = h.csrf(hh)
		}
		return access.Route{Method: m, Path: path, Permission: perm, Resource: t, Handler: hh}
	}
	orNotFound := func(hh http.Handler) http.Handler {
		if hh == nil {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.fail(w, r, http.StatusNotFound, "not_configured", "this part of the dashboard is not configured")
			})
		}
		return hh
	}
	grants := h.d.Grants
	grant := func(pick func(GrantAdmin) http.Handler) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if grants == nil {
				h.fail(w, r, http.StatusNotFound, "not_configured", "grant administration is not configured")
				return
			}
			pick(grants).ServeHTTP(w, r)
		}
	}
	return []access.Route{
		// Pages anyone may load: sign-in, static files, the identity flows.
		pub(get, P, http.HandlerFunc(h.home)),
		// The subtree pattern also catches unknown paths; home answers them 404.
		pub(get, P+"/", http.HandlerFunc(h.home)),
		pub(get, P+"/static/{file}", http.HandlerFunc(h.static)),
		pub(get, P+"/auth/{provider}/login", orNotFound(h.d.SignIn.Login)),
		pub(get, P+"/auth/{provider}/callback", orNotFound(h.d.SignIn.Callback)),
		pub(post, P+"/auth/logout", orNotFound(h.d.SignIn.Logout)),

		// Connecting accounts is the user's own business: only the self role
		// carries connections.write.
		route(get, P+"/connect/{rest...}", access.ConnectionsWrite, access.OwnUser, func(w http.ResponseWriter, r *http.Request) {
			orNotFound(h.d.Connect).ServeHTTP(w, r)
		}),
		route(post, P+"/connect/salesforce/password", access.ConnectionsWrite, access.OwnUser, func(w http.ResponseWriter, r *http.Request) {
			orNotFound(h.d.Connect).ServeHTTP(w, r)
		}),
		// Services connected with a host, user name and password
		// (connect.Password: SAP Cloud for Customer's communication user).
		route(post, P+"/connect/password/{provider}", access.ConnectionsWrite, access.OwnUser, func(w http.ResponseWriter, r *http.Request) {
			orNotFound(h.d.Connect).ServeHTTP(w, r)
		}),
		// Admins onboard their org's users: JWT bearer and app-only mailboxes,
		// and a connector's admin pages (Google's domain-wide delegation).
		route(get, P+"/connect/admin/{rest...}", access.UsersProvision, access.OwnOrg, func(w http.ResponseWriter, r *http.Request) {
			orNotFound(h.d.Connect).ServeHTTP(w, r)
		}),
		route(post, P+"/connect/admin/{rest...}", access.UsersProvision, access.OwnOrg, func(w http.ResponseWriter, r *http.Request) {
			orNotFound(h.d.Connect).ServeHTTP(w, r)
		}),

		// Pages of the signed-in user.
		route(get, P+"/overview", access.StatusRead, access.OwnUser, h.overviewPage),
		route(post, P+"/sync-now", access.SyncWrite, access.OwnUser, h.syncNowForm),
		route(post, P+"/pause", access.SyncWrite, access.OwnUser, h.pauseForm(true)),
		route(post, P+"/resume", access.SyncWrite, access.OwnUser, h.pauseForm(false)),
		route(post, P+"/confirm-removals", access.SyncWrite, access.OwnUser, h.confirmRemovalsForm),
		route(get, P+"/settings", access.SyncRead, access.OwnUser, h.settingsPage),
		route(post, P+"/settings", access.SettingsWrite, access.OwnUser, h.settingsForm),
		route(get, P+"/account/delete", access.AccountDelete, access.OwnUser, h.deletePage),
		route(get, P+"/history", access.StatusRead, access.OwnUser, h.userHistoryPage),
		route(get, P+"/conflicts", access.StatusRead, access.OwnUser, h.conflictsPage),
		route(get, P+"/notifications", access.SettingsWrite, access.OwnUser, h.notificationsPage),
		route(post, P+"/notifications", access.SettingsWrite, access.OwnUser, h.notificationsForm),
		route(get, P+"/tracked", access.TrackingUse, access.OwnUser, h.trackedPage),
		route(get, P+"/sessions", access.StatusRead, access.OwnUser, h.sessionsPage),
		route(get, P+"/welcome", access.StatusRead, access.OwnUser, h.welcomePage),
		route(post, P+"/welcome/scope", access.SettingsWrite, access.OwnUser, h.welcomeScopeForm),
		route(post, P+"/tracked", access.TrackingUse, access.OwnUser, h.trackedForm),
		route(post, P+"/account/delete", access.AccountDelete, access.OwnUser, h.deleteForm),

		// Pages of admins and support.
		route(get, P+"/admin", access.StatusRead, access.OwnOrg, h.adminRedirect),
		route(get, P+"/orgs/{org}", access.StatusRead, access.PathOrg, h.orgPage),
		route(post, P+"/orgs/{org}/provision", access.UsersProvision, access.PathOrg, h.provisionForm),
		route(post, P+"/orgs/{org}/grants", access.GrantsWrite, access.PathOrg, h.grantForm),
		route(get, P+"/users/{user}", access.StatusRead, access.PathUser, h.userPage),
		route(get, P+"/orgs/{org}/history", access.StatusRead, access.PathOrg, h.orgHistoryPage),
		// The organisation's integration connection for the change
		// detector: provisioning-level, like the connect admin route that
		// sets it up (support does not see it).
		route(get, P+"/orgs/{org}/integration", access.UsersProvision, access.PathOrg, h.integrationPage),
		route(post, P+"/orgs/{org}/integration", access.UsersProvision, access.PathOrg, h.integrationForm),
		route(post, P+"/orgs/{org}/integration/remove", access.UsersProvision, access.PathOrg, h.integrationRemoveForm),
		route(get, P+"/users/{user}/history", access.StatusRead, access.PathUser, h.userHistoryPage),
		// An admin's actions on one user's page.
		route(post, P+"/users/{user}/sync-now", access.SyncWrite, access.PathUser, h.syncNowForm),
		route(post, P+"/users/{user}/pause", access.SyncWrite, access.PathUser, h.pauseForm(true)),
		route(post, P+"/users/{user}/resume", access.SyncWrite, access.PathUser, h.pauseForm(false)),
		route(post, P+"/users/{user}/confirm-removals", access.SyncWrite, access.PathUser, h.confirmRemovalsForm),

		// JSON API: the caller's own account.
		route(get, P+"/v1/me/status", access.StatusRead, access.OwnUser, h.apiStatus),
		route(get, P+"/v1/me/issues", access.IssuesRead, access.OwnUser, h.apiIssues),
		route(get, P+"/v1/me/progress", access.StatusRead, access.OwnUser, h.apiProgress),
		route(get, P+"/v1/me/settings", access.SyncRead, access.OwnUser, h.apiSettings),
		route(put, P+"/v1/me/settings", access.SettingsWrite, access.OwnUser, h.apiPutSettings),
		route(post, P+"/v1/me/sync-now", access.SyncWrite, access.OwnUser, h.apiSyncNow),
		route(post, P+"/v1/me/pause", access.SyncWrite, access.OwnUser, h.apiPause(true)),
		route(post, P+"/v1/me/resume", access.SyncWrite, access.OwnUser, h.apiPause(false)),
		route(post, P+"/v1/me/guards/{kind}/confirm", access.SyncWrite, access.OwnUser, h.apiConfirmRemovals),
		route(del, P+"/v1/me", access.AccountDelete, access.OwnUser, h.apiDelete),

		// JSON API: one user, for org admins and support.
		route(get, P+"/v1/users/{user}/status", access.StatusRead, access.PathUser, h.apiStatus),
		route(get, P+"/v1/users/{user}/issues", access.IssuesRead, access.PathUser, h.apiIssues),
		route(get, P+"/v1/users/{user}/progress", access.StatusRead, access.PathUser, h.apiProgress),
		route(get, P+"/v1/users/{user}/settings", access.SyncRead, access.PathUser, h.apiSettings),
		route(put, P+"/v1/users/{user}/settings", access.SettingsWrite, access.PathUser, h.apiPutSettings),
		route(post, P+"/v1/users/{user}/sync-now", access.SyncWrite, access.PathUser, h.apiSyncNow),
		route(post, P+"/v1/users/{user}/pause", access.SyncWrite, access.PathUser, h.apiPause(true)),
		route(post, P+"/v1/users/{user}/resume", access.SyncWrite, access.PathUser, h.apiPause(false)),
		route(post, P+"/v1/users/{user}/guards/{kind}/confirm", access.SyncWrite, access.PathUser, h.apiConfirmRemovals),
		route(del, P+"/v1/users/{user}", access.AccountDelete, access.PathUser, h.apiDelete),

		// JSON API: an org.
		route(get, P+"/v1/orgs/{org}/users", access.StatusRead, access.PathOrg, h.apiMembers),
		route(post, P+"/v1/orgs/{org}/users", access.UsersProvision, access.PathOrg, h.apiProvision),
		route(get, P+"/v1/orgs/{org}/grants", access.GrantsWrite, access.PathOrg, grant(GrantAdmin.ListGrants)),
		route(post, P+"/v1/orgs/{org}/grants", access.GrantsWrite, access.PathOrg, grant(func(g GrantAdmin) http.Handler { return h.eligibleFirst(g.AddGrant()) })),
		route(del, P+"/v1/orgs/{org}/grants", access.GrantsWrite, access.PathOrg, grant(GrantAdmin.RemoveGrant)),
		route(get, P+"/v1/orgs/{org}/audit", access.GrantsWrite, access.PathOrg, grant(GrantAdmin.ListAudit)),
	}
}
