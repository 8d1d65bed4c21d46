package msgraph

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// TestSeveralCalendars: the user's chosen calendars each sync through their
// own calendarView delta; without a choice only the default calendar does.
// The previous client read the default calendar only.
func TestSeveralCalendars(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	c := side.c
	var sales struct {
		ID string `json:"id"`
	}
	if err := c.sendJSON(ctx, http.MethodPost, "me/calendars", map[string]any{"name": "Sales"}, &sales); err != nil {
		t.Fatal(err)
	}
	cals, err := side.Calendars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cals) != 2 || !cals[0].Default || cals[0].Name != "Calendar" || cals[1].ID != sales.ID {
		t.Fatalf("calendars = %+v, want the default one first, then Sales", cals)
	}
	at := func(d int) map[string]any {
		return map[string]any{"dateTime": time.Date(2026, 7, d, 9, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05"), "timeZone": "UTC"}
	}
	post := func(path, subject string, d int) string {
		var e struct {
			ID string `json:"id"`
		}
		if err := c.sendJSON(ctx, http.MethodPost, path, map[string]any{"subject": subject, "start": at(d), "end": at(d + 1)}, &e); err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	post("me/events", "Default one", 1)
	salesEvent := post("me/calendars/"+sales.ID+"/events", "Sales one", 2)
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	subjects := func(ch item.Changes) []string {
		var out []string
		for _, r := range ch.Records {
			out = append(out, r.Fields[item.Subject])
		}
		slices.Sort(out)
		return out
	}
	def, err := side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(def); !slices.Equal(got, []string{"Default one"}) {
		t.Errorf("without a choice: %v, want the default calendar only", got)
	}
	both := scope
	both.Calendars = []string{sales.ID, cals[0].ID}
	ch, err := side.Changes(ctx, both, def.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(ch); !ch.Full || !slices.Equal(got, []string{"Default one", "Sales one"}) {
		t.Errorf("with both chosen: full %v, %v; want a full read of both", ch.Full, got)
	}
	if err := c.sendJSON(ctx, http.MethodPatch, "me/events/"+salesEvent, map[string]any{"subject": "Sales one (moved)"}, nil); err != nil {
		t.Fatal(err)
	}
	before := c.Requests()
	again, err := side.Changes(ctx, both, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(again); again.Full || !slices.Equal(got, []string{"Sales one (moved)"}) {
		t.Errorf("incremental: full %v, %v; want the Sales change", again.Full, got)
	}
	if n := c.Requests() - before; n != 2 {
		t.Errorf("%d requests, want one delta per calendar", n)
	}
}
