package fakesalesforce

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDescribeAndNotModified(t *testing.T) {
	f := newFixture(t, Options{CustomSchema: []byte(`{"objects":[{"name":"Project__c","owned":true,"fields":[{"name":"Budget__c","type":"currency"},{"name":"Account__c","type":"reference","referenceTo":["Account"]}]},{"name":"Contact","fields":[{"name":"Crmsync_Marker__c","type":"string"}]}]}`)})
	var d struct {
		Name   string
		Custom bool
		Fields []struct {
			Name, Type       string
			RelationshipName *string
		}
	}
	f.do("GET", v+"/sobjects/Project__c/describe", nil, &d)
	names := map[string]string{}
	for _, fd := range d.Fields {
		names[fd.Name] = fd.Type
		if fd.Name == "Account__c" && (fd.RelationshipName == nil || *fd.RelationshipName != "Account__r") {
			t.Errorf("Account__c relationship = %v", fd.RelationshipName)
		}
	}
	if !d.Custom || names["Budget__c"] != "currency" || names["OwnerId"] != "reference" {
		t.Errorf("custom describe = %+v", d)
	}
	var c struct{ Fields []struct{ Name string } }
	f.do("GET", v+"/sobjects/Contact/describe", nil, &c)
	found := false
	for _, fd := range c.Fields {
		found = found || fd.Name == "Crmsync_Marker__c"
	}
	if !found {
		t.Error("custom field on a standard object missing from describe")
	}
	req, _ := http.NewRequest("GET", f.http.URL+v+"/sobjects/Contact/describe", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("If-Modified-Since", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %v %v", resp.StatusCode, err)
	}
	if _, err := New(Options{CustomSchema: []byte(`{"objects":[{"name":"X__c","fields":[{"name":"A"}]}]}`)}); err == nil {
		t.Error("a field without a type was accepted")
	}
	if _, err := New(Options{CustomSchema: []byte(`{"objects":[],"extra":1}`)}); err == nil {
		t.Error("an unknown schema member was accepted")
	}
}

func TestListViews(t *testing.T) {
	f := newFixture(t, Options{})
	id, err := f.srv.AddListView("Contact", "Ctos", "CTOs", "Title = 'CTO'", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.AddListView("Contact", "Bad", "Bad", "Title = ", false); err == nil {
		t.Error("a list view with a broken filter was accepted")
	}
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "A", "Title": "CTO"})
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "B", "Title": "Dev"})
	var list struct {
		Listviews []struct{ ID, DeveloperName string }
	}
	f.do("GET", v+"/sobjects/Contact/listviews", nil, &list)
	if len(list.Listviews) != 1 || list.Listviews[0].ID != id {
		t.Errorf("listviews = %+v", list)
	}
	var desc struct{ Query string }
	f.do("GET", v+"/sobjects/Contact/listviews/"+id+"/describe", nil, &desc)
	if !strings.Contains(desc.Query, "USING SCOPE mine WHERE Title = 'CTO'") {
		t.Errorf("describe query = %q", desc.Query)
	}
	var res struct {
		Size    int
		Records []struct {
			Columns []struct{ FieldNameOrPath, Value string }
		}
	}
	f.do("GET", v+"/sobjects/Contact/listviews/"+id+"/results", nil, &res)
	if res.Size != 1 {
		t.Errorf("results = %+v", res)
	}
}

func TestBatchHaltsOnError(t *testing.T) {
	f := newFixture(t, Options{})
	var out struct {
		HasErrors bool
		Results   []struct{ StatusCode int }
	}
	f.do("POST", v+"/composite/batch", map[string]any{"haltOnError": true, "batchRequests": []any{
		map[string]any{"method": "POST", "url": "v" + APIVersion + "/sobjects/Contact", "richInput": map[string]any{"LastName": "ok"}},
		map[string]any{"method": "POST", "url": "v" + APIVersion + "/sobjects/Contact", "richInput": map[string]any{"FirstName": "no last name"}},
		map[string]any{"method": "GET", "url": "v" + APIVersion + "/limits"},
	}}, &out)
	if !out.HasErrors || len(out.Results) != 3 || out.Results[0].StatusCode != 201 || out.Results[1].StatusCode != 400 || out.Results[2].StatusCode != 412 {
		t.Errorf("batch = %+v", out)
	}
	if calls := f.srv.Calls(); calls["batch"] != 1 || calls["sobject"] != 0 {
		t.Errorf("calls = %v, want the batch counted once", calls)
	}
}

func TestContentVersion(t *testing.T) {
	f := newFixture(t, Options{})
	parent, _ := f.srv.Insert(f.user, "Account", map[string]any{"Name": "Files Inc"})
	var created struct{ ID string }
	f.do("POST", v+"/sobjects/ContentVersion", map[string]any{"PathOnClient": "a.txt", "FirstPublishLocationId": parent,
		"VersionData": base64.StdEncoding.EncodeToString([]byte("hello"))}, &created)
	req, _ := http.NewRequest("GET", f.http.URL+v+"/sobjects/ContentVersion/"+created.ID+"/VersionData", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("VersionData = %q", body)
	}
	var page struct{ TotalSize int }
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT COUNT() FROM ContentDocumentLink WHERE LinkedEntityId = '"+parent+"'"), nil, &page)
	if page.TotalSize != 1 {
		t.Errorf("links = %d, want 1", page.TotalSize)
	}
}

func TestSOSL(t *testing.T) {
	f := newFixture(t, Options{})
	_, _ = f.srv.Insert(f.user, "Contact", map[string]any{"LastName": "Searchable", "Email": "s@example.com"})
	_, _ = f.srv.Insert(f.user, "Lead", map[string]any{"LastName": "Searchable", "Company": "C"})
	tests := []struct {
		q       string
		status  int
		records int
	}{
		{"FIND {searchable}", 200, 2},
		{"FIND {searchable} RETURNING Contact(Id, LastName)", 200, 1},
		{"FIND {search*} IN NAME FIELDS RETURNING Contact(Id WHERE Email = 's@example.com'), Lead(Id LIMIT 1)", 200, 2},
		{"FIND {s@example.com} IN EMAIL FIELDS RETURNING Contact, Lead", 200, 1},
		{"FIND searchable", 400, 0},
		{"FIND {x}", 400, 0},
		{"FIND {searchable} RETURNING Contact(Bogus)", 400, 0},
	}
	for _, tt := range tests {
		var out struct{ SearchRecords []map[string]any }
		var target any = &out
		if tt.status != 200 {
			target = &[]map[string]any{}
		}
		resp := f.do("GET", v+"/search/?q="+url.QueryEscape(tt.q), nil, target)
		if resp.StatusCode != tt.status || len(out.SearchRecords) != tt.records {
			t.Errorf("%s: %d with %d records, want %d with %d", tt.q, resp.StatusCode, len(out.SearchRecords), tt.status, tt.records)
		}
	}
	var out struct{ SearchRecords []map[string]any }
	f.do("GET", v+"/parameterizedSearch/?q=searchable&sobject=Lead&Lead.fields=Id,LastName", nil, &out)
	if len(out.SearchRecords) != 1 || out.SearchRecords[0]["LastName"] != "Searchable" {
		t.Errorf("parameterized search = %v", out)
	}
}
