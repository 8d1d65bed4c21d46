package connect_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// withIDToken makes the local Graph's token endpoint add an id_token, as
// Entra does when openid is asked for (the fake sends none).
func withIDToken(next http.Handler, tid, oid string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			next.ServeHTTP(rw, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var m map[string]any
		if json.Unmarshal(rec.Body.Bytes(), &m) == nil && m["access_token"] != nil {
			payload, _ := json.Marshal(map[string]string{"tid": tid, "oid": oid, "aud": msClientID})
			m["id_token"] = "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(rec.Code)
		json.NewEncoder(rw).Encode(m)
	})
}

func TestMicrosoftIdentityFromIDToken(t *testing.T) {
	const otherTenant = "99999999-8888-4777-8666-555555555555"
	tests := []struct {
		name       string
		oid        func(mailboxID string) string
		wantResult string
		wantTenant string
	}{
		{"tid and oid agree with /me", func(id string) string { return id }, "ok", otherTenant},
		{"oid of another user", func(string) string { return "00000000-0000-4000-8000-00000000dead" }, "error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			id := w.graph.AddMailbox("alice@acme.example", "Alice")
			w.graphSr.Config.Handler = withIDToken(w.graph, otherTenant, tt.oid(id))
			_, res, msg := result(w.browser(testUser).get(w.app.URL + connect.DefaultPrefix + "/microsoft?login_hint=alice%40acme.example"))
			if res != tt.wantResult {
				t.Fatalf("result %s (%q), want %s", res, msg, tt.wantResult)
			}
			c, err := w.store.Get(context.Background(), testUser, connection.Microsoft)
			if tt.wantTenant == "" {
				if err == nil {
					t.Errorf("saved %+v despite the mismatch", c)
				}
				return
			}
			if err != nil || c.Tenant != tt.wantTenant {
				t.Errorf("saved tenant %q (%v), want %q from the id_token", c.Tenant, err, tt.wantTenant)
			}
		})
	}
}

func TestNewNamesEveryProblem(t *testing.T) {
	_, err := connect.New(connect.Options{Providers: []connect.Provider{&salesforce.App{ClientID: "x"}}, StateKey: []byte("short")})
	if err == nil {
		t.Fatal("New accepted an empty configuration")
	}
	for _, want := range []string{"Salesforce.LoginURL", "Salesforce.RedirectURL", "Connections", "Tables", "StateKey", "CurrentUser", "CSRF"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestSweepDropsAbandonedConnects(t *testing.T) {
	w := newWorld(t)
	b := w.browser(testUser)
	b.stopAt = func(u *url.URL) bool { return !strings.HasPrefix(u.String(), w.app.URL) }
	b.get(w.app.URL + connect.DefaultPrefix + "/salesforce")
	b.get(w.app.URL + connect.DefaultPrefix + "/microsoft")
	n, err := w.handler.Sweep(context.Background(), w.clock().Add(3*3600e9))
	if err != nil || n != 2 {
		t.Errorf("Sweep = %d, %v; want the 2 abandoned connects", n, err)
	}
}

func TestRoutesTable(t *testing.T) {
	w := newWorld(t)
	var got bytes.Buffer
	for _, r := range w.handler.Routes() {
		got.WriteString(r.Method + " " + r.Path)
		if r.Admin {
			got.WriteString(" admin")
		}
		got.WriteString("\n")
	}
	want := "GET /{provider}\nGET /{provider}/callback\nPOST /salesforce/password\nPOST /admin/salesforce/jwt admin\nPOST /admin/salesforce/integration admin\nPOST /admin/microsoft/app-only admin\n"
	if got.String() != want {
		t.Errorf("routes:\n%s\nwant:\n%s", got.String(), want)
	}
}

// TestPasswordFormWithSecurityToken posts the legacy form as a plain HTML
// form would, with the security token in its own field.
func TestPasswordFormWithSecurityToken(t *testing.T) {
	w := newWorld(t)
	b := w.browser(testUser)
	form := url.Values{"username": {sfUsername}, "password": {w.sfPw[:8]}, "security_token": {w.sfPw[8:]}}
	req, _ := http.NewRequest(http.MethodPost, w.app.URL+connect.DefaultPrefix+"/salesforce/password", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrfGood)
	if p := b.do(req); p.status != http.StatusOK {
		t.Fatalf("status %d %s", p.status, p.body)
	}
	cred, err := w.store.Credentials(context.Background(), testUser, connection.Salesforce)
	if err != nil || cred.Password != w.sfPw {
		t.Errorf("stored password is not password+token (%v)", err)
	}
	if c, _ := w.store.Get(context.Background(), testUser, connection.Salesforce); c.Flow != connection.FlowPassword {
		t.Errorf("flow %s, want password", c.Flow)
	}
}
