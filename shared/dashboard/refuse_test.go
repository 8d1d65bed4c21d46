package dashboard_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
)

// TestRefusalsNegotiate: a browser (Accept: text/html) that is refused gets
// a page saying what happened and the way on; the JSON API and clients that
// do not ask for HTML get the JSON error, whatever the path.
func TestRefusalsNegotiate(t *testing.T) {
	f := newFixture(t)
	P := dashboard.Prefix
	const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		name    string
		who     access.Principal
		method  string
		path    string
		form    url.Values
		accept  string
		referer string
		status  int
		html    bool
		has     []string
	}{
		{name: "stale form token, browser", who: f.user, method: "POST", path: P + "/pause", form: url.Values{"csrf_token": {"stale"}},
			accept: browserAccept, referer: f.srv.URL + P + "/overview", status: 403, html: true,
			has: []string{"<h1>Nothing was changed</h1>", "This form is out of date", `href="/api/dashboard/overview">Open the form again`}},
		{name: "stale form token, a foreign referer is not offered", who: f.user, method: "POST", path: P + "/pause", form: url.Values{"csrf_token": {"stale"}},
			accept: browserAccept, referer: "https://evil.example/api/dashboard/x", status: 403, html: true,
			has: []string{`href="/api/dashboard/">Back to the dashboard`}},
		{name: "stale form token, API client", who: f.user, method: "POST", path: P + "/pause", form: url.Values{"csrf_token": {"stale"}},
			accept: "application/json", status: 403, has: []string{`"error":"csrf"`}},
		{name: "JSON API stays JSON for a browser", who: f.user, method: "POST", path: P + "/v1/me/pause",
			accept: browserAccept, status: 403, has: []string{`"error":"csrf"`}},
		{name: "session ended mid-form, browser", method: "POST", path: P + "/settings", form: url.Values{"csrf_token": {"x"}},
			accept: browserAccept, status: 401, html: true,
			has: []string{"<h1>Sign in</h1>", "Your session ended before this form was sent, so nothing was changed", "Sign in with Microsoft"}},
		{name: "session ended, API client", method: "POST", path: P + "/settings", accept: "application/json", status: 401,
			has: []string{`"error":"unauthenticated"`}},
		{name: "forbidden page, browser", who: f.peer, method: "GET", path: P + "/users/" + f.user.User, accept: browserAccept,
			status: 403, html: true, has: []string{"You do not have access to this."}},
		{name: "forbidden, JSON API", who: f.peer, method: "GET", path: P + "/v1/users/" + f.user.User + "/status", accept: browserAccept,
			status: 403, has: []string{`"error":"forbidden"`}},
		{name: "sign-in answer without a sign-in in progress, browser", method: "GET", path: P + "/auth/microsoft/callback?state=x&code=y",
			accept: browserAccept, status: 400, html: true,
			has: []string{"<h1>Sign-in did not finish</h1>", "No sign-in in progress in this browser", `href="/api/dashboard/">Sign in again`}},
		{name: "sign-in answer, API client", method: "GET", path: P + "/auth/microsoft/callback?state=x&code=y", status: 400,
			has: []string{`"error":"signin_failed"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.form.Encode()))
			if tc.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			if tc.referer != "" {
				req.Header.Set("Referer", tc.referer)
				req.Host = strings.TrimPrefix(f.srv.URL, "http://")
			}
			if !tc.who.Anonymous() {
				req.AddCookie(f.cookieFor(t, tc.who))
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d:\n%s", rec.Code, tc.status, body)
			}
			isHTML := strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html")
			if isHTML != tc.html {
				t.Errorf("Content-Type %q, want HTML = %v", rec.Header().Get("Content-Type"), tc.html)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the answer does not contain %q:\n%s", s, body)
				}
			}
		})
	}
	if e, _ := f.sched.Get(t.Context(), f.user.User); e.Paused {
		t.Error("a refused pause paused the user")
	}
}
