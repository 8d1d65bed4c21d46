package google

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// EventsPage is events.list's largest page.
const EventsPage = 2500

type wireTime struct {
	Date     string `json:"date,omitempty"`
	DateTime string `json:"dateTime,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

type wireEvent struct {
	ID                string    `json:"id,omitempty"`
	Etag              string    `json:"etag,omitempty"`
	Status            string    `json:"status,omitempty"`
	Summary           string    `json:"summary,omitempty"`
	Description       string    `json:"description,omitempty"`
	Location          string    `json:"location,omitempty"`
	Start             *wireTime `json:"start,omitempty"`
	End               *wireTime `json:"end,omitempty"`
	Recurrence        []string  `json:"recurrence,omitempty"`
	RecurringEventID  string    `json:"recurringEventId,omitempty"`
	OriginalStartTime *wireTime `json:"originalStartTime,omitempty"`
	Updated           string    `json:"updated,omitempty"`
	ColorID           string    `json:"colorId,omitempty"`
	Organizer         *struct {
		Email string `json:"email"`
		Self  bool   `json:"self"`
	} `json:"organizer,omitempty"`
	Attendees []struct {
		Email          string `json:"email"`
		Self           bool   `json:"self"`
		ResponseStatus string `json:"responseStatus"`
	} `json:"attendees,omitempty"`
	ExtendedProperties *struct {
		Private map[string]string `json:"private,omitempty"`
	} `json:"extendedProperties,omitempty"`
}

// eventCursor holds one sync token per calendar and, with push, its watch
// channel.
type eventCursor struct {
	Tokens  map[string]string     `json:"t"`
	Watches map[string]watchState `json:"w,omitempty"`
}

const eventCursorPrefix = "events2|"

func (c eventCursor) String() string {
	b, _ := json.Marshal(c)
	return eventCursorPrefix + string(b)
}

func parseEventCursor(s string) (eventCursor, bool) {
	rest, ok := strings.CutPrefix(s, eventCursorPrefix)
	var c eventCursor
	ok = ok && json.Unmarshal([]byte(rest), &c) == nil && c.Tokens != nil
	return c, ok
}

func calendars(scope item.Scope) []string {
	if len(scope.Calendars) == 0 {
		return []string{"primary"}
	}
	return scope.Calendars
}

// An event's record ID is its event id on the primary calendar and
// "<calendar>|<event id>" on another.
func eventID(cal, id string) string {
	if cal == "primary" {
		return id
	}
	return cal + "|" + id
}

func splitEventID(id string) (cal, ev string) {
	if c, e, ok := strings.Cut(id, "|"); ok {
		return c, e
	}
	return "primary", id
}

func (s *Side) eventsURL(cal string) string {
	return s.c.cal + "/calendar/v3/calendars/" + url.PathEscape(cal) + "/events"
}

// listEvents reads events.list to the end. A full read limits the window;
// an incremental one carries only the token, which may not be combined with
// timeMin or the other filters (trap 1). Series come as masters with their
// exceptions (singleEvents=false), so an occurrence never doubles a record.
func (s *Side) listEvents(ctx context.Context, cal, token string, scope item.Scope) ([]wireEvent, string, error) {
	q := url.Values{"singleEvents": {"false"}, "maxResults": {"2500"}}
	if token != "" {
		q.Set("syncToken", token)
	} else {
		if !scope.From.IsZero() {
			q.Set("timeMin", scope.From.UTC().Format(time.RFC3339))
		}
		if !scope.To.IsZero() {
			q.Set("timeMax", scope.To.UTC().Format(time.RFC3339))
		}
	}
	var all []wireEvent
	for {
		var w struct {
			Items         []wireEvent `json:"items"`
			NextPageToken string      `json:"nextPageToken"`
			NextSyncToken string      `json:"nextSyncToken"`
		}
		if err := s.c.do(ctx, "GET", s.eventsURL(cal)+"?"+q.Encode(), nil, &w); err != nil {
			return nil, "", err
		}
		all = append(all, w.Items...)
		if w.NextPageToken == "" {
			return all, w.NextSyncToken, nil
		}
		q.Set("pageToken", w.NextPageToken)
	}
}

func (s *Side) eventChanges(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	prev, ok := parseEventCursor(cursor)
	full := cursor == "" || !ok
	next := eventCursor{Tokens: map[string]string{}}
	ch := item.Changes{Kind: item.Event, Full: full}
	var reads []struct {
		cal  string
		evs  []wireEvent
		full bool
	}
	for _, cal := range calendars(scope) {
		tok := ""
		if !full {
			tok = prev.Tokens[cal]
		}
		evs, nt, err := s.listEvents(ctx, cal, tok, scope)
		if tok != "" && fault.Is(err, fault.Expired) {
			// 410: wipe this calendar's cursor and read it in full (trap 3).
			evs, nt, err = s.listEvents(ctx, cal, "", scope)
			tok = ""
		}
		if err != nil {
			return item.Changes{}, err
		}
		next.Tokens[cal] = nt
		if s.watch != nil {
			if next.Watches == nil {
				next.Watches = map[string]watchState{}
			}
			next.Watches[cal] = s.renewWatch(ctx, cal, prev.Watches[cal])
		}
		reads = append(reads, struct {
			cal  string
			evs  []wireEvent
			full bool
		}{cal, evs, tok == ""})
	}
	// Channels of calendars no longer synced (or all, with push off) stop:
	// they would start sessions for nothing until they expire.
	s.stopLeftWatches(ctx, prev.Watches, next.Watches)
	// One calendar read in full makes the whole answer Full: the planner
	// then matches on links instead of taking absence as deletion.
	for _, r := range reads {
		if r.full {
			ch.Full = true
		}
	}
	for _, r := range reads {
		for _, e := range r.evs {
			id := eventID(r.cal, e.ID)
			if e.Status == "cancelled" {
				// A cancelled series, single event or occurrence (trap 3).
				if !ch.Full {
					ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.Deleted})
				}
				continue
			}
			rec, prob := e.record(r.cal)
			if prob != nil {
				ch.Problems = append(ch.Problems, *prob)
				continue
			}
			if !inWindow(rec, scope) {
				if !ch.Full {
					ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.LeftScope})
				}
				continue
			}
			ch.Records = append(ch.Records, rec)
		}
	}
	ch.Cursor = next.String()
	return ch, nil
}

// inWindow: events overlapping [From, To); a series by its first start.
func inWindow(r item.Record, scope item.Scope) bool {
	st, err1 := time.Parse(time.RFC3339, r.Fields[item.Start])
	en, err2 := time.Parse(time.RFC3339, r.Fields[item.End])
	if err1 != nil || err2 != nil {
		return false
	}
	if !scope.To.IsZero() && !st.Before(scope.To) {
		return false
	}
	if r.Fields[item.Recurrence] != "" {
		return true
	}
	return scope.From.IsZero() || en.After(scope.From)
}

// canonicalTime turns a Calendar time into crmsync's: instants in UTC,
// all-day dates as midnight UTC (never converted between zones).
func canonicalTime(t *wireTime) (string, bool, error) {
	if t == nil {
		return "", false, errMissingTime
	}
	if t.Date != "" {
		d, err := time.Parse(time.DateOnly, t.Date)
		return d.Format(time.RFC3339), true, err
	}
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			return "", false, errUnknownZone
		}
	}
	d, err := time.Parse(time.RFC3339, t.DateTime)
	return d.UTC().Format(time.RFC3339), false, err
}

var (
	errMissingTime = fault.New(fault.Permanent, "missing-time", "the event has no start or end")
	errUnknownZone = fault.New(fault.Permanent, "unknown-time-zone", "the event's time zone is not an IANA name crmsync knows")
)

func (e wireEvent) record(cal string) (item.Record, *item.Problem) {
	start, allDay, err := canonicalTime(e.Start)
	end, _, err2 := canonicalTime(e.End)
	if err == nil {
		err = err2
	}
	if err != nil {
		code := "bad-time"
		if err == errUnknownZone {
			code = "unknown-time-zone"
		}
		return item.Record{}, &item.Problem{ID: eventID(cal, e.ID), Name: e.Summary, Code: code, Reason: "the event's start or end cannot be read: " + err.Error()}
	}
	f := map[string]string{
		item.Subject: e.Summary, item.Description: e.Description, item.Location: e.Location,
		item.Start: start, item.End: end, item.AllDay: boolString(allDay), item.Recurrence: "",
	}
	for _, r := range e.Recurrence {
		if rule, ok := strings.CutPrefix(r, "RRULE:"); ok {
			f[item.Recurrence] = rule
		}
	}
	if e.RecurringEventID != "" {
		f[item.SeriesID] = eventID(cal, e.RecurringEventID)
		if o, _, err := canonicalTime(e.OriginalStartTime); err == nil {
			f[item.OriginalStart] = o
		}
	}
	e.readMeeting(f)
	r := item.Record{Kind: item.Event, ID: eventID(cal, e.ID), Version: e.Etag, Fields: f}
	if e.ExtendedProperties != nil {
		r.Marker = e.ExtendedProperties.Private[markerKey]
		if e.ExtendedProperties.Private[issueKey] != "" {
			r.Categories = []string{IssueCategory}
		}
	}
	if u, err := time.Parse(time.RFC3339Nano, e.Updated); err == nil {
		r.Modified = u
	}
	return r, nil
}

// responses maps Calendar's responseStatus to crmsync's Response values.
var responses = map[string]string{"needsAction": "notResponded", "accepted": "accepted", "declined": "declined", "tentative": "tentativelyAccepted"}

// readMeeting reads who organized the event and the user's answer: an event
// whose organizer is someone else is the user's copy of their invitation.
func (e wireEvent) readMeeting(f map[string]string) {
	f[item.Invitation] = boolString(e.invitation())
	if e.Organizer != nil {
		f[item.Organizer] = strings.ToLower(e.Organizer.Email)
	}
	switch {
	case !e.invitation():
		f[item.Response] = "organizer"
	default:
		f[item.Response] = "none"
		for _, a := range e.Attendees {
			if a.Self {
				f[item.Response] = responses[a.ResponseStatus]
			}
		}
	}
}

func (e wireEvent) invitation() bool { return e.Organizer != nil && !e.Organizer.Self }

// organizerFields are what only the organizer of a meeting changes.
var organizerFields = []string{item.Subject, item.Start, item.End, item.AllDay, item.Location, item.Description, item.Recurrence, item.Attendees}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// eventTimes writes Start/End into the body, as dates for all-day events.
func eventTimes(body map[string]any, start, end string, allDay bool) error {
	for k, v := range map[string]string{"start": start, "end": end} {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return &fault.Error{Class: fault.Permanent, Code: "bad_time", Message: k + " " + v + " is not an RFC 3339 instant", Fields: []string{item.Start, item.End}}
		}
		if allDay {
			body[k] = map[string]any{"date": t.UTC().Format(time.DateOnly)}
		} else {
			body[k] = map[string]any{"dateTime": t.UTC().Format(time.RFC3339), "timeZone": "UTC"}
		}
	}
	return nil
}

// eventBody builds a PATCH body from canonical fields over the current event.
// On an invitation the organizer's fields are never written (the user's
// copy would drift from the meeting, and Google would send updates).
func eventBody(cur wireEvent, f map[string]string) (map[string]any, error) {
	body := map[string]any{}
	if cur.invitation() {
		kept := map[string]string{}
		for k, v := range f {
			if !slices.Contains(organizerFields, k) {
				kept[k] = v
			}
		}
		f = kept
	}
	for k, v := range f {
		switch k {
		case item.Subject:
			body["summary"] = v
		case item.Description:
			body["description"] = v
		case item.Location:
			body["location"] = v
		case item.Recurrence:
			if cur.RecurringEventID == "" {
				if v == "" {
					body["recurrence"] = nil
				} else {
					body["recurrence"] = []string{"RRULE:" + strings.TrimPrefix(v, "RRULE:")}
				}
			}
		}
	}
	_, hasS := f[item.Start]
	_, hasE := f[item.End]
	_, hasA := f[item.AllDay]
	if hasS || hasE || hasA {
		start, allDay, _ := canonicalTime(cur.Start)
		end, _, _ := canonicalTime(cur.End)
		if v, ok := f[item.Start]; ok {
			start = v
		}
		if v, ok := f[item.End]; ok {
			end = v
		}
		if v, ok := f[item.AllDay]; ok {
			allDay = v == "true"
		}
		if err := eventTimes(body, start, end, allDay); err != nil {
			return nil, err
		}
	}
	return body, nil
}

// newEventBody is the insert body of a new event.
func newEventBody(f map[string]string, marker string) (map[string]any, error) {
	body, err := eventBody(wireEvent{}, f)
	if err != nil {
		return nil, err
	}
	if _, ok := body["start"]; !ok {
		return nil, &fault.Error{Class: fault.Permanent, Code: "missing_time", Message: "an event needs a start and an end", Fields: []string{item.Start, item.End}}
	}
	if body["recurrence"] == nil {
		delete(body, "recurrence")
	}
	if marker != "" {
		body["extendedProperties"] = map[string]any{"private": map[string]string{markerKey: marker}}
	}
	return body, nil
}

func (s *Side) createEvent(ctx context.Context, f map[string]string, marker string) (string, error) {
	if f[item.SeriesID] != "" {
		return s.createException(ctx, f)
	}
	body, err := newEventBody(f, marker)
	if err != nil {
		return "", err
	}
	var got wireEvent
	cal := calendars(s.scopeOf(item.Event))[0]
	err = s.c.do(ctx, "POST", s.eventsURL(cal)+"?sendUpdates=none", body, &got)
	return eventID(cal, got.ID), err
}

// createException changes one occurrence of a series: the instance's id is
// the series id and the occurrence's original start (UTC, basic format).
func (s *Side) createException(ctx context.Context, f map[string]string) (string, error) {
	cal, series := splitEventID(f[item.SeriesID])
	orig, err := time.Parse(time.RFC3339, f[item.OriginalStart])
	if err != nil {
		return "", &fault.Error{Class: fault.Permanent, Code: "bad_time", Message: "an exception needs its original start", Fields: []string{item.OriginalStart}}
	}
	id := series + "_" + orig.UTC().Format("20060102T150405Z")
	rest := map[string]string{}
	for k, v := range f {
		if k != item.SeriesID && k != item.OriginalStart && k != item.Recurrence {
			rest[k] = v
		}
	}
	if err := s.patchEvent(ctx, cal, id, rest); err != nil {
		return "", err
	}
	return eventID(cal, id), nil
}

func (s *Side) getEvent(ctx context.Context, cal, id string) (wireEvent, error) {
	var e wireEvent
	err := s.c.do(ctx, "GET", s.eventsURL(cal)+"/"+url.PathEscape(id), nil, &e)
	if err == nil && e.Status == "cancelled" {
		err = fault.New(fault.Gone, "deleted", "the event was deleted")
	}
	return e, err
}

// patchEvent reads the event (an occurrence not yet changed reads as the
// series) and patches it with If-Match, reading again on 412.
func (s *Side) patchEvent(ctx context.Context, cal, id string, f map[string]string) error {
	return s.modifyEvent(ctx, cal, id, func(cur wireEvent) (map[string]any, error) { return eventBody(cur, f) })
}

func (s *Side) modifyEvent(ctx context.Context, cal, id string, change func(wireEvent) (map[string]any, error)) error {
	var err error
	for range 3 {
		var cur wireEvent
		cur, err = s.getEvent(ctx, cal, id)
		etag := cur.Etag
		if fault.Is(err, fault.Gone) && strings.Contains(id, "_") && !isCode(err, "deleted") {
			// An unchanged occurrence: start from the series, no etag yet.
			series, _, _ := strings.Cut(id, "_")
			if cur, err = s.getEvent(ctx, cal, series); err == nil {
				cur.Recurrence, cur.RecurringEventID, etag = nil, series, ""
			}
		}
		if err != nil {
			return err
		}
		var body map[string]any
		body, err = change(cur)
		if err != nil || len(body) == 0 {
			return err
		}
		var hdr []string
		if etag != "" {
			hdr = []string{"If-Match", etag}
		}
		err = s.c.do(ctx, "PATCH", s.eventsURL(cal)+"/"+url.PathEscape(id)+"?sendUpdates=none", body, nil, hdr...)
		if !isCode(err, codeConflict) {
			return err
		}
	}
	return err
}

func (s *Side) updateEvent(ctx context.Context, id string, f map[string]string) error {
	cal, ev := splitEventID(id)
	return s.patchEvent(ctx, cal, ev, f)
}

func (s *Side) deleteEvent(ctx context.Context, id string) error {
	cal, ev := splitEventID(id)
	return s.c.do(ctx, "DELETE", s.eventsURL(cal)+"/"+url.PathEscape(ev)+"?sendUpdates=none", nil, nil)
}

// flagEvent marks the event privately and colours it red (colorId 11,
// "Tomato"); clearing restores the colour it had.
func (s *Side) flagEvent(ctx context.Context, id string, failing bool) error {
	cal, ev := splitEventID(id)
	return s.modifyEvent(ctx, cal, ev, func(cur wireEvent) (map[string]any, error) {
		priv := map[string]string{}
		if cur.ExtendedProperties != nil {
			for k, v := range cur.ExtendedProperties.Private {
				priv[k] = v
			}
		}
		body := map[string]any{}
		if failing && priv[issueKey] == "" {
			priv[issueKey] = "color:" + cur.ColorID
			body["colorId"] = "11"
		} else if !failing && priv[issueKey] != "" {
			old := strings.TrimPrefix(priv[issueKey], "color:")
			delete(priv, issueKey)
			body["colorId"] = old
			if old == "" {
				body["colorId"] = nil
			}
		} else {
			return nil, nil
		}
		body["extendedProperties"] = map[string]any{"private": priv}
		return body, nil
	})
}

// findEvents asks Calendar for each marker (privateExtendedProperty, a
// filter a sync-token read may not carry, so a listing of its own).
func (s *Side) findEvents(ctx context.Context, want map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	for m := range want {
		q := url.Values{"privateExtendedProperty": {markerKey + "=" + m}, "singleEvents": {"false"}}
		var w struct {
			Items []wireEvent `json:"items"`
		}
		for _, cal := range calendars(s.scopeOf(item.Event)) {
			if err := s.c.do(ctx, "GET", s.eventsURL(cal)+"?"+q.Encode(), nil, &w); err != nil {
				return nil, err
			}
			for _, e := range w.Items {
				if e.Status != "cancelled" && e.RecurringEventID == "" {
					out[m] = eventID(cal, e.ID)
				}
			}
		}
	}
	return out, nil
}

// createEvents writes events through Calendar's batch endpoint; exceptions
// of a series go alone (they read the series first).
func (s *Side) createEvents(ctx context.Context, recs []item.Record, markers []string) ([]side.Result, error) {
	cal := calendars(s.scopeOf(item.Event))[0]
	marker := func(i int) string {
		if i < len(markers) {
			return markers[i]
		}
		return ""
	}
	return s.batchCreate(ctx, s.c.cal+"/batch/calendar/v3", len(recs),
		func(i int) (batchCall, error) {
			if recs[i].Fields[item.SeriesID] != "" {
				return batchCall{}, nil
			}
			body, err := newEventBody(recs[i].Fields, marker(i))
			return batchCall{method: "POST", path: pathOf(s.eventsURL(cal) + "?sendUpdates=none"), body: body}, err
		},
		func(i int) (string, error) { return s.createEvent(ctx, recs[i].Fields, marker(i)) },
		func(b json.RawMessage) string {
			var e wireEvent
			_ = json.Unmarshal(b, &e)
			return eventID(cal, e.ID)
		})
}
