package salesforce

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// A recurring meeting in Salesforce is a series record plus one Event record
// per occurrence (CDC Developer Guide, "Recurring Activities"; Object
// Reference, Event):
//
//   - classic: the series record has IsRecurrence true, the pattern in the
//     Recurrence* fields and RecurrenceActivityId pointing at itself; each
//     occurrence points at it through RecurrenceActivityId;
//   - Lightning event series: the series record has GroupEventType 3 and an
//     RRULE in Recurrence2PatternText; it and its occurrences share an
//     ActivityRecurrence2Id; an occurrence changed on its own is flagged
//     IsRecurrence2Exception.
//
// crmsync reads a series as one item (its pattern from the series record):
// occurrences that follow the pattern fold into it, an occurrence moved or
// changed becomes an exception (item.SeriesID, item.OriginalStart), and
// invitees' child copies (IsChild) are never items at all.

// seriesFields are the Event fields the series reading needs beyond the
// mapping, selected when the org's describe has them.
var seriesFields = []string{"IsChild", "RecurrenceActivityId", "RecurrenceTimeZoneSidKey", "GroupEventType",
	"ActivityRecurrence2Id", "Recurrence2PatternText", "Recurrence2PatternTimeZone", "IsRecurrence2", "IsRecurrence2Exception", "IsRecurrence2Exclusion"}

// Keys of computed values that fold leaves on records for toItem.
const (
	keyRecurrence    = "crmsync:Recurrence"
	keySeriesID      = "crmsync:SeriesID"
	keyOriginalStart = "crmsync:OriginalStart"
	keyCancelled     = "crmsync:Cancelled"
	keyTimeZone      = "crmsync:TimeZone"
)

// maxSeriesOccurrences bounds an expansion (Salesforce stops classic series
// at 100 occurrences).
const maxSeriesOccurrences = 100

// seriesKey names the series a record belongs to ("" for a single event):
// "c:<series record id>" or "l:<ActivityRecurrence2Id>".
func seriesKey(r Record) string {
	if id := r.String("RecurrenceActivityId"); id != "" {
		return "c:" + id
	}
	if id := r.String("ActivityRecurrence2Id"); id != "" {
		return "l:" + id
	}
	return ""
}

// seriesCond selects the Events of the series that keys (seriesKey values)
// name, classic and Lightning alike, in the order given; nil when keys name
// none.
func seriesCond(keys []string) Cond {
	var classic, lightning []string
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "c:"); ok {
			classic = append(classic, id)
		} else if id, ok := strings.CutPrefix(k, "l:"); ok {
			lightning = append(lightning, id)
		}
	}
	var either []Cond
	if len(classic) > 0 {
		either = append(either, In("RecurrenceActivityId", classic))
	}
	if len(lightning) > 0 {
		either = append(either, In("ActivityRecurrence2Id", lightning))
	}
	switch len(either) {
	case 0:
		return nil
	case 1:
		return either[0]
	}
	return Or(either...)
}

// isSeriesRecord tells a series record from an occurrence.
func isSeriesRecord(r Record) bool {
	return r.String("IsRecurrence") == "true" || r.String("GroupEventType") == "3"
}

// seriesRule is a series record's pattern as an RRULE value (no "RRULE:")
// and the time zone its wall-clock times are kept in.
func seriesRule(r Record) (string, *time.Location) {
	if r.String("GroupEventType") == "3" {
		return strings.TrimPrefix(r.String("Recurrence2PatternText"), "RRULE:"), loadZone(r.String("Recurrence2PatternTimeZone"))
	}
	return readRecurrence(r), loadZone(r.String("RecurrenceTimeZoneSidKey"))
}

// loadZone reads a TimeZoneSidKey (IANA names, and GMT).
func loadZone(sid string) *time.Location {
	if sid == "" || sid == "GMT" {
		return time.UTC
	}
	if loc, err := time.LoadLocation(sid); err == nil {
		return loc
	}
	return time.UTC
}

// slots expands a rule from start in loc: the instants the pattern puts
// occurrences at.
func slots(rule string, start time.Time, loc *time.Location) ([]time.Time, error) {
	opt, err := rrule.StrToROption(rule)
	if err != nil {
		return nil, err
	}
	opt.Dtstart = start.In(loc)
	// UNTIL is an instant, inclusive (RFC 5545 3.3.10): both sides write
	// the end of the last day in the series' own zone. Widening it to the
	// end of its day in loc would add a day wherever the two zones differ.
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	it := r.Iterator()
	for t, ok := it(); ok && len(out) < maxSeriesOccurrences; t, ok = it() {
		out = append(out, t.UTC())
	}
	return out, nil
}

// eventFields adds to an Event read the series fields the org has.
func (r *reader) eventFields(ctx context.Context, fields []string) ([]string, error) {
	obj, err := r.s.c.Describe(ctx, "Event")
	if err != nil {
		return nil, err
	}
	for _, f := range seriesFields {
		if obj.Field(f) != nil {
			fields = append(fields, f)
		}
	}
	return fields, nil
}

// fold turns the events of a read into items' records: single events pass,
// each series present (through its record or any occurrence) becomes its
// series record with the pattern computed, plus one record per occurrence
// that left the pattern; occurrences that follow it, and child copies,
// disappear. The series' records and all their occurrences are read in one
// query, whatever part of them the read saw.
func (r *reader) fold(ctx context.Context, recs []Record) ([]Record, error) {
	keys := map[string]bool{}
	var out []Record
	for _, rec := range recs {
		if rec.String("IsChild") == "true" || rec.String("IsRecurrence2Exclusion") == "true" {
			continue
		}
		if k := seriesKey(rec); k != "" {
			keys[k] = true
			continue
		}
		out = append(out, rec)
	}
	if len(keys) == 0 {
		return out, nil
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	where := seriesCond(sorted)
	fields, err := r.eventFields(ctx, r.s.selectFields(r.kind, r.m))
	if err != nil {
		return nil, err
	}
	q, err := r.s.c.Build(ctx, Select{Object: "Event", Fields: fields, Where: And(where, Eq("IsChild", false)), OrderBy: []string{"StartDateTime", "Id"}})
	if err != nil {
		return nil, err
	}
	all, err := r.s.c.Collect(ctx, q)
	if err != nil {
		return nil, err
	}
	series := map[string]Record{}
	occurrences := map[string][]Record{}
	history := map[string]time.Time{} // series key → its last meeting kept as history
	for _, rec := range all {
		if rec.String("IsRecurrence2Exclusion") == "true" {
			// History that no longer follows the series (its pattern
			// changed): the new pattern's meetings up to it were never
			// made, which is no cancellation.
			if t, err := ParseTime(rec.String("StartDateTime")); err == nil && t.After(history[seriesKey(rec)]) {
				history[seriesKey(rec)] = t
			}
			continue
		}
		k := seriesKey(rec)
		if isSeriesRecord(rec) {
			series[k] = rec
		} else {
			occurrences[k] = append(occurrences[k], rec)
		}
	}
	orphans := 0
	for _, k := range sorted { // classic ("c:") before Lightning ("l:"), each by id
		head, ok := series[k]
		if !ok {
			orphans += len(occurrences[k])
			continue
		}
		out = append(out, r.seriesRecords(head, occurrences[k], history[k])...)
	}
	if orphans > 0 {
		r.s.log.LogAttrs(ctx, slog.LevelInfo, "salesforce occurrences whose series is gone; ignored", slog.Int("occurrences", orphans))
	}
	return out, nil
}

// seriesRecords folds one series: the series record with its pattern and
// its cancelled dates, and its exceptions. An occurrence at one of the
// pattern's instants with the series' content folds away; one at an instant
// but changed keeps that instant as its original start; one moved off the
// pattern takes the nearest instant no other occurrence holds
// (pairOccurrences). An instant no occurrence holds was deleted: a
// cancelled date, within the scope's window and after history (the last
// meeting a Lightning pattern change left behind).
func (r *reader) seriesRecords(head Record, occs []Record, history time.Time) []Record {
	rule, loc := seriesRule(head)
	start, err := ParseTime(head.String("StartDateTime"))
	end, _ := ParseTime(head.String("EndDateTime"))
	head = cloneRecord(head)
	head[keyRecurrence] = rule
	if rule != "" {
		head[keyTimeZone] = loc.String()
	}
	if err != nil || rule == "" {
		return []Record{head}
	}
	head[keyRecurrence] = explicitRule(rule, start.In(loc))
	instants, err := slots(rule, start, loc)
	if err != nil {
		r.s.log.Info("salesforce series pattern unreadable; read as its first meeting", slog.String("error", err.Error()))
		return []Record{head}
	}
	length := end.Sub(start)
	same := func(o Record) bool {
		if o.String("IsRecurrence2Exception") == "true" {
			return false
		}
		os, _ := ParseTime(o.String("StartDateTime"))
		oe, _ := ParseTime(o.String("EndDateTime"))
		if oe.Sub(os) != length {
			return false
		}
		for _, fm := range r.m.Fields {
			switch fm.Salesforce {
			case "StartDateTime", "EndDateTime":
				continue
			}
			if fm.read(o) != fm.read(head) {
				return false
			}
		}
		return true
	}
	paired, taken := pairOccurrences(instants, occs)
	var out []Record
	for i, o := range occs {
		at, ok := paired[i]
		if !ok {
			continue // more occurrences than instants: nothing to pair with
		}
		if t, _ := ParseTime(o.String("StartDateTime")); t.Equal(at) && same(o) {
			continue
		}
		out = append(out, exception(o, head.ID(), at))
	}
	if !history.IsZero() {
		// The new pattern's meetings start with the first the change made
		// (Salesforce makes them from the change on): an instant between
		// the history and the first of them is no cancellation either.
		first := time.Time{}
		for t := range taken {
			if first.IsZero() || t.Before(first) {
				first = t
			}
		}
		if first.After(history) {
			history = first.Add(-time.Nanosecond)
		}
	}
	var cancelled []string
	for _, t := range instants {
		if _, ok := taken[t]; ok || !t.After(history) || !r.inWindow(t) {
			continue
		}
		cancelled = append(cancelled, t.In(loc).Format(time.DateOnly))
	}
	head[keyCancelled] = strings.Join(cancelled, ",")
	return append([]Record{head}, out...)
}

// pairOccurrences pairs a series' occurrences (by index) with the
// pattern's instants: an occurrence at an instant no other holds takes it;
// one moved off the pattern then takes the nearest instant still free.
// Occurrences beyond the instants pair with nothing; instants left free
// are the deleted meetings.
func pairOccurrences(instants []time.Time, occs []Record) (map[int]time.Time, map[time.Time]int) {
	onPattern := map[time.Time]bool{}
	for _, t := range instants {
		onPattern[t] = true
	}
	paired := map[int]time.Time{}
	taken := map[time.Time]int{}
	var moved []int
	for i, o := range occs {
		at, err := ParseTime(o.String("StartDateTime"))
		if err != nil {
			continue
		}
		at = at.UTC()
		if _, used := taken[at]; onPattern[at] && !used {
			paired[i], taken[at] = at, i
			continue
		}
		moved = append(moved, i)
	}
	for _, i := range moved {
		at, _ := ParseTime(occs[i].String("StartDateTime"))
		var best time.Time
		for _, t := range instants {
			if _, used := taken[t]; used {
				continue
			}
			if best.IsZero() || absDuration(t.Sub(at)) < absDuration(best.Sub(at)) {
				best = t
			}
		}
		if best.IsZero() {
			continue
		}
		paired[i], taken[best] = best, i
	}
	return paired, taken
}

// inWindow reports whether a meeting starting at t is within the scope's
// window (an open bound is no bound).
func (r *reader) inWindow(t time.Time) bool {
	return (r.scope.From.IsZero() || !t.Before(r.scope.From)) && (r.scope.To.IsZero() || t.Before(r.scope.To))
}

// explicitRule spells out what a rule takes from its first meeting — the
// weekday of a weekly rule, the day of a monthly one, the month and day of a
// yearly one — as the mailbox does (Graph's patterns always name them), so
// that one series reads the same on both sides.
func explicitRule(rule string, first time.Time) string {
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(rule, "RRULE:"), ";") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return rule
		}
		parts[strings.ToUpper(k)] = v
	}
	add := func(k, v string) {
		if _, ok := parts[k]; !ok {
			rule += ";" + k + "=" + v
			parts[k] = v
		}
	}
	_, byday := parts["BYDAY"]
	switch parts["FREQ"] {
	case "WEEKLY":
		add("BYDAY", weekdays[first.Weekday()])
	case "MONTHLY":
		if !byday {
			add("BYMONTHDAY", fmt.Sprint(first.Day()))
		}
	case "YEARLY":
		add("BYMONTH", fmt.Sprint(int(first.Month())))
		if !byday {
			add("BYMONTHDAY", fmt.Sprint(first.Day()))
		}
	}
	return rule
}

func exception(o Record, series string, original time.Time) Record {
	e := cloneRecord(o)
	e[keySeriesID] = series
	e[keyOriginalStart] = original.UTC().Format(time.RFC3339)
	return e
}

func cloneRecord(r Record) Record {
	out := make(Record, len(r)+2)
	for k, v := range r {
		out[k] = v
	}
	return out
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// seriesItem sets the series fields of an event item from what fold left on
// its record.
func seriesItem(rec item.Record, r Record) {
	if v, ok := r[keyRecurrence].(string); ok {
		rec.Fields[item.Recurrence] = item.Normalize(item.Recurrence, v)
	}
	if v, ok := r[keyCancelled].(string); ok {
		rec.Fields[item.Cancelled] = v
	}
	rec.Fields[item.TimeZone] = ""
	if rec.Fields[item.Recurrence] != "" {
		// The series' own zone; a series record fold did not see (a
		// write's answer) has it on the record.
		zone, _ := r[keyTimeZone].(string)
		if zone == "" {
			_, loc := seriesRule(r)
			zone = loc.String()
		}
		rec.Fields[item.TimeZone] = zone
	}
	if v, ok := r[keySeriesID].(string); ok {
		rec.Fields[item.SeriesID] = v
		rec.Fields[item.OriginalStart], _ = r[keyOriginalStart].(string)
		rec.Fields[item.Recurrence] = ""
		rec.Fields[item.TimeZone] = ""
	}
}

// seriesSetup is how the org takes a new recurring meeting: a Lightning
// event series where the describe lets Event.IsRecurrence2 be created,
// classic otherwise; either way in the user's own time zone.
type seriesSetup struct {
	ready     bool
	lightning bool
	zone      seriesZone
}

// prepareSeries learns, once per side and only when a series is written, the
// org's series model (from the cached Event describe) and the user's
// TimeZoneSidKey (one retrieve of the User record).
func (s *Side) prepareSeries(ctx context.Context, recs []item.Record) error {
	need := false
	for _, r := range recs {
		if r.Fields[item.Recurrence] != "" {
			need = true
		}
	}
	s.mu.Lock()
	ready := s.series.ready
	s.mu.Unlock()
	if !need || ready {
		return nil
	}
	if err := s.resolveUser(ctx); err != nil {
		return err
	}
	obj, err := s.c.Describe(ctx, "Event")
	if err != nil {
		return err
	}
	setup := seriesSetup{ready: true, zone: seriesZone{sid: "GMT", loc: time.UTC}}
	if f := obj.Field("IsRecurrence2"); f != nil && f.Createable && obj.Field("Recurrence2PatternText") != nil {
		setup.lightning = true
	}
	users, err := s.c.Retrieve(ctx, "User", []string{s.user}, []string{"Id", "TimeZoneSidKey"})
	if err != nil {
		return err
	}
	if len(users) == 1 {
		if sid := users[0].String("TimeZoneSidKey"); sid != "" {
			setup.zone = seriesZone{sid: sid, loc: loadZone(sid)}
		}
	}
	s.mu.Lock()
	s.series = setup
	s.mu.Unlock()
	return nil
}

// writeExceptions writes the mailbox's exceptions to a series (records with
// item.SeriesID): each is the occurrence the series already has at its
// original start, updated with the exception's fields; its id is the
// occurrence's. An exception whose series or original occurrence Salesforce
// does not have fails alone, naming the meeting's original start.
func (s *Side) writeExceptions(ctx context.Context, m Mapping, recs []item.Record, out []side.Result) error {
	var at []int
	var heads []string
	seen := map[string]bool{}
	for i, r := range recs {
		if id := r.Fields[item.SeriesID]; id != "" {
			at = append(at, i)
			if validID(id) && !seen[id] {
				seen[id] = true
				heads = append(heads, id)
			}
		}
	}
	if len(at) == 0 {
		return nil
	}
	fields := []string{"Id", "StartDateTime"}
	obj, err := s.c.Describe(ctx, "Event")
	if err != nil {
		return err
	}
	for _, f := range []string{"RecurrenceActivityId", "ActivityRecurrence2Id", "GroupEventType", "IsRecurrence"} {
		if obj.Field(f) != nil {
			fields = append(fields, f)
		}
	}
	series, err := s.c.Retrieve(ctx, "Event", heads, fields)
	if err != nil {
		return err
	}
	keyOf := map[string]string{}
	var keys []string
	for _, h := range series {
		if !isSeriesRecord(h) {
			continue
		}
		k := seriesKey(h)
		keyOf[h.ID()] = k
		keys = append(keys, k)
	}
	occurrence := map[string]string{} // series key + "|" + start → occurrence id
	if where := seriesCond(keys); where != nil {
		q, err := s.c.Build(ctx, Select{Object: "Event", Fields: fields, Where: where})
		if err != nil {
			return err
		}
		err = s.c.Query(ctx, q, func(r Record) error {
			if !isSeriesRecord(r) {
				if t, err := ParseTime(r.String("StartDateTime")); err == nil {
					occurrence[seriesKey(r)+"|"+t.UTC().Format(time.RFC3339)] = r.ID()
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var send []Record
	var sendAt []int
	for _, i := range at {
		rec := recs[i]
		orig, err := time.Parse(time.RFC3339, rec.Fields[item.OriginalStart])
		k, ok := keyOf[rec.Fields[item.SeriesID]]
		id := occurrence[k+"|"+orig.UTC().Format(time.RFC3339)]
		if err != nil || !ok || id == "" {
			out[i].Err = fault.New(fault.Permanent, "NO_OCCURRENCE", "the Salesforce series has no meeting at "+rec.Fields[item.OriginalStart])
			continue
		}
		plain := item.Record{Kind: rec.Kind, Fields: map[string]string{}}
		for f, v := range rec.Fields {
			if f != item.SeriesID && f != item.OriginalStart && f != item.Recurrence {
				plain.Fields[f] = v
			}
		}
		r, err := s.fromItem(item.Event, m, plain, false)
		if err != nil {
			out[i].Err = err
			continue
		}
		if err := s.writable(ctx, m.Object, r, false); err != nil {
			return err
		}
		r["Id"] = id
		send = append(send, r)
		sendAt = append(sendAt, i)
	}
	res, err := s.c.Update(ctx, send)
	for j, r := range res {
		out[sendAt[j]] = side.Result{ID: recs[sendAt[j]].ID, Err: perRecord(m, r.Err)}
		if r.Err == nil {
			out[sendAt[j]].ID = send[j].ID()
		}
	}
	return err
}

// patternChange is what an update does to a meeting's recurrence: nothing
// (the new rule puts meetings where the old one did), a new Lightning
// pattern (text), a classic series recreated with the new pattern
// (recreate), or nothing possible (err).
type patternChange struct {
	text     string
	recreate bool
	err      error
}

// withoutRecurrence drops the recurrence from an update, which
// patternChanges has dealt with.
func withoutRecurrence(rec item.Record) item.Record {
	out := rec
	out.Fields = make(map[string]string, len(rec.Fields))
	for k, v := range rec.Fields {
		if k != item.Recurrence {
			out.Fields[k] = v
		}
	}
	return out
}

// patternChanges reads the current pattern of the events whose update
// carries a recurrence (one retrieve) and decides, per event, the way
// Salesforce allows: a Lightning event series takes a new
// Recurrence2PatternText; a rule that puts the meetings where the stored one
// does (COUNT against UNTIL, say) changes nothing; a classic series is
// recreated; a single meeting becoming a series or a series becoming single
// cannot be changed by an update, and that meeting alone fails with an
// issue that says so.
func (s *Side) patternChanges(ctx context.Context, recs []item.Record) (map[string]patternChange, error) {
	var ids []string
	for _, r := range recs {
		if _, ok := r.Fields[item.Recurrence]; ok && validID(r.ID) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	obj, err := s.c.Describe(ctx, "Event")
	if err != nil {
		return nil, err
	}
	fields := []string{"Id", "StartDateTime"}
	for _, f := range append(append([]string(nil), recurrenceFields...), append(seriesFields, "RecurrenceTimeZoneSidKey")...) {
		if obj.Field(f) != nil && !slicesContains(fields, f) {
			fields = append(fields, f)
		}
	}
	got, err := s.c.Retrieve(ctx, "Event", ids, fields)
	if err != nil {
		return nil, err
	}
	stored := map[string]Record{}
	for _, r := range got {
		stored[r.ID()] = r
	}
	refuse := func(why string) patternChange {
		return patternChange{err: &fault.Error{Class: fault.Permanent, Code: "UNSUPPORTED_PATTERN_CHANGE", Fields: []string{"Recurrence"},
			Message: "Salesforce cannot change this meeting's recurrence in place: " + why + "; change it in Salesforce, or delete and recreate the meeting"}}
	}
	out := map[string]patternChange{}
	for _, r := range recs {
		want, ok := r.Fields[item.Recurrence]
		cur, found := stored[r.ID]
		if !ok || !found {
			continue
		}
		rule, loc := "", time.UTC
		start, _ := ParseTime(cur.String("StartDateTime"))
		if isSeriesRecord(cur) {
			rule, loc = seriesRule(cur)
		}
		if sameMeetings(rule, want, start, loc) {
			out[r.ID] = patternChange{}
			continue
		}
		switch {
		case rule == "":
			out[r.ID] = refuse("a single meeting cannot become a series")
		case want == "":
			out[r.ID] = refuse("a series cannot become a single meeting")
		case cur.String("GroupEventType") != "3":
			// Salesforce keeps a classic series' pattern: the series is
			// made again with the new one (recreateSeries).
			out[r.ID] = patternChange{recreate: true}
		default:
			if _, err := slots(strings.TrimPrefix(want, "RRULE:"), start, loc); err != nil {
				out[r.ID] = refuse("the new rule is malformed")
				continue
			}
			out[r.ID] = patternChange{text: "RRULE:" + strings.TrimPrefix(want, "RRULE:")}
		}
	}
	return out, nil
}

// sameMeetings reports whether two rules put meetings at the same instants.
func sameMeetings(a, b string, start time.Time, loc *time.Location) bool {
	if a == "" || b == "" {
		return a == b
	}
	x, err1 := slots(strings.TrimPrefix(a, "RRULE:"), start, loc)
	y, err2 := slots(strings.TrimPrefix(b, "RRULE:"), start, loc)
	if err1 != nil || err2 != nil || len(x) != len(y) {
		return false
	}
	for i := range x {
		if !x[i].Equal(y[i]) {
			return false
		}
	}
	return true
}

func slicesContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
