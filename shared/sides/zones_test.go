package sides_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
)

// zoneCase is a zone as a mailbox may name it, with the IANA zone the test
// computes its expectations in (written out here, not taken from the client's
// table, so a wrong table entry fails).
type zoneCase struct{ name, iana string }

// testZones: Windows and IANA names, both hemispheres, UTC−12 to UTC+14,
// half- and quarter-hour offsets, and zones whose daylight saving starts or
// ends inside the test's window (29 March in Europe, 5 April in Australia,
// New Zealand and Chatham, 4 April in Chile).
var testZones = []zoneCase{
	{"W. Europe Standard Time", "Europe/Berlin"},
	{"GMT Standard Time", "Europe/London"},
	{"Pacific Standard Time", "America/Los_Angeles"},
	{"Eastern Standard Time", "America/New_York"},
	{"AUS Eastern Standard Time", "Australia/Sydney"},
	{"New Zealand Standard Time", "Pacific/Auckland"},
	{"Pacific SA Standard Time", "America/Santiago"},
	{"E. South America Standard Time", "America/Sao_Paulo"},
	{"Tokyo Standard Time", "Asia/Tokyo"},
	{"India Standard Time", "Asia/Calcutta"},
	{"Dateline Standard Time", "Etc/GMT+12"},
	{"Line Islands Standard Time", "Pacific/Kiritimati"},
	{"Iran Standard Time", "Asia/Tehran"},
	{"Europe/Amsterdam", "Europe/Amsterdam"},
	{"America/Sao_Paulo", "America/Sao_Paulo"},
	{"Australia/Adelaide", "Australia/Adelaide"},
	{"Asia/Kathmandu", "Asia/Kathmandu"},
	{"America/St_Johns", "America/St_Johns"},
	{"Pacific/Chatham", "Pacific/Chatham"},
	{"Africa/Johannesburg", "Africa/Johannesburg"},
}

// edgeDays are the days either side of the daylight-saving changes in the window.
var edgeDays = []string{"2026-03-28", "2026-03-29", "2026-03-30", "2026-04-04", "2026-04-05", "2026-04-06"}

type madeEvent struct {
	subject   string
	zone      zoneCase
	allDay    bool
	local     string // timed: local start "2006-01-02T15:04:00"; all-day: first date
	minutes   int    // timed: duration
	days      int    // all-day: number of days
	mailboxID string
}

// TestPropertyEventsKeepTheirTimeInEveryZone creates timed events (on the
// days around daylight-saving changes) and all-day events in 20 zones in the
// mailbox, syncs them to the local Salesforce, changes each there, and syncs
// back: Salesforce holds the same instant (timed) or the same dates with
// IsAllDayEvent, ActivityDate and 1440 minutes a day (all-day), and the
// mailbox copy still starts at the same local time or on the same date.
// All-day events made in Salesforce reach the mailbox on their dates too.
func TestPropertyEventsKeepTheirTimeInEveryZone(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorld(t)
			w.now = time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)
			rng := rand.New(rand.NewPCG(seed, 42))
			tok := w.graph.Token(upn)
			var made []*madeEvent
			for i, z := range testZones {
				day := edgeDays[rng.IntN(len(edgeDays))]
				timed := &madeEvent{subject: fmt.Sprintf("timed-%02d", i), zone: z,
					local: fmt.Sprintf("%sT%02d:%02d:00", day, 7+rng.IntN(12), 15*rng.IntN(4)), minutes: 15 * (1 + rng.IntN(8))}
				first := time.Date(2026, 3, 20+rng.IntN(20), 0, 0, 0, 0, time.UTC)
				allDay := &madeEvent{subject: fmt.Sprintf("allday-%02d", i), zone: z, allDay: true,
					local: first.Format(time.DateOnly), days: 1 + rng.IntN(3)}
				for _, e := range []*madeEvent{timed, allDay} {
					e.mailboxID = postEvent(t, w, tok, e)
					made = append(made, e)
				}
			}
			w.session()
			sfEvents := querySalesforceEvents(t, w)
			if len(sfEvents) != len(made) {
				t.Fatalf("Salesforce has %d events, want %d", len(sfEvents), len(made))
			}
			for _, e := range made {
				got, ok := sfEvents[e.subject]
				if !ok {
					t.Errorf("%s (%s) did not reach Salesforce", e.subject, e.zone.name)
					continue
				}
				checkSalesforce(t, e, got)
				if err := w.sf.Update(w.sfID, got.ID, map[string]any{"Subject": e.subject + " (edited)"}); err != nil {
					t.Fatal(err)
				}
			}
			w.session()
			for _, e := range made {
				checkMailbox(t, w, tok, e)
			}
			// All-day events made in Salesforce land on their dates.
			sfDay := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)
			if _, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "sf-allday", "IsAllDayEvent": true,
				"ActivityDate": sfDay.Format(time.DateOnly), "StartDateTime": sfDay.Format(time.RFC3339), "EndDateTime": sfDay.AddDate(0, 0, 1).Format(time.RFC3339)}); err != nil {
				t.Fatal(err)
			}
			w.session()
			found := false
			for _, r := range w.mailboxAll(item.Event) {
				if r.Fields[item.Subject] == "sf-allday" {
					found = true
					if r.Fields[item.AllDay] != "true" || r.Fields[item.Start] != "2026-03-27T00:00:00Z" || r.Fields[item.End] != "2026-03-29T00:00:00Z" {
						t.Errorf("Salesforce all-day event in the mailbox = %v, want 27–28 March", r.Fields)
					}
				}
			}
			if !found {
				t.Errorf("the Salesforce all-day event did not reach the mailbox")
			}
		})
	}
}

func postEvent(t *testing.T, w *world, tok string, e *madeEvent) string {
	t.Helper()
	// The category shares the meeting into Salesforce (new mailbox events
	// are shared by category by default).
	body := map[string]any{"subject": e.subject, "categories": []string{"Salesforce"}}
	if e.allDay {
		first, _ := time.Parse(time.DateOnly, e.local)
		body["isAllDay"] = true
		body["start"] = map[string]any{"dateTime": e.local + "T00:00:00", "timeZone": e.zone.name}
		body["end"] = map[string]any{"dateTime": first.AddDate(0, 0, e.days).Format(time.DateOnly) + "T00:00:00", "timeZone": e.zone.name}
	} else {
		st, _ := time.Parse("2006-01-02T15:04:05", e.local)
		body["start"] = map[string]any{"dateTime": e.local, "timeZone": e.zone.name}
		body["end"] = map[string]any{"dateTime": st.Add(time.Duration(e.minutes) * time.Minute).Format("2006-01-02T15:04:05"), "timeZone": e.zone.name}
	}
	b, _ := json.Marshal(body)
	var created struct {
		ID string `json:"id"`
	}
	graphPost(t, w.gURL+"/v1.0/users/"+upn+"/events", tok, string(b), &created)
	return created.ID
}

// sfEvent is an Event as the local Salesforce's REST API reports it.
type sfEvent struct {
	ID            string `json:"Id"`
	Subject       string
	StartDateTime string
	EndDateTime   string
	IsAllDayEvent bool
	ActivityDate  string
	Duration      float64 `json:"DurationInMinutes"`
}

func querySalesforceEvents(t *testing.T, w *world) map[string]sfEvent {
	t.Helper()
	q := "SELECT Id, Subject, StartDateTime, EndDateTime, IsAllDayEvent, ActivityDate, DurationInMinutes FROM Event"
	req, _ := http.NewRequest(http.MethodGet, w.sfURL+"/services/data/v"+fakesalesforce.APIVersion+"/query?q="+url.QueryEscape(q), nil)
	req.Header.Set("Authorization", "Bearer "+w.sf.IssueToken(w.sfID))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Records []sfEvent `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("query: %d %v", resp.StatusCode, err)
	}
	out := map[string]sfEvent{}
	for _, r := range page.Records {
		out[strings.TrimSuffix(r.Subject, " (edited)")] = r
	}
	return out
}

func sfTime(s string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05.000-0700", s)
	return t.UTC()
}

func checkSalesforce(t *testing.T, e *madeEvent, got sfEvent) {
	t.Helper()
	if e.allDay {
		last, _ := time.Parse(time.DateOnly, e.local)
		last = last.AddDate(0, 0, e.days-1)
		if !got.IsAllDayEvent || got.ActivityDate != e.local || !sfTime(got.StartDateTime).Equal(sfTime(e.local+"T00:00:00.000+0000")) ||
			sfTime(got.EndDateTime).Format(time.DateOnly) != last.Format(time.DateOnly) || int(got.Duration) != 1440*e.days {
			t.Errorf("%s in %s (%s, %d days) reached Salesforce as %+v", e.subject, e.zone.name, e.local, e.days, got)
		}
		return
	}
	loc, err := time.LoadLocation(e.zone.iana)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := time.ParseInLocation("2006-01-02T15:04:05", e.local, loc)
	if !sfTime(got.StartDateTime).Equal(st) || !sfTime(got.EndDateTime).Equal(st.Add(time.Duration(e.minutes)*time.Minute)) || got.IsAllDayEvent {
		t.Errorf("%s at %s %s reached Salesforce as %s–%s, want %s", e.subject, e.local, e.zone.name, got.StartDateTime, got.EndDateTime, st.UTC())
	}
}

// checkMailbox reads the event in the zone it was made in, as its owner's
// Outlook shows it.
func checkMailbox(t *testing.T, w *world, tok string, e *madeEvent) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.gURL+"/v1.0/users/"+upn+"/events/"+e.mailboxID, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Prefer", `IdType="ImmutableId", outlook.timezone="`+e.zone.name+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ev struct {
		Subject  string
		IsAllDay bool
		Start    struct{ DateTime string }
		End      struct{ DateTime string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", e.subject, resp.StatusCode, err)
	}
	if ev.Subject != e.subject+" (edited)" {
		t.Errorf("%s: the Salesforce edit did not come back (%q)", e.subject, ev.Subject)
	}
	if e.allDay {
		first, _ := time.Parse(time.DateOnly, e.local)
		wantEnd := first.AddDate(0, 0, e.days).Format(time.DateOnly)
		if !ev.IsAllDay || !strings.HasPrefix(ev.Start.DateTime, e.local) || !strings.HasPrefix(ev.End.DateTime, wantEnd) {
			t.Errorf("%s in %s: mailbox now %v %s–%s, want all day %s–%s", e.subject, e.zone.name, ev.IsAllDay, ev.Start.DateTime, ev.End.DateTime, e.local, wantEnd)
		}
		return
	}
	if !strings.HasPrefix(ev.Start.DateTime, e.local) {
		t.Errorf("%s in %s: mailbox now starts %s, want %s", e.subject, e.zone.name, ev.Start.DateTime, e.local)
	}
}
