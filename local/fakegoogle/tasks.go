package fakegoogle

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type taskList struct {
	id, title, updated string
	tasks              map[string]*task
	order              []string
}

type task struct {
	body    map[string]any
	updated time.Time
}

func (s *Server) listLists(w http.ResponseWriter, r *http.Request, u *user) {
	items := []map[string]any{}
	for _, id := range u.listSeq {
		l := u.lists[id]
		items = append(items, map[string]any{"kind": "tasks#taskList", "id": l.id, "title": l.title, "updated": l.updated})
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "tasks#taskLists", "items": items})
}

func (s *Server) insertList(w http.ResponseWriter, r *http.Request, u *user) {
	b, ok := decodeMap(r)
	title, _ := b["title"].(string)
	if !ok || strings.TrimSpace(title) == "" {
		legacyError(w, http.StatusBadRequest, "invalid", "Invalid Value")
		return
	}
	l := &taskList{id: randomID("MDk"), title: title, updated: s.now().Format("2006-01-02T15:04:05.000Z"), tasks: map[string]*task{}}
	u.lists[l.id] = l
	u.listSeq = append(u.listSeq, l.id)
	writeJSON(w, http.StatusOK, map[string]any{"kind": "tasks#taskList", "id": l.id, "title": l.title, "updated": l.updated})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, u *user) *taskList {
	l := u.lists[r.PathValue("list")]
	if l == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Task list not found.")
	}
	return l
}

func boolParam(v string, def bool) bool {
	if v == "" {
		return def
	}
	return v == "true"
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, u *user) {
	l := s.list(w, r, u)
	if l == nil {
		return
	}
	q := r.URL.Query()
	size := DefaultTasksPage
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTasksPage {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid value for: maxResults ("+v+"); at most 100.")
			return
		}
		size = n
	}
	if pt := q.Get("pageToken"); pt != "" {
		st := s.pages[pt]
		q.Del("pageToken")
		if st == nil || st.api != "tasks" || st.params != l.id+"?"+q.Encode() {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid page token.")
			return
		}
		delete(s.pages, pt)
		s.writeTasks(w, st, size)
		return
	}
	var updatedMin time.Time
	if v := q.Get("updatedMin"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			legacyError(w, http.StatusBadRequest, "invalid", "Invalid value for: updatedMin")
			return
		}
		updatedMin = t
	}
	showDeleted, showHidden, showCompleted := boolParam(q.Get("showDeleted"), false), boolParam(q.Get("showHidden"), false), boolParam(q.Get("showCompleted"), true)
	st := &pageState{api: "tasks", params: l.id + "?" + q.Encode()}
	for _, id := range l.order {
		t := l.tasks[id]
		switch {
		case t.body["deleted"] == true && !showDeleted,
			t.body["hidden"] == true && !showHidden,
			t.body["status"] == "completed" && !showCompleted,
			t.updated.Before(updatedMin):
			continue
		}
		st.items = append(st.items, t.body)
	}
	s.writeTasks(w, st, size)
}

func (s *Server) writeTasks(w http.ResponseWriter, st *pageState, size int) {
	items, next := s.page(st, size)
	resp := map[string]any{"kind": "tasks#tasks", "items": items}
	if next != "" {
		resp["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, resp)
}

// normalizeTask keeps only the date of due (the API discards the time) and
// keeps completed in step with status.
func (s *Server) normalizeTask(b map[string]any) string {
	if d, ok := b["due"].(string); ok {
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			return "Invalid value for: due (" + d + ")"
		}
		b["due"] = t.UTC().Format("2006-01-02") + "T00:00:00.000Z"
	}
	switch b["status"] {
	case nil:
		b["status"] = "needsAction"
	case "needsAction":
		delete(b, "completed")
	case "completed":
		if b["completed"] == nil {
			b["completed"] = s.now().Format("2006-01-02T15:04:05.000Z")
		}
	default:
		return "Invalid value for: status"
	}
	return ""
}

func (s *Server) stampTask(t *task) {
	t.updated = s.now()
	t.body["updated"] = t.updated.Format("2006-01-02T15:04:05.000Z")
	t.body["etag"] = `"` + strconv.FormatInt(s.next()*48271, 10) + `"`
}

func (s *Server) insertTask(w http.ResponseWriter, r *http.Request, u *user) {
	l := s.list(w, r, u)
	if l == nil {
		return
	}
	b, ok := decodeMap(r)
	if !ok {
		legacyError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	if msg := s.normalizeTask(b); msg != "" {
		legacyError(w, http.StatusBadRequest, "invalid", msg)
		return
	}
	for _, ro := range []string{"deleted", "hidden", "parent", "position", "links"} {
		delete(b, ro)
	}
	id := randomID("")[:22]
	b["kind"], b["id"], b["position"] = "tasks#task", id, strconv.Itoa(100000000+len(l.order))
	b["selfLink"] = "https://www.googleapis.com/tasks/v1/lists/" + l.id + "/tasks/" + id
	t := &task{body: b}
	s.stampTask(t)
	l.tasks[id] = t
	l.order = append(l.order, id)
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request, u *user) {
	l := s.list(w, r, u)
	if l == nil {
		return
	}
	t := l.tasks[r.PathValue("id")]
	if t == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Task not found.")
		return
	}
	writeJSON(w, http.StatusOK, t.body)
}

func (s *Server) patchTask(w http.ResponseWriter, r *http.Request, u *user) {
	l := s.list(w, r, u)
	if l == nil {
		return
	}
	t := l.tasks[r.PathValue("id")]
	if t == nil || t.body["deleted"] == true {
		legacyError(w, http.StatusNotFound, "notFound", "Task not found.")
		return
	}
	patch, ok := decodeMap(r)
	if !ok {
		legacyError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	next := map[string]any{}
	keep := []string{"kind", "id", "selfLink", "position", "parent", "hidden", "etag", "updated"}
	for k, v := range t.body {
		if r.Method == http.MethodPatch || slices.Contains(keep, k) {
			next[k] = v
		}
	}
	for k, v := range patch {
		if slices.Contains(keep, k) || k == "deleted" || k == "links" {
			continue
		}
		if v == nil {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	if msg := s.normalizeTask(next); msg != "" {
		legacyError(w, http.StatusBadRequest, "invalid", msg)
		return
	}
	t.body = next
	s.stampTask(t)
	writeJSON(w, http.StatusOK, t.body)
}

func (s *Server) deleteTask(w http.ResponseWriter, r *http.Request, u *user) {
	l := s.list(w, r, u)
	if l == nil {
		return
	}
	t := l.tasks[r.PathValue("id")]
	if t == nil {
		legacyError(w, http.StatusNotFound, "notFound", "Task not found.")
		return
	}
	if t.body["deleted"] != true {
		t.body["deleted"] = true
		s.stampTask(t)
	}
	w.WriteHeader(http.StatusNoContent)
}
