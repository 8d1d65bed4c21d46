package access_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/access/accesstest"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// adminFixture stores the matrix fixture's grants and serves the admin API
// behind the guard, as the real route table would.
func adminFixture(t *testing.T) (*access.Store, *tablestore.Embedded, http.Handler) {
	t.Helper()
	ctx := context.Background()
	tables := openStore(t)
	store := access.NewStore(tables, clock)
	for _, g := range accesstest.FixtureGrants() {
		if _, err := store.Add(ctx, access.Principal{}, g); err != nil {
			t.Fatal(err)
		}
	}
	checker := access.NewChecker(store)
	dir := accesstest.FixtureDirectory()
	admin := access.NewAdmin(store, checker, dir, nil)
	mux, err := access.Mux(checker, dir, nil, []access.Route{
		{Method: "GET", Path: "/api/orgs/{org}/grants", Permission: access.GrantsWrite, Resource: access.PathOrg, Handler: admin.ListGrants()},
		{Method: "POST", Path: "/api/orgs/{org}/grants", Permission: access.GrantsWrite, Resource: access.PathOrg, Handler: admin.AddGrant()},
		{Method: "DELETE", Path: "/api/orgs/{org}/grants", Permission: access.GrantsWrite, Resource: access.PathOrg, Handler: admin.RemoveGrant()},
		{Method: "GET", Path: "/api/orgs/{org}/audit", Permission: access.GrantsWrite, Resource: access.PathOrg, Handler: admin.ListAudit()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, tables, mux
}

func call(h http.Handler, p access.Principal, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if !p.Anonymous() {
		req = req.WithContext(access.WithPrincipal(req.Context(), p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAdminAPI(t *testing.T) {
	admin := access.Principal{User: accesstest.TheAdmin, Org: accesstest.OrgA}
	other := access.Principal{User: accesstest.OtherAdmin, Org: accesstest.OrgB}
	user := access.Principal{User: accesstest.TheUser, Org: accesstest.OrgA}
	support := access.Principal{User: accesstest.Supporter, Org: accesstest.OrgOps}
	tests := []struct {
		name       string
		p          access.Principal
		method     string
		path       string
		body       string
		wantStatus int
		changes    bool
	}{
		{"admin lists the org's grants", admin, "GET", "/api/orgs/org-a/grants", "", 200, false},
		{"admin makes a peer an org admin", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"orgadmin"}`, 201, true},
		{"admin gives support on one user", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"support","resource":{"user":"u-user"}}`, 201, true},
		{"repeating a grant changes nothing", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-admin","role":"orgadmin"}`, 200, false},
		{"admin cannot grant a role it does not hold", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"self","resource":{"user":"u-user"}}`, 403, false},
		{"admin cannot grant to a user of another org", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-other-admin","role":"support"}`, 403, false},
		{"admin cannot grant on another org's user", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"support","resource":{"user":"u-other-admin"}}`, 403, false},
		{"admin of another org is refused", other, "POST", "/api/orgs/org-a/grants", `{"user":"u-other-admin","role":"orgadmin"}`, 403, false},
		{"admin of another org cannot list", other, "GET", "/api/orgs/org-a/grants", "", 403, false},
		{"a user cannot promote themself", user, "POST", "/api/orgs/org-a/grants", `{"user":"u-user","role":"orgadmin"}`, 403, false},
		{"support cannot grant", support, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"support"}`, 403, false},
		{"anonymous is asked to sign in", access.Principal{}, "GET", "/api/orgs/org-a/grants", "", 401, false},
		{"unknown grantee is refused", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-nobody","role":"support"}`, 403, false},
		{"unknown role is a bad request", admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"root"}`, 400, false},
		{"malformed body is a bad request", admin, "POST", "/api/orgs/org-a/grants", `{"user":`, 400, false},
		{"admin removes support from the org", admin, "DELETE", "/api/orgs/org-a/grants", `{"user":"u-support","role":"support"}`, 204, true},
		{"admin removes a missing grant", admin, "DELETE", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"orgadmin"}`, 404, false},
		{"admin removes the user's self grant: not held", admin, "DELETE", "/api/orgs/org-a/grants", `{"user":"u-user","role":"self","resource":{"user":"u-user"}}`, 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tables, h := adminFixture(t)
			before := len(rows(t, tables, access.GrantsTable))
			rec := call(h, tt.p, tt.method, tt.path, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			after := len(rows(t, tables, access.GrantsTable))
			if got := after != before; got != tt.changes {
				t.Errorf("grants changed = %v (%d → %d rows), want %v", got, before, after, tt.changes)
			}
			audits := len(rows(t, tables, access.AuditTable)) - len(accesstest.FixtureGrants())
			if got, want := audits, map[bool]int{true: 1, false: 0}[tt.changes]; got != want {
				t.Errorf("new audit entries = %d, want %d", got, want)
			}
		})
	}
}

func TestAdminAPIRoundTrip(t *testing.T) {
	admin := access.Principal{User: accesstest.TheAdmin, Org: accesstest.OrgA}
	_, _, h := adminFixture(t)
	if rec := call(h, admin, "POST", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"orgadmin"}`); rec.Code != 201 {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	peer := access.Principal{User: accesstest.ThePeer, Org: accesstest.OrgA}
	// The new admin now lists the grants, then removes its own promotion.
	if rec := call(h, peer, "GET", "/api/orgs/org-a/grants", ""); rec.Code != 200 {
		t.Fatalf("list as new admin: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, admin, "DELETE", "/api/orgs/org-a/grants", `{"user":"u-peer","role":"orgadmin"}`); rec.Code != 204 {
		t.Fatalf("remove: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, peer, "GET", "/api/orgs/org-a/grants", ""); rec.Code != 403 {
		t.Errorf("list after demotion: %d, want 403", rec.Code)
	}
	rec := call(h, admin, "GET", "/api/orgs/org-a/audit", "")
	var got struct {
		Entries []access.AuditEntry `json:"entries"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range got.Entries {
		if e.Actor.User == accesstest.TheAdmin {
			actions = append(actions, e.Action)
		}
	}
	if len(actions) != 2 {
		t.Errorf("audit entries by the admin = %v, want an add and a remove", actions)
	}
}
