package msgraph_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/msgraph"
)

// TestSentSubjectsFindsTrackedMessagesByHash: messages the user sent
// (sendMail keeps them in Sent Items) are found by the hash of their id —
// what open tracking stores — and their subjects read live; a hash of a
// message no longer there is absent.
func TestSentSubjectsFindsTrackedMessagesByHash(t *testing.T) {
	g := fakegraph.New(fakegraph.Options{})
	srv := httptest.NewServer(g)
	defer srv.Close()
	const upn = "uma@contoso.test"
	g.AddMailbox(upn, "Uma")
	c, err := msgraph.New(msgraph.Options{BaseURL: srv.URL + "/v1.0", TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.Token(upn)})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
			proposal = hash("u1", m.ID)
		}
	}
	s := msgraph.SentSubjects{Client: func(context.Context, string) (*msgraph.Client, error) { return c, nil }, Hash: hash}
	got, err := s.Subjects(ctx, "u1", []string{proposal, hash("u1", "AAMkGone=")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[proposal] != "Proposal for Acme" {
		t.Errorf("Subjects = %v, want the proposal's subject only", got)
	}
	if one, err := c.SentMessages(ctx, 1); err != nil || len(one) != 1 {
		t.Errorf("SentMessages(1) = %d messages (%v), want the bound kept", len(one), err)
	}
}
