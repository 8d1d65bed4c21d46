package sides_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
)

// withUserShare gives the world's user a tenth of the org's daily API
// allowance (100,000 of the local org's 1,000,000 calls), counted from the
// tally on the user's lease row as the deployed service counts them.
func (w *world) withUserShare(t *testing.T) {
	t.Helper()
	o, ok := w.runner.Opener.(*sides.Opener)
	if !ok {
		t.Fatalf("the world's opener is a %T", w.runner.Opener)
	}
	sf := o.CRM.(*salesforce.Opener)
	sf.UserShare = 0.1
	sf.Counter = func(user string) side.CallCounter { return session.NewLeaseCounter(w.tables, user) }
	sf.Now = func() time.Time { return w.now }
	if _, limit := w.sf.APIUsage(); limit != 1_000_000 {
		t.Fatalf("the local org's daily limit is %d; the shares below assume 1,000,000", limit)
	}
}

// pastSession leaves on the lease row what a session of user that started at
// started and made calls leaves there (the lease part of a session).
func (w *world) pastSession(t *testing.T, user string, started time.Time, calls map[string]int64) {
	t.Helper()
	ctx := context.Background()
	l, err := session.AcquireLease(ctx, w.tables, user, "s-"+started.Format(time.RFC3339), time.Minute, started)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, session.Report{Started: started, Duration: time.Minute, Outcome: "ok", Calls: calls}); err != nil {
		t.Fatal(err)
	}
}

// TestUserShareSpansSessions: the per-user cap counts the calls the user's
// earlier sessions tallied on the lease row, so a session of a user whose
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
		// A day and two hours ago: out of the window, whatever it holds.
		w.pastSession(t, w.user, w.now.Add(-26*time.Hour), map[string]int64{"crm": 500_000})
		w.pastSession(t, w.user, w.now.Add(-20*time.Hour), map[string]int64{"crm": 60_000, "mailbox": 900})
		w.pastSession(t, w.user, w.now.Add(-time.Hour), map[string]int64{"crm": 39_999, "mailbox": 12})
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
		w.pastSession(t, "u-someone-else", w.now.Add(-time.Hour), map[string]int64{"crm": 100_000})
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

// TestIdleSessionsCount: a session that changes nothing saves no report, yet
// its Salesforce calls count toward the user's share (through the lease row
// it writes anyway), so hundreds of idle sessions a day cannot go unseen.
func TestIdleSessionsCount(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.withUserShare(t)
	w.seedSalesforce(5, 2, 2)
	w.session()
	w.session() // settles: reads back crmsync's own writes
	used := func() int {
		t.Helper()
		n, err := session.NewLeaseCounter(w.tables, w.user).Used(ctx, w.now)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	st := session.NewState(w.tables, w.user)
	reports, err := st.Reports(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	before := used()
	idle := w.session()
	if len(idle.Counts) != 0 {
		t.Fatalf("the idle session changed %v", idle.Counts)
	}
	if idle.Calls["crm"] < 1 {
		t.Fatalf("the idle session made %d Salesforce calls; the test means at least one", idle.Calls["crm"])
	}
	after, err := st.Reports(ctx, 100)
	if err != nil || len(after) != len(reports) {
		t.Errorf("reports %d (%v), want %d: an idle session saves none", len(after), err, len(reports))
	}
	if got, want := used(), before+int(idle.Calls["crm"]); got != want {
		t.Errorf("Used after the idle session = %d, want %d (%d before, plus its %d calls)", got, want, before, idle.Calls["crm"])
	}
}
