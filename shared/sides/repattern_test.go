package sides_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// TestClassicSeriesPatternChangeThroughSessions: in an org with classic
// series only, the mailbox changes the pattern of a linked series across the
// end of summer time. Salesforce does not change a classic series' pattern,
// so the series is made again; the link moves to the new series' id, the
// mailbox keeps its one series (never deleted, never copied), Salesforce
// holds one series whose meetings sit at 14:00 Berlin on both sides of the
// change, and the sessions after move nothing. It fails against the previous
// code (the change was refused with an issue) and against a runner that does
// not adopt the new id (the mailbox series deleted or doubled).
func TestClassicSeriesPatternChangeThroughSessions(t *testing.T) {
	w := berlinWorld(t, true, time.Date(2026, 10, 19, 9, 0, 0, 0, time.UTC)) // the week before the change
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	wed := time.Date(2026, 10, 21, 14, 0, 0, 0, berlin)
	res, err := w.mailbox.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
		item.Subject: "Design sync", item.Start: wed.UTC().Format(time.RFC3339), item.End: wed.Add(time.Hour).UTC().Format(time.RFC3339),
		item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=WE;COUNT=4"}}}, []string{""})
	if err != nil || res[0].Err != nil {
		t.Fatalf("mailbox series: %v %v", err, res)
	}
	mbxSeries := res[0].ID
	w.session()
	if n := countPrefix(w.sfEvents(t), "Design sync"); n != 5 {
		t.Fatalf("Salesforce after the mailbox series:\n%s\nwant its series record and 4 meetings", strings.Join(w.sfEvents(t), "\n"))
	}
	old := seriesIDs(t, w)
	if len(old) != 1 {
		t.Fatalf("Salesforce series records: %v, want one", old)
	}

	w.session() // the rule as Salesforce spells it settles on both sides
	w.session() // and the series' zone (UTC here, Berlin there; neither moves), without a request
	if rep := w.session(); len(rep.Counts) != 0 {
		t.Fatalf("sessions after the mailbox series still move %v", rep.Counts)
	}
	// The mailbox makes it Wednesdays and Fridays, a minute later.
	w.now = w.now.Add(time.Minute)
	res, err = w.mailbox.Update(ctx, item.Event, []item.Record{{Kind: item.Event, ID: mbxSeries, Fields: map[string]string{
		item.Recurrence: "FREQ=WEEKLY;BYDAY=WE,FR;COUNT=4"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("mailbox pattern change: %v %v", err, res)
	}
	rep := w.session()
	if rep.Counts["event|to-crm|update"] != 1 || rep.Issues != 0 {
		t.Errorf("session after the pattern change: %v, issues %v; want one update in Salesforce\nlogs:\n%s", rep.Counts, rep.Issues, w.logs.String())
	}
	now := seriesIDs(t, w)
	if len(now) != 1 || now[0] == old[0] {
		t.Fatalf("Salesforce series records after the change: %v (before %v), want one new series", now, old)
	}
	sf := w.sfEvents(t)
	if n := countPrefix(sf, "Design sync"); n != 5 {
		t.Errorf("Salesforce after the change:\n%s\nwant one series record and 4 meetings", strings.Join(sf, "\n"))
	}
	c := w.sfClient(t)
	occ, err := c.Collect(ctx, fmt.Sprintf("SELECT Id, StartDateTime FROM Event WHERE RecurrenceActivityId = '%s' AND IsRecurrence = false AND IsChild = false ORDER BY StartDateTime", now[0]))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		at, _ := salesforce.ParseTime(o.String("StartDateTime"))
		got = append(got, at.In(berlin).Format("Mon 02 Jan 15:04"))
	}
	if want := "Wed 21 Oct 14:00,Fri 23 Oct 14:00,Wed 28 Oct 14:00,Fri 30 Oct 14:00"; strings.Join(got, ",") != want {
		t.Errorf("new series' meetings in Berlin: %v, want %s", got, want)
	}
	mb := w.mailboxEvents(t)
	if len(mb) != 1 || mb[0].ID != mbxSeries || !strings.Contains(mb[0].Fields[item.Recurrence], "BYDAY=WE,FR") {
		t.Fatalf("mailbox after the change:\n%s\nwant its one series, on Wednesdays and Fridays", describe(mb))
	}
	w.session()
	w.session() // the series' zone settles again (UTC here, Berlin there; neither moves), without a request
	if rep := w.session(); len(rep.Counts) != 0 {
		t.Errorf("sessions after the change still move %v\nSalesforce:\n%s\nmailbox:\n%s", rep.Counts, strings.Join(w.sfEvents(t), "\n"), describe(w.mailboxEvents(t)))
	}
	if mb := w.mailboxEvents(t); len(mb) != 1 || mb[0].ID != mbxSeries {
		t.Errorf("mailbox at the end:\n%s\nwant its one series", describe(mb))
	}
	if n := countPrefix(w.sfEvents(t), "Design sync"); n != 5 {
		t.Errorf("Salesforce at the end:\n%s\nwant one series and 4 meetings", strings.Join(w.sfEvents(t), "\n"))
	}
}

// seriesIDs lists the ids of the local Salesforce's classic series records.
func seriesIDs(t *testing.T, w *world) []string {
	t.Helper()
	return sfIDs(t, w, "SELECT Id FROM Event WHERE IsRecurrence = true AND IsChild = false")
}

// sfIDs lists the ids of the records a SOQL query finds in the local
// Salesforce.
func sfIDs(t *testing.T, w *world, soql string) []string {
	t.Helper()
	recs, err := w.sfClient(t).Collect(context.Background(), soql)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.ID())
	}
	return out
}
