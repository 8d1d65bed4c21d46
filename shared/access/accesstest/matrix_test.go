package accesstest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/access/accesstest"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

// sampleRoutes looks like the dashboard's table: public sign-in, "me" routes,
// per-user routes an admin or support may reach, and org administration.
var sampleRoutes = []access.Route{
	{Method: "GET", Path: "/auth/entra/login", Resource: access.Public, Handler: ok},
	{Method: "GET", Path: "/api/me/status", Permission: access.StatusRead, Resource: access.OwnUser, Handler: ok},
	{Method: "PUT", Path: "/api/me/connections/{provider}", Permission: access.ConnectionsWrite, Resource: access.OwnUser, Handler: ok},
	{Method: "GET", Path: "/api/users/{user}/status", Permission: access.StatusRead, Resource: access.PathUser, Handler: ok},
	{Method: "GET", Path: "/api/users/{user}/issues", Permission: access.IssuesRead, Resource: access.PathUser, Handler: ok},
	{Method: "PUT", Path: "/api/users/{user}/settings", Permission: access.SettingsWrite, Resource: access.PathUser, Handler: ok},
	{Method: "POST", Path: "/api/users/{user}/connections", Permission: access.ConnectionsWrite, Resource: access.PathUser, Handler: ok},
	{Method: "DELETE", Path: "/api/users/{user}", Permission: access.AccountDelete, Resource: access.PathUser, Handler: ok},
	{Method: "POST", Path: "/api/orgs/{org}/users", Permission: access.UsersProvision, Resource: access.PathOrg, Handler: ok},
	{Method: "GET", Path: "/api/orgs/{org}/grants", Permission: access.GrantsWrite, Resource: access.PathOrg, Handler: ok},
	{Method: "GET", Path: "/api/org/status", Permission: access.StatusRead, Resource: access.OwnOrg, Handler: ok},
}

var sampleMatrix = map[string]accesstest.Expect{
	"GET /auth/entra/login":              {Anonymous: true, User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true},
	"GET /api/me/status":                 {User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true},
	"PUT /api/me/connections/{provider}": {User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true},
	"GET /api/users/{user}/status":       {User: true, OrgAdmin: true, Support: true},
	"GET /api/users/{user}/issues":       {User: true, OrgAdmin: true, Support: true},
	"PUT /api/users/{user}/settings":     {User: true, OrgAdmin: true},
	"POST /api/users/{user}/connections": {User: true},
	"DELETE /api/users/{user}":           {User: true, OrgAdmin: true},
	"POST /api/orgs/{org}/users":         {OrgAdmin: true},
	"GET /api/orgs/{org}/grants":         {OrgAdmin: true},
	// Everyone reads their own org's status group only if they hold
	// status.read on the group: admins do; support holds it on org A but
	// belongs to the operator's org, whose group it holds nothing on.
	"GET /api/org/status": {OrgAdmin: true, OtherOrgAdmin: true},
}

func TestAuthorizationMatrixSample(t *testing.T) {
	if err := access.Validate(sampleRoutes); err != nil {
		t.Fatal(err)
	}
	accesstest.Matrix(t, sampleRoutes, sampleMatrix)
}

func TestMatrixFailsForRouteWithoutEntry(t *testing.T) {
	routes := append(sampleRoutes[:len(sampleRoutes):len(sampleRoutes)],
		access.Route{Method: "POST", Path: "/api/users/{user}/pause", Permission: access.SyncWrite, Resource: access.PathUser, Handler: ok})
	problems := accesstest.Problems(routes, sampleMatrix)
	if len(problems) != 1 || !strings.Contains(problems[0], "POST /api/users/{user}/pause has no entry") {
		t.Errorf("problems = %q, want exactly the missing entry", problems)
	}
}

func TestMatrixFailsForWrongExpectationAndStaleEntry(t *testing.T) {
	want := map[string]accesstest.Expect{}
	for k, v := range sampleMatrix {
		want[k] = v
	}
	e := want["PUT /api/users/{user}/settings"]
	e.Support = true // wrong: support never writes settings
	want["PUT /api/users/{user}/settings"] = e
	want["GET /api/gone"] = accesstest.Expect{}
	problems := accesstest.Problems(sampleRoutes, want)
	joined := strings.Join(problems, "\n")
	if len(problems) != 2 || !strings.Contains(joined, "settings as support: allowed = false") || !strings.Contains(joined, "GET /api/gone names no route") {
		t.Errorf("problems =\n%s\nwant the support mismatch and the stale entry", joined)
	}
}
