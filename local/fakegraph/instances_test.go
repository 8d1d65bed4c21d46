package fakegraph

import (
	"net/http"
	"testing"
)

// Sources: api/event-list-instances (startDateTime and endDateTime required;
// a series master's occurrences and exceptions in the range), resources/event
// (instances "doesn't include occurrences canceled from the series"),
// api/event-delete, Microsoft Q&A 1488109 (pages of 10 events by default,
// @odata.nextLink to the rest).
func TestInstancesPageAndLeaveOutCancelledOccurrences(t *testing.T) {
	r := newRig(t, Options{})
	master := r.create("me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-03-20T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-03-20T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "numbered", "startDate": "2026-03-20", "numberOfOccurrences": 25, "recurrenceTimeZone": "W. Europe Standard Time"}}})
	if st, _, _ := r.do(http.MethodGet, "me/events/"+master+"/instances", nil); st != http.StatusBadRequest {
		t.Errorf("instances without a range: %d, want 400", st)
	}
	list := func() []map[string]any {
		var all []map[string]any
		next := "me/events/" + master + "/instances?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z"
		pages := 0
		for next != "" {
			st, out, _ := r.do(http.MethodGet, next, nil, `IdType="ImmutableId"`)
			if st != 200 {
				t.Fatalf("instances: %d %v", st, out)
			}
			if n := len(values(out)); n > 10 {
				t.Errorf("a page of %d instances, want at most 10", n)
			}
			all = append(all, values(out)...)
			next, _ = out["@odata.nextLink"].(string)
			pages++
		}
		if pages < 3 {
			t.Errorf("%d pages, want the 25 instances in pages of 10", pages)
		}
		return all
	}
	all := list()
	if len(all) != 25 {
		t.Fatalf("%d instances, want 25", len(all))
	}
	gone := str(all[10]["id"]) // 30 March, after the change to summer time
	if st, _, _ := r.do(http.MethodDelete, "me/events/"+gone, nil, `IdType="ImmutableId"`); st != http.StatusNoContent {
		t.Fatalf("delete an occurrence: %d", st)
	}
	after := list()
	if len(after) != 24 {
		t.Errorf("%d instances after the cancellation, want 24", len(after))
	}
	for _, in := range after {
		if str(in["id"]) == gone {
			t.Errorf("the cancelled occurrence is still listed")
		}
	}
	if st, out, _ := r.do(http.MethodGet, "me/events/"+master, nil, `IdType="ImmutableId"`); st != 200 || out["recurrence"] == nil {
		t.Errorf("the series master after the cancellation: %d %v", st, out)
	}
}

// $top sizes an instances page; the rest still follows by @odata.nextLink.
func TestInstancesTopIsAPageSize(t *testing.T) {
	r := newRig(t, Options{})
	master := r.create("me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-03-20T09:00:00", "timeZone": "UTC"},
		"end":   map[string]any{"dateTime": "2026-03-20T09:15:00", "timeZone": "UTC"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "numbered", "startDate": "2026-03-20", "numberOfOccurrences": 7, "recurrenceTimeZone": "UTC"}}})
	st, out, _ := r.do(http.MethodGet, "me/events/"+master+"/instances?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z&$top=5", nil)
	next, _ := out["@odata.nextLink"].(string)
	if st != 200 || len(values(out)) != 5 || next == "" {
		t.Fatalf("first page: %d, %d instances, next %q; want 5 and a next link", st, len(values(out)), next)
	}
	st, out, _ = r.do(http.MethodGet, next, nil)
	if st != 200 || len(values(out)) != 2 || out["@odata.nextLink"] != nil {
		t.Errorf("second page: %d, %d instances; want the last 2", st, len(values(out)))
	}
}
