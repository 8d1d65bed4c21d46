package msgraph

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/shared/item"
)

func TestLightweightEntriesAreClassified(t *testing.T) {
	var p wirePage
	if err := json.Unmarshal(sample(t, "message-delta-partial.json"), &p); err != nil {
		t.Fatal(err)
	}
	want := []int{lightFull, lightIgnore, lightIgnore, lightRead, lightRead}
	for i, raw := range p.Value {
		if got := lightweight(raw); got != want[i] {
			t.Errorf("entry %d (%s) = %d, want %d", i, raw, got, want[i])
		}
	}
	var w wireMessage
	if err := json.Unmarshal(p.Value[0], &w); err != nil {
		t.Fatal(err)
	}
	rec := emailRecord(w, "meganb@contoso.onmicrosoft.com")
	if rec.Fields[item.To] != "" || rec.Fields[item.Cc] != "alexw@contoso.onmicrosoft.com" || rec.Fields[item.From] != "adelev@contoso.onmicrosoft.com" {
		t.Errorf("a message without toRecipients maps to %v", rec.Fields)
	}
}

// email creates a message in the share folder through Graph.
func email(t *testing.T, side *Side, subject string, to ...string) string {
	t.Helper()
	fid, err := side.shareFolder(t.Context(), emptyScope)
	if err != nil {
		t.Fatal(err)
	}
	var rs []wireRecipient
	for _, a := range to {
		rs = append(rs, wireRecipient{EmailAddress: wireEmail{Address: a}})
	}
	b := map[string]any{"subject": subject, "body": wireBody{ContentType: "text", Content: "Hello"},
		"from": wireRecipient{EmailAddress: wireEmail{Address: "ann@acme.test"}}, "toRecipients": rs}
	var got struct {
		ID string `json:"id"`
	}
	if err := side.c.sendJSON(t.Context(), http.MethodPost, side.c.mailbox()+"/mailFolders/"+fid+"/messages", b, &got); err != nil {
		t.Fatal(err)
	}
	return got.ID
}

func patchMessage(t *testing.T, side *Side, id string, body map[string]any) {
	t.Helper()
	if err := side.c.sendJSON(t.Context(), http.MethodPatch, side.c.mailbox()+"/messages/"+id, body, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPartialEntriesNeverBecomeEmails: the local Graph answers a read or
// flag change with a lightweight entry. The previous client shared such an
// entry as an e-mail with no subject, sender or recipients, again.
func TestPartialEntriesNeverBecomeEmails(t *testing.T) {
	fg, side, _ := localGraph(t, fakegraph.Options{})
	ctx := t.Context()
	scope := item.Scope{Kind: item.SharedEmail}
	start, err := side.SharedEmails(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	shared := email(t, side, "Quote", "bob@acme.test")
	blank := email(t, side, "Note to self")
	ch, err := side.SharedEmails(ctx, scope, start.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 1 || ch.Records[0].ID != shared || ch.Records[0].Fields[item.Subject] != "Quote" {
		t.Fatalf("records = %+v, want the quote", ch.Records)
	}
	if len(ch.Problems) != 1 || ch.Problems[0].ID != blank || ch.Problems[0].Code != "email-incomplete" {
		t.Errorf("problems = %+v, want the message without recipients", ch.Problems)
	}
	if err := side.MarkShared(ctx, shared, "00T000000000001"); err != nil {
		t.Fatal(err)
	}
	mid, err := side.SharedEmails(ctx, scope, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	patchMessage(t, side, shared, map[string]any{"isRead": true})
	patchMessage(t, side, shared, map[string]any{"flag": map[string]any{"flagStatus": "flagged"}})
	_, partsBefore := fg.Requests()
	again, err := side.SharedEmails(ctx, scope, mid.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Records) != 0 || len(again.Problems) != 0 {
		t.Errorf("after a read and a flag: records %+v problems %+v, want none", again.Records, again.Problems)
	}
	if _, parts := fg.Requests(); parts != partsBefore {
		t.Errorf("a read-state change cost %d batch reads, want none", parts-partsBefore)
	}
}

// TestPartialEntriesThatMatterAreReadInFull widens the local Graph's
// lightweight entries to category changes: such an entry is read in full in
// $batch GETs of 20, shared with its real fields, and a message marked shared
// is not shared again.
func TestPartialEntriesThatMatterAreReadInFull(t *testing.T) {
	fg, side, _ := localGraph(t, fakegraph.Options{LightweightProperties: []string{"isRead", "flag", "categories"}})
	ctx := t.Context()
	scope := item.Scope{Kind: item.SharedEmail}
	start, err := side.SharedEmails(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 25 {
		ids = append(ids, email(t, side, "Offer "+string(rune('A'+i)), "bob@acme.test"))
	}
	ch, err := side.SharedEmails(ctx, scope, start.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Records) != 25 {
		t.Fatalf("%d records, want 25", len(ch.Records))
	}
	// The first is shared; the session stopped before the others (a
	// quota, say), whose next change comes as a lightweight entry.
	if err := side.MarkShared(ctx, ids[0], "00T000000000001"); err != nil {
		t.Fatal(err)
	}
	mid, err := side.SharedEmails(ctx, scope, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		patchMessage(t, side, id, map[string]any{"categories": []string{"Blue"}})
	}
	reqBefore, partsBefore := fg.Requests()
	again, err := side.SharedEmails(ctx, scope, mid.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Records) != 24 {
		t.Fatalf("%d records, want the 24 not shared", len(again.Records))
	}
	for _, r := range again.Records {
		if r.ID == ids[0] {
			t.Errorf("the shared message came back")
		}
		if r.Fields[item.Subject] == "" || r.Fields[item.From] != "ann@acme.test" || r.Fields[item.To] != "bob@acme.test" {
			t.Errorf("record %s = %v, want the message's own fields", r.ID, r.Fields)
		}
	}
	req, parts := fg.Requests()
	if parts-partsBefore != 25 {
		t.Errorf("%d batch parts, want 25 full reads", parts-partsBefore)
	}
	// delta + category query + ⌈25/20⌉ batches.
	if got, want := req-reqBefore, 2+2; got != want {
		t.Errorf("%d requests, want %d", got, want)
	}
}
