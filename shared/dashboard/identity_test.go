package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/identity"
)

// TestWithIdentitySessions serves the dashboard behind shared/identity's real
// session middleware and IdentityCSRF: the page embeds the session's CSRF
// token, a form post with it works, one without it is refused.
func TestWithIdentitySessions(t *testing.T) {
	f := newFixture(t)
	sessions, err := identity.NewSessions(identity.SessionConfig{Key: []byte(strings.Repeat("k", 32)), Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	checker := access.NewChecker(f.grants)
	h, err := dashboard.New(dashboard.Deps{
		Accounts: f.acc, Scheduler: f.sched, Connections: f.conns, Tables: f.tables, Checker: checker, Directory: f.acc,
		CSRF: dashboard.IdentityCSRF{Sessions: sessions}, Authenticate: sessions.Middleware, EndSession: sessions.End,
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	start := httptest.NewRecorder()
	sess, err := sessions.Start(start, f.user)
	if err != nil {
		t.Fatal(err)
	}
	cookies := start.Result().Cookies()
	send := func(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://crmsync.example"+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	token := sessions.CSRFToken(sess)
	page := send(http.MethodGet, dashboard.Prefix+"/overview", "")
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `name="csrf_token" value="`+token+`"`) {
		t.Fatalf("overview: status %d, or the page lacks the session's CSRF token", page.Code)
	}
	if rec := send(http.MethodPost, dashboard.Prefix+"/pause", url.Values{"csrf_token": {"forged"}}.Encode()); rec.Code != http.StatusForbidden {
		t.Errorf("pause with a forged token: status %d, want 403", rec.Code)
	}
	if rec := send(http.MethodPost, dashboard.Prefix+"/pause", url.Values{"csrf_token": {token}}.Encode()); rec.Code != http.StatusSeeOther {
		t.Errorf("pause with the session's token: status %d, want 303; body %s", rec.Code, rec.Body)
	}
	// What browsers send: this origin, or "null" under a no-referrer
	// policy (the token decides); another site is refused with the token.
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{[]string{"Origin", "https://crmsync.example", "Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
		{[]string{"Origin", "null", "Sec-Fetch-Site", "same-origin"}, http.StatusSeeOther},
		{[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{[]string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
	} {
		if rec := send(http.MethodPost, dashboard.Prefix+"/resume", url.Values{"csrf_token": {token}}.Encode(), tc.hdr...); rec.Code != tc.want {
			t.Errorf("resume with the token and %v: status %d, want %d", tc.hdr, rec.Code, tc.want)
		}
	}
}
