package connect_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// acme is a connector's provider defined outside connect, as a new vendor
// package would: connect routes its user flow and its own route without a
// line of its code naming it.
type acme struct {
	cfg  *oauth2.Config
	seen *oauth2.Token
}

func (a *acme) ID() connection.Provider { return "acme" }
func (a *acme) Name() string            { return "Acme CRM" }
func (a *acme) TenantName() string      { return "Acme tenant" }
func (a *acme) Check() []string         { return nil }
func (a *acme) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	return a.cfg, []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("audience", "crm")}
}
func (a *acme) Connection(_ context.Context, _ *connect.Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	a.seen = tok
	if tok.Extra("tenant") == "closed" {
		return connection.Connection{}, connect.Refuse(0, "closed_tenant", "The Acme tenant is closed.", "closed tenant")
	}
	return connection.Connection{User: user, Provider: "acme", Tenant: "t-1", Flow: connection.FlowAuthCode}, nil
}
func (a *acme) Routes(*connect.Handler) []connect.Route {
	return []connect.Route{{Method: "POST", Path: "/acme/ping", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})}}
}

func TestProviderPlugsIn(t *testing.T) {
	// The vendor's authorization server: it approves at once and redeems
	// any code for a token with a refresh token.
	var authorize url.Values
	tokenBody := `{"access_token":"at","refresh_token":"rt","token_type":"Bearer","expires_in":3600}`
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/authorize":
			authorize = r.URL.Query()
			back, _ := url.Parse(authorize.Get("redirect_uri"))
			back.RawQuery = url.Values{"code": {"c-1"}, "state": {authorize.Get("state")}}.Encode()
			http.Redirect(w, r, back.String(), http.StatusFound)
		case "/token":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(tokenBody))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(vendor.Close)
	var appHandler http.Handler
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { appHandler.ServeHTTP(w, r) }))
	t.Cleanup(app.Close)

	dir := t.TempDir()
	tables, err := tablestore.OpenEmbedded(filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	store := connection.NewStore(tables, ring, connection.Options{})
	prov := &acme{cfg: &oauth2.Config{ClientID: "app", ClientSecret: "s",
		Endpoint:    oauth2.Endpoint{AuthURL: vendor.URL + "/authorize", TokenURL: vendor.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: app.URL + connect.DefaultPrefix + "/acme/callback"}}
	// Salesforce and Microsoft are passed unconfigured, as the wiring does
	// when their settings are absent: their routes stay in the table.
	opts := connect.Options{Providers: []connect.Provider{(*salesforce.App)(nil), (*msgraph.App)(nil), prov}, Connections: store, Tables: tables,
		StateKey:    bytes.Repeat([]byte{7}, 32),
		CurrentUser: func(*http.Request) (string, string, bool) { return "u-1", "org-1", true },
		CSRF:        connect.CSRFFunc(func(*http.Request) error { return nil }),
		HTTPClient:  vendor.Client()}
	h, err := connect.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(connect.DefaultPrefix+"/", h)
	mux.HandleFunc("/api/dashboard/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("overview")) })
	appHandler = mux

	var paths []string
	for _, r := range h.Routes() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if got, want := strings.Join(paths, "\n"), "GET /{provider}\nGET /{provider}/callback\nPOST /salesforce/password\nPOST /admin/salesforce/jwt\nPOST /admin/salesforce/integration\nPOST /admin/microsoft/app-only\nPOST /acme/ping"; got != want {
		t.Errorf("routes:\n%s\nwant:\n%s", got, want)
	}

	jar, _ := cookiejar.New(nil)
	client := app.Client()
	client.Jar = jar
	resp, err := client.Get(app.URL + connect.DefaultPrefix + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if q := resp.Request.URL.Query(); resp.Request.URL.Path != "/api/dashboard/" || q.Get("connect") != "acme" || q.Get("result") != "ok" {
		t.Fatalf("ended at %s, want the overview with acme connected", resp.Request.URL)
	}
	if authorize.Get("code_challenge") == "" || authorize.Get("audience") != "crm" || authorize.Get("client_id") != "app" {
		t.Errorf("authorization request %v lacks PKCE or the provider's parameters", authorize)
	}
	if prov.seen == nil || prov.seen.RefreshToken != "rt" {
		t.Errorf("provider saw token %+v", prov.seen)
	}
	c, err := store.Get(context.Background(), "u-1", "acme")
	if err != nil || c.Tenant != "t-1" || c.Flow != connection.FlowAuthCode {
		t.Errorf("stored connection %+v, %v", c, err)
	}
	resp, err = client.Post(app.URL+connect.DefaultPrefix+"/acme/ping", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("provider's own route: status %d", resp.StatusCode)
	}

	// A provider's refusal reaches the user as it was worded.
	tokenBody = `{"access_token":"at","refresh_token":"rt","token_type":"Bearer","tenant":"closed"}`
	resp, err = client.Get(app.URL + connect.DefaultPrefix + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if q := resp.Request.URL.Query(); q.Get("result") != "error" || q.Get("message") != "The Acme tenant is closed." {
		t.Errorf("refused connect ended at %s", resp.Request.URL)
	}

	// Two providers with one id, or none usable, are configuration errors.
	opts.Providers = []connect.Provider{prov, prov}
	if _, err := connect.New(opts); err == nil || !strings.Contains(err.Error(), "acme given twice") {
		t.Errorf("duplicate provider: %v", err)
	}
	opts.Providers = []connect.Provider{&acme{}}
	if _, err := connect.New(opts); err == nil || !strings.Contains(err.Error(), "no provider (OAuth or password service) configured") {
		t.Errorf("no usable provider: %v", err)
	}
}
