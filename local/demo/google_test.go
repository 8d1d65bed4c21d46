package demo_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/sides"
)

// TestDemoGoogle: with mailbox google the demo serves the seeded local
// Google on the mailbox listener, sets CRMSYNC_MAILBOX=google with a Google
// client pointed at it, and connects the demo user with their own OAuth
// tokens: the stored connection, opened with the settings the demo gives
// the app, reads the seeded contacts of the crmsync group, the event and
// the task.
func TestDemoGoogle(t *testing.T) {
	ctx := context.Background()
	w, tables, _, ring := startDemo(t, func(o *demo.Options) { o.Mailbox = settings.MailboxGoogle })
	if w.Google == nil || w.Salesforce == nil {
		t.Fatalf("Google demo: Google %v, Salesforce %v", w.Google != nil, w.Salesforce != nil)
	}
	env := map[string]string{}
	for _, e := range w.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	if env[settings.NameMailbox] != settings.MailboxGoogle || env[google.NameBaseURL] != w.GraphURL || env[google.NameClientID] == "" {
		t.Fatalf("the demo's settings do not choose the local Google: %v", w.Env)
	}
	var cfg google.Config
	_, err := settings.Load(func(k string) string {
		return map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: t.TempDir()}[k] + env[k]
	}, cfg.Settings())
	if err != nil {
		t.Fatalf("the demo's settings do not load: %v", err)
	}
	conns := connection.NewStore(tables, ring, connection.Options{})
	c, err := conns.Get(ctx, w.User, google.Provider)
	if err != nil || c.Flow != connection.FlowAuthCode || !slices.Equal(c.Scopes, google.Scopes) {
		t.Fatalf("the demo user's Google connection: %+v, %v", c, err)
	}
	oauth := google.OAuthConfig(cfg.ClientID, cfg.ClientSecret, "", cfg.BaseURL+"/token")
	opener := &sides.Opener{Connections: conns, Mailbox: &google.Opener{OAuth: oauth, BaseURL: cfg.BaseURL}}
	mbx, err := opener.OpenMailbox(ctx, w.User, nil)
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[item.Kind]int{item.Contact: 2, item.Event: 1, item.Task: 1} {
		ch, err := mbx.Changes(ctx, item.Scope{Kind: kind}, "")
		if err != nil || len(ch.Records) != want {
			t.Errorf("the demo user's Google %s: %d, %v; want the %d seeded", kind, len(ch.Records), err, want)
		}
	}
}
