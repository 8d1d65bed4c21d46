package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/access/accesstest"
	"github.com/crmsync/crmsync/shared/addin"
	shareddashboard "github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/taskpane"
	"github.com/crmsync/crmsync/shared/tracking"
)

// matrixPrincipals are the six callers, in accesstest.Expect's field order.
var matrixPrincipals = []string{"anonymous", "user", "peer", "other-org-admin", "org-admin", "support"}

func expectAllows(e accesstest.Expect, who string) bool {
	return map[string]bool{"anonymous": e.Anonymous, "user": e.User, "peer": e.Peer,
		"other-org-admin": e.OtherOrgAdmin, "org-admin": e.OrgAdmin, "support": e.Support}[who]
}

// wiredRoute is one HTTP route of the wired service.
type wiredRoute struct {
	function string
	method   string
	path     string // a ServeMux pattern path, under /api/
	// bearer routes authenticate with an add-in access token, the others
	// with the dashboard's session cookie.
	bearer bool
}

func (r wiredRoute) key() string { return r.method + " " + r.path }

// catchAllTables are the route tables behind the HTTP functions whose
// trigger route catches every path under their prefix ("name/{*path}").
// A catch-all function missing here fails the matrix: its routes would be
// unknown.
func catchAllTables() map[string]func() []wiredRoute {
	return map[string]func() []wiredRoute{
		"dashboard": func() []wiredRoute {
			var out []wiredRoute
			for _, rt := range shareddashboard.Routes() {
				out = append(out, wiredRoute{function: "dashboard", method: rt.Method, path: rt.Path})
			}
			// functions/dashboard answers these two itself, before the
			// self-service dashboard's route table.
			return append(out, wiredRoute{"dashboard", http.MethodGet, shareddashboard.Prefix + "/status", false},
				wiredRoute{"dashboard", http.MethodGet, shareddashboard.Prefix + "/healthz", false})
		},
		"addin": func() []wiredRoute {
			var out []wiredRoute
			for _, rt := range addin.Routes() {
				out = append(out, wiredRoute{function: "addin", method: rt.Method, path: rt.Path, bearer: true})
			}
			return out
		},
		"taskpane": func() []wiredRoute {
			var out []wiredRoute
			for _, rt := range taskpane.Routes() {
				out = append(out, wiredRoute{function: "taskpane", method: rt.Method, path: strings.TrimSuffix(rt.Path, "{$}")})
			}
			return out
		},
		"pixel": func() []wiredRoute {
			var out []wiredRoute
			for _, rt := range tracking.Routes() {
				out = append(out, wiredRoute{function: "pixel", method: rt.Method, path: rt.Path, bearer: rt.Permission != ""})
			}
			return out
		},
	}
}

// wiredRoutes lists every HTTP route of every HTTP function in the routes
// table: a function with a fixed route contributes its methods, a catch-all
// function its route table (whose paths must lie under the function's).
func wiredRoutes(fns []funchost.Function, tables map[string]func() []wiredRoute) (out []wiredRoute, problems []string) {
	for _, f := range fns {
		if f.Trigger.Kind != funchost.KindHTTP {
			continue
		}
		base, catchAll := strings.CutSuffix(f.Trigger.Route, "/{*path}")
		if !catchAll {
			if strings.Contains(f.Trigger.Route, "{") {
				problems = append(problems, fmt.Sprintf("function %s: route %q has parameters the matrix test cannot fill; give it a route table", f.Name, f.Trigger.Route))
				continue
			}
			for _, m := range f.Trigger.Methods {
				out = append(out, wiredRoute{function: f.Name, method: strings.ToUpper(m), path: "/api/" + f.Trigger.Route})
			}
			continue
		}
		table, ok := tables[f.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("function %s serves every path under /api/%s/ but the authorization matrix knows no route table for it: add it to catchAllTables", f.Name, base))
			continue
		}
		for _, rt := range table() {
			if rt.path != "/api/"+base && !strings.HasPrefix(rt.path, "/api/"+base+"/") {
				problems = append(problems, fmt.Sprintf("function %s: route %s lies outside /api/%s/", f.Name, rt.key(), base))
			}
			if !slices.Contains(f.Trigger.Methods, strings.ToLower(rt.method)) {
				problems = append(problems, fmt.Sprintf("function %s: route %s uses a method its trigger does not accept (%v)", f.Name, rt.key(), f.Trigger.Methods))
			}
			out = append(out, rt)
		}
	}
	return out, problems
}

// unlisted returns one line per route without a matrix entry and per entry
// naming no route.
func unlisted(routes []wiredRoute, want map[string]accesstest.Expect) []string {
	var problems, keys []string
	for _, rt := range routes {
		keys = append(keys, rt.key())
		if _, ok := want[rt.key()]; !ok {
			problems = append(problems, fmt.Sprintf("route %s (function %s) has no entry in the authorization matrix: add one", rt.key(), rt.function))
		}
	}
	for k := range want {
		if !slices.Contains(keys, k) {
			problems = append(problems, fmt.Sprintf("matrix entry %s names no route of the wired service: remove it", k))
		}
	}
	sort.Strings(problems)
	return problems
}

// matrixFixture is one set of the six principals as real crmsync users:
// org A holds the user, the peer and the org admin; org B its own admin;
// support belongs to an operator org and holds the support role on org A.
// Every user signed up (self role, profile, paused schedule) as a sign-in
// would have done it.
type matrixFixture struct {
	orgA string
	who  map[string]access.Principal
	// oid is each principal's subject at the identity provider (bearer
	// tokens are minted for it).
	oid map[string]string
}

func (w *testWorld) newFixture(t *testing.T, orgs [3]string, subject func(name string) string) matrixFixture {
	t.Helper()
	ctx := context.Background()
	f := matrixFixture{orgA: orgs[0], who: map[string]access.Principal{}, oid: map[string]string{}}
	orgOf := map[string]string{"user": orgs[0], "peer": orgs[0], "org-admin": orgs[0], "other-org-admin": orgs[1], "support": orgs[2]}
	for _, name := range matrixPrincipals[1:] {
		id := identity.Identity{Kind: identity.Entra, Org: orgOf[name], Subject: subject(name), Email: name + "@example.org"}
		p, created, err := w.app.users.SignIn(ctx, id)
		if err != nil {
			t.Fatalf("signing up %s: %v", name, err)
		}
		if created {
			if err := w.app.onSignIn(ctx, p, id, created); err != nil {
				t.Fatalf("sign-up of %s: %v", name, err)
			}
		}
		f.who[name], f.oid[name] = p, id.Subject
	}
	for _, g := range []access.Grant{
		{Principal: f.who["org-admin"], Role: access.RoleOrgAdmin, Resource: access.Org(orgs[0])},
		{Principal: f.who["other-org-admin"], Role: access.RoleOrgAdmin, Resource: access.Org(orgs[1])},
		{Principal: f.who["support"], Role: access.RoleSupport, Resource: access.Org(orgs[0])},
	} {
		if _, err := w.app.grants.Add(ctx, access.Principal{}, g); err != nil {
			t.Fatalf("granting %s: %v", g.Role, err)
		}
	}
	return f
}

var pathValue = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)

// target fills a route pattern: {user} is the fixture's user, {org} org A,
// the connect flows' {provider}/{rest...} a real flow, anything else "x".
func (f matrixFixture) target(rt wiredRoute) string {
	return pathValue.ReplaceAllStringFunc(rt.path, func(m string) string {
		switch strings.Trim(m, "{}.") {
		case "user":
			return f.who["user"].User
		case "org":
			return f.orgA
		case "provider":
			return "microsoft"
		case "rest":
			if strings.Contains(rt.path, "/connect/admin/") {
				return "microsoft/app-only"
			}
			return "microsoft"
		case "file":
			return "x.gif"
		}
		return "x"
	})
}

// call sends one request for the route as who and reports whether the
// access check let it through, with the status.
func (w *testWorld) call(t *testing.T, f matrixFixture, rt wiredRoute, who string) (allowed bool, status int, body string) {
	t.Helper()
	req := httptest.NewRequest(rt.method, w.srv.URL+f.target(rt), nil)
	if p, ok := f.who[who]; ok {
		if rt.bearer {
			tok, err := w.provider.AccessToken(f.oid[who], "crmsync-addin", w.app.settings.AddinScope)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		} else {
			now := time.Now().Unix()
			sess := identity.Session{User: p.User, Org: p.Org, Issued: now, Seen: now, CSRF: randomSecret(t, "")}
			v, err := w.app.sessions.Encode(sess)
			if err != nil {
				t.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "__Host-crmsync", Value: v})
			req.Header.Set(identity.CSRFHeader, w.app.sessions.CSRFToken(sess))
		}
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	status, body = rec.Code, rec.Body.String()
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return false, status, body
	case status == http.StatusSeeOther && strings.HasPrefix(rec.Header().Get("Location"), shareddashboard.Prefix+"/?return=") && who == "anonymous":
		// A page asked for anonymously sends the browser to sign in.
		return false, status, body
	}
	return true, status, body
}

// changesWhoMay tells whether a request that got through may have changed
// users or grants (deleted an account, provisioned users, added or removed
// a grant), so that later cases need a fresh fixture. Pausing, settings and
// sync requests leave every authorization as it was.
func changesWhoMay(rt wiredRoute) bool {
	return rt.method == http.MethodDelete || strings.Contains(rt.path, "delete") ||
		strings.Contains(rt.path, "/grants") || strings.Contains(rt.path, "provision") ||
		(rt.method == http.MethodPost && strings.HasSuffix(rt.path, "/users"))
}

// placeholder tells whether an HTTP function is still the stub that answers
// 501 to everything (the add-in API and the pixel before they are mounted).
func (w *testWorld) placeholder(t *testing.T, f funchost.Function) bool {
	t.Helper()
	base, _ := strings.CutSuffix(f.Trigger.Route, "/{*path}")
	req := httptest.NewRequest(strings.ToUpper(f.Trigger.Methods[0]), w.srv.URL+"/api/"+base+"/placeholder-probe", nil)
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	return rec.Code == http.StatusNotImplemented && strings.Contains(rec.Body.String(), "not built yet")
}

// authorizationMatrix says who may call each route of the wired service.
func authorizationMatrix() map[string]accesstest.Expect {
	var (
		anyone    = accesstest.Expect{Anonymous: true, User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true}
		signedIn  = accesstest.Expect{User: true, Peer: true, OtherOrgAdmin: true, OrgAdmin: true, Support: true}
		ownOrg    = accesstest.Expect{OtherOrgAdmin: true, OrgAdmin: true} // an org's admins, each on their own org
		orgRead   = accesstest.Expect{OrgAdmin: true, Support: true}
		orgAdmin  = accesstest.Expect{OrgAdmin: true}
		userRead  = accesstest.Expect{User: true, OrgAdmin: true, Support: true}
		userWrite = accesstest.Expect{User: true, OrgAdmin: true}
	)
	const P = shareddashboard.Prefix
	const A, T = addin.Prefix, tracking.Prefix
	return map[string]accesstest.Expect{
		// The operator's status page and the health check.
		"GET " + P + "/status":  accesstest.Expect{OtherOrgAdmin: true, OrgAdmin: true},
		"GET " + P + "/healthz": anyone,
		// The add-in's pages, manifests and sign-in dialog are public (its
		// data comes from the add-in API, which needs the bearer).
		"GET " + taskpane.Prefix + "/":                anyone,
		"GET " + taskpane.Prefix + "/manifest.xml":    anyone,
		"GET " + taskpane.Prefix + "/manifest.json":   anyone,
		"GET " + taskpane.Prefix + "/icons/{size}":    anyone,
		"GET " + taskpane.Prefix + "/pane.html":       anyone,
		"GET " + taskpane.Prefix + "/static/{file}":   anyone,
		"GET " + taskpane.Prefix + "/signin":          anyone,
		"GET " + taskpane.Prefix + "/signin/callback": anyone,
		"GET " + taskpane.Prefix + "/harness":         anyone,
		// Graph's webhook: it proves itself with the subscription's clientState.
		"POST /api/notifications": anyone,

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

		// The add-in acts for the bearer token's user on their own CRM.
		"GET " + A + "/people":                  signedIn,
		"GET " + A + "/search":                  signedIn,
		"GET " + A + "/objects":                 signedIn,
		"GET " + A + "/crm":                     signedIn,
		"GET " + A + "/objects/{name}":          signedIn,
		"GET " + A + "/records/{object}/{id}":   signedIn,
		"POST " + A + "/records/{object}":       signedIn,
		"PATCH " + A + "/records/{object}/{id}": signedIn,
		"POST " + A + "/prefill":                signedIn,
		"POST " + A + "/share":                  signedIn,
		"POST " + A + "/records/{id}/files":     signedIn,
		"POST " + A + "/records/{id}/chatter":   signedIn,
		"GET " + A + "/layout":                  signedIn,
		"POST " + A + "/layout":                 signedIn,
		"DELETE " + A + "/layout":               signedIn,
		"POST " + A + "/layout/org":             ownOrg,
		"POST " + A + "/layout/share":           signedIn,
		"POST " + A + "/layout/take":            signedIn,

		// The pixel is fetched by whoever opens the e-mail; the rest is the
		// add-in user's own.
		"GET " + T + "/{file}":       anyone,
		"POST " + T + "/tokens":      signedIn,
		"GET " + T + "/stats":        signedIn,
		"GET " + T + "/stats/recent": signedIn,
	}
}

// TestAuthorizationMatrixFlagsUnlistedRoutes shows the matrix cannot miss a
// route: one more route in a function's table, or one more catch-all
// function without a table, is reported.
func TestAuthorizationMatrixFlagsUnlistedRoutes(t *testing.T) {
	fns := testTable(t)
	tables := catchAllTables()
	dash := tables["dashboard"]
	tables["dashboard"] = func() []wiredRoute {
		return append(dash(), wiredRoute{function: "dashboard", method: http.MethodPost, path: shareddashboard.Prefix + "/v1/me/export"})
	}
	routes, problems := wiredRoutes(append(fns, funchost.Function{Name: "reports",
		Trigger: funchost.HTTPTrigger("reports/{*path}", funchost.AuthAnonymous, "get")}), tables)
	problems = append(problems, unlisted(routes, authorizationMatrix())...)
	for _, want := range []string{
		"route POST /api/dashboard/v1/me/export (function dashboard) has no entry in the authorization matrix: add one",
		"function reports serves every path under /api/reports/ but the authorization matrix knows no route table for it: add it to catchAllTables",
	} {
		if !slices.Contains(problems, want) {
			t.Errorf("problems %q do not include %q", problems, want)
		}
	}
	want := authorizationMatrix()
	want["GET /api/dashboard/gone"] = accesstest.Expect{}
	if got := unlisted(routes, want); !slices.Contains(got, "matrix entry GET /api/dashboard/gone names no route of the wired service: remove it") {
		t.Errorf("a stale entry is not reported: %q", got)
	}
}

// TestAuthorizationMatrix calls every HTTP route of every function of the
// wired service — the dashboard (pages, JSON API, sign-in, connect flows,
// grants), the operator's status page, the Graph webhook, the add-in API and
// the tracking pixel — as six real principals: anonymous, the user, a peer
// in the same org, another org's admin, the org's admin, support. Each must
// get through or be refused (401/403, or sent to sign in) as the matrix
// says; a route the matrix does not list, or an entry naming no route,
// fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	want := authorizationMatrix()

	// Bearer principals are identity-provider users; their tenants are the orgs.
	const orgA, orgB, ops = "aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b", "cccccccc-0000-4000-8000-00000000000c"
	bearerOID := func(name string) string {
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", slices.Index(matrixPrincipals, name), slices.Index(matrixPrincipals, name))
	}
	var idpUsers []idp.User
	for _, name := range matrixPrincipals[1:] {
		tenant := map[string]string{"user": orgA, "peer": orgA, "org-admin": orgA, "other-org-admin": orgB, "support": ops}[name]
		idpUsers = append(idpUsers, idp.User{ID: bearerOID(name), Name: name, Tenant: tenant})
	}
	// The default multi-tenant authority: the principals come from three tenants.
	w := newTestWorld(t, worldOptions{authoritySegment: "organizations", extraUsers: idpUsers})
	bearerFixture := w.newFixture(t, [3]string{orgA, orgB, ops}, bearerOID)

	routes, problems := wiredRoutes(w.fns, catchAllTables())
	mounted := map[string]bool{}
	for _, f := range w.fns {
		mounted[f.Name] = f.Trigger.Kind == funchost.KindHTTP && !w.placeholder(t, f)
	}
	for _, p := range problems {
		// A placeholder function's table is checked against its trigger once
		// it is mounted (until then, say what will fail).
		// The function's name is the word after "function", whatever
		// follows it (a colon or a sentence).
		name, _, _ := strings.Cut(strings.TrimPrefix(p, "function "), " ")
		if name = strings.TrimSuffix(name, ":"); !mounted[name] && strings.HasPrefix(p, "function ") {
			t.Logf("once mounted: %s", p)
			continue
		}
		t.Error(p)
	}
	for _, p := range unlisted(routes, want) {
		t.Error(p)
	}

	// A denied request changes nothing, so a fixture is reused until a
	// state-changing request gets through (it may delete a user, pause a
	// schedule, revoke a grant); the next case then starts on a fresh one.
	n := 0
	fresh := func() matrixFixture {
		n++
		return w.newFixture(t, [3]string{fmt.Sprintf("org-a-%d", n), fmt.Sprintf("org-b-%d", n), fmt.Sprintf("org-ops-%d", n)},
			func(name string) string { return fmt.Sprintf("sub-%d-%s", n, name) })
	}
	fixture := fresh()
	unmounted := map[string]int{}
	for _, rt := range routes {
		exp, ok := want[rt.key()]
		if !ok {
			continue // reported above
		}
		if !mounted[rt.function] {
			unmounted[rt.function] += len(matrixPrincipals)
			continue
		}
		for _, who := range matrixPrincipals {
			f := fixture
			if rt.bearer {
				f = bearerFixture
			}
			allowed, status, body := w.call(t, f, rt, who)
			if got, want := allowed, expectAllows(exp, who); got != want {
				t.Errorf("%s as %s: allowed = %v (status %d: %.200s), want %v", rt.key(), who, got, status, body, want)
			}
			if allowed && status >= 500 {
				t.Errorf("%s as %s: got through and failed with %d: %.200s", rt.key(), who, status, body)
			}
			if allowed && changesWhoMay(rt) {
				fixture = fresh()
			}
		}
	}
	var names []string
	for name := range unmounted {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Logf("function %s answers 501 (placeholder): its %d route×principal cases were not checked", name, unmounted[name])
	}
	t.Logf("%d routes × %d principals, %d fixtures", len(routes), len(matrixPrincipals), n+1)
}
