package fakegoogle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// event is one stored event as JSON fields, plus what the fake interprets.
type event struct {
	id   string
	seq  int64
	body map[string]any
}

// syncForbidden are the events.list parameters a syncToken cannot be combined with.
var syncForbidden = []string{"iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"}

func (s *Server) calendar(w http.ResponseWriter, r *http.Request, u *user) map[string]*event {
	cal := r.PathValue("cal")
	if strings.EqualFold(cal, u.email) {
		cal = "primary"
	}
	evs := u.events[cal]
	if evs == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Not Found")
	}
	return evs
}

func (s *Server) stamp(e *event) {
	e.seq = s.next()
	e.body["etag"] = `"` + strconv.FormatInt(3000000000000000+e.seq, 10) + `"`
	e.body["updated"] = s.now().Format("2006-01-02T15:04:05.000Z")
}

// eventStart is the event's start instant (all-day: midnight UTC of its date).
func eventTime(v any) (time.Time, bool) {
	m, _ := v.(map[string]any)
	if d, ok := m["date"].(string); ok {
		t, err := time.Parse(time.DateOnly, d)
		return t, err == nil
	}
	if dt, ok := m["dateTime"].(string); ok {
		t, err := time.Parse(time.RFC3339, dt)
		return t, err == nil
	}
	return time.Time{}, false
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, u *user) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	q := r.URL.Query()
	size := DefaultEventsPage
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid value for: maxResults")
			return
		}
		size = min(n, MaxEventsPage)
	}
	if q.Get("singleEvents") == "true" {
		legacyError(w, http.StatusNotImplemented, "notImplemented", "The local Google does not expand series (singleEvents=true); read series with singleEvents=false.")
		return
	}
	params := q.Encode()
	if pt := q.Get("pageToken"); pt != "" {
		st := s.pages[pt]
		q.Del("pageToken")
		if st == nil || st.api != "calendar" || st.params != q.Encode() {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid page token value.")
			return
		}
		delete(s.pages, pt)
		s.writeEvents(w, st, size)
		return
	}
	st := &pageState{api: "calendar", params: params}
	var since int64 = -1
	if tok := q.Get("syncToken"); tok != "" {
		for _, p := range syncForbidden {
			if q.Has(p) {
				legacyError(w, http.StatusBadRequest, "invalid", "Sync token cannot be used with the "+p+" parameter.")
				return
			}
		}
		if q.Get("showDeleted") == "false" {
			legacyError(w, http.StatusBadRequest, "invalid", "showDeleted=false cannot be used with a sync token: deletions are always returned.")
			return
		}
		epoch, seq, _, ok := parseSyncToken(tok)
		if !ok {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid sync token value.")
			return
		}
		if epoch != u.epoch["calendar"] {
			legacyError(w, http.StatusGone, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
			return
		}
		since = seq
	}
	var from, to time.Time
	var err error
	if v := q.Get("timeMin"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			legacyError(w, http.StatusBadRequest, "invalid", "Bad Request")
			return
		}
	}
	if v := q.Get("timeMax"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			legacyError(w, http.StatusBadRequest, "invalid", "Bad Request")
			return
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		legacyError(w, http.StatusBadRequest, "timeRangeEmpty", "The specified time range is empty.")
		return
	}
	prop := q["privateExtendedProperty"]
	ids := make([]string, 0, len(evs))
	for id, e := range evs {
		cancelled := e.body["status"] == "cancelled"
		if since >= 0 {
			if e.seq > since {
				ids = append(ids, id)
			}
			continue
		}
		// Cancelled exceptions of a series come back even without showDeleted.
		if cancelled && q.Get("showDeleted") != "true" && e.body["recurringEventId"] == nil {
			continue
		}
		st, _ := eventTime(e.body["start"])
		en, _ := eventTime(e.body["end"])
		_, series := e.body["recurrence"]
		if !to.IsZero() && !st.Before(to) || !from.IsZero() && !series && !en.After(from) {
			continue
		}
		if !hasPrivate(e, prop) {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		st.items = append(st.items, evs[id].body)
	}
	st.syncTok = syncToken(u.epoch["calendar"], s.seq, 0)
	s.writeEvents(w, st, size)
}

func hasPrivate(e *event, want []string) bool {
	ext, _ := e.body["extendedProperties"].(map[string]any)
	priv, _ := ext["private"].(map[string]any)
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if priv[k] != v {
			return false
		}
	}
	return true
}

func (s *Server) writeEvents(w http.ResponseWriter, st *pageState, size int) {
	items, next := s.page(st, size)
	resp := map[string]any{"kind": "calendar#events", "summary": "primary", "timeZone": "UTC", "accessRole": "owner", "items": items}
	if next != "" {
		resp["nextPageToken"] = next
	} else {
		resp["nextSyncToken"] = st.syncTok
	}
	writeJSON(w, http.StatusOK, resp)
}

func decodeMap(r *http.Request) (map[string]any, bool) {
	var m map[string]any
	return m, json.NewDecoder(r.Body).Decode(&m) == nil && m != nil
}

// checkTimes refuses events whose start and end are missing or inverted.
func checkTimes(b map[string]any) string {
	st, ok1 := eventTime(b["start"])
	en, ok2 := eventTime(b["end"])
	switch {
	case !ok1 || !ok2:
		return "Missing end time."
	case en.Before(st):
		return "The specified time range is empty."
	}
	return ""
}

func (s *Server) insertEvent(w http.ResponseWriter, r *http.Request, u *user) {
	s.addEvent(w, r, u, false)
}

// importEvent is events.import: a private copy of an existing event (a
// meeting someone else organized); it keeps the iCalUID and organizer given.
func (s *Server) importEvent(w http.ResponseWriter, r *http.Request, u *user) {
	s.addEvent(w, r, u, true)
}

func (s *Server) addEvent(w http.ResponseWriter, r *http.Request, u *user, imported bool) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	b, ok := decodeMap(r)
	if !ok {
		legacyError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	if msg := checkTimes(b); msg != "" {
		legacyError(w, http.StatusBadRequest, "required", msg)
		return
	}
	id, _ := b["id"].(string)
	if id == "" {
		id = randomID("")
	}
	if evs[id] != nil {
		legacyError(w, http.StatusConflict, "duplicate", "The requested identifier already exists.")
		return
	}
	b["id"], b["kind"] = id, "calendar#event"
	if b["status"] == nil {
		b["status"] = "confirmed"
	}
	if imported {
		if uid, _ := b["iCalUID"].(string); uid == "" {
			legacyError(w, http.StatusBadRequest, "required", "Missing iCalUID.")
			return
		}
		if org, ok := b["organizer"].(map[string]any); ok {
			org["self"] = strings.EqualFold(fmt.Sprint(org["email"]), u.email)
		}
	} else {
		// The calendar's owner organizes what they create.
		b["iCalUID"] = id + "@google.com"
		b["organizer"] = map[string]any{"email": u.email, "self": true}
	}
	b["created"] = s.now().Format("2006-01-02T15:04:05.000Z")
	e := &event{id: id, body: b}
	s.stamp(e)
	evs[id] = e
	s.eventsChanged(u, r.PathValue("cal"))
	writeJSON(w, http.StatusOK, b)
}

// instance finds the event id, or the occurrence of a series it names
// ("<series id>_<original start, UTC basic format>") as an event not yet
// stored: a write stores it as the series' exception.
func (s *Server) instance(evs map[string]*event, id string) *event {
	if e := evs[id]; e != nil {
		return e
	}
	master, stamp, ok := strings.Cut(id, "_")
	m := evs[master]
	if !ok || m == nil || m.body["recurrence"] == nil || m.body["status"] == "cancelled" {
		return nil
	}
	orig, err := time.Parse("20060102T150405Z", stamp)
	mst, ok2 := eventTime(m.body["start"])
	men, _ := eventTime(m.body["end"])
	// An occurrence keeps the series' time of day and starts on or after it.
	if err != nil || !ok2 || orig.Before(mst) || orig.Sub(mst)%(24*time.Hour) != 0 {
		return nil
	}
	b := map[string]any{}
	for k, v := range m.body {
		if k != "recurrence" && k != "iCalUID" {
			b[k] = v
		}
	}
	start, _ := m.body["start"].(map[string]any)
	tz, _ := start["timeZone"].(string)
	b["id"], b["recurringEventId"] = id, master
	b["iCalUID"] = m.body["iCalUID"]
	b["originalStartTime"] = map[string]any{"dateTime": orig.Format(time.RFC3339), "timeZone": tz}
	b["start"] = map[string]any{"dateTime": orig.Format(time.RFC3339), "timeZone": tz}
	b["end"] = map[string]any{"dateTime": orig.Add(men.Sub(mst)).Format(time.RFC3339), "timeZone": tz}
	return &event{id: id, body: b}
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, u *user) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	e := s.instance(evs, r.PathValue("id"))
	if e == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, e.body)
}

func ifMatch(w http.ResponseWriter, r *http.Request, etag any) bool {
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag {
		legacyError(w, http.StatusPreconditionFailed, "conditionNotMet", "Precondition Failed")
		return false
	}
	return true
}

func (s *Server) patchEvent(w http.ResponseWriter, r *http.Request, u *user) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	id := r.PathValue("id")
	_, existed := evs[id]
	e := s.instance(evs, id)
	if e == nil || e.body["status"] == "cancelled" && e.body["recurringEventId"] == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	if !ifMatch(w, r, e.body["etag"]) {
		return
	}
	patch, ok := decodeMap(r)
	if !ok {
		legacyError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	next := map[string]any{}
	if r.Method == http.MethodPatch {
		for k, v := range e.body {
			next[k] = v
		}
	} else {
		for _, k := range []string{"id", "kind", "iCalUID", "created", "recurringEventId", "originalStartTime", "etag", "updated"} {
			if v, ok := e.body[k]; ok {
				next[k] = v
			}
		}
	}
	for k, v := range patch {
		if k == "id" || k == "recurringEventId" || k == "originalStartTime" || k == "iCalUID" {
			continue
		}
		if v == nil {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if next["status"] == nil || r.Method == http.MethodPut {
		next["status"] = "confirmed"
	}
	if msg := checkTimes(next); msg != "" {
		legacyError(w, http.StatusBadRequest, "required", msg)
		return
	}
	e.body = next
	s.stamp(e)
	if !existed {
		evs[id] = e
	}
	s.eventsChanged(u, r.PathValue("cal"))
	writeJSON(w, http.StatusOK, e.body)
}

func (s *Server) deleteEvent(w http.ResponseWriter, r *http.Request, u *user) {
	evs := s.calendar(w, r, u)
	if evs == nil {
		return
	}
	id := r.PathValue("id")
	e := s.instance(evs, id)
	if e == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	if e.body["status"] == "cancelled" {
		legacyError(w, http.StatusGone, "deleted", "Resource has been deleted")
		return
	}
	if !ifMatch(w, r, e.body["etag"]) {
		return
	}
	e.body["status"] = "cancelled"
	s.stamp(e)
	evs[id] = e
	if e.body["recurrence"] != nil {
		// Deleting a series cancels its exceptions too.
		for _, x := range evs {
			if x.body["recurringEventId"] == id && x.body["status"] != "cancelled" {
				x.body["status"] = "cancelled"
				s.stamp(x)
			}
		}
	}
	s.eventsChanged(u, r.PathValue("cal"))
	w.WriteHeader(http.StatusNoContent)
}
