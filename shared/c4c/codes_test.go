package c4c

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// defaultCodes are the code lists of a new local tenant, for test helpers
// that write records directly.
func defaultCodes() *Codes {
	lists := fakec4c.DefaultCodeLists()
	conv := func(name string) []Code {
		var out []Code
		for _, c := range lists[name] {
			out = append(out, Code{Code: c.Code, Description: c.Description})
		}
		return out
	}
	return &Codes{props: map[string]codeMap{
		"TasksCollection.Status":       newCodeMap("TasksStatusCollection", status, conv("TasksStatusCollection")),
		"TasksCollection.PriorityCode": newCodeMap("TasksPriorityCodeCollection", priority, conv("TasksPriorityCodeCollection")),
	}}
}

// otherTenant's task codes differ from the defaults in every code, and it
// has no "Waiting" status.
var otherTenant = map[string][]fakec4c.Code{
	"TasksStatusCollection":       {{Code: "Z1", Description: "Open"}, {Code: "Z2", Description: "In Process"}, {Code: "Z9", Description: "Completed"}, {Code: "Z5", Description: "Deferred"}},
	"TasksPriorityCodeCollection": {{Code: "P1", Description: "High"}, {Code: "P2", Description: "Normal"}, {Code: "P3", Description: "Low"}},
}

// TestCodeListsFromMetadata: the side finds the task code lists through
// $metadata's c4c:value-help, reads them (2 calls, then none for the next
// side of the same connection), and maps Status and Priority by meaning to
// a tenant whose codes differ from the defaults, both ways.
func TestCodeListsFromMetadata(t *testing.T) {
	l := newLocal(t, fakec4c.Options{CodeLists: otherTenant})
	ctx := context.Background()
	md, err := l.client.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := md.ValueHelp["TasksCollection"]["Status"]; got != "TasksStatusCollection" {
		t.Fatalf("value help of TasksCollection.Status = %q", got)
	}
	cache := &CodeCache{}
	side := NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, CodeCache: cache, CodeKey: "tenant|demo"})
	before := l.client.Calls()
	res, err := side.Create(ctx, item.Task, []item.Record{{Kind: item.Task, Fields: map[string]string{
		item.Subject: "Call back", item.Status: "InProgress", item.Priority: "High"}}}, []string{"m1"})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create: %v %+v", err, res)
	}
	// $metadata + one $batch of code lists + CSRF fetch + the create's $batch.
	if calls := l.client.Calls() - before; calls != 4 {
		t.Errorf("first create made %d calls, want 4 (2 of them for the code lists)", calls)
	}
	if l.srv.Calls("GET", "$metadata") != 2 { // one above, one by the side
		t.Errorf("$metadata read %d times", l.srv.Calls("GET", "$metadata"))
	}
	ch, err := side.Changes(ctx, item.Scope{Kind: item.Task}, "")
	if err != nil || len(ch.Records) != 1 {
		t.Fatalf("changes: %+v %v", ch, err)
	}
	if f := ch.Records[0].Fields; f[item.Status] != "InProgress" || f[item.Priority] != "High" {
		t.Errorf("read back status %q priority %q", f[item.Status], f[item.Priority])
	}
	// The stored codes are the tenant's.
	rows := 0
	err = l.client.List(ctx, "TasksCollection", nil, func(e Entity) error {
		rows++
		if e.String("Status") != "Z2" || e.String("PriorityCode") != "P1" {
			t.Errorf("stored Status %q PriorityCode %q, want Z2 P1", e.String("Status"), e.String("PriorityCode"))
		}
		return nil
	})
	if err != nil || rows != 1 {
		t.Fatal(rows, err)
	}
	// A second side of the same connection reads no code list again.
	meta := l.srv.Calls("GET", "$metadata")
	next := NewSide(l.client, SideOptions{Now: l.clock.Now, Owner: syncOwner, CodeCache: cache, CodeKey: "tenant|demo"})
	before = l.client.Calls()
	if _, err := next.Changes(ctx, item.Scope{Kind: item.Task}, ""); err != nil {
		t.Fatal(err)
	}
	if calls := l.client.Calls() - before; calls != 1 {
		t.Errorf("a task read with cached code lists made %d calls, want 1", calls)
	}
	if l.srv.Calls("GET", "$metadata") != meta {
		t.Error("a second side read $metadata again despite the cache")
	}
	// A completed task (the tenant's Z9) due before the window leaves scope.
	id := res[0].ID
	if err := l.srv.Update("TasksCollection", id, map[string]any{"Status": "Z9", "DueDateTime": "/Date(0)/"}); err != nil {
		t.Fatal(err)
	}
	if !side.inScope(item.Scope{Kind: item.Task}, Entity{"Status": "Z2", "ProcessorPartyID": syncOwner}) ||
		side.inScope(item.Scope{Kind: item.Task, From: l.clock.Now()}, Entity{"Status": "Z9", "DueDateTime": "/Date(0)/", "ProcessorPartyID": syncOwner}) {
		t.Error("the tenant's completed code does not decide the task scope")
	}
}

// TestMissingCodeNamesTheList: a value whose meaning the tenant's code list
// lacks fails that record alone, with an error naming the code list, and
// nothing is written; a stored code with no known meaning is a problem of
// that record.
func TestMissingCodeNamesTheList(t *testing.T) {
	l := newLocal(t, fakec4c.Options{CodeLists: otherTenant})
	ctx := context.Background()
	res, err := l.side.Create(ctx, item.Task, []item.Record{
		{Kind: item.Task, Fields: map[string]string{item.Subject: "Wait", item.Status: "Waiting"}},
		{Kind: item.Task, Fields: map[string]string{item.Subject: "Fine", item.Status: "NotStarted"}},
	}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "TasksStatusCollection") || !fault.Is(res[0].Err, fault.Permanent) {
		t.Errorf("Waiting on a tenant without it: %v, want a permanent error naming TasksStatusCollection", res[0].Err)
	}
	if res[1].Err != nil || res[1].ID == "" {
		t.Errorf("the other record: %+v", res[1])
	}
	if n := l.srv.Count("TasksCollection"); n != 1 {
		t.Errorf("%d tasks stored, want 1", n)
	}
	// A code the tenant added later, with a description crmsync does not
	// know: a problem of that record, and the cached lists are dropped so
	// the next session reads them again.
	cache := &CodeCache{}
	l.side.opts.CodeCache, l.side.opts.CodeKey = cache, "k"
	if _, err := cache.Get(ctx, "k", l.client); err != nil {
		t.Fatal(err)
	}
	if _, err := l.srv.Insert("TasksCollection", map[string]any{"Subject": "Odd", "Status": "Z1", "ProcessorPartyID": syncOwner}); err != nil {
		t.Fatal(err)
	}
	l.side.codes.props["TasksCollection.Status"] = newCodeMap("TasksStatusCollection", status, []Code{{"Z1", "Escalated"}})
	ch, err := l.side.Changes(ctx, item.Scope{Kind: item.Task}, "")
	if err != nil {
		t.Fatal(err)
	}
	var p *item.Problem
	for i := range ch.Problems {
		if ch.Problems[i].Code == "unknown-code" {
			p = &ch.Problems[i]
		}
	}
	if p == nil || !strings.Contains(p.Reason, "TasksStatusCollection") {
		t.Errorf("problems %+v, want unknown-code naming TasksStatusCollection", ch.Problems)
	}
	meta := l.srv.Calls("GET", "$metadata")
	if _, err := cache.Get(ctx, "k", l.client); err != nil || l.srv.Calls("GET", "$metadata") != meta+1 {
		t.Errorf("after an unknown code the cached lists were not read again (%v)", err)
	}
}

// TestNoValueHelpIsAnError: a $metadata without the annotation is an
// error naming the property, not a guess.
func TestNoValueHelpIsAnError(t *testing.T) {
	const doc = `<?xml version="1.0"?><edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices><Schema Namespace="c4codataapi" xmlns="http://schemas.microsoft.com/ado/2008/09/edm"><EntityType Name="Tasks"><Property Name="Status" Type="Edm.String"/></EntityType><EntityContainer><EntitySet Name="TasksCollection" EntityType="c4codataapi.Tasks"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(doc)) }))
	defer hs.Close()
	c, _ := New(Options{Host: hs.URL, User: "u", Password: "p"})
	_, err := LoadCodes(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "c4c:value-help") || !strings.Contains(err.Error(), "TasksCollection.") {
		t.Fatalf("LoadCodes without value help: %v", err)
	}
}
