package addin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// RecordAnswer is one record's fields, or the id of a record written.
type RecordAnswer struct {
	Object string         `json:"object"`
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields,omitempty"`
}

// pathObjectID reads and checks {object} and {id}.
func pathObjectID(w http.ResponseWriter, r *http.Request, needID bool) (object, id string, ok bool) {
	object = r.PathValue("object")
	if !objectName.MatchString(object) {
		writeError(w, http.StatusBadRequest, "bad_object", "not an object name")
		return "", "", false
	}
	if needID {
		id = r.PathValue("id")
		if !pathID(id) {
			writeError(w, http.StatusBadRequest, "bad_id", "not a record id")
			return "", "", false
		}
	}
	return object, id, true
}

// getRecord answers GET /records/{object}/{id}?fields=A,B: the given fields
// (default: every field the user may create or update), for an edit form.
func (a *API) getRecord(w http.ResponseWriter, r *http.Request) {
	object, id, ok := pathObjectID(w, r, true)
	if !ok {
		return
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	obj, err := a.describe.object(r.Context(), callerOf(r.Context()), crm, object)
	if err != nil {
		a.crmError(w, r, "describe", err)
		return
	}
	var fields []string
	if q := r.URL.Query().Get("fields"); q != "" {
		for _, name := range strings.Split(q, ",") {
			f, ok := obj.Field(strings.TrimSpace(name))
			if !ok {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: "validation", Message: "unknown field",
					Fields: []string{safeName(name)}, Problems: map[string]string{safeName(name): "no such field on " + obj.Name}})
				return
			}
			fields = append(fields, f.Name)
		}
	} else {
		fields = []string{"Id"}
		for _, f := range obj.Fields {
			if (f.Createable || f.Updateable) && f.Name != "Id" {
				fields = append(fields, f.Name)
			}
		}
	}
	rec, err := crm.GetRecord(r.Context(), obj.Name, id, fields)
	if err != nil {
		a.crmError(w, r, "get", err)
		return
	}
	writeJSON(w, http.StatusOK, RecordAnswer{Object: obj.Name, ID: id, Fields: rec})
}

// createRecord answers POST /records/{object} with a JSON object of fields.
func (a *API) createRecord(w http.ResponseWriter, r *http.Request) { a.writeRecord(w, r, false) }

// updateRecord answers PATCH /records/{object}/{id} with a JSON object of
// the fields to change.
func (a *API) updateRecord(w http.ResponseWriter, r *http.Request) { a.writeRecord(w, r, true) }

func (a *API) writeRecord(w http.ResponseWriter, r *http.Request, update bool) {
	object, id, ok := pathObjectID(w, r, update)
	if !ok {
		return
	}
	var body map[string]any
	if !readJSON(w, r, &body) {
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "no_fields", "give at least one field")
		return
	}
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	obj, err := a.describe.object(r.Context(), callerOf(r.Context()), crm, object)
	if err != nil {
		a.crmError(w, r, "describe", err)
		return
	}
	fields, problems := validateFields(obj, body, update)
	if len(problems) > 0 {
		names := make([]string, 0, len(problems))
		for n := range problems {
			names = append(names, n)
		}
		slices.Sort(names)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "validation",
			Message: "some fields cannot be written: " + strings.Join(names, ", "), Fields: names, Problems: problems})
		return
	}
	if update {
		if err := crm.UpdateRecord(r.Context(), obj.Name, id, fields); err != nil {
			a.crmError(w, r, "update", err)
			return
		}
		writeJSON(w, http.StatusOK, RecordAnswer{Object: obj.Name, ID: id})
		return
	}
	newID, err := crm.CreateRecord(r.Context(), obj.Name, fields)
	if err != nil {
		a.crmError(w, r, "create", err)
		return
	}
	writeJSON(w, http.StatusCreated, RecordAnswer{Object: obj.Name, ID: newID})
}

// validateFields checks body against describe: every field must exist, be
// createable (or updateable, for an update) and hold a value of its type.
// It returns the fields under their describe names, or the problems by
// field name.
func validateFields(obj Object, body map[string]any, update bool) (map[string]any, map[string]string) {
	out := make(map[string]any, len(body))
	problems := map[string]string{}
	for name, v := range body {
		f, ok := obj.Field(name)
		switch {
		case !ok:
			problems[safeName(name)] = "no such field on " + obj.Name
			continue
		case update && !f.Updateable, !update && !f.Createable:
			problems[f.Name] = "read-only"
			continue
		}
		if p := checkValue(f, v); p != "" {
			problems[f.Name] = p
			continue
		}
		out[f.Name] = v
	}
	return out, problems
}

// checkValue says what is wrong with v as a value of f ("" when fine).
func checkValue(f Field, v any) string {
	if v == nil {
		if !f.Nillable {
			return "required: cannot be empty"
		}
		return ""
	}
	switch f.Type {
	case "boolean":
		if _, ok := v.(bool); !ok {
			return "must be true or false"
		}
		return ""
	case "int":
		n, ok := v.(json.Number)
		if !ok {
			return "must be a whole number"
		}
		if _, err := n.Int64(); err != nil {
			return "must be a whole number"
		}
		return ""
	case "double", "currency", "percent":
		n, ok := v.(json.Number)
		if !ok {
			return "must be a number"
		}
		if _, err := n.Float64(); err != nil {
			return "must be a number"
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		return "must be text"
	}
	if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
		return "longer than " + strconv.Itoa(f.Length) + " characters"
	}
	switch f.Type {
	case "date":
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "must be a date like 2026-11-24"
		}
	case "datetime":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "must be a date and time like 2026-11-24T09:30:00Z"
		}
	case "email":
		if s != "" && (!strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n,;")) {
			return "must be an e-mail address"
		}
	case "reference", "id":
		if s != "" && !recordID.MatchString(s) {
			return "must be a record id"
		}
	case "picklist":
		if f.Restricted && s != "" && !slices.Contains(f.Picklist, s) {
			return "not one of the allowed values"
		}
	case "multipicklist":
		if f.Restricted && s != "" {
			for _, part := range strings.Split(s, ";") {
				if !slices.Contains(f.Picklist, part) {
					return "not one of the allowed values"
				}
			}
		}
	case "address", "location", "base64":
		return "cannot be set from the add-in"
	}
	return ""
}

// safeName is a client-sent field name fit to appear in an answer.
func safeName(name string) string {
	name = strings.TrimSpace(name)
	if !objectName.MatchString(name) {
		return "(invalid field name)"
	}
	return name
}
