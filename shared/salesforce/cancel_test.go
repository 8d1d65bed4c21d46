package salesforce

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// insertSeries stores an 8-week Tuesday series in the local Salesforce the
// way the org's UI would (classic or Lightning), from 6 October 2026 10:00
// Berlin, across the change to winter time; it returns the series record's
// id and the field and value that link its occurrences.
func insertSeries(t *testing.T, l *local, model string) (series, key, link string) {
	t.Helper()
	fields := map[string]any{"Subject": "Pipeline review", "Location": "Room 4",
		"StartDateTime": tuesdayAt10(0).Format(time.RFC3339), "EndDateTime": tuesdayAt10(0).Add(time.Hour).Format(time.RFC3339)}
	key = "ActivityRecurrence2Id"
	if model == "classic" {
		fields["IsRecurrence"], fields["RecurrenceType"], fields["RecurrenceInterval"], fields["RecurrenceDayOfWeekMask"] = true, "RecursWeekly", 1, 4
		fields["RecurrenceStartDateTime"], fields["RecurrenceEndDateOnly"], fields["RecurrenceTimeZoneSidKey"] = fields["StartDateTime"], "2026-11-24", "Europe/Berlin"
		key = "RecurrenceActivityId"
	} else {
		fields["IsRecurrence2"], fields["Recurrence2PatternText"] = true, "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=8"
	}
	series, err := l.srv.Insert(l.user, "Event", fields)
	if err != nil {
		t.Fatal(err)
	}
	link = series
	if model == "lightning" {
		link = fmt.Sprint(l.srv.Record(series)["ActivityRecurrence2Id"])
	}
	return series, key, link
}

// starts lists occurrence records' starts.
func starts(occ []map[string]any) []string {
	var out []string
	for _, o := range occ {
		out = append(out, fmt.Sprint(o["StartDateTime"])[:16])
	}
	return out
}

// TestDeletedOccurrenceReadAsCancelled: in both Salesforce models, an
// occurrence Event deleted from a series (here the one after the change to
// winter time) reads as a cancelled date of the series item — on the next
// incremental read, which learns the deleted event's series from the
// recycle bin, and on a full read — while a deleted occurrence before the
// scope's window is not reported and the deleted meeting is no item.
func TestDeletedOccurrenceReadAsCancelled(t *testing.T) {
	for _, model := range []string{"classic", "lightning"} {
		t.Run(model, func(t *testing.T) {
			l, _ := seriesWorld(t, false)
			series, key, link := insertSeries(t, l, model)
			ch, err := l.side.Changes(t.Context(), octWindow, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := byID(ch.Records)[series].Fields; got[item.Cancelled] != "" {
				t.Fatalf("series before any delete: Cancelled %q, want none", got[item.Cancelled])
			}
			// A quiet incremental read first, so that the one after the
			// deletes sees nothing but them.
			l.clock.Add(10 * time.Minute)
			if ch, err = l.side.Changes(t.Context(), octWindow, ch.Cursor); err != nil {
				t.Fatal(err)
			}
			l.clock.Add(10 * time.Minute)
			if ch, err = l.side.Changes(t.Context(), octWindow, ch.Cursor); err != nil || len(ch.Records) != 0 {
				t.Fatalf("quiet read: %v %v", err, ch.Records)
			}
			occ := occurrences(t, l, key, link)
			// Week 0 (6 October, before the window) and week 4 (3 November,
			// winter time) are deleted.
			for _, i := range []int{0, 4} {
				if err := l.srv.Delete(l.user, fmt.Sprint(occ[i]["Id"])); err != nil {
					t.Fatal(err)
				}
			}
			l.clock.Add(10 * time.Minute)
			inc, err := l.side.Changes(t.Context(), octWindow, ch.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := byID(inc.Records)[series]
			if !ok {
				t.Fatalf("the incremental read does not report the series (records %v)", inc.Records)
			}
			if got.Fields[item.Cancelled] != "2026-11-03" {
				t.Errorf("incremental: Cancelled %q, want 2026-11-03 (the week-0 delete is before the window)", got.Fields[item.Cancelled])
			}
			if len(inc.Records) != 1 {
				t.Errorf("incremental read %d items, want the series alone", len(inc.Records))
			}
			full, err := l.side.Changes(t.Context(), octWindow, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := byID(full.Records)[series].Fields; got[item.Cancelled] != "2026-11-03" || len(full.Records) != 1 {
				t.Errorf("full read: %d items, Cancelled %q, want the series alone with 2026-11-03", len(full.Records), got[item.Cancelled])
			}
		})
	}
}

// TestCancellationDeletesOccurrence: in both models, a series written with
// cancelled dates (a new one, and an update of an existing one) loses
// exactly the occurrence Events on those dates in the user's zone (one of
// them after the change to winter time), keeps its series record and every
// other meeting, and reads back with the same dates; writing the same dates
// again deletes nothing more.
func TestCancellationDeletesOccurrence(t *testing.T) {
	for _, model := range []string{"classic", "lightning"} {
		t.Run(model, func(t *testing.T) {
			l, _ := seriesWorld(t, model == "classic")
			res, err := l.side.Create(t.Context(), item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
				item.Subject: "Pipeline review", item.Start: tuesdayAt10(0).Format(time.RFC3339), item.End: tuesdayAt10(0).Add(time.Hour).Format(time.RFC3339),
				item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=TU;COUNT=8", item.Cancelled: "2026-10-20"}}}, nil)
			if err != nil || res[0].Err != nil {
				t.Fatalf("create: %v %v", err, res)
			}
			series := res[0].ID
			key, link := "RecurrenceActivityId", series
			if model == "lightning" {
				key, link = "ActivityRecurrence2Id", fmt.Sprint(l.srv.Record(series)["ActivityRecurrence2Id"])
			}
			if occ := occurrences(t, l, key, link); len(occ) != 7 {
				t.Fatalf("after create: occurrences %v, want 7 (20 October cancelled)", starts(occ))
			}
			for range 2 {
				up, err := l.side.Update(t.Context(), item.Event, []item.Record{{Kind: item.Event, ID: series, Fields: map[string]string{item.Cancelled: "2026-10-20,2026-11-03"}}})
				if err != nil || up[0].Err != nil {
					t.Fatalf("update: %v %v", err, up)
				}
			}
			occ := occurrences(t, l, key, link)
			want := []int{0, 1, 3, 5, 6, 7}
			if len(occ) != len(want) {
				t.Fatalf("after update: occurrences %v, want weeks %v", starts(occ), want)
			}
			for j, i := range want {
				if at, _ := ParseTime(fmt.Sprint(occ[j]["StartDateTime"])); !at.Equal(tuesdayAt10(i)) {
					t.Errorf("occurrence %d at %v, want week %d at 10:00 Berlin", j, at.In(berlin), i)
				}
			}
			if l.srv.Record(series) == nil {
				t.Fatal("the series record is gone")
			}
			ch, err := l.side.Changes(t.Context(), octWindow, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := byID(ch.Records)[series].Fields; got[item.Cancelled] != "2026-10-20,2026-11-03" || len(ch.Records) != 1 {
				t.Errorf("read back: %d items, Cancelled %q, want the series alone with both dates", len(ch.Records), got[item.Cancelled])
			}
		})
	}
}

// TestCancellationOffThePatternFailsAlone: a cancelled date the series'
// pattern does not produce (a Wednesday of a Tuesday series) fails that
// meeting alone with an issue naming the date, and deletes none of its
// occurrences, not even the valid date beside it; another series in the
// same update is cancelled as asked.
func TestCancellationOffThePatternFailsAlone(t *testing.T) {
	l, _ := seriesWorld(t, false)
	a := createSeries(t, l, "FREQ=WEEKLY;BYDAY=TU;COUNT=8")
	b := createSeries(t, l, "FREQ=WEEKLY;BYDAY=TU;COUNT=8")
	link := func(id string) string { return fmt.Sprint(l.srv.Record(id)["ActivityRecurrence2Id"]) }
	res, err := l.side.Update(t.Context(), item.Event, []item.Record{
		{Kind: item.Event, ID: a, Fields: map[string]string{item.Cancelled: "2026-10-27,2026-10-28"}},
		{Kind: item.Event, ID: b, Fields: map[string]string{item.Cancelled: "2026-10-27"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !fault.Is(res[0].Err, fault.Permanent) || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "2026-10-28") {
		t.Errorf("off-pattern cancellation: %v, want a permanent error naming 2026-10-28", res[0].Err)
	}
	if n := len(occurrences(t, l, "ActivityRecurrence2Id", link(a))); n != 8 {
		t.Errorf("the refused series has %d occurrences, want all 8", n)
	}
	if res[1].Err != nil {
		t.Errorf("the other series: %v", res[1].Err)
	}
	if n := len(occurrences(t, l, "ActivityRecurrence2Id", link(b))); n != 7 {
		t.Errorf("the other series has %d occurrences, want 7", n)
	}
}
