package msgraph

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// listInstances reads a master's instances straight from the local Graph
// (every page), as "date id" by original date in Berlin.
func listInstances(t *testing.T, s *Side, master string, from, to time.Time) map[string]string {
	t.Helper()
	raw, err := s.c.list(t.Context(), s.instancesPath(master, from, to))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	p := seriesOf{loc: mustLoc(t, "Europe/Berlin")}
	for _, x := range raw {
		var w wireEvent
		if err := json.Unmarshal(x, &w); err != nil {
			t.Fatal(err)
		}
		out[p.instanceDate(w)] = w.ID
	}
	return out
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestMailboxCancellationReadFromInstances: occurrences cancelled in the
// mailbox (one the day after the change to summer time in Berlin, one in
// November) read as the series master's cancelled dates in its own zone,
// from the master's instances over the window (more than a page of them:
// November is on the second page, which only @odata.nextLink reaches), on
// the incremental read after the deletes; an idle read asks for no
// instances at all.
func TestMailboxCancellationReadFromInstances(t *testing.T) {
	fg, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	var m struct {
		ID string `json:"id"`
	}
	if err := side.c.sendJSON(ctx, http.MethodPost, "me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-03-20T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-03-20T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "endDate", "startDate": "2026-03-20", "endDate": "2026-12-20", "recurrenceTimeZone": "W. Europe Standard Time"}}}, &m); err != nil {
		t.Fatal(err)
	}
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
	ch, err := side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 1 || ch.Records[0].Fields[item.Cancelled] != "" {
		t.Fatalf("full read: %+v, want the master with no cancelled date", ch.Records)
	}
	idle, _ := fg.Requests()
	if ch, err = side.Changes(ctx, scope, ch.Cursor); err != nil || len(ch.Records) != 0 {
		t.Fatalf("idle read: %v %+v", err, ch.Records)
	}
	if n, _ := fg.Requests(); n-idle != 1 {
		t.Errorf("an idle read made %d requests, want the delta call alone", n-idle)
	}
	inst := listInstances(t, side, m.ID, scope.From, scope.To)
	if len(inst) != 276 {
		t.Fatalf("%d instances, want 276 (20 March to 20 December)", len(inst))
	}
	for _, d := range []string{"2026-03-30", "2026-11-10"} {
		if err := side.c.sendJSON(ctx, http.MethodDelete, "me/events/"+inst[d], nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := fg.Requests()
	ch, err = side.Changes(ctx, scope, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fg.Requests()
	if len(ch.Records) != 1 || ch.Records[0].ID != m.ID || ch.Records[0].Fields[item.Cancelled] != "2026-03-30,2026-11-10" {
		t.Fatalf("after the cancellations: %+v, want the master with 2026-03-30,2026-11-10", ch.Records)
	}
	// The delta (six pages of 50: 276 occurrences), the removal check of
	// the cancelled ids ($batch), and for the cancellations: the $batch
	// with the master's first instances page (200) and its second page.
	t.Logf("incremental read with one changed daily series of 276 meetings: %d requests", after-before)
	if after-before > 9 {
		t.Errorf("the read made %d requests, want at most 9 (delta ×6, removal check, instances batch, next page)", after-before)
	}
}

// TestCancellationCancelsMailboxOccurrence: a series written with
// cancelled dates (created with one, updated with two, one after the change
// to winter time) loses exactly the occurrences on those dates and keeps
// the rest; writing the same dates again cancels nothing more; a date the
// pattern does not produce fails that series alone, naming the date, and
// cancels none of its occurrences.
func TestCancellationCancelsMailboxOccurrence(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	berlin := mustLoc(t, "Europe/Berlin")
	first := time.Date(2026, 10, 6, 10, 0, 0, 0, berlin)
	series := func(cancelled string) string {
		res, err := side.Create(ctx, item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
			item.Subject: "Pipeline review", item.Start: first.UTC().Format(time.RFC3339), item.End: first.Add(time.Hour).UTC().Format(time.RFC3339),
			item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=TU;COUNT=8", item.Cancelled: cancelled}}}, []string{""})
		if err != nil || res[0].Err != nil {
			t.Fatalf("create: %v %v", err, res)
		}
		return res[0].ID
	}
	from, to := first.AddDate(0, 0, -1), first.AddDate(0, 0, 60)
	a := series("2026-10-20")
	if inst := listInstances(t, side, a, from, to); len(inst) != 7 || inst["2026-10-20"] != "" {
		t.Fatalf("after create: instances %v, want 7 without 20 October", inst)
	}
	for range 2 {
		res, err := side.Update(ctx, item.Event, []item.Record{{Kind: item.Event, ID: a, Fields: map[string]string{item.Cancelled: "2026-10-20,2026-11-03"}}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("update: %v %v", err, res)
		}
	}
	inst := listInstances(t, side, a, from, to)
	var dates []string
	for d := range inst {
		dates = append(dates, d)
	}
	if len(inst) != 6 || inst["2026-10-20"] != "" || inst["2026-11-03"] != "" || inst["2026-10-27"] == "" {
		t.Errorf("after update: instances on %v, want 6 without 20 October and 3 November", dates)
	}
	b := series("")
	res, err := side.Update(ctx, item.Event, []item.Record{
		{Kind: item.Event, ID: b, Fields: map[string]string{item.Cancelled: "2026-10-13,2026-10-14"}},
		{Kind: item.Event, ID: a, Fields: map[string]string{item.Cancelled: "2026-10-27"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "2026-10-14") {
		t.Errorf("off-pattern date: %v, want an error naming 2026-10-14", res[0].Err)
	}
	if n := len(listInstances(t, side, b, from, to)); n != 8 {
		t.Errorf("the refused series has %d occurrences, want all 8", n)
	}
	if res[1].Err != nil || len(listInstances(t, side, a, from, to)) != 5 {
		t.Errorf("the other series: %v, want 27 October cancelled too", res[1].Err)
	}
}
