package notice_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/session/memside"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// TestRevokedConnectionMailsOncePerDayThroughGmail: a user whose mailbox
// is Google Workspace and whose Salesforce connection was revoked gets one
// message a day, sent through their own Gmail (users.messages.send, an RFC
// 2822 message base64url encoded) to their own address, naming the
// account; the next day one more. The notices table holds no address.
func TestRevokedConnectionMailsOncePerDayThroughGmail(t *testing.T) {
	tables, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tables.Close() })
	const uma = "uma@acme.example"
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fg := fakegoogle.New(fakegoogle.Options{Now: clock})
	access, _ := fg.AddUser(uma)
	gmail, err := google.New(google.Options{BaseURL: "http://google.local", HTTPClient: &http.Client{Transport: fg.Transport()},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access})})
	if err != nil {
		t.Fatal(err)
	}
	prof := profiles{"u1": {User: "u1", Org: "o1", Email: uma}}
	cs := conns{"u1": {{User: "u1", Provider: connection.Salesforce, Status: connection.NeedsReconnect},
		{User: "u1", Provider: google.Provider, Status: connection.Connected}}}
	var asked []string
	n, err := notice.New(notice.Deps{Tables: tables, Profiles: prof, Connections: cs, DashboardURL: "https://crmsync.example/api/dashboard/", Now: clock,
		Mailer: notice.OwnMailbox{Senders: func(_ context.Context, user string) (notice.Sender, error) {
			asked = append(asked, user)
			return gmail, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	crm, mbx := memside.New("crm"), memside.New("mailbox")
	crm.Now, mbx.Now = clock, clock
	crm.FailChanges = fault.New(fault.Reconnect, "invalid_grant", "refresh token revoked")
	r := &session.Runner{Store: tables, Opener: opener{side.Sides{CRM: crm, Mailbox: mbx}}, Settings: settings{},
		Log: slog.New(slog.DiscardHandler), Now: clock, Observer: n}
	run := func() {
		t.Helper()
		now = now.Add(5 * time.Minute)
		rep, err := r.Run(context.Background(), "u1", "test")
		if err != nil || rep.Outcome != "reconnect" {
			t.Fatalf("session: %q %v, want reconnect", rep.Outcome, err)
		}
	}
	for range 5 {
		run()
	}
	sent := fg.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d messages after 5 sessions on one day, want 1: %+v", len(sent), sent)
	}
	m := sent[0]
	if m.From != uma || !slices.Equal(m.To, []string{uma}) || m.Subject != "crmsync: reconnect your Salesforce account" ||
		!strings.Contains(m.Body, "https://crmsync.example/api/dashboard/") || !slices.Equal(asked, []string{"u1"}) {
		t.Errorf("message %+v (senders asked for %v)", m, asked)
	}
	if !strings.Contains(string(m.Raw), "Content-Type: text/plain; charset=utf-8") {
		t.Errorf("raw message:\n%s", m.Raw)
	}
	now = now.Add(24 * time.Hour)
	run()
	run()
	if got := len(fg.Sent()); got != 2 {
		t.Errorf("%d messages after the second day, want 2", got)
	}
	for _, e := range storetest.Rows(t, tables, notice.Table) {
		if strings.Contains(e.RowKey, "@") {
			t.Errorf("notices row %s holds an address", e.RowKey)
		}
		for _, v := range e.Properties {
			if s, ok := v.(string); ok && strings.Contains(s, "@") {
				t.Errorf("notices row %s holds an address: %v", e.RowKey, e.Properties)
			}
		}
	}
	// A subject outside ASCII is encoded (RFC 2047), a line break refused.
	if err := gmail.SendText(context.Background(), uma, "Relancé: café", "x"); err != nil {
		t.Fatal(err)
	}
	if got := fg.Sent(); got[len(got)-1].Subject != "Relancé: café" {
		t.Errorf("subject came out %q", got[len(got)-1].Subject)
	}
	if err := gmail.SendText(context.Background(), uma, "a\r\nBcc: x@evil.example", "x"); err == nil {
		t.Error("a subject with a line break was sent")
	}
}
