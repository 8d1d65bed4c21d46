package sides_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore/storetest"
)

// orgKeys is the organisation key source of the test world.
type orgKeys struct{}

func (orgKeys) OrgKey(_ context.Context, org string) ([]byte, error) {
	return []byte("org-key-" + org + "-0123456789abcdef0123"), nil
}

// colleague adds a user of the same Salesforce org and Microsoft tenant,
// connected, with their own settings; it returns the user id, their
// Salesforce user id and their mailbox address.
func (w *world) colleague(t *testing.T, name string) (string, string, string) {
	t.Helper()
	ctx := context.Background()
	addr := strings.ToLower(name) + "@contoso.example"
	sfID, err := w.sf.AddUser(fakesalesforce.User{Username: addr, Password: sfSecret, Email: addr, FirstName: name, LastName: "Colleague"})
	if err != nil {
		t.Fatal(err)
	}
	w.graph.AddMailbox(addr, name)
	user := "u-" + strings.ToLower(name)
	if _, err := w.conns.Save(ctx, connection.Connection{User: user, Provider: connection.Salesforce, Tenant: w.sf.OrgID(),
		InstanceURL: w.sfURL, Flow: connection.FlowPassword}, connection.Credentials{Username: addr, Password: sfSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.conns.Save(ctx, connection.Connection{User: user, Provider: connection.Microsoft, Tenant: "contoso",
		Flow: connection.FlowClientCredentials}, connection.Credentials{Username: addr}); err != nil {
		t.Fatal(err)
	}
	src := w.runner.Settings.(settingsFor)
	src[user] = session.UserSettings{FingerprintKey: []byte("fingerprint-key-" + name + "-0123456789abcdef"),
		Email: session.EmailSettings{Enabled: true, OwnAddress: addr}}
	return user, sfID, addr
}

// runAs runs a session for another user of the world.
func (w *world) runAs(t *testing.T, user string) session.Report {
	t.Helper()
	rep, err := w.runner.Run(context.Background(), user, "test")
	if err != nil || rep.Outcome != "ok" {
		t.Fatalf("session of %s: %v %s %s\n%s", user, err, rep.Outcome, rep.Detail, w.logs.String())
	}
	return rep
}

// postCopy puts a copy of one e-mail (the same Internet message id) into a
// mailbox, shared by category.
func postCopy(t *testing.T, w *world, mailbox, messageID, from string, to ...string) string {
	t.Helper()
	var rs []map[string]any
	for _, a := range to {
		rs = append(rs, map[string]any{"emailAddress": map[string]any{"address": a}})
	}
	b, _ := json.Marshal(map[string]any{"subject": "Pricing for 2027", "internetMessageId": messageID,
		"body": map[string]any{"contentType": "text", "content": "See the attached prices."},
		"from": map[string]any{"emailAddress": map[string]any{"address": from}}, "toRecipients": rs,
		"categories": []string{"Salesforce"}, "sentDateTime": "2026-11-24T08:00:00Z", "receivedDateTime": "2026-11-24T08:00:00Z"})
	var created struct {
		ID string `json:"id"`
	}
	graphPost(t, w.gURL+"/v1.0/users/"+mailbox+"/messages", w.graph.Token(mailbox), string(b), &created)
	return created.ID
}

// emailTasks lists the e-mail Tasks in the org with the people related to each.
func emailTasks(t *testing.T, w *world) map[string][]string {
	t.Helper()
	get := func(q string, out any) {
		req, _ := http.NewRequest(http.MethodGet, w.sfURL+"/services/data/v"+fakesalesforce.APIVersion+"/query?q="+url.QueryEscape(q), nil)
		admin := w.sf.IssueToken(w.sfID)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", q, resp.StatusCode, err)
		}
	}
	var tasks struct {
		Records []struct{ Id string }
	}
	get("SELECT Id FROM Task WHERE TaskSubtype = 'Email'", &tasks)
	out := map[string][]string{}
	for _, task := range tasks.Records {
		var rels struct {
			Records []struct{ RelationId string }
		}
		get("SELECT RelationId FROM TaskRelation WHERE TaskId = '"+task.Id+"' AND IsWhat = false", &rels)
		var ids []string
		for _, r := range rels.Records {
			ids = append(ids, r.RelationId)
		}
		slices.Sort(ids)
		out[task.Id] = ids
	}
	return out
}

// TestEmailCopiesMakeOneTask: two copies of one e-mail in a mailbox, and the
// same e-mail in three colleagues' mailboxes, become one Task with every
// person related; the ledger stores only a keyed fingerprint of the message
// id. The previous engine made one Task per copy.
func TestEmailCopiesMakeOneTask(t *testing.T) {
	w := newWorld(t)
	w.runner.OrgKeys = orgKeys{}
	const msgID = "<CAFx0-quote-2027@mail.acme.example>"
	alice, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	eve, eveSF, eveAddr := w.colleague(t, "Eve")
	finn, finnSF, finnAddr := w.colleague(t, "Finn")
	bob, err := w.sf.Insert(eveSF, "Contact", map[string]any{"FirstName": "Bob", "LastName": "Brown", "Email": "bob@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	carol, err := w.sf.Insert(finnSF, "Contact", map[string]any{"FirstName": "Carol", "LastName": "Cole", "Email": "carol@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	w.session()
	// Dana has the e-mail twice (inbox and a copy), each shared by category.
	postCopy(t, w, upn, msgID, "alice@acme.example", upn, eveAddr, finnAddr)
	postCopy(t, w, upn, msgID, "alice@acme.example", upn, eveAddr, finnAddr)
	rep := w.session()
	if rep.Counts["email|to-crm|share"] != 1 || rep.Counts["email|to-crm|merge"] != 1 {
		t.Errorf("two copies in one mailbox: %v, want one share and one merge", rep.Counts)
	}
	// Eve and Finn got it too, with Bob and Carol (their contacts) on copy.
	postCopy(t, w, eveAddr, msgID, "alice@acme.example", upn, eveAddr, finnAddr, "bob@acme.example")
	postCopy(t, w, finnAddr, msgID, "alice@acme.example", upn, eveAddr, finnAddr, "carol@acme.example")
	for _, u := range []string{eve, finn} {
		rep := w.runAs(t, u)
		if rep.Counts["email|to-crm|share"] != 0 || rep.Counts["email|to-crm|merge"] != 1 {
			t.Errorf("%s: %v, want the copy merged into the existing Task", u, rep.Counts)
		}
	}
	// Dana owns the Task: her next session relates the people her
	// colleagues could not.
	w.session()
	tasks := emailTasks(t, w)
	if len(tasks) != 1 {
		t.Fatalf("%d e-mail Tasks, want 1: %v", len(tasks), tasks)
	}
	want := []string{alice, bob, carol}
	slices.Sort(want)
	for _, rel := range tasks {
		if !slices.Equal(rel, want) {
			t.Errorf("Task relates %v, want %v", rel, want)
		}
	}
	for _, u := range []string{eve, finn} {
		w.runAs(t, u)
	}
	w.session()
	if got := emailTasks(t, w); len(got) != 1 {
		t.Errorf("after more sessions: %d Tasks", len(got))
	}
	rows := storetest.Rows(t, w.tables, session.SharedTasksTable)
	if len(rows) == 0 {
		t.Fatal("the ledger is empty: the test is not looking at anything")
	}
	for _, e := range rows {
		text := e.PartitionKey + " " + e.RowKey + fmt.Sprint(e.Properties)
		for _, s := range []string{msgID, strings.Trim(msgID, "<>"), "acme.example", "contoso.example"} {
			if strings.Contains(text, s) {
				t.Errorf("ledger row %s holds %q", e.RowKey, s)
			}
		}
	}
}
