package sides_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/session"
)

// TestC4CSeriesStayOutAndTheRestSyncs: a recurring meeting shared from the
// mailbox cannot go to C4C, which has no recurring appointments. The real
// runner with the C4C connector syncs the single meeting beside it, names the
// series in an issue with the no-recurrence code, and over several sessions
// (the series edited in between) creates neither a duplicate of the single
// meeting nor any appointment standing in for the series; the series stays
// in the mailbox untouched.
func TestC4CSeriesStayOutAndTheRestSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(8 * time.Hour)
		w := newC4CPWorld(t)
		defer w.close()
		ctx := context.Background()
		start := time.Now().UTC().Truncate(time.Hour).Add(26 * time.Hour)
		mk := func(subject, rrule string) string {
			f := map[string]string{item.Subject: subject, item.Start: start.Format(time.RFC3339), item.End: start.Add(time.Hour).Format(time.RFC3339), item.Location: "Room A"}
			if rrule != "" {
				f[item.Recurrence] = rrule
			}
			res, err := w.mailbox.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: f}}, []string{""})
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			if err := w.graphDo("PATCH", "events/"+res[0].ID, map[string]any{"categories": []string{"Salesforce"}}, nil); err != nil {
				t.Fatal(err)
			}
			return res[0].ID
		}
		series := mk("Weekly standup", "FREQ=WEEKLY;INTERVAL=1;COUNT=3")
		mk("Single review", "")
		admin := w.crm.(*c4cAdmin)
		for round := 0; round < 3; round++ {
			w.mustRun(t)
			subjects, err := admin.list("AppointmentCollection", "Subject")
			if err != nil {
				t.Fatal(err)
			}
			if len(subjects) != 1 || subjects[0] != "Single review" {
				t.Fatalf("round %d: C4C appointments %q, want only the single meeting", round, subjects)
			}
			issues, err := session.NewState(w.tables, w.user).Issues(ctx)
			if err != nil {
				t.Fatal(err)
			}
			named := false
			for _, is := range issues {
				named = named || is.Code == c4c.CodeNoRecurrence && is.Name == "Weekly standup"
			}
			if !named {
				t.Fatalf("round %d: no issue names the series: %+v", round, issues)
			}
			// The user edits the series between sessions.
			if err := w.graphDo("PATCH", "events/"+series, map[string]any{"location": map[string]any{"displayName": "Room " + string(rune('B'+round))}}, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Minute)
		}
		ch, err := w.mailbox.Changes(ctx, scopeAt(item.Event, time.Now()), "")
		if err != nil {
			t.Fatal(err)
		}
		masters := 0
		for _, r := range ch.Records {
			if r.Fields[item.Subject] == "Weekly standup" && r.Fields[item.SeriesID] == "" {
				masters++
				if r.Fields[item.Recurrence] == "" {
					t.Errorf("the series lost its recurrence in the mailbox: %+v", r.Fields)
				}
			}
		}
		if masters != 1 {
			t.Errorf("%d series masters in the mailbox, want 1", masters)
		}
	})
}
