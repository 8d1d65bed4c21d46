package fakesalesforce

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSeriesStorage: a classic series is its record plus an Event per
// occurrence pointing at it; deleting the series record deletes them, and
// the delete log reports each.
func TestSeriesStorage(t *testing.T) {
	f := newFixture(t, Options{})
	series, err := f.srv.Insert(f.user, "Event", map[string]any{"Subject": "Weekly", "StartDateTime": "2026-05-12T09:00:00Z", "EndDateTime": "2026-05-12T10:00:00Z",
		"IsRecurrence": true, "RecurrenceType": "RecursWeekly", "RecurrenceInterval": 1, "RecurrenceDayOfWeekMask": 4,
		"RecurrenceStartDateTime": "2026-05-12T09:00:00Z", "RecurrenceEndDateOnly": "2026-06-02", "RecurrenceTimeZoneSidKey": "GMT"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(soql string) int {
		var page struct{ TotalSize int }
		f.do("GET", v+"/query?q="+url.QueryEscape(soql), nil, &page)
		return page.TotalSize
	}
	if n := count("SELECT COUNT() FROM Event WHERE RecurrenceActivityId = '" + series + "' AND IsRecurrence = false"); n != 4 {
		t.Fatalf("%d occurrences, want 4 (12 May to 2 June)", n)
	}
	if got := f.srv.Record(series)["RecurrenceActivityId"]; got != series {
		t.Errorf("the series record's RecurrenceActivityId = %v, want itself", got)
	}
	if _, err := f.srv.Insert(f.user, "Event", map[string]any{"Subject": "No end", "StartDateTime": "2026-05-12T09:00:00Z", "EndDateTime": "2026-05-12T10:00:00Z",
		"IsRecurrence": true, "RecurrenceType": "RecursDaily", "RecurrenceInterval": 1}); err == nil || !strings.Contains(err.Error(), "RecurrenceEndDateOnly") {
		t.Errorf("a classic series without an end: %v", err)
	}
	if err := f.srv.Delete(f.user, series); err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT COUNT() FROM Event"); n != 0 {
		t.Errorf("%d events left after deleting the series", n)
	}
	var del struct {
		DeletedRecords []struct{ ID string } `json:"deletedRecords"`
	}
	f.clock.Add(2 * time.Minute)
	f.do("GET", v+"/sobjects/Event/deleted/?start="+url.QueryEscape("2026-05-10T11:00:00Z")+"&end="+url.QueryEscape(f.clock.Now().Format(time.RFC3339)), nil, &del)
	if len(del.DeletedRecords) != 5 {
		t.Errorf("delete log: %d records, want the series and its 4 meetings", len(del.DeletedRecords))
	}
}
