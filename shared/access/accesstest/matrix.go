// Package accesstest checks a route table against an authorization matrix:
// every route, called by six principals, must be allowed or denied exactly as
// the matrix says, and a route without an entry fails the test.
package accesstest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
)

// Expect says, for one route, which of the six principals get through.
type Expect struct {
	Anonymous     bool // nobody signed in
	User          bool // the user named in the path (or acting on themselves)
	Peer          bool // another user of the same org
	OtherOrgAdmin bool // the org admin of another org
	OrgAdmin      bool // the admin of the user's org
	Support       bool // support staff with the support role on the org
}

// The fixture: org A holds the user, a peer and the org admin; org B has its
// own admin; support staff belong to the operator's org and hold the support
// role on org A. Every signed-in principal has the self role on themselves.
const (
	OrgA       = "org-a"
	OrgB       = "org-b"
	OrgOps     = "org-ops"
	TheUser    = "u-user"
	ThePeer    = "u-peer"
	TheAdmin   = "u-admin"
	OtherAdmin = "u-other-admin"
	Supporter  = "u-support"
)

// Principals returns the six callers in matrix order, named.
func Principals() []struct {
	Name string
	P    access.Principal
} {
	return []struct {
		Name string
		P    access.Principal
	}{
		{"anonymous", access.Principal{}},
		{"user", access.Principal{User: TheUser, Org: OrgA}},
		{"peer", access.Principal{User: ThePeer, Org: OrgA}},
		{"other-org-admin", access.Principal{User: OtherAdmin, Org: OrgB}},
		{"org-admin", access.Principal{User: TheAdmin, Org: OrgA}},
		{"support", access.Principal{User: Supporter, Org: OrgOps}},
	}
}

func (e Expect) allowed(i int) bool {
	return []bool{e.Anonymous, e.User, e.Peer, e.OtherOrgAdmin, e.OrgAdmin, e.Support}[i]
}

// FixtureGrants are the grants of the matrix fixture.
func FixtureGrants() Grants {
	self := func(user, org string) access.Grant {
		return access.Grant{Principal: access.Principal{User: user, Org: org}, Role: access.RoleSelf, Resource: access.User(org, user)}
	}
	return Grants{
		self(TheUser, OrgA), self(ThePeer, OrgA), self(TheAdmin, OrgA), self(OtherAdmin, OrgB), self(Supporter, OrgOps),
		{Principal: access.Principal{User: TheAdmin, Org: OrgA}, Role: access.RoleOrgAdmin, Resource: access.Org(OrgA)},
		{Principal: access.Principal{User: OtherAdmin, Org: OrgB}, Role: access.RoleOrgAdmin, Resource: access.Org(OrgB)},
		{Principal: access.Principal{User: Supporter, Org: OrgOps}, Role: access.RoleSupport, Resource: access.Org(OrgA)},
	}
}

// FixtureDirectory maps the fixture's users to their orgs.
func FixtureDirectory() Directory {
	return Directory{TheUser: OrgA, ThePeer: OrgA, TheAdmin: OrgA, OtherAdmin: OrgB, Supporter: OrgOps}
}

// Grants is an in-memory access.GrantSource.
type Grants []access.Grant

// GrantsIn returns the grants principalUser holds on resources of org.
func (gs Grants) GrantsIn(_ context.Context, org, principalUser string) ([]access.Grant, error) {
	var out []access.Grant
	for _, g := range gs {
		if g.Principal.User == principalUser && g.Resource.Org == org {
			out = append(out, g)
		}
	}
	return out, nil
}

// Directory is an in-memory access.Directory: user id → org id.
type Directory map[string]string

// OrgOf returns the user's org or access.ErrNoSuchUser.
func (d Directory) OrgOf(_ context.Context, user string) (string, error) {
	if org, ok := d[user]; ok {
		return org, nil
	}
	return "", fmt.Errorf("%w: %s", access.ErrNoSuchUser, user)
}

var pathValue = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)

// Target returns the request path for a route pattern, with {user} as the
// fixture's user, {org} as the user's org, and any other value as "x".
func Target(pattern string) string {
	return pathValue.ReplaceAllStringFunc(pattern, func(m string) string {
		switch strings.Trim(m, "{}.") {
		case "user":
			return TheUser
		case "org":
			return OrgA
		}
		return "x"
	})
}

// Matrix serves every route of routes through access.Guard, with the route's
// handler replaced by a stub, as each of the six principals, and fails t when
// the outcome differs from want, when a route has no entry in want, or when
// want names a route that does not exist. Keys are Route.Key ("GET /path").
func Matrix(t testing.TB, routes []access.Route, want map[string]Expect) {
	t.Helper()
	for _, p := range Problems(routes, want) {
		t.Error(p)
	}
}

// Problems is Matrix without the testing.TB: it returns one line per
// mismatch, missing entry or stale entry.
func Problems(routes []access.Route, want map[string]Expect) []string {
	var problems []string
	checker := access.NewChecker(FixtureGrants())
	dir := FixtureDirectory()
	var keys []string
	for _, rt := range routes {
		keys = append(keys, rt.Key())
		exp, ok := want[rt.Key()]
		if !ok {
			problems = append(problems, fmt.Sprintf("route %s has no entry in the authorization matrix: add one", rt.Key()))
			continue
		}
		reached := false
		stub := rt
		stub.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			w.WriteHeader(http.StatusNoContent)
		})
		mux := http.NewServeMux()
		mux.Handle(stub.Key(), access.Guard(checker, dir, nil, stub))
		for i, who := range Principals() {
			reached = false
			req := httptest.NewRequest(rt.Method, Target(rt.Path), nil)
			if !who.P.Anonymous() {
				req = req.WithContext(access.WithPrincipal(req.Context(), who.P))
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if got, want := reached, exp.allowed(i); got != want {
				problems = append(problems, fmt.Sprintf("%s as %s: allowed = %v (status %d), want %v", rt.Key(), who.Name, got, rec.Code, want))
			}
			if !reached && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
				problems = append(problems, fmt.Sprintf("%s as %s: denied with status %d, want 401 or 403", rt.Key(), who.Name, rec.Code))
			}
		}
	}
	for k := range want {
		if !slices.Contains(keys, k) {
			problems = append(problems, fmt.Sprintf("matrix entry %s names no route: remove it", k))
		}
	}
	return problems
}
