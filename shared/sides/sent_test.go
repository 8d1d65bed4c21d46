package sides_test

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/sides"
)

// TestSentSubjectsFindsTrackedMessagesByHash: messages the user sent are
// found in Sent Items by the hash of their id (what tracking stores) and
// their subjects read live; a hash of a message no longer there is absent.
func TestSentSubjectsFindsTrackedMessagesByHash(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	opener := w.runner.Opener.(*sides.Opener)
	c, err := opener.GraphClient(ctx, w.user)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Proposal for Acme", "Lunch?"} {
		if err := c.SendMail(ctx, msgraph.Mail{To: []string{"alice@acme.example"}, Subject: s, Text: "x", SaveToSentItems: true}); err != nil {
			t.Fatal(err)
		}
	}
	sent, err := c.SentMessages(ctx, 10)
	if err != nil || len(sent) != 2 {
		t.Fatalf("SentMessages: %v, %v", sent, err)
	}
	hash := func(user, id string) string { return "h:" + user + ":" + id }
	var proposal string
	for _, m := range sent {
		if m.Subject == "Proposal for Acme" {
			proposal = hash(w.user, m.ID)
		}
	}
	got, err := sides.SentSubjects{Opener: opener, Hash: hash}.Subjects(ctx, w.user, []string{proposal, hash(w.user, "AAMkGone=")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[proposal] != "Proposal for Acme" {
		t.Errorf("Subjects = %v, want the proposal's subject only", got)
	}
}
