package connect_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

func TestSalesforceWebServerFlow(t *testing.T) {
	w := newWorld(t)
	b := w.browser(testUser)
	end := b.connectSalesforce()
	if p, res, msg := result(end); p != "salesforce" || res != "ok" {
		t.Fatalf("overview got connect=%s result=%s message=%q, want salesforce ok", p, res, msg)
	}
	got, err := w.store.Get(context.Background(), testUser, connection.Salesforce)
	if err != nil {
		t.Fatal(err)
	}
	want := connection.Connection{User: testUser, Provider: connection.Salesforce, Tenant: w.sf.OrgID(),
		InstanceURL: w.sfSrv.URL, Flow: connection.FlowAuthCode, Scopes: []string{"api", "refresh_token", "offline_access"},
		Status: connection.Connected}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(connection.Connection{}, "Updated")); diff != "" {
		t.Errorf("saved connection (-want +got):\n%s", diff)
	}
	// The stored refresh token works: the sync's token source refreshes with it.
	ts, err := w.store.TokenSource(context.WithValue(context.Background(), oauth2HTTPClient(), w.sfSrv.Client()),
		testUser, connection.Salesforce, sfConfig(w))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Errorf("refreshing with the stored token: %v", err)
	}
	if got, want := w.onConnectedCalls(), []string{testUser}; !cmp.Equal(got, want) {
		t.Errorf("OnConnected calls = %v, want %v", got, want)
	}
}

func TestMicrosoftAuthCodeFlow(t *testing.T) {
	w := newWorld(t)
	w.graph.AddMailbox("someone@acme.example", "Someone")
	id := w.graph.AddMailbox("alice@acme.example", "Alice")
	b := w.browser(testUser)
	end := b.get(w.app.URL + connect.DefaultPrefix + "/microsoft?login_hint=" + url.QueryEscape("alice@acme.example"))
	if p, res, msg := result(end); p != "microsoft" || res != "ok" {
		t.Fatalf("overview got connect=%s result=%s message=%q, want microsoft ok", p, res, msg)
	}
	got, err := w.store.Get(context.Background(), testUser, connection.Microsoft)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant != msTenant || got.Flow != connection.FlowAuthCode || got.Status != connection.Connected {
		t.Errorf("saved %+v, want tenant %s, auth_code, connected", got, msTenant)
	}
	// The refresh token belongs to the mailbox the user picked.
	ts, err := w.store.TokenSource(context.Background(), testUser, connection.Microsoft, msConfig(w))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, w.graphSr.URL+"/v1.0/me", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ ID string }
	decodeJSON(t, resp, &me)
	if me.ID != id {
		t.Errorf("the stored token reaches mailbox %s, want %s", me.ID, id)
	}
}

func TestCallbackRefusals(t *testing.T) {
	tests := []struct {
		name string
		// tamper changes the callback request the browser is about to send.
		tamper func(w *world, b *browser, u *url.URL)
		want   string
	}{
		{"forged state", func(w *world, b *browser, u *url.URL) {
			q := u.Query()
			q.Set("state", strings.Repeat("f", 64))
			u.RawQuery = q.Encode()
		}, "does not belong to this browser"},
		{"no cookie", func(w *world, b *browser, u *url.URL) {
			b.client.Jar = jarWith(w, "test-user", testUser)
		}, "No connection to Salesforce was started in this browser"},
		{"another signed-in user", func(w *world, b *browser, u *url.URL) {
			app, _ := url.Parse(w.app.URL)
			b.client.Jar.SetCookies(app, []*http.Cookie{{Name: "test-user", Value: "u-mallory", Path: "/", Secure: true}})
		}, "started by another crmsync account"},
		{"expired", func(w *world, b *browser, u *url.URL) {
			w.advance(11 * time.Minute)
		}, "took too long"},
		{"tampered cookie", func(w *world, b *browser, u *url.URL) {
			app, _ := url.Parse(w.app.URL)
			for _, c := range b.client.Jar.Cookies(app) {
				if strings.HasPrefix(c.Name, "__Host-") {
					v := []byte(c.Value)
					v[len(v)-3] ^= 1
					b.client.Jar.SetCookies(app, []*http.Cookie{{Name: c.Name, Value: string(v), Path: "/", Secure: true}})
				}
			}
		}, "No connection to Salesforce was started in this browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			b := w.browser(testUser)
			b.rewrite = func(u *url.URL) {
				if strings.HasSuffix(u.Path, "/salesforce/callback") && b.rewrite != nil {
					b.rewrite = nil
					tt.tamper(w, b, u)
				}
			}
			end := b.connectSalesforce()
			if end.status != http.StatusBadRequest || !strings.Contains(end.body, tt.want) {
				t.Errorf("callback answered %d %q, want 400 saying %q", end.status, end.body, tt.want)
			}
			if _, err := w.store.Get(context.Background(), testUser, connection.Salesforce); !errors.Is(err, connection.ErrNotFound) {
				t.Errorf("after a refused callback Get = %v, want ErrNotFound (nothing saved)", err)
			}
			if calls := w.onConnectedCalls(); len(calls) != 0 {
				t.Errorf("OnConnected called %v after a refused callback", calls)
			}
		})
	}
}

func TestStateReplayRejected(t *testing.T) {
	w := newWorld(t)
	b := w.browser(testUser)
	var callback *url.URL
	var cookie *http.Cookie
	app, _ := url.Parse(w.app.URL)
	b.rewrite = func(u *url.URL) {
		if strings.HasSuffix(u.Path, "/salesforce/callback") && callback == nil {
			callback = cloneURL(u)
			for _, c := range b.client.Jar.Cookies(app) {
				if strings.HasPrefix(c.Name, "__Host-crmsync-connect-") {
					cookie = c
				}
			}
		}
	}
	if _, res, msg := result(b.connectSalesforce()); res != "ok" {
		t.Fatalf("first connect: %s %q", res, msg)
	}
	if callback == nil || cookie == nil {
		t.Fatal("the callback URL or the pending cookie was not seen")
	}
	// An attacker (or a double click) replays the same answer with the
	// same cookie: the state was consumed.
	b.client.Jar.SetCookies(app, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/", Secure: true}})
	end := b.get(callback.String())
	if end.status != http.StatusBadRequest || !strings.Contains(end.body, "already used") {
		t.Errorf("replayed callback answered %d %q, want 400 saying it was already used", end.status, end.body)
	}
	if got := w.onConnectedCalls(); len(got) != 1 {
		t.Errorf("OnConnected calls = %v, want one", got)
	}
}

func TestPKCEVerifierMismatch(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		wantCode string
	}{
		{"salesforce", "salesforce", "invalid_request"},
		{"microsoft", "microsoft", "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.graph.AddMailbox("alice@acme.example", "Alice")
			b := w.browser(testUser)
			// Someone swaps the challenge on the way to the provider, so the
			// verifier crmsync holds no longer matches.
			b.rewrite = func(u *url.URL) {
				if strings.HasSuffix(u.Path, "/authorize") && u.Query().Get("code_challenge") != "" {
					q := u.Query()
					q.Set("code_challenge", strings.Repeat("A", 43))
					u.RawQuery = q.Encode()
				}
			}
			end := b.get(w.app.URL + connect.DefaultPrefix + "/" + tt.provider)
			if tt.provider == "salesforce" {
				end = b.loginSalesforce(end, sfUsername, w.sfPw)
			}
			p, res, msg := result(end)
			if p != tt.provider || res != "error" || !strings.Contains(msg, tt.wantCode) {
				t.Errorf("overview got connect=%s result=%s message=%q, want an error naming %s", p, res, msg, tt.wantCode)
			}
			if _, err := w.store.Get(context.Background(), testUser, connection.Provider(tt.provider)); !errors.Is(err, connection.ErrNotFound) {
				t.Errorf("Get = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestProviderErrorShownOnOverview(t *testing.T) {
	w := newWorld(t)
	b := w.browser(testUser)
	b.rewrite = func(u *url.URL) {
		// The user clicks "Deny": Salesforce redirects back with an error
		// and a description crmsync must not echo.
		if strings.HasSuffix(u.Path, "/salesforce/callback") && u.Query().Get("code") != "" {
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "<script>alert(1)</script>")
			u.RawQuery = q.Encode()
		}
	}
	_, res, msg := result(b.connectSalesforce())
	if res != "error" || !strings.Contains(msg, "You declined the connection at Salesforce") || strings.Contains(msg, "script") {
		t.Errorf("overview result=%s message=%q, want the fixed access_denied sentence", res, msg)
	}
}

func TestSalesforcePasswordFlow(t *testing.T) {
	tests := []struct {
		name      string
		block     string
		password  string
		csrf      string
		status    int
		wantError string
		wantMsg   string
	}{
		{"allowed", "", "", csrfGood, http.StatusOK, "", ""},
		{"org blocks the flow", "unsupported_grant_type", "", csrfGood, http.StatusBadRequest, "flow_blocked",
			"Your org blocks the username-password flow. Use Connect with Salesforce instead."},
		{"blocked or wrong password", "invalid_grant", "", csrfGood, http.StatusBadRequest, "password_refused", "Use Connect with Salesforce"},
		{"wrong password", "", "wrong", csrfGood, http.StatusBadRequest, "password_refused", "security token"},
		{"no CSRF token", "", "", "", http.StatusForbidden, "csrf", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.blockPwd = tt.block
			pw := w.sfPw
			if tt.password != "" {
				pw = tt.password
			}
			b := w.browser(testUser)
			status, body := b.postJSON("/salesforce/password", tt.csrf, map[string]string{"username": sfUsername, "password": pw})
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, body, tt.status)
			}
			_, err := w.store.Get(context.Background(), testUser, connection.Salesforce)
			if tt.wantError == "" {
				if err != nil {
					t.Fatalf("Get after a password connect: %v", err)
				}
				cred, _ := w.store.Credentials(context.Background(), testUser, connection.Salesforce)
				if cred.Username != sfUsername || cred.Password != w.sfPw {
					t.Errorf("stored credentials are not what the user typed")
				}
				return
			}
			if body["error"] != tt.wantError || !strings.Contains(body["message"].(string), tt.wantMsg) {
				t.Errorf("answer %v, want error %s with a message containing %q", body, tt.wantError, tt.wantMsg)
			}
			if !errors.Is(err, connection.ErrNotFound) {
				t.Errorf("Get = %v, want ErrNotFound (nothing saved)", err)
			}
		})
	}
}

func TestAdminJWTBearer(t *testing.T) {
	w := newWorld(t)
	b := w.browser("u-admin")
	status, body := b.postJSON("/admin/salesforce/jwt", csrfGood, map[string]any{"lines": []string{
		"alice@acme.example",                    // Salesforce username = address
		"bob@acme.example, nobody@acme.example", // no such Salesforce user
		"stranger@other.example",                // not a crmsync user of the org
		"carol@acme.example, not a username",    // bad username
	}})
	if status != http.StatusOK {
		t.Fatalf("status %d %v", status, body)
	}
	results := body["results"].([]any)
	wantErr := []string{"", "pre-authorized", "provision it first", "not e-mail shaped"}
	for i, r := range results {
		e, _ := r.(map[string]any)["error"].(string)
		if wantErr[i] == "" && e != "" || !strings.Contains(e, wantErr[i]) {
			t.Errorf("line %d error %q, want %q", i+1, e, wantErr[i])
		}
	}
	got, err := w.store.Get(context.Background(), testUser, connection.Salesforce)
	if err != nil {
		t.Fatal(err)
	}
	if got.Flow != connection.FlowJWTBearer || got.Tenant != w.sf.OrgID() || got.InstanceURL != w.sfSrv.URL {
		t.Errorf("saved %+v, want a jwt_bearer connection to the org", got)
	}
	if cred, _ := w.store.Credentials(context.Background(), testUser, connection.Salesforce); cred.Username != sfUsername {
		t.Errorf("stored username %q, want %q", cred.Username, sfUsername)
	}
	for _, u := range []string{"u-bob", "u-carol"} {
		if _, err := w.store.Get(context.Background(), u, connection.Salesforce); !errors.Is(err, connection.ErrNotFound) {
			t.Errorf("%s: Get = %v, want ErrNotFound", u, err)
		}
	}
	if got, want := w.onConnectedCalls(), []string{testUser}; !cmp.Equal(got, want) {
		t.Errorf("OnConnected calls = %v, want %v", got, want)
	}
}

func TestAdminAppOnlyOnboarding(t *testing.T) {
	w := newWorld(t)
	w.graph.AddMailbox("alice@acme.example", "Alice")
	w.graph.AddMailbox("bob@acme.example", "Bob")
	b := w.browser("u-admin")
	status, body := b.postJSON("/admin/microsoft/app-only", csrfGood, map[string]any{"lines": []string{
		"alice@acme.example",
		"dave@acme.example", // a crmsync user without a mailbox in the tenant
		"",
		"bob@acme.example",
		"not-an-address",
	}})
	if status != http.StatusOK {
		t.Fatalf("status %d %v", status, body)
	}
	type line struct {
		Line  int
		User  string
		Error string
	}
	var got []line
	for _, r := range body["results"].([]any) {
		m := r.(map[string]any)
		e, _ := m["error"].(string)
		u, _ := m["user"].(string)
		got = append(got, line{int(m["line"].(float64)), u, e})
	}
	want := []line{
		{1, testUser, ""},
		{2, "u-dave", "no mailbox with this address in the tenant"},
		{4, "u-bob", ""},
		{5, "", "not an e-mail address"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per-line results (-want +got):\n%s", diff)
	}
	for user, upn := range map[string]string{testUser: "alice@acme.example", "u-bob": "bob@acme.example"} {
		c, err := w.store.Get(context.Background(), user, connection.Microsoft)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if c.Flow != connection.FlowClientCredentials || c.Tenant != msTenant {
			t.Errorf("%s: saved %+v, want client_credentials in %s", user, c, msTenant)
		}
		if cred, _ := w.store.Credentials(context.Background(), user, connection.Microsoft); cred.Username != upn {
			t.Errorf("%s: stored mailbox %q, want %q", user, cred.Username, upn)
		}
	}
	if _, err := w.store.Get(context.Background(), "u-dave", connection.Microsoft); !errors.Is(err, connection.ErrNotFound) {
		t.Errorf("u-dave: Get = %v, want ErrNotFound", err)
	}
}

func TestReconnectAfterNeedsReconnect(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, res, msg := result(w.browser(testUser).connectSalesforce()); res != "ok" {
		t.Fatalf("first connect: %q", msg)
	}
	first, _ := w.store.Credentials(ctx, testUser, connection.Salesforce)
	if err := w.store.MarkNeedsReconnect(ctx, testUser, connection.Salesforce, "expired access/refresh token"); err != nil {
		t.Fatal(err)
	}
	if _, res, msg := result(w.browser(testUser).connectSalesforce()); res != "ok" {
		t.Fatalf("reconnect: %q", msg)
	}
	c, err := w.store.Get(ctx, testUser, connection.Salesforce)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != connection.Connected || c.StatusReason != "" {
		t.Errorf("after reconnect status %s (%q), want connected", c.Status, c.StatusReason)
	}
	second, _ := w.store.Credentials(ctx, testUser, connection.Salesforce)
	if second.RefreshToken == first.RefreshToken {
		t.Error("the reconnect kept the old refresh token")
	}
	if got, want := w.onConnectedCalls(), []string{testUser, testUser}; !cmp.Equal(got, want) {
		t.Errorf("OnConnected calls = %v, want %v", got, want)
	}
}

func TestReconnectToAnotherOrgRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.store.Save(ctx, connection.Connection{User: testUser, Provider: connection.Salesforce, Tenant: "00D000000000OTHER",
		InstanceURL: "https://other.my.salesforce.com", Flow: connection.FlowAuthCode}, connection.Credentials{RefreshToken: secret("RT")}); err != nil {
		t.Fatal(err)
	}
	_, res, msg := result(w.browser(testUser).connectSalesforce())
	if res != "error" || !strings.Contains(msg, "another Salesforce org") {
		t.Errorf("overview result=%s message=%q, want a refusal naming another org", res, msg)
	}
	if c, _ := w.store.Get(ctx, testUser, connection.Salesforce); c.Tenant != "00D000000000OTHER" {
		t.Errorf("tenant now %s, want the old connection untouched", c.Tenant)
	}
}

func TestOnConnectedFailureIsReported(t *testing.T) {
	w := newWorld(t)
	w.resumeErr = context.DeadlineExceeded
	_, res, msg := result(w.browser(testUser).connectSalesforce())
	if res != "error" || !strings.Contains(msg, "sync could not be resumed") {
		t.Errorf("overview result=%s message=%q, want connected-but-not-resumed", res, msg)
	}
	if _, err := w.store.Get(context.Background(), testUser, connection.Salesforce); err != nil {
		t.Errorf("the connection should stay saved: %v", err)
	}
}

func TestRoutesNeedSignInAndCSRF(t *testing.T) {
	w := newWorld(t)
	anon := w.browser("")
	tests := []struct {
		name   string
		b      *browser
		method string
		path   string
		csrf   string
		want   int
	}{
		{"start anonymous", anon, "GET", "/salesforce", "", http.StatusUnauthorized},
		{"unknown provider", w.browser(testUser), "GET", "/dropbox", "", http.StatusNotFound},
		{"password anonymous", anon, "POST", "/salesforce/password", csrfGood, http.StatusUnauthorized},
		{"jwt without csrf", w.browser("u-admin"), "POST", "/admin/salesforce/jwt", "wrong", http.StatusForbidden},
		{"app-only without csrf", w.browser("u-admin"), "POST", "/admin/microsoft/app-only", "", http.StatusForbidden},
		{"app-only empty list", w.browser("u-admin"), "POST", "/admin/microsoft/app-only", csrfGood, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, w.app.URL+connect.DefaultPrefix+tt.path, strings.NewReader(`{"lines":[]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", tt.csrf)
			if got := tt.b.do(req); got.status != tt.want {
				t.Errorf("%s %s = %d %q, want %d", tt.method, tt.path, got.status, got.body, tt.want)
			}
		})
	}
}

// TestNoSecretLeaks runs every flow and then looks for each credential —
// access, refresh and id tokens as issued, the password, the client
// secrets — in every log line and everything the app sent a browser.
func TestNoSecretLeaks(t *testing.T) {
	w := newWorld(t)
	w.graph.AddMailbox("alice@acme.example", "Alice")
	w.graph.AddMailbox("bob@acme.example", "Bob")
	user := w.browser(testUser)
	admin := w.browser("u-admin")
	if _, res, msg := result(user.connectSalesforce()); res != "ok" {
		t.Fatalf("salesforce: %q", msg)
	}
	if _, res, msg := result(user.get(w.app.URL + connect.DefaultPrefix + "/microsoft?login_hint=alice%40acme.example")); res != "ok" {
		t.Fatalf("microsoft: %q", msg)
	}
	w.store.MarkNeedsReconnect(context.Background(), testUser, connection.Salesforce, "revoked")
	if _, res, msg := result(user.connectSalesforce()); res != "ok" {
		t.Fatalf("reconnect: %q", msg)
	}
	user.postJSON("/salesforce/password", csrfGood, map[string]string{"username": sfUsername, "password": w.sfPw})
	w.blockPwd = "unsupported_grant_type"
	user.postJSON("/salesforce/password", csrfGood, map[string]string{"username": sfUsername, "password": w.sfPw})
	admin.postJSON("/admin/salesforce/jwt", csrfGood, map[string]any{"lines": []string{"alice@acme.example"}})
	admin.postJSON("/admin/microsoft/app-only", csrfGood, map[string]any{"lines": []string{"bob@acme.example", "nobody@acme.example"}})

	secrets := append(w.seen.all(), w.sfPw, sfClientSecret, msClientSecret)
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets seen; the flows did not run", len(secrets))
	}
	logs := w.logs.String()
	sent := user.fromApp.String() + admin.fromApp.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log line holds a secret (%.12s…)", s)
		}
		if strings.Contains(sent, s) {
			t.Errorf("a response to the browser holds a secret (%.12s…)", s)
		}
	}
	if strings.Contains(logs, sfUsername) || strings.Contains(logs, "bob@acme.example") {
		t.Error("a log line holds an e-mail address")
	}
}
