package msgraph

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// BatchSize is the most requests Graph accepts in one JSON batch.
const BatchSize = 20

// part is one request of a batch. DependsOn holds indexes of earlier parts in
// the same chunk of BatchSize.
type part struct {
	method    string
	path      string
	body      any
	dependsOn []int
}

// partResult is the answer to one part: Body on success, Err (classified)
// otherwise.
type partResult struct {
	status int
	body   []byte
	err    error
}

// batch sends parts in JSON batches of up to BatchSize, concurrently as far
// as the mailbox gate allows (Exchange runs up to four parts of a batch at
// once, so full batches go one at a time), and returns
// one result per part in input order. Parts Graph throttled individually are
// resent after their Retry-After; a part whose dependency failed reports a
// Temporary 424. The error is for the whole call (no batch could be sent).
func (c *Client) batch(ctx context.Context, parts []part) ([]partResult, error) {
	results := make([]partResult, len(parts))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for start := 0; start < len(parts); start += BatchSize {
		end := min(start+BatchSize, len(parts))
		wg.Go(func() {
			err := c.batchChunk(ctx, parts[start:end], results[start:end])
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		// Parts of failed chunks carry the error too, so callers that look
		// per record still see why.
		for i := range results {
			if results[i].status == 0 && results[i].err == nil {
				results[i].err = firstErr
			}
		}
		return results, firstErr
	}
	return results, nil
}

func (c *Client) batchChunk(ctx context.Context, parts []part, results []partResult) error {
	pending := make([]int, len(parts))
	for i := range parts {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		var req wireBatch
		inBatch := map[int]bool{}
		for _, i := range pending {
			inBatch[i] = true
		}
		for _, i := range pending {
			p := parts[i]
			r := wireBatchRequest{
				ID:      strconv.Itoa(i + 1),
				Method:  p.method,
				URL:     "/" + p.path,
				Headers: map[string]string{"Prefer": `IdType="ImmutableId", ` + preferUTC},
			}
			for _, d := range p.dependsOn {
				if inBatch[d] {
					r.DependsOn = append(r.DependsOn, strconv.Itoa(d+1))
				}
			}
			if p.body != nil {
				b, err := json.Marshal(p.body)
				if err != nil {
					results[i] = partResult{err: fault.Wrap(fault.Permanent, err)}
					continue
				}
				r.Body = b
				r.Headers["Content-Type"] = "application/json"
			}
			req.Requests = append(req.Requests, r)
		}
		var out wireBatchResult
		resp, err := c.call(ctx, request{method: http.MethodPost, path: "$batch", body: req, weight: min(len(req.Requests), MailboxConcurrency)})
		if err != nil {
			return err
		}
		if err := json.Unmarshal(resp.body, &out); err != nil {
			return malformed("batch response", err)
		}
		got := map[string]wireBatchResponse{}
		for _, r := range out.Responses {
			got[r.ID] = r
		}
		var retry []int
		var wait time.Duration
		for _, i := range pending {
			if results[i].err != nil {
				continue
			}
			r, ok := got[strconv.Itoa(i+1)]
			if !ok {
				results[i] = partResult{err: malformed("batch response", errMissingPart)}
				continue
			}
			if r.Status < 300 {
				results[i] = partResult{status: r.Status, body: r.Body}
				continue
			}
			h := http.Header{}
			for k, v := range r.Headers {
				h.Set(k, v)
			}
			err := classify(r.Status, h, r.Body, nil)
			if fault.Is(err, fault.Throttled) && attempt < c.maxRetries {
				retry = append(retry, i)
				wait = max(wait, fault.RetryAfterOf(err))
				continue
			}
			if r.Status == http.StatusFailedDependency && attempt < c.maxRetries && dependencyRetried(parts[i], retry) {
				retry = append(retry, i)
				continue
			}
			results[i] = partResult{status: r.Status, err: err}
		}
		if len(retry) == 0 {
			return nil
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if wait > c.maxWait {
			for _, i := range retry {
				results[i] = partResult{err: &fault.Error{Class: fault.Throttled, Code: "TooManyRequests", RetryAfter: wait}}
			}
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		pending = retry
	}
	return nil
}

// dependencyRetried reports whether a part that got 424 depends on a part
// that is being retried (so it can succeed on the next round).
func dependencyRetried(p part, retry []int) bool {
	for _, d := range p.dependsOn {
		for _, r := range retry {
			if d == r {
				return true
			}
		}
	}
	return false
}

type batchError string

func (e batchError) Error() string { return string(e) }

const errMissingPart = batchError("batch response lacks a part")
