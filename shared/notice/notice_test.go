package notice_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

const serviceMailbox = "crmsync@contoso.test"

// profiles are the users' profiles, addresses included (never stored by
// the notifier).
type profiles map[string]account.Profile

func (p profiles) Profile(_ context.Context, user string) (account.Profile, error) {
	if pr, ok := p[user]; ok {
		return pr, nil
	}
	return account.Profile{}, account.ErrNotFound
}

func (p profiles) Members(_ context.Context, org string) ([]account.Profile, error) {
	var out []account.Profile
	for _, pr := range p {
		if pr.Org == org {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b account.Profile) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

// conns are the users' connections.
type conns map[string][]connection.Connection

func (c conns) List(_ context.Context, user string) ([]connection.Connection, error) {
	return c[user], nil
}

type settings struct{}

func (settings) UserSettings(context.Context, string) (session.UserSettings, error) {
	return session.UserSettings{FingerprintKey: []byte("0123456789abcdef0123456789abcdef")}, nil
}

type opener struct{ sides side.Sides }

func (o opener) Open(context.Context, string) (side.Sides, error) { return o.sides, nil }

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s)}, nil
}

// world is a user ("u1", org "o1") syncing in-memory sides, whose sessions
// tell a notifier sending from a service mailbox on the local Graph.
type world struct {
	tables *tablestore.Embedded
	graph  *fakegraph.Server
	crm    *memside.Side
	mbx    *memside.Side
	conns  conns
	prof   profiles
	n      *notice.Notifier
	r      *session.Runner
	now    time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	w := &world{tables: tables, graph: fakegraph.New(fakegraph.Options{}), crm: memside.New("crm"), mbx: memside.New("mailbox"),
		now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(w.graph)
	t.Cleanup(srv.Close)
	w.graph.AddMailbox(serviceMailbox, "crmsync")
	client, err := msgraph.New(msgraph.Options{BaseURL: srv.URL + "/v1.0", User: serviceMailbox, TokenSource: staticToken(w.graph.AppToken())})
	if err != nil {
		t.Fatal(err)
	}
	w.prof = profiles{
		"u1":    {User: "u1", Org: "o1", Email: "uma@acme.example"},
		"u2":    {User: "u2", Org: "o1", Email: "pat@acme.example"},
		"boss":  {User: "boss", Org: "o1", Email: "ada@acme.example", Roles: []string{access.RoleOrgAdmin, access.RoleSelf}},
		"other": {User: "other", Org: "o2", Email: "zed@other.example", Roles: []string{access.RoleOrgAdmin}},
	}
	w.conns = conns{"u1": {{User: "u1", Provider: connection.Salesforce, Status: connection.Connected},
		{User: "u1", Provider: connection.Microsoft, Status: connection.NeedsReconnect}}}
	clock := func() time.Time { return w.now }
	w.n, err = notice.New(notice.Deps{Tables: tables, Mailer: notice.ServiceMailbox{Sender: client}, Profiles: w.prof, Connections: w.conns,
		DashboardURL: "https://crmsync.example/api/dashboard/", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	w.crm.Now, w.mbx.Now = clock, clock
	w.r = &session.Runner{Store: tables, Opener: opener{side.Sides{CRM: w.crm, Mailbox: w.mbx}}, Settings: settings{},
		Log: slog.New(slog.DiscardHandler), Now: clock, Observer: w.n}
	return w
}

func (w *world) session(t *testing.T) session.Report {
	t.Helper()
	w.now = w.now.Add(5 * time.Minute)
	rep, err := w.r.Run(context.Background(), "u1", "test")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRevokedConnectionMailsOncePerDay: with Microsoft revoked, every
// session stops for a reconnect; the user gets exactly one message a day,
// from the service mailbox to their address, naming the account; the next
// day one more. The notices table holds no address.
func TestRevokedConnectionMailsOncePerDay(t *testing.T) {
	w := newWorld(t)
	w.mbx.FailChanges = fault.New(fault.Reconnect, "invalid_grant", "refresh token revoked")
	for range 5 {
		if rep := w.session(t); rep.Outcome != "reconnect" {
			t.Fatalf("outcome %q, want reconnect", rep.Outcome)
		}
	}
	sent := w.graph.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d messages after 5 sessions on one day, want 1: %+v", len(sent), sent)
	}
	m := sent[0]
	if m.From != serviceMailbox || !slices.Equal(m.To, []string{"uma@acme.example"}) || m.Subject != "crmsync: reconnect your Microsoft 365 account" ||
		!strings.Contains(m.Body, "https://crmsync.example/api/dashboard/") {
		t.Errorf("message %+v", m)
	}
	w.now = w.now.Add(24 * time.Hour)
	w.session(t)
	w.session(t)
	if n := len(w.graph.Sent()); n != 2 {
		t.Errorf("%d messages after the second day, want 2", n)
	}
	for _, e := range storetest.Rows(t, w.tables, notice.Table) {
		if text := fmt.Sprint(e.Properties) + e.RowKey; strings.Contains(text, "@") {
			t.Errorf("notices row %s holds an address: %v", e.RowKey, e.Properties)
		}
	}
}

// TestFailingItemsAndGuardNotices: an item failing three sessions in a row
// brings one message naming it (only the name: no other field); a guard
// holding removals back brings its own; a user who turned failing items off
// gets none of those.
func TestFailingItemsAndGuardNotices(t *testing.T) {
	w := newWorld(t)
	w.crm.Put(item.Record{Kind: item.Contact, Fields: map[string]string{item.FirstName: "Jane", item.LastName: "Roe", item.Email: "jane@roe.example", item.Phone: "+1 555 0100"}})
	w.mbx.FailRecord = func(op string, r item.Record) error {
		return fault.New(fault.Temporary, "ErrorServerBusy", "busy")
	}
	for range 4 {
		w.session(t)
	}
	var failing []fakegraph.SentMail
	for _, m := range w.graph.Sent() {
		if strings.Contains(m.Subject, "keep failing") {
			failing = append(failing, m)
		}
	}
	if len(failing) != 1 || !strings.Contains(failing[0].Body, "Jane Roe") || strings.Contains(failing[0].Body, "jane@roe.example") || strings.Contains(failing[0].Body, "555") {
		t.Fatalf("failing-item messages %+v, want one naming Jane Roe and nothing else of her", failing)
	}
	// Guard: the mailbox empties after the contact synced.
	ctx := context.Background()
	if err := session.NewState(w.tables, "u1").RaiseIssues(ctx, []session.Issue{{Kind: item.Contact, Code: string(reconcile.GuardTripped), Reason: "held"}}, w.now); err != nil {
		t.Fatal(err)
	}
	w.n.Ended(ctx, session.Ended{User: "u1", Report: session.Report{Started: w.now, Outcome: "partial", Issues: 1}})
	if got := w.graph.Sent(); got[len(got)-1].Subject != "crmsync held back removals" || !strings.Contains(got[len(got)-1].Body, "contacts") {
		t.Errorf("last message %+v, want the guard notice", got[len(got)-1])
	}
	// Turned off: no failing-item message the next day.
	if err := w.n.SavePrefs(ctx, "u1", notice.Prefs{Off: []notice.Kind{notice.Failing}}); err != nil {
		t.Fatal(err)
	}
	before := len(w.graph.Sent())
	w.now = w.now.Add(24 * time.Hour)
	w.session(t)
	for _, m := range w.graph.Sent()[before:] {
		if strings.Contains(m.Subject, "keep failing") {
			t.Errorf("a failing-item message after opting out: %+v", m)
		}
	}
	if err := w.n.SavePrefs(ctx, "u1", notice.Prefs{Off: []notice.Kind{"weekly"}}); err == nil || !strings.Contains(err.Error(), `"weekly"`) {
		t.Errorf("an unknown kind: %v, want refused by name", err)
	}
}

// TestAdminDigestListsTheUser: the org's admin gets one digest listing the
// user who needed attention (and not a user who did not, nor another
// org's admin); a second run the same day sends nothing more.
func TestAdminDigestListsTheUser(t *testing.T) {
	w := newWorld(t)
	w.mbx.FailChanges = fault.New(fault.Reconnect, "invalid_grant", "refresh token revoked")
	w.session(t)
	res, err := w.n.DigestAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var digests []fakegraph.SentMail
	for _, m := range w.graph.Sent() {
		if strings.Contains(m.Subject, "need attention") {
			digests = append(digests, m)
		}
	}
	if res.Attention != 1 || res.Sent != 1 || len(digests) != 1 {
		t.Fatalf("digest %+v, %d messages; want 1 user, 1 admin written to", res, len(digests))
	}
	d := digests[0]
	if !slices.Equal(d.To, []string{"ada@acme.example"}) || !strings.Contains(d.Body, "uma@acme.example: a connection needs reconnecting") || strings.Contains(d.Body, "pat@acme.example") {
		t.Errorf("digest %+v", d)
	}
	if res, _ := w.n.Digest(context.Background(), "o1"); res.Sent != 0 {
		t.Errorf("a second digest the same day went to %d admins", res.Sent)
	}
}

// TestBouncingAddress: a notice to an address that bounces is accepted by
// Graph, so it counts as sent; the non-delivery report lands in the service
// mailbox; nothing is retried that day, the session is not disturbed.
func TestBouncingAddress(t *testing.T) {
	w := newWorld(t)
	w.graph.Bounce("uma@acme.example")
	w.mbx.FailChanges = fault.New(fault.Reconnect, "invalid_grant", "refresh token revoked")
	for range 3 {
		if rep := w.session(t); rep.Outcome != "reconnect" {
			t.Fatalf("outcome %q", rep.Outcome)
		}
	}
	sent := w.graph.Sent()
	if len(sent) != 1 || !sent[0].Bounced {
		t.Errorf("sent %+v, want one bounced message", sent)
	}
}

// TestOwnMailboxWhenNoServiceMailbox: without a service mailbox the user's
// own Microsoft 365 connection sends the notice to themselves (here about a
// revoked Salesforce connection); it lands in their own Inbox.
func TestOwnMailboxWhenNoServiceMailbox(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(w.graph)
	t.Cleanup(srv.Close)
	w.graph.AddMailbox("uma@acme.example", "Uma")
	own := notice.OwnMailbox{Senders: func(ctx context.Context, user string) (notice.Sender, error) {
		c, err := msgraph.New(msgraph.Options{BaseURL: srv.URL + "/v1.0", TokenSource: staticToken(w.graph.Token(w.prof[user].Email))})
		if err != nil {
			return nil, err
		}
		return c, nil
	}}
	w.conns["u1"] = []connection.Connection{{User: "u1", Provider: connection.Salesforce, Status: connection.NeedsReconnect},
		{User: "u1", Provider: connection.Microsoft, Status: connection.Connected}}
	var err error
	w.n, err = notice.New(notice.Deps{Tables: w.tables, Mailer: own, Profiles: w.prof, Connections: w.conns, Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	w.r.Observer = w.n
	w.crm.FailChanges = fault.New(fault.Reconnect, "INVALID_SESSION_ID", "session expired or invalid")
	w.session(t)
	w.session(t)
	sent := w.graph.Sent()
	if len(sent) != 1 || sent[0].From != "uma@acme.example" || !slices.Equal(sent[0].To, []string{"uma@acme.example"}) ||
		sent[0].Subject != "crmsync: reconnect your Salesforce account" {
		t.Errorf("sent %+v, want one message from Uma to herself about Salesforce", sent)
	}
}
