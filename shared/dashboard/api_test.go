package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/schedule"
)

func TestRouteTableIsValid(t *testing.T) {
	if err := access.Validate(dashboard.Routes()); err != nil {
		t.Fatal(err)
	}
	for _, rt := range dashboard.Routes() {
		if !strings.HasPrefix(rt.Path, dashboard.Prefix) {
			t.Errorf("route %s is outside %s", rt.Key(), dashboard.Prefix)
		}
	}
}

// TestStateChangingRoutesNeedCSRF calls every protected state-changing route
// as a principal the route allows, without the token: 403, nothing done.
func TestStateChangingRoutesNeedCSRF(t *testing.T) {
	f := newFixture(t)
	for _, rt := range dashboard.Routes() {
		if rt.Method == http.MethodGet || rt.Resource == access.Public {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			who := f.user
			if rt.Resource == access.PathOrg || rt.Resource == access.PathUser || rt.Resource == access.OwnOrg {
				who = f.admin
			}
			code, body, _ := f.call(t, who, rt.Method, rt.Path, "", false)
			if code != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("without a CSRF token: status %d body %q, want 403 naming CSRF", code, body)
			}
		})
	}
	if _, err := f.sched.Get(context.Background(), f.user.User); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.sched.Get(context.Background(), f.user.User); e.Paused {
		t.Error("a request without CSRF token paused the user")
	}
	if _, err := f.acc.Profile(context.Background(), f.user.User); err != nil {
		t.Errorf("a request without CSRF token deleted the account: %v", err)
	}
}

func TestAPI(t *testing.T) {
	type check func(t *testing.T, f *fixture, body string)
	has := func(subs ...string) check {
		return func(t *testing.T, _ *fixture, body string) {
			for _, s := range subs {
				if !strings.Contains(body, s) {
					t.Errorf("body %s\ndoes not contain %q", body, s)
				}
			}
		}
	}
	tests := []struct {
		name   string
		who    func(f *fixture) access.Principal
		method string
		path   string
		body   string
		want   int
		check  check
	}{
		{name: "anonymous status", who: func(*fixture) access.Principal { return access.Principal{} }, method: "GET", path: "/v1/me/status", want: 401},
		{name: "own status", who: user, method: "GET", path: "/v1/me/status", want: 200,
			check: has(`"provider":"salesforce"`, `"status":"connected"`, `"action":"Reconnect"`, `"outcome":"partial"`, `"openIssues":1`, `"kind":"contact","direction":"to-mailbox","op":"create","n":12`)},
		{name: "own issues", who: user, method: "GET", path: "/v1/me/issues", want: 200, check: has(issueName, issueReason, `"attempts":1`, `"side":"crm"`)},
		{name: "peer reads another user's status", who: peer, method: "GET", path: "/v1/users/{user}/status", want: 403},
		{name: "peer reads another user's issues", who: peer, method: "GET", path: "/v1/users/{user}/issues", want: 403},
		{name: "other org's admin reads status", who: other, method: "GET", path: "/v1/users/{user}/status", want: 403},
		{name: "unknown user looks forbidden", who: admin, method: "GET", path: "/v1/users/u-nobody/status", want: 403},
		{name: "admin reads status", who: admin, method: "GET", path: "/v1/users/{user}/status", want: 200, check: has(`"user":"`)},
		{name: "support reads issues", who: support, method: "GET", path: "/v1/users/{user}/issues", want: 200, check: has(issueName)},
		{name: "support cannot read settings", who: support, method: "GET", path: "/v1/users/{user}/settings", want: 403},
		{name: "support cannot write settings", who: support, method: "PUT", path: "/v1/users/{user}/settings", body: `{}`, want: 403},
		{name: "support cannot pause", who: support, method: "POST", path: "/v1/users/{user}/pause", want: 403},
		{name: "support cannot delete", who: support, method: "DELETE", path: "/v1/users/{user}", want: 403},
		{name: "support lists org users", who: support, method: "GET", path: "/v1/orgs/{org}/users", want: 200, check: has(`"email":"user@a.example"`)},
		{name: "support cannot provision", who: support, method: "POST", path: "/v1/orgs/{org}/users", body: `{"addresses":["x@a.example"]}`, want: 403},
		{name: "own settings", who: user, method: "GET", path: "/v1/me/settings", want: 200, check: has(`"contact":{"direction":"both","conflict":"newer-wins","mailboxDelete":"unlink","newItems":"all","customFields":[]}`, `"plan":"free"`)},
		{name: "settings unknown values", who: user, method: "PUT", path: "/v1/me/settings",
			body: `{"kinds":{"task":{"direction":"sideways","conflict":"loudest-wins"}},"contactListView":"x y","pastDays":999}`, want: 400,
			check: has(`"field":"task"`, "sideways", "loudest-wins", `"field":"contactListView"`, `"field":"pastDays"`)},
		{name: "settings unknown field", who: user, method: "PUT", path: "/v1/me/settings", body: `{"kinds":{},"colour":"red"}`, want: 400, check: has(`unknown field \"colour\"`)},
		{name: "settings not JSON", who: user, method: "PUT", path: "/v1/me/settings", body: `{"kinds":`, want: 400, check: has("bad_json")},
		{name: "settings cannot change plan", who: user, method: "PUT", path: "/v1/me/settings", body: `{"kinds":{},"plan":"paid"}`, want: 400, check: has("administrator")},
		{name: "settings saved", who: user, method: "PUT", path: "/v1/me/settings",
			body: `{"kinds":{"event":{"direction":"crm-to-mailbox","conflict":"crm-wins","mailboxDelete":"unlink","newItems":"none"}},"email":{"enabled":true,"ownDomains":["A.example"]}}`, want: 200,
			check: func(t *testing.T, f *fixture, _ string) {
				s, err := f.acc.Settings(context.Background(), f.user.User)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.Policy(item.Event); got.Direction != reconcile.CRMToMailbox || got.NewItems != reconcile.NewNone {
					t.Errorf("stored event policy = %+v", got)
				}
				if len(s.Email.OwnDomains) != 1 || s.Email.OwnDomains[0] != "a.example" {
					t.Errorf("stored own domains = %q", s.Email.OwnDomains)
				}
			}},
		{name: "admin writes a user's settings", who: admin, method: "PUT", path: "/v1/users/{user}/settings", body: `{"kinds":{}}`, want: 200},
		{name: "admin maps a user's custom field", who: admin, method: "PUT", path: "/v1/users/{user}/settings",
			body: `{"kinds":{"contact":{"customFields":[{"crm":"Region__c","mailbox":"extended:Region"},{"crm":"Nick__c","mailbox":"nickName"}]}}}`, want: 200,
			check: func(t *testing.T, f *fixture, body string) {
				if !strings.Contains(body, `"customFields":[{"crm":"Region__c","mailbox":"extended:Region"},{"crm":"Nick__c","mailbox":"nickName"}]`) {
					t.Errorf("answer %s does not show the mappings", body)
				}
				s, err := f.acc.Settings(context.Background(), f.user.User)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.Custom[item.Contact]; len(got) != 2 || got[0].CRM != "Region__c" {
					t.Errorf("stored contact mappings = %+v", got)
				}
			}},
		{name: "custom fields that cannot be", who: user, method: "PUT", path: "/v1/me/settings",
			body: `{"kinds":{"contact":{"customFields":[{"crm":"Department","mailbox":"jobTitle"}]},"task":{"customFields":[{"crm":"Region__c","mailbox":"extended:Region"}]}}}`, want: 400,
			check: has(`"field":"contact.customFields[0]"`, "syncs by default already", `not a free contact property`, `"field":"task.customFields[0]"`, "To Do tasks have no extended properties")},

		{name: "pause", who: user, method: "POST", path: "/v1/me/pause", want: 200, check: func(t *testing.T, f *fixture, _ string) {
			if e, _ := f.sched.Get(context.Background(), f.user.User); !e.Paused {
				t.Error("not paused")
			}
		}},
		{name: "sync now without schedule", who: peer, method: "POST", path: "/v1/me/sync-now", want: 409, check: has("not_enrolled")},
		{name: "pause a user without schedule", who: peer, method: "POST", path: "/v1/me/pause", want: 409, check: has("connect")},
		{name: "provision with partial failures", who: admin, method: "POST", path: "/v1/orgs/{org}/users",
			body: `{"addresses":["new@a.example","nonsense","user@a.example"]}`, want: 207,
			check: has(`"line":1,"email":"new@a.example","user":"u-`, `"line":2,"email":"nonsense","error":"not an e-mail address"`, `"line":3,"email":"user@a.example","error":"already a user of this org"`)},
		{name: "provision nothing", who: admin, method: "POST", path: "/v1/orgs/{org}/users", body: `{"addresses":[]}`, want: 400, check: has("no addresses")},
		{name: "other org's admin cannot provision", who: other, method: "POST", path: "/v1/orgs/{org}/users", body: `{"addresses":["x@a.example"]}`, want: 403},
		{name: "admin lists grants", who: admin, method: "GET", path: "/v1/orgs/{org}/grants", want: 200, check: has(`"role":"orgadmin"`)},
		{name: "support cannot list grants", who: support, method: "GET", path: "/v1/orgs/{org}/grants", want: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			code, body, hdr := f.call(t, tc.who(f), tc.method, dashboard.Prefix+tc.path, tc.body, true)
			if code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", code, tc.want, body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			if tc.check != nil {
				tc.check(t, f, body)
			}
		})
	}
}

func user(f *fixture) access.Principal    { return f.user }
func peer(f *fixture) access.Principal    { return f.peer }
func admin(f *fixture) access.Principal   { return f.admin }
func support(f *fixture) access.Principal { return f.support }
func other(f *fixture) access.Principal   { return f.other }

func TestSyncNowReachesTheQueueAndDebounces(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	code, body, _ := f.call(t, f.user, "POST", dashboard.Prefix+"/v1/me/sync-now", "", true)
	if code != http.StatusAccepted || !strings.Contains(body, `"queued":true`) {
		t.Fatalf("first sync-now: %d %s, want 202 queued", code, body)
	}
	// The first session may already be running: a second click queues one
	// more for the end of the debounce window; a third is covered by it.
	code, body, _ = f.call(t, f.user, "POST", dashboard.Prefix+"/v1/me/sync-now", "", true)
	if code != http.StatusAccepted || !strings.Contains(body, `"queued":true`) {
		t.Fatalf("second sync-now: %d %s, want 202 queued (deferred)", code, body)
	}
	code, body, _ = f.call(t, f.user, "POST", dashboard.Prefix+"/v1/me/sync-now", "", true)
	if code != http.StatusOK || !strings.Contains(body, `"debounced":true`) {
		t.Fatalf("third sync-now: %d %s, want 200 debounced", code, body)
	}
	msgs, err := f.q.Dequeue(ctx, schedule.SessionsQueue, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages visible on the queue, want 1 (the deferred one waits)", len(msgs))
	}
	req, err := schedule.DecodeRequest(msgs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if req.User != f.user.User || req.Reason != schedule.Manual {
		t.Errorf("queued %+v, want a manual request for the user", req)
	}
}

func TestDeleteAccountAPI(t *testing.T) {
	f := newFixture(t)
	code, body, hdr := f.call(t, f.user, "DELETE", dashboard.Prefix+"/v1/me", "", true)
	if code != http.StatusNoContent {
		t.Fatalf("DELETE /v1/me: %d %s", code, body)
	}
	if !strings.Contains(hdr.Get("Set-Cookie"), testCookie+"=;") {
		t.Errorf("the session was not ended: Set-Cookie %q", hdr.Get("Set-Cookie"))
	}
	if _, err := f.acc.Profile(context.Background(), f.user.User); err == nil {
		t.Error("the profile survived account deletion")
	}
	if _, err := f.conns.List(context.Background(), f.user.User); err != nil {
		t.Fatal(err)
	}
	// The signed-out user no longer reaches anything.
	code, _, _ = f.call(t, f.user, "GET", dashboard.Prefix+"/v1/me/status", "", false)
	if code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("status after deletion: %d, want 401 or 403", code)
	}
}

// TestNoSecretInResponses reads every GET route as the user and the admin
// and scans the answers for the seeded refresh tokens and every sealed value
// in storage.
func TestNoSecretInResponses(t *testing.T) {
	f := newFixture(t)
	secrets := []string{refreshToken, sfPassword}
	for _, table := range []string{"connections", account.SettingsTable, account.ProfilesTable} {
		page, err := f.tables.Query(context.Background(), table, tableQuery())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entities {
			for _, v := range e.Properties {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "v") && strings.Contains(s, ".") && len(s) > 20 {
					secrets = append(secrets, s)
				}
			}
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("found only %d secrets to look for; the scan proves nothing", len(secrets))
	}
	for _, rt := range dashboard.Routes() {
		if rt.Method != http.MethodGet || strings.Contains(rt.Path, "/auth/") || strings.Contains(rt.Path, "{file}") || strings.Contains(rt.Path, "/connect/") {
			continue
		}
		for _, who := range []access.Principal{f.user, f.admin} {
			_, body, hdr := f.call(t, who, rt.Method, rt.Path, "", false)
			for _, s := range secrets {
				if strings.Contains(body, s) || strings.Contains(hdr.Get("Set-Cookie"), s) {
					t.Errorf("%s as %s: the response carries a secret", rt.Key(), who.User)
				}
			}
			var v any
			if strings.Contains(rt.Path, "/v1/") && json.Unmarshal([]byte(body), &v) != nil {
				t.Errorf("%s: not JSON: %s", rt.Key(), body)
			}
		}
	}
}

func TestNewNamesMissingDeps(t *testing.T) {
	_, err := dashboard.New(dashboard.Deps{})
	if err == nil {
		t.Fatal("New without dependencies succeeded")
	}
	for _, name := range []string{"Accounts", "Scheduler", "Connections", "Tables", "Checker", "Directory", "CSRF", "Authenticate"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// TestAPICustomFieldsKeptUnlessSent: a settings document without a kind's
// customFields (a client that predates them) keeps the stored mappings; an
// empty list removes them.
func TestAPICustomFieldsKeptUnlessSent(t *testing.T) {
	f := newFixture(t)
	put := func(body string) string {
		t.Helper()
		code, got, _ := f.call(t, f.user, "PUT", dashboard.Prefix+"/v1/me/settings", body, true)
		if code != 200 {
			t.Fatalf("PUT %s: %d %s", body, code, got)
		}
		return got
	}
	mapping := `{"crm":"Region__c","mailbox":"extended:Region"}`
	put(`{"kinds":{"contact":{"customFields":[` + mapping + `]}}}`)
	if got := put(`{"kinds":{"contact":{"direction":"both"}}}`); !strings.Contains(got, mapping) {
		t.Errorf("a document without customFields dropped the mapping: %s", got)
	}
	if got := put(`{"kinds":{"contact":{"customFields":[]}}}`); !strings.Contains(got, `"newItems":"all","customFields":[]`) {
		t.Errorf("an empty list kept the mapping: %s", got)
	}
}
