package fakesalesforce

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Recurring events are stored as real orgs store them (Change Data Capture
// Developer Guide, "Recurring Activities"; Object Reference, Event): a series
// record plus one Event record per occurrence.
//
//   - Classic: the series record has IsRecurrence true, the pattern in the
//     Recurrence* fields and RecurrenceActivityId pointing at itself; every
//     occurrence is an Event with IsRecurrence false and RecurrenceActivityId
//     pointing at the series record.
//   - Lightning event series: the series record has GroupEventType 3, the
//     pattern as an RRULE in Recurrence2PatternText and an
//     ActivityRecurrence2Id shared with its occurrences, which are Events
//     with IsRecurrence2 true; an occurrence moved or changed on its own is
//     flagged IsRecurrence2Exception.
//
// Relating a user to an event as an invitee gives that user a child copy of
// the event (IsChild true, owned by the invitee).

// maxOccurrences bounds a series, as Salesforce does (classic series end
// after 100 occurrences).
const maxOccurrences = 100

// seriesFields are copied from a series record to its occurrences, and kept
// in step when the series record changes.
var seriesFields = []string{"Subject", "Location", "Description", "ShowAs", "WhoId", "WhatId", "IsPrivate", "IsAllDayEvent", "Type"}

// classicRule renders a classic series' fields as an RRULE, or "" when the
// record is no classic series.
func classicRule(f map[string]any) string {
	if v, _ := f["IsRecurrence"].(bool); !v {
		return ""
	}
	num := func(name string) int {
		n, _ := f[name].(float64)
		return int(n)
	}
	interval := max(num("RecurrenceInterval"), 1)
	days := func() string {
		var out []string
		for i, d := range []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"} {
			if num("RecurrenceDayOfWeekMask")&(1<<i) != 0 {
				out = append(out, d)
			}
		}
		return strings.Join(out, ",")
	}
	nth := map[string]string{"First": "1", "Second": "2", "Third": "3", "Fourth": "4", "Last": "-1"}[fmt.Sprint(f["RecurrenceInstance"])]
	month := 0
	if m, ok := f["RecurrenceMonthOfYear"].(string); ok {
		for i := 1; i <= 12; i++ {
			if time.Month(i).String() == m {
				month = i
			}
		}
	}
	var rule string
	switch f["RecurrenceType"] {
	case "RecursDaily":
		rule = fmt.Sprintf("FREQ=DAILY;INTERVAL=%d", interval)
	case "RecursEveryWeekday":
		rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
	case "RecursWeekly":
		rule = fmt.Sprintf("FREQ=WEEKLY;INTERVAL=%d;BYDAY=%s", interval, days())
	case "RecursMonthly":
		rule = fmt.Sprintf("FREQ=MONTHLY;INTERVAL=%d;BYMONTHDAY=%d", interval, num("RecurrenceDayOfMonth"))
	case "RecursMonthlyNth":
		rule = fmt.Sprintf("FREQ=MONTHLY;INTERVAL=%d;BYDAY=%s%s", interval, nth, days())
	case "RecursYearly":
		rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYMONTHDAY=%d", month, num("RecurrenceDayOfMonth"))
	case "RecursYearlyNth":
		rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%s%s", month, nth, days())
	default:
		return ""
	}
	return rule
}

// occurrenceStarts expands a rule from start (whose location carries the
// series' time zone, so wall-clock times hold across daylight-saving
// changes) up to the last day until (inclusive, in that zone; zero: the rule
// bounds itself).
func occurrenceStarts(rule string, start time.Time, until time.Time) ([]time.Time, error) {
	opt, err := rrule.StrToROption(strings.TrimPrefix(rule, "RRULE:"))
	if err != nil {
		return nil, err
	}
	opt.Dtstart = start
	if !until.IsZero() {
		opt.Until = time.Date(until.Year(), until.Month(), until.Day(), 23, 59, 59, 0, start.Location())
	}
	if opt.Count == 0 && opt.Until.IsZero() {
		opt.Count = maxOccurrences
	}
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	it := r.Iterator()
	for t, ok := it(); ok && len(out) < maxOccurrences; t, ok = it() {
		out = append(out, t)
	}
	return out, nil
}

// zone loads a TimeZoneSidKey; GMT and unknown names are UTC.
func zone(sid string) *time.Location {
	if sid == "" || sid == "GMT" {
		return time.UTC
	}
	loc, err := time.LoadLocation(sid)
	if err != nil {
		return time.UTC
	}
	return loc
}

// checkSeries refuses a series record whose pattern cannot be expanded,
// before anything is stored.
func checkSeries(f map[string]any) error {
	start, _ := f["StartDateTime"].(time.Time)
	switch {
	case classicRule(f) != "":
		d, ok := f["RecurrenceEndDateOnly"].(string)
		if !ok {
			return errf("REQUIRED_FIELD_MISSING", []string{"RecurrenceEndDateOnly"}, "Required fields are missing: [RecurrenceEndDateOnly]")
		}
		until, _ := time.Parse("2006-01-02", d)
		if rs, ok := f["RecurrenceStartDateTime"].(time.Time); ok {
			start = rs
		}
		if starts, err := occurrenceStarts(classicRule(f), start, until); err != nil || len(starts) == 0 {
			return errf("FIELD_INTEGRITY_EXCEPTION", []string{"RecurrenceType"}, "The recurrence pattern produces no occurrence")
		}
	case f["IsRecurrence2"] == true:
		text, _ := f["Recurrence2PatternText"].(string)
		if text == "" {
			return errf("REQUIRED_FIELD_MISSING", []string{"Recurrence2PatternText"}, "Required fields are missing: [Recurrence2PatternText]")
		}
		if starts, err := occurrenceStarts(text, start, time.Time{}); err != nil || len(starts) == 0 {
			return errf("FIELD_INTEGRITY_EXCEPTION", []string{"Recurrence2PatternText"}, "Recurrence2PatternText is not a valid recurrence pattern")
		}
	}
	return nil
}

// expandSeries creates the occurrence records of a series record just
// inserted; s.mu is held.
func (s *Server) expandSeries(u *account, r *record) error {
	f := r.f
	start, _ := f["StartDateTime"].(time.Time)
	end, _ := f["EndDateTime"].(time.Time)
	duration := end.Sub(start)
	var rule, tz string
	var until time.Time
	link := map[string]any{}
	switch {
	case classicRule(f) != "":
		rule = classicRule(f)
		tz, _ = f["RecurrenceTimeZoneSidKey"].(string)
		if tz == "" {
			tz = s.userZone(u)
			f["RecurrenceTimeZoneSidKey"] = tz
		}
		if rs, ok := f["RecurrenceStartDateTime"].(time.Time); ok {
			start = rs
		} else {
			f["RecurrenceStartDateTime"] = start
		}
		if d, ok := f["RecurrenceEndDateOnly"].(string); ok {
			until, _ = time.Parse("2006-01-02", d)
		} else {
			return errf("REQUIRED_FIELD_MISSING", []string{"RecurrenceEndDateOnly"}, "Required fields are missing: [RecurrenceEndDateOnly]")
		}
		f["RecurrenceActivityId"] = r.id
		link["RecurrenceActivityId"] = r.id
	case f["IsRecurrence2"] == true:
		text, _ := f["Recurrence2PatternText"].(string)
		if text == "" {
			return errf("REQUIRED_FIELD_MISSING", []string{"Recurrence2PatternText"}, "Required fields are missing: [Recurrence2PatternText]")
		}
		rule = text
		tz = s.userZone(u)
		series := s.ids.next("828")
		f["GroupEventType"] = "3"
		f["ActivityRecurrence2Id"] = series
		f["Recurrence2PatternStartDate"] = start
		f["Recurrence2PatternTimeZone"] = tz
		if f["Recurrence2PatternVersion"] == nil {
			f["Recurrence2PatternVersion"] = "1"
		}
		link["ActivityRecurrence2Id"] = series
		link["IsRecurrence2"] = true
	default:
		return nil
	}
	loc := zone(tz)
	starts, err := occurrenceStarts(rule, start.In(loc), until)
	if err != nil || len(starts) == 0 {
		return errf("INVALID_FIELD", []string{"RecurrenceType"}, "The recurrence pattern produces no occurrence: %s", truncate(rule, 60))
	}
	for _, at := range starts {
		occ := map[string]any{"StartDateTime": at.UTC(), "EndDateTime": at.UTC().Add(duration), "OwnerId": f["OwnerId"]}
		for _, name := range seriesFields {
			if v, ok := f[name]; ok && v != nil {
				occ[name] = v
			}
		}
		if _, err := s.insertRaw(u, s.object("Event"), occ, link); err != nil {
			return err
		}
	}
	return nil
}

// insertRaw inserts a record whose fields are already in stored form and sets
// read-only fields (the links of an occurrence) that the API refuses.
func (s *Server) insertRaw(u *account, obj *Object, f map[string]any, readOnly map[string]any) (string, error) {
	in := map[string]any{}
	for k, v := range f {
		switch x := v.(type) {
		case time.Time:
			in[k] = formatDateTime(x)
		default:
			in[k] = x
		}
	}
	id, err := s.insert(u, obj, in, "")
	if err != nil {
		return "", err
	}
	r := s.records[id]
	for k, v := range readOnly {
		r.f[k] = v
	}
	return id, nil
}

// userZone is a user's TimeZoneSidKey.
func (s *Server) userZone(u *account) string {
	if ur := s.records[u.id]; ur != nil {
		if tz, _ := ur.f["TimeZoneSidKey"].(string); tz != "" {
			return tz
		}
	}
	return "GMT"
}

// occurrencesOf lists the live occurrences of a series record; s.mu is held.
func (s *Server) occurrencesOf(r *record) []*record {
	var out []*record
	key, val := "RecurrenceActivityId", r.id
	if r.f["GroupEventType"] == "3" {
		key, val = "ActivityRecurrence2Id", r.str("ActivityRecurrence2Id")
	}
	if val == "" {
		return nil
	}
	for _, o := range s.byObj["Event"] {
		if o != r && !o.deleted && o.str(key) == val && o.f["GroupEventType"] != "3" && o.f["IsRecurrence"] != true && o.f["IsRecurrence2Exclusion"] != true {
			out = append(out, o)
		}
	}
	return out
}

// isSeries reports whether r is a series record.
func isSeries(r *record) bool {
	return r.obj.Name == "Event" && (r.f["IsRecurrence"] == true || r.f["GroupEventType"] == "3")
}

// afterEventUpdate keeps a series' occurrences in step with the series
// record, and flags a Lightning occurrence changed on its own as an
// exception; s.mu is held. changed holds the fields the update set.
func (s *Server) afterEventUpdate(u *account, r *record, changed map[string]any) {
	_, newPattern := changed["Recurrence2PatternText"]
	_, newStart := changed["StartDateTime"]
	if r.f["GroupEventType"] == "3" && (newPattern || newStart) {
		s.repattern(u, r)
		return
	}
	if isSeries(r) {
		for _, o := range s.occurrencesOf(r) {
			if s.detached[o.id] {
				continue
			}
			for _, name := range seriesFields {
				if _, ok := changed[name]; ok {
					o.f[name] = r.f[name]
				}
			}
			o.f["SystemModstamp"], o.f["LastModifiedDate"] = r.f["SystemModstamp"], r.f["LastModifiedDate"]
		}
		return
	}
	if r.str("RecurrenceActivityId") != "" || r.str("ActivityRecurrence2Id") != "" {
		s.detached[r.id] = true
		if r.f["IsRecurrence2"] == true {
			r.f["IsRecurrence2Exception"] = true
		}
	}
}

// repattern applies a Lightning series' new pattern: its past occurrences
// stay as history that no longer follows the series
// (IsRecurrence2Exclusion), the others are replaced by the new pattern's
// meetings from now on; s.mu is held.
func (s *Server) repattern(u *account, r *record) {
	now := s.now()
	for _, o := range s.occurrencesOf(r) {
		if at, _ := o.f["StartDateTime"].(time.Time); at.Before(now) {
			o.f["IsRecurrence2Exclusion"] = true
			continue
		}
		s.markDeleted(o)
		for _, id := range s.children[o.id] {
			if c := s.records[id]; c != nil && !c.deleted {
				s.markDeleted(c)
			}
		}
	}
	start, _ := r.f["StartDateTime"].(time.Time)
	end, _ := r.f["EndDateTime"].(time.Time)
	text, _ := r.f["Recurrence2PatternText"].(string)
	starts, err := occurrenceStarts(text, start.In(zone(fmt.Sprint(r.f["Recurrence2PatternTimeZone"]))), time.Time{})
	if err != nil {
		return
	}
	link := map[string]any{"ActivityRecurrence2Id": r.f["ActivityRecurrence2Id"], "IsRecurrence2": true}
	for _, at := range starts {
		if at.Before(now) {
			continue
		}
		occ := map[string]any{"StartDateTime": at.UTC(), "EndDateTime": at.UTC().Add(end.Sub(start)), "OwnerId": r.f["OwnerId"]}
		for _, name := range seriesFields {
			if v, ok := r.f[name]; ok && v != nil {
				occ[name] = v
			}
		}
		_, _ = s.insertRaw(u, s.object("Event"), occ, link)
	}
}

// childCopy gives an invitee who is a user a copy of the event (IsChild);
// s.mu is held.
func (s *Server) childCopy(u *account, rel *record) {
	parent := s.records[rel.str("EventId")]
	invitee := rel.str("RelationId")
	if parent == nil || !strings.HasPrefix(invitee, "005") || rel.f["IsInvitee"] != true || invitee == parent.str("OwnerId") {
		return
	}
	f := map[string]any{"OwnerId": invitee}
	for _, name := range append([]string{"StartDateTime", "EndDateTime"}, seriesFields...) {
		if v, ok := parent.f[name]; ok && v != nil && name != "WhoId" && name != "WhatId" {
			f[name] = v
		}
	}
	id, err := s.insertRaw(u, s.object("Event"), f, map[string]any{"IsChild": true})
	if err == nil {
		s.children[parent.id] = append(s.children[parent.id], id)
	}
}

// removeDependents deletes what goes with an event: a series' occurrences
// and child copies; s.mu is held.
func (s *Server) removeDependents(r *record) {
	if r.obj.Name != "Event" {
		return
	}
	var gone []*record
	if isSeries(r) {
		gone = s.occurrencesOf(r)
	}
	gone = append(gone, r)
	for _, e := range gone {
		for _, id := range s.children[e.id] {
			if c := s.records[id]; c != nil && !c.deleted {
				s.markDeleted(c)
			}
		}
		if e != r && !e.deleted {
			s.markDeleted(e)
		}
	}
}
