package c4c

import (
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
