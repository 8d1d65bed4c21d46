package google

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// Defaults of the synced containers.
const (
	// DefaultGroup is the contact group that plays the synced contact folder.
	DefaultGroup = "crmsync"
	// DefaultTaskList is the task list tasks sync from.
	DefaultTaskList = "crmsync"
	// IssueCategory is the contact group (and event mark) of items that failed to sync.
	IssueCategory = "Sync Error"
	// markerKey names crmsync's marker in clientData (contacts) and
	// extendedProperties.private (events).
	markerKey = "crmsyncMarker"
	// issueKey marks an event flagged with IssueCategory.
	issueKey = "crmsyncIssue"
)

// Side is a Google Workspace mailbox under the contract (side.Mailbox).
type Side struct {
	c *Client

	mu     sync.Mutex
	groups map[string]string // contact group name → resourceName
	lists  map[string]string // task list title → id
	labels map[string]string // Gmail label name → id
	// labelsByHash are label ids a cursor carried, by labelHash of the name.
	labelsByHash map[string]string
	// scopes are the last scope Changes read per kind: writes go to the
	// container it named (the engine reads before it writes).
	scopes map[item.Kind]item.Scope
	// watch, when set, keeps Calendar watch channels (push).
	watch *WatchOptions
}

func (s *Side) scopeOf(k item.Kind) item.Scope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scopes[k]
}

// WithWatch makes the side keep Calendar watch channels for push.
func (s *Side) WithWatch(w WatchOptions) *Side {
	s.watch = &w
	return s
}

// NewSide returns the mailbox side of a client.
func NewSide(c *Client) *Side {
	return &Side{c: c, groups: map[string]string{}, lists: map[string]string{}, labels: map[string]string{}, scopes: map[item.Kind]item.Scope{}}
}

var (
	_ side.Mailbox      = (*Side)(nil)
	_ side.CallReporter = (*Side)(nil)
)

// Calls is the number of API calls made so far.
func (s *Side) Calls() int64 { return s.c.Requests() }

// Changes reports the kind's changes since cursor.
func (s *Side) Changes(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	s.mu.Lock()
	s.scopes[scope.Kind] = scope
	s.mu.Unlock()
	switch scope.Kind {
	case item.Contact:
		return s.contactChanges(ctx, scope, cursor)
	case item.Task:
		return s.taskChanges(ctx, scope, cursor)
	case item.Event:
		return s.eventChanges(ctx, scope, cursor)
	}
	return item.Changes{}, unknownKind(scope.Kind)
}

func unknownKind(k item.Kind) error {
	return fault.New(fault.Permanent, "unknown_kind", "the Google mailbox does not sync kind "+string(k))
}

// Create writes new records: contacts through People's batchCreateContacts,
// events and tasks through the APIs' batch endpoints.
func (s *Side) Create(ctx context.Context, kind item.Kind, recs []item.Record, markers []string) ([]side.Result, error) {
	switch kind {
	case item.Contact:
		return s.createContacts(ctx, recs, markers)
	case item.Event:
		return s.createEvents(ctx, recs, markers)
	case item.Task:
		return s.createTasks(ctx, recs, markers)
	}
	return nil, unknownKind(kind)
}

// Update writes the given fields of existing records: contacts one by one
// (People needs each contact's etag and its writes in sequence), events and
// tasks through the batch endpoints (a batch of reads, a batch of patches).
func (s *Side) Update(ctx context.Context, kind item.Kind, recs []item.Record) ([]side.Result, error) {
	switch kind {
	case item.Contact:
		return s.updateContacts(ctx, recs)
	case item.Task:
		path, err := s.taskPath(ctx, "")
		if err != nil {
			return nil, err
		}
		return s.batchUpdate(ctx, s.c.tasksURL+"/batch", recs,
			func(id string) string { return pathOf(path + url.PathEscape(id)) },
			func(r item.Record, cur json.RawMessage) (batchCall, error) {
				var t wireTask
				if err := json.Unmarshal(cur, &t); err != nil {
					return batchCall{}, fault.New(fault.Temporary, "bad_response", "undecodable task")
				}
				if t.Deleted {
					return batchCall{}, fault.New(fault.Gone, "deleted", "the task was deleted")
				}
				body, err := applyTask(t, r.Fields)
				if err != nil || len(body) == 0 {
					return batchCall{}, err
				}
				return batchCall{method: "PATCH", path: pathOf(path + url.PathEscape(r.ID)), body: body}, nil
			},
			func(r item.Record) error { return s.updateTask(ctx, r.ID, r.Fields) })
	case item.Event:
		evPath := func(id string) string {
			cal, ev := splitEventID(id)
			return s.eventsURL(cal) + "/" + url.PathEscape(ev)
		}
		return s.batchUpdate(ctx, s.c.cal+"/batch/calendar/v3", recs,
			func(id string) string { return pathOf(evPath(id)) },
			func(r item.Record, cur json.RawMessage) (batchCall, error) {
				var e wireEvent
				if err := json.Unmarshal(cur, &e); err != nil {
					return batchCall{}, fault.New(fault.Temporary, "bad_response", "undecodable event")
				}
				if e.Status == "cancelled" {
					return batchCall{}, fault.New(fault.Gone, "deleted", "the event was deleted")
				}
				body, err := eventBody(e, r.Fields)
				if err != nil || len(body) == 0 {
					return batchCall{}, err
				}
				call := batchCall{method: "PATCH", path: pathOf(evPath(r.ID) + "?sendUpdates=none"), body: body}
				if e.Etag != "" {
					call.header = map[string]string{"If-Match": e.Etag}
				}
				return call, nil
			},
			func(r item.Record) error { return s.updateEvent(ctx, r.ID, r.Fields) })
	}
	return nil, unknownKind(kind)
}

// Delete removes records; one already gone counts as success.
func (s *Side) Delete(ctx context.Context, kind item.Kind, ids []string) ([]side.Result, error) {
	switch kind {
	case item.Contact:
		return s.deleteContacts(ctx, ids)
	case item.Task:
		path, err := s.taskPath(ctx, "")
		if err != nil {
			return nil, err
		}
		return s.batchDelete(ctx, s.c.tasksURL+"/batch", ids, func(id string) string { return pathOf(path + url.PathEscape(id)) })
	case item.Event:
		return s.batchDelete(ctx, s.c.cal+"/batch/calendar/v3", ids, func(id string) string {
			cal, ev := splitEventID(id)
			return pathOf(s.eventsURL(cal) + "/" + url.PathEscape(ev) + "?sendUpdates=none")
		})
	}
	return nil, unknownKind(kind)
}

// batchDelete deletes through a batch endpoint, WriteBatch at a time; a
// record already gone (404, or Calendar's 410 deleted) is deleted. A batch
// that fails as a whole fails its records; deletes are safe to redo.
func (s *Side) batchDelete(ctx context.Context, batchURL string, ids []string, path func(string) string) ([]side.Result, error) {
	out := make([]side.Result, len(ids))
	for lo := 0; lo < len(ids); lo += WriteBatch {
		hi := min(lo+WriteBatch, len(ids))
		calls := make([]batchCall, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			calls = append(calls, batchCall{method: "DELETE", path: path(id)})
		}
		_, errs, err := s.c.batch(ctx, batchURL, calls)
		if wholeCall(err) {
			return nil, err
		}
		for j := range calls {
			e := err
			if e == nil {
				e = errs[j]
			}
			if fault.Is(e, fault.Gone) {
				e = nil
			}
			out[lo+j] = side.Result{ID: ids[lo+j], Err: e}
		}
	}
	return out, nil
}

// FindCreated finds records by the markers crmsync stamped on them.
func (s *Side) FindCreated(ctx context.Context, kind item.Kind, intents []item.Intent) (map[string]string, error) {
	want := map[string]bool{}
	for _, in := range intents {
		if in.Marker != "" {
			want[in.Marker] = true
		}
	}
	if len(want) == 0 {
		return map[string]string{}, nil
	}
	switch kind {
	case item.Contact:
		return s.findContacts(ctx, want)
	case item.Task:
		return s.findTasks(ctx, want)
	case item.Event:
		return s.findEvents(ctx, want)
	}
	return nil, unknownKind(kind)
}

// wholeCall says whether err stops the whole batch rather than one record.
func wholeCall(err error) bool {
	switch fault.ClassOf(err) {
	case fault.Reconnect, fault.Quota, fault.Throttled:
		return true
	}
	return false
}

// FlagIssue sets or clears the "Sync Error" mark: a contact group
// membership for contacts, a private mark and the red colour for events, a
// mark in the notes trailer for tasks (Google Tasks has no categories).
func (s *Side) FlagIssue(ctx context.Context, kind item.Kind, id string, failing bool) error {
	switch kind {
	case item.Contact:
		return s.flagContact(ctx, id, failing)
	case item.Task:
		return s.flagTask(ctx, id, failing)
	case item.Event:
		return s.flagEvent(ctx, id, failing)
	}
	return unknownKind(kind)
}
