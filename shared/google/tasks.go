package google

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// TasksPage is tasks.list's largest page (trap 6).
const TasksPage = 100

// taskSkew is how far before the last change seen an updatedMin poll starts:
// Tasks has no sync token, and a change written in the same instant as the
// last one seen must not be missed. Changes in the overlap are reported
// twice; the engine's fingerprints make the repeat a no-op.
const taskSkew = 5 * time.Second

const taskCursorPrefix = "tasks1|"

type wireTask struct {
	ID        string `json:"id,omitempty"`
	Etag      string `json:"etag,omitempty"`
	Title     string `json:"title,omitempty"`
	Notes     string `json:"notes,omitempty"`
	Status    string `json:"status,omitempty"`
	Due       string `json:"due,omitempty"`
	Completed string `json:"completed,omitempty"`
	Updated   string `json:"updated,omitempty"`
	Deleted   bool   `json:"deleted,omitempty"`
	Hidden    bool   `json:"hidden,omitempty"`
}

// trailer is what Google Tasks has no field for — crmsync's marker, a
// status other than open/completed, the priority and the issue flag — kept
// on the last line of the notes: "[crmsync marker=…; status=…; priority=…]".
type trailer map[string]string

var trailerRE = regexp.MustCompile(`(?:\n\n)?\[crmsync ([^\]\n]*)\]$`)

func splitNotes(notes string) (string, trailer) {
	t := trailer{}
	m := trailerRE.FindStringSubmatchIndex(notes)
	if m == nil {
		return notes, t
	}
	for _, kv := range strings.Split(notes[m[2]:m[3]], ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			t[k] = v
		}
	}
	return notes[:m[0]], t
}

func joinNotes(desc string, t trailer) string {
	keys := make([]string, 0, len(t))
	for k, v := range t {
		if v != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return desc
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t[k]
	}
	tr := "[crmsync " + strings.Join(parts, "; ") + "]"
	if desc == "" {
		return tr
	}
	return desc + "\n\n" + tr
}

func (s *Side) taskList(ctx context.Context, scope item.Scope) (string, error) {
	title := scope.Container
	if title == "" {
		title = DefaultTaskList
	}
	s.mu.Lock()
	id := s.lists[title]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var w struct {
		Items []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"items"`
	}
	if err := s.c.do(ctx, "GET", s.c.tasksURL+"/tasks/v1/users/@me/lists?maxResults=100", nil, &w); err != nil {
		return "", err
	}
	for _, l := range w.Items {
		if l.Title == title {
			id = l.ID
		}
	}
	if id == "" {
		var l struct {
			ID string `json:"id"`
		}
		if err := s.c.do(ctx, "POST", s.c.tasksURL+"/tasks/v1/users/@me/lists", map[string]string{"title": title}, &l); err != nil {
			return "", err
		}
		id = l.ID
	}
	s.mu.Lock()
	s.lists[title] = id
	s.mu.Unlock()
	return id, nil
}

func (s *Side) listTasks(ctx context.Context, list string, q url.Values) ([]wireTask, error) {
	q.Set("maxResults", "100")
	var all []wireTask
	for {
		var w struct {
			Items         []wireTask `json:"items"`
			NextPageToken string     `json:"nextPageToken"`
		}
		if err := s.c.do(ctx, "GET", s.c.tasksURL+"/tasks/v1/lists/"+url.PathEscape(list)+"/tasks?"+q.Encode(), nil, &w); err != nil {
			return nil, err
		}
		all = append(all, w.Items...)
		if w.NextPageToken == "" {
			return all, nil
		}
		q.Set("pageToken", w.NextPageToken)
	}
}

// A tasks cursor is "tasks1|<list id>|<last update seen>|<seen>": the list
// id spares an idle session the list lookup; seen lists the versions
// ("id:etag") already reported in the skew before the mark, so the overlap
// of the next poll does not report them again. The set is capped
// (maxSeen): past it, repeats are harmless, the engine's fingerprints
// make them no-ops.
func (s *Side) taskChanges(ctx context.Context, scope item.Scope, cursor string) (item.Changes, error) {
	rest, ok := strings.CutPrefix(cursor, taskCursorPrefix)
	parts := strings.SplitN(rest, "|", 3)
	// An unreadable cursor reads everything again, as an expired one would.
	full := !ok || len(parts) < 2 || parts[0] == ""
	seen := map[string]bool{}
	var mark string
	if !full {
		mark = parts[1]
		if len(parts) == 3 && parts[2] != "" {
			for _, v := range strings.Split(parts[2], ",") {
				seen[v] = true
			}
		}
		title := scope.Container
		if title == "" {
			title = DefaultTaskList
		}
		s.mu.Lock()
		if s.lists[title] == "" {
			s.lists[title] = parts[0]
		}
		s.mu.Unlock()
	}
	list, err := s.taskList(ctx, scope)
	if err != nil {
		return item.Changes{}, err
	}
	// Completed tasks cleared in Google's apps are hidden: showHidden too.
	q := url.Values{"showHidden": {"true"}, "showCompleted": {"true"}}
	var since time.Time
	if !full {
		q.Set("showDeleted", "true")
		if t, err := time.Parse(time.RFC3339Nano, mark); err == nil {
			since = t
			q.Set("updatedMin", t.Add(-taskSkew).UTC().Format(time.RFC3339Nano))
		}
	}
	tasks, err := s.listTasks(ctx, list, q)
	if err != nil {
		return item.Changes{}, err
	}
	ch := item.Changes{Kind: item.Task, Full: full}
	last := since
	for _, t := range tasks {
		if u, err := time.Parse(time.RFC3339Nano, t.Updated); err == nil && u.After(last) {
			last = u
		}
	}
	var nextSeen []string
	for _, t := range tasks {
		if u, err := time.Parse(time.RFC3339Nano, t.Updated); err == nil && !u.Before(last.Add(-taskSkew)) {
			nextSeen = append(nextSeen, t.ID+":"+t.Etag)
		}
		if seen[t.ID+":"+t.Etag] {
			continue // reported by the previous poll, unchanged since
		}
		switch {
		case t.Deleted:
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: t.ID, Reason: item.Deleted})
			}
		case !taskInScope(t, scope):
			if !full {
				ch.Removed = append(ch.Removed, item.Removal{ID: t.ID, Reason: item.LeftScope})
			}
		default:
			ch.Records = append(ch.Records, t.record())
		}
	}
	if len(nextSeen) > maxSeen {
		nextSeen = nil
	}
	ch.Cursor = taskCursorPrefix + list + "|"
	if !last.IsZero() {
		ch.Cursor += last.UTC().Format(time.RFC3339Nano)
	}
	ch.Cursor += "|" + strings.Join(nextSeen, ",")
	return ch, nil
}

// maxSeen caps the versions a tasks cursor remembers (a cursor is stored in
// a table property).
const maxSeen = 200

// taskInScope: open tasks, and tasks due on or after the window's start.
func taskInScope(t wireTask, scope item.Scope) bool {
	if t.Status != "completed" || scope.From.IsZero() || t.Due == "" {
		return true
	}
	due, err := time.Parse(time.RFC3339, t.Due)
	return err != nil || !due.Before(scope.From.UTC().Truncate(24*time.Hour))
}

func (t wireTask) record() item.Record {
	desc, tr := splitNotes(t.Notes)
	status := "NotStarted"
	if t.Status == "completed" {
		status = "Completed"
	} else if v := tr["status"]; v != "" && v != "Completed" {
		status = v
	}
	prio := tr["priority"]
	if prio == "" {
		prio = "Normal"
	}
	due := ""
	if len(t.Due) >= 10 {
		due = t.Due[:10] // the API keeps the date only
	}
	r := item.Record{Kind: item.Task, ID: t.ID, Version: t.Etag, Marker: tr["marker"], Fields: map[string]string{
		item.Subject: t.Title, item.Description: desc, item.DueDate: due, item.Status: status, item.Priority: prio,
	}}
	if tr["issue"] != "" {
		r.Categories = []string{IssueCategory}
	}
	if u, err := time.Parse(time.RFC3339Nano, t.Updated); err == nil {
		r.Modified = u
	}
	return r
}

var taskStatuses = map[string]bool{"NotStarted": true, "InProgress": true, "Completed": true, "Waiting": true, "Deferred": true}

// applyTask writes canonical fields into a task body (a PATCH: absent fields
// stay; due "" is sent as null to clear it).
func applyTask(cur wireTask, f map[string]string) (map[string]any, error) {
	desc, tr := splitNotes(cur.Notes)
	body := map[string]any{}
	notes := false
	for k, v := range f {
		switch k {
		case item.Subject:
			body["title"] = v
		case item.Description:
			desc, notes = v, true
		case item.DueDate:
			if v == "" {
				body["due"] = nil
				continue
			}
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, &fault.Error{Class: fault.Permanent, Code: "bad_due_date", Message: "due date " + v + " is not a date (YYYY-MM-DD)", Fields: []string{item.DueDate}}
			}
			body["due"] = d.Format("2006-01-02") + "T00:00:00.000Z"
		case item.Status:
			if !taskStatuses[v] {
				return nil, &fault.Error{Class: fault.Permanent, Code: "bad_status", Message: "unknown task status " + v, Fields: []string{item.Status}}
			}
			notes = true
			if v == "Completed" {
				body["status"] = "completed"
				delete(tr, "status")
			} else {
				body["status"] = "needsAction"
				tr["status"] = v
				if v == "NotStarted" {
					delete(tr, "status")
				}
			}
		case item.Priority:
			notes = true
			tr["priority"] = v
			if v == "Normal" {
				delete(tr, "priority")
			}
		}
	}
	if notes {
		body["notes"] = joinNotes(desc, tr)
	}
	return body, nil
}

func (s *Side) createTask(ctx context.Context, f map[string]string, marker string) (string, error) {
	return s.insertTask(ctx, s.scopeOf(item.Task), f, marker)
}

// newTaskBody is the insert body of a new task.
func newTaskBody(f map[string]string, marker string) (map[string]any, error) {
	cur := wireTask{}
	if marker != "" {
		cur.Notes = joinNotes("", trailer{"marker": marker})
	}
	body, err := applyTask(cur, f)
	if err != nil {
		return nil, err
	}
	if _, ok := body["notes"]; !ok && cur.Notes != "" {
		body["notes"] = cur.Notes
	}
	if body["due"] == nil {
		delete(body, "due")
	}
	return body, nil
}

// createTasks writes tasks through the Tasks batch endpoint.
func (s *Side) createTasks(ctx context.Context, recs []item.Record, markers []string) ([]side.Result, error) {
	scope := s.scopeOf(item.Task)
	list, err := s.taskList(ctx, scope)
	if err != nil {
		return nil, err
	}
	marker := func(i int) string {
		if i < len(markers) {
			return markers[i]
		}
		return ""
	}
	return s.batchCreate(ctx, s.c.tasksURL+"/batch", len(recs),
		func(i int) (batchCall, error) {
			body, err := newTaskBody(recs[i].Fields, marker(i))
			return batchCall{method: "POST", path: "/tasks/v1/lists/" + url.PathEscape(list) + "/tasks", body: body}, err
		},
		func(i int) (string, error) { return s.insertTask(ctx, scope, recs[i].Fields, marker(i)) },
		func(b json.RawMessage) string {
			var t wireTask
			_ = json.Unmarshal(b, &t)
			return t.ID
		})
}

func (s *Side) insertTask(ctx context.Context, scope item.Scope, f map[string]string, marker string) (string, error) {
	body, err := newTaskBody(f, marker)
	if err != nil {
		return "", err
	}
	list, err := s.taskList(ctx, scope)
	if err != nil {
		return "", err
	}
	var got wireTask
	err = s.c.do(ctx, "POST", s.c.tasksURL+"/tasks/v1/lists/"+url.PathEscape(list)+"/tasks", body, &got)
	return got.ID, err
}

func (s *Side) taskPath(ctx context.Context, id string) (string, error) {
	list, err := s.taskList(ctx, s.scopeOf(item.Task))
	return s.c.tasksURL + "/tasks/v1/lists/" + url.PathEscape(list) + "/tasks/" + url.PathEscape(id), err
}

func (s *Side) getTask(ctx context.Context, id string) (wireTask, string, error) {
	path, err := s.taskPath(ctx, id)
	if err != nil {
		return wireTask{}, "", err
	}
	var t wireTask
	err = s.c.do(ctx, "GET", path, nil, &t)
	if err == nil && t.Deleted {
		err = fault.New(fault.Gone, "deleted", "the task was deleted")
	}
	return t, path, err
}

func (s *Side) updateTask(ctx context.Context, id string, f map[string]string) error {
	cur, path, err := s.getTask(ctx, id)
	if err != nil {
		return err
	}
	body, err := applyTask(cur, f)
	if err != nil || len(body) == 0 {
		return err
	}
	return s.c.do(ctx, "PATCH", path, body, nil)
}

func (s *Side) deleteTask(ctx context.Context, id string) error {
	path, err := s.taskPath(ctx, id)
	if err != nil {
		return err
	}
	return s.c.do(ctx, "DELETE", path, nil, nil)
}

func (s *Side) flagTask(ctx context.Context, id string, failing bool) error {
	cur, path, err := s.getTask(ctx, id)
	if err != nil {
		return err
	}
	desc, tr := splitNotes(cur.Notes)
	if failing {
		tr["issue"] = "1"
	} else {
		delete(tr, "issue")
	}
	return s.c.do(ctx, "PATCH", path, map[string]any{"notes": joinNotes(desc, tr)}, nil)
}

func (s *Side) findTasks(ctx context.Context, want map[string]bool) (map[string]string, error) {
	list, err := s.taskList(ctx, s.scopeOf(item.Task))
	if err != nil {
		return nil, err
	}
	tasks, err := s.listTasks(ctx, list, url.Values{"showHidden": {"true"}})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range tasks {
		if _, tr := splitNotes(t.Notes); want[tr["marker"]] {
			out[tr["marker"]] = t.ID
		}
	}
	return out, nil
}
