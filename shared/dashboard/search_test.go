package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/dashboard/browsertest"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// seedReports stores n session reports of the user, one a minute back from
// start, in session's layout (SaveReport's), 100 to a batch.
func seedReports(t testing.TB, f *fixture, start time.Time, n int, outcome string, counts string) {
	t.Helper()
	ctx := context.Background()
	var ops []tablestore.Op
	flush := func() {
		if _, err := f.tables.Batch(ctx, session.SessionsTable, ops); err != nil {
			t.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range n {
		at := start.Add(-time.Duration(i) * time.Minute)
		ops = append(ops, tablestore.Op{Kind: tablestore.OpUpsert, Entity: tablestore.Entity{PartitionKey: f.user.User,
			RowKey: fmt.Sprintf("%019d|seed%06d", int64(1<<62)-at.UnixNano(), i), Properties: map[string]any{
				"SessionID": fmt.Sprintf("seed%06d", i), "Reason": "schedule", "Started": at.UTC(), "DurationMs": int64(1200),
				"Outcome": outcome, "Detail": "", "Counts": counts, "Calls": "{}", "TableWrites": int64(3), "Issues": int64(0), "Conflicts": int64(0)}}})
		if len(ops) == 100 {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
}

// TestSessionSearch: the date range, object and result narrow the list;
// bad values are refused by name; open problems link to the record in
// Salesforce.
func TestSessionSearch(t *testing.T) {
	f := newFixture(t)
	P := dashboard.Prefix
	day := f.now.UTC().Truncate(24 * time.Hour)
	seedReports(t, f, day.AddDate(0, 0, -10).Add(12*time.Hour), 3, "error", `{"event|to-crm|create":1}`)
	seedReports(t, f, day.AddDate(0, 0, -40).Add(12*time.Hour), 2, "ok", `{"contact|to-mailbox|create":2}`)
	count := func(path string) (int, string) {
		code, body, _ := f.call(t, f.user, http.MethodGet, path, "", false)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		return strings.Count(body, `<td data-label="Started">`), body
	}
	if n, _ := count(P + "/sessions"); n != 4 { // the last 30 days: 3 errors and the fixture's session
		t.Errorf("default range: %d sessions, want 4", n)
	}
	from := day.AddDate(0, 0, -45).Format(time.DateOnly)
	if n, _ := count(P + "/sessions?from=" + from + "&outcome=ok"); n != 2 {
		t.Errorf("ok sessions since %s: %d, want 2", from, n)
	}
	if n, _ := count(P + "/sessions?from=" + from + "&object=event"); n != 3 {
		t.Errorf("sessions with events: %d, want 3", n)
	}
	_, body := count(P + "/sessions")
	if !strings.Contains(body, f.sfURL+"/lightning/r/Contact/003000000000001/view") || !strings.Contains(body, issueName) {
		t.Errorf("the open problem has no link to the record in Salesforce")
	}
	for q, want := range map[string]string{
		"from=yesterday":                       "from must be a date like 2026-12-31",
		"from=2026-12-02&to=2026-12-01":        "from must not be after to",
		"from=2020-01-01&to=2026-12-01":        "a search spans at most 366 days",
		"outcome=great":                        `there is no result called &#34;great&#34;`,
		"object=" + string(item.Kind("whale")): `there is no object called &#34;whale&#34;`,
	} {
		code, body, _ := f.call(t, f.user, http.MethodGet, P+"/sessions?"+q, "", false)
		if code != http.StatusBadRequest || !strings.Contains(strings.ToLower(body), strings.ToLower(want)) {
			t.Errorf("%s: %d, want 400 saying %q", q, code, want)
		}
	}
}

// TestSessionCSVExportIsBounded: 100,050 sessions in range stream out as
// 100,000 rows (flushed as they go) and a last line saying the rest were
// left out.
func TestSessionCSVExportIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,050 rows")
	}
	f := newFixture(t)
	seedReports(t, f, f.now, dashboard.CSVMaxRows+50, "ok", `{"contact|to-crm|update":1}`)
	from := f.now.AddDate(0, 0, -80).Format(time.DateOnly)
	code, body, hdr := f.call(t, f.user, http.MethodGet, dashboard.Prefix+"/sessions?format=csv&from="+from, "", false)
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", code, hdr.Get("Content-Type"))
	}
	r := csv.NewReader(strings.NewReader(body))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+dashboard.CSVMaxRows+1 || rows[0][0] != "started_utc" || !strings.HasPrefix(rows[len(rows)-1][0], "# stopped after 100000 rows") {
		t.Errorf("%d lines, first %v, last %v; want a header, 100,000 rows and the note", len(rows), rows[0], rows[len(rows)-1])
	}
	if rows[1][7] != "contact to-crm update=1" {
		t.Errorf("first row %v", rows[1])
	}
}

// TestBrowserSessionSearch: from History the user opens "Find sessions and
// problems", narrows the search by date and result with the form, sees the
// matching sessions and the open problem's link into Salesforce, downloads
// the CSV of what they found, and gets a page in words for dates the wrong
// way round.
func TestBrowserSessionSearch(t *testing.T) {
	for _, width := range widths {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			f := newFixture(t)
			day := f.now.UTC().Truncate(24 * time.Hour)
			seedReports(t, f, day.AddDate(0, 0, -10).Add(12*time.Hour), 3, "error", `{"event|to-crm|create":1}`)
			seedReports(t, f, day.AddDate(0, 0, -40).Add(12*time.Hour), 2, "ok", `{"contact|to-mailbox|create":2}`)
			b := browsertest.New(t, f.srv.URL, width)
			signInAs(t, b, "s-user")
			b.Click(`nav a[href="` + dashboard.Prefix + `/history"]`)
			b.Click("#sessions-link")
			heading := strings.TrimSpace(b.Text("h1"))
			rows := func() int { return browsertest.Eval[int](b, `document.querySelectorAll("#found tbody tr").length`) }
			if n := rows(); n != 4 { // the last 30 days: 3 errors and the fixture's session
				t.Errorf("the sessions page lists %d sessions, want 4", n)
			}
			if !b.Has(`#problems a[href="` + f.sfURL + `/lightning/r/Contact/003000000000001/view"]`) {
				t.Errorf("the open problem has no link to its record in Salesforce")
			}

			b.Choose("#from", day.AddDate(0, 0, -45).Format(time.DateOnly))
			b.Choose("#outcome", "ok")
			b.Click("#search")
			b.Expect(heading, nil)
			if n := rows(); n != 2 {
				t.Errorf("ok sessions of the last 45 days: %d listed, want 2", n)
			}
			// The CSV link downloads what the form found, as the browser
			// would fetch it (same origin, the session's cookie).
			csvText := browsertest.Eval[string](b, `(function () { var x = new XMLHttpRequest(); x.open("GET", document.getElementById("csv").href, false); x.send(); return x.responseText; })()`)
			recs, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
			if err != nil || len(recs) != 3 { // the header and the two sessions
				t.Errorf("the CSV of the search: %d records (%v), want a header and 2 sessions:\n%s", len(recs), err, csvText)
			}

			b.Choose("#from", day.Format(time.DateOnly))
			b.Choose("#to", day.AddDate(0, 0, -1).Format(time.DateOnly))
			b.ClickExpectingError("#search")
			if body := b.Text("body"); !strings.Contains(strings.ToLower(body), "from must not be after to") {
				t.Errorf("dates the wrong way round: the page says\n%s", body)
			}
		})
	}
}

// TestConnectResultOnTheOverview: what a connect flow sends the browser back
// with is shown in our own words for the deployment's two connectors only,
// cut short and without control characters; the dashboard's home keeps it
// on its way to the overview.
func TestConnectResultOnTheOverview(t *testing.T) {
	f := newFixture(t)
	P := dashboard.Prefix
	get := func(path string) string {
		code, body, _ := f.call(t, f.user, http.MethodGet, path, "", false)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
		return body
	}
	flash := func(body string) string {
		_, rest, ok := strings.Cut(body, `<p class="flash" role="status">`)
		if !ok {
			return ""
		}
		text, _, _ := strings.Cut(rest, "</p>")
		return text
	}
	long := strings.Repeat("x", 1000)
	for _, c := range []struct{ query, want string }{
		{"connect=salesforce&result=ok", "Salesforce connected."},
		{"connect=microsoft&result=error&message=the+sign-in+was+cancelled", "Connecting Microsoft 365 did not work: the sign-in was cancelled."},
		{"connect=salesforce&result=error", "Connecting Salesforce did not work. Try again."},
		{"connect=salesforce&result=error&message=a%0Ab%09c", "Connecting Salesforce did not work: abc."},
		{"connect=salesforce&result=error&message=" + long, "Connecting Salesforce did not work: " + long[:300] + "…."},
		{"connect=evil&result=error&message=call+us", ""},
		{"connect=salesforce&result=maybe", ""},
	} {
		if got := flash(get(P + "/overview?" + c.query)); got != c.want {
			t.Errorf("%s: the overview says %q, want %q", c.query, got, c.want)
		}
	}
	code, _, hdr := f.call(t, f.user, http.MethodGet, P+"/?connect=salesforce&result=ok&other=1", "", false)
	if loc := hdr.Get("Location"); code != http.StatusSeeOther || loc != P+"/overview?connect=salesforce&message=&result=ok" {
		t.Errorf("home with a connect result: %d to %q, want the overview with the result alone", code, loc)
	}
}
