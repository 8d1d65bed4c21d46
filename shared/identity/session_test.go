package identity_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/identity"
)

func TestTamperedCookiesAreRejected(t *testing.T) {
	f := newFixture(t)
	good := f.signIn(t, "entra", userA)
	other, err := identity.NewSessions(identity.SessionConfig{Key: []byte(strings.Repeat("k", 32)), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := other.Start(rec, access.Principal{User: "u-evil", Org: tenantA}); err != nil {
		t.Fatal(err)
	}
	otherKeyValue := rec.Result().Cookies()[0].Value
	parts := strings.Split(good.Value, ".")
	_, pendingCookies := f.startLogin(t, "entra", userA)
	tests := []struct {
		name  string
		value string
	}{
		{"payload byte flipped", parts[0] + "." + flip(parts[1]) + "." + parts[2]},
		{"signature byte flipped", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"signature dropped", parts[0] + "." + parts[1]},
		{"unknown version", "v2." + parts[1] + "." + parts[2]},
		{"signed with another key", otherKeyValue},
		{"a pending-login cookie", pendingCookies[0].Value},
		{"empty", ""},
		{"garbage", "%%%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.sessions.Decode(tt.value); err == nil {
				t.Fatal("Decode accepted it")
			}
			rec := f.serve("GET", "/api/me", []*http.Cookie{{Name: "__Host-crmsync", Value: tt.value}}, nil)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("GET /api/me = %d, want 401", rec.Code)
			}
		})
	}
	if rec := f.serve("GET", "/api/me", []*http.Cookie{good}, nil); rec.Code != 200 {
		t.Errorf("the untouched cookie: %d, want 200", rec.Code)
	}
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestSessionExpiry(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t)
		c := f.signIn(t, "entra", userA)
		f.clock.Advance(time.Hour)
		if rec := f.serve("GET", "/api/me", []*http.Cookie{c}, nil); rec.Code != 401 {
			t.Errorf("after an idle hour: %d, want 401", rec.Code)
		}
	})
	t.Run("renewed while used, until the absolute limit", func(t *testing.T) {
		f := newFixture(t)
		c := f.signIn(t, "entra", userA)
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-30*time.Minute; elapsed += 30 * time.Minute {
			f.clock.Advance(30 * time.Minute)
			rec := f.serve("GET", "/api/me", []*http.Cookie{c}, nil)
			if rec.Code != 200 {
				t.Fatalf("at %v: %d, want 200", elapsed+30*time.Minute, rec.Code)
			}
			renewed := rec.Result().Cookies()
			if len(renewed) != 1 || renewed[0].Value == c.Value {
				t.Fatalf("at %v: the session was not renewed", elapsed+30*time.Minute)
			}
			c = renewed[0]
		}
		f.clock.Advance(30 * time.Minute)
		if rec := f.serve("GET", "/api/me", []*http.Cookie{c}, nil); rec.Code != 401 {
			t.Errorf("after 12 h: %d, want 401", rec.Code)
		}
	})
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.signIn(t, "entra", userA)
	rec := f.serve("GET", "/api/csrf", []*http.Cookie{c}, nil)
	var got struct {
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.CSRFToken == "" {
		t.Fatalf("GET /api/csrf: %d %s", rec.Code, rec.Body)
	}
	token := got.CSRFToken
	tests := []struct {
		name       string
		hdr        map[string]string
		form       string
		wantStatus int
	}{
		{"missing token", nil, "", 403},
		{"wrong token", map[string]string{"X-CSRF-Token": "nope"}, "", 403},
		{"header token", map[string]string{"X-CSRF-Token": token}, "", 200},
		{"form token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "csrf_token=" + url.QueryEscape(token), 200},
		{"same origin", map[string]string{"X-CSRF-Token": token, "Origin": appOrigin, "Sec-Fetch-Site": "same-origin"}, "", 200},
		{"other origin", map[string]string{"X-CSRF-Token": token, "Origin": "https://evil.test"}, "", 403},
		{"cross-site fetch", map[string]string{"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}, "", 403},
		{"same-site fetch", map[string]string{"X-CSRF-Token": token, "Sec-Fetch-Site": "same-site"}, "", 403},
		// What Chromium sends on a same-origin form post under the pages'
		// strict-origin-when-cross-origin policy.
		{"browser form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": appOrigin, "Sec-Fetch-Site": "same-origin"},
			"csrf_token=" + url.QueryEscape(token), 200},
		// Origin: null (a no-referrer page, a sandboxed frame) proves
		// nothing either way: only the token lets it through.
		{"null origin with token", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "null", "Sec-Fetch-Site": "same-origin"},
			"csrf_token=" + url.QueryEscape(token), 200},
		{"null origin without token", map[string]string{"Origin": "null"}, "", 403},
		{"null origin with a wrong token", map[string]string{"Origin": "null", "X-CSRF-Token": "nope"}, "", 403},
		{"null origin from a cross-site frame", map[string]string{"Origin": "null", "Sec-Fetch-Site": "cross-site", "X-CSRF-Token": token}, "", 403},
		{"cross-site form post with token", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site"},
			"csrf_token=" + url.QueryEscape(token), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/me/settings", strings.NewReader(tt.form))
			req.AddCookie(c)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.app.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("POST = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
		})
	}
	// Another session's token does not fit this session.
	c2 := f.signIn(t, "entra", userA)
	rec = f.serve("POST", "/api/me/settings", []*http.Cookie{c2}, map[string]string{"X-CSRF-Token": token})
	if rec.Code != 403 {
		t.Errorf("token of another session: %d, want 403", rec.Code)
	}
}

func TestNewSessionsValidates(t *testing.T) {
	if _, err := identity.NewSessions(identity.SessionConfig{Key: []byte("short")}); err == nil {
		t.Error("a 5-byte key was accepted")
	}
	if _, err := identity.NewSessions(identity.SessionConfig{Key: sessionKey, Origins: []string{"https://app.test/path"}}); err == nil {
		t.Error("an origin with a path was accepted")
	}
}
