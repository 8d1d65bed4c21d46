package sides_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// Hosts of the local servers inside a property world. Requests never leave
// the process: the servers answer through inProcess, so a whole scenario runs
// inside a testing/synctest bubble, where Retry-After waits and Salesforce
// backoffs cost no real time.
const (
	sfHost    = "salesforce.test"
	graphHost = "graph.test"
)

// inProcess serves requests with the local servers' handlers, by host. A
// request the server started is finished even if its caller gives up, as a
// real server would.
type inProcess map[string]http.Handler

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	h, ok := t[r.URL.Host]
	if !ok {
		return nil, fmt.Errorf("no local server for host %q", r.URL.Host)
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	req := r.Clone(context.WithoutCancel(r.Context()))
	req.Host, req.RequestURI, req.RemoteAddr = r.URL.Host, r.URL.RequestURI(), "127.0.0.1:40000"
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// killer kills a session after a number of HTTP requests: the request that
// reaches the count is served (its write happens) and then the session's
// context is cancelled before the answer arrives, as when a worker dies with
// a write in flight.
type killer struct {
	next http.RoundTripper
	mu   sync.Mutex
	left int // requests until the kill; 0 = disarmed
	// only, when set, counts only the requests it accepts.
	only   func(*http.Request) bool
	cancel context.CancelFunc
	fired  bool
}

func (k *killer) arm(n int, cancel context.CancelFunc) {
	k.mu.Lock()
	k.left, k.cancel, k.fired = n, cancel, false
	k.mu.Unlock()
}

func (k *killer) disarm() (fired bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fired, k.left, k.cancel, k.fired = k.fired, 0, nil, false
	return fired
}

func (k *killer) RoundTrip(r *http.Request) (*http.Response, error) {
	k.mu.Lock()
	fire := false
	if k.left > 0 && (k.only == nil || k.only(r)) {
		k.left--
		fire = k.left == 0
	}
	k.mu.Unlock()
	resp, err := k.next.RoundTrip(r)
	if !fire {
		return resp, err
	}
	if resp != nil {
		resp.Body.Close()
	}
	k.mu.Lock()
	k.fired = true
	cancel := k.cancel
	k.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return nil, context.Canceled
}

// pworld is one user with a local Salesforce org and a local Microsoft 365
// mailbox, as in world, but wired in process so that it can live in a
// synctest bubble, whose clock is the clock of everything in it.
type pworld struct {
	t       testing.TB
	sf      *fakesalesforce.Server
	sfID    string
	otherID string // another Salesforce user, to move records out of scope
	graph   *fakegraph.Server
	tables  *tablestore.Embedded
	runner  *session.Runner
	user    string
	kill    *killer
	userHC  *http.Client // the user's own clients (never killed)
	mailbox side.Mailbox // acts in the mailbox as the user would
	crmUser *salesforce.Side
	admin   *salesforce.Client // sees every record of the org
	logs    *strings.Builder
	// crm acts in the CRM for the scenarios (sfAdmin or c4cAdmin).
	crm crmAdmin
}

// openStores opens the world's embedded tables, key ring and connection
// store in a fresh data folder, with a log that keeps warnings in w.logs,
// and saves the user's Salesforce connection (password flow, the local
// Salesforce at sfHost); each world then saves its own mailbox connection.
func (w *pworld) openStores(ctx context.Context, clock func() time.Time) (*connection.Store, *slog.Logger) {
	t := w.t
	t.Helper()
	dir := dataDir(t)
	var err error
	if w.tables, err = tablestore.OpenEmbedded(filepath.Join(dir, "tables.sqlite")); err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.OpenFileRing(filepath.Join(dir, "keys", "ring.json"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	conns := connection.NewStore(w.tables, ring, connection.Options{Now: clock, Logger: log})
	if _, err := conns.Save(ctx, connection.Connection{User: w.user, Provider: connection.Salesforce, Tenant: w.sf.OrgID(),
		InstanceURL: "http://" + sfHost, Flow: connection.FlowPassword}, connection.Credentials{Username: sfUser, Password: sfSecret}); err != nil {
		t.Fatal(err)
	}
	return conns, log
}

func newPWorld(t testing.TB) *pworld {
	t.Helper()
	ctx := context.Background()
	w := &pworld{t: t, user: "u-dana", logs: &strings.Builder{}}
	clock := time.Now // the bubble's clock
	var err error
	w.sf, err = fakesalesforce.New(fakesalesforce.Options{Now: clock, DailyLimit: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if w.sfID, err = w.sf.AddUser(fakesalesforce.User{Username: sfUser, Password: sfSecret, Email: sfUser, FirstName: "Dana", LastName: "Scully"}); err != nil {
		t.Fatal(err)
	}
	if w.otherID, err = w.sf.AddUser(fakesalesforce.User{Username: "walter@contoso.example", Password: "x", Email: "walter@contoso.example", FirstName: "Walter", LastName: "Skinner"}); err != nil {
		t.Fatal(err)
	}
	adminID, err := w.sf.AddUser(fakesalesforce.User{Username: "admin@contoso.example", Password: "x", Email: "admin@contoso.example", FirstName: "Ada", LastName: "Admin", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	w.graph = fakegraph.New(fakegraph.Options{Now: clock, BaseURL: "http://" + graphHost})
	w.graph.AddMailbox(upn, "Dana Scully")
	w.graph.AddMailbox(organizer, "Olivia Organizer") // invites the user to meetings
	servers := inProcess{sfHost: w.sf, graphHost: w.graph}
	w.kill = &killer{next: servers}
	syncHC := &http.Client{Transport: w.kill}
	w.userHC = &http.Client{Transport: servers}

	conns, log := w.openStores(ctx, clock)
	sfURL := "http://" + sfHost
	if _, err := conns.Save(ctx, connection.Connection{User: w.user, Provider: connection.Microsoft, Tenant: "contoso",
		Flow: connection.FlowClientCredentials}, connection.Credentials{Username: upn}); err != nil {
		t.Fatal(err)
	}
	tokenCtx := context.WithValue(ctx, oauth2.HTTPClient, syncHC)
	appOnly := (&clientcredentials.Config{ClientID: "crmsync-test", ClientSecret: "x",
		TokenURL: "http://" + graphHost + "/contoso/oauth2/v2.0/token", Scopes: []string{"https://graph.microsoft.com/.default"}}).TokenSource(tokenCtx)
	opener := &sides.Opener{
		Connections: conns,
		CRM: &salesforce.Opener{
			OAuth:      &oauth2.Config{ClientID: "crmsync-local", Endpoint: oauth2.Endpoint{TokenURL: sfURL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}},
			HTTPClient: syncHC,
			Log:        log,
		},
		Mailbox: &msgraph.Opener{
			AppOnly:    func(string) oauth2.TokenSource { return appOnly },
			BaseURL:    "http://" + graphHost + "/v1.0",
			HTTPClient: syncHC,
			Log:        log,
		},
	}
	key := []byte("fingerprint-key-0123456789abcdef")
	w.runner = &session.Runner{Store: w.tables, Opener: opener, Log: log, Now: clock,
		Settings: settingsFor{w.user: {FingerprintKey: key, Email: session.EmailSettings{Enabled: true, CreateLeads: true,
			OwnAddress: upn, SkipFreeMail: true}}}}

	userAppOnly := (&clientcredentials.Config{ClientID: "crmsync-test", ClientSecret: "x",
		TokenURL: "http://" + graphHost + "/contoso/oauth2/v2.0/token", Scopes: []string{"https://graph.microsoft.com/.default"}}).
		TokenSource(context.WithValue(ctx, oauth2.HTTPClient, w.userHC))
	mc, err := msgraph.New(msgraph.Options{BaseURL: "http://" + graphHost + "/v1.0", User: upn, TokenSource: userAppOnly, HTTPClient: w.userHC,
		MaxWait: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	w.mailbox = msgraph.NewSide(mc, msgraph.SideOptions{})
	sfClient := func(userID string) *salesforce.Client {
		c, err := salesforce.New(salesforce.Options{Tokens: &issuing{sf: w.sf, user: userID},
			InstanceURL: sfURL, HTTPClient: w.userHC, Version: fakesalesforce.APIVersion})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if w.crmUser, err = salesforce.NewSide(sfClient(w.sfID), salesforce.SideOptions{UserID: w.sfID}); err != nil {
		t.Fatal(err)
	}
	w.admin = sfClient(adminID)
	w.crm = sfAdmin{w}
	return w
}

// organizer is a colleague whose meetings invite the user.
const organizer = "olivia@contoso.example"

// close releases the store; inside a bubble it must run before the bubble ends.
func (w *pworld) close() { w.tables.Close() }

// run runs one session, killed after killAfter HTTP requests when killAfter > 0.
func (w *pworld) run(killAfter int) (session.Report, error, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if killAfter > 0 {
		w.kill.arm(killAfter, cancel)
	}
	rep, err := w.runner.Run(ctx, w.user, "property")
	sessions.Add(1)
	return rep, err, w.kill.disarm()
}

// scopes are the scopes a session at now syncs (the runner's defaults).
func scopeAt(kind item.Kind, now time.Time) item.Scope {
	day := now.UTC().Truncate(24 * time.Hour)
	sc := item.Scope{Kind: kind, ShareCategory: "Salesforce"}
	switch kind {
	case item.Task:
		sc.From = day.AddDate(0, 0, -14)
	case item.Event:
		sc.From, sc.To = day.AddDate(0, 0, -14), day.AddDate(0, 0, 28)
	}
	return sc
}

// graphDo sends a request to the local Graph as the user's Outlook would,
// waiting out throttling (a fault armed for a session that died before
// meeting it can still be waiting).
func (w *pworld) graphDo(method, path string, body any, out any) error {
	return w.graphDoAs(upn, method, path, body, out)
}

// graphDoAs is graphDo in another mailbox of the local Graph.
func (w *pworld) graphDoAs(mailbox, method, path string, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	var b []byte
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, "http://"+graphHost+"/v1.0/users/"+mailbox+"/"+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+w.graph.Token(mailbox))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Prefer", `IdType="ImmutableId"`)
		resp, err := w.userHC.Do(req)
		if err != nil {
			return err
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 5 {
			time.Sleep(5 * time.Second)
			continue
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		break
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// issuing signs a test's own Salesforce clients in again after the org
// expired their sessions (fakesalesforce.ExpireSessions).
type issuing struct {
	sf   *fakesalesforce.Server
	user string
	mu   sync.Mutex
	tok  string
}

func (s *issuing) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == "" {
		s.tok = s.sf.IssueToken(s.user)
	}
	return &oauth2.Token{AccessToken: s.tok}, nil
}

func (s *issuing) Invalidate() {
	s.mu.Lock()
	s.tok = ""
	s.mu.Unlock()
}
