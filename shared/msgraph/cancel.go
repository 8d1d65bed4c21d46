package msgraph

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	rrulego "github.com/teambition/rrule-go"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Cancelled occurrences (item.Cancelled). Graph v1.0 does not list a series'
// cancelled occurrences (cancelledOccurrences is beta only): what the
// pattern expects and GET /events/{master}/instances does not return was
// cancelled (api/event-list-instances: the occurrences and exceptions of a
// series master in a time range). Deleting an occurrence by its instance id
// cancels it and leaves the series (api/event-delete).

// seriesOf is a series master's pattern as cancellations need it.
type seriesOf struct {
	rule  string
	start time.Time
	loc   *time.Location
}

// instants expands the pattern up to before (and at most maxInstants).
func (p seriesOf) instants(before time.Time) ([]time.Time, error) {
	opt, err := rrulego.StrToROption(p.rule)
	if err != nil {
		return nil, err
	}
	opt.Dtstart = p.start.In(p.loc)
	r, err := rrulego.NewRRule(*opt)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	it := r.Iterator()
	for t, ok := it(); ok && t.Before(before) && len(out) < maxInstants; t, ok = it() {
		out = append(out, t.UTC())
	}
	return out, nil
}

// maxInstants bounds an expansion (a daily series over years).
const maxInstants = 5000

// margin is how far an exception may have moved from its original start:
// Outlook does not move an occurrence past its neighbours, so one period of
// the pattern. The instances read reaches this far past the window, so an
// exception moved out of the window still tells its original date.
func (p seriesOf) margin() time.Duration {
	kv := map[string]string{}
	for _, part := range strings.Split(p.rule, ";") {
		k, v, _ := strings.Cut(part, "=")
		kv[strings.ToUpper(k)] = v
	}
	n, err := strconv.Atoi(kv["INTERVAL"])
	if err != nil || n < 1 {
		n = 1
	}
	day := 24 * time.Hour
	switch kv["FREQ"] {
	case "DAILY":
		return time.Duration(n) * day
	case "WEEKLY":
		return time.Duration(n) * 7 * day
	case "MONTHLY":
		return time.Duration(n) * 31 * day
	default:
		return time.Duration(n) * 366 * day
	}
}

// dateOf is an instant's date in the series' zone.
func (p seriesOf) dateOf(t time.Time) string { return t.In(p.loc).Format(time.DateOnly) }

// instanceDate is the original date of an instance: its originalStart,
// else the date its occurrenceId names, else (an occurrence) its start.
func (p seriesOf) instanceDate(w wireEvent) string {
	if t := parseInstant(w.OriginalStart); !t.IsZero() {
		return p.dateOf(t)
	}
	if i := strings.LastIndexByte(w.OccurrenceID, '.'); strings.HasPrefix(w.OccurrenceID, "OID.") && i > 0 {
		if _, err := time.Parse(time.DateOnly, w.OccurrenceID[i+1:]); err == nil {
			return w.OccurrenceID[i+1:]
		}
	}
	if t, err := parseDateTimeTZ(w.Start); err == nil && !t.IsZero() && w.Type == "occurrence" {
		return p.dateOf(t)
	}
	return ""
}

// instancesPath asks for a master's instances in [from, to), only the
// fields that place them, in pages of instancesPage (Graph's default is 10
// events a page; $top sizes the page, @odata.nextLink leads on).
func (s *Side) instancesPath(master string, from, to time.Time) string {
	return withQuery(s.c.mailbox()+"/events/"+master+"/instances",
		"startDateTime", from.UTC().Format(time.RFC3339), "endDateTime", to.UTC().Format(time.RFC3339),
		"$select", "id,type,originalStart,occurrenceId,start", "$top", strconv.Itoa(instancesPage))
}

// instancesPage is the page size asked of an instances read: a daily
// series over the default 6-week window fits one page.
const instancesPage = 200

// instances reads the instances of masters, each over its own range: the
// first pages in $batch requests (20 masters a request), further pages by
// their @odata.nextLink. A master gone meanwhile is absent from the result.
func (s *Side) instances(ctx context.Context, masters []string, ranges [][2]time.Time) (map[string][]wireEvent, error) {
	parts := make([]part, len(masters))
	for i, id := range masters {
		parts[i] = part{method: http.MethodGet, path: s.instancesPath(id, ranges[i][0], ranges[i][1])}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return nil, err
	}
	out := map[string][]wireEvent{}
	for i, p := range res {
		if fault.Is(p.err, fault.Gone) {
			continue
		}
		if p.err != nil {
			return nil, p.err
		}
		var page wirePage
		if err := json.Unmarshal(p.body, &page); err != nil {
			return nil, malformed("instances", err)
		}
		raw := page.Value
		if page.NextLink != "" {
			more, err := s.c.list(ctx, page.NextLink)
			if err != nil {
				return nil, err
			}
			raw = append(raw, more...)
		}
		list := make([]wireEvent, 0, len(raw))
		for _, x := range raw {
			var w wireEvent
			if err := json.Unmarshal(x, &w); err != nil {
				return nil, malformed("instance", err)
			}
			list = append(list, w)
		}
		out[masters[i]] = list
	}
	return out, nil
}

// readCancellations sets item.Cancelled on the series masters among recs
// (those this round read: changed ones, or all on a full round): the dates
// in [from, to) the pattern expects that no instance holds. One instances
// read per master, 20 to a $batch request. zones holds each master's zone.
func (s *Side) readCancellations(ctx context.Context, recs map[string]item.Record, zones map[string]string, from, to time.Time) error {
	var masters []string
	plans := map[string]seriesOf{}
	for id, r := range recs {
		if r.Fields[item.Recurrence] == "" || r.Fields[item.SeriesID] != "" {
			continue
		}
		start, err := time.Parse(time.RFC3339, r.Fields[item.Start])
		if err != nil {
			continue
		}
		loc, err := location(or(zones[id], "UTC"))
		if err != nil {
			continue // the master itself was read; its zone problem is its own
		}
		plans[id] = seriesOf{rule: r.Fields[item.Recurrence], start: start, loc: loc}
		masters = append(masters, id)
	}
	if len(masters) == 0 {
		return nil
	}
	slices.Sort(masters)
	ranges := make([][2]time.Time, len(masters))
	for i, id := range masters {
		m := plans[id].margin()
		ranges[i] = [2]time.Time{from.Add(-m), to.Add(m)}
	}
	got, err := s.instances(ctx, masters, ranges)
	if err != nil {
		return err
	}
	for _, id := range masters {
		list, ok := got[id]
		if !ok {
			continue
		}
		p := plans[id]
		expected, err := p.instants(to)
		if err != nil {
			continue
		}
		held := map[string]bool{}
		for _, w := range list {
			held[p.instanceDate(w)] = true
		}
		var cancelled []string
		for _, t := range expected {
			if t.Before(from) {
				continue
			}
			if d := p.dateOf(t); !held[d] && !slices.Contains(cancelled, d) {
				cancelled = append(cancelled, d)
			}
		}
		slices.Sort(cancelled)
		r := recs[id]
		r.Fields[item.Cancelled] = strings.Join(cancelled, ",")
		// The dates are those in the window, so the version moves as the
		// window slides past one, changeKey or not.
		r.Version = item.CancelledVersion(r.Version, r.Fields[item.Cancelled])
		recs[id] = r
	}
	return nil
}

// writeCancellations cancels, for each written series master that carries
// item.Cancelled (and is the user's own, not an invitation), the
// occurrences on those dates: one read of the masters' patterns ($batch),
// one instances read per master, one $batch of DELETEs. A date already
// cancelled is done; a date the pattern does not produce fails that meeting
// alone, before any of its occurrences is cancelled, naming the date.
func (s *Side) writeCancellations(ctx context.Context, recs []item.Record, out []side.Result, invites map[string]bool) error {
	var at []int
	var ids []string
	for i, r := range recs {
		id := out[i].ID
		if id == "" {
			id = r.ID
		}
		if r.Fields[item.Cancelled] == "" || r.Fields[item.SeriesID] != "" || out[i].Err != nil || id == "" || invites[id] {
			continue
		}
		at = append(at, i)
		ids = append(ids, id)
	}
	if len(at) == 0 {
		return nil
	}
	zones := map[string]string{}
	masters, gone, problems, err := s.getEvents(ctx, ids, zones)
	if err != nil {
		return err
	}
	var want []string
	var ranges [][2]time.Time
	wanted := map[int][]time.Time{}
	plans := map[string]seriesOf{}
	for j, i := range at {
		id := ids[j]
		m, ok := masters[id]
		if gone[id] || !ok || m.Fields[item.Recurrence] == "" {
			why := "the meeting has cancelled dates but the mailbox holds no series for it"
			if len(problems) > 0 && !ok && !gone[id] {
				why = "the series cannot be read"
			}
			out[i] = side.Result{Err: &fault.Error{Class: fault.Permanent, Code: "NotASeries", Message: why, Fields: []string{item.Cancelled}}}
			continue
		}
		start, err1 := time.Parse(time.RFC3339, m.Fields[item.Start])
		loc, err2 := location(or(zones[id], "UTC"))
		if err1 != nil || err2 != nil {
			out[i] = side.Result{Err: badField(item.Cancelled, "the series' start or zone cannot be read")}
			continue
		}
		p := seriesOf{rule: m.Fields[item.Recurrence], start: start, loc: loc}
		dates := strings.Split(recs[i].Fields[item.Cancelled], ",")
		slices.Sort(dates)
		last, err := time.ParseInLocation(time.DateOnly, dates[len(dates)-1], loc)
		if err != nil {
			out[i] = side.Result{Err: badField(item.Cancelled, "want dates (2006-01-02), comma-separated")}
			continue
		}
		expected, err := p.instants(last.AddDate(0, 0, 2))
		if err != nil {
			out[i] = side.Result{Err: badField(item.Cancelled, "the series' pattern cannot be read")}
			continue
		}
		byDate := map[string]time.Time{}
		for _, t := range expected {
			byDate[p.dateOf(t)] = t
		}
		var ts []time.Time
		var bad string
		for _, d := range dates {
			t, ok := byDate[strings.TrimSpace(d)]
			if !ok {
				bad = d
				break
			}
			ts = append(ts, t)
		}
		if bad != "" {
			out[i] = side.Result{Err: &fault.Error{Class: fault.Permanent, Code: "OccurrenceNotFound", Fields: []string{item.Cancelled},
				Message: "the series has no meeting on " + bad + " to cancel"}}
			continue
		}
		wanted[i], plans[id] = ts, p
		want = append(want, id)
		mg := p.margin()
		ranges = append(ranges, [2]time.Time{ts[0].Add(-mg), ts[len(ts)-1].Add(mg)})
	}
	if len(want) == 0 {
		return nil
	}
	got, err := s.instances(ctx, want, ranges)
	if err != nil {
		return err
	}
	var parts []part
	for j, i := range at {
		ts, ok := wanted[i]
		if !ok {
			continue
		}
		p := plans[ids[j]]
		dates := map[string]bool{}
		for _, t := range ts {
			dates[p.dateOf(t)] = true
		}
		for _, w := range got[ids[j]] {
			if dates[p.instanceDate(w)] {
				parts = append(parts, part{method: http.MethodDelete, path: s.c.mailbox() + "/events/" + w.ID})
			}
		}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.err != nil && !fault.Is(r.err, fault.Gone) {
			return r.err
		}
	}
	return nil
}
