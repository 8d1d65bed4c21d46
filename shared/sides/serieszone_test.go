package sides_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// A series keeps its meetings' local time on both sides across a
// daylight-saving change: Europe's two changes of 2026 (29 March, 25
// October) and the United States' (8 March), both ways, between the local
// Salesforce (Lightning series) and the local Graph.

// dstCase is a weekly series of four Tuesdays at 09:00 in zone whose third
// meeting falls after the change; now is a few days before the first.
type dstCase struct {
	name, zone, windows string
	first               time.Time // 09:00 local, a Tuesday
	now                 time.Time
}

func dstCases(t *testing.T) []dstCase {
	t.Helper()
	at := func(zone string, y int, m time.Month, d int) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(y, m, d, 9, 0, 0, 0, loc)
	}
	return []dstCase{
		{"berlin-spring", "Europe/Berlin", "W. Europe Standard Time", at("Europe/Berlin", 2026, 3, 17), time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)},
		{"berlin-autumn", "Europe/Berlin", "W. Europe Standard Time", at("Europe/Berlin", 2026, 10, 13), time.Date(2026, 10, 10, 9, 0, 0, 0, time.UTC)},
		{"new-york-spring", "America/New_York", "Eastern Standard Time", at("America/New_York", 2026, 2, 24), time.Date(2026, 2, 21, 9, 0, 0, 0, time.UTC)},
	}
}

// zoneWorld is cancelWorld with its clock at c.now and its Salesforce user
// in c.zone.
func zoneWorld(t *testing.T, c dstCase) *world {
	t.Helper()
	w := cancelWorld(t, false)
	w.now = c.now
	if err := w.sf.Update(w.sfID, w.sfID, map[string]any{"TimeZoneSidKey": c.zone}); err != nil {
		t.Fatal(err)
	}
	return w
}

// graphSend sends one request with a JSON body to the local Graph as the
// mailbox's user and decodes the answer into out.
func graphSend(t *testing.T, w *world, method, path string, body, out any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	graphCall(t, method, w.gURL+"/v1.0/users/"+upn+"/"+path, w.graph.Token(upn), b, out)
}

// mailboxLocalTimes lists a mailbox series' meetings as local times in loc
// ("Tue 17 Mar 09:00"), in order.
func mailboxLocalTimes(t *testing.T, w *world, master string, loc *time.Location, from time.Time) []string {
	t.Helper()
	var page struct {
		Value []struct {
			Start struct {
				DateTime string `json:"dateTime"`
				TimeZone string `json:"timeZone"`
			} `json:"start"`
		} `json:"value"`
	}
	q := url.Values{"startDateTime": {from.UTC().Format(time.RFC3339)}, "endDateTime": {from.AddDate(0, 3, 0).UTC().Format(time.RFC3339)}}
	graphDo(t, w, http.MethodGet, "events/"+master+"/instances?"+q.Encode(), &page)
	var ts []time.Time
	for _, v := range page.Value {
		if v.Start.TimeZone != "UTC" {
			t.Fatalf("instance start in %q, want UTC (no Prefer header)", v.Start.TimeZone)
		}
		at, err := time.Parse("2006-01-02T15:04:05", v.Start.DateTime[:19])
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, at)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var out []string
	for _, at := range ts {
		out = append(out, at.In(loc).Format("Mon 02 Jan 15:04"))
	}
	return out
}

// sfLocalTimes lists the local Salesforce's meetings (occurrences, not the
// series record) of a subject as local times in loc, in order, and counts
// its series records.
func sfLocalTimes(t *testing.T, w *world, subject string, loc *time.Location) (series int, out []string) {
	t.Helper()
	recs, err := w.sfClient(t).Collect(context.Background(), "SELECT Id, Subject, StartDateTime, GroupEventType, IsRecurrence FROM Event WHERE IsChild = false ORDER BY StartDateTime")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.String("Subject") != subject {
			continue
		}
		if r.String("GroupEventType") == "3" || r.String("IsRecurrence") == "true" {
			series++
			continue
		}
		at, err := salesforce.ParseTime(r.String("StartDateTime"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, at.In(loc).Format("Mon 02 Jan 15:04"))
	}
	return series, out
}

// tuesdays is four weekly meetings from first, as local times.
func tuesdays(first time.Time, n int) []string {
	var out []string
	for i := range n {
		out = append(out, first.AddDate(0, 0, 7*i).Format("Mon 02 Jan 15:04"))
	}
	return out
}

// TestSalesforceSeriesKeepsLocalTimeInMailbox: a Lightning series of four
// Tuesdays at 09:00 in the user's zone reaches the mailbox as one series
// whose meetings are at 09:00 in that zone on both sides of the change (the
// mailbox series is kept in the series' zone, not in UTC), Salesforce keeps
// its series record and four meetings at 09:00, nothing is copied twice and
// the sessions after move nothing. Against the previous code (mailbox
// series written in UTC) the meetings after the change are an hour off.
func TestSalesforceSeriesKeepsLocalTimeInMailbox(t *testing.T) {
	for _, c := range dstCases(t) {
		t.Run(c.name, func(t *testing.T) {
			w := zoneWorld(t, c)
			loc := c.first.Location()
			_, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "Forecast call", "StartDateTime": c.first.UTC().Format(time.RFC3339),
				"EndDateTime": c.first.Add(time.Hour).UTC().Format(time.RFC3339), "IsRecurrence2": true, "Recurrence2PatternText": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"})
			if err != nil {
				t.Fatal(err)
			}
			w.session()
			want := tuesdays(c.first, 4)
			mb := w.mailboxEvents(t)
			if len(mb) != 1 || mb[0].Fields[item.Recurrence] == "" {
				t.Fatalf("mailbox after the Salesforce series:\n%s\nwant one series", describe(mb))
			}
			if got := mailboxLocalTimes(t, w, mb[0].ID, loc, c.first.AddDate(0, 0, -1)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("mailbox meetings in %s: %v, want %v", c.zone, got, want)
			}
			if n, got := sfLocalTimes(t, w, "Forecast call", loc); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Salesforce: %d series records, meetings %v; want 1 and %v", n, got, want)
			}
			if got := mb[0].Fields[item.TimeZone]; got != c.zone {
				t.Errorf("mailbox series zone %q, want %q", got, c.zone)
			}
			settled(t, w)
			if mb := w.mailboxEvents(t); len(mb) != 1 {
				t.Errorf("mailbox after the sessions:\n%s\nwant the one series", describe(mb))
			}
		})
	}
}

// TestMailboxSeriesKeepsLocalTimeInSalesforce: a mailbox series of four
// Tuesdays at 09:00, made in Outlook's way (start and recurrence in the
// user's Windows zone), reaches Salesforce as one series at 09:00 in the
// user's zone on both sides of the change; then the user gives it two more
// meetings in Salesforce, and the mailbox series, rewritten with the new
// pattern, still meets at 09:00 local on both sides of the change (the
// previous code rewrote it in UTC: an hour off after the change), one
// series on each side, and the sessions after move nothing.
func TestMailboxSeriesKeepsLocalTimeInSalesforce(t *testing.T) {
	for _, c := range dstCases(t) {
		t.Run(c.name, func(t *testing.T) {
			w := zoneWorld(t, c)
			loc := c.first.Location()
			dt := func(at time.Time) map[string]any {
				return map[string]any{"dateTime": at.Format("2006-01-02T15:04:05"), "timeZone": c.windows}
			}
			var made struct {
				ID string `json:"id"`
			}
			graphSend(t, w, http.MethodPost, "events", map[string]any{
				"subject": "Forecast call", "start": dt(c.first), "end": dt(c.first.Add(time.Hour)),
				"recurrence": map[string]any{
					"pattern": map[string]any{"type": "weekly", "interval": 1, "daysOfWeek": []string{"tuesday"}, "firstDayOfWeek": "sunday"},
					"range":   map[string]any{"type": "numbered", "numberOfOccurrences": 4, "startDate": c.first.Format(time.DateOnly), "recurrenceTimeZone": c.windows},
				},
			}, &made)
			w.session()
			want := tuesdays(c.first, 4)
			if n, got := sfLocalTimes(t, w, "Forecast call", loc); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("Salesforce after the mailbox series: %d series records, meetings %v; want 1 and %v\nlogs:\n%s", n, got, want, w.logs.String())
			}
			w.session()
			if rep := w.session(); len(rep.Counts) != 0 {
				t.Fatalf("sessions after the mailbox series still move %v", rep.Counts)
			}
			// Two more meetings, in Salesforce.
			ids := lightningSeriesIDs(t, w)
			if len(ids) != 1 {
				t.Fatalf("Salesforce series records %v, want one", ids)
			}
			w.now = w.now.Add(time.Minute)
			if err := w.sf.Update(w.sfID, ids[0], map[string]any{"Recurrence2PatternText": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6"}); err != nil {
				t.Fatal(err)
			}
			rep := w.session()
			if rep.Counts["event|to-mailbox|update"] != 1 {
				t.Errorf("session after the Salesforce pattern change: %v, want one mailbox update\nlogs:\n%s", rep.Counts, w.logs.String())
			}
			want = tuesdays(c.first, 6)
			if got := mailboxLocalTimes(t, w, made.ID, loc, c.first.AddDate(0, 0, -1)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("mailbox meetings in %s after the change: %v, want %v", c.zone, got, want)
			}
			if n, got := sfLocalTimes(t, w, "Forecast call", loc); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Salesforce: %d series records, meetings %v; want 1 and %v", n, got, want)
			}
			if mb := w.mailboxEvents(t); len(mb) != 1 || mb[0].ID != made.ID {
				t.Errorf("mailbox events:\n%s\nwant the one series", describe(mb))
			}
			settled(t, w)
		})
	}
}

// lightningSeriesIDs lists the ids of the local Salesforce's Lightning
// series records.
func lightningSeriesIDs(t *testing.T, w *world) []string {
	t.Helper()
	return sfIDs(t, w, "SELECT Id FROM Event WHERE GroupEventType = '3' AND IsChild = false")
}

// TestCancellationFailedDuringSeriesCreateConverges: a Salesforce series
// whose 31 March meeting was deleted reaches the mailbox while the mailbox
// refuses the cancellation (its $batch DELETE parts answer 500): the create
// fails as a whole and takes back the series it made (nothing
// half-written). The next session makes the series again with 31 March
// cancelled (the previous code left the series uncancelled, the next
// session adopted it by its marker and, the mailbox series being newer,
// took its meetings for the synced state: the cancellation was lost for
// good), one series on each side, Salesforce's five meetings untouched, and
// the sessions after move nothing.
func TestCancellationFailedDuringSeriesCreateConverges(t *testing.T) {
	w := cancelWorld(t, false)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	first := time.Date(2026, 3, 24, 10, 0, 0, 0, berlin)
	series, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "Pipeline review", "StartDateTime": first.UTC().Format(time.RFC3339),
		"EndDateTime": first.Add(time.Hour).UTC().Format(time.RFC3339), "IsRecurrence2": true, "Recurrence2PatternText": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6"})
	if err != nil {
		t.Fatal(err)
	}
	occ, err := w.sfClient(t).Collect(context.Background(), "SELECT Id FROM Event WHERE ActivityRecurrence2Id = '"+
		w.sf.Record(series)["ActivityRecurrence2Id"].(string)+"' AND Id != '"+series+"' ORDER BY StartDateTime")
	if err != nil || len(occ) != 6 {
		t.Fatalf("occurrences: %v %d", err, len(occ))
	}
	if err := w.sf.Delete(w.sfID, occ[1].ID()); err != nil { // 31 March
		t.Fatal(err)
	}
	w.graph.FailDeletes(upn, 100)
	w.now = w.now.Add(5 * time.Minute)
	if rep, err := w.runner.Run(context.Background(), w.user, "test"); err == nil && rep.Outcome == "ok" {
		t.Fatalf("session with the mailbox refusing deletes: %v, want it to fail", rep.Counts)
	}
	w.graph.FailDeletes(upn, 0)
	if mb := w.mailboxEvents(t); len(mb) != 0 {
		t.Fatalf("mailbox after the failed cancellation:\n%s\nwant nothing half-written (the series taken back)", describe(mb))
	}
	w.now = w.now.Add(time.Minute)
	w.session()
	mb := w.mailboxEvents(t)
	if len(mb) != 1 {
		t.Fatalf("mailbox after the next session:\n%s\nwant the one series", describe(mb))
	}
	master := mb[0].ID
	want := []string{"2026-03-24", "2026-04-07", "2026-04-14", "2026-04-21", "2026-04-28"}
	if got := dates(mailboxInstances(t, w, master)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mailbox meetings %v, want %v (31 March cancelled)\nlogs:\n%s", got, want, w.logs.String())
	}
	if mb := w.mailboxEvents(t); len(mb) != 1 || mb[0].ID != master {
		t.Errorf("mailbox events:\n%s\nwant the one series", describe(mb))
	}
	if n, got := w.sfMeetings(t, "Pipeline review"); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Salesforce: %d series records, meetings %v; want 1 and %v", n, got, want)
	}
	settled(t, w)
	if got := dates(mailboxInstances(t, w, master)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mailbox meetings after the sessions %v, want %v", got, want)
	}
}

// TestSalesforceCancellationFailedDuringSeriesCreateConverges is the same
// the other way: a mailbox series whose 1 April meeting was cancelled
// reaches Salesforce while Salesforce refuses the occurrence's delete once
// (500 UNKNOWN_EXCEPTION, every try): the create fails as a whole and takes back the
// series record it made with its occurrences (nothing half-written); the
// next session makes the series again without 1 April, one series on each
// side, and the sessions after move nothing. Against the previous code the
// series stayed with all six meetings, was paired by its marker and, being
// newer, won: 1 April was never deleted in Salesforce.
func TestSalesforceCancellationFailedDuringSeriesCreateConverges(t *testing.T) {
	for _, model := range []string{"lightning", "classic"} {
		t.Run(model, func(t *testing.T) {
			w := cancelWorld(t, model == "classic")
			berlin, _ := time.LoadLocation("Europe/Berlin")
			first := time.Date(2026, 3, 25, 10, 0, 0, 0, berlin) // kept in Berlin, as Outlook keeps the user's series
			res, err := w.mailbox.Create(context.Background(), item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
				item.Subject: "Design sync", item.Start: first.Format(time.RFC3339), item.End: first.Add(time.Hour).Format(time.RFC3339),
				item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=WE;COUNT=6", item.TimeZone: "Europe/Berlin"}}}, []string{""})
			if err != nil || res[0].Err != nil {
				t.Fatalf("mailbox series: %v %v", err, res)
			}
			master := res[0].ID
			graphDo(t, w, http.MethodDelete, "events/"+mailboxInstances(t, w, master)["2026-04-01"], nil)
			// The client tries a DELETE four times: all four refused, the next one (taking the series back) answered.
			w.sf.Inject(fakesalesforce.Fault{Resource: "collections", Method: http.MethodDelete, Times: 4, Status: 500, ErrorCode: "UNKNOWN_EXCEPTION", Message: "An unexpected error occurred."})
			w.now = w.now.Add(5 * time.Minute)
			if rep, err := w.runner.Run(context.Background(), w.user, "test"); err == nil && rep.Outcome == "ok" {
				t.Fatalf("session with Salesforce refusing the delete: %v, want it to fail", rep.Counts)
			}
			if n, got := w.sfMeetings(t, "Design sync"); n != 0 || len(got) != 0 {
				t.Fatalf("Salesforce after the failed cancellation: %d series records, meetings %v; want nothing half-written", n, got)
			}
			w.now = w.now.Add(time.Minute)
			w.session()
			want := []string{"2026-03-25", "2026-04-08", "2026-04-15", "2026-04-22", "2026-04-29"}
			oneDesignSync(t, w, master, want, "1 April cancelled")
			settled(t, w)
			if n, got := w.sfMeetings(t, "Design sync"); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Salesforce after the sessions: %d series records, meetings %v; want 1 and %v", n, got, want)
			}
		})
	}
}
