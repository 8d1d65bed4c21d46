package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/funchost"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/redact"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// secretSet remembers every secret value a test world handled, with what it
// was, so a test can look for each of them where none may appear.
type secretSet struct {
	mu sync.Mutex
	m  map[string]string // value → what it is
}

func (s *secretSet) add(what, value string) {
	// Short values (a state, an empty token) would match by chance.
	if len(value) < 8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	if _, ok := s.m[value]; !ok {
		s.m[value] = what
	}
}

// kinds counts the recorded secrets by kind, to show the flow recorded them.
func (s *secretSet) kinds() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, what := range s.m {
		out[what]++
	}
	return out
}

// foundIn returns "what" for every secret that occurs in text, sorted.
func (s *secretSet) foundIn(text string, skip func(what string) bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for v, what := range s.m {
		if skip != nil && skip(what) {
			continue
		}
		// JSON logs escape some characters; look for both spellings.
		enc, _ := json.Marshal(v)
		if strings.Contains(text, v) || strings.Contains(text, strings.Trim(string(enc), `"`)) {
			found = append(found, what)
		}
	}
	sort.Strings(found)
	return found
}

// recordTokens wraps a local provider's handler: it records the secrets in
// token requests (client secrets, passwords, codes, verifiers, assertions,
// refresh tokens) and token responses (access, refresh and id tokens), and
// the authorization codes in its redirects.
func recordTokens(secrets *secretSet, name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil {
				for _, k := range []string{"client_secret", "password", "code", "code_verifier", "assertion", "refresh_token"} {
					secrets.add(name+" request "+k, form.Get(k))
				}
			}
			if _, pass, ok := r.BasicAuth(); ok {
				secrets.add(name+" client secret (basic)", pass)
			}
		}
		if r.Header.Get("Authorization") != "" {
			secrets.add(name+" bearer token presented", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
		rec := &capture{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil {
			secrets.add(name+" authorization code", loc.Query().Get("code"))
		}
		var tok map[string]any
		if json.Unmarshal(rec.body.Bytes(), &tok) == nil {
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if v, ok := tok[k].(string); ok {
					secrets.add(name+" "+k, v)
				}
			}
		}
	})
}

// capture copies a response body while passing it on.
type capture struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *capture) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

// swappable is a handler set after its server has started (the servers need
// each other's URLs).
type swappable struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swappable) set(h http.Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func randomSecret(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// testWorld is the whole service as wired, over embedded storage, pointed at
// the local Salesforce, Graph and identity provider, served over HTTPS as the
// Functions host would (funchost), with its logs captured as JSON through
// the redacting handler exactly as run() sets it up.
type testWorld struct {
	t   testing.TB
	app *app
	// paneUser is the task-pane tests' signed-up user (taskPaneWorld).
	paneUser string
	handler  http.Handler // the functions' HTTP surface (funchost server)
	fns      []funchost.Function
	srv      *httptest.Server
	logs     *syncBuffer
	secrets  *secretSet
	dataDir  string
	tenant   string
	oid      string // the signing-in user's object id at the identity provider
	sf       *fakesalesforce.Server
	sfUser   string // the seeded Salesforce user's id
	graph    *fakegraph.Server
	provider *idp.Server

	entraClient, entraSecret, sfClient, sfSecret string
}

const worldTenant = "22222222-2222-4222-8222-222222222222"

// worldOptions vary a test world.
type worldOptions struct {
	// authoritySegment is the Entra authority's tenant segment: the world's
	// tenant by default (mailbox connections then know their tenant without
	// an id_token), or "organizations" to accept users of any tenant as
	// the default multi-tenant setting does.
	authoritySegment string
	// extraUsers are more identity-provider users (any tenant).
	extraUsers []idp.User
	// email is the address the identity provider states for the world's
	// user (none when empty).
	email string
	// env overrides or adds settings.
	env map[string]string
	// sfApp, when set, changes crmsync's app in the local Salesforce (a
	// JWT bearer certificate, say).
	sfApp func(*fakesalesforce.Client)
	// now, when set, is the clock of the app and the local Salesforce
	// (time.Now otherwise).
	now func() time.Time
}

// newTestWorld starts the local providers and wires the app against them.
func newTestWorld(t testing.TB, o worldOptions) *testWorld {
	t.Helper()
	w := &testWorld{t: t, logs: &syncBuffer{}, secrets: &secretSet{}, dataDir: t.TempDir(), tenant: worldTenant,
		oid: "0d000000-0000-4000-8000-0000000000a1"}
	w.entraClient, w.sfClient = "crmsync-world", "crmsync-world-sf"
	w.entraSecret, w.sfSecret = randomSecret(t, "entra-secret-"), randomSecret(t, "sf-secret-")
	w.secrets.add("Entra client secret", w.entraSecret)
	w.secrets.add("Salesforce client secret", w.sfSecret)
	w.secrets.add("seeded Salesforce password", fakesalesforce.DemoPassword)

	appH := &swappable{}
	w.srv = httptest.NewUnstartedServer(appH)
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	public := w.srv.URL

	start := func() (*httptest.Server, *swappable) {
		h := &swappable{}
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s, h
	}
	sfSrv, sfH := start()
	graphSrv, graphH := start()
	idpSrv, idpH := start()

	var err error
	sfApp := fakesalesforce.Client{ID: w.sfClient, Secret: w.sfSecret}
	if o.sfApp != nil {
		o.sfApp(&sfApp)
	}
	if o.now == nil {
		o.now = time.Now
	}
	w.sf, err = fakesalesforce.New(fakesalesforce.Options{DailyLimit: 100_000, Now: o.now,
		Clients: []fakesalesforce.Client{sfApp}})
	if err != nil {
		t.Fatal(err)
	}
	if w.sfUser, err = fakesalesforce.SeedDemo(w.sf, time.Now()); err != nil {
		t.Fatal(err)
	}
	w.graph = fakegraph.New(fakegraph.Options{BaseURL: graphSrv.URL, HTTPClient: w.srv.Client(), Clients: map[string]string{w.entraClient: w.entraSecret}, TenantID: w.tenant})
	fakegraph.SeedDemo(w.graph, time.Now())
	users := append([]idp.User{{ID: w.oid, Name: "Wendy World", Tenant: w.tenant, Email: o.email}}, o.extraUsers...)
	if o.authoritySegment == "" {
		o.authoritySegment = w.tenant
	}
	// The identity provider keeps the world's time, so tokens expire when
	// the app's clock says they do.
	w.provider, err = idp.New(idpSrv.URL, idp.WithUsers(users...), idp.WithClock(o.now),
		idp.WithClients(idp.Client{ID: w.entraClient, Secret: w.entraSecret, RedirectURIs: []string{public + "/api/dashboard/auth/microsoft/callback"}},
			idp.Client{ID: "crmsync-addin"}))
	if err != nil {
		t.Fatal(err)
	}
	sfH.set(recordTokens(w.secrets, "salesforce", w.sf))
	graphH.set(recordTokens(w.secrets, "graph", w.graph))
	idpH.set(recordTokens(w.secrets, "idp", w.provider))

	env := map[string]string{
		settings.NamePort: "1", settings.NameStorage: settings.StorageEmbedded, settings.NameDataDir: w.dataDir,
		settings.NamePublicURL: public, settings.NameDefaultPlan: "paid", settings.NameSignInRate: "10000",
		settings.NameEntraAuthority: w.provider.Authority(o.authoritySegment), settings.NameEntraClientID: w.entraClient,
		settings.NameEntraClientSecret: w.entraSecret, settings.NameEntraAllowedTenants: "*",
		msgraph.NameLoginURL: graphSrv.URL, msgraph.NameBaseURL: graphSrv.URL + "/v1.0",
		salesforce.NameLoginURL: sfSrv.URL, salesforce.NameClientID: w.sfClient,
		salesforce.NameClientSecret: w.sfSecret, settings.NameAddinAudiences: idp.DemoAudience,
	}
	for k, v := range o.env {
		env[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// As run() does, but at debug level: the test sees every line any level would.
	log := slog.New(redact.NewHandler(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	w.app, err = wire(context.Background(), cfg, log, o.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.app.Close)
	w.fns = routes(w.app)
	srv, err := funchost.NewServer(w.fns, log, funchost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.handler = srv
	appH.set(srv)
	return w
}

// recordStoredSecrets adds the key material in the data folder (session
// secret, key ring) and every sealed value in the connections table.
func (w *testWorld) recordStoredSecrets() {
	w.t.Helper()
	for _, name := range []string{"session.key", "keyring.json"} {
		b, err := os.ReadFile(filepath.Join(w.dataDir, name))
		if err != nil {
			continue
		}
		for _, m := range regexp.MustCompile(`[A-Za-z0-9+/_=-]{24,}`).FindAllString(string(b), -1) {
			w.secrets.add("key material in "+name, m)
		}
	}
	page, err := w.app.store.Query(context.Background(), "connections", tablestore.Query{})
	if err != nil {
		return
	}
	for _, e := range page.Entities {
		for k, v := range e.Properties {
			// connection's sealed properties: refresh token, username, password.
			if s, ok := v.(string); ok && (k == "RefreshToken" || k == "Username" || k == "Password") {
				w.secrets.add("sealed value", s)
			}
		}
	}
}

// browser is an HTTP client with a cookie jar that trusts the app's TLS
// certificate and keeps every response body the app sent it.
type browser struct {
	*http.Client
	mu     sync.Mutex
	bodies []string // bodies of the app's responses
	appURL *url.URL
}

func (w *testWorld) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	c := w.srv.Client()
	c.Jar = jar
	b := &browser{Client: c}
	b.appURL, _ = url.Parse(w.srv.URL)
	c.Transport = &keepBodies{next: c.Transport, b: b}
	return b
}

type keepBodies struct {
	next http.RoundTripper
	b    *browser
}

func (k *keepBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(r)
	if err != nil || r.URL.Host != k.b.appURL.Host {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return nil, rerr
	}
	k.b.mu.Lock()
	k.b.bodies = append(k.b.bodies, r.Method+" "+r.URL.Path+"\n"+string(body))
	k.b.mu.Unlock()
	return resp, nil
}

// cookies are the app's cookies the browser holds.
func (b *browser) cookies() []*http.Cookie { return b.Jar.Cookies(b.appURL) }
