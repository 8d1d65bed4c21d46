package c4c

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// TestAttachFileToLoggedEmail: the session attaches a shared e-mail's
// files to the e-mail LogEmail returned. C4C has no documented EMail
// attachment collection, so the file goes to the e-mail's main contact —
// from the side that logged it and from a fresh one (another session) —
// and an e-mail related to no contact is a permanent, explained refusal.
// Before, the upload named the e-mail as a contact's attachment parent and
// C4C refused it (400), failing every shared e-mail with an attachment (found
// by TestDemoC4CEndToEnd).
func TestAttachFileToLoggedEmail(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	contact, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Anders", "Email": "alice@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	mail := item.Record{Kind: item.SharedEmail, Fields: map[string]string{item.Subject: "Re: Proposal"}}
	emailID, err := l.side.LogEmail(ctx, mail, []string{contact}, "", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.side.AttachFile(ctx, emailID, "terms.pdf", 5, strings.NewReader("hello")); err != nil {
		t.Fatalf("attach from the logging side: %v", err)
	}
	fresh := NewSide(l.client, SideOptions{Now: l.clock.Now})
	if _, err := fresh.AttachFile(ctx, emailID, "terms2.pdf", 5, strings.NewReader("hello")); err != nil {
		t.Fatalf("attach from another session: %v", err)
	}
	if got := l.srv.Count("ContactAttachmentFolder"); got != 2 {
		t.Fatalf("%d attachments in C4C, want 2", got)
	}
	var parents []string
	if err := l.client.List(ctx, "ContactAttachmentFolder", nil, func(e Entity) error { parents = append(parents, e.String("ParentObjectID")); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, p := range parents {
		if p != contact {
			t.Errorf("attachment parent %s, want the contact %s", p, contact)
		}
	}
	lone, err := l.side.LogEmail(ctx, mail, nil, "", "m2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.AttachFile(ctx, lone, "x.pdf", 1, strings.NewReader("x")); !fault.Is(err, fault.Permanent) {
		t.Fatalf("attach to an e-mail with no contact: %v, want a permanent refusal", err)
	}
}

// TestAttachFileFromThePane: the add-in files an attachment of unknown
// size (-1) on the record the user opened: a contact keeps it, an account
// keeps it in its own collection whether named by ObjectID or by the
// business ID the account pane uses, and an opportunity is refused in
// words. Before, a size of -1 refused every upload ("0 bytes, -1
// announced") and an account's file went to a contact folder C4C refused.
func TestAttachFileFromThePane(t *testing.T) {
	l := newLocal(t, fakec4c.Options{})
	ctx := t.Context()
	contact, err := l.srv.Insert("ContactCollection", map[string]any{"LastName": "Anders"})
	if err != nil {
		t.Fatal(err)
	}
	acctID, _ := paneData(t, l)
	acct, err := l.side.readRecord(ctx, "Account", acctID, []string{"ObjectID"})
	if err != nil {
		t.Fatal(err)
	}
	opp, err := l.srv.Insert("OpportunityCollection", map[string]any{"Name": "Deal", "ProspectPartyID": acctID, "LifeCycleStatusCode": "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		parent, coll string
	}{{contact, "ContactAttachmentFolder"}, {acct.ID(), "AccountAttachmentCollection"}, {acctID, "AccountAttachmentCollection"}} {
		before := l.srv.Count(tc.coll)
		if _, err := l.side.AttachFile(ctx, tc.parent, "terms.pdf", -1, strings.NewReader("hello")); err != nil {
			t.Errorf("filing on %s: %v", tc.parent, err)
		}
		if got := l.srv.Count(tc.coll) - before; got != 1 {
			t.Errorf("filing on %s made %d entries of %s, want 1", tc.parent, got, tc.coll)
		}
	}
	_, err = l.side.AttachFile(ctx, opp, "terms.pdf", -1, strings.NewReader("hello"))
	var fe *fault.Error
	if !fault.Is(err, fault.Permanent) || !errors.As(err, &fe) || !strings.Contains(fe.Message, "contacts and accounts") {
		t.Errorf("filing on an opportunity: %v, want a permanent refusal in words", err)
	}
}
