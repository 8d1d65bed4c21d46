package fakesalesforce

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestQueryErrorsEchoTheQuery: a refused query's message carries the query
// itself, filter values included, a caret, the row and column, then the
// reason, as real orgs answer (apache/camel-quarkus#3022, mautic/mautic#13406).
func TestQueryErrorsEchoTheQuery(t *testing.T) {
	f := newFixture(t, Options{})
	q := "SELECT Id, Bogus__c FROM Contact WHERE Email = 'ada@example.org'"
	var errs []struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
	}
	resp := f.do("GET", v+"/query?q="+url.QueryEscape(q), nil, &errs)
	want := "\n" + q + "\n           ^\nERROR at Row:1:Column:12\nNo such column 'Bogus__c' on entity 'Contact'."
	if resp.StatusCode != 400 || len(errs) != 1 || errs[0].ErrorCode != "INVALID_FIELD" || !strings.HasPrefix(errs[0].Message, want) {
		t.Errorf("answer %d %+v, want INVALID_FIELD starting %q", resp.StatusCode, errs, want)
	}
}

// TestSubrequestURLWithRawSpaces: composite and composite/batch subrequest
// URLs with raw spaces are answered as a real org answers them (the query
// runs), and a URL that cannot be parsed is an error answer, never a panic
// (httptest.NewRequest panicked on both before).
func TestSubrequestURLWithRawSpaces(t *testing.T) {
	f := newFixture(t, Options{})
	if _, err := f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Van Dyke"}); err != nil {
		t.Fatal(err)
	}
	var batch struct {
		HasErrors bool `json:"hasErrors"`
		Results   []struct {
			StatusCode int             `json:"statusCode"`
			Result     json.RawMessage `json:"result"`
		} `json:"results"`
	}
	f.do("POST", v+"/composite/batch", map[string]any{"batchRequests": []any{
		map[string]string{"method": "GET", "url": "v" + APIVersion + "/query?q=SELECT Id FROM Contact WHERE LastName = 'Van Dyke'"},
		map[string]string{"method": "GET", "url": "v" + APIVersion + "/query?q=SELECT Id FROM Contact\x7f"},
	}}, &batch)
	var page struct {
		TotalSize int `json:"totalSize"`
	}
	if len(batch.Results) != 2 || batch.Results[0].StatusCode != 200 || json.Unmarshal(batch.Results[0].Result, &page) != nil || page.TotalSize != 1 || batch.Results[1].StatusCode != 400 {
		t.Errorf("batch: %+v", batch)
	}
	var comp struct {
		CompositeResponse []struct {
			HTTPStatusCode int `json:"httpStatusCode"`
		} `json:"compositeResponse"`
	}
	f.do("POST", v+"/composite", map[string]any{"compositeRequest": []any{
		map[string]string{"method": "GET", "url": v + "/query?q=SELECT Id, LastName FROM Contact", "referenceId": "q"},
	}}, &comp)
	if len(comp.CompositeResponse) != 1 || comp.CompositeResponse[0].HTTPStatusCode != 200 {
		t.Errorf("composite: %+v", comp)
	}
}
