package sides_test

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/salesforce"
)

// Cancelled meetings in the property scenarios: a meeting of a linked series
// deleted in the CRM or cancelled in the mailbox, where both sides keep
// cancellations (Salesforce and Microsoft 365; C4C syncs no series, Google's
// connector keeps no cancelled dates, so their worlds never cancel).

// crmCanceller is a crmAdmin that can delete one meeting of a series.
type crmCanceller interface {
	// cancelOccurrence deletes the meeting of series id at orig.
	cancelOccurrence(id string, orig time.Time) (bool, error)
	// meetings counts the meetings of series id.
	meetings(id string) (int, error)
}

// mailboxCanceller is a mailboxAdmin that can cancel one meeting of a series.
type mailboxCanceller interface {
	// cancelOccurrence cancels the meeting of series master at orig.
	cancelOccurrence(s *scenario, master string, orig time.Time) bool
	// meetings counts the meetings of series master.
	meetings(s *scenario, master string) int
}

// occurrencesOf lists the occurrence Events of a Lightning series record.
func (a sfAdmin) occurrencesOf(id string) ([]salesforce.Record, error) {
	ctx := context.Background()
	recs, err := a.w.admin.Collect(ctx, "SELECT Id, ActivityRecurrence2Id FROM Event WHERE Id = '"+id+"'")
	if err != nil || len(recs) != 1 {
		return nil, err
	}
	return a.w.admin.Collect(ctx, "SELECT Id, StartDateTime FROM Event WHERE ActivityRecurrence2Id = '"+recs[0].String("ActivityRecurrence2Id")+
		"' AND IsChild = false AND Id != '"+id+"'")
}

func (a sfAdmin) cancelOccurrence(id string, orig time.Time) (bool, error) {
	occ, err := a.occurrencesOf(id)
	if err != nil {
		return false, err
	}
	for _, o := range occ {
		if t, err := salesforce.ParseTime(o.String("StartDateTime")); err == nil && t.Equal(orig) {
			return true, a.w.sf.Delete(a.w.sfID, o.ID())
		}
	}
	return false, nil
}

func (a sfAdmin) meetings(id string) (int, error) {
	occ, err := a.occurrencesOf(id)
	return len(occ), err
}

// instancesOf lists a master's instances over a wide window.
func (g graphAdmin) instancesOf(s *scenario, master string) []struct {
	ID            string `json:"id"`
	OriginalStart string `json:"originalStart"`
} {
	var page struct {
		Value []struct {
			ID            string `json:"id"`
			OriginalStart string `json:"originalStart"`
		} `json:"value"`
	}
	day := s.day()
	q := url.Values{"startDateTime": {day.AddDate(0, 0, -60).Format(time.RFC3339)}, "endDateTime": {day.AddDate(0, 0, 90).Format(time.RFC3339)}}
	s.must(g.w.graphDo("GET", "events/"+master+"/instances?"+q.Encode(), nil, &page), "list a series' instances")
	return page.Value
}

func (g graphAdmin) cancelOccurrence(s *scenario, master string, orig time.Time) bool {
	for _, in := range g.instancesOf(s, master) {
		if t, err := time.Parse(time.RFC3339, in.OriginalStart); err == nil && t.Equal(orig) {
			s.must(g.w.graphDo("DELETE", "events/"+in.ID, nil, nil), "cancel a meeting")
			return true
		}
	}
	return false
}

func (g graphAdmin) meetings(s *scenario, master string) int { return len(g.instancesOf(s, master)) }

// cancellable reports whether the scenario's sides both keep cancellations.
func (s *scenario) cancellable() bool {
	_, crm := s.w.crm.(crmCanceller)
	_, mbx := s.mbx.(mailboxCanceller)
	return crm && mbx
}

// cancelMeeting cancels the last meeting of a linked series (of three) on
// one side: the other side must lose it too. Only a meeting inside the
// window, which both sides read cancellations in.
func (s *scenario) cancelMeeting(e *entity, side where) {
	start, err := time.Parse(time.RFC3339, e.want[item.Start])
	s.must(err, "series start")
	orig := start.AddDate(0, 0, 14)
	ok := false
	if side == inCRM {
		ok, err = s.w.crm.(crmCanceller).cancelOccurrence(e.crmID, orig)
		s.must(err, "delete a meeting in the CRM")
	} else {
		ok = s.mbx.(mailboxCanceller).cancelOccurrence(s, e.mbxID, orig)
	}
	if !ok {
		s.fatalf("series %s has no meeting at %v in the %s", e.tok, orig, side)
	}
	e.cancelled = orig.UTC().Format(time.DateOnly)
	s.logf("%s cancel meeting %s of %s", side, e.cancelled, e.tok)
}

// lastMeetingInWindow reports whether a series' last meeting (the one
// cancelMeeting cancels) is inside the events window by a day's margin.
func (s *scenario) lastMeetingInWindow(e *entity) bool {
	start, err := time.Parse(time.RFC3339, e.want[item.Start])
	if err != nil {
		return false
	}
	sc := scopeAt(item.Event, time.Now())
	last := start.AddDate(0, 0, 14)
	return last.After(sc.From.AddDate(0, 0, 1)) && last.Before(sc.To.AddDate(0, 0, -1))
}

// checkCancelled: a linked series reads the same cancelled dates on both
// sides, the cancelled meeting among them, and each side holds its
// meetings once: three, less the cancelled one (0 duplicated, 0 lost).
func (s *scenario) checkCancelled(e *entity, c, m item.Record) {
	if !s.cancellable() || !e.series {
		return
	}
	if c.Fields[item.Cancelled] != m.Fields[item.Cancelled] {
		s.fatalf("event %s: cancelled %q in the CRM and %q in the mailbox (not converged)", e.tok, c.Fields[item.Cancelled], m.Fields[item.Cancelled])
	}
	want := 3
	if e.cancelled != "" {
		want = 2
		if !strings.Contains(c.Fields[item.Cancelled], e.cancelled) {
			s.fatalf("event %s: cancelled %q, want %s among them (cancellation lost)", e.tok, c.Fields[item.Cancelled], e.cancelled)
		}
	}
	n, err := s.w.crm.(crmCanceller).meetings(c.ID)
	s.must(err, "count a series' meetings")
	if n != want {
		s.fatalf("event %s: the CRM series has %d meetings, want %d", e.tok, n, want)
	}
	if n := s.mbx.(mailboxCanceller).meetings(s, m.ID); n != want {
		s.fatalf("event %s: the mailbox series has %d meetings, want %d", e.tok, n, want)
	}
}
