package sides_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/session"
)

// These replay, as plain tests, the bugs TestPropertySessionsAgainstLocalServers
// found (its seeds in the comments).

func (w *pworld) mustRun(t *testing.T) session.Report {
	t.Helper()
	rep, err, _ := w.run(0)
	if err != nil || (rep.Outcome != "ok" && rep.Outcome != "partial") {
		t.Fatalf("session: outcome %s err %v\n%s", rep.Outcome, err, w.logs)
	}
	return rep
}

func (w *pworld) mailboxCount(t *testing.T, kind item.Kind) int {
	t.Helper()
	ch, err := w.mailbox.Changes(context.Background(), scopeAt(kind, time.Now()), "")
	if err != nil {
		t.Fatal(err)
	}
	return len(ch.Records)
}

// A contact given to another owner leaves the user's scope, but Salesforce's
// getUpdated respects sharing and stops reporting it: only the hourly full
// read notices, and then its mailbox copy goes (seed 382).
func TestOwnerChangeRemovesTheMailboxCopyWithinAnHour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newPWorld(t)
		defer w.close()
		var ids []string
		for _, e := range []string{"a", "b", "c"} {
			id, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"LastName": e, "Email": e + "@acme.example"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		w.mustRun(t)
		if err := w.sf.Update(w.sfID, ids[0], map[string]any{"OwnerId": w.otherID}); err != nil {
			t.Fatal(err)
		}
		removed := 0
		for end := time.Now().Add(salesforce.FullRereadEvery + 10*time.Minute); time.Now().Before(end); {
			time.Sleep(5 * time.Minute)
			removed += w.mustRun(t).Counts["contact|to-mailbox|delete"]
		}
		if removed != 1 {
			t.Errorf("sessions removed %d contacts from the mailbox, want 1", removed)
		}
		if got := w.mailboxCount(t, item.Contact); got != 2 {
			t.Errorf("mailbox contacts an hour after one was given away = %d, want 2", got)
		}
	})
}

// A CRM delete that the hourly full read sees is still a delete: the
// calendar copy of an event goes, rather than staying as it does when an
// event leaves scope (seed 1378).
func TestCRMDeleteSeenByTheHourlyReadDeletesTheCalendarCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newPWorld(t)
		defer w.close()
		start := time.Now().Add(26 * time.Hour).Truncate(time.Hour)
		var ids []string
		for _, subj := range []string{"Meet a", "Meet b", "Meet c"} {
			id, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": subj, "StartDateTime": start.Format(time.RFC3339),
				"EndDateTime": start.Add(time.Hour).Format(time.RFC3339)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		w.mustRun(t)
		time.Sleep(salesforce.FullRereadEvery - time.Minute)
		if err := w.sf.Delete(w.sfID, ids[0]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		rep := w.mustRun(t)
		if got := w.mailboxCount(t, item.Event); got != 2 || rep.Counts["event|to-mailbox|delete"] != 1 {
			t.Errorf("calendar events after a CRM delete = %d (session did %v), want 2 and one delete", got, rep.Counts)
		}
	})
}

// A session killed right after marking a shared e-mail (the PATCH reached
// Graph) left its intent pending for ever, as the marked message never comes
// round again (seed 997).
func TestKillAfterMarkingAnEmailSharedLeavesNoIntent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newPWorld(t)
		defer w.close()
		w.mustRun(t)
		msg := map[string]any{"subject": "Mail k1", "body": map[string]any{"contentType": "text", "content": "hello"},
			"from":         map[string]any{"emailAddress": map[string]any{"address": "someone@prospect.example"}},
			"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": upn}}},
			"categories":   []string{"Salesforce"}, "receivedDateTime": time.Now().UTC().Format(time.RFC3339)}
		if err := w.graphDo("POST", "messages", msg, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		w.kill.only = func(r *http.Request) bool {
			return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/messages/")
		}
		if _, _, killed := w.run(1); !killed {
			t.Fatal("the session never marked the message")
		}
		w.kill.only = nil
		time.Sleep(11 * time.Minute)
		w.mustRun(t)
		intents, err := session.NewState(w.tables, w.user).PendingIntents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(intents) != 0 {
			t.Errorf("%d intents pending after the e-mail was shared, want none", len(intents))
		}
		recs, err := w.admin.Collect(context.Background(), "SELECT Id FROM Task WHERE TaskSubtype = 'Email'")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Errorf("the e-mail became %d CRM tasks, want 1", len(recs))
		}
	})
}

// An item whose create failed for a while has an open issue; the session that
// finally creates it clears the issue. That session was killed after the
// create (in the e-mail pass, which comes last) and the clearing, deferred to
// the session's end, was lost: the item, now in sync, is never planned again,
// so the issue stayed open for ever (seed 30170).
func TestKillAfterAnItemSyncedStillClearsItsIssue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newPWorld(t)
		defer w.close()
		w.mustRun(t)
		start := time.Now().Add(26 * time.Hour).Truncate(time.Hour)
		if _, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "Meet a", "StartDateTime": start.Format(time.RFC3339),
			"EndDateTime": start.Add(time.Hour).Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		w.graph.Throttle(upn, 0, 1, 3*time.Minute)
		if rep := w.mustRun(t); rep.Issues != 1 {
			t.Fatalf("throttled create raised %d issues, want 1", rep.Issues)
		}
		time.Sleep(3 * time.Minute)
		w.kill.only = func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/messages") }
		if _, _, killed := w.run(1); !killed {
			t.Fatal("the session never reached the e-mail pass")
		}
		w.kill.only = nil
		time.Sleep(11 * time.Minute)
		w.mustRun(t)
		issues, err := session.NewState(w.tables, w.user).Issues(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(issues) != 0 || w.mailboxCount(t, item.Event) != 1 {
			t.Errorf("after the event synced: %d open issues, %d calendar events; want 0 and 1", len(issues), w.mailboxCount(t, item.Event))
		}
	})
}
