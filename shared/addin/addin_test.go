package addin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/google/go-cmp/cmp"
)

func decode[T any](t *testing.T, body *bytes.Buffer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	_, err := New(Config{ShareKey: []byte("short")})
	if err == nil {
		t.Fatal("New with an empty config succeeded")
	}
	for _, want := range []string{"Auth", "CRM", "Store", "ShareKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRoutesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range Routes() {
		if !strings.HasPrefix(rt.Path, Prefix+"/") {
			t.Errorf("%s: path outside %s", rt.Key(), Prefix)
		}
		if rt.Permission != PermUse && rt.Permission != PermWrite {
			t.Errorf("%s: permission %q is not one of the add-in's", rt.Key(), rt.Permission)
		}
		if rt.Method != http.MethodGet && rt.Permission != PermWrite && !strings.HasSuffix(rt.Path, "/prefill") {
			t.Errorf("%s: a writing route needs %s", rt.Key(), PermWrite)
		}
		if seen[rt.Key()] {
			t.Errorf("%s listed twice", rt.Key())
		}
		seen[rt.Key()] = true
	}
}

// concrete fills path values so every route can be called.
func concrete(path string) string {
	return strings.NewReplacer("{name}", "Contact", "{object}", "Contact", "{id}", "003000000000001").Replace(path)
}

func TestEveryRouteNeedsABearer(t *testing.T) {
	f := newFixture(t)
	for _, rt := range Routes() {
		t.Run(rt.Key(), func(t *testing.T) {
			for _, auth := range []string{"", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token"} {
				rec := f.withAuth(rt.Method, concrete(rt.Path), auth)
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("Authorization %q: status %d, want 401", auth, rec.Code)
				}
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("Authorization %q: WWW-Authenticate %q, want a Bearer challenge", auth, got)
				}
			}
			if got := f.crm.count("FindPeople") + f.crm.count("Describe") + f.crm.count("Create"); got != 0 {
				t.Errorf("unauthenticated calls reached the CRM %d times", got)
			}
		})
	}
}

func TestPeople(t *testing.T) {
	f := newFixture(t)
	f.crm.people = []Person{
		{Object: "Lead", ID: "00Q000000000001", Name: "Ann Lead", Email: "ann@x.com"},
		{Object: "Contact", ID: "003000000000001", Name: "Ann Contact", Email: "ann@x.com", AccountID: "001000000000001"},
		{Object: "Contact", ID: "003000000000002", Name: "Bo", Email: "bo@y.com", AccountID: "001000000000001"},
	}
	var opps []Summary
	for i := range 8 {
		opps = append(opps, Summary{ID: fmt.Sprintf("006%012d", i), Name: "Deal"})
	}
	f.crm.accounts["001000000000001"] = Account{ID: "001000000000001", Name: "X Corp", Opportunities: opps}

	rec := f.json("u1", "GET", Prefix+"/people?email=Ann@X.com&email=bo@y.com&email=nobody@z.com&email=ann@x.com", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decode[PeopleAnswer](t, rec.Body)
	if ps := got.People["ann@x.com"]; len(ps) != 2 || ps[0].Object != "Contact" || ps[1].Object != "Lead" {
		t.Errorf("ann@x.com: got %+v, want the Contact then the Lead", ps)
	}
	if ps, ok := got.People["nobody@z.com"]; !ok || len(ps) != 0 {
		t.Errorf("nobody@z.com: got %v (present %v), want an empty list", ps, ok)
	}
	acc := got.Accounts["001000000000001"]
	if len(acc.Opportunities) != PerAccount || acc.Cases == nil {
		t.Errorf("account: %d opportunities (want %d), cases %v (want [])", len(acc.Opportunities), PerAccount, acc.Cases)
	}
	if got, want := f.crm.count("FindPeople"), 1; got != want {
		t.Errorf("FindPeople calls = %d, want %d", got, want)
	}
	if got, want := f.crm.count("Accounts"), 1; got != want {
		t.Errorf("Accounts calls = %d, want %d (one account, asked once)", got, want)
	}
}

func TestPeopleChunks(t *testing.T) {
	for _, n := range []int{1, 99, 100, 101, 250, MaxPeople} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t)
			q := url.Values{}
			for i := range n {
				q.Add("email", fmt.Sprintf("p%d@x.com", i))
			}
			rec := f.json("u1", "GET", Prefix+"/people?"+q.Encode(), "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got, want := f.crm.count("FindPeople"), (n+PeopleChunk-1)/PeopleChunk; got != want {
				t.Errorf("FindPeople calls = %d, want %d", got, want)
			}
		})
	}
}

func TestPeopleBadInput(t *testing.T) {
	f := newFixture(t)
	many := url.Values{}
	for i := range MaxPeople + 1 {
		many.Add("email", fmt.Sprintf("p%d@x.com", i))
	}
	tests := []struct{ name, query, code string }{
		{"none", "", "missing_email"},
		{"not an address", "email=a@x.com&email=hello", "bad_email"},
		{"display name", "email=" + url.QueryEscape("Ann <ann@x.com>"), "bad_email"},
		{"too many", many.Encode(), "too_many"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := f.json("u1", "GET", Prefix+"/people?"+tt.query, "")
			if rec.Code != http.StatusBadRequest || decode[errorBody](t, rec.Body).Error != tt.code {
				t.Errorf("got %d %s, want 400 %s", rec.Code, rec.Body, tt.code)
			}
		})
	}
	if f.crm.count("FindPeople") != 0 {
		t.Error("bad input reached the CRM")
	}
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	f.crm.people = []Person{{Object: "Contact", ID: "003000000000001", Name: "Ann O'Neil", Email: "ann@x.com"}}
	hostile := `O'Neil} RETURNING User(Id) --`
	rec := f.json("u1", "GET", Prefix+"/search?q="+url.QueryEscape(hostile)+"&objects=Contact,Lead", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	// The text travels as one value; escaping it is the CRM adapter's job.
	if diff := cmp.Diff([]string{hostile, "Contact", "Lead"}, f.crm.searched); diff != "" {
		t.Errorf("search reached the CRM as (-want +got):\n%s", diff)
	}
	rec = f.json("u1", "GET", Prefix+"/search?q=neil", "")
	if got := decode[SearchAnswer](t, rec.Body); len(got.Hits) != 1 {
		t.Errorf("hits = %+v, want Ann", got.Hits)
	}
	bad := []struct{ name, query string }{
		{"short", "q=a"},
		{"object with a space", "q=ann&objects=" + url.QueryEscape("Contact WHERE Id != null")},
		{"object with a paren", "q=ann&objects=" + url.QueryEscape("User(Id)")},
		{"limit", "q=ann&limit=1000"},
		{"long", "q=" + strings.Repeat("x", MaxSearchText+1)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := f.crm.count("Search")
			rec := f.json("u1", "GET", Prefix+"/search?"+tt.query, "")
			if rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", rec.Code)
			}
			if f.crm.count("Search") != before {
				t.Error("a refused search reached the CRM")
			}
		})
	}
}

func TestObjectsAndDescribeCache(t *testing.T) {
	f := newFixture(t)
	rec := f.json("u1", "GET", Prefix+"/objects", "")
	got := decode[ObjectsAnswer](t, rec.Body)
	var names []string
	for _, o := range got.Objects {
		names = append(names, o.Name)
	}
	if diff := cmp.Diff([]string{"Contact", "Invoice__c"}, names); diff != "" {
		t.Errorf("createable objects (-want +got):\n%s", diff)
	}

	rec = f.json("u1", "GET", Prefix+"/objects/Contact", "")
	obj := decode[Object](t, rec.Body)
	for _, fl := range obj.Fields {
		if fl.Name == "Id" || fl.Name == "CreatedDate" {
			t.Errorf("read-only field %s listed", fl.Name)
		}
	}
	f.json("u1", "GET", Prefix+"/objects/contact", "")
	if got := f.crm.count("Describe"); got != 1 {
		t.Errorf("Describe calls after two reads by one user = %d, want 1 (cached)", got)
	}
	f.json("u2", "GET", Prefix+"/objects/Contact", "")
	if got := f.crm.count("Describe"); got != 2 {
		t.Errorf("Describe calls after another user's read = %d, want 2 (cached per user)", got)
	}
	f.clock.Add(DefaultDescribeTTL)
	f.json("u1", "GET", Prefix+"/objects/Contact", "")
	if got := f.crm.count("Describe"); got != 3 {
		t.Errorf("Describe calls after the TTL = %d, want 3 (expired)", got)
	}
	rec = f.json("u1", "GET", Prefix+"/objects/Nope__c", "")
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown object: status %d, want 404", rec.Code)
	}
	rec = f.json("u1", "GET", Prefix+"/objects/"+url.PathEscape("Contact;DROP"), "")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("malformed object name: status %d, want 400", rec.Code)
	}
}

func TestCreateAndUpdate(t *testing.T) {
	f := newFixture(t)
	rec := f.json("u1", "POST", Prefix+"/records/Contact", `{"lastname":"Doe","FirstName":"Jane","Score__c":4.5,"DoNotCall":false,"LeadSource":"Web","External__c":"E-1"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d: %s", rec.Code, rec.Body)
	}
	created := decode[RecordAnswer](t, rec.Body)
	if got := f.crm.records[created.ID]["LastName"]; got != "Doe" {
		t.Errorf("created LastName = %v, want Doe under its describe name", got)
	}

	rec = f.json("u1", "PATCH", Prefix+"/records/Contact/"+created.ID, `{"Email":"jane@x.com"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("update: status %d: %s", rec.Code, rec.Body)
	}
	rec = f.json("u1", "GET", Prefix+"/records/Contact/"+created.ID+"?fields=Email,LastName", "")
	if got := decode[RecordAnswer](t, rec.Body); got.Fields["Email"] != "jane@x.com" || got.Fields["LastName"] != "Doe" {
		t.Errorf("read back %v", got.Fields)
	}

	tests := []struct {
		name, method, path, body string
		problems                 map[string]string
	}{
		{"unknown field", "POST", "/records/Contact", `{"LastName":"X","Shoe_Size__c":"44"}`,
			map[string]string{"Shoe_Size__c": "no such field on Contact"}},
		{"read-only on create", "POST", "/records/Contact", `{"LastName":"X","CreatedDate":"2026-01-01T00:00:00Z"}`,
			map[string]string{"CreatedDate": "read-only"}},
		{"create-only on update", "PATCH", "/records/Contact/" + created.ID, `{"External__c":"E-2"}`,
			map[string]string{"External__c": "read-only"}},
		{"types", "POST", "/records/Contact", `{"LastName":null,"DoNotCall":"yes","Score__c":"high","Birthdate":"24.11.2026","AccountId":"x","LeadSource":"Fax","Email":"not mail"}`,
			map[string]string{"LastName": "required: cannot be empty", "DoNotCall": "must be true or false", "Score__c": "must be a number",
				"Birthdate": "must be a date like 2026-11-24", "AccountId": "must be a record id", "LeadSource": "not one of the allowed values",
				"Email": "must be an e-mail address"}},
		{"too long", "POST", "/records/Contact", `{"LastName":"` + strings.Repeat("x", 81) + `"}`,
			map[string]string{"LastName": "longer than 80 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.crm.count("Create") + f.crm.count("Update")
			rec := f.json("u1", tt.method, Prefix+tt.path, tt.body)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			got := decode[errorBody](t, rec.Body)
			if diff := cmp.Diff(tt.problems, got.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if len(got.Fields) != len(tt.problems) {
				t.Errorf("fields %v do not name every problem", got.Fields)
			}
			if f.crm.count("Create")+f.crm.count("Update") != before {
				t.Error("an invalid record reached the CRM")
			}
		})
	}
	for _, body := range []string{`{}`, `[1]`, `{"LastName":"X"`} {
		if rec := f.json("u1", "POST", Prefix+"/records/Contact", body); rec.Code != http.StatusBadRequest {
			t.Errorf("body %s: status %d, want 400", body, rec.Code)
		}
	}
	if rec := f.json("u1", "PATCH", Prefix+"/records/Contact/short", `{"LastName":"X"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("malformed id: status %d, want 400", rec.Code)
	}
}

func TestCRMErrorTable(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"validation", &fault.Error{Class: fault.Permanent, Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "Phone is required for EMEA", Fields: []string{"Phone"}},
			http.StatusBadRequest, "validation", ""},
		{"access", fault.New(fault.Permanent, "INSUFFICIENT_ACCESS_OR_READONLY", "no"), http.StatusForbidden, "forbidden", ""},
		{"not found", fault.New(fault.Gone, "ENTITY_IS_DELETED", "gone"), http.StatusNotFound, "not_found", ""},
		{"record not shared", fault.New(fault.Permanent, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"), http.StatusNotFound, "not_found", ""},
		{"lookup not valid", &fault.Error{Class: fault.Permanent, Code: "INVALID_CROSS_REFERENCE_KEY", Message: "invalid cross reference id", Fields: []string{"AccountId"}},
			http.StatusBadRequest, "validation", ""},
		{"related record not shared", fault.New(fault.Permanent, "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "insufficient access rights on cross-reference id"), http.StatusForbidden, "forbidden_related", ""},
		{"throttled", &fault.Error{Class: fault.Throttled, RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "throttled", "2"},
		{"quota", fault.New(fault.Quota, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), http.StatusServiceUnavailable, "quota", "3600"},
		{"reconnect", fault.New(fault.Reconnect, "INVALID_SESSION_ID", "expired"), http.StatusConflict, "reconnect", ""},
		{"temporary", fault.New(fault.Temporary, "SERVER_UNAVAILABLE", "down"), http.StatusBadGateway, "crm_unavailable", ""},
		{"unclassified", fmt.Errorf("dial tcp: refused"), http.StatusBadGateway, "crm_unavailable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.crm.fail["Search"] = tt.err
			rec := f.json("u1", "GET", Prefix+"/search?q=ann", "")
			got := decode[errorBody](t, rec.Body)
			if rec.Code != tt.status || got.Error != tt.code {
				t.Errorf("got %d %q, want %d %q", rec.Code, got.Error, tt.status, tt.code)
			}
			if ra := rec.Header().Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tt.retryAfter)
			}
			if tt.code == "reconnect" && got.Message != "reconnect your CRM in the dashboard" {
				t.Errorf("message %q", got.Message)
			}
		})
	}
	t.Run("opening the CRM needs reconnect", func(t *testing.T) {
		f := newFixture(t, func(c *Config) {
			c.CRM = opener{err: fault.New(fault.Reconnect, "", "salesforce connection needs reconnecting")}
		})
		rec := f.json("u1", "GET", Prefix+"/objects", "")
		if rec.Code != http.StatusConflict {
			t.Errorf("status %d, want 409", rec.Code)
		}
	})
}

func TestPrefill(t *testing.T) {
	f := newFixture(t)
	body, _ := json.Marshal(PrefillRequest{FromName: "Jane Doe", FromAddress: "jane@acme.com", Object: "Lead",
		Signature: "Best regards,\nJane Doe\nHead of Sales\nAcme Inc.\n+1 555 010 1234\n"})
	rec := f.json("u1", "POST", Prefix+"/prefill", string(body))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := PrefillAnswer{Object: "Lead", Fields: map[string]string{"FirstName": "Jane", "LastName": "Doe", "Email": "jane@acme.com",
		"Title": "Head of Sales", "Company": "Acme Inc.", "Phone": "+1 555 010 1234"}}
	if diff := cmp.Diff(want, decode[PrefillAnswer](t, rec.Body)); diff != "" {
		t.Errorf("prefill (-want +got):\n%s", diff)
	}
	if rec := f.json("u1", "POST", Prefix+"/prefill", `{"object":"Account"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("object Account: status %d, want 400", rec.Code)
	}
	if len(f.crm.calls) != 0 {
		t.Errorf("prefill called the CRM: %v", f.crm.calls)
	}
}

func shareBody(id string) string {
	b, _ := json.Marshal(ShareRequest{MessageID: id, Subject: "Quote", From: "Me <me@own.com>", To: []string{"ann@x.com", "lead@y.com"},
		Cc: []string{"unknown@z.com"}, Sent: "2026-11-24T08:00:00Z", Body: "Here is the quote.", Direction: "Outbound",
		UserAddress: "me@own.com", Attachments: []ShareAttachment{{Name: "quote.pdf", Size: 1000}}})
	return string(b)
}

func TestShareOnce(t *testing.T) {
	f := newFixture(t)
	f.crm.people = []Person{
		{Object: "Contact", ID: "003000000000001", Email: "ann@x.com", AccountID: "001000000000001"},
		{Object: "Lead", ID: "00Q000000000001", Email: "lead@y.com"},
	}
	msgID := "AAMkAGI2TG93AAA="
	rec := f.json("u1", "POST", Prefix+"/share", shareBody(msgID))
	if rec.Code != http.StatusCreated {
		t.Fatalf("first share: status %d: %s", rec.Code, rec.Body)
	}
	first := decode[ShareAnswer](t, rec.Body)
	if first.AlreadyShared || first.People != 1 || len(first.Uploads) != 1 || first.Uploads[0].Path != Prefix+"/records/"+first.TaskID+"/files" {
		t.Errorf("first share answer %+v", first)
	}
	if diff := cmp.Diff([]loggedEmail{{
		email: Email{Subject: "Quote", From: "me@own.com", To: []string{"ann@x.com", "lead@y.com"}, Cc: []string{"unknown@z.com"},
			Sent: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), Body: "Here is the quote.", Direction: "Outbound"},
		who: []string{"003000000000001"}, what: "001000000000001",
	}}, f.crm.logged, cmp.AllowUnexported(loggedEmail{})); diff != "" {
		t.Errorf("logged (-want +got):\n%s", diff)
	}

	rec = f.json("u1", "POST", Prefix+"/share", shareBody(msgID))
	again := decode[ShareAnswer](t, rec.Body)
	if rec.Code != http.StatusOK || !again.AlreadyShared || again.TaskID != first.TaskID {
		t.Errorf("second share: %d %+v, want 200 with the same Task", rec.Code, again)
	}
	if got := f.crm.count("LogEmail"); got != 1 {
		t.Errorf("LogEmail calls = %d, want 1", got)
	}
	// Another user sharing the same message shares their own copy.
	if rec := f.json("u2", "POST", Prefix+"/share", shareBody(msgID)); rec.Code != http.StatusCreated {
		t.Errorf("other user's share: status %d", rec.Code)
	}

	// Only the keyed hash, the state, the Task id and the time are stored.
	page, err := f.store.Query(context.Background(), SharesTable, tablestore.Query{PartitionKey: "u1"})
	if err != nil || len(page.Entities) != 1 {
		t.Fatalf("stored shares: %v, %v", page.Entities, err)
	}
	e := page.Entities[0]
	if strings.Contains(e.RowKey, msgID) || strings.Contains(e.RowKey, "AAMk") {
		t.Errorf("row key %q reveals the message id", e.RowKey)
	}
	var props []string
	for k := range e.Properties {
		props = append(props, k)
	}
	if diff := cmp.Diff([]string{"Created", "State", "TaskID"}, sorted(props)); diff != "" {
		t.Errorf("stored properties (-want +got):\n%s", diff)
	}
	raw := fmt.Sprint(e.Properties)
	for _, secret := range []string{"Quote", "ann@x.com", "quote.pdf", "Here is"} {
		if strings.Contains(raw, secret) {
			t.Errorf("stored row holds content %q", secret)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestShareClaims(t *testing.T) {
	t.Run("a failed share can be retried", func(t *testing.T) {
		f := newFixture(t)
		f.crm.fail["LogEmail"] = fault.New(fault.Temporary, "SERVER_UNAVAILABLE", "down")
		if rec := f.json("u1", "POST", Prefix+"/share", shareBody("m1")); rec.Code != http.StatusBadGateway {
			t.Fatalf("status %d, want 502", rec.Code)
		}
		delete(f.crm.fail, "LogEmail")
		if rec := f.json("u1", "POST", Prefix+"/share", shareBody("m1")); rec.Code != http.StatusCreated {
			t.Errorf("retry: status %d, want 201: %s", rec.Code, rec.Body)
		}
	})
	t.Run("a share in progress blocks a second click, until it is stale", func(t *testing.T) {
		f := newFixture(t)
		key := f.api.messageKey("u1", "m2")
		_, err := f.store.Insert(context.Background(), SharesTable, tablestore.Entity{PartitionKey: "u1", RowKey: key,
			Properties: map[string]any{"State": "pending", "Created": f.clock.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		if rec := f.json("u1", "POST", Prefix+"/share", shareBody("m2")); rec.Code != http.StatusConflict {
			t.Errorf("while pending: status %d, want 409", rec.Code)
		}
		f.clock.Add(pendingTTL)
		if rec := f.json("u1", "POST", Prefix+"/share", shareBody("m2")); rec.Code != http.StatusCreated {
			t.Errorf("after the claim went stale: status %d, want 201", rec.Code)
		}
		if got := f.crm.count("LogEmail"); got != 1 {
			t.Errorf("LogEmail calls = %d, want 1", got)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		f := newFixture(t)
		for name, body := range map[string]string{
			"no id":         `{"from":"a@x.com","direction":"Inbound"}`,
			"direction":     `{"messageId":"m","from":"a@x.com","direction":"Sideways"}`,
			"from":          `{"messageId":"m","from":"nobody","direction":"Inbound"}`,
			"to":            `{"messageId":"m","from":"a@x.com","to":["x"],"direction":"Inbound"}`,
			"sent":          `{"messageId":"m","from":"a@x.com","sent":"yesterday","direction":"Inbound"}`,
			"unknown field": `{"messageId":"m","from":"a@x.com","direction":"Inbound","bcc":["a@x.com"]}`,
		} {
			if rec := f.json("u1", "POST", Prefix+"/share", body); rec.Code != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, rec.Code)
			}
		}
	})
}

func multipartBody(t *testing.T, field, name string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("note", "ignored")
	w, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestUploadFile(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxUpload = 1000 })
	path := Prefix + "/records/00T000000000001/files"

	body, ct := multipartBody(t, "file", `C:\Users\me\quote.pdf`, bytes.Repeat([]byte("x"), 1000))
	rec := f.do("u1", "POST", path, ct, body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := len(f.crm.files["00T000000000001/quote.pdf"]); got != 1000 {
		t.Errorf("uploaded %d bytes as quote.pdf, want 1000", got)
	}

	tests := []struct {
		name   string
		field  string
		size   int
		ct     string
		status int
	}{
		{"over the limit", "file", 1001, "", http.StatusRequestEntityTooLarge},
		{"far over the limit", "file", 200 << 10, "", http.StatusRequestEntityTooLarge},
		{"no file part", "attachment", 10, "", http.StatusBadRequest},
		{"not multipart", "file", 10, "application/octet-stream", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.crm.files)
			body, ct := multipartBody(t, tt.field, "a.txt", bytes.Repeat([]byte("y"), tt.size))
			if tt.ct != "" {
				ct = tt.ct
			}
			rec := f.do("u1", "POST", path, ct, body)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if len(f.crm.files) != before {
				t.Error("a refused upload was stored in the CRM")
			}
		})
	}
}

func TestChatter(t *testing.T) {
	f := newFixture(t)
	rec := f.json("u1", "POST", Prefix+"/records/001000000000001/chatter", `{"text":"Call went well"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if diff := cmp.Diff([]string{"001000000000001: Call went well"}, f.crm.posts); diff != "" {
		t.Errorf("posts (-want +got):\n%s", diff)
	}
	for _, body := range []string{`{"text":"  "}`, `{"text":"` + strings.Repeat("x", maxChatter+1) + `"}`} {
		if rec := f.json("u1", "POST", Prefix+"/records/001000000000001/chatter", body); rec.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", rec.Code)
		}
	}
}

func TestFromPrincipal(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	if _, _, err := FromPrincipal.Authenticate(req); err == nil {
		t.Error("an anonymous request was authenticated")
	}
	req = req.WithContext(access.WithPrincipal(req.Context(), access.Principal{User: "u-1", Org: "tenant-1"}))
	user, org, err := FromPrincipal.Authenticate(req)
	if user != "u-1" || org != "tenant-1" || err != nil {
		t.Errorf("FromPrincipal = %q, %q, %v; want u-1, tenant-1", user, org, err)
	}
}

func TestShareConcurrentClicksShareOnce(t *testing.T) {
	f := newFixture(t)
	const clicks = 6
	codes := make(chan int, clicks)
	var wg sync.WaitGroup
	for range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- f.json("u1", "POST", Prefix+"/share", shareBody("same-message")).Code
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusOK, http.StatusConflict:
		default:
			t.Errorf("a click got status %d", c)
		}
	}
	if created != 1 || f.crm.count("LogEmail") != 1 {
		t.Errorf("%d clicks: %d created, %d LogEmail calls; want 1 and 1", clicks, created, f.crm.count("LogEmail"))
	}
}
