package salesforce

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// ListView is a saved list view of an object.
type ListView struct {
	ID, DeveloperName, Label string
}

// ListViews lists an object's list views (for choosing the contact scope).
func (c *Client) ListViews(ctx context.Context, object string) ([]ListView, error) {
	if !validName(object) {
		return nil, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	var w wireListViews
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + object + "/listviews"}, &w); err != nil {
		return nil, err
	}
	out := make([]ListView, 0, len(w.Listviews))
	for _, lv := range w.Listviews {
		out = append(out, ListView{ID: lv.ID, DeveloperName: lv.DeveloperName, Label: lv.Label})
	}
	return out, nil
}

// ListViewResults returns the rows of a list view as column→value maps.
func (c *Client) ListViewResults(ctx context.Context, object, id string, limit, offset int) ([]map[string]string, error) {
	if !validName(object) || !validID(id) {
		return nil, fault.New(fault.Permanent, "INVALID_INPUT", "bad object name or list view id")
	}
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var w wireListViewResults
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + object + "/listviews/" + id + "/results", query: q}, &w); err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(w.Records))
	for _, r := range w.Records {
		row := map[string]string{}
		for _, col := range r.Columns {
			if col.Value != nil {
				row[col.FieldNameOrPath] = *col.Value
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// listViewFilter is a list view's query split so crmsync can select its own
// fields and add conditions: "FROM Contact USING SCOPE mine" and the WHERE
// condition ("" if none).
type listViewFilter struct {
	from, where string
}

// ListViewFilter reads a list view's SOQL from its describe.
func (c *Client) listViewFilter(ctx context.Context, object, id string) (listViewFilter, error) {
	if !validName(object) || !validID(id) {
		return listViewFilter{}, fault.New(fault.Permanent, "INVALID_INPUT", "bad object name or list view id")
	}
	var w wireListViewDescribe
	if err := c.getJSON(ctx, request{method: http.MethodGet, path: "sobjects/" + object + "/listviews/" + id + "/describe"}, &w); err != nil {
		return listViewFilter{}, err
	}
	return splitListViewQuery(w.Query)
}

// splitListViewQuery finds the top-level FROM, WHERE and ORDER BY of a list
// view's query, skipping string literals, so that the WHERE condition can be
// reused verbatim (it comes from Salesforce, not from a user of crmsync).
func splitListViewQuery(q string) (listViewFilter, error) {
	positions := map[string]int{}
	inStr := false
	upper := strings.ToUpper(q)
	for i := 0; i < len(q); i++ {
		switch {
		case inStr && q[i] == '\\':
			i++
		case q[i] == '\'':
			inStr = !inStr
		case !inStr:
			for _, kw := range []string{" FROM ", " WHERE ", " ORDER BY ", " LIMIT "} {
				if _, seen := positions[kw]; !seen && strings.HasPrefix(upper[i:], kw) {
					positions[kw] = i
				}
			}
		}
	}
	from, ok := positions[" FROM "]
	if !ok || inStr {
		return listViewFilter{}, fault.New(fault.Permanent, "MALFORMED_QUERY", "list view query has no FROM")
	}
	end := len(q)
	for _, kw := range []string{" ORDER BY ", " LIMIT "} {
		if p, ok := positions[kw]; ok && p < end {
			end = p
		}
	}
	f := listViewFilter{from: strings.TrimSpace(q[from:end])}
	if w, ok := positions[" WHERE "]; ok && w < end {
		f.from = strings.TrimSpace(q[from:w])
		f.where = strings.TrimSpace(q[w+len(" WHERE ") : end])
	}
	return f, nil
}
