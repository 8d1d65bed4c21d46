package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestBootstrapAdminFromSetting: a user signing in with an address that
// CRMSYNC_ADMIN_EMAILS names becomes organisation admin of their own org and
// reaches the organisation page; the plan the sign-up chose is the same in
// the settings and the schedule.
func TestBootstrapAdminFromSetting(t *testing.T) {
	w := newTestWorld(t, worldOptions{email: "wendy@world.example",
		env: map[string]string{settings.NameAdminEmails: "someone@else.example, Wendy@World.example"}})
	b := w.newBrowser()
	w.signIn(t, b)
	user := w.signedInUser(t, b)
	status, at, body := b.fetch(t, "GET", w.srv.URL+"/api/dashboard/admin", nil, map[string]string{"Accept": "text/html"})
	if status != http.StatusOK || !strings.HasSuffix(at.Path, "/orgs/"+w.tenant) || !strings.Contains(body, "Organisation admin") {
		t.Fatalf("the bootstrap admin's organisation page: %d at %s:\n%.600s", status, at, body)
	}
	ctx := context.Background()
	if err := w.app.checker.Check(ctx, access.Principal{User: user, Org: w.tenant}, access.GrantsWrite, access.Org(w.tenant)); err != nil {
		t.Errorf("the bootstrap admin cannot manage the org's roles: %v", err)
	}
	s, err := w.app.accounts.Settings(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	e, err := w.app.sched.Get(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if s.Plan != "paid" || e.Plan != "paid" {
		t.Errorf("after sign-up the settings say plan %q and the schedule %q, want both paid (the default plan)", s.Plan, e.Plan)
	}
}

// TestNoAdminWithoutTheSetting: the same sign-in without the setting makes
// an ordinary user, whom the organisation page refuses with a page.
func TestNoAdminWithoutTheSetting(t *testing.T) {
	w := newTestWorld(t, worldOptions{email: "wendy@world.example"})
	b := w.newBrowser()
	w.signIn(t, b)
	status, _, body := b.fetch(t, "GET", w.srv.URL+"/api/dashboard/orgs/"+w.tenant, nil, map[string]string{"Accept": "text/html"})
	if status != http.StatusForbidden || !strings.Contains(body, "<html") {
		t.Errorf("an ordinary user's organisation page: %d, want 403 as a page:\n%.400s", status, body)
	}
}

// TestStatusPageForOperators: the operator's status page opens with the
// function key (header or code query) and for an organisation admin, and
// refuses anyone else with a page.
func TestStatusPageForOperators(t *testing.T) {
	w := newTestWorld(t, worldOptions{email: "wendy@world.example",
		env: map[string]string{settings.NameFunctionKey: "fk-0123456789", settings.NameAdminEmails: "wendy@world.example"}})
	anon := w.newBrowser()
	for _, tc := range []struct {
		name   string
		url    string
		header map[string]string
		want   int
	}{
		{"anonymous", "/api/dashboard/status", nil, http.StatusUnauthorized},
		{"wrong key", "/api/dashboard/status", map[string]string{"x-functions-key": "nope"}, http.StatusUnauthorized},
		{"key in header", "/api/dashboard/status", map[string]string{"x-functions-key": "fk-0123456789"}, http.StatusOK},
		{"key in query", "/api/dashboard/status?code=fk-0123456789", nil, http.StatusOK},
	} {
		status, _, body := anon.fetch(t, "GET", w.srv.URL+tc.url, nil, tc.header)
		if status != tc.want {
			t.Errorf("%s: status page %d, want %d:\n%.300s", tc.name, status, tc.want, body)
		}
		if status == http.StatusUnauthorized && (!strings.Contains(body, "Operators only") || strings.Contains(body, "sync-sessions")) {
			t.Errorf("%s: the refusal is not the operators-only page or shows the queues:\n%.300s", tc.name, body)
		}
	}
	admin := w.newBrowser()
	w.signIn(t, admin)
	if status, _, body := admin.fetch(t, "GET", w.srv.URL+"/api/dashboard/status", nil, nil); status != http.StatusOK || !strings.Contains(body, "sync-sessions") {
		t.Errorf("an organisation admin's status page: %d\n%.300s", status, body)
	}
}
