package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/crmsync/crmsync/shared/fault"
)

// Search runs a SOSL search (GET /search). Build the FIND term with SOSLTerm.
// The search index lags behind writes: for exact matches use SOQL.
func (c *Client) Search(ctx context.Context, sosl string) ([]Record, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "search/", query: url.Values{"q": {sosl}}})
	if err != nil {
		return nil, err
	}
	return decodeSearch(resp.body)
}

// SearchObject names an object to search and the fields to return.
type SearchObject struct {
	Name   string
	Fields []string
	Limit  int
}

// FindText runs a parameterized search for plain text (no SOSL syntax
// reaches the server: reserved characters are escaped).
func (c *Client) FindText(ctx context.Context, text string, objects []SearchObject, limit int) ([]Record, error) {
	type sobj struct {
		Name   string   `json:"name"`
		Fields []string `json:"fields,omitempty"`
		Limit  int      `json:"limit,omitempty"`
	}
	body := struct {
		Q            string `json:"q"`
		In           string `json:"in"`
		SObjects     []sobj `json:"sobjects"`
		OverallLimit int    `json:"overallLimit,omitempty"`
	}{Q: SOSLTerm(text), In: "ALL", OverallLimit: limit}
	for _, o := range objects {
		if !validName(o.Name) {
			return nil, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(o.Name))
		}
		for _, f := range o.Fields {
			if !validName(f) {
				return nil, fault.New(fault.Permanent, "INVALID_FIELD", "not a field name: "+quoteForMessage(f))
			}
		}
		body.SObjects = append(body.SObjects, sobj(o))
	}
	b, err := jsonBody(body)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: "parameterizedSearch/", body: b, retryWrites: true})
	if err != nil {
		return nil, err
	}
	return decodeSearch(resp.body)
}

// decodeSearch accepts the current {"searchRecords":[…]} shape and the bare
// array very old API versions answered.
func decodeSearch(body []byte) ([]Record, error) {
	trimmed := bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, malformed(err, len(body))
		}
	} else {
		var w wireSearch
		if err := json.Unmarshal(trimmed, &w); err != nil {
			return nil, malformed(err, len(body))
		}
		raws = w.SearchRecords
	}
	out := make([]Record, 0, len(raws))
	for _, raw := range raws {
		rec, err := decodeRecord(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
