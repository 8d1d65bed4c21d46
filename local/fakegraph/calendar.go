package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// recurrence is a parsed patternedRecurrence (daily, weekly, absoluteMonthly).
type recurrence struct {
	typ      string
	interval int
	days     []time.Weekday
	dayOfMon int
	first    time.Weekday
	rangeTyp string
	start    time.Time // date
	end      time.Time // date, inclusive
	count    int
}

var dayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func num(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case json.Number:
		i, _ := strconv.Atoi(string(n))
		return i
	}
	return 0
}

func parseRecurrence(v any) (recurrence, error) {
	m, _ := v.(map[string]any)
	p, _ := m["pattern"].(map[string]any)
	rg, _ := m["range"].(map[string]any)
	if p == nil || rg == nil {
		return recurrence{}, fmt.Errorf("pattern and range are required")
	}
	r := recurrence{typ: str(p["type"]), interval: max(num(p["interval"]), 1), dayOfMon: num(p["dayOfMonth"]), rangeTyp: str(rg["type"])}
	for _, d := range asSlice(p["daysOfWeek"]) {
		wd, ok := dayNames[strings.ToLower(str(d))]
		if !ok {
			return r, fmt.Errorf("bad day %v", d)
		}
		r.days = append(r.days, wd)
	}
	r.first = dayNames[strings.ToLower(str(p["firstDayOfWeek"]))]
	switch r.typ {
	case "daily", "absoluteMonthly":
	case "weekly":
		if len(r.days) == 0 {
			return r, fmt.Errorf("weekly pattern needs daysOfWeek")
		}
	default:
		return r, fmt.Errorf("pattern %q is not supported by the local Graph", r.typ)
	}
	var err error
	if r.start, err = time.Parse(time.DateOnly, str(rg["startDate"])); err != nil {
		return r, fmt.Errorf("bad startDate")
	}
	switch r.rangeTyp {
	case "endDate":
		if r.end, err = time.Parse(time.DateOnly, str(rg["endDate"])); err != nil {
			return r, fmt.Errorf("bad endDate")
		}
	case "numbered":
		if r.count = num(rg["numberOfOccurrences"]); r.count < 1 {
			return r, fmt.Errorf("bad numberOfOccurrences")
		}
	case "noEnd":
	default:
		return r, fmt.Errorf("bad range type %q", r.rangeTyp)
	}
	return r, nil
}

// starts lists the series' occurrence starts before until. Days are counted
// in the series' zone (loc): an occurrence keeps its local time of day
// across a daylight-saving change, as Outlook's do.
func (r recurrence) starts(first time.Time, until time.Time, loc *time.Location) []time.Time {
	fl := first.In(loc)
	firstDay := time.Date(fl.Year(), fl.Month(), fl.Day(), 0, 0, 0, 0, time.UTC)
	var out []time.Time
	emit := func(day time.Time) bool {
		t := time.Date(day.Year(), day.Month(), day.Day(), fl.Hour(), fl.Minute(), fl.Second(), fl.Nanosecond(), loc).UTC()
		if day.Before(firstDay) || day.Before(r.start) {
			return true
		}
		if r.rangeTyp == "endDate" && day.After(r.end) || !t.Before(until) {
			return false
		}
		if r.rangeTyp == "numbered" && len(out) >= r.count {
			return false
		}
		out = append(out, t)
		return true
	}
	day := r.start
	for i := 0; i < 5000; i++ {
		switch r.typ {
		case "daily":
			if !emit(day) {
				return out
			}
			day = day.AddDate(0, 0, r.interval)
		case "weekly":
			// The week containing startDate, beginning on firstDayOfWeek.
			week := day.AddDate(0, 0, -((int(day.Weekday()) - int(r.first) + 7) % 7))
			for d := 0; d < 7; d++ {
				x := week.AddDate(0, 0, d)
				if slices.Contains(r.days, x.Weekday()) && !x.Before(r.start) {
					if !emit(x) {
						return out
					}
				}
			}
			day = week.AddDate(0, 0, 7*r.interval)
		case "absoluteMonthly":
			x := time.Date(day.Year(), day.Month(), r.dayOfMon, 0, 0, 0, 0, time.UTC)
			if x.Month() == day.Month() && !emit(x) {
				return out
			}
			day = time.Date(day.Year(), day.Month()+time.Month(r.interval), 1, 0, 0, 0, 0, time.UTC)
		}
	}
	return out
}

// occurrenceIDOf is an occurrence's occurrenceId: "OID.", the master's id
// and the occurrence's original date in the series' zone.
func occurrenceIDOf(master string, start time.Time, loc *time.Location) string {
	return "OID." + master + "." + start.In(loc).Format(time.DateOnly)
}

// seriesZone is the zone a master's occurrences are counted in.
func seriesZone(master *entry) *time.Location {
	loc, err := zoneOf(or(str(asMap(asMap(master.obj["recurrence"])["range"])["recurrenceTimeZone"]), str(asMap(master.obj["start"])["timeZone"])))
	if err != nil {
		return time.UTC
	}
	return loc
}

func occurrenceID(master string, start time.Time) string {
	return master + "_" + start.UTC().Format("20060102T150405")
}

func splitOccurrenceID(id string) (master string, start time.Time, ok bool) {
	i := strings.LastIndex(id, "_")
	if i < 0 {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102T150405", id[i+1:])
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], t, true
}

func span(e *entry) (time.Time, time.Time) {
	st, _ := parseDTZ(asMap(e.obj["start"]))
	en, _ := parseDTZ(asMap(e.obj["end"]))
	return st, en
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// instance is one expanded calendar item: an entry (single, exception) or an
// occurrence of a master.
type instance struct {
	obj     map[string]any
	id      string
	removed bool
}

// expand returns a master's occurrences and exceptions overlapping
// [from, to); cancelled occurrences come back with removed set.
func (s *Server) expand(m *mailbox, master *entry, from, to time.Time, q query) []instance {
	r, err := parseRecurrence(master.obj["recurrence"])
	if err != nil {
		return nil
	}
	st, en := span(master)
	dur := en.Sub(st)
	exceptions := map[string]*entry{}
	for _, x := range m.entries {
		if x.kind == kEvent && str(x.obj["seriesMasterId"]) == master.id {
			exceptions[str(x.obj["originalStart"])] = x
		}
	}
	loc := seriesZone(master)
	var out []instance
	for _, t := range r.starts(st, to, loc) {
		key := t.Format(time.RFC3339)
		if x, ok := exceptions[key]; ok {
			xs, xe := span(x)
			if !x.deleted && xs.Before(to) && xe.After(from) {
				out = append(out, instance{obj: s.render(x, q), id: x.id})
			}
			continue
		}
		if !t.Add(dur).After(from) {
			continue
		}
		id := occurrenceID(master.id, t)
		if master.cancelled[key] {
			out = append(out, instance{id: id, removed: true})
			continue
		}
		o := s.render(master, q)
		delete(o, "recurrence")
		o["id"], o["type"], o["seriesMasterId"] = id, "occurrence", master.id
		zone := str(asMap(master.obj["start"])["timeZone"])
		o["start"], o["end"], o["originalStart"] = dtzIn(t, zone), dtzIn(t.Add(dur), zone), t.Format(time.RFC3339)
		o["occurrenceId"] = occurrenceIDOf(master.id, t, loc)
		eventTimes(o, q.tz)
		delete(o, "singleValueExtendedProperties")
		out = append(out, instance{obj: o, id: id})
	}
	return out
}

// view lists every instance overlapping [from, to): single events,
// occurrences and exceptions (never series masters).
func (s *Server) view(m *mailbox, container string, from, to time.Time, q query) []instance {
	var out []instance
	for _, e := range m.list(kEvent, container) {
		switch str(e.obj["type"]) {
		case "seriesMaster":
			for _, in := range s.expand(m, e, from, to, q) {
				if !in.removed {
					out = append(out, in)
				}
			}
		case "exception":
			// Reported through its master.
		default:
			st, en := span(e)
			if st.Before(to) && en.After(from) {
				out = append(out, instance{obj: s.render(e, q), id: e.id})
			}
		}
	}
	return out
}

func (c *call) window() (time.Time, time.Time, *apiError) {
	from, err1 := time.Parse(time.RFC3339, c.values.Get("startDateTime"))
	to, err2 := time.Parse(time.RFC3339, c.values.Get("endDateTime"))
	if err1 != nil || err2 != nil || !to.After(from) {
		return time.Time{}, time.Time{}, badRequest("ErrorInvalidParameter", "startDateTime and endDateTime are required ISO 8601 instants.")
	}
	return from.UTC(), to.UTC(), nil
}

func (c *call) calendarView(container string) response {
	if c.method != http.MethodGet {
		return c.notAllowed()
	}
	from, to, aerr := c.window()
	if aerr != nil {
		return fail(aerr)
	}
	var items []map[string]any
	for _, in := range c.s.view(c.m, container, from, to, c.q) {
		items = append(items, in.obj)
	}
	return c.page(items)
}

func (c *call) instances(id string) response {
	if c.method != http.MethodGet {
		return c.notAllowed()
	}
	e := c.m.get(id)
	if e == nil || e.deleted || e.kind != kEvent || str(e.obj["type"]) != "seriesMaster" {
		return fail(notFound())
	}
	from, to, aerr := c.window()
	if aerr != nil {
		return fail(aerr)
	}
	switch {
	case c.q.top > 0:
		// $top sizes the pages; @odata.nextLink still leads to the rest
		// (graph/paging: client-side paging; Microsoft Q&A 1488109:
		// "$top=200 … will return 200 items per page").
		c.q.pageSize, c.q.top = c.q.top, 0
	case c.q.pageSize == defaultPageSize:
		c.q.pageSize = eventsPageSize
	}
	var items []map[string]any
	for _, in := range c.s.expand(c.m, e, from, to, c.q) {
		if !in.removed {
			items = append(items, in.obj)
		}
	}
	return c.page(items)
}

// eventsPageSize is the page Exchange answers event lists in when the
// request names none (Microsoft Q&A 1488109: "by default event api return
// first 10 events", with @odata.nextLink to the rest).
const eventsPageSize = 10

// event serves /events/{id}, where id may name an occurrence: updating one
// makes it an exception; deleting one cancels it.
func (c *call) event(id string) response {
	if e := c.m.get(id); e != nil {
		return c.item(kEvent, id, "")
	}
	masterID, start, isOcc := splitOccurrenceID(id)
	master := c.m.get(masterID)
	if !isOcc || master == nil || master.deleted || str(master.obj["type"]) != "seriesMaster" {
		return fail(notFound())
	}
	key := start.Format(time.RFC3339)
	found := false
	for _, in := range c.s.expand(c.m, master, start, start.Add(time.Second), c.q) {
		if in.id == id && !in.removed {
			found = true
			if c.method == http.MethodGet {
				return ok(in.obj)
			}
		}
	}
	if !found {
		return fail(notFound())
	}
	switch c.method {
	case http.MethodPatch:
		body, aerr := readBody(c.body)
		if aerr != nil {
			return fail(aerr)
		}
		if aerr := validate(kEvent, body); aerr != nil {
			return fail(aerr)
		}
		if body["recurrence"] != nil {
			return fail(badRequest("ErrorInvalidRequest", "An occurrence cannot have a recurrence."))
		}
		st, en := span(master)
		obj := clone(master.obj)
		delete(obj, "recurrence")
		delete(obj, "singleValueExtendedProperties")
		obj["type"], obj["seriesMasterId"], obj["originalStart"] = "exception", master.id, key
		obj["occurrenceId"] = occurrenceIDOf(master.id, start, seriesZone(master))
		zone := str(asMap(master.obj["start"])["timeZone"])
		obj["start"], obj["end"] = dtzIn(start, zone), dtzIn(start.Add(en.Sub(st)), zone)
		merge(obj, body)
		now := c.s.now()
		x := &entry{kind: kEvent, id: id, restID: id, container: master.container, obj: obj, created: now, modified: now}
		c.m.entries[id] = x
		c.m.rest[id] = id
		c.m.logChange(x)
		x.seq = c.m.seq
		c.s.notify(c.m, x, "updated")
		return ok(c.s.render(x, c.q))
	case http.MethodDelete:
		if master.cancelled == nil {
			master.cancelled = map[string]bool{}
		}
		master.cancelled[key] = true
		c.s.touch(c.m, master)
		c.s.notify(c.m, master, "updated")
		return response{status: http.StatusNoContent}
	}
	return c.notAllowed()
}
