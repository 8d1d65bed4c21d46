package fakegraph

import (
	"net/http"
	"testing"
)

// Sources: api/event-get and api/user-list-calendarview (Prefer:
// outlook.timezone, UTC when absent), resources/datetimetimezone (Windows or
// IANA names), Microsoft Q&A 1382503 (all-day events keep their own zone's
// midnights whatever the preference). See FIDELITY.md.
func TestEventsComeBackInThePreferredZone(t *testing.T) {
	r := newRig(t, Options{})
	timed := r.create("me/events", map[string]any{"subject": "Call",
		"start": map[string]any{"dateTime": "2026-07-01T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-07-01T10:00:00", "timeZone": "W. Europe Standard Time"}})
	allDay := r.create("me/events", map[string]any{"subject": "Fair", "isAllDay": true,
		"start": map[string]any{"dateTime": "2026-07-02T00:00:00", "timeZone": "Tokyo Standard Time"},
		"end":   map[string]any{"dateTime": "2026-07-03T00:00:00", "timeZone": "Tokyo Standard Time"}})
	get := func(id string, prefer ...string) map[string]any {
		t.Helper()
		st, out, _ := r.do(http.MethodGet, "me/events/"+id, nil, append(prefer, `IdType="ImmutableId"`)...)
		if st != 200 {
			t.Fatalf("GET: %d %v", st, out)
		}
		return out
	}
	tests := []struct {
		name, id, prefer string
		want             map[string]any
	}{
		{"no preference: UTC", timed, "", map[string]any{"dateTime": "2026-07-01T07:00:00.0000000", "timeZone": "UTC"}},
		{"UTC", timed, `outlook.timezone="UTC"`, map[string]any{"dateTime": "2026-07-01T07:00:00.0000000", "timeZone": "UTC"}},
		{"Windows name", timed, `outlook.timezone="Pacific Standard Time"`, map[string]any{"dateTime": "2026-07-01T00:00:00.0000000", "timeZone": "Pacific Standard Time"}},
		{"IANA name", timed, `outlook.timezone="Asia/Kolkata"`, map[string]any{"dateTime": "2026-07-01T12:30:00.0000000", "timeZone": "Asia/Kolkata"}},
		{"all-day ignores the preference", allDay, `outlook.timezone="UTC"`, map[string]any{"dateTime": "2026-07-02T00:00:00.0000000", "timeZone": "Tokyo Standard Time"}},
	}
	for _, tc := range tests {
		var prefer []string
		if tc.prefer != "" {
			prefer = append(prefer, tc.prefer)
		}
		out := get(tc.id, prefer...)
		start, _ := out["start"].(map[string]any)
		if start["dateTime"] != tc.want["dateTime"] || start["timeZone"] != tc.want["timeZone"] {
			t.Errorf("%s: start = %v, want %v", tc.name, start, tc.want)
		}
	}
	if out := get(timed); out["originalStartTimeZone"] != "W. Europe Standard Time" {
		t.Errorf("originalStartTimeZone = %v, want the zone the event was made in", out["originalStartTimeZone"])
	}
	st, out, _ := r.do(http.MethodPost, "me/events", map[string]any{"subject": "Mars",
		"start": map[string]any{"dateTime": "2026-07-01T09:00:00", "timeZone": "Mars Standard Time"},
		"end":   map[string]any{"dateTime": "2026-07-01T10:00:00", "timeZone": "Mars Standard Time"}})
	if st != 400 || errCode(out) != "TimeZoneNotSupportedException" {
		t.Errorf("unknown zone: %d %v, want 400 TimeZoneNotSupportedException", st, out)
	}
}

// A daily series in a zone with daylight saving keeps its local time across
// the change (resources/patternedrecurrence: recurrenceTimeZone).
func TestSeriesKeepsLocalTimeAcrossDST(t *testing.T) {
	r := newRig(t, Options{})
	r.create("me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-03-27T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-03-27T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "numbered", "startDate": "2026-03-27", "numberOfOccurrences": 4, "recurrenceTimeZone": "W. Europe Standard Time"}}})
	st, out, _ := r.do(http.MethodGet, "me/calendarView?startDateTime=2026-03-26T00:00:00Z&endDateTime=2026-04-01T00:00:00Z", nil,
		`outlook.timezone="W. Europe Standard Time"`)
	if st != 200 {
		t.Fatalf("calendarView: %d %v", st, out)
	}
	var got []string
	for _, v := range values(out) {
		got = append(got, v["start"].(map[string]any)["dateTime"].(string))
	}
	want := []string{"2026-03-27T09:00:00.0000000", "2026-03-28T09:00:00.0000000", "2026-03-29T09:00:00.0000000", "2026-03-30T09:00:00.0000000"}
	if len(got) != len(want) {
		t.Fatalf("occurrences %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("occurrence %d at %s, want %s (local time kept across DST)", i, got[i], want[i])
		}
	}
}

// Sources: docs issues microsoft-graph-docs #7632 and #22197 (recorded
// sparse occurrences: id, type, start, end, seriesMasterId), keeper.sh PR
// #409 (the series master in calendarView delta), beta resources/event
// (occurrenceId "OID.<master>.<date>"; exceptions' originalStart).
func TestEventDeltaServesMastersSparseOccurrencesAndExceptions(t *testing.T) {
	r := newRig(t, Options{})
	master := r.create("me/events", map[string]any{"subject": "Standup",
		"start": map[string]any{"dateTime": "2026-07-06T09:00:00", "timeZone": "W. Europe Standard Time"},
		"end":   map[string]any{"dateTime": "2026-07-06T09:15:00", "timeZone": "W. Europe Standard Time"},
		"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
			"range": map[string]any{"type": "numbered", "startDate": "2026-07-06", "numberOfOccurrences": 3, "recurrenceTimeZone": "W. Europe Standard Time"}}})
	st, out, _ := r.do(http.MethodGet, "me/events/"+master+"/instances?startDateTime=2026-07-01T00:00:00Z&endDateTime=2026-07-10T00:00:00Z", nil, `IdType="ImmutableId"`)
	if st != 200 || len(values(out)) != 3 {
		t.Fatalf("instances: %d %v", st, out)
	}
	second := values(out)[1]["id"].(string)
	if st, out, _ := r.do(http.MethodPatch, "me/events/"+second, map[string]any{"subject": "Standup (late)"}, `IdType="ImmutableId"`); st != 200 {
		t.Fatalf("exception: %d %v", st, out)
	}
	st, out, _ = r.do(http.MethodGet, "me/calendarView/delta?startDateTime=2026-07-01T00:00:00Z&endDateTime=2026-07-10T00:00:00Z", nil, `IdType="ImmutableId"`)
	if st != 200 {
		t.Fatalf("delta: %d %v", st, out)
	}
	byType := map[string][]map[string]any{}
	for _, v := range values(out) {
		byType[str(v["type"])] = append(byType[str(v["type"])], v)
	}
	if m := byType["seriesMaster"]; len(m) != 1 || m[0]["id"] != master || m[0]["recurrence"] == nil || m[0]["subject"] != "Standup" {
		t.Errorf("masters = %v, want the series master in full", m)
	}
	occ := byType["occurrence"]
	if len(occ) != 2 {
		t.Fatalf("occurrences = %v, want 2", occ)
	}
	for _, o := range occ {
		if _, has := o["subject"]; has || o["seriesMasterId"] != master || o["start"] == nil || o["end"] == nil {
			t.Errorf("occurrence %v, want sparse: id, type, start, end, seriesMasterId", o)
		}
	}
	exc := byType["exception"]
	if len(exc) != 1 || exc[0]["subject"] != "Standup (late)" {
		t.Fatalf("exceptions = %v", exc)
	}
	if _, has := exc[0]["originalStart"]; has || exc[0]["occurrenceId"] != "OID."+master+".2026-07-07" {
		t.Errorf("exception = %v, want no originalStart and occurrenceId OID.<master>.2026-07-07", exc[0])
	}
}
