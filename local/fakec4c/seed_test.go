package fakec4c

import (
	"strings"
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
	for coll, want := range map[string]int{"ContactCollection": 5, "TasksCollection": 2, "AppointmentCollection": 2, "CorporateAccountCollection": 2,
		"LeadCollection": 2, "OpportunityCollection": 4, "ServiceRequestCollection": 3} {
		if got := s.Count(coll); got != want {
			t.Errorf("%s holds %d, want %d", coll, got, want)
		}
	}
	// The people's accounts are linked by business ID, and the notes are
	// text entries of their activities.
	acme := s.accountID("Acme Corporation")
	if acme == "" {
		t.Fatal("no Acme Corporation")
	}
	linked := 0
	for _, e := range s.data["ContactCollection"] {
		if e.props["AccountID"] == acme {
			linked++
		}
	}
	if linked != 2 {
		t.Errorf("%d contacts at Acme, want 2 (Alice and Bob)", linked)
	}
	// A code field answers its …Text twin from its code list.
	for _, e := range s.data["OpportunityCollection"] {
		if e.props["Name"] == "Acme renewal" {
			if got := s.render(collections["OpportunityCollection"], e, "", nil)["LifeCycleStatusCodeText"]; got != "In Process" {
				t.Errorf("Acme renewal's LifeCycleStatusCodeText = %v, want In Process", got)
			}
		}
	}
	notes := 0
	for _, coll := range []string{"TasksCollection", "AppointmentCollection"} {
		for id := range s.data[coll] {
			notes += len(s.Children(coll, id, strings.TrimSuffix(coll, "Collection")+"TextCollection"))
		}
	}
	if notes != 2 {
		t.Errorf("%d activity notes, want 2", notes)
	}
	// The demo user's employee owns every contact, task and appointment,
	// so a sync scoped to the demo user (and its task pane) sees them.
	for coll, owner := range map[string][2]string{"ContactCollection": {"ContactOwnerID", DemoEmployeeID},
		"TasksCollection": {"ProcessorPartyID", DemoEmployeePartyID}, "AppointmentCollection": {"OwnerPartyID", DemoEmployeePartyID}} {
		for id, e := range s.data[coll] {
			if e.props[owner[0]] != owner[1] {
				t.Errorf("%s %s: %s = %v, want the demo employee's %s", coll, id, owner[0], e.props[owner[0]], owner[1])
			}
		}
	}
}
