package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// Subrequest is one step of a composite request. URL is relative to the
// versioned base ("sobjects/Task"); bodies may refer to earlier results as
// "@{referenceId.id}".
type Subrequest struct {
	Method      string
	URL         string
	ReferenceID string
	Body        any
}

// SubResponse is one step's answer; Err is set (classified) when it failed.
type SubResponse struct {
	ReferenceID string
	Status      int
	Body        json.RawMessage
	Err         error
}

// Composite runs up to 25 dependent subrequests in one API call. With
// allOrNone, a failure rolls every step back.
func (c *Client) Composite(ctx context.Context, allOrNone bool, subs []Subrequest) ([]SubResponse, error) {
	if len(subs) == 0 || len(subs) > 25 {
		return nil, fault.New(fault.Permanent, "INVALID_INPUT", "a composite request holds 1 to 25 subrequests")
	}
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	body := wireComposite{AllOrNone: allOrNone}
	for _, s := range subs {
		if strings.Contains(s.URL, "..") || strings.HasPrefix(s.URL, "/") {
			return nil, fault.New(fault.Permanent, "INVALID_INPUT", "subrequest URLs are relative to the API base")
		}
		body.CompositeRequest = append(body.CompositeRequest, wireSubrequest{Method: s.Method, URL: "/services/data/v" + v + "/" + s.URL, ReferenceID: s.ReferenceID, Body: s.Body})
	}
	b, err := jsonBody(body)
	if err != nil {
		return nil, err
	}
	var w wireCompositeResponse
	if err := c.getJSON(ctx, request{method: http.MethodPost, path: "composite", body: b}, &w); err != nil {
		return nil, err
	}
	out := make([]SubResponse, len(w.CompositeResponse))
	for i, r := range w.CompositeResponse {
		out[i] = SubResponse{ReferenceID: r.ReferenceID, Status: r.HTTPStatusCode, Body: r.Body}
		if r.HTTPStatusCode >= 400 {
			out[i].Err = responseError(r.HTTPStatusCode, "application/json", r.Body)
		}
	}
	return out, nil
}

// Batch runs up to 25 independent subrequests (composite/batch) in one API
// call; each answer carries its own status and error.
func (c *Client) Batch(ctx context.Context, haltOnError bool, subs []Subrequest) ([]SubResponse, error) {
	if len(subs) == 0 || len(subs) > 25 {
		return nil, fault.New(fault.Permanent, "INVALID_INPUT", "a batch holds 1 to 25 subrequests")
	}
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	type sub struct {
		Method    string `json:"method"`
		URL       string `json:"url"`
		RichInput any    `json:"richInput,omitempty"`
	}
	body := struct {
		HaltOnError   bool  `json:"haltOnError"`
		BatchRequests []sub `json:"batchRequests"`
	}{HaltOnError: haltOnError}
	for _, s := range subs {
		if strings.Contains(s.URL, "..") || strings.HasPrefix(s.URL, "/") {
			return nil, fault.New(fault.Permanent, "INVALID_INPUT", "subrequest URLs are relative to the API base")
		}
		body.BatchRequests = append(body.BatchRequests, sub{Method: s.Method, URL: "v" + v + "/" + s.URL, RichInput: s.Body})
	}
	b, err := jsonBody(body)
	if err != nil {
		return nil, err
	}
	var w struct {
		HasErrors bool `json:"hasErrors"`
		Results   []struct {
			StatusCode int             `json:"statusCode"`
			Result     json.RawMessage `json:"result"`
		} `json:"results"`
	}
	if err := c.getJSON(ctx, request{method: http.MethodPost, path: "composite/batch", body: b}, &w); err != nil {
		return nil, err
	}
	if len(w.Results) != len(subs) {
		return nil, fault.New(fault.Temporary, "MALFORMED_RESPONSE", "batch answered a different number of results")
	}
	out := make([]SubResponse, len(subs))
	for i, r := range w.Results {
		out[i] = SubResponse{ReferenceID: subs[i].ReferenceID, Status: r.StatusCode, Body: r.Result}
		if r.StatusCode >= 400 {
			out[i].Err = responseError(r.StatusCode, "application/json", r.Result)
		}
	}
	return out, nil
}
