package fakesalesforce

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/testenv"
)

// clock is the settable test clock shared by the local servers and the code
// under test.
type clock = testenv.Clock

type fixture struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	clock *clock
	user  string
	token string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk := testenv.NewClock(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	opts.Now = clk.Now
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	u, err := s.AddUser(User{Username: "u@example.com", Password: "pw", Email: "u@example.com", LastName: "User"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, srv: s, http: hs, clock: clk, user: u, token: s.IssueToken(u)}
}

// do sends a request and decodes the JSON answer into out (if not nil).
func (f *fixture) do(method, path string, body any, out any) *http.Response {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, f.http.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			f.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp
}

const v = "/services/data/v" + APIVersion

func TestCreateQueryPaging(t *testing.T) {
	f := newFixture(t, Options{MaxBatchSize: 200})
	var recs []map[string]any
	for i := 0; i < 450; i++ {
		recs = append(recs, map[string]any{"attributes": map[string]string{"type": "Contact"}, "LastName": "L" + string(rune('a'+i%26))})
		if len(recs) == 200 || i == 449 {
			var res []map[string]any
			resp := f.do("POST", v+"/composite/sobjects", map[string]any{"allOrNone": false, "records": recs}, &res)
			if resp.StatusCode != 200 || res[0]["success"] != true {
				t.Fatalf("collections: %d %v", resp.StatusCode, res[0])
			}
			recs = nil
		}
	}
	var page struct {
		TotalSize      int              `json:"totalSize"`
		Done           bool             `json:"done"`
		NextRecordsURL string           `json:"nextRecordsUrl"`
		Records        []map[string]any `json:"records"`
	}
	resp := f.do("GET", v+"/query?q="+url.QueryEscape("SELECT Id, LastName, Owner.Username FROM Contact WHERE LastName LIKE 'L%' ORDER BY LastName"), nil, &page)
	if resp.Header.Get("Sforce-Limit-Info") == "" {
		t.Error("no Sforce-Limit-Info header")
	}
	got := len(page.Records)
	pages := 1
	for !page.Done {
		next := page.NextRecordsURL
		page.NextRecordsURL = ""
		f.do("GET", next, nil, &page)
		got += len(page.Records)
		pages++
	}
	if got != 450 || pages != 3 || page.TotalSize != 450 {
		t.Errorf("got %d records in %d pages (totalSize %d), want 450 in 3", got, pages, page.TotalSize)
	}
	owner := page.Records[0]["Owner"].(map[string]any)
	if owner["Username"] != "u@example.com" {
		t.Errorf("Owner.Username = %v", owner["Username"])
	}
}

func TestErrorsAndRules(t *testing.T) {
	f := newFixture(t, Options{})
	var errs []map[string]any
	resp := f.do("GET", v+"/query?q="+url.QueryEscape("SELECT Id FROM Contact WHERE LastName = 'x' OR Id != null'"), nil, &errs)
	if resp.StatusCode != 400 || errs[0]["errorCode"] != "MALFORMED_QUERY" {
		t.Errorf("malformed query: %d %v", resp.StatusCode, errs)
	}
	var created map[string]any
	f.do("POST", v+"/sobjects/Task", map[string]any{"Subject": "Email: hi", "TaskSubtype": "Email", "Status": "Completed"}, &created)
	id := created["id"].(string)
	errs = nil
	resp = f.do("PATCH", v+"/sobjects/Task/"+id, map[string]any{"TaskSubtype": "Task"}, &errs)
	if resp.StatusCode != 400 || errs[0]["errorCode"] != "INVALID_FIELD_FOR_INSERT_UPDATE" {
		t.Errorf("TaskSubtype update: %d %v", resp.StatusCode, errs)
	}
	var res []map[string]any
	f.do("POST", v+"/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]string{"type": "Contact"}, "LastName": "Ok"},
		map[string]any{"attributes": map[string]string{"type": "Contact"}, "FirstName": "NoLast"},
	}}, &res)
	e := res[1]["errors"].([]any)[0].(map[string]any)
	if res[0]["success"] != true || e["statusCode"] != "REQUIRED_FIELD_MISSING" {
		t.Errorf("mixed batch: %v", res)
	}
	f.srv.SetAPIUsage(15000)
	errs = nil
	resp = f.do("GET", v+"/limits", nil, &errs)
	if resp.StatusCode != 403 || errs[0]["errorCode"] != "REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("limit: %d %v", resp.StatusCode, errs)
	}
}

func TestReplication(t *testing.T) {
	f := newFixture(t, Options{})
	start := f.clock.Now()
	var created map[string]any
	f.do("POST", v+"/sobjects/Contact", map[string]any{"LastName": "A"}, &created)
	id := created["id"].(string)
	f.clock.Add(2 * time.Minute)
	var upd struct {
		IDs    []string `json:"ids"`
		Latest string   `json:"latestDateCovered"`
	}
	q := "?start=" + url.QueryEscape(start.Format(time.RFC3339)) + "&end=" + url.QueryEscape(f.clock.Now().Format(time.RFC3339))
	f.do("GET", v+"/sobjects/Contact/updated/"+q, nil, &upd)
	if len(upd.IDs) != 1 || upd.IDs[0] != id {
		t.Errorf("updated = %v", upd)
	}
	f.do("DELETE", v+"/sobjects/Contact/"+id, nil, nil)
	f.clock.Add(2 * time.Minute)
	var del struct {
		Deleted  []map[string]string `json:"deletedRecords"`
		Earliest string              `json:"earliestDateAvailable"`
	}
	q = "?start=" + url.QueryEscape(start.Format(time.RFC3339)) + "&end=" + url.QueryEscape(f.clock.Now().Format(time.RFC3339))
	f.do("GET", v+"/sobjects/Contact/deleted/"+q, nil, &del)
	if len(del.Deleted) != 1 || del.Deleted[0]["id"] != id {
		t.Errorf("deleted = %v", del)
	}
	var errs []map[string]any
	resp := f.do("DELETE", v+"/sobjects/Contact/"+id, nil, &errs)
	if resp.StatusCode != 404 || errs[0]["errorCode"] != "ENTITY_IS_DELETED" {
		t.Errorf("second delete: %d %v", resp.StatusCode, errs)
	}
	var page struct{ TotalSize int }
	f.do("GET", v+"/queryAll?q="+url.QueryEscape("SELECT COUNT() FROM Contact WHERE IsDeleted = true"), nil, &page)
	if page.TotalSize != 1 {
		t.Errorf("queryAll deleted count = %d, want 1", page.TotalSize)
	}
}

func TestCompositeRollback(t *testing.T) {
	f := newFixture(t, Options{})
	var out struct {
		CompositeResponse []struct {
			HTTPStatusCode int             `json:"httpStatusCode"`
			Body           json.RawMessage `json:"body"`
		} `json:"compositeResponse"`
	}
	f.do("POST", v+"/composite", map[string]any{"allOrNone": true, "compositeRequest": []any{
		map[string]any{"method": "POST", "url": v + "/sobjects/Contact", "referenceId": "c", "body": map[string]any{"LastName": "X"}},
		map[string]any{"method": "POST", "url": v + "/sobjects/Task", "referenceId": "t", "body": map[string]any{"Subject": "s", "WhoId": "@{c.id}", "Status": "Bogus"}},
	}}, &out)
	if len(out.CompositeResponse) != 2 || out.CompositeResponse[1].HTTPStatusCode != 400 {
		t.Fatalf("composite = %+v", out)
	}
	var page struct{ TotalSize int }
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT COUNT() FROM Contact"), nil, &page)
	if page.TotalSize != 0 {
		t.Errorf("contacts after rollback = %d, want 0", page.TotalSize)
	}
}

func TestSeedDemo(t *testing.T) {
	f := newFixture(t, Options{})
	demo, err := SeedDemo(f.srv, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.token = f.srv.IssueToken(demo)
	var page struct{ TotalSize int }
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT COUNT() FROM Contact"), nil, &page)
	if page.TotalSize != 5 {
		t.Errorf("demo contacts = %d, want 5", page.TotalSize)
	}
	var s struct {
		SearchRecords []map[string]any `json:"searchRecords"`
	}
	f.do("GET", v+"/search?q="+url.QueryEscape("FIND {alice@acme.example} IN EMAIL FIELDS RETURNING Contact(Id, Email), Lead(Id)"), nil, &s)
	if len(s.SearchRecords) != 1 {
		t.Errorf("search = %v", s)
	}
}
