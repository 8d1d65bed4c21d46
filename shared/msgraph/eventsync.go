package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// eventChanges reads the calendar through calendarView/delta over the scope's
// window and folds instances into series: occurrences report their series
// master (read once per round), exceptions report themselves with SeriesID.
//
// calendarView delta reports @removed also for events outside the window
// that changed, so every removal is checked: an id that still exists outside
// the window left scope; one that no longer exists was deleted. A deleted
// series reports only its occurrences' ids, so known series masters are
// checked too whenever removals arrive.
func (s *Side) eventChanges(ctx context.Context, scope item.Scope, cur string) (item.Changes, error) {
	if scope.From.IsZero() || !scope.To.After(scope.From) {
		return item.Changes{}, fault.New(fault.Permanent, "BadScope", "msgraph: events need a window (From before To)")
	}
	from, to := scope.From.UTC().Truncate(time.Second), scope.To.UTC().Truncate(time.Second)
	cals := calendars(scope)
	c, err := parseCursor(cur)
	full := err != nil || !c.From.Equal(from) || !c.To.Equal(to) || !slices.Equal(c.calendarIDs(), cals)
	for _, cal := range cals {
		full = full || c.link(cal) == ""
	}
	if full {
		// A new window (or calendar set) is a new round: a token fixes the
		// window it was made for.
		c = cursor{From: from, To: to}
	}
	start := func(cal string) string {
		path := s.c.mailbox() + "/calendarView/delta"
		if cal != "" {
			path = s.c.mailbox() + "/calendars/" + cal + "/calendarView/delta"
		}
		return withQuery(path, "startDateTime", from.Format(time.RFC3339), "endDateTime", to.Format(time.RFC3339))
	}
	// Each chosen calendar is its own delta round; one that expired makes
	// them all start over, since a full read must cover every calendar.
	read := func() ([]json.RawMessage, map[string]string, error) {
		var all []json.RawMessage
		links := map[string]string{}
		for _, cal := range cals {
			next := c.link(cal)
			if full {
				next = start(cal)
			}
			entries, link, err := s.c.delta(ctx, next, s.opts.PageSize)
			if err != nil {
				return nil, nil, err
			}
			all = append(all, entries...)
			links[cal] = link
		}
		return all, links, nil
	}
	entries, links, err := read()
	if fault.Is(err, fault.Expired) && !full {
		full, c = true, cursor{From: from, To: to}
		entries, links, err = read()
	}
	if err != nil {
		return item.Changes{}, err
	}
	ch := item.Changes{Kind: item.Event, Full: full}
	recs := map[string]item.Record{}
	var order []string
	masters := map[string]bool{}
	zones := map[string]string{}         // series master → the zone its dates are in
	occurrences := map[string][]string{} // series master → its live occurrences this round
	wires := map[string]wireEvent{}      // exceptions, for their original date
	var removed []string
	for _, raw := range entries {
		var w wireEvent
		if err := json.Unmarshal(raw, &w); err != nil {
			return item.Changes{}, malformed("event", err)
		}
		if w.Removed != nil {
			removed = append(removed, w.ID)
			continue
		}
		switch w.Type {
		case "occurrence":
			// Sparse (id, type, start, end, seriesMasterId): the series
			// master carries the rest.
			if w.SeriesMasterID != "" {
				masters[w.SeriesMasterID] = true
				occurrences[w.SeriesMasterID] = append(occurrences[w.SeriesMasterID], w.ID)
			}
			continue
		case "exception":
			if w.SeriesMasterID != "" {
				masters[w.SeriesMasterID] = true
			}
			wires[w.ID] = w
		case "seriesMaster":
			zones[w.ID] = seriesZone(w)
		}
		rec, err := eventRecord(w)
		if err != nil {
			ch.Problems = append(ch.Problems, eventProblem(w, err))
			continue
		}
		if _, ok := recs[w.ID]; !ok {
			order = append(order, w.ID)
		}
		recs[w.ID] = rec
	}
	// Series masters: read each once for its recurrence and marker.
	var want []string
	for id := range masters {
		if _, ok := recs[id]; !ok {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	got, gone, problems, err := s.getEvents(ctx, want, zones)
	if err != nil {
		return item.Changes{}, err
	}
	ch.Problems = append(ch.Problems, problems...)
	for _, id := range want {
		if rec, ok := got[id]; ok {
			recs[id] = rec
			order = append(order, id)
		}
		if gone[id] {
			for _, occ := range occurrences[id] {
				ch.Problems = append(ch.Problems, item.Problem{ID: occ, Code: "series-missing",
					Reason: "the event is an occurrence of a series that cannot be found"})
			}
		}
	}
	// An exception may come without originalStart: its occurrenceId still
	// names the original date, and the master the time of day.
	for id, w := range wires {
		rec, ok := recs[id]
		if !ok || rec.Fields[item.OriginalStart] != "" {
			continue
		}
		orig, err := originalStart(w, recs[w.SeriesMasterID], zones[w.SeriesMasterID])
		if err != nil {
			ch.Problems = append(ch.Problems, eventProblem(w, err))
			delete(recs, id)
			order = slices.DeleteFunc(order, func(x string) bool { return x == id })
			continue
		}
		rec.Fields[item.OriginalStart] = orig.Format(time.RFC3339)
	}
	// Series masters read this round (changed ones; all on a full
	// round): their cancelled dates in the window, one instances read each.
	if err := s.readCancellations(ctx, recs, zones, from, to); err != nil {
		return item.Changes{}, err
	}
	series := map[string]bool{}
	for _, id := range c.Series {
		series[id] = true
	}
	for id := range masters {
		series[id] = true
	}
	var removals []item.Removal
	if len(removed) > 0 && !full {
		check := slices.Clone(removed)
		for id := range series {
			if _, seen := recs[id]; !seen {
				check = append(check, id)
			}
		}
		slices.Sort(check)
		check = slices.Compact(check)
		still, deleted, _, err := s.getEvents(ctx, check, nil)
		if err != nil {
			return item.Changes{}, err
		}
		for _, id := range check {
			if deleted[id] {
				removals = append(removals, item.Removal{ID: id, Reason: item.Deleted})
				delete(series, id)
				continue
			}
			r, ok := still[id]
			if !ok || slices.Contains(order, id) {
				continue
			}
			if r.Fields[item.Recurrence] == "" && !overlaps(r, from, to) {
				removals = append(removals, item.Removal{ID: id, Reason: item.LeftScope})
			}
		}
	}
	for id := range gone {
		removals = append(removals, item.Removal{ID: id, Reason: item.Deleted})
		delete(series, id)
	}
	for _, id := range order {
		ch.Records = append(ch.Records, recs[id])
	}
	s.noteEvents(ch.Records...)
	if !full {
		ch.Removed = removals
	}
	c.setLinks(links)
	c.Series = c.Series[:0]
	for id := range series {
		c.Series = append(c.Series, id)
	}
	slices.Sort(c.Series)
	ch.Cursor = c.String()
	return ch, nil
}

// overlaps reports whether a record's [Start, End) meets [from, to).
func overlaps(r item.Record, from, to time.Time) bool {
	st, err1 := time.Parse(time.RFC3339, r.Fields[item.Start])
	en, err2 := time.Parse(time.RFC3339, r.Fields[item.End])
	if err1 != nil || err2 != nil {
		return true
	}
	return st.Before(to) && en.After(from)
}

// calendars are the calendars an events scope reads: the chosen ones
// (sorted, once each), or "" for the default calendar.
func calendars(scope item.Scope) []string {
	var out []string
	for _, c := range scope.Calendars {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return []string{""}
	}
	slices.Sort(out)
	return out
}

// seriesZone is the zone a series' dates are in: its recurrenceTimeZone,
// else the zone it was made in.
func seriesZone(w wireEvent) string {
	if w.Recurrence != nil && w.Recurrence.Range.RecurrenceTimeZone != "" {
		return w.Recurrence.Range.RecurrenceTimeZone
	}
	return or(w.OriginalStartTZ, "UTC")
}

// originalStart works out an exception's original start when Graph left
// originalStart out: the date from its occurrenceId ("OID.<master>.<date>",
// also the form of some exception ids), at the series' time of day in the
// series' zone.
func originalStart(w wireEvent, master item.Record, zone string) (time.Time, error) {
	oid := w.OccurrenceID
	if oid == "" && strings.HasPrefix(w.ID, "OID.") {
		oid = w.ID
	}
	i := strings.LastIndexByte(oid, '.')
	if !strings.HasPrefix(oid, "OID.") || i < 0 {
		return time.Time{}, fmt.Errorf("the exception names neither its original start nor its occurrence")
	}
	day, err := time.Parse(time.DateOnly, oid[i+1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("malformed occurrence id date %q", oid[i+1:])
	}
	first, err := time.Parse(time.RFC3339, master.Fields[item.Start])
	if err != nil {
		return time.Time{}, fmt.Errorf("the exception's series cannot be read")
	}
	loc, err := location(zone)
	if err != nil {
		return time.Time{}, err
	}
	l := first.In(loc)
	return time.Date(day.Year(), day.Month(), day.Day(), l.Hour(), l.Minute(), l.Second(), 0, loc).UTC(), nil
}

// eventProblem names an event crmsync could not read, for an issue.
func eventProblem(w wireEvent, err error) item.Problem {
	code := "unreadable-event"
	var ze *zoneError
	if errors.As(err, &ze) {
		code = "unknown-time-zone"
	}
	return item.Problem{ID: w.ID, Name: deref(w.Subject), Code: code, Reason: "the event cannot be read: " + err.Error()}
}

// getEvents reads events by id in batches: found ones as records, ids that
// no longer exist in gone, and those that cannot be read as problems.
func (s *Side) getEvents(ctx context.Context, ids []string, zones map[string]string) (map[string]item.Record, map[string]bool, []item.Problem, error) {
	got, gone := map[string]item.Record{}, map[string]bool{}
	var problems []item.Problem
	if len(ids) == 0 {
		return got, gone, nil, nil
	}
	parts := make([]part, len(ids))
	for i, id := range ids {
		parts[i] = part{method: http.MethodGet, path: withQuery(s.c.mailbox()+"/events/"+id, "$expand", expandProp(markerProp))}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return nil, nil, nil, err
	}
	for i, p := range res {
		switch {
		case fault.Is(p.err, fault.Gone):
			gone[ids[i]] = true
		case p.err != nil:
			return nil, nil, nil, p.err
		default:
			var w wireEvent
			if err := json.Unmarshal(p.body, &w); err != nil {
				return nil, nil, nil, malformed("event", err)
			}
			rec, err := eventRecord(w)
			if err != nil {
				w.ID = ids[i]
				problems = append(problems, eventProblem(w, err))
				continue
			}
			got[ids[i]] = rec
			if zones != nil && w.Type == "seriesMaster" {
				zones[ids[i]] = seriesZone(w)
			}
		}
	}
	return got, gone, problems, nil
}
