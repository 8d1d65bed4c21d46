package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

// seedContacts puts n contacts into the CRM, syncs them to the mailbox and
// returns their CRM IDs.
func seedContacts(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, f.crm.Put(contact("C", fmt.Sprint(i), fmt.Sprintf("c%d@acme.com", i))))
	}
	f.run(t)
	f.run(t) // reads back its own writes: the cursors settle
	if got := len(f.mbx.Records(item.Contact)); got != n {
		t.Fatalf("mailbox holds %d contacts after the first sync, want %d", got, n)
	}
	return ids
}

// issuesWith returns the user's open issues with code.
func issuesWith(t *testing.T, f *fixture, code string) []session.Issue {
	t.Helper()
	open, err := session.NewState(f.store, "u1").Issues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(open, func(is session.Issue) bool { return is.Code != code })
}

func guardIssues(t *testing.T, f *fixture, kind item.Kind) []session.Issue {
	t.Helper()
	return slices.DeleteFunc(issuesWith(t, f, string(reconcile.GuardTripped)), func(is session.Issue) bool { return is.Kind != kind })
}

func cursorsOf(t *testing.T, f *fixture, kind item.Kind) map[reconcile.Side]string {
	t.Helper()
	c, err := session.NewState(f.store, "u1").LoadCursors(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	return c.Old
}

// TestConfirmedGuardLetsRemovalsThroughOnce: while a guard holds removals
// back, the kind's cursors stay where they were (so the removals are seen
// again); the user's confirmation lets them through in the next session,
// which clears the issue, moves the cursors on, and leaves no confirmation
// behind for the next time the guard trips.
func TestConfirmedGuardLetsRemovalsThroughOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ids := seedContacts(t, f, 20)
	before := cursorsOf(t, f, item.Contact)
	for _, id := range ids {
		f.crm.Remove(item.Contact, id)
	}
	for i := 1; i <= 2; i++ {
		f.run(t)
		if got := len(f.mbx.Records(item.Contact)); got != 20 {
			t.Fatalf("held session %d: mailbox holds %d contacts, want all 20 kept", i, got)
		}
		is := guardIssues(t, f, item.Contact)
		if len(is) != 1 || is[0].Attempts != int64(i) {
			t.Fatalf("held session %d: guard issues %+v, want one seen %d times", i, is, i)
		}
		if got := cursorsOf(t, f, item.Contact); got[reconcile.CRM] != before[reconcile.CRM] || got[reconcile.Mailbox] != before[reconcile.Mailbox] {
			t.Errorf("held session %d: cursors %v, want %v kept so the removals are seen again", i, got, before)
		}
	}

	if err := session.NewState(f.store, "u1").ConfirmGuard(ctx, item.Contact, f.now); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if is := guardIssues(t, f, item.Contact); len(is) != 1 || is[0].Confirmed.IsZero() {
		t.Fatalf("guard issue after confirming: %+v, want it marked confirmed", is)
	}
	rep := f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 0 {
		t.Errorf("confirmed session: mailbox holds %d contacts, want the 20 removed", got)
	}
	if got, want := rep.Counts["contact|to-mailbox|delete"], 20; got != want {
		t.Errorf("confirmed session deleted %d mailbox contacts, want %d", got, want)
	}
	if is := guardIssues(t, f, item.Contact); len(is) != 0 {
		t.Errorf("guard issue still open after the confirmed removals went through: %+v", is)
	}
	if got := cursorsOf(t, f, item.Contact); got[reconcile.CRM] == before[reconcile.CRM] {
		t.Errorf("CRM cursor %q did not move on after the confirmed session", got[reconcile.CRM])
	}

	// The confirmation was used once: the guard holds the next wipe again.
	ids = seedContacts(t, f, 5)
	for _, id := range ids {
		f.crm.Remove(item.Contact, id)
	}
	f.run(t)
	if got := len(f.mbx.Records(item.Contact)); got != 5 {
		t.Errorf("after a used confirmation: mailbox holds %d contacts, want all 5 kept", got)
	}
	if is := guardIssues(t, f, item.Contact); len(is) != 1 || !is[0].Confirmed.IsZero() {
		t.Errorf("guard issues %+v, want one new, unconfirmed", is)
	}
}

// TestGuardIssueClearsWhenSideRecovers: a side that looked empty (an outage
// hiding every record) and then answers properly again needs no
// confirmation; the next session syncs normally and clears the issue.
func TestGuardIssueClearsWhenSideRecovers(t *testing.T) {
	f := newFixture(t)
	ids := seedContacts(t, f, 10)
	for _, id := range ids {
		f.crm.SetInScope(item.Contact, id, false)
	}
	f.run(t)
	if is := guardIssues(t, f, item.Contact); len(is) != 1 {
		t.Fatalf("guard issues %+v, want one while the CRM looks empty", is)
	}
	for _, id := range ids {
		f.crm.SetInScope(item.Contact, id, true)
	}
	f.run(t)
	if is := guardIssues(t, f, item.Contact); len(is) != 0 {
		t.Errorf("guard issue still open after the CRM recovered: %+v", is)
	}
	if got := len(f.mbx.Records(item.Contact)); got != 10 {
		t.Errorf("mailbox holds %d contacts, want all 10", got)
	}
}

func TestConfirmGuardNeedsAnOpenGuardIssue(t *testing.T) {
	f := newFixture(t)
	err := session.NewState(f.store, "u1").ConfirmGuard(context.Background(), item.Contact, f.now)
	if !errors.Is(err, session.ErrNothingToConfirm) {
		t.Errorf("confirm without a guard issue: err = %v, want ErrNothingToConfirm", err)
	}
}

// TestConfirmationSurvivesReRaise: a session that started before the user
// confirmed raises the guard issue again at its end; the confirmation stays.
func TestConfirmationSurvivesReRaise(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st := session.NewState(f.store, "u1")
	guard := session.Issue{Kind: item.Task, Code: string(reconcile.GuardTripped), Reason: "held"}
	if err := st.RaiseIssues(ctx, []session.Issue{guard}, f.now); err != nil {
		t.Fatal(err)
	}
	if err := st.ConfirmGuard(ctx, item.Task, f.now); err != nil {
		t.Fatal(err)
	}
	if err := st.RaiseIssues(ctx, []session.Issue{guard}, f.now); err != nil {
		t.Fatal(err)
	}
	if is := guardIssues(t, f, item.Task); len(is) != 1 || is[0].Confirmed.IsZero() || is[0].Attempts != 2 {
		t.Errorf("guard issue after a re-raise: %+v, want it still confirmed, seen twice", is)
	}
}
