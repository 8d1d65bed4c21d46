package msgraph

import (
	"strings"

	"github.com/crmsync/crmsync/shared/item"
)

// Task mapping, canonical field ↔ To Do task property:
//
//	Subject title     DueDate dueDateTime (date part, UTC)
//	Status  status    Priority importance
//	Description body (text)
//
// To Do has no extended properties, so crmsync's marker lives in a
// linkedResource with applicationName "crmsync" and externalId = marker.

// appName is the linkedResource applicationName crmsync uses.
const appName = "crmsync"

var taskStatus = map[string]string{
	"NotStarted": "notStarted", "InProgress": "inProgress", "Completed": "completed",
	"Waiting": "waitingOnOthers", "Deferred": "deferred",
}

var taskImportance = map[string]string{"Low": "low", "Normal": "normal", "High": "high"}

func reverse(m map[string]string) map[string]string {
	r := make(map[string]string, len(m))
	for k, v := range m {
		r[v] = k
	}
	return r
}

var (
	taskStatusBack     = reverse(taskStatus)
	taskImportanceBack = reverse(taskImportance)
)

// taskRecord maps a To Do task to a record.
func taskRecord(w wireTask) item.Record {
	f := map[string]string{
		item.Subject:     deref(w.Title),
		item.DueDate:     "",
		item.Status:      taskStatusBack[w.Status],
		item.Priority:    taskImportanceBack[w.Importance],
		item.Description: "",
	}
	if w.DueDateTime != nil && len(w.DueDateTime.DateTime) >= 10 {
		f[item.DueDate] = w.DueDateTime.DateTime[:10]
	}
	if w.Body != nil {
		f[item.Description] = bodyText(*w.Body)
	}
	r := item.Record{
		Kind:       item.Task,
		ID:         w.ID,
		Version:    w.ETag,
		Modified:   parseInstant(w.LastModifiedDateTime),
		Fields:     normalized(f),
		Categories: w.Categories,
	}
	for _, l := range w.LinkedResources {
		if l.ApplicationName == appName {
			r.Marker = l.ExternalID
		}
	}
	if r.Version == "" {
		r.Version = w.LastModifiedDateTime
	}
	return r
}

// taskBody maps the fields present in f to a To Do task body.
func taskBody(f map[string]string) (map[string]any, error) {
	b := map[string]any{}
	if v, ok := f[item.Subject]; ok {
		b["title"] = v
	}
	if v, ok := f[item.DueDate]; ok {
		if v == "" {
			b["dueDateTime"] = nil
		} else {
			if len(v) != 10 {
				return nil, badField(item.DueDate, "want a date 2006-01-02")
			}
			b["dueDateTime"] = wireDateTimeTZ{DateTime: v + "T00:00:00.0000000", TimeZone: "UTC"}
		}
	}
	if v, ok := f[item.Status]; ok && v != "" {
		s, known := taskStatus[v]
		if !known {
			return nil, badField(item.Status, "unknown status")
		}
		b["status"] = s
	}
	if v, ok := f[item.Priority]; ok && v != "" {
		s, known := taskImportance[v]
		if !known {
			return nil, badField(item.Priority, "unknown priority")
		}
		b["importance"] = s
	}
	if v, ok := f[item.Description]; ok {
		b["body"] = wireBody{ContentType: "text", Content: v}
	}
	return b, nil
}

// bodyText returns an item body as plain text; HTML is reduced to its text
// so a CRM description never receives markup.
func bodyText(b wireBody) string {
	if !strings.EqualFold(b.ContentType, "html") {
		return b.Content
	}
	var out strings.Builder
	in := false
	for _, r := range b.Content {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			out.WriteRune(r)
		}
	}
	s := strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(out.String())
	return strings.TrimSpace(s)
}
