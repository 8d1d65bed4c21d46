package msgraph

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/fault"
)

func TestRecurrenceRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) // a Tuesday
	tests := []struct {
		name  string
		rule  string
		graph wireRecurrence
	}{
		{"daily forever", "FREQ=DAILY;INTERVAL=1",
			wireRecurrence{Pattern: wirePattern{Type: "daily", Interval: 1}, Range: wireRange{Type: "noEnd", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC"}}},
		{"weekly twice until", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270101T235959Z",
			wireRecurrence{Pattern: wirePattern{Type: "weekly", Interval: 2, DaysOfWeek: []string{"monday", "wednesday"}, FirstDayOfWeek: "sunday"},
				Range: wireRange{Type: "endDate", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC", EndDate: "2027-01-01"}}},
		{"monthly by day count", "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=15;COUNT=6",
			wireRecurrence{Pattern: wirePattern{Type: "absoluteMonthly", Interval: 1, DayOfMonth: 15}, Range: wireRange{Type: "numbered", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC", NumberOfOccurrences: 6}}},
		{"second tuesday", "FREQ=MONTHLY;INTERVAL=1;BYDAY=2TU",
			wireRecurrence{Pattern: wirePattern{Type: "relativeMonthly", Interval: 1, DaysOfWeek: []string{"tuesday"}, Index: "second"}, Range: wireRange{Type: "noEnd", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC"}}},
		{"yearly", "FREQ=YEARLY;INTERVAL=1;BYMONTH=3;BYMONTHDAY=1",
			wireRecurrence{Pattern: wirePattern{Type: "absoluteYearly", Interval: 1, Month: 3, DayOfMonth: 1}, Range: wireRange{Type: "noEnd", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC"}}},
		{"last friday yearly", "FREQ=YEARLY;INTERVAL=1;BYMONTH=11;BYDAY=-1FR",
			wireRecurrence{Pattern: wirePattern{Type: "relativeYearly", Interval: 1, Month: 11, DaysOfWeek: []string{"friday"}, Index: "last"}, Range: wireRange{Type: "noEnd", StartDate: "2026-11-24", RecurrenceTimeZone: "UTC"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := recurrence(tc.rule, start)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.graph, *got); d != "" {
				t.Errorf("RRULE → Graph (-want +got):\n%s", d)
			}
			back, err := rrule(got)
			if err != nil || back != tc.rule {
				t.Errorf("Graph → RRULE = %q, %v; want %q", back, err, tc.rule)
			}
		})
	}
}

func TestRecurrenceRejectsWhatGraphCannotHold(t *testing.T) {
	for _, rule := range []string{"FREQ=HOURLY", "FREQ=WEEKLY;BYHOUR=9", "FREQ=DAILY;INTERVAL=0", "FREQ=MONTHLY;BYDAY=5MO", "nonsense", "FREQ=DAILY;COUNT=x"} {
		t.Run(rule, func(t *testing.T) {
			_, err := recurrence(rule, time.Now())
			var fe *fault.Error
			if !fault.Is(err, fault.Permanent) || !errorsAs(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0] != "Recurrence" {
				t.Errorf("got %v, want a Permanent error on the Recurrence field", err)
			}
		})
	}
}

func TestWeeklyWithoutBYDAYUsesTheStartDay(t *testing.T) {
	got, err := recurrence("FREQ=WEEKLY", time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	if err != nil || len(got.Pattern.DaysOfWeek) != 1 || got.Pattern.DaysOfWeek[0] != "thursday" {
		t.Errorf("got %+v, %v; want thursday", got, err)
	}
}

func errorsAs(err error, target **fault.Error) bool {
	fe, ok := err.(*fault.Error)
	if ok {
		*target = fe
	}
	return ok
}

func TestEventBodyNeverWritesAttendees(t *testing.T) {
	b, err := eventBody(map[string]string{"Subject": "x", "Attendees": "a@example.com,b@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b["attendees"]; ok {
		t.Errorf("eventBody wrote attendees (Outlook would send invitations): %v", b)
	}
}

// TestSeriesEndDateInItsZone: a series' endDate is a date in its
// recurrenceTimeZone, so the series runs to the end of that day there (the
// previous client ended every series at 23:59:59 UTC: a Los Angeles series
// lost its last evening, a Tokyo one gained a morning); written back in UTC,
// the end date keeps exactly the same occurrences.
func TestSeriesEndDateInItsZone(t *testing.T) {
	tests := []struct{ zone, until string }{
		{"Pacific Standard Time", "UNTIL=20270401T065959Z"},
		{"Tokyo Standard Time", "UNTIL=20270331T145959Z"},
		{"UTC", "UNTIL=20270331T235959Z"},
		{"", "UNTIL=20270331T235959Z"},
	}
	for _, tc := range tests {
		r := &wireRecurrence{Pattern: wirePattern{Type: "daily", Interval: 1},
			Range: wireRange{Type: "endDate", StartDate: "2027-03-01", EndDate: "2027-03-31", RecurrenceTimeZone: tc.zone}}
		got, err := rrule(r)
		if err != nil || !strings.HasSuffix(got, tc.until) {
			t.Errorf("%q: %q, %v; want %s", tc.zone, got, err, tc.until)
		}
	}
	if _, err := rrule(&wireRecurrence{Pattern: wirePattern{Type: "daily", Interval: 1},
		Range: wireRange{Type: "endDate", StartDate: "2027-03-01", EndDate: "2027-03-31", RecurrenceTimeZone: "Mars Standard Time"}}); err == nil {
		t.Error("an unknown recurrence zone was read")
	}
	// 17:00 UTC daily (09:00 in Los Angeles) until the end of 31 March there.
	start := time.Date(2027, 3, 1, 17, 0, 0, 0, time.UTC)
	w, err := recurrence("FREQ=DAILY;INTERVAL=1;UNTIL=20270401T065959Z", start)
	if err != nil || w.Range.EndDate != "2027-03-31" || w.Range.RecurrenceTimeZone != "UTC" {
		t.Errorf("written as %+v, %v; want end date 2027-03-31 in UTC", w.Range, err)
	}
}
