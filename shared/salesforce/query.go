package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// Query runs a SOQL query and calls fn for every record, following
// nextRecordsUrl until done. Batches may be smaller than asked; fn sees each
// record once.
func (c *Client) Query(ctx context.Context, soql string, fn func(Record) error) error {
	return c.query(ctx, "query", soql, fn)
}

// QueryAll is Query including deleted and archived rows (IsDeleted = true).
func (c *Client) QueryAll(ctx context.Context, soql string, fn func(Record) error) error {
	return c.query(ctx, "queryAll", soql, fn)
}

// Count runs a SELECT COUNT() query and returns the number of rows.
func (c *Client) Count(ctx context.Context, soql string) (int, error) {
	page, err := c.queryPage(ctx, request{method: http.MethodGet, path: "query", query: url.Values{"q": {soql}}})
	if err != nil {
		return 0, err
	}
	return page.TotalSize, nil
}

// Collect runs a query and returns every record.
func (c *Client) Collect(ctx context.Context, soql string) ([]Record, error) {
	var out []Record
	err := c.Query(ctx, soql, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func (c *Client) query(ctx context.Context, resource, soql string, fn func(Record) error) error {
	req := request{method: http.MethodGet, path: resource, query: url.Values{"q": {soql}},
		header: http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(c.opts.QueryBatch)}}}
	for {
		page, err := c.queryPage(ctx, req)
		if err != nil {
			return err
		}
		for _, raw := range page.Records {
			rec, err := decodeRecord(raw)
			if err != nil {
				return err
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if page.Done {
			return nil
		}
		if page.NextRecordsURL == "" || !strings.HasPrefix(page.NextRecordsURL, "/services/data/") {
			return fault.New(fault.Temporary, "MALFORMED_RESPONSE", "query batch not done but without a usable nextRecordsUrl")
		}
		req = request{method: http.MethodGet, path: page.NextRecordsURL, header: req.header}
	}
}

func (c *Client) queryPage(ctx context.Context, req request) (*wireQuery, error) {
	var page wireQuery
	if err := c.getJSON(ctx, req, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

func decodeRecord(raw json.RawMessage) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec Record
	if err := dec.Decode(&rec); err != nil {
		return nil, malformed(err, len(raw))
	}
	return rec, nil
}
