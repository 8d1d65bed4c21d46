package msgraph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/winzone"
)

// TestEveryWindowsZoneResolves: every Windows name CLDR lists (winzone's
// table, checked against CLDR there) is a zone for the client, in any case.
func TestEveryWindowsZoneResolves(t *testing.T) {
	for _, win := range winzone.Names() {
		if _, err := location(win); err != nil {
			t.Errorf("%q: %v", win, err)
		}
		if _, err := location(strings.ToUpper(win)); err != nil {
			t.Errorf("%q in capitals: %v", win, err)
		}
	}
}

func TestEventTimesReadInTheirZone(t *testing.T) {
	tests := []struct {
		name       string
		start, end wireDateTimeTZ
		allDay     bool
		want       [2]string
		zoneErr    bool
		dateErr    bool
	}{
		{name: "Windows zone, summer", start: wireDateTimeTZ{"2026-07-01T09:00:00.0000000", "W. Europe Standard Time"}, end: wireDateTimeTZ{"2026-07-01T10:00:00.0000000", "W. Europe Standard Time"},
			want: [2]string{"2026-07-01T07:00:00Z", "2026-07-01T08:00:00Z"}},
		{name: "Windows zone, winter", start: wireDateTimeTZ{"2026-01-15T09:00:00.0000000", "Pacific Standard Time"}, end: wireDateTimeTZ{"2026-01-15T09:30:00.0000000", "Pacific Standard Time"},
			want: [2]string{"2026-01-15T17:00:00Z", "2026-01-15T17:30:00Z"}},
		{name: "southern hemisphere in DST", start: wireDateTimeTZ{"2026-01-15T09:00:00", "AUS Eastern Standard Time"}, end: wireDateTimeTZ{"2026-01-15T10:00:00", "AUS Eastern Standard Time"},
			want: [2]string{"2026-01-14T22:00:00Z", "2026-01-14T23:00:00Z"}},
		{name: "IANA zone", start: wireDateTimeTZ{"2026-03-02T09:30:00", "Asia/Kolkata"}, end: wireDateTimeTZ{"2026-03-02T10:00:00", "Asia/Kolkata"},
			want: [2]string{"2026-03-02T04:00:00Z", "2026-03-02T04:30:00Z"}},
		{name: "UTC", start: wireDateTimeTZ{"2026-03-02T09:30:00.0000000", "UTC"}, end: wireDateTimeTZ{"2026-03-02T10:00:00.0000000", "UTC"},
			want: [2]string{"2026-03-02T09:30:00Z", "2026-03-02T10:00:00Z"}},
		{name: "all-day east of UTC stays on its date", allDay: true, start: wireDateTimeTZ{"2026-08-10T00:00:00.0000000", "Tokyo Standard Time"}, end: wireDateTimeTZ{"2026-08-11T00:00:00.0000000", "Tokyo Standard Time"},
			want: [2]string{"2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z"}},
		{name: "all-day in UTC+14", allDay: true, start: wireDateTimeTZ{"2026-08-10T00:00:00", "Pacific/Kiritimati"}, end: wireDateTimeTZ{"2026-08-12T00:00:00", "Pacific/Kiritimati"},
			want: [2]string{"2026-08-10T00:00:00Z", "2026-08-12T00:00:00Z"}},
		{name: "all-day in UTC-12", allDay: true, start: wireDateTimeTZ{"2026-08-10T00:00:00", "Dateline Standard Time"}, end: wireDateTimeTZ{"2026-08-11T00:00:00", "Dateline Standard Time"},
			want: [2]string{"2026-08-10T00:00:00Z", "2026-08-11T00:00:00Z"}},
		{name: "custom zone", start: wireDateTimeTZ{"2026-03-02T09:30:00", "tzone://Microsoft/Custom"}, end: wireDateTimeTZ{"2026-03-02T10:00:00", "tzone://Microsoft/Custom"}, zoneErr: true},
		{name: "unknown name", start: wireDateTimeTZ{"2026-03-02T09:30:00", "Mars Standard Time"}, end: wireDateTimeTZ{"2026-03-02T10:00:00", "UTC"}, zoneErr: true},
		{name: "malformed date", start: wireDateTimeTZ{"2026-13-02T09:30:00", "UTC"}, end: wireDateTimeTZ{"2026-03-02T10:00:00", "UTC"}, dateErr: true},
		{name: "all-day ending before it starts", allDay: true, start: wireDateTimeTZ{"2026-08-10T00:00:00", "UTC"}, end: wireDateTimeTZ{"2026-08-10T00:00:00", "UTC"}, dateErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject := "Review"
			w := wireEvent{ID: "e1", Subject: &subject, Start: &tc.start, End: &tc.end, IsAllDay: &tc.allDay}
			rec, err := eventRecord(w)
			switch {
			case tc.zoneErr || tc.dateErr:
				if err == nil {
					t.Fatalf("read as %v, want an error", rec.Fields)
				}
				p := eventProblem(w, err)
				if want := map[bool]string{true: "unknown-time-zone", false: "unreadable-event"}[tc.zoneErr]; p.Code != want || p.ID != "e1" || p.Name != "Review" {
					t.Errorf("problem = %+v, want code %s naming the event", p, want)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got := [2]string{rec.Fields[item.Start], rec.Fields[item.End]}; got != tc.want {
					t.Errorf("start, end = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// preferRecorder notes every request (and $batch part) that lacks the
// Prefer outlook.timezone="UTC" header.
type preferRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	missing []string
	parts   int
}

func (p *preferRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	ok := false
	for _, v := range r.Header.Values("Prefer") {
		ok = ok || strings.Contains(v, preferUTC)
	}
	p.mu.Lock()
	if !ok {
		p.missing = append(p.missing, r.Method+" "+r.URL.Path)
	}
	if strings.HasSuffix(r.URL.Path, "$batch") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var wb wireBatch
		_ = json.Unmarshal(b, &wb)
		for _, part := range wb.Requests {
			p.parts++
			if !strings.Contains(part.Headers["Prefer"], preferUTC) {
				p.missing = append(p.missing, "part "+part.Method+" "+part.URL)
			}
		}
	}
	p.mu.Unlock()
	return p.next.RoundTrip(r)
}

// TestEveryEventReadPrefersUTC reads a calendar with a series, an exception
// and an all-day event: every request and batch part asks for UTC (the
// previous client sent no outlook.timezone preference), and the times come
// back unshifted.
func TestEveryEventReadPrefersUTC(t *testing.T) {
	fg := fakegraph.New(fakegraph.Options{})
	upn := "user@contoso.test"
	fg.AddMailbox(upn, "Test User")
	rec := &preferRecorder{next: fg.Transport()}
	c, err := New(Options{BaseURL: "http://graph.local/v1.0", HTTPClient: &http.Client{Transport: rec},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fg.Token(upn), TokenType: "Bearer"})})
	if err != nil {
		t.Fatal(err)
	}
	side := NewSide(c, SideOptions{})
	ctx := t.Context()
	for _, b := range []map[string]any{
		{"subject": "Amsterdam", "start": map[string]any{"dateTime": "2026-07-01T09:00:00", "timeZone": "W. Europe Standard Time"},
			"end": map[string]any{"dateTime": "2026-07-01T10:00:00", "timeZone": "W. Europe Standard Time"}},
		{"subject": "Fair", "isAllDay": true, "start": map[string]any{"dateTime": "2026-07-02T00:00:00", "timeZone": "Tokyo Standard Time"},
			"end": map[string]any{"dateTime": "2026-07-03T00:00:00", "timeZone": "Tokyo Standard Time"}},
		{"subject": "Standup", "start": map[string]any{"dateTime": "2026-07-01T08:30:00", "timeZone": "Pacific Standard Time"},
			"end": map[string]any{"dateTime": "2026-07-01T08:45:00", "timeZone": "Pacific Standard Time"},
			"recurrence": map[string]any{"pattern": map[string]any{"type": "daily", "interval": 1},
				"range": map[string]any{"type": "numbered", "startDate": "2026-07-01", "numberOfOccurrences": 3, "recurrenceTimeZone": "Pacific Standard Time"}}},
	} {
		if err := c.sendJSON(ctx, http.MethodPost, "me/events", b, nil); err != nil {
			t.Fatal(err)
		}
	}
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	ch, err := side.Changes(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, r := range ch.Records {
		got[r.Fields[item.Subject]] = [2]string{r.Fields[item.Start], r.Fields[item.End]}
	}
	want := map[string][2]string{
		"Amsterdam": {"2026-07-01T07:00:00Z", "2026-07-01T08:00:00Z"},
		"Fair":      {"2026-07-02T00:00:00Z", "2026-07-03T00:00:00Z"},
		"Standup":   {"2026-07-01T15:30:00Z", "2026-07-01T15:45:00Z"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	// The series master comes in the delta; read the events by id too, as
	// removal checks do, so batch parts are looked at.
	var ids []string
	for _, r := range ch.Records {
		ids = append(ids, r.ID)
	}
	if _, _, _, err := side.getEvents(ctx, ids, nil); err != nil {
		t.Fatal(err)
	}
	if rec.parts == 0 {
		t.Errorf("no batch part was sent")
	}
	if len(rec.missing) > 0 {
		t.Errorf("requests without Prefer %s: %v", preferUTC, rec.missing)
	}
}

// TestUnknownZoneIsAnIssueNotUTC: an event in a zone crmsync cannot place
// is reported as a problem naming it, beside the events it can read (the
// previous client read it as UTC, hours off).
func TestUnknownZoneIsAnIssueNotUTC(t *testing.T) {
	page := `{"@odata.deltaLink":"http://graph.local/v1.0/me/calendarView/delta?$deltatoken=x","value":[
	 {"id":"ok","changeKey":"1","type":"singleInstance","subject":"Fine","isAllDay":false,
	  "start":{"dateTime":"2026-07-01T09:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-07-01T10:00:00.0000000","timeZone":"UTC"}},
	 {"id":"odd","changeKey":"1","type":"singleInstance","subject":"Odd","isAllDay":false,
	  "start":{"dateTime":"2026-07-01T09:00:00.0000000","timeZone":"tzone://Microsoft/Custom"},"end":{"dateTime":"2026-07-01T10:00:00.0000000","timeZone":"tzone://Microsoft/Custom"}}]}`
	c, _ := scriptedClient(t, answer(200, page))
	side := NewSide(c, SideOptions{})
	scope := item.Scope{Kind: item.Event, From: time.Date(2026, 6, 28, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
	ch, err := side.eventChanges(t.Context(), scope, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 1 || ch.Records[0].ID != "ok" {
		t.Errorf("records = %+v, want the readable event only", ch.Records)
	}
	if len(ch.Problems) != 1 || ch.Problems[0].ID != "odd" || ch.Problems[0].Code != "unknown-time-zone" || ch.Problems[0].Name != "Odd" {
		t.Errorf("problems = %+v, want the custom-zone event", ch.Problems)
	}
}
