package msgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
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
	// ShareCategory marks items to share ("" = DefaultShareCategory).
	ShareCategory string
	// IssueCategory flags items that failed to sync ("" = DefaultIssueCategory).
	IssueCategory string
	// PageSize asks Graph for pages of this many items (0 = Graph's default).
	PageSize int
	// Custom maps the user's custom fields per kind to free item properties
	// (CustomProperties) or crmsync extended properties; each value is the
	// record field named by the mapping's canonical name.
	Custom map[item.Kind][]item.CustomField
}

// Side is the mailbox side of a sync for one mailbox, backed by Microsoft
// Graph. It implements side.Mailbox.
type Side struct {
	c    *Client
	opts SideOptions

	mu         sync.Mutex
	containers map[string]string // "contactFolders/Business Contacts" → id
	invites    map[string]bool   // event id → true for an invitation (read this session)
	categories bool              // master categories ensured
	address    string            // the mailbox owner's address, lower case
}

var _ side.Mailbox = (*Side)(nil)

// NewSide returns the mailbox side over c.
func NewSide(c *Client, opts SideOptions) *Side {
	if opts.ShareCategory == "" {
		opts.ShareCategory = DefaultShareCategory
	}
	if opts.IssueCategory == "" {
		opts.IssueCategory = DefaultIssueCategory
	}
	return &Side{c: c, opts: opts, containers: map[string]string{}, invites: map[string]bool{}}
}

// Client returns the Graph client under the side.
func (s *Side) Client() *Client { return s.c }

// container returns the id of the named folder or list, creating it when missing.
func (s *Side) container(ctx context.Context, collection, name string, filter bool) (string, error) {
	key := collection + "/" + name
	s.mu.Lock()
	id, ok := s.containers[key]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := s.c.ensureFolder(ctx, collection, name, filter)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.containers[key] = id
	s.mu.Unlock()
	return id, nil
}

func (s *Side) contactFolder(ctx context.Context, scope item.Scope) (string, error) {
	return s.container(ctx, "contactFolders", or(scope.Container, DefaultContactFolder), true)
}

func (s *Side) taskList(ctx context.Context, scope item.Scope) (string, error) {
	return s.container(ctx, "todo/lists", or(scope.Container, DefaultTaskList), false)
}

func (s *Side) shareFolder(ctx context.Context, scope item.Scope) (string, error) {
	return s.container(ctx, "mailFolders", or(scope.Container, DefaultShareFolder), true)
}

var emptyScope = item.Scope{}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// remember primes the container cache from a cursor that names the
// container, saving a lookup per session.
func (s *Side) remember(collection, name, cur string) {
	c, err := parseCursor(cur)
	if err != nil || c.Container == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.containers[collection+"/"+name]; !ok {
		s.containers[collection+"/"+name] = c.Container
	}
}

// ensureCategories puts the share and issue categories on the master list once per Side.
func (s *Side) ensureCategories(ctx context.Context) error {
	s.mu.Lock()
	done := s.categories
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.c.EnsureCategories(ctx, s.opts.ShareCategory, s.opts.IssueCategory); err != nil {
		return err
	}
	s.mu.Lock()
	s.categories = true
	s.mu.Unlock()
	return nil
}

// cursor is what a Side stores between sessions: identifiers and change
// markers only (privacy rule).
type cursor struct {
	Delta string `json:"d,omitempty"`
	// Container is the folder or list id the round reads, so a new session
	// need not look it up again.
	Container string `json:"c,omitempty"`
	// From and To are the window of an events round (fixed per delta token).
	From time.Time `json:"f,omitzero"`
	To   time.Time `json:"t,omitzero"`
	// Series are ids of series masters seen in the window, checked when
	// removals arrive (a deleted series reports only its occurrences' ids).
	Series []string `json:"s,omitempty"`
	// Since is the last-modified watermark of the category query (e-mails,
	// and contacts and tasks shared from other folders and lists).
	Since time.Time `json:"w,omitzero"`
	// Others are the other contact folders or To Do lists searched for
	// items with the share category, listed at Listed.
	Others []string  `json:"o,omitempty"`
	Listed time.Time `json:"l,omitzero"`
	// Calendars are the delta links of the chosen calendars other than the
	// default one alone (whose link is Delta), by calendar id.
	Calendars map[string]string `json:"k,omitempty"`
}

// calendarIDs are the calendars the cursor's round reads ("" = the default).
func (c cursor) calendarIDs() []string {
	if len(c.Calendars) == 0 {
		return []string{""}
	}
	return slices.Sorted(maps.Keys(c.Calendars))
}

// link is the delta link of a calendar ("" = the default calendar).
func (c cursor) link(cal string) string {
	if cal == "" {
		return c.Delta
	}
	return c.Calendars[cal]
}

// setLinks stores a round's delta links by calendar.
func (c *cursor) setLinks(links map[string]string) {
	c.Delta, c.Calendars = "", nil
	for cal, l := range links {
		if cal == "" {
			c.Delta = l
			continue
		}
		if c.Calendars == nil {
			c.Calendars = map[string]string{}
		}
		c.Calendars[cal] = l
	}
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		// A cursor we cannot read is treated like an expired one by callers.
		return cursor{}, fault.Wrap(fault.Expired, fmt.Errorf("msgraph: unreadable cursor: %w", err))
	}
	return c, nil
}

func (c cursor) String() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// current drops a cursor whose delta link names the mailbox by address
// (stored before app-only paths used the object id): following it would
// keep the address in every link after it, so the resource is read afresh.
func (s *Side) current(cur string) string {
	id := s.c.UserID()
	if id == "" || cur == "" {
		return cur
	}
	c, err := parseCursor(cur)
	if err != nil {
		return cur
	}
	for _, l := range append([]string{c.Delta}, slices.Collect(maps.Values(c.Calendars))...) {
		if strings.Contains(l, "/users/") && !strings.Contains(l, "/users/"+id+"/") {
			return ""
		}
	}
	return cur
}

// Changes reports what changed in scope since cursor.
func (s *Side) Changes(ctx context.Context, scope item.Scope, cur string) (item.Changes, error) {
	cur = s.current(cur)
	ch, err := s.changes(ctx, scope, cur)
	if fault.Is(err, fault.Gone) && cur != "" {
		// The folder or list the cursor named is gone (the user deleted
		// it): find or create it again and read it whole.
		s.forgetContainers()
		ch, err = s.changes(ctx, scope, "")
	}
	if err != nil {
		return ch, err
	}
	if scope.Kind == item.Contact || scope.Kind == item.Task {
		if ch, err = s.sharedElsewhere(ctx, scope, cur, ch); err != nil {
			return item.Changes{}, err
		}
	}
	if err := s.fillExtended(ctx, scope.Kind, ch.Records); err != nil {
		return item.Changes{}, err
	}
	return ch, nil
}

func (s *Side) forgetContainers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.containers)
}

func (s *Side) changes(ctx context.Context, scope item.Scope, cur string) (item.Changes, error) {
	switch scope.Kind {
	case item.Contact:
		s.remember("contactFolders", or(scope.Container, DefaultContactFolder), cur)
		fid, err := s.contactFolder(ctx, scope)
		if err != nil {
			return item.Changes{}, err
		}
		start := withQuery(s.c.mailbox()+"/contactFolders/"+fid+"/contacts/delta",
			"$select", contactSelect+s.customSelect(item.Contact))
		return s.simpleChanges(ctx, scope, cur, fid, start, func(raw json.RawMessage) (item.Record, string, bool, error) {
			var w wireContact
			if err := json.Unmarshal(raw, &w); err != nil {
				return item.Record{}, "", false, malformed("contact", err)
			}
			rec := contactRecord(w)
			if w.Removed == nil {
				if err := s.readCustomProps(item.Contact, raw, &rec); err != nil {
					return item.Record{}, "", false, err
				}
			}
			return rec, w.ID, w.Removed != nil, nil
		})
	case item.Task:
		s.remember("todo/lists", or(scope.Container, DefaultTaskList), cur)
		lid, err := s.taskList(ctx, scope)
		if err != nil {
			return item.Changes{}, err
		}
		start := withQuery(s.c.mailbox()+"/todo/lists/"+lid+"/tasks/delta", "$expand", "linkedResources")
		return s.simpleChanges(ctx, scope, cur, lid, start, func(raw json.RawMessage) (item.Record, string, bool, error) {
			var w wireTask
			if err := json.Unmarshal(raw, &w); err != nil {
				return item.Record{}, "", false, malformed("task", err)
			}
			return taskRecord(w), w.ID, w.Removed != nil, nil
		})
	case item.Event:
		return s.eventChanges(ctx, scope, cur)
	default:
		return item.Changes{}, fault.New(fault.Permanent, "UnsupportedKind", "msgraph: no two-way sync for kind "+string(scope.Kind))
	}
}

type decodeFunc func(json.RawMessage) (rec item.Record, id string, removed bool, err error)

// simpleChanges runs a delta round over one folder or list. An expired token
// restarts the round from scratch and reports Full, so the planner
// reconciles against its links instead of creating anything twice.
func (s *Side) simpleChanges(ctx context.Context, scope item.Scope, cur, container, start string, decode decodeFunc) (item.Changes, error) {
	c, err := parseCursor(cur)
	full := c.Delta == ""
	if err != nil {
		full = true
	}
	from := c.Delta
	if full {
		from = start
	}
	entries, link, err := s.c.delta(ctx, from, s.opts.PageSize)
	if fault.Is(err, fault.Expired) && !full {
		full = true
		entries, link, err = s.c.delta(ctx, start, s.opts.PageSize)
	}
	if err != nil {
		return item.Changes{}, err
	}
	ch := item.Changes{Kind: scope.Kind, Full: full, Cursor: cursor{Delta: link, Container: container}.String()}
	order, recs, removed := []string{}, map[string]item.Record{}, map[string]bool{}
	for _, raw := range entries {
		rec, id, gone, err := decode(raw)
		if err != nil {
			return item.Changes{}, err
		}
		if _, seen := recs[id]; !seen && !removed[id] {
			order = append(order, id)
		}
		// Entries can repeat within a round; the last one wins.
		if gone {
			delete(recs, id)
			removed[id] = true
			continue
		}
		delete(removed, id)
		recs[id] = rec
	}
	for _, id := range order {
		if removed[id] {
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.Deleted})
			}
			continue
		}
		rec := recs[id]
		if scope.Kind == item.Task && !taskInScope(rec, scope) {
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: id, Reason: item.LeftScope})
			}
			continue
		}
		ch.Records = append(ch.Records, rec)
	}
	return ch, nil
}

// taskInScope: tasks that are open, or were due (or, without a due date,
// last changed) on or after scope.From.
func taskInScope(r item.Record, scope item.Scope) bool {
	if r.Fields[item.Status] != "Completed" || scope.From.IsZero() {
		return true
	}
	if d := r.Fields[item.DueDate]; d != "" {
		return d >= scope.From.UTC().Format(time.DateOnly)
	}
	return !r.Modified.Before(scope.From)
}

// itemPath is the path of one item of kind.
func (s *Side) itemPath(ctx context.Context, kind item.Kind, id string) (string, error) {
	mb := s.c.mailbox()
	switch kind {
	case item.Contact:
		return mb + "/contacts/" + id, nil
	case item.Event:
		return mb + "/events/" + id, nil
	case item.SharedEmail:
		return mb + "/messages/" + id, nil
	case item.Task:
		if list, task, ok := strings.Cut(id, taskListSep); ok {
			// A task shared by category from another list.
			return mb + "/todo/lists/" + list + "/tasks/" + task, nil
		}
		lid, err := s.taskList(ctx, item.Scope{Kind: item.Task})
		if err != nil {
			return "", err
		}
		return mb + "/todo/lists/" + lid + "/tasks/" + id, nil
	}
	return "", fault.New(fault.Permanent, "UnsupportedKind", "msgraph: unknown kind "+string(kind))
}

// results turns batch answers into session results (id from the body).
func results(parts []partResult, fallbackIDs []string) []side.Result {
	out := make([]side.Result, len(parts))
	for i, p := range parts {
		if p.err != nil {
			out[i] = side.Result{Err: p.err}
			continue
		}
		var w struct {
			ID string `json:"id"`
		}
		if len(p.body) > 0 {
			if err := json.Unmarshal(p.body, &w); err != nil {
				out[i] = side.Result{Err: malformed("batch part", err)}
				continue
			}
		}
		if w.ID == "" && fallbackIDs != nil {
			w.ID = fallbackIDs[i]
		}
		out[i] = side.Result{ID: w.ID}
	}
	return out
}

// Create writes new records in $batch requests of up to 20, stamping each
// with its marker (an extended property; a linkedResource on To Do tasks).
func (s *Side) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	if len(markers) != len(recs) {
		return nil, fmt.Errorf("msgraph: Create got %d records and %d markers", len(recs), len(markers))
	}
	mb := s.c.mailbox()
	parts := make([]part, len(recs))
	pre := make([]side.Result, len(recs))
	var exceptions []int
	for i, r := range recs {
		var body map[string]any
		var err error
		var path string
		switch kind {
		case item.Contact:
			fid, ferr := s.contactFolder(ctx, item.Scope{Kind: kind})
			if ferr != nil {
				return nil, ferr
			}
			body, path = contactBody(r.Fields), mb+"/contactFolders/"+fid+"/contacts"
			if markers[i] != "" {
				body["singleValueExtendedProperties"] = []wireExtProp{{ID: markerProp, Value: markers[i]}}
			}
			s.writeCustom(kind, r.Fields, body)
		case item.Task:
			lid, ferr := s.taskList(ctx, item.Scope{Kind: kind})
			if ferr != nil {
				return nil, ferr
			}
			body, err = taskBody(r.Fields)
			path = mb + "/todo/lists/" + lid + "/tasks"
			if err == nil && markers[i] != "" {
				body["linkedResources"] = []wireLinkedResource{{ApplicationName: appName, DisplayName: "crmsync", ExternalID: markers[i]}}
			}
		case item.Event:
			if r.Fields[item.SeriesID] != "" {
				exceptions = append(exceptions, i)
				continue
			}
			body, err = eventBody(r.Fields, time.Time{})
			path = mb + "/events"
			if err == nil && markers[i] != "" {
				body["singleValueExtendedProperties"] = []wireExtProp{{ID: markerProp, Value: markers[i]}}
			}
			if err == nil {
				s.writeCustom(kind, r.Fields, body)
			}
		default:
			return nil, fault.New(fault.Permanent, "UnsupportedKind", "msgraph: cannot create kind "+string(kind))
		}
		if err != nil {
			pre[i] = side.Result{Err: err}
			continue
		}
		parts[i] = part{method: http.MethodPost, path: path, body: body}
	}
	out, err := s.runParts(ctx, parts, pre, nil)
	if err != nil {
		return out, err
	}
	for _, i := range exceptions {
		out[i] = s.createException(ctx, recs[i], markers[i])
	}
	if kind == item.Event {
		if err := s.writeCancellations(ctx, recs, out, nil); err != nil {
			s.unmake(ctx, recs, out, err)
			return out, err
		}
	}
	return out, nil
}

// unmake deletes the series this create made whose cancellations failed
// (why), so that the create fails as a whole with nothing half-written: a
// series left behind would be adopted by its marker next time with all its
// meetings, and, being newer than its source, would win the cancelled dates
// back from it. The next session makes it again. A series that cannot be
// deleted either stays, as before.
func (s *Side) unmake(ctx context.Context, recs []item.Record, out []side.Result, why error) {
	for i, r := range recs {
		if r.Fields[item.Cancelled] == "" || r.Fields[item.SeriesID] != "" || out[i].Err != nil || out[i].ID == "" {
			continue
		}
		if err := s.c.sendJSON(ctx, http.MethodDelete, s.c.mailbox()+"/events/"+out[i].ID, nil, nil); err == nil || fault.Is(err, fault.Gone) {
			out[i] = side.Result{Err: why}
		}
	}
}

// runParts sends the non-empty parts and merges their results with pre
// (results decided before sending).
func (s *Side) runParts(ctx context.Context, parts []part, pre []side.Result, ids []string) ([]side.Result, error) {
	var send []part
	var idx []int
	for i, p := range parts {
		if p.method != "" && pre[i].Err == nil {
			send = append(send, p)
			idx = append(idx, i)
		}
	}
	res, err := s.c.batch(ctx, send)
	var sendIDs []string
	if ids != nil {
		for _, i := range idx {
			sendIDs = append(sendIDs, ids[i])
		}
	}
	got := results(res, sendIDs)
	out := append([]side.Result(nil), pre...)
	for j, i := range idx {
		out[i] = got[j]
	}
	return out, err
}

// createException turns the occurrence of a series at OriginalStart into an
// exception with the record's fields (Graph has no "create exception" call).
func (s *Side) createException(ctx context.Context, r item.Record, marker string) side.Result {
	orig, err := time.Parse(time.RFC3339, r.Fields[item.OriginalStart])
	if err != nil {
		return side.Result{Err: badField(item.OriginalStart, "want an RFC 3339 instant")}
	}
	path := withQuery(s.c.mailbox()+"/events/"+r.Fields[item.SeriesID]+"/instances",
		"startDateTime", orig.Add(-time.Minute).UTC().Format(time.RFC3339),
		"endDateTime", orig.Add(24*time.Hour).UTC().Format(time.RFC3339),
		"$select", "id,originalStart,start")
	raw, err := s.c.list(ctx, path)
	if err != nil {
		return side.Result{Err: err}
	}
	for _, x := range raw {
		var w wireEvent
		if err := json.Unmarshal(x, &w); err != nil {
			return side.Result{Err: malformed("instance", err)}
		}
		if !parseInstant(w.OriginalStart).Equal(orig) {
			continue
		}
		f := make(map[string]string, len(r.Fields))
		for k, v := range r.Fields {
			if k != item.SeriesID && k != item.OriginalStart && k != item.Recurrence {
				f[k] = v
			}
		}
		body, err := eventBody(f, orig)
		if err != nil {
			return side.Result{Err: err}
		}
		if marker != "" {
			body["singleValueExtendedProperties"] = []wireExtProp{{ID: markerProp, Value: marker}}
		}
		s.writeCustom(item.Event, f, body)
		if err := s.c.sendJSON(ctx, http.MethodPatch, s.c.mailbox()+"/events/"+w.ID, body, nil); err != nil {
			return side.Result{Err: err}
		}
		return side.Result{ID: w.ID}
	}
	return side.Result{Err: &fault.Error{Class: fault.Permanent, Code: "OccurrenceNotFound",
		Message: "the series has no occurrence at OriginalStart", Fields: []string{item.OriginalStart}}}
}

// noteEvents remembers which events read are invitations, so an update
// need not read them again to know.
func (s *Side) noteEvents(recs ...item.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		if v, ok := r.Fields[item.Invitation]; ok {
			s.invites[r.ID] = v == "true"
		}
	}
}

// invitations reports which of ids are events the user did not organize,
// reading isOrganizer (in $batch GETs) for those not read this session.
func (s *Side) invitations(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	var unknown []string
	s.mu.Lock()
	for _, id := range ids {
		if v, ok := s.invites[id]; ok {
			out[id] = v
		} else if id != "" {
			unknown = append(unknown, id)
		}
	}
	s.mu.Unlock()
	if len(unknown) == 0 {
		return out, nil
	}
	parts := make([]part, len(unknown))
	for i, id := range unknown {
		parts[i] = part{method: http.MethodGet, path: withQuery(s.c.mailbox()+"/events/"+id, "$select", "isOrganizer")}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return nil, err
	}
	for i, p := range res {
		if p.err != nil {
			continue // the update will report what is wrong with this one
		}
		var w wireEvent
		if err := json.Unmarshal(p.body, &w); err != nil {
			return nil, malformed("event", err)
		}
		out[unknown[i]] = w.IsOrganizer != nil && !*w.IsOrganizer
	}
	return out, nil
}

// Update writes the fields present in each record. An invitation (an event
// someone else organized) never gets its organizer's fields written: only
// what belongs to the user's copy (categories, crmsync's properties).
func (s *Side) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	current, err := s.currentFor(ctx, kind, recs)
	if err != nil {
		return nil, err
	}
	var invites map[string]bool
	if kind == item.Event {
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		if invites, err = s.invitations(ctx, ids); err != nil {
			return nil, err
		}
	}
	parts := make([]part, len(recs))
	pre := make([]side.Result, len(recs))
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
		path, err := s.itemPath(ctx, kind, r.ID)
		if err != nil {
			return nil, err
		}
		f := r.Fields
		if _, ok := f[item.TimeZone]; ok && kind == item.Event {
			// An update never moves a series to another zone: Outlook
			// counts its cancelled and moved meetings in the zone it was
			// made in, and another zone would bring them back or lose
			// them. A new pattern is written in the series' own zone
			// (merged); the other side keeps its own.
			f = maps.Clone(f)
			delete(f, item.TimeZone)
		}
		if cur, ok := current[r.ID]; ok {
			f = merged(cur.Fields, f)
		}
		if invites[r.ID] {
			f = maps.Clone(f)
			for _, k := range organizerFields {
				delete(f, k)
			}
		}
		var body map[string]any
		switch kind {
		case item.Contact:
			body = contactBody(f)
		case item.Task:
			body, err = taskBody(f)
		case item.Event:
			start, _ := time.Parse(time.RFC3339, current[r.ID].Fields[item.Start])
			body, err = eventBody(f, start)
		default:
			return nil, fault.New(fault.Permanent, "UnsupportedKind", "msgraph: cannot update kind "+string(kind))
		}
		if err != nil {
			pre[i] = side.Result{Err: err}
			continue
		}
		s.writeCustom(kind, f, body)
		if len(body) == 0 {
			// Nothing the user's copy may take: done without a request.
			pre[i] = side.Result{ID: r.ID}
			continue
		}
		parts[i] = part{method: http.MethodPatch, path: path, body: body}
	}
	out, err := s.runParts(ctx, parts, pre, ids)
	if err == nil && kind == item.Event {
		err = s.writeCancellations(ctx, recs, out, invites)
	}
	return out, err
}

// currentFor reads the records whose update needs values it was not given:
// a partial address (Graph replaces the whole address) or a recurrence
// without its start date.
func (s *Side) currentFor(ctx context.Context, kind item.Kind, recs []item.Record) (map[string]item.Record, error) {
	var need []item.Record
	for _, r := range recs {
		switch {
		case kind == item.Contact && hasAny(r.Fields, addressFields) && !hasAll(r.Fields, addressFields):
			need = append(need, r)
		case kind == item.Event && hasAny(r.Fields, []string{item.Recurrence}):
			need = append(need, r)
		}
	}
	out := map[string]item.Record{}
	if len(need) == 0 {
		return out, nil
	}
	parts := make([]part, len(need))
	for i, r := range need {
		path, err := s.itemPath(ctx, kind, r.ID)
		if err != nil {
			return nil, err
		}
		parts[i] = part{method: http.MethodGet, path: path}
	}
	res, err := s.c.batch(ctx, parts)
	if err != nil {
		return nil, err
	}
	for i, p := range res {
		if p.err != nil {
			continue // the PATCH will report the error for this record
		}
		var rec item.Record
		switch kind {
		case item.Contact:
			var w wireContact
			if err := json.Unmarshal(p.body, &w); err != nil {
				return nil, malformed("contact", err)
			}
			rec = contactRecord(w)
		case item.Event:
			var w wireEvent
			if err := json.Unmarshal(p.body, &w); err != nil {
				return nil, malformed("event", err)
			}
			if rec, err = eventRecord(w); err != nil {
				continue // unreadable: the update goes without its start date
			}
		}
		out[need[i].ID] = rec
	}
	return out, nil
}

// merged fills the address (or start) fields that upd lacks from cur.
// seriesTiming are the fields a series' times are written from: a write of
// its pattern needs the others too.
var seriesTiming = []string{item.Start, item.End, item.AllDay, item.Recurrence, item.TimeZone}

func merged(cur, upd map[string]string) map[string]string {
	f := make(map[string]string, len(upd)+5)
	for k, v := range upd {
		f[k] = v
	}
	if hasAny(upd, []string{item.Recurrence}) && (cur[item.Recurrence] != "" || upd[item.Recurrence] != "") {
		// A series' pattern is written with its start and end, all in
		// the series' own zone.
		for _, k := range seriesTiming {
			if _, ok := f[k]; !ok {
				f[k] = cur[k]
			}
		}
	}
	if hasAny(upd, addressFields) {
		for _, k := range addressFields {
			if _, ok := f[k]; !ok {
				f[k] = cur[k]
			}
		}
	}
	return f
}

// Delete removes records; one already gone counts as success.
func (s *Side) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	parts := make([]part, len(ids))
	pre := make([]side.Result, len(ids))
	for i, id := range ids {
		path, err := s.itemPath(ctx, kind, id)
		if err != nil {
			return nil, err
		}
		parts[i] = part{method: http.MethodDelete, path: path}
	}
	out, err := s.runParts(ctx, parts, pre, ids)
	for i := range out {
		if fault.Is(out[i].Err, fault.Gone) {
			out[i] = side.Result{ID: ids[i]}
		}
	}
	return out, err
}

// FindCreated finds records crmsync created by their markers: extended
// property filters for contacts and events, a scan of linked resources for
// To Do tasks (To Do cannot filter on them).
func (s *Side) FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error) {
	found := map[string]string{}
	if len(intents) == 0 {
		return found, nil
	}
	mb := s.c.mailbox()
	switch kind {
	case item.Task:
		lid, err := s.taskList(ctx, item.Scope{Kind: kind})
		if err != nil {
			return nil, err
		}
		want := map[string]bool{}
		for _, in := range intents {
			want[in.Marker] = true
		}
		raw, err := s.c.list(ctx, withQuery(mb+"/todo/lists/"+lid+"/tasks", "$expand", "linkedResources", "$select", "id"))
		if err != nil {
			return nil, err
		}
		for _, x := range raw {
			var w wireTask
			if err := json.Unmarshal(x, &w); err != nil {
				return nil, malformed("task", err)
			}
			for _, l := range w.LinkedResources {
				if l.ApplicationName == appName && want[l.ExternalID] {
					found[l.ExternalID] = w.ID
				}
			}
		}
		return found, nil
	case item.Contact, item.Event:
		base := mb + "/events"
		if kind == item.Contact {
			fid, err := s.contactFolder(ctx, item.Scope{Kind: kind})
			if err != nil {
				return nil, err
			}
			base = mb + "/contactFolders/" + fid + "/contacts"
		}
		parts := make([]part, len(intents))
		for i, in := range intents {
			parts[i] = part{method: http.MethodGet, path: withQuery(base, "$filter", filterProp(markerProp, in.Marker), "$select", "id")}
		}
		res, err := s.c.batch(ctx, parts)
		if err != nil {
			return nil, err
		}
		for i, p := range res {
			if p.err != nil {
				return nil, p.err
			}
			var page wirePage
			if err := json.Unmarshal(p.body, &page); err != nil {
				return nil, malformed("filter result", err)
			}
			for _, x := range page.Value {
				var w struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(x, &w); err == nil && w.ID != "" {
					found[intents[i].Marker] = w.ID
				}
			}
		}
		return found, nil
	}
	return nil, fault.New(fault.Permanent, "UnsupportedKind", "msgraph: cannot find kind "+string(kind))
}
