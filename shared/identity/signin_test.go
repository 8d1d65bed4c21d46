package identity_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
)

func TestSignInEntraCreatesUserAndSession(t *testing.T) {
	f := newFixture(t)
	cb, cookies := f.startLogin(t, "entra", userA)
	rec := f.serve("GET", cb, cookies, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/settings" {
		t.Fatalf("callback: %d → %q, want 303 → /settings; body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	var session *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-crmsync" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("session cookie attributes: HttpOnly=%v Secure=%v SameSite=%v Path=%q", session.HttpOnly, session.Secure, session.SameSite, session.Path)
	}
	// The cookie holds only the user, org, times and the CSRF secret.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(session.Value, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if got, want := strings.Join(keys, ","), "c,e,i,o,s,u"; got != want {
		t.Errorf("session cookie fields = %s, want %s", got, want)
	}
	sess, err := f.sessions.Decode(session.Value)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Org != tenantA || !strings.HasPrefix(sess.User, "u-") {
		t.Errorf("session = %+v, want org %s and a crmsync user id", sess, tenantA)
	}
	// Sign-up granted self: the user reaches their own routes.
	if rec := f.serve("GET", "/api/me", []*http.Cookie{session}, nil); rec.Code != 200 || rec.Body.String() != "hello "+sess.User {
		t.Errorf("GET /api/me: %d %q", rec.Code, rec.Body)
	}
	// A second sign-in maps to the same user and grants nothing new.
	grantsBefore := len(rows(t, f.tables, access.GrantsTable))
	again := f.signIn(t, "entra", userA)
	sess2, _ := f.sessions.Decode(again.Value)
	if sess2.User != sess.User {
		t.Errorf("second sign-in user = %s, want %s", sess2.User, sess.User)
	}
	if got := len(rows(t, f.tables, access.GrantsTable)); got != grantsBefore {
		t.Errorf("grant rows %d → %d on a repeat sign-in", grantsBefore, got)
	}
}

func TestSignInSalesforce(t *testing.T) {
	f := newFixture(t)
	c := f.signIn(t, "salesforce", sfUser)
	sess, err := f.sessions.Decode(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Org != sfOrg {
		t.Errorf("org = %s, want the Salesforce org id %s", sess.Org, sfOrg)
	}
}

func TestSignInRefusals(t *testing.T) {
	tests := []struct {
		name       string
		provider   string
		user       string
		tamper     func(cb string, cookies []*http.Cookie) (string, []*http.Cookie)
		wantStatus int
	}{
		{"tenant not allowed", "entra", userB, nil, http.StatusUnauthorized},
		{"no pending cookie", "entra", userA, func(cb string, _ []*http.Cookie) (string, []*http.Cookie) { return cb, nil }, http.StatusBadRequest},
		{"state from another browser", "entra", userA, func(cb string, c []*http.Cookie) (string, []*http.Cookie) {
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", strings.Repeat("0", 64))
			u.RawQuery = q.Encode()
			return u.RequestURI(), c
		}, http.StatusBadRequest},
		{"tampered pending cookie", "entra", userA, func(cb string, c []*http.Cookie) (string, []*http.Cookie) {
			c[0].Value = c[0].Value[:20] + "x" + c[0].Value[21:]
			return cb, c
		}, http.StatusBadRequest},
		{"pending cookie of the other provider", "entra", userA, func(cb string, c []*http.Cookie) (string, []*http.Cookie) {
			return strings.Replace(cb, "/entra/", "/salesforce/", 1), c
		}, http.StatusBadRequest},
		{"provider refused", "entra", userA, func(cb string, c []*http.Cookie) (string, []*http.Cookie) {
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			u.RawQuery = q.Encode()
			return u.RequestURI(), c
		}, http.StatusUnauthorized},
		{"code not from the provider", "entra", userA, func(cb string, c []*http.Cookie) (string, []*http.Cookie) {
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("code", "forged")
			u.RawQuery = q.Encode()
			return u.RequestURI(), c
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cb, cookies := f.startLogin(t, tt.provider, tt.user)
			if tt.tamper != nil {
				cb, cookies = tt.tamper(cb, cookies)
			}
			rec := f.serve("GET", cb, cookies, nil)
			if rec.Code != tt.wantStatus {
				t.Fatalf("callback: %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for _, c := range rec.Result().Cookies() {
				if c.Name == "__Host-crmsync" && c.Value != "" {
					t.Errorf("a refused sign-in set a session cookie")
				}
			}
			if n := len(rows(t, f.tables, identity.UsersTable)); n != 0 {
				t.Errorf("users table has %d rows after a refused sign-in, want 0", n)
			}
		})
	}
}

func TestReplayedStateIsRefused(t *testing.T) {
	f := newFixture(t)
	cb, cookies := f.startLogin(t, "entra", userA)
	if rec := f.serve("GET", cb, cookies, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("first callback: %d %s", rec.Code, rec.Body)
	}
	// The attacker replays the same response, cookie included.
	rec := f.serve("GET", cb, cookies, nil)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "already used") {
		t.Errorf("replayed callback: %d %s, want 400 already used", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-crmsync" && c.Value != "" {
			t.Errorf("the replay got a session")
		}
	}
}

func TestSweepDropsAbandonedSignIns(t *testing.T) {
	f := newFixture(t)
	f.startLogin(t, "entra", userA) // never finished
	f.clock.Advance(3 * time.Hour)
	n, err := f.signin.Sweep(context.Background(), f.clock.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 row", n, err)
	}
	if rows := rows(t, f.tables, identity.StateTable); len(rows) != 0 {
		t.Errorf("state rows after sweep: %d", len(rows))
	}
}

func TestOpenRedirectIsRefused(t *testing.T) {
	f := newFixture(t)
	for _, ret := range []string{"https://evil.test/", "//evil.test/", "/\\evil.test", "/\t/evil.test", "/\n/evil.test", "/%09/evil.test", "/\\/evil.test"} {
		rec := f.serve("GET", "/auth/entra/login?return="+url.QueryEscape(ret), nil, nil)
		cookies := rec.Result().Cookies()
		authURL, _ := url.Parse(rec.Header().Get("Location"))
		q := authURL.Query()
		q.Set("login_hint", userA)
		authURL.RawQuery = q.Encode()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(authURL.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, _ := url.Parse(resp.Header.Get("Location"))
		done := f.serve("GET", cb.RequestURI(), cookies, nil)
		if got := done.Header().Get("Location"); got != "/" {
			t.Errorf("return=%q redirected to %q, want /", ret, got)
		}
	}
}
