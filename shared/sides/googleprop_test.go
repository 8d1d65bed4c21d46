package sides_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
)

// googleHost is the local Google's host inside a property world.
const googleHost = "google.test"

// defaultGoogleScenarios keeps TestPropertySessionsGoogleMailbox near five
// seconds on two cores (15 s while other tests load them); -sides.property.n
// runs many more.
const defaultGoogleScenarios = 80

// TestPropertySessionsGoogleMailbox is TestPropertySessionsAgainstLocalServers
// with Google Workspace as the mailbox: seeded random scenarios through the
// real runner and connectors against the local Salesforce and the local
// Google — creates, edits, deletes and scope changes on both sides, series
// and their moved meetings, invitations, e-mails shared by label (more copies
// with the same Message-ID, read and starred ones coming back through
// history), sessions killed after a random number of requests and
// redelivered, Salesforce faults, and Google's own: expired sync tokens in
// People and Calendar and an expired Gmail history id (all at once, as a
// week without sessions does), 429 and 403 rateLimitExceeded /
// userRateLimitExceeded in each of People, Calendar, Tasks and Gmail. After
// every round both sides must match the model (nothing duplicated, no change
// lost); at the end further sessions do nothing and write nothing but their
// lease.
//
// Left out, as the Google connector lacks them: the share category on
// events (Google events carry none, so events made in the mailbox stay
// there), a second chosen calendar (the local Google serves the primary
// one only) and custom fields (the property scenarios use none anyway).
func TestPropertySessionsGoogleMailbox(t *testing.T) {
	n := *sidesPropN
	if n == 0 {
		n = defaultGoogleScenarios
		if testing.Short() {
			n = 8
		}
	}
	first := *sidesPropSeed
	start := time.Now()
	before := sessions.Load()
	for i := 0; i < n; i++ {
		seed := first + uint64(i)
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			runScenarioIn(t, seed, newGoogleWorld)
		})
	}
	t.Cleanup(func() {
		d := time.Since(start)
		ran := sessions.Load() - before
		t.Logf("%d scenarios, %d sessions in %s: %.1f scenarios/s, %.0f sessions/s", n, ran, d.Round(time.Millisecond),
			float64(n)/d.Seconds(), float64(ran)/d.Seconds())
	})
}

// googleAdmin is mailboxAdmin for Google Workspace through the local Google.
type googleAdmin struct {
	w      *pworld
	g      *fakegoogle.Server
	access string // the user's access token, for their own apps
	labels map[string]string
}

// newGoogleWorld is a property world with the local Salesforce and a Google
// Workspace mailbox the user connected with OAuth (auth_code: the runner
// refreshes its tokens at the local Google's token endpoint).
func newGoogleWorld(t testing.TB) (*pworld, mailboxAdmin) {
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
	g := fakegoogle.New(fakegoogle.Options{Now: clock})
	access, refresh := g.AddUser(upn)
	servers := inProcess{sfHost: w.sf, googleHost: g}
	w.kill = &killer{next: servers}
	syncHC := &http.Client{Transport: w.kill}
	w.userHC = &http.Client{Transport: servers}

	conns, log := w.openStores(ctx, clock)
	sfURL := "http://" + sfHost
	if _, err := conns.Save(ctx, connection.Connection{User: w.user, Provider: google.Provider, Tenant: "contoso.example",
		Flow: connection.FlowAuthCode}, connection.Credentials{RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + googleHost
	opener := &sides.Opener{
		Connections: conns,
		CRM: &salesforce.Opener{
			OAuth:      &oauth2.Config{ClientID: "crmsync-local", Endpoint: oauth2.Endpoint{TokenURL: sfURL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}},
			HTTPClient: syncHC,
			Log:        log,
		},
		Mailbox: &google.Opener{
			OAuth:      google.OAuthConfig("crmsync-test", "x", "", base+"/token"),
			BaseURL:    base,
			HTTPClient: syncHC,
			Log:        log,
		},
	}
	key := []byte("fingerprint-key-0123456789abcdef")
	w.runner = &session.Runner{Store: w.tables, Opener: opener, Log: log, Now: clock,
		Settings: settingsFor{w.user: {FingerprintKey: key, Email: session.EmailSettings{Enabled: true, CreateLeads: true,
			OwnAddress: upn, SkipFreeMail: true}}}}

	gc, err := google.New(google.Options{BaseURL: base, HTTPClient: w.userHC,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"})})
	if err != nil {
		t.Fatal(err)
	}
	w.mailbox = patient{google.NewSide(gc)}
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
	return w, &googleAdmin{w: w, g: g, access: access, labels: map[string]string{}}
}

// patient is the user's own Google apps: a throttling or server error armed
// for a session (the local Google fails an API's next request, whoever sends
// it) is waited out and tried again, as Google's apps do.
type patient struct{ side.Mailbox }

func retryThrottled[T any](f func() (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		v, err := f()
		if !fault.Is(err, fault.Throttled) && !fault.Is(err, fault.Temporary) || attempt == 5 {
			return v, err
		}
		time.Sleep(5 * time.Second)
	}
}

func (p patient) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	return retryThrottled(func() (item.Changes, error) { return p.Mailbox.Changes(ctx, scope, cursor) })
}

func (p patient) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	return retryThrottled(func() ([]side.Result, error) {
		res, err := p.Mailbox.Create(ctx, kind, recs, markers)
		if err == nil && len(res) == 1 && (fault.Is(res[0].Err, fault.Throttled) || fault.Is(res[0].Err, fault.Temporary)) {
			return res, res[0].Err
		}
		return res, err
	})
}

func (p patient) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	return retryThrottled(func() ([]side.Result, error) {
		res, err := p.Mailbox.Update(ctx, kind, recs)
		if err == nil && len(res) == 1 && (fault.Is(res[0].Err, fault.Throttled) || fault.Is(res[0].Err, fault.Temporary)) {
			return res, res[0].Err
		}
		return res, err
	})
}

func (p patient) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	return retryThrottled(func() ([]side.Result, error) {
		res, err := p.Mailbox.Delete(ctx, kind, ids)
		if err == nil && len(res) == 1 && (fault.Is(res[0].Err, fault.Throttled) || fault.Is(res[0].Err, fault.Temporary)) {
			return res, res[0].Err
		}
		return res, err
	})
}

// do sends a request to the local Google as the user's apps would, waiting
// out throttling armed for a session.
func (g *googleAdmin) do(method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, "http://"+googleHost+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+g.access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := g.w.userHC.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		throttled := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 ||
			resp.StatusCode == http.StatusForbidden && bytes.Contains(b, []byte("ateLimitExceeded"))
		if throttled && attempt < 5 {
			time.Sleep(5 * time.Second)
			continue
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
}

func (*googleAdmin) shares() bool { return false }

// setShare does nothing: Google events carry no categories. The scenario
// asks only for a moved meeting of a linked series, which follows its series
// into the CRM with or without one.
func (*googleAdmin) setShare(*scenario, string, bool) {}

// invite imports the organizer's meeting into the user's calendar
// (events.import keeps the organizer), as Google puts an invitation there.
func (g *googleAdmin) invite(s *scenario, tok string, f map[string]string) string {
	dt := func(v string) map[string]any { return map[string]any{"dateTime": v, "timeZone": "UTC"} }
	var made struct {
		ID string `json:"id"`
	}
	s.must(g.do("POST", "/calendar/v3/calendars/primary/events/import", map[string]any{
		"iCalUID": tok + "@organizer.example", "summary": f[item.Subject], "start": dt(f[item.Start]), "end": dt(f[item.End]),
		"location": f[item.Location], "description": f[item.Description],
		"organizer": map[string]any{"email": organizer, "displayName": "Olivia Organizer"},
		"attendees": []any{map[string]any{"email": organizer, "organizer": true, "responseStatus": "accepted"},
			map[string]any{"email": upn, "self": true, "responseStatus": "needsAction"}},
	}, &made), "the organizer's meeting")
	return made.ID
}

// label finds or makes the Gmail label name, as the user would in Gmail.
func (g *googleAdmin) label(s *scenario, name string) string {
	if id, ok := g.labels[name]; ok {
		return id
	}
	var list struct {
		Labels []struct{ ID, Name string } `json:"labels"`
	}
	s.must(g.do("GET", "/gmail/v1/users/me/labels", nil, &list), "list labels")
	for _, l := range list.Labels {
		if l.Name == name {
			g.labels[name] = l.ID
			return l.ID
		}
	}
	var made struct{ ID string }
	s.must(g.do("POST", "/gmail/v1/users/me/labels", map[string]any{"name": name}, &made), "make a label")
	g.labels[name] = made.ID
	return made.ID
}

// postEmail inserts a message into the mailbox with the share label, or
// with the share category's label ("Salesforce"); every copy has the same
// Message-ID.
func (g *googleAdmin) postEmail(s *scenario, tok, from string, byCategory bool) string {
	name := google.DefaultShareLabel
	if byCategory {
		name = "Salesforce"
	}
	raw := "From: " + from + "\r\nTo: " + upn + "\r\nSubject: Mail " + tok + "\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <" + tok + "@scenario.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello\r\n"
	var made struct{ ID string }
	s.must(g.do("POST", "/gmail/v1/users/me/messages", map[string]any{
		"raw": base64.URLEncoding.EncodeToString([]byte(raw)), "labelIds": []string{"INBOX", "UNREAD", g.label(s, name)}}, &made), "insert a message")
	s.logf("mailbox share e-mail %s by label %q", tok, name)
	return made.ID
}

// readOrFlag marks a copy read or starred (a labelsRemoved or labelsAdded
// history entry), or takes its share labels off and puts one back on (the
// message is labelled for sharing again, and must not be shared twice).
func (g *googleAdmin) readOrFlag(s *scenario, ids []string) {
	id := ids[s.rng.IntN(len(ids))]
	switch s.rng.IntN(3) {
	case 0:
		s.must(g.do("POST", "/gmail/v1/users/me/messages/"+id+"/modify", map[string]any{"removeLabelIds": []string{"UNREAD"}}, nil), "read an e-mail")
	case 1:
		s.must(g.do("POST", "/gmail/v1/users/me/messages/"+id+"/modify", map[string]any{"addLabelIds": []string{"STARRED"}}, nil), "star an e-mail")
	default:
		share := []string{g.label(s, google.DefaultShareLabel), g.label(s, "Salesforce")}
		s.must(g.do("POST", "/gmail/v1/users/me/messages/"+id+"/modify", map[string]any{"removeLabelIds": share}, nil), "unlabel an e-mail")
		s.must(g.do("POST", "/gmail/v1/users/me/messages/"+id+"/modify", map[string]any{"addLabelIds": share[s.rng.IntN(2):][:1]}, nil), "label an e-mail again")
		s.logf("mailbox labels e-mail %s for sharing again", id)
	}
}

// chooseCalendars does nothing: the local Google serves the primary
// calendar only, so the user syncs that one.
func (*googleAdmin) chooseCalendars(*scenario) {}

// fault expires every sync token (People and Calendar sync tokens, the Gmail
// history id), or fails one of an API's next requests — a read, a write or
// a part of a batch: 429 with or without Retry-After, 403 rateLimitExceeded
// or userRateLimitExceeded, or 500 backendError.
func (g *googleAdmin) fault(s *scenario) {
	if s.rng.IntN(2) == 0 {
		g.g.ExpireSyncTokens(upn)
		s.logf("  fault: google sync tokens and history id expired")
		return
	}
	api := []string{"people", "calendar", "tasks", "gmail"}[s.rng.IntN(4)]
	switch s.rng.IntN(4) {
	case 0:
		after := []string{"", "1", "3", "180"}[s.rng.IntN(4)]
		g.g.FailNext(api, http.StatusTooManyRequests, "rateLimitExceeded", after)
		s.logf("  fault: google %s 429, Retry-After %q", api, after)
	case 1:
		g.g.FailNext(api, http.StatusForbidden, "rateLimitExceeded", "")
		s.logf("  fault: google %s 403 rateLimitExceeded", api)
	case 2:
		skip := s.rng.IntN(8)
		g.g.FailAt(api, skip, http.StatusForbidden, "userRateLimitExceeded")
		s.logf("  fault: google %s 403 userRateLimitExceeded after %d requests", api, skip)
	default:
		skip := s.rng.IntN(8)
		g.g.FailAt(api, skip, http.StatusInternalServerError, "backendError")
		s.logf("  fault: google %s 500 backendError after %d requests", api, skip)
	}
}

// calm drops failures no session has met yet.
func (g *googleAdmin) calm() { g.g.ClearFailures() }

// checkLimits: the local Google enforces its page and batch bounds on every
// request itself, answering 400 to a breach, which fails the session.
func (*googleAdmin) checkLimits(*scenario) {}
