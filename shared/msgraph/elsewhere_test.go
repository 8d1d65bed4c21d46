package msgraph

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

// TestContactsAndTasksSharedFromAnyFolder: contacts and To Do tasks with the
// share category are reported from any folder or list, like meetings; the
// previous client read only the synced folder and list.
func TestContactsAndTasksSharedFromAnyFolder(t *testing.T) {
	_, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	c := side.c
	post := func(path string, body map[string]any) string {
		t.Helper()
		var got struct {
			ID string `json:"id"`
		}
		if err := c.sendJSON(ctx, http.MethodPost, path, body, &got); err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	friends := post("me/contactFolders", map[string]any{"displayName": "Friends"})
	inDefault := post("me/contacts", map[string]any{"surname": "Default", "categories": []string{"Salesforce"}})
	inFriends := post("me/contactFolders/"+friends+"/contacts", map[string]any{"surname": "Friend", "categories": []string{"Salesforce"}})
	post("me/contactFolders/"+friends+"/contacts", map[string]any{"surname": "Private"})
	contacts := item.Scope{Kind: item.Contact}
	ch, err := side.Changes(ctx, contacts, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range ch.Records {
		ids = append(ids, r.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, inDefault) || !slices.Contains(ids, inFriends) {
		t.Errorf("contacts = %v, want the two with the share category", ids)
	}
	idle, err := side.Changes(ctx, contacts, ch.Cursor)
	if err != nil || len(idle.Records) != 0 {
		t.Fatalf("idle: %+v %v", idle.Records, err)
	}
	// The user tags a contact in another folder later.
	late := post("me/contactFolders/"+friends+"/contacts", map[string]any{"surname": "Late"})
	if err := c.sendJSON(ctx, http.MethodPatch, "me/contacts/"+late, map[string]any{"categories": []string{"Salesforce"}}, nil); err != nil {
		t.Fatal(err)
	}
	again, err := side.Changes(ctx, contacts, idle.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(again.Records, func(r item.Record) bool { return r.ID == late }) {
		t.Errorf("the contact tagged later in another folder was not reported: %+v", again.Records)
	}

	errands := post("me/todo/lists", map[string]any{"displayName": "Errands"})
	task := post("me/todo/lists/"+errands+"/tasks", map[string]any{"title": "Call Acme", "categories": []string{"Salesforce"}})
	post("me/todo/lists/"+errands+"/tasks", map[string]any{"title": "Buy milk"})
	tasks, err := side.Changes(ctx, item.Scope{Kind: item.Task}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks.Records) != 1 || tasks.Records[0].ID != errands+taskListSep+task || tasks.Records[0].Fields[item.Subject] != "Call Acme" {
		t.Fatalf("tasks = %+v, want the tagged task of the other list", tasks.Records)
	}
	res, err := side.Update(ctx, item.Task, []item.Record{{Kind: item.Task, ID: tasks.Records[0].ID, Fields: map[string]string{item.Subject: "Call Acme back"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("update of a task in another list: %v %+v", err, res)
	}
	var w wireTask
	if err := c.getJSON(ctx, "me/todo/lists/"+errands+"/tasks/"+task, &w); err != nil || w.Title == nil || !strings.HasSuffix(*w.Title, "back") {
		t.Errorf("the task in its list = %+v, %v", w, err)
	}
}
