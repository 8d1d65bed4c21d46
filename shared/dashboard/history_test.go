package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/reconcile"
	"github.com/crmsync/crmsync/shared/session"
)

// seedHistory rolls sessions of the user (and so of org A) into the last
// days: contacts to the mailbox and tasks to Salesforce, a partial session
// with problems, and the org's API calls against a 15,000 limit.
func seedHistory(t testing.TB, f *fixture) {
	t.Helper()
	ctx := context.Background()
	for back := range 10 {
		started := f.now.AddDate(0, 0, -back)
		f.insight.Ended(ctx, session.Ended{User: f.user.User, CRMCallsToday: 100 * (back + 1), CRMLimit: 15000, Report: session.Report{
			Started: started, Outcome: "ok", Counts: map[string]int{"contact|to-mailbox|create": back + 1, "task|to-crm|update": 2}}})
	}
	f.insight.Ended(ctx, session.Ended{User: f.user.User, Report: session.Report{Started: f.now.AddDate(0, 0, -3), Outcome: "partial", Issues: 4,
		Counts: map[string]int{"event|to-crm|create": 1}}})
}

// TestHistoryPage: the user's history has the three charts with their
// summaries, legends and tables; the org's adds API calls against the
// limit; a bad span is refused by name and a huge one shows the 90 days kept.
func TestHistoryPage(t *testing.T) {
	f := newFixture(t)
	seedHistory(t, f)
	P := dashboard.Prefix
	code, body, _ := f.call(t, f.user, http.MethodGet, P+"/history", "", false)
	if code != http.StatusOK {
		t.Fatalf("GET /history: %d %s", code, body)
	}
	for _, want := range []string{
		`<svg class="chart"`, `role="img"`, `aria-labelledby="moved-title moved-summary"`,
		"Records moved per day: 76 records moved", // 1+…+10 contacts, 10×2 tasks, 1 event
		"Contacts to the mailbox", "Tasks to Salesforce", "Events to Salesforce",
		"Problems per day: 4 problems", "Sessions per day by result: 11 sessions",
		"Finished with problems", `<td data-label="Contacts to the mailbox">10</td>`,
		"20 days without any", // 30 days shown, 10 with records
	} {
		if !strings.Contains(body, want) {
			t.Errorf("history page lacks %q", want)
		}
	}
	if strings.Contains(body, "Salesforce API calls per day") {
		t.Error("the user's history shows the org's API calls")
	}
	code, body, _ = f.call(t, f.admin, http.MethodGet, P+"/orgs/{org}/history?days=7", "", false)
	if code != http.StatusOK {
		t.Fatalf("org history: %d %s", code, body)
	}
	for _, want := range []string{"Salesforce API calls per day: 2800 API calls", "The org&#39;s daily API limit: 15000 a day", `class="limit"`, "Height: 0 to 20000 a day"} {
		if !strings.Contains(body, want) {
			t.Errorf("org history lacks %q", want)
		}
	}
	code, body, _ = f.call(t, f.user, http.MethodGet, P+"/history?days=100000000", "", false)
	if code != http.StatusOK || !strings.Contains(body, "History keeps 90 days; showing all of them.") || strings.Count(body, `<svg class="chart"`) != 3 {
		t.Errorf("a huge span: %d, want the 90 days with a note", code)
	}
	code, body, _ = f.call(t, f.user, http.MethodGet, P+"/history?days=lots", "", false)
	if code != http.StatusBadRequest || !strings.Contains(body, "Days must be a whole number from 1 to 90") {
		t.Errorf("days=lots: %d, want 400 naming the rule:\n%s", code, body)
	}
}

// TestProgressAPI: the overview shows a running session's bar and the API
// answers its counts with the estimate; once done the overview has no bar.
func TestProgressAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.insight.Progress(ctx, session.Progress{User: f.user.User, SessionID: "s9", Started: f.now.Add(-40 * time.Second), At: f.now,
		Kind: item.Contact, Read: 10000, Planned: 10000, Written: 2500})
	code, body, _ := f.call(t, f.user, http.MethodGet, dashboard.Prefix+"/overview", "", false)
	if code != http.StatusOK || !strings.Contains(body, `<progress id="progress-bar" max="100" value="25"`) ||
		!strings.Contains(body, "Read 10000, planned 10000, written 2500. About 2m0s left.") {
		t.Errorf("overview during a sync: %d, want the bar at 25%% with the estimate", code)
	}
	code, body, _ = f.call(t, f.user, http.MethodGet, dashboard.Prefix+"/v1/me/progress", "", false)
	var p struct {
		Running          bool
		Written, Percent int
		RemainingSeconds int
		Text             string
	}
	if err := json.Unmarshal([]byte(body), &p); code != http.StatusOK || err != nil || !p.Running || p.Written != 2500 || p.Percent != 25 || p.RemainingSeconds != 120 {
		t.Errorf("progress API: %d %s", code, body)
	}
	f.insight.Progress(ctx, session.Progress{User: f.user.User, SessionID: "s9", Started: f.now.Add(-40 * time.Second), At: f.now,
		Read: 10000, Planned: 10000, Written: 10000, Done: true})
	if _, body, _ = f.call(t, f.user, http.MethodGet, dashboard.Prefix+"/overview", "", false); strings.Contains(body, "progress-bar") {
		t.Error("the overview shows a progress bar after the sync finished")
	}
}

// waitFor polls the page until js is true: the test observes a state the
// page reaches, bounded by a generous deadline that only guards a hang.
func waitFor(t *testing.T, b *browsertest.Browser, what, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !browsertest.Eval[bool](b, js) {
		if time.Now().After(deadline) {
			t.Fatalf("the page never reached: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserHistoryCharts: the user opens History from the menu and sees
// the charts drawn, each named by its summary, with the table of numbers
// behind "The numbers"; the admin opens the organisation's history with
// the API calls against the limit. At 1280 and 390 px, no overflow.
func TestBrowserHistoryCharts(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			seedHistory(t, f)
			b := browsertest.New(t, f.srv.URL, width)
			P := dashboard.Prefix
			signInAs(t, b, "s-user")
			b.Click(`nav a[href="` + P + `/history"]`)
			b.Expect("History", []string{"Records moved per day", "Problems per day", "Sessions per day by result", "Contacts to the mailbox"})
			if n := browsertest.Eval[int](b, `document.querySelectorAll("svg.chart rect").length`); n < 20 {
				t.Errorf("%d bars drawn, want the seeded days' bars", n)
			}
			if w := browsertest.Eval[float64](b, `document.querySelector("svg.chart").getBoundingClientRect().width`); w < 200 || w > float64(width) {
				t.Errorf("the chart is %.0f px wide in a %d px window", w, width)
			}
			name := browsertest.Eval[string](b, `(() => { const s = document.querySelector("#chart-moved svg"); return s.getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id).textContent).join(" | "); })()`)
			if !strings.Contains(name, "Records moved per day | Records moved per day: 76 records moved") {
				t.Errorf("the chart's accessible name is %q", name)
			}
			b.Tick("#chart-moved summary")
			if got := b.Text("#chart-moved table"); !strings.Contains(got, "Contacts to the mailbox") || !strings.Contains(got, "10") {
				t.Errorf("the moved chart's table reads %q", got)
			}
			b.Click(`a[href="` + P + `/history?days=90"]`)
			b.Expect("History", []string{"The numbers: 10 days with any"})
			if got := browsertest.Eval[string](b, `document.querySelector("#chart-moved details").textContent`); !strings.Contains(got, "80 days without any records moved are left out") {
				t.Errorf("the 90 days' table says %q, want the 80 quiet days named", got)
			}
			b.Screenshot("history.png")
		})
	}
}

// TestBrowserOrgHistoryCalls: an org admin reaches the organisation's
// history from their own history page: API calls per day with the limit.
func TestBrowserOrgHistoryCalls(t *testing.T) {
	f := newFixture(t)
	seedHistory(t, f)
	b := browsertest.New(t, f.srv.URL, 390)
	P := dashboard.Prefix
	signInAs(t, b, "s-admin")
	b.Click(`nav a[href="` + P + `/history"]`)
	b.Click("#org-history-link")
	b.Expect("Organisation history", []string{"Salesforce API calls per day", "The org's daily API limit (15000)"})
	if !b.Has("#chart-calls svg line.limit") {
		t.Error("the API calls chart draws no limit line")
	}
}

// TestBrowserProgressMoves: during a seeded long sync the overview's bar
// follows the session's reports without reloading (the page's script asks
// the API), and says so when the sync finishes. Each step waits for the
// state it expects to be observed, never for a time.
func TestBrowserProgressMoves(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			started := f.now
			report := func(written int, done bool) {
				f.insight.Progress(ctx, session.Progress{User: f.user.User, SessionID: "long", Started: started, At: started.Add(time.Duration(written) * time.Millisecond),
					Kind: item.Contact, Read: 10000, Planned: 10000, Written: written, Done: done})
			}
			report(0, false)
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-user")
			b.Expect("Overview", []string{"Sync in progress", "Read 10000, planned 10000, written 0"})
			if v := browsertest.Eval[float64](b, `document.querySelector("#progress-bar").value`); v != 0 {
				t.Errorf("the bar stands at %v before anything was written", v)
			}
			report(2500, false)
			waitFor(t, b, "the bar at 25%", `document.querySelector("#progress-bar").value === 25`)
			if got := b.Text("#progress-text"); !strings.Contains(got, "written 2500") || !strings.Contains(got, "left") {
				t.Errorf("progress text %q, want the count and an estimate", got)
			}
			report(7000, false)
			waitFor(t, b, "the bar at 70%", `document.querySelector("#progress-bar").value === 70`)
			report(10000, true)
			waitFor(t, b, "the finished state", `document.querySelector("#live-progress").dataset.state === "done"`)
			if got := b.Text("#prog-h"); got != "Sync finished" {
				t.Errorf("heading %q after the sync finished", got)
			}
			if p := b.Problems(); len(p) > 0 {
				t.Errorf("browser problems: %v", p)
			}
		})
	}
}

// TestBrowserConflictLog: after seeded conflicts the user finds them from
// History: the object, the field, the side kept and the rule, with the
// record's name read live from the local Salesforce (stored: ids only), and
// a record no longer there said to be gone.
func TestBrowserConflictLog(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			live, err := f.sf.Insert(f.sfID, "Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace"})
			if err != nil {
				t.Fatal(err)
			}
			f.insight.Conflict(context.Background(), session.ConflictNote{User: f.user.User, SessionID: "s1", Kind: item.Contact,
				CRMID: live, MailboxID: "AAMkContact42=", Field: item.Title, Winner: reconcile.Mailbox, Rule: "newer-wins", At: f.now.Add(-time.Hour)})
			f.insight.Conflict(context.Background(), session.ConflictNote{User: f.user.User, SessionID: "s1", Kind: item.Contact,
				CRMID: "003000000000042", MailboxID: "AAMkContact43=", Field: item.Phone, Winner: reconcile.CRM, Rule: "crm-wins", At: f.now.Add(-2 * time.Hour)})
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-user")
			b.Click(`nav a[href="` + dashboard.Prefix + `/history"]`)
			b.Click("#conflicts-link")
			b.Expect("Conflicts the merge settled", []string{"Ada Lovelace", "The Mailbox change", "The newer change wins",
				"No longer in Salesforce (003000000000042)", "Salesforce wins"})
		})
	}
}

// noMail is the fixture's mailer: the dashboard tests only keep choices.
type noMail struct{}

func (noMail) Send(context.Context, string, notice.Mail) error { return nil }

// TestBrowserNotificationChoices: the user opens Notifications from the
// menu, unticks failing items and saves; the choice is stored and the page
// comes back with it; a user who is not an admin is not offered the digest.
func TestBrowserNotificationChoices(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-user")
			b.Click(`nav a[href="` + dashboard.Prefix + `/notifications"]`)
			b.Expect("Notifications", []string{"A connection needs reconnecting", "Items keep failing to sync"}, "Daily digest")
			b.Tick("#notice-failing")
			b.Click("#save-notifications")
			b.Expect("Notifications", []string{"Saved."})
			p, err := f.notices.ReadPrefs(context.Background(), f.user.User)
			if err != nil || p.Wants(notice.Failing) || !p.Wants(notice.Reconnect) {
				t.Errorf("stored choices %+v (%v), want failing items off, the rest on", p, err)
			}
			if browsertest.Eval[bool](b, `document.querySelector("#notice-failing").checked`) {
				t.Error("the page shows failing items still ticked")
			}
		})
	}
}

// TestNotificationFormRefusesAnUnknownKind: a forged kind is refused by
// name and nothing is stored.
func TestNotificationFormRefusesAnUnknownKind(t *testing.T) {
	f := newFixture(t)
	code, body, _ := f.call(t, f.user, http.MethodPost, dashboard.Prefix+"/notifications", "on=reconnect&on=weekly&csrf_token="+csrfFor(f.user.User), false)
	if code != http.StatusBadRequest || !strings.Contains(body, "weekly") {
		t.Errorf("status %d, want 400 naming the kind", code)
	}
	if p, _ := f.notices.ReadPrefs(context.Background(), f.user.User); len(p.Off) != 0 {
		t.Errorf("stored %+v after a refused form", p)
	}
}

// TestAdminHistoryLinks: an admin reaches the org's history from the org
// page and a user's history from the user's page; support reads the org's.
func TestAdminHistoryLinks(t *testing.T) {
	f := newFixture(t)
	seedHistory(t, f)
	P := dashboard.Prefix
	_, body, _ := f.call(t, f.admin, http.MethodGet, P+"/orgs/{org}", "", false)
	if !strings.Contains(body, `href="`+P+`/orgs/`+orgA+`/history"`) {
		t.Error("the org page has no link to its history")
	}
	_, body, _ = f.call(t, f.admin, http.MethodGet, P+"/users/{user}", "", false)
	if !strings.Contains(body, `href="`+P+`/users/`+f.user.User+`/history"`) {
		t.Error("a user's page has no link to the user's history")
	}
	code, body, _ := f.call(t, f.admin, http.MethodGet, P+"/users/{user}/history?days=90", "", false)
	if code != http.StatusOK || !strings.Contains(body, "Records moved per day: 76 records moved") || !strings.Contains(body, "Back to the user") {
		t.Errorf("the admin's view of the user's history: %d", code)
	}
	if code, _, _ := f.call(t, f.support, http.MethodGet, P+"/orgs/{org}/history", "", false); code != http.StatusOK {
		t.Errorf("support reading the org's history: %d", code)
	}
	if code, _, _ := f.call(t, f.peer, http.MethodGet, P+"/users/{user}/history", "", false); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("a peer reading the user's history: %d, want refused", code)
	}
}
