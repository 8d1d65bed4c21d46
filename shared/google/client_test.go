package google

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// TestErrorClasses drives Google's error answers through the client: both
// envelopes, rate limits as 429 or 403, quotas, server errors.
func TestErrorClasses(t *testing.T) {
	tests := []struct {
		api, reason string
		status      int
		kind        item.Kind
		want        fault.Class
	}{
		{"people", "RATE_LIMIT_EXCEEDED", 429, item.Contact, fault.Throttled},
		{"calendar", "rateLimitExceeded", 403, item.Event, fault.Throttled},
		{"calendar", "userRateLimitExceeded", 403, item.Event, fault.Throttled},
		{"tasks", "rateLimitExceeded", 429, item.Task, fault.Throttled},
		{"calendar", "quotaExceeded", 403, item.Event, fault.Quota},
		{"tasks", "forbidden", 403, item.Task, fault.Permanent},
		{"calendar", "backendError", 500, item.Event, fault.Temporary},
		{"people", "", 503, item.Contact, fault.Temporary},
		{"tasks", "authError", 401, item.Task, fault.Reconnect},
	}
	for _, tc := range tests {
		t.Run(tc.api+"/"+tc.reason, func(t *testing.T) {
			fg, s := localGoogle(t)
			scope := item.Scope{Kind: tc.kind}
			if tc.kind != item.Event {
				// Find the container first, so the failure hits the listing.
				if _, err := s.Changes(t.Context(), scope, ""); err != nil {
					t.Fatal(err)
				}
			}
			fg.FailNext(tc.api, tc.status, tc.reason, "7")
			_, err := s.Changes(t.Context(), scope, "")
			if got := fault.ClassOf(err); got != tc.want {
				t.Fatalf("%d %s: %v (class %v), want %v", tc.status, tc.reason, err, got, tc.want)
			}
			if tc.want == fault.Throttled && fault.RetryAfterOf(err).Seconds() != 7 {
				t.Errorf("Retry-After not carried: %v", err)
			}
		})
	}
}

// TestEventsFullSyncRequired: a 410 on the events token wipes the cursor and
// reads the calendar in full, each event once, and the next read is
// incremental again.
func TestEventsFullSyncRequired(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	scope := window()
	at := scope.From.Add(48 * time.Hour)
	id, err := s.createEvent(ctx, map[string]string{item.Subject: "Demo", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}, "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	fg.ExpireSyncTokens(testUser)
	again, err := s.Changes(ctx, scope, first.Cursor)
	if err != nil || !again.Full {
		t.Fatalf("after 410: Full=%v %v, want a full read", again.Full, err)
	}
	n := 0
	for _, r := range again.Records {
		if r.ID == id {
			n++
		}
	}
	if n != 1 || len(again.Removed) != 0 {
		t.Errorf("after 410: event reported %d times, %d removals; want once and none", n, len(again.Removed))
	}
	next, err := s.Changes(ctx, scope, again.Cursor)
	if err != nil || next.Full || len(next.Records) != 0 {
		t.Errorf("after the full read: %+v %v, want an empty incremental read", next, err)
	}
}

// TestAllDayAndZones: all-day events read as dates at midnight UTC whatever
// their zone; timed events in a zone read as UTC instants; an unknown zone
// is a Problem, not a record.
func TestAllDayAndZones(t *testing.T) {
	tests := []struct {
		name       string
		start, end wireTime
		want       [2]string
		allDay     string
		problem    string
	}{
		{"all-day", wireTime{Date: "2026-08-10"}, wireTime{Date: "2026-08-11"}, [2]string{"2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z"}, "true", ""},
		{"zoned", wireTime{DateTime: "2026-08-10T09:00:00+02:00", TimeZone: "Europe/Paris"}, wireTime{DateTime: "2026-08-10T10:00:00+02:00", TimeZone: "Europe/Paris"}, [2]string{"2026-08-10T07:00:00Z", "2026-08-10T08:00:00Z"}, "false", ""},
		{"unknown zone", wireTime{DateTime: "2026-08-10T09:00:00Z", TimeZone: "Mars/Olympus"}, wireTime{DateTime: "2026-08-10T10:00:00Z"}, [2]string{}, "", "unknown-time-zone"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, p := wireEvent{ID: "e", Start: &tc.start, End: &tc.end}.record("primary")
			if tc.problem != "" {
				if p == nil || p.Code != tc.problem {
					t.Fatalf("problem %+v, want %s", p, tc.problem)
				}
				return
			}
			if p != nil || r.Fields[item.Start] != tc.want[0] || r.Fields[item.End] != tc.want[1] || r.Fields[item.AllDay] != tc.allDay {
				t.Errorf("%+v %+v", r.Fields, p)
			}
		})
	}
	// Written back, an all-day event is dates, not instants.
	body := map[string]any{}
	if err := eventTimes(body, "2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z", true); err != nil || body["start"].(map[string]any)["date"] != "2026-08-10" {
		t.Errorf("all-day body %v %v", body, err)
	}
}

func window() item.Scope {
	now := time.Now().UTC().Truncate(time.Hour)
	return item.Scope{Kind: item.Event, From: now.AddDate(0, 0, -14), To: now.AddDate(0, 0, 28)}
}

// TestInvitations: a meeting someone else organized reads as an invitation
// with the user's answer, and an update leaves its organizer fields alone.
func TestInvitations(t *testing.T) {
	_, s := localGoogle(t)
	ctx := t.Context()
	scope := window()
	at := scope.From.Add(50 * time.Hour)
	body := map[string]any{"iCalUID": "meeting-1@other.example", "summary": "Their meeting",
		"start": map[string]string{"dateTime": at.Format(time.RFC3339)}, "end": map[string]string{"dateTime": at.Add(time.Hour).Format(time.RFC3339)},
		"organizer": map[string]any{"email": "Boss@Other.example"},
		"attendees": []map[string]any{{"email": testUser, "self": true, "responseStatus": "tentative"}}}
	var got wireEvent
	if err := s.c.do(ctx, "POST", s.eventsURL("primary")+"/import", body, &got); err != nil {
		t.Fatal(err)
	}
	own, err := s.createEvent(ctx, map[string]string{item.Subject: "Mine", item.Start: at.Format(time.RFC3339), item.End: at.Add(time.Hour).Format(time.RFC3339)}, "")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	inv, _ := findRec(ch.Records, got.ID)
	if inv.Fields[item.Invitation] != "true" || inv.Fields[item.Organizer] != "boss@other.example" || inv.Fields[item.Response] != "tentativelyAccepted" {
		t.Errorf("invitation fields: %+v", inv.Fields)
	}
	if mine, _ := findRec(ch.Records, own); mine.Fields[item.Invitation] != "false" || mine.Fields[item.Response] != "organizer" {
		t.Errorf("own event fields: %+v", mine.Fields)
	}
	if err := s.updateEvent(ctx, got.ID, map[string]string{item.Subject: "Renamed"}); err != nil {
		t.Fatal(err)
	}
	after, err := s.getEvent(ctx, "primary", got.ID)
	if err != nil || after.Summary != "Their meeting" {
		t.Errorf("an invitation's subject was written: %q %v", after.Summary, err)
	}
}
