package sides_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/reconcile"
)

// Cancelled occurrences both ways, between the local Salesforce (classic and
// Lightning series) and the local Graph, in Berlin across the change to
// summer time on 29 March 2026.

// cancelWorld is a world on 20 March 2026, its Salesforce user in Berlin,
// every new mailbox meeting shared with Salesforce.
func cancelWorld(t *testing.T, classic bool) *world {
	t.Helper()
	return berlinWorld(t, classic, time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
}

// berlinWorld is a world whose Salesforce user is in Berlin and whose every
// new mailbox meeting goes to Salesforce, not only those with the share
// category (which the mailbox adapter's Create cannot set); classic: the
// local Salesforce makes classic series only; at, when not zero, is the
// world's clock.
func berlinWorld(t *testing.T, classic bool, at time.Time) *world {
	t.Helper()
	w := newWorldOptions(t, fakesalesforce.Options{ClassicSeriesOnly: classic})
	if !at.IsZero() {
		w.now = at
	}
	src := w.runner.Settings.(settingsFor)
	us := src[w.user]
	us.Policies = map[item.Kind]reconcile.Policy{item.Event: {NewItems: reconcile.NewAll}}
	src[w.user] = us
	if err := w.sf.Update(w.sfID, w.sfID, map[string]any{"TimeZoneSidKey": "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// oneDesignSync checks that "Design sync" is one series on each side,
// the mailbox's master, meeting on the dates want (why says what left the
// others out) in Salesforce and in the mailbox.
func oneDesignSync(t *testing.T, w *world, master string, want []string, why string) {
	t.Helper()
	if n, got := w.sfMeetings(t, "Design sync"); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Salesforce: %d series records, meetings %v; want 1 and %v (%s)\nlogs:\n%s", n, got, want, why, w.logs.String())
	}
	if got := dates(mailboxInstances(t, w, master)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mailbox meetings %v, want %v", got, want)
	}
	if mb := w.mailboxEvents(t); len(mb) != 1 || mb[0].ID != master {
		t.Errorf("mailbox events:\n%s\nwant the one series", describe(mb))
	}
}

// graphDo sends one request to the local Graph as the mailbox's user.
func graphDo(t *testing.T, w *world, method, path string, out any) {
	t.Helper()
	graphCall(t, method, w.gURL+"/v1.0/users/"+upn+"/"+path, w.graph.Token(upn), nil, out)
}

// graphCall sends one request to the local Graph with token, asking for
// immutable ids; body, when not nil, goes as JSON. A 2xx answer is decoded
// into out (when not nil); any other fails the test with the answer.
func graphCall(t testing.TB, method, url, token string, body []byte, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Prefer", `IdType="ImmutableId"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatal(err)
		}
	}
}

// mailboxInstances lists a mailbox series' meetings by their original date
// in Berlin: instance id by date.
func mailboxInstances(t *testing.T, w *world, master string) map[string]string {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var page struct {
		Value []struct {
			ID            string `json:"id"`
			OriginalStart string `json:"originalStart"`
		} `json:"value"`
	}
	q := url.Values{"startDateTime": {"2026-03-01T00:00:00Z"}, "endDateTime": {"2026-06-01T00:00:00Z"}}
	graphDo(t, w, http.MethodGet, "events/"+master+"/instances?"+q.Encode(), &page)
	out := map[string]string{}
	for _, v := range page.Value {
		at, err := time.Parse(time.RFC3339, v.OriginalStart)
		if err != nil {
			t.Fatalf("instance %s without originalStart", v.ID)
		}
		out[at.In(berlin).Format(time.DateOnly)] = v.ID
	}
	return out
}

func dates(m map[string]string) []string {
	var out []string
	for d := range m {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// sfMeetings lists the local Salesforce's Events of a subject by kind:
// "series" records and "meeting" records (occurrences and single events),
// the latter by their date in Berlin.
func (w *world) sfMeetings(t *testing.T, subject string) (series int, meetings []string) {
	t.Helper()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, line := range w.sfEvents(t) {
		at, kind, subj := line[:16], strings.Fields(line)[1], strings.SplitN(line, " ", 3)[2]
		if subj != subject {
			continue
		}
		if kind == "series" {
			series++
			continue
		}
		tm, err := time.Parse("2006-01-02T15:04", at)
		if err != nil {
			t.Fatal(err)
		}
		meetings = append(meetings, tm.In(berlin).Format(time.DateOnly))
	}
	sort.Strings(meetings)
	return series, meetings
}

// settled runs two more sessions and fails if the second moves anything.
func settled(t *testing.T, w *world) {
	t.Helper()
	w.session()
	if rep := w.session(); len(rep.Counts) != 0 {
		t.Errorf("sessions after the cancellation still move %v\nlogs:\n%s", rep.Counts, w.logs.String())
	}
}

// TestDeletedOccurrenceReachesMailbox: in both Salesforce models, a weekly
// Salesforce series reaches the mailbox as one series; deleting its
// occurrence on 31 March (after the change to summer time) in Salesforce
// cancels exactly that meeting in the mailbox: the series stays one item
// with the five other meetings, no meeting beside it (0 stray), none twice
// (0 duplicated), Salesforce keeps its series record and five occurrences,
// and the sessions after move nothing.
func TestDeletedOccurrenceReachesMailbox(t *testing.T) {
	for _, model := range []string{"lightning", "classic"} {
		t.Run(model, func(t *testing.T) {
			w := cancelWorld(t, model == "classic")
			berlin, _ := time.LoadLocation("Europe/Berlin")
			first := time.Date(2026, 3, 24, 10, 0, 0, 0, berlin)
			fields := map[string]any{"Subject": "Pipeline review", "StartDateTime": first.UTC().Format(time.RFC3339),
				"EndDateTime": first.Add(time.Hour).UTC().Format(time.RFC3339), "IsRecurrence2": true, "Recurrence2PatternText": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=6"}
			link := "ActivityRecurrence2Id"
			if model == "classic" {
				fields = map[string]any{"Subject": "Pipeline review", "StartDateTime": first.UTC().Format(time.RFC3339), "EndDateTime": first.Add(time.Hour).UTC().Format(time.RFC3339),
					"IsRecurrence": true, "RecurrenceType": "RecursWeekly", "RecurrenceInterval": 1, "RecurrenceDayOfWeekMask": 4,
					"RecurrenceStartDateTime": first.UTC().Format(time.RFC3339), "RecurrenceEndDateOnly": "2026-04-28", "RecurrenceTimeZoneSidKey": "Europe/Berlin"}
				link = "RecurrenceActivityId"
			}
			series, err := w.sf.Insert(w.sfID, "Event", fields)
			if err != nil {
				t.Fatal(err)
			}
			w.session()
			mb := w.mailboxEvents(t)
			if len(mb) != 1 || mb[0].Fields[item.Recurrence] == "" {
				t.Fatalf("mailbox after the Salesforce series:\n%s\nwant one series", describe(mb))
			}
			master := mb[0].ID
			if got := dates(mailboxInstances(t, w, master)); len(got) != 6 {
				t.Fatalf("mailbox meetings %v, want 6", got)
			}
			occ, err := w.sfClient(t).Collect(context.Background(), fmt.Sprintf("SELECT Id, StartDateTime FROM Event WHERE %s = '%s' AND Id != '%s' ORDER BY StartDateTime",
				link, fmt.Sprint(w.sf.Record(series)[link]), series))
			if err != nil || len(occ) != 6 {
				t.Fatalf("occurrences: %v %d", err, len(occ))
			}
			if err := w.sf.Delete(w.sfID, occ[1].ID()); err != nil { // 31 March
				t.Fatal(err)
			}
			w.session()
			want := []string{"2026-03-24", "2026-04-07", "2026-04-14", "2026-04-21", "2026-04-28"}
			if got := dates(mailboxInstances(t, w, master)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("mailbox meetings %v, want %v (31 March cancelled)", got, want)
			}
			if mb := w.mailboxEvents(t); len(mb) != 1 || mb[0].ID != master {
				t.Errorf("mailbox events:\n%s\nwant the one series (no stray meeting)", describe(mb))
			}
			if n, got := w.sfMeetings(t, "Pipeline review"); n != 1 || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Salesforce: %d series records, meetings %v; want 1 and %v", n, got, want)
			}
			settled(t, w)
		})
	}
}

// TestMailboxCancellationDeletesOccurrence: in both Salesforce models, a
// weekly mailbox series reaches Salesforce as a series (its record and six
// occurrence Events); cancelling the mailbox meeting on 1 April (after the
// change to summer time) deletes exactly that occurrence Event in
// Salesforce: the series record and five meetings stay, none twice, none
// beside the series, the mailbox keeps its series, and the sessions after
// move nothing.
func TestMailboxCancellationDeletesOccurrence(t *testing.T) {
	for _, model := range []string{"lightning", "classic"} {
		t.Run(model, func(t *testing.T) {
			w := cancelWorld(t, model == "classic")
			first := time.Date(2026, 3, 25, 9, 0, 0, 0, time.UTC)
			res, err := w.mailbox.Create(context.Background(), item.Event, []item.Record{{Kind: item.Event, Fields: map[string]string{
				item.Subject: "Design sync", item.Start: first.Format(time.RFC3339), item.End: first.Add(time.Hour).Format(time.RFC3339),
				item.AllDay: "false", item.Recurrence: "FREQ=WEEKLY;BYDAY=WE;COUNT=6"}}}, []string{""})
			if err != nil || res[0].Err != nil {
				t.Fatalf("mailbox series: %v %v", err, res)
			}
			master := res[0].ID
			w.session()
			if n, got := w.sfMeetings(t, "Design sync"); n != 1 || len(got) != 6 {
				t.Fatalf("Salesforce after the mailbox series: %d series records, meetings %v; want 1 and 6", n, got)
			}
			graphDo(t, w, http.MethodDelete, "events/"+mailboxInstances(t, w, master)["2026-04-01"], nil)
			w.session()
			want := []string{"2026-03-25", "2026-04-08", "2026-04-15", "2026-04-22", "2026-04-29"}
			oneDesignSync(t, w, master, want, "1 April deleted")
			settled(t, w)
		})
	}
}
