package dashboard_test

import (
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/access/accesstest"
	"github.com/crmsync/crmsync/shared/dashboard"
)

// TestAuthorizationMatrix checks every dashboard route against who may call
// it: anonymous, the user, a peer in the same org, another org's admin, the
// org's admin, support. A route without an entry here fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	var (
		anyone    = accesstest.Expect{Anonymous: true, User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true}
		signedIn  = accesstest.Expect{User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true}
		ownOrg    = accesstest.Expect{OtherOrgAdmin: true, OrgAdmin: true} // an org's admins, each on their own org
		orgRead   = accesstest.Expect{OrgAdmin: true, Support: true}
		orgAdmin  = accesstest.Expect{OrgAdmin: true}
		userRead  = accesstest.Expect{User: true, OrgAdmin: true, Support: true}
		userWrite = accesstest.Expect{User: true, OrgAdmin: true}
	)
	const P = dashboard.Prefix
	want := map[string]accesstest.Expect{
		"GET " + P:                               anyone,
		"GET " + P + "/":                         anyone,
		"GET " + P + "/static/{file}":            anyone,
		"GET " + P + "/auth/{provider}/login":    anyone,
		"GET " + P + "/auth/{provider}/callback": anyone,
		"POST " + P + "/auth/logout":             anyone,

		"GET " + P + "/connect/{rest...}":              signedIn,
		"POST " + P + "/connect/salesforce/password":   signedIn,
		"POST " + P + "/connect/password/{provider}":   signedIn,
		"POST " + P + "/connect/admin/{rest...}":       ownOrg,
		"GET " + P + "/connect/admin/{rest...}":        ownOrg,
		"GET " + P + "/overview":                       signedIn,
		"POST " + P + "/sync-now":                      signedIn,
		"POST " + P + "/pause":                         signedIn,
		"POST " + P + "/resume":                        signedIn,
		"POST " + P + "/confirm-removals":              signedIn,
		"GET " + P + "/settings":                       signedIn,
		"POST " + P + "/settings":                      signedIn,
		"GET " + P + "/account/delete":                 signedIn,
		"POST " + P + "/account/delete":                signedIn,
		"GET " + P + "/v1/me/status":                   signedIn,
		"GET " + P + "/v1/me/issues":                   signedIn,
		"GET " + P + "/v1/me/settings":                 signedIn,
		"PUT " + P + "/v1/me/settings":                 signedIn,
		"POST " + P + "/v1/me/sync-now":                signedIn,
		"POST " + P + "/v1/me/pause":                   signedIn,
		"POST " + P + "/v1/me/resume":                  signedIn,
		"POST " + P + "/v1/me/guards/{kind}/confirm":   signedIn,
		"DELETE " + P + "/v1/me":                       signedIn,
		"GET " + P + "/admin":                          ownOrg,
		"GET " + P + "/orgs/{org}":                     orgRead,
		"POST " + P + "/orgs/{org}/provision":          orgAdmin,
		"POST " + P + "/orgs/{org}/grants":             orgAdmin,
		"GET " + P + "/orgs/{org}/integration":         orgAdmin,
		"POST " + P + "/orgs/{org}/integration":        orgAdmin,
		"POST " + P + "/orgs/{org}/integration/remove": orgAdmin,
		"GET " + P + "/users/{user}":                   userRead,
		"GET " + P + "/history":                        signedIn,
		"GET " + P + "/conflicts":                      signedIn,
		"GET " + P + "/notifications":                  signedIn,
		"POST " + P + "/notifications":                 signedIn,
		"GET " + P + "/tracked":                        signedIn,
		"GET " + P + "/sessions":                       signedIn,
		"GET " + P + "/welcome":                        signedIn,
		"POST " + P + "/welcome/scope":                 signedIn,
		"POST " + P + "/tracked":                       signedIn,
		"GET " + P + "/orgs/{org}/history":             orgRead,
		"GET " + P + "/users/{user}/history":           userRead,
		"GET " + P + "/v1/me/progress":                 signedIn,
		"POST " + P + "/users/{user}/sync-now":         userWrite,
		"POST " + P + "/users/{user}/pause":            userWrite,
		"POST " + P + "/users/{user}/resume":           userWrite,
		"POST " + P + "/users/{user}/confirm-removals": userWrite,

		"GET " + P + "/v1/users/{user}/status":                 userRead,
		"GET " + P + "/v1/users/{user}/issues":                 userRead,
		"GET " + P + "/v1/users/{user}/progress":               userRead,
		"GET " + P + "/v1/users/{user}/settings":               userWrite,
		"PUT " + P + "/v1/users/{user}/settings":               userWrite,
		"POST " + P + "/v1/users/{user}/sync-now":              userWrite,
		"POST " + P + "/v1/users/{user}/pause":                 userWrite,
		"POST " + P + "/v1/users/{user}/resume":                userWrite,
		"POST " + P + "/v1/users/{user}/guards/{kind}/confirm": userWrite,
		"DELETE " + P + "/v1/users/{user}":                     userWrite,
		"GET " + P + "/v1/orgs/{org}/users":                    orgRead,
		"POST " + P + "/v1/orgs/{org}/users":                   orgAdmin,
		"GET " + P + "/v1/orgs/{org}/grants":                   orgAdmin,
		"POST " + P + "/v1/orgs/{org}/grants":                  orgAdmin,
		"DELETE " + P + "/v1/orgs/{org}/grants":                orgAdmin,
		"GET " + P + "/v1/orgs/{org}/audit":                    orgAdmin,
	}
	accesstest.Matrix(t, dashboard.Routes(), want)
	_ = access.Public
}
