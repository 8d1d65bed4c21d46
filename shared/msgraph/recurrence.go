package msgraph

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	rrulego "github.com/teambition/rrule-go"

	"github.com/crmsync/crmsync/shared/fault"
)

// Graph's patternedRecurrence ↔ RFC 5545 RRULE. Supported: daily, weekly,
// absolute/relative monthly and yearly patterns; end by date (UNTIL, mapped to
// the end of that day in UTC), by count (COUNT) or never.

var weekdays = []struct{ graph, ical string }{
	{"sunday", "SU"}, {"monday", "MO"}, {"tuesday", "TU"}, {"wednesday", "WE"},
	{"thursday", "TH"}, {"friday", "FR"}, {"saturday", "SA"},
}

func dayToICal(d string) string {
	for _, w := range weekdays {
		if strings.EqualFold(w.graph, d) {
			return w.ical
		}
	}
	return ""
}

func dayToGraph(d string) string {
	for _, w := range weekdays {
		if w.ical == d {
			return w.graph
		}
	}
	return ""
}

var indexes = []struct {
	graph string
	n     int
}{{"first", 1}, {"second", 2}, {"third", 3}, {"fourth", 4}, {"last", -1}}

// rrule renders a Graph recurrence as an RRULE value ("" for nil).
func rrule(r *wireRecurrence) (string, error) {
	if r == nil {
		return "", nil
	}
	p := r.Pattern
	interval := max(p.Interval, 1)
	var parts []string
	byday := func(prefix string) error {
		var days []string
		for _, d := range p.DaysOfWeek {
			ic := dayToICal(d)
			if ic == "" {
				return fmt.Errorf("unknown day %q", d)
			}
			days = append(days, prefix+ic)
		}
		order := func(a string) int {
			for i, w := range weekdays {
				if strings.HasSuffix(a, w.ical) {
					return (i + 6) % 7 // Monday first
				}
			}
			return 7
		}
		slices.SortFunc(days, func(a, b string) int { return order(a) - order(b) })
		parts = append(parts, "BYDAY="+strings.Join(days, ","))
		return nil
	}
	index := func() string {
		for _, ix := range indexes {
			if ix.graph == p.Index {
				return strconv.Itoa(ix.n)
			}
		}
		return "1"
	}
	var err error
	switch p.Type {
	case "daily":
		parts = append(parts, "FREQ=DAILY")
	case "weekly":
		parts = append(parts, "FREQ=WEEKLY")
		err = byday("")
	case "absoluteMonthly":
		parts = append(parts, "FREQ=MONTHLY", "BYMONTHDAY="+strconv.Itoa(p.DayOfMonth))
	case "relativeMonthly":
		parts = append(parts, "FREQ=MONTHLY")
		err = byday(index())
	case "absoluteYearly":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+strconv.Itoa(p.Month), "BYMONTHDAY="+strconv.Itoa(p.DayOfMonth))
	case "relativeYearly":
		parts = append(parts, "FREQ=YEARLY", "BYMONTH="+strconv.Itoa(p.Month))
		err = byday(index())
	default:
		return "", fmt.Errorf("unknown recurrence pattern %q", p.Type)
	}
	if err != nil {
		return "", err
	}
	parts = slices.Insert(parts, 1, "INTERVAL="+strconv.Itoa(interval))
	switch r.Range.Type {
	case "endDate":
		d, err := time.Parse(time.DateOnly, r.Range.EndDate)
		if err != nil {
			return "", fmt.Errorf("bad recurrence end date %q", r.Range.EndDate)
		}
		// The end date is a date in the series' zone: the series runs to
		// the end of that day there.
		loc := time.UTC
		if tz := r.Range.RecurrenceTimeZone; tz != "" {
			if loc, err = location(tz); err != nil {
				return "", err
			}
		}
		until := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc).UTC()
		parts = append(parts, "UNTIL="+until.Format("20060102T150405Z"))
	case "numbered":
		parts = append(parts, "COUNT="+strconv.Itoa(r.Range.NumberOfOccurrences))
	case "noEnd", "":
	default:
		return "", fmt.Errorf("unknown recurrence range %q", r.Range.Type)
	}
	return strings.Join(parts, ";"), nil
}

// recurrence parses an RRULE value into a Graph recurrence starting on the
// date of start. Unsupported rule parts are a Permanent error on the field.
func recurrence(rule string, start time.Time) (*wireRecurrence, error) {
	return recurrenceIn(rule, start, time.UTC)
}

// recurrenceIn is recurrence kept in loc: the start date, the days the
// pattern names by default and the end date are loc's, and so is the
// range's recurrenceTimeZone (resources/recurrencerange: "Time zone for
// the startDate and endDate properties"), in which Outlook counts the
// occurrences: each keeps its local time across a daylight-saving change.
func recurrenceIn(rule string, start time.Time, loc *time.Location) (*wireRecurrence, error) {
	start = start.In(loc)
	if rule == "" {
		return nil, nil
	}
	bad := func(why string) error {
		return &fault.Error{Class: fault.Permanent, Code: "UnsupportedRecurrence", Message: why, Fields: []string{"Recurrence"}}
	}
	kv := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(rule, "RRULE:"), ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, bad("malformed rule part " + strconv.Quote(p))
		}
		kv[strings.ToUpper(k)] = v
	}
	r := &wireRecurrence{Range: wireRange{Type: "noEnd", StartDate: start.Format(time.DateOnly), RecurrenceTimeZone: graphZone(loc)}}
	r.Pattern.Interval = 1
	if v, ok := kv["INTERVAL"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, bad("bad INTERVAL")
		}
		r.Pattern.Interval = n
	}
	var days []string
	idx := ""
	if v, ok := kv["BYDAY"]; ok {
		for _, d := range strings.Split(v, ",") {
			code := d[max(len(d)-2, 0):]
			pre := d[:len(d)-len(code)]
			g := dayToGraph(code)
			if g == "" {
				return nil, bad("bad BYDAY " + d)
			}
			if pre != "" {
				n, err := strconv.Atoi(pre)
				if err != nil {
					return nil, bad("bad BYDAY " + d)
				}
				for _, ix := range indexes {
					if ix.n == n {
						idx = ix.graph
					}
				}
				if idx == "" {
					return nil, bad("unsupported BYDAY position " + d)
				}
			}
			days = append(days, g)
		}
	}
	num := func(k string) (int, error) {
		n, err := strconv.Atoi(kv[k])
		if err != nil {
			return 0, bad("bad " + k)
		}
		return n, nil
	}
	var err error
	switch kv["FREQ"] {
	case "DAILY":
		r.Pattern.Type = "daily"
	case "WEEKLY":
		r.Pattern.Type = "weekly"
		if len(days) == 0 {
			days = []string{weekdays[start.Weekday()].graph}
		}
		r.Pattern.DaysOfWeek = days
		r.Pattern.FirstDayOfWeek = "sunday"
	case "MONTHLY":
		if idx != "" {
			r.Pattern.Type, r.Pattern.DaysOfWeek, r.Pattern.Index = "relativeMonthly", days, idx
		} else {
			r.Pattern.Type = "absoluteMonthly"
			r.Pattern.DayOfMonth = start.Day()
			if _, ok := kv["BYMONTHDAY"]; ok {
				r.Pattern.DayOfMonth, err = num("BYMONTHDAY")
			}
		}
	case "YEARLY":
		r.Pattern.Month = int(start.Month())
		if _, ok := kv["BYMONTH"]; ok {
			if r.Pattern.Month, err = num("BYMONTH"); err != nil {
				return nil, err
			}
		}
		if idx != "" {
			r.Pattern.Type, r.Pattern.DaysOfWeek, r.Pattern.Index = "relativeYearly", days, idx
		} else {
			r.Pattern.Type = "absoluteYearly"
			r.Pattern.DayOfMonth = start.Day()
			if _, ok := kv["BYMONTHDAY"]; ok {
				r.Pattern.DayOfMonth, err = num("BYMONTHDAY")
			}
		}
	default:
		return nil, bad("unsupported FREQ " + strconv.Quote(kv["FREQ"]))
	}
	if err != nil {
		return nil, err
	}
	for k := range kv {
		switch k {
		case "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "UNTIL", "COUNT", "WKST":
		default:
			return nil, bad("unsupported rule part " + k)
		}
	}
	if v, ok := kv["UNTIL"]; ok {
		if len(v) < 8 {
			return nil, bad("bad UNTIL")
		}
		d, perr := time.Parse("20060102", v[:8])
		if perr != nil {
			return nil, bad("bad UNTIL")
		}
		if t, terr := time.Parse("20060102T150405Z", v); terr == nil {
			// The series is written in loc: its last day is loc's date of
			// the last start at the series' time of day not after UNTIL.
			u := t.In(loc)
			d = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
			if clock(u) < clock(start) {
				d = d.AddDate(0, 0, -1)
			}
		}
		r.Range.Type, r.Range.EndDate = "endDate", d.Format(time.DateOnly)
	}
	if _, ok := kv["COUNT"]; ok {
		n, err := num("COUNT")
		if err != nil || n < 1 {
			return nil, bad("bad COUNT")
		}
		r.Range.Type, r.Range.NumberOfOccurrences = "numbered", n
	}
	return r, nil
}

// clock is the time of day of t, in t's own zone.
func clock(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// utcUntil spells a series' end (UNTIL) as the end of the UTC day of its last
// meeting, as Salesforce reads a classic series' end and as a series kept in
// UTC reads here (salesforce canonicalUntil): a series kept in another zone
// ends at the end of its last day there, which is the same meetings said
// otherwise, and would otherwise update the other side every session. A
// rule that does not expand is left as it is.
func utcUntil(rule string, start time.Time, loc *time.Location) string {
	if !strings.Contains(rule, "UNTIL=") || loc == time.UTC {
		return rule
	}
	opt, err := rrulego.StrToROption(rule)
	if err != nil {
		return rule
	}
	opt.Dtstart = start.In(loc)
	r, err := rrulego.NewRRule(*opt)
	if err != nil {
		return rule
	}
	var last time.Time
	it := r.Iterator()
	for t, ok := it(); ok; t, ok = it() {
		last = t
	}
	if last.IsZero() {
		return rule
	}
	parts := strings.Split(rule, ";")
	for i, p := range parts {
		if strings.HasPrefix(p, "UNTIL=") {
			parts[i] = "UNTIL=" + last.UTC().Format("20060102") + "T235959Z"
		}
	}
	return strings.Join(parts, ";")
}
