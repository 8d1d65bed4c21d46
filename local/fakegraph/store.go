package fakegraph

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/winzone"
)

// Kinds of stored objects.
const (
	kContact       = "contact"
	kContactFolder = "contactFolder"
	kEvent         = "event"
	kTask          = "todoTask"
	kTaskList      = "todoTaskList"
	kMessage       = "message"
	kMailFolder    = "mailFolder"
	kCategory      = "outlookCategory"
	kCalendar      = "calendar"
	kUser          = "user"
)

// entry is one stored object. obj holds its Graph properties except id.
type entry struct {
	kind      string
	id        string // immutable id
	restID    string // default id: changes when a message moves
	container string
	obj       map[string]any
	deleted   bool
	created   time.Time
	modified  time.Time
	version   int
	// events: cancelled occurrences of a series, by original start (RFC 3339).
	cancelled map[string]bool
	// messages: attachments in order.
	attachments []*attachment
	// tasks: linked resources.
	linked []map[string]any
	// events the mailbox organized: the copies in attendees' calendars.
	copies []copyRef
	// the seq of the creating change, for stable listing order.
	seq int64
}

// copyRef names an attendee's copy of a meeting.
type copyRef struct {
	m  *mailbox
	id string
}

type attachment struct {
	id          string
	name        string
	contentType string
	content     []byte
	inline      bool
}

// change is one line of a mailbox's change log, used by delta queries.
type change struct {
	seq       int64
	id        string
	kind      string
	container string
	// props are the properties a PATCH changed; nil for a create, a move, a
	// delete or any other change of the whole item.
	props []string
}

// mailbox is one user's data.
type mailbox struct {
	id   string
	upn  string
	name string

	// calendar is the id of the mailbox's default calendar.
	calendar string
	// roles are the user's directory roles by display name (roles.go).
	roles []string

	entries map[string]*entry // by immutable id
	rest    map[string]string // default id → immutable id
	log     []change
	seq     int64
	gen     int // delta token generation; bumping it expires every token
	epoch   int // delta token format epoch; bumping it makes every token malformed

	// rounds are the delta rounds being paged through (deltapages.go).
	rounds roundCache

	inFlight    int
	maxInFlight int
	requests    int
	throttle    int // next n requests answer 429
	throttlePt  int // next n batch parts answer 429
	failDeletes int // next n DELETE batch parts answer 503
	retryAfter  time.Duration
}

func (m *mailbox) get(id string) *entry {
	if e, ok := m.entries[id]; ok {
		return e
	}
	if im, ok := m.rest[id]; ok {
		return m.entries[im]
	}
	return nil
}

func (m *mailbox) logChange(e *entry) {
	m.seq++
	m.log = append(m.log, change{seq: m.seq, id: e.id, kind: e.kind, container: e.container})
}

// add stores a new object.
func (s *Server) add(m *mailbox, kind, container string, obj map[string]any) *entry {
	now := s.now()
	e := &entry{kind: kind, id: s.newID(kind), container: container, obj: obj, created: now, modified: now}
	e.restID = e.id
	if kind == kMessage {
		e.restID = s.newID("rest")
	}
	m.entries[e.id] = e
	m.rest[e.restID] = e.id
	m.logChange(e)
	e.seq = m.seq
	return e
}

// touchProps records a PATCH of e that changed only props, so a messages
// delta can answer it with a lightweight entry.
func (s *Server) touchProps(m *mailbox, e *entry, props []string) {
	s.touch(m, e)
	m.log[len(m.log)-1].props = props
}

// touch records a change to e.
func (s *Server) touch(m *mailbox, e *entry) {
	e.modified = s.now()
	if !e.modified.After(e.created) {
		e.modified = e.created.Add(time.Duration(e.version+1) * time.Millisecond)
	}
	e.version++
	m.logChange(e)
}

// remove deletes e (kept as a tombstone for delta).
func (s *Server) remove(m *mailbox, e *entry) {
	e.deleted = true
	s.touch(m, e)
}

// move puts a message into another folder; its default id changes.
func (s *Server) move(m *mailbox, e *entry, folder string) {
	m.seq++
	m.log = append(m.log, change{seq: m.seq, id: e.id, kind: e.kind, container: e.container})
	e.container = folder
	delete(m.rest, e.restID)
	e.restID = s.newID("rest")
	m.rest[e.restID] = e.id
	s.touch(m, e)
}

// list returns live entries of kind in container ("" = any), oldest first.
func (m *mailbox) list(kind, container string) []*entry {
	var out []*entry
	for _, e := range m.entries {
		if e.kind == kind && !e.deleted && (container == "" || e.container == container) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return int(a.seq - b.seq) })
	return out
}

func (s *Server) newID(kind string) string {
	s.idSeq++
	return fmt.Sprintf("AAMk%s%08dAA", strings.ToUpper(kind[:2]), s.idSeq)
}

// changeKey is the entry's version marker.
func (e *entry) changeKey() string {
	return fmt.Sprintf("CQAAA%s%d", e.id[len(e.id)-6:], e.version)
}

// allowed lists the writable properties of each kind; anything else is
// rejected as Graph does.
var allowed = map[string][]string{
	kContact: {"givenName", "surname", "middleName", "displayName", "emailAddresses", "businessPhones", "homePhones",
		"mobilePhone", "jobTitle", "department", "companyName", "businessAddress", "homeAddress", "personalNotes", "categories",
		"nickName", "officeLocation", "profession", "assistantName", "manager", "spouseName",
		"singleValueExtendedProperties"},
	kEvent: {"subject", "body", "start", "end", "isAllDay", "location", "attendees", "recurrence", "categories",
		"singleValueExtendedProperties", "showAs", "importance", "sensitivity", "isReminderOn", "reminderMinutesBeforeStart",
		"isOnlineMeeting", "onlineMeetingProvider"},
	kTask: {"title", "body", "dueDateTime", "status", "importance", "categories", "linkedResources", "isReminderOn",
		"reminderDateTime", "startDateTime", "completedDateTime"},
	kMessage: {"subject", "body", "from", "toRecipients", "ccRecipients", "bccRecipients", "categories",
		"singleValueExtendedProperties", "isRead", "importance", "attachments", "sentDateTime", "receivedDateTime", "flag",
		"internetMessageId"},
	kCalendar:      {"name", "color"},
	kContactFolder: {"displayName"},
	kMailFolder:    {"displayName"},
	kTaskList:      {"displayName"},
	kCategory:      {"displayName", "color"},
}

// validate checks a write body's properties for kind.
func validate(kind string, body map[string]any) *apiError {
	for k, v := range body {
		if k == "@odata.type" {
			continue
		}
		if !slices.Contains(allowed[kind], k) {
			return badRequest("RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.%s'.", k, kind))
		}
		switch k {
		case "start", "end", "dueDateTime":
			if v == nil && k == "dueDateTime" {
				continue
			}
			dt, ok := v.(map[string]any)
			if !ok {
				return badRequest("RequestBodyRead", k+" must be a dateTimeTimeZone")
			}
			if _, err := zoneOf(str(dt["timeZone"])); err != nil {
				return badRequest("TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+str(dt["timeZone"])+"'.")
			}
			if _, err := parseDTZ(dt); err != nil {
				return badRequest("RequestBodyRead", k+": "+err.Error())
			}
		case "status":
			if !slices.Contains([]string{"notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"}, str(v)) {
				return badRequest("RequestBodyRead", "bad status value")
			}
		case "flag":
			fl, ok := v.(map[string]any)
			if !ok || !slices.Contains([]string{"notFlagged", "complete", "flagged"}, str(fl["flagStatus"])) {
				return badRequest("RequestBodyRead", "flag must be a followupFlag with flagStatus notFlagged, complete or flagged")
			}
		case "importance":
			if !slices.Contains([]string{"low", "normal", "high"}, str(v)) {
				return badRequest("RequestBodyRead", "bad importance value")
			}
		case "categories":
			if _, ok := v.([]any); !ok {
				return badRequest("RequestBodyRead", "categories must be an array")
			}
		case "recurrence":
			if v == nil {
				continue
			}
			if _, err := parseRecurrence(v); err != nil {
				return badRequest("RequestBodyRead", "recurrence: "+err.Error())
			}
		}
	}
	return nil
}

// merge applies a PATCH body; extended properties merge by id.
func merge(obj, body map[string]any) {
	for k, v := range body {
		if k == "@odata.type" {
			continue
		}
		if k == "singleValueExtendedProperties" {
			cur, _ := obj[k].([]any)
			for _, nv := range asSlice(v) {
				np, _ := nv.(map[string]any)
				replaced := false
				for i, cv := range cur {
					cp, _ := cv.(map[string]any)
					if strings.EqualFold(str(cp["id"]), str(np["id"])) {
						cur[i] = np
						replaced = true
					}
				}
				if !replaced {
					cur = append(cur, np)
				}
			}
			obj[k] = cur
			continue
		}
		obj[k] = v
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// clone deep-copies a JSON object.
func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// zoneOf resolves a time-zone name as Graph accepts one: a Windows name
// (CLDR's windowsZones table), an IANA name, or UTC.
func zoneOf(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	if iana, ok := winzone.IANA(name); ok {
		name = iana
	}
	if strings.EqualFold(name, "Local") {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return l, nil
}

// parseDTZ reads a dateTimeTimeZone object as an instant.
func parseDTZ(dt map[string]any) (time.Time, error) {
	s := str(dt["dateTime"])
	loc, err := zoneOf(str(dt["timeZone"]))
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad dateTime %q", s)
}

func dtz(t time.Time) map[string]any {
	return map[string]any{"dateTime": t.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
}

// dtzIn formats t as a dateTimeTimeZone in the named zone (the name is
// reported as given, as Graph echoes the Prefer header's zone).
func dtzIn(t time.Time, zone string) map[string]any {
	loc, err := zoneOf(zone)
	if err != nil || zone == "" {
		return dtz(t)
	}
	return map[string]any{"dateTime": t.In(loc).Format("2006-01-02T15:04:05.0000000"), "timeZone": zone}
}

// eventTimes puts an event's start and end in the zone the request
// preferred (UTC without a preference). An all-day event keeps its own
// zone's midnights whatever was preferred, as Graph answers.
func eventTimes(out map[string]any, tz string) {
	allDay, _ := out["isAllDay"].(bool)
	for _, k := range []string{"start", "end"} {
		v := asMap(out[k])
		if t, err := parseDTZ(v); err == nil && v != nil {
			if allDay {
				out[k] = dtzIn(t, or(str(v["timeZone"]), "UTC"))
			} else {
				out[k] = dtzIn(t, or(tz, "UTC"))
			}
		}
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// render shapes an entry for a response.
func (s *Server) render(e *entry, q query) map[string]any {
	out := clone(e.obj)
	out["id"] = e.id
	if !q.immutable {
		out["id"] = e.restID
	}
	out["@odata.etag"] = `W/"` + e.changeKey() + `"`
	out["lastModifiedDateTime"] = e.modified.UTC().Format(time.RFC3339Nano)
	out["createdDateTime"] = e.created.UTC().Format(time.RFC3339Nano)
	switch e.kind {
	case kContact, kEvent, kMessage:
		out["changeKey"] = e.changeKey()
		if _, ok := out["categories"]; !ok {
			out["categories"] = []any{}
		}
	case kTask:
		if _, ok := out["categories"]; !ok {
			out["categories"] = []any{}
		}
		if _, ok := out["status"]; !ok {
			out["status"] = "notStarted"
		}
		if _, ok := out["importance"]; !ok {
			out["importance"] = "normal"
		}
		delete(out, "linkedResources")
		if q.expandLinked {
			var lr []any
			for _, l := range e.linked {
				lr = append(lr, maps.Clone(l))
			}
			out["linkedResources"] = lr
		}
	case kCalendar:
		delete(out, "lastModifiedDateTime")
		delete(out, "createdDateTime")
		delete(out, "@odata.etag")
		out["changeKey"] = e.changeKey()
		if _, ok := out["isDefaultCalendar"]; !ok {
			out["isDefaultCalendar"] = false
		}
		out["canEdit"] = true
	case kContactFolder, kMailFolder, kTaskList, kCategory:
		delete(out, "changeKey")
		delete(out, "lastModifiedDateTime")
		delete(out, "createdDateTime")
		delete(out, "@odata.etag")
	}
	if e.kind == kContact || e.kind == kMessage {
		out["parentFolderId"] = e.container
	}
	if e.kind == kMessage {
		out["hasAttachments"] = len(e.attachments) > 0
		delete(out, "attachments")
		// Graph leaves out a message property that has no value: a message
		// without Cc has no ccRecipients at all, a draft no from.
		for _, k := range []string{"toRecipients", "ccRecipients", "bccRecipients", "from", "sender", "subject"} {
			if v, ok := out[k]; ok && (v == nil || v == "" || (asSlice(v) != nil && len(asSlice(v)) == 0)) {
				delete(out, k)
			}
		}
		if _, ok := out["isRead"]; !ok {
			out["isRead"] = false
		}
		if str(out["internetMessageId"]) == "" {
			out["internetMessageId"] = "<" + e.id + "@fakegraph.local>"
		}
		if _, ok := out["flag"]; !ok {
			out["flag"] = map[string]any{"flagStatus": "notFlagged"}
		}
	}
	if e.kind == kEvent {
		if _, ok := out["type"]; !ok {
			out["type"] = "singleInstance"
		}
		// The zones the event was made in stay reported as such.
		out["originalStartTimeZone"] = or(str(asMap(out["start"])["timeZone"]), "UTC")
		out["originalEndTimeZone"] = or(str(asMap(out["end"])["timeZone"]), "UTC")
		eventTimes(out, q.tz)
	}
	props := asSlice(out["singleValueExtendedProperties"])
	delete(out, "singleValueExtendedProperties")
	if len(q.expandProps) > 0 {
		var keep []any
		for _, p := range props {
			if slices.ContainsFunc(q.expandProps, func(id string) bool { return strings.EqualFold(str(p.(map[string]any)["id"]), id) }) {
				keep = append(keep, p)
			}
		}
		if len(keep) > 0 {
			out["singleValueExtendedProperties"] = keep
		}
	}
	return q.project(out)
}
