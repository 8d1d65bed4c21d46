package google

import (
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/shared/item"
)

// TestSharedEmailsHistoryGone: when the stored historyId is past Gmail's
// history (404), SharedEmails reads the share labels in full; messages
// already marked shared are not reported again, new ones are.
func TestSharedEmailsHistoryGone(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	h := &googleHarness{side: s}
	scope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	start, err := s.SharedEmails(ctx, scope, "")
	if err != nil || !start.Full {
		t.Fatalf("first read: %+v %v", start, err)
	}
	done, err := h.Email(ctx, "Shared before", true, nil, "a.txt", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.SharedEmails(ctx, scope, start.Cursor)
	if err != nil || len(ch.Records) != 1 || ch.Full {
		t.Fatalf("incremental: %+v %v", ch, err)
	}
	r := ch.Records[0]
	if r.Fields[item.From] != "ann@example.com" || r.Fields[item.MessageID] == "" || r.Fields[item.Description] == "" || r.Fields[item.Direction] != "Inbound" {
		t.Errorf("shared e-mail fields: %+v", r.Fields)
	}
	if err := s.MarkShared(ctx, done, "00T1"); err != nil {
		t.Fatal(err)
	}
	fresh, err := h.Email(ctx, "Shared after", false, []string{"Salesforce"}, "b.txt", []byte("b"))
	if err != nil {
		t.Fatal(err)
	}
	fg.ExpireSyncTokens(testUser)
	again, err := s.SharedEmails(ctx, scope, ch.Cursor)
	if err != nil || !again.Full {
		t.Fatalf("after history 404: %+v %v, want a full read", again, err)
	}
	if len(again.Records) != 1 || again.Records[0].ID != fresh {
		t.Errorf("after history 404: %+v, want only the new message", again.Records)
	}
	next, err := s.SharedEmails(ctx, scope, again.Cursor)
	if err != nil || next.Full || len(next.Records) != 0 {
		t.Errorf("after the full read: %+v %v, want an empty incremental read", next, err)
	}
}

// TestSharedEmailsBatchedReads: a full read of a share label holding many
// messages reads them GmailBatch to a request — metadata first, full only
// for the ones to share.
func TestSharedEmailsBatchedReads(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	h := &googleHarness{side: s}
	scope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	var ids []string
	for i := range 120 {
		id, err := h.Email(ctx, fmt.Sprintf("Message %d", i), true, nil, "a.txt", []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids[:30] {
		if err := s.MarkShared(ctx, id, "00T"); err != nil {
			t.Fatal(err)
		}
	}
	fg.ResetRequests()
	ch, err := s.SharedEmails(ctx, scope, "")
	if err != nil || len(ch.Records) != 90 {
		t.Fatalf("full read: %d records, %v; want 90", len(ch.Records), err)
	}
	got := fg.Requests()
	// 120 metadata reads in 3 batches, 90 full reads in 2.
	if got["batch"] != 5 {
		t.Errorf("batch requests: %d, want 5", got["batch"])
	}
	// Inner calls count as Gmail requests: the profile, the labels'
	// lookup and the share category's label made, a listing of each of the
	// two share labels, then 120 metadata and 90 full reads.
	if want := 5 + 120 + 90; got["gmail"] != want {
		t.Errorf("Gmail calls: %d, want %d", got["gmail"], want)
	}
}
