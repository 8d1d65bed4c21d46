package session_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

// TestFailedLeadIssueNamesNoAddressAndClears: a Lead the CRM refuses becomes
// an issue named like the Lead, never by its address (the privacy rule), and
// the issue clears once a later share creates the Lead.
func TestFailedLeadIssueNamesNoAddressAndClears(t *testing.T) {
	const addr = "jane.doe@prospect.io"
	f := newFixture(t)
	f.crm.FailRecord = func(op string, r item.Record) error {
		if op == "create-lead" && r.Fields[item.Email] == addr {
			return fault.New(fault.Permanent, "DUPLICATES_DETECTED", "duplicate of "+addr)
		}
		return nil
	}
	f.mbx.AddEmail(item.Record{Fields: map[string]string{item.Subject: "Intro", item.From: "me@ourco.com", item.To: addr}}, nil)
	f.run(t)
	is := issuesWith(t, f, "lead-failed")
	if len(is) != 1 {
		t.Fatalf("lead issues = %+v, want one", is)
	}
	if got, want := is[0].Name, "Jane Doe"; got != want {
		t.Errorf("issue name = %q, want %q", got, want)
	}
	for what, v := range map[string]string{"name": is[0].Name, "record ID": is[0].RecordID, "reason": is[0].Reason} {
		if strings.Contains(v, "@") || strings.Contains(v, "prospect") {
			t.Errorf("issue %s %q holds (part of) the address", what, v)
		}
	}

	f.crm.FailRecord = nil
	f.mbx.AddEmail(item.Record{Fields: map[string]string{item.Subject: "Follow-up", item.From: addr, item.To: "me@ourco.com"}}, nil)
	rep := f.run(t)
	if got := rep.Counts["lead|to-crm|create"]; got != 1 {
		t.Errorf("leads created by the later share = %d, want 1", got)
	}
	if is := issuesWith(t, f, "lead-failed"); len(is) != 0 {
		t.Errorf("lead issue still open after the Lead was created: %+v", is)
	}
}

// TestLegacyLeadIssueWithAddressIsCleared: issues stored by earlier versions,
// named by the address, do not stay in storage.
func TestLegacyLeadIssueWithAddressIsCleared(t *testing.T) {
	f := newFixture(t)
	legacy := session.Issue{Kind: item.SharedEmail, Side: reconcile.CRM, RecordID: "lead:old", Name: "old.lead@prospect.io", Code: "lead-failed", Reason: "could not create a Lead"}
	if err := session.NewState(f.store, "u1").RaiseIssues(context.Background(), []session.Issue{legacy}, f.now); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	if is := issuesWith(t, f, "lead-failed"); len(is) != 0 {
		t.Errorf("legacy lead issue still stored: %+v", is)
	}
}

// TestSharedEmailKeepsEveryEmailField: every canonical e-mail field the
// mailbox read, the direction included, reaches the CRM's LogEmail.
func TestSharedEmailKeepsEveryEmailField(t *testing.T) {
	f := newFixture(t)
	fields := map[string]string{item.Subject: "Proposal", item.Description: "body", item.From: "me@ourco.com",
		item.To: "ada@acme.com", item.Cc: "alan@acme.com", item.Sent: "2026-11-24T08:00:00Z", item.Direction: "Outbound"}
	if len(fields) != len(item.EmailFields) {
		t.Fatalf("the test sets %d fields, item.EmailFields lists %d: keep them in step", len(fields), len(item.EmailFields))
	}
	msg := f.mbx.AddEmail(item.Record{Fields: fields}, nil)
	f.run(t)
	task, ok := f.mbx.SharedAs(msg)
	if !ok {
		t.Fatal("message not shared")
	}
	logged := f.crm.LoggedMails[task]
	for _, name := range item.EmailFields {
		if got, want := logged.Fields[name], fields[name]; got != want {
			t.Errorf("logged e-mail field %s = %q, want %q", name, got, want)
		}
	}
}
