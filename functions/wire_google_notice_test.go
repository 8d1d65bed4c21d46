package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/connection"
)

// TestGoogleNoticesGoThroughGmail: in a CRMSYNC_MAILBOX=google deployment
// with neither SMTP nor a service mailbox, a user whose Salesforce
// connection needs reconnecting is told once a day through their own
// Gmail (users.messages.send), to their own address.
func TestGoogleNoticesGoThroughGmail(t *testing.T) {
	g := newGoogleWorld(t, nil, fakegoogle.Options{})
	if rep := g.runSession(t, g.user); rep.Outcome != "ok" {
		t.Fatalf("first session: %q", rep.Outcome)
	}
	g.settle(t)
	if err := g.app.conns.MarkNeedsReconnect(t.Context(), g.user, connection.Salesforce, "test: revoked"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = g.trySession(t, g.user) // stops for the reconnect
	}
	sent := g.fg.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d messages sent through Gmail, want 1: %+v", len(sent), sent)
	}
	if m := sent[0]; m.From != googleWorldUser || !slices.Equal(m.To, []string{googleWorldUser}) || !strings.Contains(m.Subject, "reconnect your Salesforce account") {
		t.Errorf("message %+v", m)
	}
}
