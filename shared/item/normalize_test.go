package item

import "testing"

func TestNormalizeRecurrence(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=3", "FREQ=WEEKLY;INTERVAL=1;BYDAY=WE;COUNT=3"},
		{"FREQ=WEEKLY;INTERVAL=1;BYDAY=WE;COUNT=3", "FREQ=WEEKLY;INTERVAL=1;BYDAY=WE;COUNT=3"},
		{"freq=monthly;until=20270101T000000Z;byday=2TU;interval=2", "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU;UNTIL=20270101T000000Z"},
		{"FREQ=YEARLY;BYMONTHDAY=4;BYMONTH=7;X-NAME=A", "FREQ=YEARLY;INTERVAL=1;BYMONTH=7;BYMONTHDAY=4;X-NAME=A"},
		{"", ""},
		{"not a rule", "not a rule"},
	} {
		if got := Normalize(Recurrence, c.in); got != c.want {
			t.Errorf("Normalize(Recurrence, %q) = %q, want %q", c.in, got, c.want)
		}
	}
}
