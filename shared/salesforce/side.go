package salesforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// SideOptions configure a Side.
type SideOptions struct {
	// UserID is the connection's Salesforce user id ("" = read it from the
	// token's identity URL).
	UserID string
	// Mappings replaces the default field tables.
	Mappings map[item.Kind]Mapping
	// Extra adds field entries (custom fields) to the tables.
	Extra map[item.Kind][]FieldMap
	// MarkerField names a custom text field per kind where crmsync stamps its
	// create markers; without one, FindCreated matches on fields.
	MarkerField map[item.Kind]string
	Logger      *slog.Logger
}

// Side is the Salesforce CRM side of a sync (side.CRM).
type Side struct {
	c      *Client
	mu     sync.Mutex
	user   string
	maps   map[item.Kind]Mapping
	extra  map[item.Kind][]FieldMap
	marker map[item.Kind]string
	log    *slog.Logger
	feeds  feeds
	// series is how this org takes recurring meetings (prepareSeries).
	series seriesSetup
}

var _ side.CRM = (*Side)(nil)

// idChunk bounds the ids in one "Id IN (…)" query so the URL stays short.
const idChunk = 300

// NewSide returns the CRM side for a client.
func NewSide(c *Client, opts SideOptions) (*Side, error) {
	user := opts.UserID
	if user == "" {
		// Tokens from a refresh or code exchange carry the identity URL; a
		// token without it is resolved through userinfo at first use.
		user, _ = c.UserID()
	}
	maps := opts.Mappings
	if maps == nil {
		maps = DefaultMappings()
	}
	for kind, extra := range opts.Extra {
		m := maps[kind]
		m.Fields = append(append([]FieldMap(nil), m.Fields...), extra...)
		maps[kind] = m
	}
	for kind, f := range opts.MarkerField {
		if !validName(f) {
			return nil, fmt.Errorf("salesforce: marker field %q for %s is not a field name", f, kind)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Side{c: c, user: user, maps: maps, extra: opts.Extra, marker: opts.MarkerField, log: log}, nil
}

// resolveUser makes sure the side knows its user id, asking userinfo (not
// counted against the API allowance) when the token did not say.
func (s *Side) resolveUser(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.user != "" {
		return nil
	}
	id, err := s.c.WhoAmI(ctx)
	if err != nil {
		return err
	}
	s.user = id
	return nil
}

// Client returns the side's client (for call counts).
func (s *Side) Client() *Client { return s.c }

func (s *Side) mapping(kind item.Kind) (Mapping, error) {
	s.mu.Lock()
	m, ok := s.maps[kind]
	s.mu.Unlock()
	if !ok {
		return m, fault.New(fault.Permanent, "UNSUPPORTED_KIND", "Salesforce does not sync "+string(kind))
	}
	return m, nil
}

// selectFields lists what a read of kind selects.
func (s *Side) selectFields(kind item.Kind, m Mapping) []string {
	fields := append([]string{"Id", "SystemModstamp", "LastModifiedDate"}, m.salesforceFields()...)
	if kind == item.Event {
		fields = append(fields, "OwnerId")
		fields = append(fields, recurrenceFields...)
	}
	if f := s.marker[kind]; f != "" {
		fields = append(fields, f)
	}
	return fields
}

// toItem converts a Salesforce record to the canonical form.
func (s *Side) toItem(kind item.Kind, m Mapping, r Record) item.Record {
	fields := make(map[string]string, len(m.Fields)+1)
	for _, fm := range m.Fields {
		fields[fm.Canonical] = fm.read(r)
	}
	if kind == item.Event {
		// Salesforce stores an all-day event's last day (inclusive) at
		// midnight GMT; canonical End is the exclusive midnight after it.
		if fields[item.AllDay] == "true" {
			if t, err := time.Parse(time.RFC3339, fields[item.Start]); err == nil {
				fields[item.Start] = t.Truncate(24 * time.Hour).Format(time.RFC3339)
			}
			if t, err := time.Parse(time.RFC3339, fields[item.End]); err == nil {
				fields[item.End] = t.Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339)
			}
		}
		fields[item.Recurrence] = readRecurrence(r)
	}
	rec := item.Record{Kind: kind, ID: r.ID(), Version: r.String("SystemModstamp"), Fields: fields}
	if kind == item.Event {
		seriesItem(rec, r)
		rec.Version = item.CancelledVersion(rec.Version, rec.Fields[item.Cancelled])
	}
	if t, err := ParseTime(r.String("LastModifiedDate")); err == nil {
		rec.Modified = t
	}
	if f := s.marker[kind]; f != "" {
		rec.Marker = r.String(f)
	}
	return rec
}

// fromItem converts canonical fields (only those present) to a Salesforce
// record; allDay tells how to read Start/End when AllDay is not among them.
func (s *Side) fromItem(kind item.Kind, m Mapping, rec item.Record, allDay bool) (Record, error) {
	out := NewRecord(m.Object)
	for _, fm := range m.Fields {
		v, ok := rec.Fields[fm.Canonical]
		if !ok {
			continue
		}
		if kind == item.Event && fm.Canonical == item.Attendees {
			// Invitees are EventRelation rows (invite), never an Event field,
			// even if a mapping names one.
			continue
		}
		val, err := fm.write(v)
		if err != nil {
			return nil, err
		}
		out[fm.Salesforce] = val
	}
	if kind == item.Event {
		if v, ok := rec.Fields[item.AllDay]; ok {
			allDay = v == "true"
		}
		if allDay {
			if t, err := time.Parse(time.RFC3339, rec.Fields[item.Start]); err == nil {
				day := t.UTC().Truncate(24 * time.Hour)
				out["StartDateTime"] = day.Format("2006-01-02T15:04:05.000Z")
				// All-day events are dated by ActivityDate.
				out["ActivityDate"] = day.Format("2006-01-02")
			}
			if t, err := time.Parse(time.RFC3339, rec.Fields[item.End]); err == nil {
				last := t.UTC().Add(-time.Nanosecond).Truncate(24 * time.Hour)
				out["EndDateTime"] = last.Format("2006-01-02T15:04:05.000Z")
			}
		}
		if rule, ok := rec.Fields[item.Recurrence]; ok {
			start, _ := time.Parse(time.RFC3339, rec.Fields[item.Start])
			s.mu.Lock()
			setup := s.series
			s.mu.Unlock()
			rf, err := writeRecurrence(rule, start, setup.zone, setup.lightning)
			if err != nil {
				return nil, err
			}
			for k, v := range rf {
				out[k] = v
			}
			// A series states its length as DurationInMinutes.
			if end, err := time.Parse(time.RFC3339, rec.Fields[item.End]); err == nil && rule != "" && !allDay && end.After(start) {
				out["DurationInMinutes"] = int(end.Sub(start) / time.Minute)
			}
		}
	}
	if kind == item.Task && out["Status"] == nil {
		delete(out, "Status")
	}
	return out, nil
}

// writable takes out of r the fields the object's describe says cannot be
// written by this call: not createable on a create, not updateable on an
// update (Event.IsRecurrence is createable only: an update carrying it is
// refused with INVALID_FIELD_FOR_INSERT_UPDATE, even when its value does not
// change). Fields the describe does not know stay, so a mapping to a missing
// field still fails with the field named (sendIsolating). The describe is
// cached; the session's reads have fetched it already.
func (s *Side) writable(ctx context.Context, object string, r Record, create bool) error {
	obj, err := s.c.Describe(ctx, object)
	if err != nil {
		return err
	}
	for name := range r {
		if name == "attributes" {
			continue
		}
		f := obj.Field(name)
		if f == nil {
			continue
		}
		if create && !f.Createable || !create && !f.Updateable {
			delete(r, name)
		}
	}
	return nil
}

// perRecord maps Salesforce field names in a per-record error to canonical
// names.
func perRecord(m Mapping, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) && len(fe.Fields) > 0 {
		cp := *fe
		cp.Fields = m.canonicalFields(fe.Fields)
		return &cp
	}
	return err
}

// Create writes new records through sObject Collections.
func (s *Side) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	m, err := s.mapping(kind)
	if err != nil {
		return nil, err
	}
	if markers != nil && len(markers) != len(recs) {
		return nil, fault.New(fault.Permanent, "INVALID_INPUT", "markers and records differ in length")
	}
	if kind == item.Event {
		if err := s.prepareSeries(ctx, recs); err != nil {
			return nil, err
		}
	}
	out := make([]side.Result, len(recs))
	var send []Record
	var at []int
	for i, rec := range recs {
		if kind == item.Event && rec.Fields[item.SeriesID] != "" {
			continue // an exception is an occurrence that exists: writeExceptions
		}
		r, err := s.fromItem(kind, m, rec, false)
		if err != nil {
			out[i].Err = err
			continue
		}
		if f := s.marker[kind]; f != "" && markers != nil && markers[i] != "" {
			r[f] = markers[i]
		}
		if err := s.writable(ctx, m.Object, r, true); err != nil {
			return nil, err
		}
		send = append(send, r)
		at = append(at, i)
	}
	res, err := s.c.Create(ctx, send)
	for j, r := range res {
		out[at[j]] = side.Result{ID: r.ID, Err: perRecord(m, r.Err)}
	}
	if kind == item.Event && err == nil {
		s.invite(ctx, recs, out)
		err = s.writeExceptions(ctx, m, recs, out)
		if err == nil {
			if err = s.writeCancellations(ctx, m, recs, out); err != nil {
				s.unmake(ctx, recs, out, err)
			}
		}
	}
	return out, err
}

// unmake deletes the series this create made whose cancellations failed
// (why), so that the create fails as a whole with nothing half-written: a
// series left behind would be paired with its source by its marker next
// time with all its meetings and, being newer, would win the cancelled
// dates back from it (a cancelled meeting is never restored, so the
// cancellation would be lost). Deleting a series record deletes its
// occurrences. The next session makes it again. A series that cannot be
// deleted either stays, as before.
func (s *Side) unmake(ctx context.Context, recs []item.Record, out []side.Result, why error) {
	var ids []string
	var at []int
	for i, r := range recs {
		if r.Fields[item.Cancelled] == "" || r.Fields[item.SeriesID] != "" || out[i].Err != nil || !validID(out[i].ID) {
			continue
		}
		ids = append(ids, out[i].ID)
		at = append(at, i)
	}
	if len(ids) == 0 {
		return
	}
	res, err := s.c.Delete(ctx, ids)
	if err != nil {
		s.log.Warn("salesforce series whose cancellations failed not taken back", slog.String("error", err.Error()))
		return
	}
	for j, r := range res {
		if r.Err == nil {
			out[at[j]] = side.Result{Err: why}
		}
	}
}

// Update writes the given fields of existing records.
func (s *Side) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	m, err := s.mapping(kind)
	if err != nil {
		return nil, err
	}
	allDay, err := s.allDayFlags(ctx, kind, recs)
	if err != nil {
		return nil, err
	}
	var patterns map[string]patternChange
	if kind == item.Event {
		if err := s.prepareSeries(ctx, recs); err != nil {
			return nil, err
		}
		if patterns, err = s.patternChanges(ctx, recs); err != nil {
			return nil, err
		}
	}
	out := make([]side.Result, len(recs))
	var send []Record
	var at, recreate []int
	for i, rec := range recs {
		if !validID(rec.ID) {
			out[i].Err = fault.New(fault.Permanent, "MALFORMED_ID", "not a record id")
			continue
		}
		pc, hasPattern := patterns[rec.ID]
		if hasPattern {
			if pc.err != nil {
				out[i].Err = pc.err
				continue
			}
			if pc.recreate {
				recreate = append(recreate, i)
				continue
			}
			rec = withoutRecurrence(rec)
		}
		if onlyCancelled(rec) {
			out[i].ID = rec.ID // writeCancellations deletes occurrences; the series record stays as it is
			continue
		}
		r, err := s.fromItem(kind, m, rec, allDay[rec.ID])
		if err != nil {
			out[i].Err = err
			continue
		}
		if hasPattern && pc.text != "" {
			r["Recurrence2PatternText"] = pc.text
		}
		if err := s.writable(ctx, m.Object, r, false); err != nil {
			return nil, err
		}
		r["Id"] = rec.ID
		send = append(send, r)
		at = append(at, i)
	}
	res, err := s.c.Update(ctx, send)
	for j, r := range res {
		out[at[j]] = side.Result{ID: recs[at[j]].ID, Err: perRecord(m, r.Err)}
		if r.Err != nil {
			out[at[j]].ID = ""
		}
	}
	if err == nil {
		for _, i := range recreate {
			out[i], err = s.recreateSeries(ctx, m, recs[i])
			if err != nil {
				break
			}
		}
	}
	if err == nil && kind == item.Event {
		err = s.writeCancellations(ctx, m, recs, out)
	}
	return out, err
}

// allDayFlags reads IsAllDayEvent for events whose times change without
// AllDay among the fields, since all-day times are stored differently.
func (s *Side) allDayFlags(ctx context.Context, kind item.Kind, recs []item.Record) (map[string]bool, error) {
	flags := map[string]bool{}
	if kind != item.Event {
		return flags, nil
	}
	var ids []string
	for _, r := range recs {
		_, hasDay := r.Fields[item.AllDay]
		_, hasStart := r.Fields[item.Start]
		_, hasEnd := r.Fields[item.End]
		if !hasDay && (hasStart || hasEnd) && validID(r.ID) {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return flags, nil
	}
	got, err := s.c.Retrieve(ctx, "Event", ids, []string{"Id", "IsAllDayEvent"})
	if err != nil {
		return nil, err
	}
	for _, r := range got {
		flags[r.ID()] = r.String("IsAllDayEvent") == "true"
	}
	return flags, nil
}

// Delete removes records; already-deleted ones count as deleted.
func (s *Side) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	m, err := s.mapping(kind)
	if err != nil {
		return nil, err
	}
	out := make([]side.Result, len(ids))
	var send []string
	var at []int
	for i, id := range ids {
		if !validID(id) {
			out[i].Err = fault.New(fault.Permanent, "MALFORMED_ID", "not a record id")
			continue
		}
		send = append(send, id)
		at = append(at, i)
	}
	res, err := s.c.Delete(ctx, send)
	for j, r := range res {
		out[at[j]] = side.Result{ID: r.ID, Err: perRecord(m, r.Err)}
	}
	return out, err
}

// FindCreated finds records the user created since the earliest intent,
// matching on the marker field where one is configured and otherwise on the
// intent's fields. Each record answers at most one intent.
func (s *Side) FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error) {
	found := map[string]string{}
	if len(intents) == 0 {
		return found, nil
	}
	if err := s.resolveUser(ctx); err != nil {
		return nil, err
	}
	m, err := s.mapping(kind)
	if err != nil {
		return nil, err
	}
	since := intents[0].Since
	for _, in := range intents {
		if in.Since.Before(since) {
			since = in.Since
		}
	}
	where := []Cond{Eq("CreatedById", s.user), Ge("CreatedDate", since.Add(-time.Minute))}
	if kind == item.SharedEmail {
		where = append(where, Eq("TaskSubtype", "Email"))
	}
	fields := s.selectFields(kind, m)
	if kind == item.Event {
		r := &reader{s: s, kind: kind, m: m}
		if fields, err = r.eventFields(ctx, fields); err != nil {
			return nil, err
		}
	}
	q, err := s.c.Build(ctx, Select{Object: m.Object, Fields: fields, Where: And(where...), OrderBy: []string{"CreatedDate"}})
	if err != nil {
		return nil, err
	}
	recs, err := s.c.Collect(ctx, q)
	if err != nil {
		return nil, err
	}
	if kind == item.Event {
		// A series created comes with its occurrences, the first of which
		// looks just like it: only series records and single meetings
		// answer an intent.
		recs = slices.DeleteFunc(recs, func(r Record) bool {
			return r.String("IsChild") == "true" || seriesKey(r) != "" && !isSeriesRecord(r)
		})
	}
	used := map[string]bool{}
	for _, in := range intents {
		for _, r := range recs {
			if used[r.ID()] {
				continue
			}
			got := s.toItem(kind, m, r)
			if s.matches(kind, m, in, got) {
				found[in.Marker] = r.ID()
				used[r.ID()] = true
				break
			}
		}
	}
	return found, nil
}

func (s *Side) matches(kind item.Kind, m Mapping, in item.Intent, got item.Record) bool {
	if s.marker[kind] != "" && in.Marker != "" {
		return got.Marker == in.Marker
	}
	want := s.normalize(kind, m, in.Record)
	compared := 0
	for k, v := range want.Fields {
		if v == "" {
			continue
		}
		if strings.TrimSpace(got.Fields[k]) != v {
			return false
		}
		compared++
	}
	return compared > 0
}

// normalize passes canonical fields through the write and read conversions,
// so values compare the way Salesforce stores them.
func (s *Side) normalize(kind item.Kind, m Mapping, rec item.Record) item.Record {
	sf, err := s.fromItem(kind, m, rec, false)
	if err != nil {
		return rec
	}
	if kind == item.SharedEmail {
		sf["Description"] = emailDescription(rec.Fields) // as LogEmail writes it
	}
	for k, v := range sf {
		switch x := v.(type) {
		case bool:
			sf[k] = fmt.Sprint(x)
		case int:
			sf[k] = fmt.Sprint(x)
		}
	}
	back := s.toItem(kind, m, sf)
	out := item.Record{Fields: map[string]string{}}
	for k := range rec.Fields {
		if v, ok := back.Fields[k]; ok {
			out.Fields[k] = strings.TrimSpace(v)
		}
	}
	return out
}
