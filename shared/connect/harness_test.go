package connect_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/tablestore"
)

const (
	sfClientID     = "crmsync-test"
	sfClientSecret = "sf-client-SECRET-4b1d"
	msClientID     = "ms-client"
	msClientSecret = "ms-client-SECRET-77e0"
	msTenant       = "11111111-2222-4333-8444-555555555555"
	testUser       = "u-alice"
	testOrg        = "org-acme"
	sfUsername     = "alice@acme.example"
	csrfGood       = "csrf-ok"
)

var (
	keyOnce sync.Once
	jwtKey  *rsa.PrivateKey
)

// appKey is the app's JWT bearer key, made once: RSA key generation is the
// slowest thing these tests do.
func appKey(testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		jwtKey = k
	})
	return jwtKey
}

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func secret(kind string) string {
	b := make([]byte, 10)
	rand.Read(b)
	return kind + "-SECRET-" + hex.EncodeToString(b)
}

// world is one test's crmsync dashboard (TLS, so Secure cookies travel),
// local Salesforce and local Graph, in process.
type world struct {
	t       testing.TB
	app     *httptest.Server
	sf      *fakesalesforce.Server
	sfSrv   *httptest.Server
	graph   *fakegraph.Server
	graphSr *httptest.Server
	store   *connection.Store
	tables  *tablestore.Embedded
	ring    *keyring.FileRing
	handler *connect.Handler
	logs    *syncBuffer
	seen    *tokenLog

	mu        sync.Mutex
	now       time.Time
	connected []string
	resumeErr error
	blockPwd  string // error code the Salesforce token endpoint answers password grants with
	sfPw      string
	users     map[string]string // address → crmsync user, for ResolveUser
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, logs: &syncBuffer{}, seen: &tokenLog{}, now: time.Now()}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var appHandler http.Handler
	w.app = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { appHandler.ServeHTTP(rw, r) }))
	t.Cleanup(w.app.Close)

	sf, err := fakesalesforce.New(fakesalesforce.Options{Clients: []fakesalesforce.Client{{
		ID: sfClientID, Secret: sfClientSecret, JWTKey: &appKey(t).PublicKey,
		RedirectURIs: []string{w.app.URL + connect.DefaultPrefix + "/salesforce/callback"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	w.sf = sf
	w.sfPw = secret("PW")
	if _, err := sf.AddUser(fakesalesforce.User{Username: sfUsername, Password: w.sfPw, Email: sfUsername, FirstName: "Alice", LastName: "Anders"}); err != nil {
		t.Fatal(err)
	}
	w.sfSrv = httptest.NewServer(http.HandlerFunc(w.salesforce))
	t.Cleanup(w.sfSrv.Close)

	w.graph = fakegraph.New(fakegraph.Options{Clients: map[string]string{msClientID: msClientSecret}, TenantID: msTenant})
	w.graphSr = httptest.NewServer(w.graph)
	t.Cleanup(w.graphSr.Close)

	dir := t.TempDir()
	w.tables, err = tablestore.OpenEmbedded(filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.tables.Close() })
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	w.ring = ring
	w.store = connection.NewStore(w.tables, ring, connection.Options{Logger: log})

	w.users = map[string]string{
		"alice@acme.example": testUser, "bob@acme.example": "u-bob", "carol@acme.example": "u-carol",
		"dave@acme.example": "u-dave",
	}
	w.handler, err = connect.New(connect.Options{
		Providers: []connect.Provider{
			&salesforce.App{ClientID: sfClientID, ClientSecret: sfClientSecret, LoginURL: w.sfSrv.URL,
				RedirectURL: w.app.URL + connect.DefaultPrefix + "/salesforce/callback", JWTKey: appKey(t)},
			&msgraph.App{ClientID: msClientID, ClientSecret: msClientSecret, Authority: w.graphSr.URL,
				Tenant: msTenant, RedirectURL: w.app.URL + connect.DefaultPrefix + "/microsoft/callback", GraphURL: w.graphSr.URL + "/v1.0",
				AppScope: "https://graph.microsoft.com/.default"},
		},
		Connections: w.store,
		Tables:      w.tables,
		StateKey:    bytes.Repeat([]byte{7}, 32),
		CurrentUser: func(r *http.Request) (string, string, bool) {
			c, err := r.Cookie("test-user")
			if err != nil || c.Value == "" {
				return "", "", false
			}
			return c.Value, testOrg, true
		},
		CSRF: connect.CSRFFunc(func(r *http.Request) error {
			if r.Header.Get("X-CSRF-Token") != csrfGood {
				return errors.New("bad csrf token")
			}
			return nil
		}),
		OnConnected: func(ctx context.Context, user string) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.connected = append(w.connected, user)
			return w.resumeErr
		},
		ResolveUser: func(ctx context.Context, org, email string) (string, bool, error) {
			if org != testOrg {
				return "", false, nil
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			u, ok := w.users[strings.ToLower(email)]
			return u, ok, nil
		},
		HTTPClient: &http.Client{Transport: w.seen.wrap(http.DefaultTransport)},
		Now:        w.clock,
		Logger:     log,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(connect.DefaultPrefix+"/", w.handler)
	mux.HandleFunc("/api/dashboard/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte("overview"))
	})
	appHandler = mux
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

func (w *world) onConnectedCalls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.connected...)
}

// salesforce serves the local Salesforce, answering password grants with
// an error when the test asks the org to block the flow (the fake has no
// such knob).
func (w *world) salesforce(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	block := w.blockPwd
	w.mu.Unlock()
	if block != "" && r.URL.Path == "/services/oauth2/token" {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if form.Get("grant_type") == "password" {
			desc := map[string]string{"invalid_grant": "authentication failure", "unsupported_grant_type": "grant type not supported"}[block]
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(rw).Encode(map[string]string{"error": block, "error_description": desc})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	w.sf.ServeHTTP(rw, r)
}

// tokenLog records every token a provider's token endpoint handed out, so
// tests can prove none leaks.
type tokenLog struct {
	mu     sync.Mutex
	tokens []string
}

func (l *tokenLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		if err != nil || !strings.HasSuffix(r.URL.Path, "/token") {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			l.mu.Lock()
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if s, ok := m[k].(string); ok && s != "" {
					l.tokens = append(l.tokens, s)
				}
			}
			l.mu.Unlock()
		}
		return resp, nil
	})
}

func (l *tokenLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tokens...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// browser follows redirects by hand, as a browser would, with a cookie jar
// and the dashboard's TLS certificate trusted; it keeps what the crmsync
// app sent it.
type browser struct {
	t      testing.TB
	w      *world
	client *http.Client
	// rewrite may change a URL before the browser goes there.
	rewrite func(u *url.URL)
	// stopAt stops before requesting a URL for which it returns true.
	stopAt func(u *url.URL) bool
	// fromApp holds every status line, header and body the app sent.
	fromApp strings.Builder
}

func (w *world) browser(user string) *browser {
	jar, _ := cookiejar.New(nil)
	c := w.app.Client()
	client := &http.Client{Transport: c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b := &browser{t: w.t, w: w, client: client}
	if user != "" {
		u, _ := url.Parse(w.app.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "test-user", Value: user, Path: "/", Secure: true}})
	}
	return b
}

// page is where a navigation ended.
type page struct {
	status int
	url    *url.URL
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	for hops := 0; hops < 20; hops++ {
		if b.rewrite != nil {
			b.rewrite(req.URL)
		}
		if b.stopAt != nil && b.stopAt(req.URL) {
			return page{url: req.URL}
		}
		resp, err := b.client.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.HasPrefix(req.URL.String(), b.w.app.URL) {
			b.fromApp.WriteString(resp.Status + "\n")
			for k, v := range resp.Header {
				b.fromApp.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
			b.fromApp.Write(body)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return page{status: resp.StatusCode, url: req.URL, body: string(body)}
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			b.t.Fatalf("bad Location %q: %v", loc, err)
		}
		req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
	}
	b.t.Fatal("too many redirects")
	return page{}
}

func (b *browser) get(rawURL string) page {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) postForm(rawURL string, form url.Values) page {
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// postJSON posts to the app as the dashboard's script does.
func (b *browser) postJSON(path, csrf string, v any) (int, map[string]any) {
	b.t.Helper()
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, b.w.app.URL+connect.DefaultPrefix+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	p := b.do(req)
	var out map[string]any
	if err := json.Unmarshal([]byte(p.body), &out); err != nil {
		b.t.Fatalf("POST %s: %d, body not JSON: %q", path, p.status, p.body)
	}
	return p.status, out
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// loginSalesforce submits the local Salesforce's login page as a person
// would, from a page showing it.
func (b *browser) loginSalesforce(p page, username, password string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `id="Login"`) {
		b.t.Fatalf("expected the Salesforce login page at %s, got %d: %.300s", p.url, p.status, p.body)
	}
	form := url.Values{"username": {username}, "pw": {password}}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return b.postForm(b.w.sfSrv.URL+"/services/oauth2/authorize", form)
}

// connectSalesforce runs the whole web-server flow for the browser's user.
func (b *browser) connectSalesforce() page {
	b.t.Helper()
	login := b.get(b.w.app.URL + connect.DefaultPrefix + "/salesforce")
	return b.loginSalesforce(login, sfUsername, b.w.sfPw)
}

// result reads the overview's connect outcome.
func result(p page) (provider, res, message string) {
	q := p.url.Query()
	return q.Get("connect"), q.Get("result"), q.Get("message")
}
