package fakesalesforce

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// listView is a saved filter on an object. Mine restricts it to records the
// viewing user owns (USING SCOPE mine).
type listView struct {
	id, object, developerName, label, where string
	mine                                    bool
}

// AddListView adds a list view on object; where is a SOQL condition ("" for
// none). It returns the list view's id.
func (s *Server) AddListView(object, developerName, label, where string, mine bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.object(object)
	if obj == nil {
		return "", &queryError{"INVALID_TYPE", "unknown object " + object}
	}
	lv := &listView{id: s.ids.next("00B"), object: obj.Name, developerName: developerName, label: label, where: where, mine: mine}
	if _, err := s.prepare(lv.query([]string{"Id"})); err != nil {
		return "", err
	}
	s.views[lv.id] = lv
	return lv.id, nil
}

func (lv *listView) columns() []string {
	if lv.object == "Contact" || lv.object == "Lead" {
		return []string{"Name", "Email", "Phone", "Owner.Alias", "Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
	}
	return []string{"Name", "Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
}

// query is the SOQL the list view runs, as its describe reports it.
func (lv *listView) query(fields []string) string {
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(fields, ", ") + " FROM " + lv.object)
	if lv.mine {
		b.WriteString(" USING SCOPE mine")
	}
	if lv.where != "" {
		b.WriteString(" WHERE " + lv.where)
	}
	b.WriteString(" ORDER BY Name ASC NULLS FIRST, Id ASC NULLS FIRST")
	return b.String()
}

func (c *reqCtx) listViewInfo(lv *listView) map[string]any {
	base := c.dataPath() + "/sobjects/" + lv.object + "/listviews/" + lv.id
	return map[string]any{"describeUrl": base + "/describe", "developerName": lv.developerName, "id": lv.id,
		"label": lv.label, "resultsUrl": base + "/results", "soqlCompatible": true, "url": base}
}

func (s *Server) listViews(c *reqCtx, obj *Object, parts []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(parts) == 0 {
		views := []map[string]any{}
		for _, lv := range s.views {
			if lv.object == obj.Name {
				views = append(views, c.listViewInfo(lv))
			}
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"done": true, "listviews": views, "nextRecordsUrl": nil, "size": len(views), "sobjectType": obj.Name})
		return
	}
	lv := s.views[parts[0]]
	if lv == nil || lv.object != obj.Name {
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
		return
	}
	cols := lv.columns()
	switch {
	case len(parts) == 1:
		writeJSON(c.w, http.StatusOK, c.listViewInfo(lv))
	case parts[1] == "describe":
		var scope any
		if lv.mine {
			scope = "mine"
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"columns": columnInfo(cols), "id": lv.id, "query": lv.query(cols), "scope": scope,
			"sobjectType": lv.object, "orderBy": []map[string]any{{"fieldNameOrPath": "Name", "nullsPosition": "first", "sortDirection": "ascending"}}})
	case parts[1] == "results":
		p, err := s.prepare(lv.query(cols))
		if err != nil {
			writeErrors(c.w, http.StatusBadRequest, apiError{err.Error(), "MALFORMED_QUERY", nil})
			return
		}
		q := c.r.URL.Query()
		limit, offset := 25, 0
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
			limit = min(n, 2000)
		}
		if n, err := strconv.Atoi(q.Get("offset")); err == nil && n >= 0 {
			offset = n
		}
		recs := s.selectRecords(c.user, p, false)
		total := len(recs)
		if offset > len(recs) {
			offset = len(recs)
		}
		recs = recs[offset:]
		if len(recs) > limit {
			recs = recs[:limit]
		}
		rows := []map[string]any{}
		for _, r := range recs {
			var values []map[string]any
			for _, col := range cols {
				values = append(values, map[string]any{"fieldNameOrPath": col, "value": listValue(s.value(r, col))})
			}
			rows = append(rows, map[string]any{"columns": values})
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"columns": columnInfo(cols), "developerName": lv.developerName,
			"done": offset+len(recs) >= total, "id": lv.id, "label": lv.label, "records": rows, "size": len(rows)})
	default:
		writeErrors(c.w, http.StatusNotFound, apiError{"The requested resource does not exist", "NOT_FOUND", nil})
	}
}

// listValue formats a value as list view results do: everything a string,
// date-times in Java's Date.toString form.
func listValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format("Mon Jan 02 15:04:05 GMT 2006")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return nil
}

func columnInfo(cols []string) []map[string]any {
	out := make([]map[string]any, 0, len(cols))
	for i, c := range cols {
		var sortIndex, sortDir any
		if i == 0 {
			sortIndex, sortDir = 0, "ascending"
		}
		out = append(out, map[string]any{"ascendingLabel": "Z-A", "descendingLabel": "A-Z", "fieldNameOrPath": c, "hidden": c == "Id" || strings.HasSuffix(c, "Date") || c == "SystemModstamp",
			"label": c, "selectListItem": c, "sortDirection": sortDir, "sortIndex": sortIndex, "sortable": true, "type": "string"})
	}
	return out
}
