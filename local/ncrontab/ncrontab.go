// Package ncrontab parses the NCRONTAB schedules of Azure Functions timer
// triggers and computes their next occurrences. An expression has six fields,
// seconds first: {second} {minute} {hour} {day} {month} {day-of-week}, in UTC.
// Each field takes *, a value, a range a-b, a list a,b,c, and steps (*/s,
// a-b/s, a/s). Months take JAN-DEC and days of the week SUN-SAT (0-6, 7 is also
// Sunday). As in NCrontab, a time must match the day AND the day of the week.
package ncrontab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed expression. Each field is a bit set of allowed values.
type Schedule struct {
	expr                            string
	sec, min, hour, dom, month, dow uint64
}

type field struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i
}

var fields = [6]field{
	{name: "second", min: 0, max: 59},
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", min: 0, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// Parse reads an expression. Errors name the field and the part at fault.
func Parse(expr string) (*Schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) != 6 {
		return nil, fmt.Errorf("ncrontab %q: %d fields, want 6 ({second} {minute} {hour} {day} {month} {day-of-week})", expr, len(parts))
	}
	var sets [6]uint64
	for i, p := range parts {
		set, err := fields[i].parse(p)
		if err != nil {
			return nil, fmt.Errorf("ncrontab %q: %s field %q: %w", expr, fields[i].name, p, err)
		}
		sets[i] = set
	}
	// 7 is Sunday too.
	if sets[5]&(1<<7) != 0 {
		sets[5] = sets[5]&^(1<<7) | 1
	}
	return &Schedule{expr: expr, sec: sets[0], min: sets[1], hour: sets[2], dom: sets[3], month: sets[4], dow: sets[5]}, nil
}

func (f field) parse(s string) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return 0, fmt.Errorf("empty list item")
		}
		rng, step := item, 1
		if i := strings.IndexByte(item, '/'); i >= 0 {
			n, err := strconv.Atoi(item[i+1:])
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", item[i+1:])
			}
			rng, step = item[:i], n
		}
		lo, hi := f.min, f.max
		if f.name == "day-of-week" {
			hi = 6 // "*" means SUN-SAT once
		}
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := f.value(rng)
			if err != nil {
				return 0, err
			}
			lo = v
			if !strings.Contains(item, "/") {
				hi = v
			} else {
				hi = f.max
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func (f field) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or name", s)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("%d is out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// String returns the expression as parsed.
func (s *Schedule) String() string { return s.expr }

// Next returns the first occurrence strictly after t, in UTC. It returns the
// zero time when none exists within five years (e.g. "0 0 0 31 2 *").
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case !has(s.month, int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !has(s.dom, t.Day()) || !has(s.dow, int(t.Weekday())):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.hour, t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !has(s.min, t.Minute()):
			t = t.Truncate(time.Minute).Add(time.Minute)
		case !has(s.sec, t.Second()):
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

func has(set uint64, v int) bool { return set&(1<<v) != 0 }
