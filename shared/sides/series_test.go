package sides_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// sfEvents lists the local Salesforce's own events of the user (no child
// copies), as "start subject" lines, sorted.
func (w *world) sfEvents(t *testing.T) []string {
	t.Helper()
	c := w.sfClient(t)
	recs, err := c.Collect(context.Background(), "SELECT Id, Subject, StartDateTime, GroupEventType, IsRecurrence FROM Event WHERE IsChild = false")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		kind := "meeting"
		if r.String("GroupEventType") == "3" || r.String("IsRecurrence") == "true" {
			kind = "series"
		}
		out = append(out, r.String("StartDateTime")[:16]+" "+kind+" "+r.String("Subject"))
	}
	sort.Strings(out)
	return out
}

// mailboxEvents lists the mailbox's events as the user's calendar holds them
// (series masters and exceptions; occurrences fold into their master).
func (w *world) mailboxEvents(t *testing.T) []item.Record {
	t.Helper()
	return w.mailboxAll(item.Event)
}

func describe(recs []item.Record) string {
	var lines []string
	for _, r := range recs {
		lines = append(lines, fmt.Sprintf("%s %s rec=%q series=%q orig=%s", r.Fields[item.Start], r.Fields[item.Subject], r.Fields[item.Recurrence], r.Fields[item.SeriesID], r.Fields[item.OriginalStart]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestSeriesBothWaysThroughSessions runs sessions between the local
// Salesforce and the local Graph with recurring meetings both ways, in both
// Salesforce models: a Salesforce series with a moved meeting reaches the
// mailbox as one series and one exception; a mailbox series with a moved
// meeting reaches Salesforce as one series record whose occurrence is moved
// (no meeting beside it); the sessions after change nothing. 0 duplicated
// occurrences, 0 stray meetings, on either side.
func TestSeriesBothWaysThroughSessions(t *testing.T) {
	for _, model := range []string{"lightning", "classic"} {
		t.Run(model, func(t *testing.T) { seriesBothWays(t, model == "classic") })
	}
}

func seriesBothWays(t *testing.T, classic bool) {
	w := berlinWorld(t, classic, time.Time{})
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := w.now.In(berlin)
	tue := time.Date(day.Year(), day.Month(), day.Day()+int((time.Tuesday-day.Weekday()+7)%7)+7, 10, 0, 0, 0, berlin)
	fields := map[string]any{"Subject": "Pipeline review", "StartDateTime": tue.UTC().Format(time.RFC3339),
		"EndDateTime": tue.Add(time.Hour).UTC().Format(time.RFC3339), "IsRecurrence2": true, "Recurrence2PatternText": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4"}
	link, wantRule := "ActivityRecurrence2Id", "COUNT=4"
	if classic {
		last := tue.AddDate(0, 0, 21).Format("2006-01-02")
		fields = map[string]any{"Subject": "Pipeline review", "StartDateTime": tue.UTC().Format(time.RFC3339), "EndDateTime": tue.Add(time.Hour).UTC().Format(time.RFC3339),
			"IsRecurrence": true, "RecurrenceType": "RecursWeekly", "RecurrenceInterval": 1, "RecurrenceDayOfWeekMask": 4,
			"RecurrenceStartDateTime": tue.UTC().Format(time.RFC3339), "RecurrenceEndDateOnly": last, "RecurrenceTimeZoneSidKey": "Europe/Berlin"}
		link, wantRule = "RecurrenceActivityId", "UNTIL="+strings.ReplaceAll(last, "-", "")
	}
	series, err := w.sf.Insert(w.sfID, "Event", fields)
	if err != nil {
		t.Fatal(err)
	}
	linkValue := fmt.Sprint(w.sf.Record(series)[link])
	w.session()
	mb := w.mailboxEvents(t)
	if len(mb) != 1 || !strings.Contains(mb[0].Fields[item.Recurrence], "BYDAY=TU") || !strings.Contains(mb[0].Fields[item.Recurrence], wantRule) {
		t.Fatalf("mailbox after the Salesforce series:\n%s\nwant one series", describe(mb))
	}
	// Salesforce moves the third meeting three hours later.
	c := w.sfClient(t)
	all, err := c.Collect(ctx, fmt.Sprintf("SELECT Id, StartDateTime, IsRecurrence, GroupEventType FROM Event WHERE %s = '%s' ORDER BY StartDateTime", link, linkValue))
	var occ []salesforce.Record
	for _, r := range all {
		if r.String("IsRecurrence") != "true" && r.String("GroupEventType") != "3" {
			occ = append(occ, r)
		}
	}
	if err != nil || len(occ) != 4 {
		t.Fatalf("occurrences: %v %d", err, len(occ))
	}
	third := tue.AddDate(0, 0, 14)
	if err := w.sf.Update(w.sfID, occ[2].ID(), map[string]any{"StartDateTime": third.Add(3 * time.Hour).UTC().Format(time.RFC3339),
		"EndDateTime": third.Add(4 * time.Hour).UTC().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	w.session()
	mb = w.mailboxEvents(t)
	if len(mb) != 2 {
		t.Fatalf("mailbox after the moved meeting:\n%s\nwant the series and one exception", describe(mb))
	}
	for _, r := range mb {
		if r.Fields[item.SeriesID] != "" && (r.Fields[item.OriginalStart] != third.UTC().Format(time.RFC3339) || r.Fields[item.Start] != third.Add(3*time.Hour).UTC().Format(time.RFC3339)) {
			t.Errorf("mailbox exception %s, want moved from %v to %v", describe([]item.Record{r}), third.UTC(), third.Add(3*time.Hour).UTC())
		}
	}

	// The mailbox gets a series of its own, shared with Salesforce, and
	// moves its second meeting.
	wed := tue.AddDate(0, 0, 1).Add(4 * time.Hour)
	res, err := w.mailbox.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
		item.Subject: "Design sync", item.Start: wed.UTC().Format(time.RFC3339), item.End: wed.Add(time.Hour).UTC().Format(time.RFC3339),
		item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=WE;COUNT=3"}}}, []string{""})
	if err != nil || res[0].Err != nil {
		t.Fatalf("mailbox series: %v %v", err, res)
	}
	rep0 := w.session()
	t.Logf("session after the mailbox series: %v", rep0.Counts)
	sfAfter := w.sfEvents(t)
	if n := countPrefix(sfAfter, "Design sync"); n != 4 {
		t.Fatalf("Salesforce after the mailbox series:\n%s\nwant its series record and 3 meetings\nmailbox:\n%s\nlogs:\n%s", strings.Join(sfAfter, "\n"), describe(w.mailboxEvents(t)), w.logs.String())
	}
	second := wed.AddDate(0, 0, 7)
	res, err = w.mailbox.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
		item.Subject: "Design sync", item.Start: second.Add(2 * time.Hour).UTC().Format(time.RFC3339), item.End: second.Add(3 * time.Hour).UTC().Format(time.RFC3339),
		item.SeriesID: res[0].ID, item.OriginalStart: second.UTC().Format(time.RFC3339)}}}, []string{""})
	if err != nil || res[0].Err != nil {
		t.Fatalf("mailbox exception: %v %v", err, res)
	}
	w.session()
	sfAfter = w.sfEvents(t)
	if n := countPrefix(sfAfter, "Design sync"); n != 4 {
		t.Errorf("Salesforce after the mailbox exception:\n%s\nwant still a series record and 3 meetings (no stray meeting)", strings.Join(sfAfter, "\n"))
	}
	moved := second.Add(2 * time.Hour).UTC().Format("2006-01-02T15:04")
	if !containsLine(sfAfter, moved+" meeting Design sync") {
		t.Errorf("Salesforce after the mailbox exception:\n%s\nwant the second meeting at %s", strings.Join(sfAfter, "\n"), moved)
	}
	w.session()
	rep := w.session()
	if len(rep.Counts) != 0 {
		t.Errorf("sessions after all this still move %v", rep.Counts)
	}
	mb = w.mailboxEvents(t)
	if len(mb) != 4 {
		t.Errorf("mailbox at the end:\n%s\nwant two series and one exception each", describe(mb))
	}
	if n := countPrefix(w.sfEvents(t), "Pipeline review"); n != 5 {
		t.Errorf("Salesforce's first series has %d records, want its series record and 4 meetings", n)
	}
}

func (w *world) sfClient(t *testing.T) *salesforce.Client {
	t.Helper()
	tok := &oauth2.Token{AccessToken: w.sf.IssueToken(w.sfID), TokenType: "Bearer"}
	c, err := salesforce.New(salesforce.Options{Tokens: salesforce.Static(tok), InstanceURL: w.sfURL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countPrefix(lines []string, subject string) int {
	n := 0
	for _, l := range lines {
		if strings.HasSuffix(l, " "+subject) {
			n++
		}
	}
	return n
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
