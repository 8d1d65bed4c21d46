package msgraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// TestSeriesFromTheDelta: a series in a zone with daylight saving, with an
// exception the delta reports without originalStart, reads as the master
// (with its rule) and the exception (with its original start worked out
// from its occurrenceId in the series' zone); sparse occurrences make no
// records. The previous client left the exception's OriginalStart empty.
func TestSeriesFromTheDelta(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	var m struct {
		ID string `json:"id"`
	}
	if err := side.c.sendJSON(ctx, http.MethodPost, "me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-03-27T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-03-27T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "endDate", "startDate": "2026-03-27", "endDate": "2026-03-31", "recurrenceTimeZone": "W. Europe Standard Time"}}}, &m); err != nil {
		t.Fatal(err)
	}
	var inst wirePage
	if err := side.c.getJSON(ctx, "me/events/"+m.ID+"/instances?startDateTime=2026-03-26T00:00:00Z&endDateTime=2026-04-02T00:00:00Z", &inst); err != nil || len(inst.Value) != 5 {
		t.Fatalf("instances: %v %d", err, len(inst.Value))
	}
	var third wireEvent
	if err := json.Unmarshal(inst.Value[3], &third); err != nil { // 30 March, after the change to summer time
		t.Fatal(err)
	}
	if err := side.c.sendJSON(ctx, http.MethodPatch, "me/events/"+third.ID, map[string]any{"subject": "Standup (late)"}, nil); err != nil {
		t.Fatal(err)
	}
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)}
	ch, err := side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 2 || len(ch.Problems) != 0 {
		t.Fatalf("records %+v problems %+v, want the master and the exception", ch.Records, ch.Problems)
	}
	got := map[string]item.Record{}
	for _, r := range ch.Records {
		got[r.Fields[item.Subject]] = r
	}
	// The series ends on 31 March in Berlin; its end reads as the end of
	// the UTC day of that last meeting (07:00Z), as Salesforce reads a
	// classic series' end: the same five meetings, one spelling.
	if rule := got["Standup"].Fields[item.Recurrence]; rule != "FREQ=DAILY;INTERVAL=1;UNTIL=20260331T235959Z" {
		t.Errorf("series rule %q, want it to end with the meeting of 31 March (20260331T235959Z)", rule)
	}
	if got["Standup"].Fields[item.TimeZone] != "Europe/Berlin" {
		t.Errorf("series zone %q, want Europe/Berlin (from W. Europe Standard Time)", got["Standup"].Fields[item.TimeZone])
	}
	exc := got["Standup (late)"]
	if exc.Fields[item.SeriesID] != m.ID || exc.Fields[item.OriginalStart] != "2026-03-30T07:00:00Z" {
		t.Errorf("exception = %v, want series %s, original start 09:00 Berlin summer time on 30 March", exc.Fields, m.ID)
	}
}

// TestSeriesBadInput: an occurrence whose master is gone and an exception
// that names no original date are issues naming them, not a failed read.
func TestSeriesBadInput(t *testing.T) {
	page := `{"@odata.deltaLink":"http://graph.local/v1.0/me/calendarView/delta?$deltatoken=x","value":[
	 {"id":"occ1","type":"occurrence","seriesMasterId":"gone","start":{"dateTime":"2026-07-01T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-07-01T10:00:00","timeZone":"UTC"}},
	 {"id":"exc1","changeKey":"1","type":"exception","seriesMasterId":"m1","subject":"Odd","start":{"dateTime":"2026-07-02T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-07-02T10:00:00","timeZone":"UTC"}},
	 {"id":"m1","changeKey":"1","type":"seriesMaster","subject":"Series","start":{"dateTime":"2026-07-01T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-07-01T10:00:00","timeZone":"UTC"},
	  "recurrence":{"pattern":{"type":"daily","interval":1},"range":{"type":"noEnd","startDate":"2026-07-01","recurrenceTimeZone":"UTC"}}}]}`
	batch := `{"responses":[{"id":"1","status":404,"body":{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}}]}`
	// The readable master's instances (its cancelled dates): none cancelled.
	var days []string
	for d := 1; d <= 17; d++ {
		days = append(days, `{"id":"o`+strconv.Itoa(d)+`","type":"occurrence","originalStart":"2026-07-`+fmt.Sprintf("%02d", d)+`T09:00:00Z"}`)
	}
	instances := `{"responses":[{"id":"1","status":200,"body":{"value":[` + strings.Join(days, ",") + `]}}]}`
	c, _ := scriptedClient(t, answer(200, page), answer(200, batch), answer(200, instances))
	side := NewSide(c, SideOptions{})
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	ch, err := side.eventChanges(t.Context(), scope, "")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, p := range ch.Problems {
		codes[p.ID] = p.Code
	}
	if codes["occ1"] != "series-missing" || codes["exc1"] != "unreadable-event" {
		t.Errorf("problems = %+v, want the orphan occurrence and the undated exception", ch.Problems)
	}
	if len(ch.Records) != 1 || ch.Records[0].ID != "m1" || ch.Records[0].Fields[item.Cancelled] != "" {
		t.Errorf("records = %+v, want the readable master only", ch.Records)
	}
}
