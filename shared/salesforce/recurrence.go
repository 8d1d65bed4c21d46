package salesforce

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// recurrenceFields are the Event fields of a classic recurring series.
var recurrenceFields = []string{"IsRecurrence", "RecurrenceType", "RecurrenceInterval", "RecurrenceDayOfWeekMask",
	"RecurrenceDayOfMonth", "RecurrenceInstance", "RecurrenceMonthOfYear", "RecurrenceStartDateTime", "RecurrenceEndDateOnly"}

// Salesforce's day-of-week mask bits, Sunday first.
var weekdays = []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

var instances = map[string]string{"First": "1", "Second": "2", "Third": "3", "Fourth": "4", "Last": "-1"}

// readRecurrence renders an Event's recurrence fields as an RRULE value
// ("" for a single event).
func readRecurrence(r Record) string {
	if r.String("IsRecurrence") != "true" {
		return ""
	}
	interval := r.String("RecurrenceInterval")
	if interval == "" || interval == "0" {
		interval = "1"
	}
	interval = strings.TrimSuffix(interval, ".0")
	parts := []string{}
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	month := func() string {
		m := r.String("RecurrenceMonthOfYear")
		for i := 1; i <= 12; i++ {
			if time.Month(i).String() == m {
				return strconv.Itoa(i)
			}
		}
		return ""
	}
	nth := func() string {
		days := maskDays(r.String("RecurrenceDayOfWeekMask"))
		if len(days) == 0 {
			return ""
		}
		return instances[r.String("RecurrenceInstance")] + days[0]
	}
	switch r.String("RecurrenceType") {
	case "RecursDaily":
		add("FREQ", "DAILY")
		add("INTERVAL", interval)
	case "RecursEveryWeekday":
		add("FREQ", "WEEKLY")
		add("INTERVAL", "1")
		add("BYDAY", "MO,TU,WE,TH,FR")
	case "RecursWeekly":
		add("FREQ", "WEEKLY")
		add("INTERVAL", interval)
		add("BYDAY", strings.Join(maskDays(r.String("RecurrenceDayOfWeekMask")), ","))
	case "RecursMonthly":
		add("FREQ", "MONTHLY")
		add("INTERVAL", interval)
		add("BYMONTHDAY", strings.TrimSuffix(r.String("RecurrenceDayOfMonth"), ".0"))
	case "RecursMonthlyNth":
		add("FREQ", "MONTHLY")
		add("INTERVAL", interval)
		add("BYDAY", nth())
	case "RecursYearly":
		add("FREQ", "YEARLY")
		add("INTERVAL", "1")
		add("BYMONTH", month())
		add("BYMONTHDAY", strings.TrimSuffix(r.String("RecurrenceDayOfMonth"), ".0"))
	case "RecursYearlyNth":
		add("FREQ", "YEARLY")
		add("INTERVAL", "1")
		add("BYMONTH", month())
		add("BYDAY", nth())
	default:
		return ""
	}
	if end := r.String("RecurrenceEndDateOnly"); len(end) >= 10 {
		d, err := time.Parse(time.DateOnly, end[:10])
		if err != nil {
			return strings.Join(parts, ";")
		}
		// RecurrenceEndDateOnly is a date in the series' zone: the series
		// runs to the end of that day there. The end of the day in UTC
		// would cut the evening meetings of a zone west of UTC and add a
		// day to one east of it.
		loc := loadZone(r.String("RecurrenceTimeZoneSidKey"))
		until := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc).UTC()
		add("UNTIL", until.Format("20060102T150405Z"))
		parts[len(parts)-1] = "UNTIL=" + canonicalUntil(strings.Join(parts, ";"), r, loc, until)
	}
	return strings.Join(parts, ";")
}

// canonicalUntil says the same end as the mailbox does for the same
// meetings: the end of the UTC day of the last meeting (crmsync writes a
// mailbox series in UTC, whose end date reads back that way), so one series
// reads alike on both sides instead of updating the other every session.
// until is the series' own end, kept when the rule does not expand.
func canonicalUntil(rule string, r Record, loc *time.Location, until time.Time) string {
	start, err := ParseTime(r.String("RecurrenceStartDateTime"))
	if err != nil {
		if start, err = ParseTime(r.String("StartDateTime")); err != nil {
			return until.Format("20060102T150405Z")
		}
	}
	instants, err := slots(rule, start, loc)
	if err != nil || len(instants) == 0 {
		return until.Format("20060102T150405Z")
	}
	return instants[len(instants)-1].UTC().Format("20060102") + "T235959Z"
}

func maskDays(mask string) []string {
	n, _ := strconv.Atoi(strings.TrimSuffix(mask, ".0"))
	var out []string
	for i, d := range weekdays {
		if n&(1<<i) != 0 {
			out = append(out, d)
		}
	}
	return out
}

// seriesZone is where a series written to Salesforce keeps its wall-clock
// times: the user's own time zone (User.TimeZoneSidKey), so that a weekly
// 10:00 stays at 10:00 across daylight-saving changes, as it does in the
// mailbox. GMT only for a user whose zone is GMT.
type seriesZone struct {
	sid string
	loc *time.Location
}

// writeRecurrence turns an RRULE value into Event fields; start is the
// series' first occurrence. A Lightning org (lightning) gets an event series
// (IsRecurrence2, the rule in Recurrence2PatternText); otherwise a classic
// series in the user's zone. Rules Salesforce cannot express are refused.
func writeRecurrence(rule string, start time.Time, zone seriesZone, lightning bool) (map[string]any, error) {
	out := map[string]any{}
	if rule == "" {
		out["IsRecurrence"] = false
		return out, nil
	}
	bad := func(why string) error {
		return &fault.Error{Class: fault.Permanent, Code: "UNSUPPORTED_RECURRENCE", Message: "Salesforce cannot store this recurrence: " + why, Fields: []string{"Recurrence"}}
	}
	if zone.loc == nil {
		zone = seriesZone{sid: "GMT", loc: time.UTC}
	}
	if _, err := slots(strings.TrimPrefix(rule, "RRULE:"), start, zone.loc); err != nil {
		return nil, bad("malformed rule")
	}
	if lightning {
		for _, p := range strings.Split(strings.TrimPrefix(rule, "RRULE:"), ";") {
			k, v, _ := strings.Cut(p, "=")
			switch strings.ToUpper(k) {
			case "FREQ":
				switch strings.ToUpper(v) {
				case "DAILY", "WEEKLY", "MONTHLY", "YEARLY":
				default:
					return nil, bad("FREQ " + v)
				}
			case "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST":
			default:
				return nil, bad(k + " is not supported")
			}
		}
		out["IsRecurrence2"] = true
		out["Recurrence2PatternText"] = "RRULE:" + strings.TrimPrefix(rule, "RRULE:")
		return out, nil
	}
	local := start.In(zone.loc)
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(rule, "RRULE:"), ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, bad("malformed rule")
		}
		parts[strings.ToUpper(k)] = strings.ToUpper(v)
	}
	interval := 1
	if v, ok := parts["INTERVAL"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, bad("interval " + v)
		}
		interval = n
	}
	for k := range parts {
		switch k {
		case "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "UNTIL", "COUNT", "WKST":
		default:
			return nil, bad(k + " is not supported")
		}
	}
	// A classic series ends on a date: the day of its last meeting in the
	// user's zone, which a COUNT rule gets from its expansion.
	instants, err := slots(strings.TrimPrefix(rule, "RRULE:"), start, zone.loc)
	if err != nil || len(instants) == 0 {
		return nil, bad("the rule has no meeting")
	}
	_, hasUntil := parts["UNTIL"]
	_, hasCount := parts["COUNT"]
	if !hasUntil && !hasCount {
		return nil, bad("a series needs an end (UNTIL or COUNT)")
	}
	end := instants[len(instants)-1].In(zone.loc)
	out["IsRecurrence"] = true
	out["RecurrenceStartDateTime"] = start.UTC().Format("2006-01-02T15:04:05.000Z")
	out["RecurrenceEndDateOnly"] = end.Format("2006-01-02")
	out["RecurrenceTimeZoneSidKey"] = zone.sid
	byday := parts["BYDAY"]
	nth := func() (string, string, error) {
		if strings.Contains(byday, ",") || len(byday) < 3 {
			return "", "", bad("BYDAY " + byday)
		}
		num, day := byday[:len(byday)-2], byday[len(byday)-2:]
		for name, n := range instances {
			if n == strings.TrimPrefix(num, "+") {
				return name, day, nil
			}
		}
		return "", "", bad("BYDAY " + byday)
	}
	switch parts["FREQ"] {
	case "DAILY":
		out["RecurrenceType"] = "RecursDaily"
		out["RecurrenceInterval"] = interval
	case "WEEKLY":
		days := strings.Split(byday, ",")
		if byday == "" {
			days = []string{weekdays[local.Weekday()]}
		}
		sort.Strings(days)
		if interval == 1 && strings.Join(days, ",") == "FR,MO,TH,TU,WE" {
			out["RecurrenceType"] = "RecursEveryWeekday"
			out["RecurrenceDayOfWeekMask"] = 62
			break
		}
		mask, err := dayMask(days)
		if err != nil {
			return nil, bad(err.Error())
		}
		out["RecurrenceType"] = "RecursWeekly"
		out["RecurrenceInterval"] = interval
		out["RecurrenceDayOfWeekMask"] = mask
	case "MONTHLY":
		out["RecurrenceInterval"] = interval
		if byday != "" {
			inst, day, err := nth()
			if err != nil {
				return nil, err
			}
			mask, _ := dayMask([]string{day})
			out["RecurrenceType"], out["RecurrenceInstance"], out["RecurrenceDayOfWeekMask"] = "RecursMonthlyNth", inst, mask
		} else {
			d, err := monthDay(parts["BYMONTHDAY"], local)
			if err != nil {
				return nil, bad(err.Error())
			}
			out["RecurrenceType"], out["RecurrenceDayOfMonth"] = "RecursMonthly", d
		}
	case "YEARLY":
		if interval != 1 {
			return nil, bad("yearly series repeat every year")
		}
		m := int(local.Month())
		if v := parts["BYMONTH"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 12 {
				return nil, bad("BYMONTH " + v)
			}
			m = n
		}
		out["RecurrenceMonthOfYear"] = time.Month(m).String()
		if byday != "" {
			inst, day, err := nth()
			if err != nil {
				return nil, err
			}
			mask, _ := dayMask([]string{day})
			out["RecurrenceType"], out["RecurrenceInstance"], out["RecurrenceDayOfWeekMask"] = "RecursYearlyNth", inst, mask
		} else {
			d, err := monthDay(parts["BYMONTHDAY"], local)
			if err != nil {
				return nil, bad(err.Error())
			}
			out["RecurrenceType"], out["RecurrenceDayOfMonth"] = "RecursYearly", d
		}
	default:
		return nil, bad("FREQ " + parts["FREQ"])
	}
	return out, nil
}

func dayMask(days []string) (int, error) {
	mask := 0
	for _, d := range days {
		found := false
		for i, w := range weekdays {
			if d == w {
				mask |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("day %q", d)
		}
	}
	return mask, nil
}

func monthDay(v string, local time.Time) (int, error) {
	if v == "" {
		return local.Day(), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 31 {
		return 0, fmt.Errorf("BYMONTHDAY %s", v)
	}
	return n, nil
}
