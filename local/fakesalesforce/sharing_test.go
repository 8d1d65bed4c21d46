package fakesalesforce

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestSharingAnswersAsSalesforce: a record the user neither owns nor was
// shared does not exist for them (GET 404 NOT_FOUND, and no query finds
// it); a Read share shows it but an update is refused with 403
// INSUFFICIENT_ACCESS_OR_READONLY and changes nothing; an Edit share lets
// the update through.
func TestSharingAnswersAsSalesforce(t *testing.T) {
	f := newFixture(t, Options{})
	other, _ := f.srv.AddUser(User{Username: "o@example.com", Email: "o@example.com", LastName: "Other"})
	acc, err := f.srv.Insert(other, "Account", map[string]any{"Name": "Guarded"})
	if err != nil {
		t.Fatal(err)
	}
	f.token = f.srv.IssueToken(f.user)
	var errs []map[string]any
	resp := f.do("GET", v+"/sobjects/Account/"+acc, nil, &errs)
	if resp.StatusCode != 404 || len(errs) != 1 || errs[0]["errorCode"] != "NOT_FOUND" {
		t.Errorf("reading an unshared record: %d %v, want 404 NOT_FOUND", resp.StatusCode, errs)
	}
	var page struct{ TotalSize int }
	f.do("GET", v+"/query?q="+url.QueryEscape("SELECT Id FROM Account WHERE Name = 'Guarded'"), nil, &page)
	if page.TotalSize != 0 {
		t.Errorf("a query finds %d unshared accounts", page.TotalSize)
	}

	if err := f.srv.ShareRecord(acc, f.user, AccessRead); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if resp := f.do("GET", v+"/sobjects/Account/"+acc, nil, &rec); resp.StatusCode != 200 || rec["Name"] != "Guarded" {
		t.Errorf("reading a record shared read-only: %d %v", resp.StatusCode, rec)
	}
	errs = nil
	resp = f.do("PATCH", v+"/sobjects/Account/"+acc, map[string]any{"Name": "Mine now"}, &errs)
	if resp.StatusCode != 403 || len(errs) != 1 || errs[0]["errorCode"] != "INSUFFICIENT_ACCESS_OR_READONLY" {
		t.Errorf("updating a read-only share: %d %v, want 403 INSUFFICIENT_ACCESS_OR_READONLY", resp.StatusCode, errs)
	}
	if got := f.srv.Record(acc)["Name"]; got != "Guarded" {
		t.Errorf("the refused update changed the name to %v", got)
	}

	if err := f.srv.ShareRecord(acc, f.user, AccessEdit); err != nil {
		t.Fatal(err)
	}
	if resp := f.do("PATCH", v+"/sobjects/Account/"+acc, map[string]any{"Name": "Edited"}, nil); resp.StatusCode != 204 {
		t.Errorf("updating with an Edit share: %d", resp.StatusCode)
	}
	if err := f.srv.ShareRecord(acc, f.user, "All"); err == nil {
		t.Error("an access level Salesforce does not let one share was accepted")
	}
}

// TestAddCustomObjectsAtRunTime: an object declared on a running server is
// described and createable; a second declaration of it, or one without a
// key prefix of its own, is refused.
func TestAddCustomObjectsAtRunTime(t *testing.T) {
	f := newFixture(t, Options{})
	var fields []string
	for i := 0; i < 500; i++ {
		fields = append(fields, fmt.Sprintf(`{"name":"F%03d__c","type":"string","length":80}`, i))
	}
	schema := `{"objects":[{"name":"Wide__c","keyPrefix":"a9W","owned":true,"fields":[` + strings.Join(fields, ",") + `]}]}`
	if err := f.srv.AddCustomObjects([]byte(schema)); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Fields []map[string]any `json:"fields"`
	}
	f.do("GET", v+"/sobjects/Wide__c/describe", nil, &d)
	if len(d.Fields) < 500 {
		t.Errorf("the describe has %d fields, want over 500", len(d.Fields))
	}
	var created struct{ ID string }
	if resp := f.do("POST", v+"/sobjects/Wide__c", map[string]any{"Name": "w", "F499__c": "last"}, &created); resp.StatusCode != 201 || !strings.HasPrefix(created.ID, "a9W") {
		t.Errorf("creating a Wide__c: %d %+v", resp.StatusCode, created)
	}
	if err := f.srv.AddCustomObjects([]byte(schema)); err == nil {
		t.Error("the same object was declared twice")
	}
	if err := f.srv.AddCustomObjects([]byte(`{"objects":[{"name":"Other__c","fields":[]}]}`)); err == nil {
		t.Error("an object without a key prefix was accepted")
	}
}
