package sides_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/sides"
)

// withUserShare gives the world's user a tenth of the org's daily API
// allowance (100,000 of the local org's 1,000,000 calls), counted from the
// user's session reports as the deployed service counts them.
func (w *world) withUserShare(t *testing.T) {
	t.Helper()
	o, ok := w.runner.Opener.(*sides.Opener)
	if !ok {
		t.Fatalf("the world's opener is a %T", w.runner.Opener)
	}
	o.SalesforceUserShare = 0.1
	o.SalesforceCounter = func(user string) salesforce.CallCounter { return session.NewReportCounter(w.tables, user) }
	o.Now = func() time.Time { return w.now }
	if _, limit := w.sf.APIUsage(); limit != 1_000_000 {
		t.Fatalf("the local org's daily limit is %d; the shares below assume 1,000,000", limit)
	}
}

// TestUserShareSpansSessions: the per-user cap counts the calls the user's
// earlier sessions stored in their reports, so a session of a user whose
// sessions of the last 24 hours used up the share stops after a call or two
// with outcome "quota" and asks for no retry, while a user with the same share
// and no earlier sessions syncs.
func TestUserShareSpansSessions(t *testing.T) {
	ctx := context.Background()
	t.Run("earlier sessions used the share", func(t *testing.T) {
		w := newWorld(t)
		w.withUserShare(t)
		w.seedSalesforce(20, 5, 5)
		st := session.NewState(w.tables, w.user)
		for _, r := range []session.Report{
			// A day and an hour ago: out of the window, whatever it holds.
			{SessionID: "s-old", Started: w.now.Add(-25 * time.Hour), Outcome: "ok", Calls: map[string]int64{"crm": 500_000}},
			{SessionID: "s-morning", Started: w.now.Add(-20 * time.Hour), Outcome: "ok", Calls: map[string]int64{"crm": 60_000, "mailbox": 900}},
			{SessionID: "s-recent", Started: w.now.Add(-time.Hour), Outcome: "ok", Calls: map[string]int64{"crm": 39_999, "mailbox": 12}},
		} {
			if err := st.SaveReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		w.sf.ResetCalls()
		w.now = w.now.Add(5 * time.Minute)
		rep, err := w.runner.Run(ctx, w.user, "test")
		if err != nil {
			t.Fatalf("session returned %v; a quota stop must not ask the queue for a retry", err)
		}
		if rep.Outcome != "quota" {
			t.Fatalf("outcome %q (%s), want quota\nlogs:\n%s", rep.Outcome, rep.Detail, w.logs.String())
		}
		// 99,999 of the 100,000 calls were used: the first call goes out (its
		// answer tells the client the org's limit), the next is refused.
		if got := rep.Calls["crm"]; got != 1 {
			t.Errorf("the session made %d Salesforce calls, want 1", got)
		}
		sent := 0
		for _, n := range w.sf.Calls() {
			sent += n
		}
		if int64(sent) != rep.Calls["crm"] {
			t.Errorf("Salesforce answered %d calls, the session counted %d: a refused call must not be sent or retried", sent, rep.Calls["crm"])
		}
		reports, err := st.Reports(ctx, 1)
		if err != nil || len(reports) != 1 || reports[0].Outcome != "quota" {
			t.Errorf("latest report %+v (%v), want the quota session's", reports, err)
		}
	})
	t.Run("another user's sessions used their share", func(t *testing.T) {
		w := newWorld(t)
		w.withUserShare(t)
		w.seedSalesforce(20, 5, 5)
		other := session.NewState(w.tables, "u-someone-else")
		if err := other.SaveReport(ctx, session.Report{SessionID: "s-other", Started: w.now.Add(-time.Hour), Outcome: "ok",
			Calls: map[string]int64{"crm": 100_000}}); err != nil {
			t.Fatal(err)
		}
		rep := w.session()
		if got := rep.Counts["contact|to-mailbox|create"]; got != 20 {
			t.Errorf("created %d contacts in the mailbox, want 20 (%v)", got, rep.Counts)
		}
		if n := len(w.mailboxAll(item.Contact)); n != 20 {
			t.Errorf("mailbox contacts = %d, want 20", n)
		}
		w.session() // and the next, counting the first's calls, too
	})
}
