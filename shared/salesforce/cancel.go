package salesforce

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// A meeting deleted from a series in Salesforce leaves its series record and
// the other occurrences as they were (Object Reference, Event: occurrences
// are Events of their own; "Delete this event only" in the UI): the series'
// pattern still expects it, no Event holds it. crmsync reads such a gap as a
// cancelled date of the series (item.Cancelled), and writes a mailbox's
// cancellation by deleting the occurrence's Event.

// seriesOfDeleted reads which series the events deleted since the cursor
// belonged to (one queryAll over the recycle bin per chunk of ids, only when
// events were deleted) and reads those series again, so that a deleted
// occurrence reports its series with the new cancelled date. A deleted
// series record or single event folds to nothing, and so does another
// owner's series the user can see.
func (r *reader) seriesOfDeleted(ctx context.Context, ids []string) ([]Record, error) {
	if r.kind != item.Event || len(ids) == 0 {
		return nil, nil
	}
	fields, err := r.eventFields(ctx, []string{"Id", "IsRecurrence", "OwnerId"})
	if err != nil {
		return nil, err
	}
	var stubs []Record
	seen := map[string]bool{}
	for start := 0; start < len(ids); start += idChunk {
		q, err := r.s.c.Build(ctx, Select{Object: "Event", Fields: fields,
			Where: And(In("Id", ids[start:min(start+idChunk, len(ids))]), Eq("IsDeleted", true))})
		if err != nil {
			return nil, err
		}
		err = r.s.c.QueryAll(ctx, q, func(rec Record) error {
			k := seriesKey(rec)
			// Only the user's own series: another owner's the user merely
			// sees is no item of theirs (an invitee's occurrences are
			// child copies, skipped too).
			if k == "" || isSeriesRecord(rec) || rec.String("IsChild") == "true" || rec.String("OwnerId") != r.s.user || seen[k] {
				return nil
			}
			seen[k] = true
			stub := Record{}
			if id, ok := strings.CutPrefix(k, "c:"); ok {
				stub["RecurrenceActivityId"] = id
			} else {
				stub["ActivityRecurrence2Id"] = strings.TrimPrefix(k, "l:")
			}
			stubs = append(stubs, stub)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(stubs) == 0 {
		return nil, nil
	}
	return r.fold(ctx, stubs)
}

// cancellation is one series' cancelled dates to write.
type cancellation struct {
	index int // in the records written
	id    string
	dates []string
}

// writeCancellations deletes, for each written series that carries
// item.Cancelled, the occurrence Events at the cancelled dates (in the
// series' zone). A date already without a meeting is done; a date the
// pattern does not produce fails that meeting alone, before anything of it
// is deleted, naming the date. Costs, only when there is a cancellation:
// one retrieve of the series records, one query of their occurrences, one
// delete call.
func (s *Side) writeCancellations(ctx context.Context, m Mapping, recs []item.Record, out []side.Result) error {
	var todo []cancellation
	var heads []string
	for i, r := range recs {
		v := r.Fields[item.Cancelled]
		if v == "" || r.Fields[item.SeriesID] != "" || out[i].Err != nil {
			continue
		}
		id := out[i].ID
		if id == "" {
			id = r.ID
		}
		if !validID(id) {
			continue
		}
		todo = append(todo, cancellation{index: i, id: id, dates: strings.Split(v, ",")})
		heads = append(heads, id)
	}
	if len(todo) == 0 {
		return nil
	}
	obj, err := s.c.Describe(ctx, "Event")
	if err != nil {
		return err
	}
	fields := []string{"Id", "StartDateTime", "EndDateTime"}
	for _, f := range append(append([]string(nil), recurrenceFields...), seriesFields...) {
		if obj.Field(f) != nil && !slicesContains(fields, f) {
			fields = append(fields, f)
		}
	}
	got, err := s.c.Retrieve(ctx, "Event", heads, fields)
	if err != nil {
		return err
	}
	series := map[string]Record{}
	var keys []string
	for _, h := range got {
		if !isSeriesRecord(h) {
			continue
		}
		series[h.ID()] = h
		keys = append(keys, seriesKey(h))
	}
	occurrences := map[string][]Record{}
	if where := seriesCond(keys); where != nil {
		q, err := s.c.Build(ctx, Select{Object: "Event", Fields: fields, Where: And(where, Eq("IsChild", false)), OrderBy: []string{"StartDateTime", "Id"}})
		if err != nil {
			return err
		}
		err = s.c.Query(ctx, q, func(r Record) error {
			if !isSeriesRecord(r) && r.String("IsRecurrence2Exclusion") != "true" {
				occurrences[seriesKey(r)] = append(occurrences[seriesKey(r)], r)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var del []string
	for _, c := range todo {
		head, ok := series[c.id]
		if !ok {
			out[c.index] = side.Result{Err: &fault.Error{Class: fault.Permanent, Code: "NOT_A_SERIES", Fields: []string{item.Cancelled},
				Message: "the meeting has cancelled dates but Salesforce holds no series for it"}}
			continue
		}
		ids, err := cancelledOccurrences(head, occurrences[seriesKey(head)], c.dates)
		if err != nil {
			out[c.index] = side.Result{Err: err}
			continue
		}
		del = append(del, ids...)
	}
	if len(del) == 0 {
		return nil
	}
	sort.Strings(del)
	res, err := s.c.Delete(ctx, del)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil && !fault.Is(r.Err, fault.Gone) {
			return r.Err
		}
	}
	return nil
}

// cancelledOccurrences names the occurrence Events a series holds at the
// given dates of its pattern (dates already without one name nothing), or
// refuses the lot when a date is no date of the pattern.
func cancelledOccurrences(head Record, occs []Record, dates []string) ([]string, error) {
	rule, loc := seriesRule(head)
	start, err := ParseTime(head.String("StartDateTime"))
	if err != nil || rule == "" {
		return nil, badCancel("the series' pattern cannot be read")
	}
	instants, err := slots(rule, start, loc)
	if err != nil {
		return nil, badCancel("the series' pattern cannot be read")
	}
	byDate := map[string]time.Time{}
	for _, t := range instants {
		byDate[t.In(loc).Format(time.DateOnly)] = t
	}
	_, taken := pairOccurrences(instants, occs)
	var out []string
	for _, d := range dates {
		d = strings.TrimSpace(d)
		t, ok := byDate[d]
		if !ok {
			return nil, badCancel("the series has no meeting on " + d + " to cancel")
		}
		if i, ok := taken[t]; ok {
			out = append(out, occs[i].ID())
		}
	}
	return out, nil
}

func badCancel(why string) error {
	return &fault.Error{Class: fault.Permanent, Code: "NO_OCCURRENCE", Fields: []string{item.Cancelled}, Message: why}
}

// onlyCancelled reports whether an update carries nothing but cancelled
// dates, which change no field of the series record.
func onlyCancelled(rec item.Record) bool {
	for f := range rec.Fields {
		// TimeZone is never written: Salesforce keeps a series in the
		// user's own zone (User.TimeZoneSidKey).
		if f != item.Cancelled && f != item.TimeZone {
			return false
		}
	}
	return len(rec.Fields) > 0
}
