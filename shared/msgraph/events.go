package msgraph

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/item"
)

// Event mapping, canonical field ↔ Graph event property:
//
//	Subject subject            Start/End start/end (UTC)
//	AllDay  isAllDay           Location location.displayName
//	Description body (text)    Attendees attendees[].emailAddress.address (read only)
//	Recurrence recurrence (RRULE ↔ patternedRecurrence, on the series master)
//	Cancelled  the pattern's dates with no instance (cancel.go)
//
// Occurrences are folded into their series master's record; exceptions are
// records of their own with SeriesID (the master's id) and OriginalStart.

// graphTime is Graph's dateTime layout in dateTimeTimeZone values.
const graphTime = "2006-01-02T15:04:05.0000000"

// parseDateTimeTZ reads a dateTimeTimeZone as an instant, in its zone (a
// Windows or IANA name). A missing value is the zero time; an unknown zone
// or a malformed date is an error, never a guess.
func parseDateTimeTZ(v *wireDateTimeTZ) (time.Time, error) {
	if v == nil || v.DateTime == "" {
		return time.Time{}, nil
	}
	loc, err := location(v.TimeZone)
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, v.DateTime, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed date and time %q", v.DateTime)
}

// parseDate reads the date of an all-day event's start or end. Graph
// reports all-day events at midnight in the zone they were made in, whatever
// zone the request preferred: the date is the calendar date as written,
// never converted (an all-day event on 10 August is 10 August everywhere).
func parseDate(v *wireDateTimeTZ) (time.Time, error) {
	if v == nil || v.DateTime == "" {
		return time.Time{}, nil
	}
	if len(v.DateTime) < len(time.DateOnly) {
		return time.Time{}, fmt.Errorf("malformed date %q", v.DateTime)
	}
	d, err := time.Parse(time.DateOnly, v.DateTime[:len(time.DateOnly)])
	if err != nil {
		return time.Time{}, fmt.Errorf("malformed date %q", v.DateTime)
	}
	return d, nil
}

func formatDateTimeTZ(t time.Time) wireDateTimeTZ {
	return wireDateTimeTZ{DateTime: t.UTC().Format(graphTime), TimeZone: "UTC"}
}

// formatDateTimeIn writes an instant as wall-clock time in loc: a series'
// start and end go in its own zone, so that Outlook shows them there.
func formatDateTimeIn(t time.Time, loc *time.Location) wireDateTimeTZ {
	if loc == time.UTC {
		return formatDateTimeTZ(t)
	}
	return wireDateTimeTZ{DateTime: t.In(loc).Format(graphTime), TimeZone: graphZone(loc)}
}

// eventRecord maps a Graph event (single, exception or series master).
func eventRecord(w wireEvent) (item.Record, error) {
	f := map[string]string{
		item.Subject:     deref(w.Subject),
		item.Start:       "",
		item.End:         "",
		item.AllDay:      "false",
		item.Location:    "",
		item.Description: "",
		item.Attendees:   "",
		item.Recurrence:  "",
		item.TimeZone:    "",
	}
	read := parseDateTimeTZ
	if w.IsAllDay != nil && *w.IsAllDay {
		f[item.AllDay] = "true"
		read = parseDate
	}
	start, err := read(w.Start)
	if err != nil {
		return item.Record{}, err
	}
	end, err := read(w.End)
	if err != nil {
		return item.Record{}, err
	}
	if !start.IsZero() {
		f[item.Start] = start.Format(time.RFC3339)
	}
	if !end.IsZero() {
		f[item.End] = end.Format(time.RFC3339)
	}
	if f[item.AllDay] == "true" && !end.After(start) {
		return item.Record{}, fmt.Errorf("an all-day event must end on a later date than it starts (%s to %s)", f[item.Start], f[item.End])
	}
	if w.Location != nil {
		f[item.Location] = w.Location.DisplayName
	}
	if w.Body != nil {
		f[item.Description] = bodyText(*w.Body)
	}
	var att []string
	for _, a := range w.Attendees {
		if a.EmailAddress.Address != "" {
			att = append(att, strings.ToLower(a.EmailAddress.Address))
		}
	}
	slices.Sort(att)
	f[item.Attendees] = strings.Join(slices.Compact(att), ",")
	readMeeting(w, f)
	rule, err := rrule(w.Recurrence)
	if err != nil {
		return item.Record{}, err
	}
	f[item.Recurrence] = rule
	if rule != "" {
		// A series' zone: its recurrenceTimeZone (a Windows or IANA name),
		// else the zone it was made in, read as an IANA name.
		loc, err := location(seriesZone(w))
		if err != nil {
			return item.Record{}, err
		}
		f[item.TimeZone] = loc.String()
		if !start.IsZero() {
			f[item.Recurrence] = utcUntil(rule, start, loc)
		}
	}
	if w.Type == "exception" && w.SeriesMasterID != "" {
		f[item.SeriesID] = w.SeriesMasterID
		if t := parseInstant(w.OriginalStart); !t.IsZero() {
			f[item.OriginalStart] = t.Format(time.RFC3339)
		}
	}
	return item.Record{
		Kind:       item.Event,
		ID:         w.ID,
		Version:    w.ChangeKey,
		Modified:   parseInstant(w.LastModifiedDateTime),
		Fields:     normalized(f),
		Categories: w.Categories,
		Marker:     extProp(w.ExtProps, markerProp),
	}, nil
}

// readMeeting reads who organized the event and the user's answer, and
// brings an online meeting's join link to the CRM: as the Location when the
// event has none, else at the end of the Description (once).
func readMeeting(w wireEvent, f map[string]string) {
	f[item.Invitation] = "false"
	if w.IsOrganizer != nil && !*w.IsOrganizer {
		f[item.Invitation] = "true"
	}
	if w.Organizer != nil {
		f[item.Organizer] = strings.ToLower(strings.TrimSpace(w.Organizer.EmailAddress.Address))
	}
	if w.ResponseStatus != nil {
		f[item.Response] = w.ResponseStatus.Response
	}
	join := w.OnlineMeetingURL
	if w.OnlineMeeting != nil && w.OnlineMeeting.JoinURL != "" {
		join = w.OnlineMeeting.JoinURL
	}
	switch {
	case join == "":
	case strings.TrimSpace(f[item.Location]) == "":
		f[item.Location] = join
	case !strings.Contains(f[item.Description], join):
		f[item.Description] = strings.TrimRight(f[item.Description], "\n") + "\n\n" + joinLabel + join
		f[item.Description] = strings.TrimLeft(f[item.Description], "\n")
	}
}

// joinLabel introduces a meeting's join link in the Description.
const joinLabel = "Join the online meeting: "

// organizerFields are the event fields only the organizer changes: never
// written to an invitation.
var organizerFields = []string{item.Subject, item.Start, item.End, item.AllDay, item.Location, item.Description,
	item.Recurrence, item.Cancelled, item.TimeZone, item.Attendees}

// eventBody maps the fields present in f to a Graph event body. start is the
// event's start (needed for the recurrence's start date) when f lacks Start.
func eventBody(f map[string]string, start time.Time) (map[string]any, error) {
	b := map[string]any{}
	if v, ok := f[item.Subject]; ok {
		b["subject"] = v
	}
	// A series is written in its own zone (item.TimeZone), so that its
	// meetings keep their local time across a daylight-saving change the
	// way the other side's do; anything else in UTC.
	loc, err := seriesLocation(f)
	if err != nil {
		return nil, err
	}
	if f[item.SeriesID] != "" || f[item.AllDay] == "true" {
		loc = time.UTC
	}
	for _, k := range []string{item.Start, item.End} {
		v, ok := f[k]
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, badField(k, "want an RFC 3339 instant")
		}
		if k == item.Start {
			start = t
		}
		// An all-day event's Start and End are dates (midnight UTC in
		// canonical form): written as midnight UTC, read back by date.
		b[strings.ToLower(k)] = formatDateTimeIn(t, loc)
	}
	if v, ok := f[item.AllDay]; ok {
		b["isAllDay"] = v == "true"
	}
	if v, ok := f[item.Location]; ok {
		b["location"] = wireLocation{DisplayName: v}
	}
	if v, ok := f[item.Description]; ok {
		b["body"] = wireBody{ContentType: "text", Content: v}
	}
	// Attendees are read, never written: adding them to an event sends
	// meeting invitations from the user's mailbox to those people.
	if v, ok := f[item.Recurrence]; ok && f[item.SeriesID] == "" {
		// An exception never carries a recurrence of its own.
		r, err := recurrenceIn(v, start, loc)
		if err != nil {
			return nil, err
		}
		b["recurrence"] = r // nil clears it
	}
	return b, nil
}
