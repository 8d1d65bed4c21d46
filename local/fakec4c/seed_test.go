package fakec4c

import (
	"testing"
	"time"
)

// TestSeedDemo: the demo tenant holds its people and activities, each
// accepted by the server's own validation.
func TestSeedDemo(t *testing.T) {
	s := New(Options{})
	if err := SeedDemo(s, time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for coll, want := range map[string]int{"ContactCollection": 5, "TasksCollection": 2, "AppointmentCollection": 2, "CorporateAccountCollection": 2} {
		if got := s.Count(coll); got != want {
			t.Errorf("%s holds %d, want %d", coll, got, want)
		}
	}
}
