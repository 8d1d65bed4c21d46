package salesforce

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// CollectionSize is the sObject Collections limit per call.
const CollectionSize = 200

// Result is one record's outcome in a batched write: its id, or a
// classified error (fault.Permanent with Fields for validation and duplicate
// rules, fault.Gone for records deleted meanwhile).
type Result struct {
	ID  string
	Err error
}

// Create inserts records (each made with NewRecord) through sObject
// Collections: 200 per call, allOrNone=false, so one bad record never stops
// the others. Records refused for lock contention are retried alone with
// jittered backoff. On a whole-call error the results of calls already made
// are kept and the rest carry that error, which is also returned.
func (c *Client) Create(ctx context.Context, recs []Record) ([]Result, error) {
	return c.writeCollection(ctx, http.MethodPost, recs)
}

// Update changes records (each with "Id" and the fields to write) through
// sObject Collections, like Create.
func (c *Client) Update(ctx context.Context, recs []Record) ([]Result, error) {
	out := make([]Record, len(recs))
	for i, r := range recs {
		cp := make(Record, len(r))
		for k, v := range r {
			if k == "Id" {
				k = "id"
			}
			cp[k] = v
		}
		out[i] = cp
	}
	return c.writeCollection(ctx, http.MethodPatch, out)
}

// Delete deletes records by id through sObject Collections. A record that is
// already deleted counts as deleted.
func (c *Client) Delete(ctx context.Context, ids []string) ([]Result, error) {
	results := make([]Result, len(ids))
	pending := indexes(len(ids))
	return results, c.retryLocked(ctx, pending, results, func(batch []int) ([]wireSaveResult, error) {
		list := make([]string, len(batch))
		for i, j := range batch {
			if !validID(ids[j]) {
				return nil, fault.New(fault.Permanent, "MALFORMED_ID", "not a record id: "+quoteForMessage(ids[j]))
			}
			list[i] = ids[j]
		}
		var out []wireSaveResult
		err := c.getJSON(ctx, request{method: http.MethodDelete, path: "composite/sobjects",
			query: url.Values{"ids": {strings.Join(list, ",")}, "allOrNone": {"false"}}}, &out)
		for i := range out {
			if i < len(batch) && !out[i].Success && alreadyDeleted(out[i].Errors) {
				id := ids[batch[i]]
				out[i] = wireSaveResult{ID: &id, Success: true}
			}
		}
		return out, err
	})
}

func alreadyDeleted(errs []wireRecordError) bool {
	for _, e := range errs {
		if e.StatusCode == "ENTITY_IS_DELETED" || e.StatusCode == "NOT_FOUND" {
			return true
		}
	}
	return false
}

// validID accepts 15- and 18-character alphanumeric ids.
func validID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func (c *Client) writeCollection(ctx context.Context, method string, recs []Record) ([]Result, error) {
	results := make([]Result, len(recs))
	return results, c.retryLocked(ctx, indexes(len(recs)), results, func(batch []int) ([]wireSaveResult, error) {
		return c.sendIsolating(ctx, method, recs, batch)
	})
}

// sendIsolating sends one collections batch. Salesforce reads the whole body
// before writing anything, so a field the object lacks (a custom field not
// deployed, a typo in a mapping) fails the whole call with 400 INVALID_FIELD
// instead of failing only the records that carry it. Those records are then
// given that error and the others sent again, so one bad field never stops
// the rest of the batch; each round drops at least one record.
func (c *Client) sendIsolating(ctx context.Context, method string, recs []Record, batch []int) ([]wireSaveResult, error) {
	out := make([]wireSaveResult, len(batch))
	live := indexes(len(batch))
	for len(live) > 0 {
		body := wireCollection{AllOrNone: false, Records: make([]any, len(live))}
		for i, k := range live {
			body.Records[i] = recs[batch[k]]
		}
		b, err := jsonBody(body)
		if err != nil {
			return nil, err
		}
		var got []wireSaveResult
		err = c.getJSON(ctx, request{method: method, path: "composite/sobjects", body: b}, &got)
		if err == nil {
			if len(got) != len(live) {
				return got, nil // the caller reports the mismatch
			}
			for i, k := range live {
				out[k] = got[i]
			}
			return out, nil
		}
		fe, field := unknownField(err)
		var keep []int
		for _, k := range live {
			if field != "" && recs[batch[k]].hasKey(field) {
				out[k] = wireSaveResult{Errors: []wireRecordError{{StatusCode: fe.Code, Message: fe.Message, Fields: []string{field}}}}
			} else {
				keep = append(keep, k)
			}
		}
		if len(keep) == len(live) {
			return nil, err
		}
		live = keep
	}
	return out, nil
}

// noSuchColumn reads the field from Salesforce's INVALID_FIELD message.
var noSuchColumn = regexp.MustCompile(`No such column '([^']+)'`)

// unknownField returns the field a whole-call INVALID_FIELD names ("" when
// err is something else).
func unknownField(err error) (*fault.Error, string) {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != "INVALID_FIELD" {
		return nil, ""
	}
	if len(fe.Fields) == 1 {
		return fe, fe.Fields[0]
	}
	if m := noSuchColumn.FindStringSubmatch(fe.Message); m != nil {
		return fe, m[1]
	}
	return fe, ""
}

// retryLocked sends pending records in batches of 200 and retries only the
// records refused with UNABLE_TO_LOCK_ROW, a bounded number of times.
func (c *Client) retryLocked(ctx context.Context, pending []int, results []Result, send func(batch []int) ([]wireSaveResult, error)) error {
	for attempt := 1; len(pending) > 0; attempt++ {
		var again []int
		for start := 0; start < len(pending); start += CollectionSize {
			batch := pending[start:min(start+CollectionSize, len(pending))]
			out, err := send(batch)
			if err == nil && len(out) != len(batch) {
				err = fault.New(fault.Temporary, "MALFORMED_RESPONSE", "collections answered a different number of results")
			}
			if err != nil {
				for _, j := range pending[start:] {
					results[j] = Result{Err: err}
				}
				for _, j := range again {
					results[j] = Result{Err: err}
				}
				return err
			}
			for i, res := range out {
				j := batch[i]
				if res.Success {
					id := ""
					if res.ID != nil {
						id = *res.ID
					}
					results[j] = Result{ID: id}
					continue
				}
				fe := fault.New(fault.Permanent, "UNKNOWN", "the record was refused without a reason")
				if len(res.Errors) > 0 {
					fe = recordError(res.Errors[0])
				}
				if fe.Code == "UNABLE_TO_LOCK_ROW" && attempt < c.opts.MaxAttempts {
					again = append(again, j)
				}
				results[j] = Result{Err: fe}
			}
		}
		pending = again
		if len(pending) > 0 {
			if err := c.sleep(ctx, attempt); err != nil {
				return err
			}
		}
	}
	return nil
}

// Retrieve reads records by id (sObject Collections GET), 200 per call; ids
// that do not exist are absent from the result.
func (c *Client) Retrieve(ctx context.Context, object string, ids, fields []string) ([]Record, error) {
	if !validName(object) {
		return nil, fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	for _, f := range fields {
		if !validName(f) {
			return nil, fault.New(fault.Permanent, "INVALID_FIELD", "not a field name: "+quoteForMessage(f))
		}
	}
	var out []Record
	for start := 0; start < len(ids); start += CollectionSize {
		batch := ids[start:min(start+CollectionSize, len(ids))]
		for _, id := range batch {
			if !validID(id) {
				return nil, fault.New(fault.Permanent, "MALFORMED_ID", "not a record id: "+quoteForMessage(id))
			}
		}
		var page []Record
		if err := c.getJSON(ctx, request{method: http.MethodGet, path: "composite/sobjects/" + object,
			query: url.Values{"ids": {strings.Join(batch, ",")}, "fields": {strings.Join(fields, ",")}}}, &page); err != nil {
			return nil, err
		}
		for _, r := range page {
			if r != nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// CreateOne inserts one record (POST /sobjects/{T}) and returns its id.
func (c *Client) CreateOne(ctx context.Context, object string, fields Record) (string, error) {
	if !validName(object) {
		return "", fault.New(fault.Permanent, "INVALID_TYPE", "not an sObject name: "+quoteForMessage(object))
	}
	b, err := jsonBody(fields)
	if err != nil {
		return "", err
	}
	var res wireSaveResult
	if err := c.getJSON(ctx, request{method: http.MethodPost, path: "sobjects/" + object, body: b}, &res); err != nil {
		return "", err
	}
	if !res.Success || res.ID == nil {
		if len(res.Errors) > 0 {
			return "", recordError(res.Errors[0])
		}
		return "", fault.New(fault.Permanent, "UNKNOWN", "create refused without a reason")
	}
	return *res.ID, nil
}

// UpdateOne changes one record (PATCH /sobjects/{T}/{id}).
func (c *Client) UpdateOne(ctx context.Context, object, id string, fields Record) error {
	if !validName(object) || !validID(id) {
		return fault.New(fault.Permanent, "INVALID_INPUT", "bad object name or record id")
	}
	b, err := jsonBody(fields)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodPatch, path: "sobjects/" + object + "/" + id, body: b})
	return err
}

// DeleteOne deletes one record; an already-deleted record counts as deleted.
func (c *Client) DeleteOne(ctx context.Context, object, id string) error {
	if !validName(object) || !validID(id) {
		return fault.New(fault.Permanent, "INVALID_INPUT", "bad object name or record id")
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "sobjects/" + object + "/" + id})
	if fault.Is(err, fault.Gone) {
		return nil
	}
	return err
}

// Get reads one record (all fields, or only fields when given).
func (c *Client) Get(ctx context.Context, object, id string, fields ...string) (Record, error) {
	if !validName(object) || !validID(id) {
		return nil, fault.New(fault.Permanent, "INVALID_INPUT", "bad object name or record id")
	}
	req := request{method: http.MethodGet, path: "sobjects/" + object + "/" + id}
	if len(fields) > 0 {
		for _, f := range fields {
			if !validName(f) {
				return nil, fault.New(fault.Permanent, "INVALID_FIELD", "not a field name: "+quoteForMessage(f))
			}
		}
		req.query = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	var rec Record
	if err := c.getJSON(ctx, req, &rec); err != nil {
		return nil, err
	}
	return rec, nil
}
