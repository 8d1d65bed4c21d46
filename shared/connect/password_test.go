package connect_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestPasswordConnection: a service connected with a host, user name and
// password (connect.Password) shows its form, refuses bad input and refused
// credentials without storing anything or echoing the password, and seals a
// checked one as a password connection, resuming sync.
func TestPasswordConnection(t *testing.T) {
	const pw = "Right-PW-5521"
	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer tables.Close()
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	store := connection.NewStore(tables, ring, connection.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	var resumed []string
	var checkedHosts []string
	h, err := connect.New(connect.Options{
		Passwords: []connect.Password{{Provider: "svc", Name: "Service", HostHint: "https://my000001.example.com",
			Check: func(_ context.Context, host, user, password string) (string, error) {
				checkedHosts = append(checkedHosts, host)
				if user != "comm" || password != pw {
					return "", errors.New("Service refused the user name and password")
				}
				return "my000001", nil
			}}},
		Connections: store, Tables: tables, StateKey: bytes.Repeat([]byte{7}, 32),
		CurrentUser: func(r *http.Request) (string, string, bool) {
			u := r.Header.Get("X-Test-User")
			return u, testOrg, u != ""
		},
		CSRF: connect.CSRFFunc(func(r *http.Request) error {
			if r.Header.Get("X-CSRF-Token") != csrfGood && r.PostFormValue("csrf_token") != csrfGood {
				return errors.New("bad csrf token")
			}
			return nil
		}),
		CSRFToken:   func(*http.Request) string { return csrfGood },
		OnConnected: func(_ context.Context, user string) error { resumed = append(resumed, user); return nil },
		Logger:      slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, ctype, body string, csrf bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, connect.DefaultPrefix+path, strings.NewReader(body))
		r.Header.Set("X-Test-User", testUser)
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if csrf {
			r.Header.Set("X-CSRF-Token", csrfGood)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	form := func(host, user, pass string) string {
		return url.Values{"host": {host}, "username": {user}, "password": {pass}, "csrf_token": {csrfGood}}.Encode()
	}
	const formType = "application/x-www-form-urlencoded"

	page := do("GET", "/svc", "", "", false)
	if page.Code != 200 || !strings.Contains(page.Body.String(), `action="`+connect.DefaultPrefix+`/password/svc"`) || !strings.Contains(page.Body.String(), csrfGood) {
		t.Fatalf("form: %d %s", page.Code, page.Body)
	}
	for _, tt := range []struct {
		name, ctype, body string
		csrf              bool
		status            int
		want              string
	}{
		{"no csrf", "application/json", `{"host":"https://my000001.example.com","username":"comm","password":"` + pw + `"}`, false, 403, "csrf"},
		{"missing password", "application/json", `{"host":"https://my000001.example.com","username":"comm"}`, true, 400, "enter the tenant URL"},
		{"clear-text host", "application/json", `{"host":"http://my000001.example.com","username":"comm","password":"` + pw + `"}`, true, 400, "https://"},
		{"host with a path", "application/json", `{"host":"https://my000001.example.com/x?y","username":"comm","password":"` + pw + `"}`, true, 400, "https://"},
		{"refused", "application/json", `{"host":"https://my000001.example.com","username":"comm","password":"Wrong-PW-8812"}`, true, 400, "refused the user name"},
	} {
		rec := do("POST", "/password/svc", tt.ctype, tt.body, tt.csrf)
		if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) || strings.Contains(rec.Body.String(), "PW-") {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, rec.Code, rec.Body, tt.status, tt.want)
		}
	}
	// A refused form post goes back to the overview with the message.
	rec := do("POST", "/password/svc", formType, form("https://my000001.example.com", "comm", "Wrong-PW-8812"), false)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.Contains(loc, "result=error") || !strings.Contains(loc, "refused") {
		t.Errorf("refused form: %d %q", rec.Code, loc)
	}
	if _, err := store.Get(t.Context(), testUser, "svc"); !errors.Is(err, connection.ErrNotFound) {
		t.Fatalf("after refusals a connection is stored: %v", err)
	}
	if len(resumed) != 0 {
		t.Fatalf("sync resumed after refusals: %v", resumed)
	}

	rec = do("POST", "/password/svc", formType, form("https://my000001.example.com/", " comm ", pw), false)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.Contains(loc, "result=ok") {
		t.Fatalf("connect: %d %q %s", rec.Code, loc, rec.Body)
	}
	c, err := store.Get(t.Context(), testUser, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenant != "my000001" || c.InstanceURL != "https://my000001.example.com" || c.Flow != connection.FlowPassword {
		t.Errorf("stored %+v", c)
	}
	cred, err := store.Credentials(t.Context(), testUser, "svc")
	if err != nil || cred.Username != "comm" || cred.Password != pw {
		t.Errorf("credentials %q / %v", cred.Username, err)
	}
	if len(resumed) != 1 || resumed[0] != testUser {
		t.Errorf("sync resumed for %v, want %s", resumed, testUser)
	}
	if strings.Contains(logs.String(), "PW-") {
		t.Errorf("a password reached the log:\n%s", logs)
	}
	if rec := do("POST", "/password/svc", "application/json", `{}`, true); rec.Code == 200 {
		t.Errorf("empty body accepted")
	}
	// Signed out: no form, no post.
	r := httptest.NewRequest("GET", connect.DefaultPrefix+"/svc", nil)
	out := httptest.NewRecorder()
	h.ServeHTTP(out, r)
	if out.Code != http.StatusUnauthorized {
		t.Errorf("signed-out form: %d", out.Code)
	}
}
