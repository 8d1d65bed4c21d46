package google

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/side"
)

// WriteBatch is how many writes go in one batch request: Calendar allows
// 1000 calls and Tasks as many, but writes in quick succession to one
// calendar meet operational limits, and each call still counts against the
// quota; 50 keeps a batch's cost small if it must be retried.
const WriteBatch = 50

// batchCall is one inner request: method, path with query (no host), body.
type batchCall struct {
	method, path string
	body         any
	header       map[string]string
}

// batch sends calls in one multipart/mixed request to batchURL (the API's
// batchPath) and returns each call's answer, matched by Content-ID, not
// position: err is the call's classified error, out[i] its JSON body.
func (c *Client) batch(ctx context.Context, batchURL string, calls []batchCall) ([]json.RawMessage, []error, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, call := range calls {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-ID", "<item-"+strconv.Itoa(i)+">")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, nil, fault.Wrap(fault.Permanent, err)
		}
		fmt.Fprintf(pw, "%s %s HTTP/1.1\r\n", call.method, call.path)
		for k, v := range call.header {
			fmt.Fprintf(pw, "%s: %s\r\n", k, v)
		}
		if call.body != nil {
			b, err := json.Marshal(call.body)
			if err != nil {
				return nil, nil, fault.Wrap(fault.Permanent, err)
			}
			fmt.Fprintf(pw, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(b))
			_, _ = pw.Write(b)
		} else {
			fmt.Fprintf(pw, "\r\n")
		}
	}
	if err := mw.Close(); err != nil {
		return nil, nil, fault.Wrap(fault.Permanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, batchURL, &buf)
	if err != nil {
		return nil, nil, fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, classify(0, nil, nil, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, nil, classify(resp.StatusCode, resp.Header, data, nil)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		return nil, nil, fault.New(fault.Temporary, "bad_batch_response", "the batch answer is not multipart/mixed")
	}
	out, errs := make([]json.RawMessage, len(calls)), make([]error, len(calls))
	seen := make([]bool, len(calls))
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fault.New(fault.Temporary, "bad_batch_response", "the batch answer is malformed")
		}
		id := strings.Trim(p.Header.Get("Content-ID"), "<>")
		n, err := strconv.Atoi(strings.TrimPrefix(id, "response-item-"))
		if err != nil || n < 0 || n >= len(calls) {
			continue
		}
		inner, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(inner.Body)
		inner.Body.Close()
		seen[n] = true
		if inner.StatusCode >= 300 {
			errs[n] = classify(inner.StatusCode, inner.Header, body, nil)
			continue
		}
		out[n] = body
	}
	for i := range calls {
		if !seen[i] {
			// A call the answer does not mention may or may not have run:
			// a temporary failure, never a blind second write.
			errs[i] = fault.New(fault.Temporary, "batch_part_missing", "the batch answer has no part for call "+strconv.Itoa(i))
		}
	}
	return out, errs, nil
}

// pathOf is the path and query of an absolute API URL, as inner batch
// requests carry it.
func pathOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.RequestURI()
}

// batchCreate writes records through the API's batch endpoint, WriteBatch
// calls at a time. prepare builds one record's call ("" path: the record
// is written alone by single, as exceptions of a series are); parse reads a
// created record's id. A part that failed (or is missing from the answer)
// is that record's result; a batch refused as a whole is written record by
// record; a batch that failed in flight fails its records (temporarily).
func (s *Side) batchCreate(ctx context.Context, batchURL string, recs int,
	prepare func(i int) (batchCall, error), single func(i int) (string, error), parse func(json.RawMessage) string,
) ([]side.Result, error) {
	out := make([]side.Result, recs)
	var calls []batchCall
	var idx []int
	flush := func() error {
		if len(calls) == 0 {
			return nil
		}
		bodies, errs, err := s.c.batch(ctx, batchURL, calls)
		if wholeCall(err) {
			return err
		}
		for j, i := range idx {
			switch {
			case fault.Is(err, fault.Permanent):
				// The batch itself was refused, nothing ran: each alone.
				id, err := single(i)
				if wholeCall(err) {
					return err
				}
				out[i] = side.Result{ID: id, Err: err}
			case err != nil:
				// Unknown which calls ran: each record fails for now, and
				// the engine's rerun finds any created by its marker.
				out[i] = side.Result{Err: err}
			case errs[j] != nil:
				out[i] = side.Result{Err: errs[j]}
			default:
				out[i] = side.Result{ID: parse(bodies[j])}
			}
		}
		calls, idx = nil, nil
		return nil
	}
	for i := range recs {
		call, err := prepare(i)
		if err != nil {
			out[i] = side.Result{Err: err}
			continue
		}
		if call.path == "" {
			id, err := single(i)
			if wholeCall(err) {
				return nil, err
			}
			out[i] = side.Result{ID: id, Err: err}
			continue
		}
		calls, idx = append(calls, call), append(idx, i)
		if len(calls) == WriteBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// batchUpdate updates records through a batch endpoint: a batch of reads,
// then a batch of patches built on what was read (patch returns the body,
// If-Match etag and path; an empty body writes nothing). A record whose
// patch meets a conflict, or whose batch failed in flight, is updated alone
// by single (which reads again); a refused record fails alone.
func (s *Side) batchUpdate(ctx context.Context, batchURL string, recs []item.Record,
	get func(id string) string, patch func(rec item.Record, cur json.RawMessage) (batchCall, error), single func(rec item.Record) error,
) ([]side.Result, error) {
	out := make([]side.Result, len(recs))
	for lo := 0; lo < len(recs); lo += WriteBatch {
		hi := min(lo+WriteBatch, len(recs))
		reads := make([]batchCall, 0, hi-lo)
		for _, r := range recs[lo:hi] {
			reads = append(reads, batchCall{method: "GET", path: get(r.ID)})
		}
		bodies, errs, err := s.c.batch(ctx, batchURL, reads)
		if err != nil {
			return nil, err
		}
		var writes []batchCall
		var idx []int
		for j, r := range recs[lo:hi] {
			i := lo + j
			out[i].ID = r.ID
			if errs[j] != nil {
				out[i].Err = errs[j]
				continue
			}
			call, err := patch(r, bodies[j])
			if err != nil || call.path == "" {
				out[i].Err = err
				continue
			}
			writes, idx = append(writes, call), append(idx, i)
		}
		if len(writes) == 0 {
			continue
		}
		_, errs, err = s.c.batch(ctx, batchURL, writes)
		if wholeCall(err) {
			return nil, err
		}
		for j, i := range idx {
			e := err
			if e == nil {
				e = errs[j]
			}
			if e != nil && (isCode(e, codeConflict) || !fault.Is(e, fault.Permanent) && !fault.Is(e, fault.Gone)) {
				// Changed meanwhile, or unknown whether it ran: an update
				// is safe to redo, reading again first.
				e = single(recs[i])
				if wholeCall(e) {
					return nil, e
				}
			}
			out[i].Err = e
		}
	}
	return out, nil
}
