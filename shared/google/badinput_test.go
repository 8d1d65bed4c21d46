package google

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
	"github.com/crmsync/crmsync/shared/item"
)

// The bad input issue 18 names, one test each: a watch notification for
// an unknown channel or with a wrong token, a history id too old
// (TestSharedEmailsHistoryGone), a malformed message, a batch part that
// fails (TestBatchCreates, TestBatchUpdates, TestUpdateContactsBatched for
// writes; TestBadInputGmailBatchPartFails for reads).

// TestBadInputWatchNotification: a Calendar notification for an unknown
// channel, with a wrong token, another user's token, a token that is no
// token, or none, is refused (401) and enqueues nothing; one for a user no
// longer connected is acknowledged and enqueues nothing; the "sync"
// handshake is no change; a genuine notification enqueues its user once.
func TestBadInputWatchNotification(t *testing.T) {
	key := []byte("push-key")
	const id, user = "crmsync-0123", "u1"
	genuine := channelToken(key, id, user)
	var enqueued []string
	h := Push{Key: key, Connected: func(_ context.Context, u string) bool { return u != "gone" }}.PushHandler(func(_ context.Context, u string) error {
		enqueued = append(enqueued, u)
		return nil
	})
	notify := func(id, token, state string) int {
		r := httptest.NewRequest("POST", "/api/notifications", nil)
		r.Header.Set("X-Goog-Channel-ID", id)
		r.Header.Set("X-Goog-Channel-Token", token)
		r.Header.Set("X-Goog-Resource-State", state)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, c := range []struct{ name, id, token string }{
		{"unknown channel with a genuine token of another", "crmsync-9999", genuine},
		{"no channel id", "", genuine},
		{"wrong token (another key)", id, channelToken([]byte("other key"), id, user)},
		{"another user's token", id, strings.Replace(genuine, "v1."+user+".", "v1.u2.", 1)},
		{"not a token", id, "hello"},
		{"no token", id, ""},
	} {
		if st := notify(c.id, c.token, "exists"); st != http.StatusUnauthorized {
			t.Errorf("%s: answered %d, want 401", c.name, st)
		}
	}
	if len(enqueued) != 0 {
		t.Fatalf("refused notifications enqueued %v", enqueued)
	}
	if st := notify("crmsync-gone", channelToken(key, "crmsync-gone", "gone"), "exists"); st != http.StatusOK || len(enqueued) != 0 {
		t.Errorf("a deleted user's channel: %d, enqueued %v; want acknowledged, nothing enqueued", st, enqueued)
	}
	if st := notify(id, genuine, "sync"); st != http.StatusOK || len(enqueued) != 0 {
		t.Errorf("the sync handshake: %d, enqueued %v; want acknowledged, nothing enqueued", st, enqueued)
	}
	if st := notify(id, genuine, "exists"); st != http.StatusOK || !slices.Equal(enqueued, []string{user}) {
		t.Errorf("a genuine notification: %d, enqueued %v; want %s once", st, enqueued, user)
	}
}

// insertRaw puts a message as Gmail received it into the share label.
func insertRaw(t *testing.T, s *Side, raw string) string {
	t.Helper()
	share, err := s.label(t.Context(), DefaultShareLabel)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID string `json:"id"`
	}
	if err := s.c.do(t.Context(), "POST", s.c.gmail+"/gmail/v1/users/me/messages", map[string]any{
		"raw": base64.URLEncoding.EncodeToString([]byte(raw)), "labelIds": []string{"INBOX", share}}, &got); err != nil {
		t.Fatal(err)
	}
	return got.ID
}

// TestBadInputMalformedMessage: a message in the share label whose sender
// cannot be read is reported as that message's problem (no-sender) and
// shares nothing; the well-formed one beside it is shared. Neither is lost
// or reported twice: the next incremental read reports nothing, and a full
// read after the history ran out reports the malformed one again as a
// problem but not the one already shared.
func TestBadInputMalformedMessage(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	scope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	start, err := s.SharedEmails(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	date := time.Now().UTC().Format(time.RFC1123Z)
	good := insertRaw(t, s, "From: Ann Lee <ann@example.com>\r\nTo: user@example.test\r\nSubject: Well formed\r\nDate: "+date+
		"\r\nMessage-ID: <good@example.com>\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
	bad := insertRaw(t, s, "From: ann at example dot com (no address)\r\nTo: user@example.test\r\nSubject: No sender\r\nDate: "+date+
		"\r\nMessage-ID: <bad@example.com>\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
	ch, err := s.SharedEmails(ctx, scope, start.Cursor)
	if err != nil {
		t.Fatalf("reading a label holding a malformed message: %v, want the others read", err)
	}
	if len(ch.Records) != 1 || ch.Records[0].ID != good || ch.Records[0].Fields[item.MessageID] != "<good@example.com>" {
		t.Errorf("records %+v, want the well-formed message only", ch.Records)
	}
	if len(ch.Problems) != 1 || ch.Problems[0].ID != bad || ch.Problems[0].Code != "no-sender" || ch.Problems[0].Name != "No sender" {
		t.Errorf("problems %+v, want the malformed message's no-sender", ch.Problems)
	}
	if err := s.MarkShared(ctx, good, "00T1"); err != nil {
		t.Fatal(err)
	}
	next, err := s.SharedEmails(ctx, scope, ch.Cursor)
	if err != nil || len(next.Records) != 0 || len(next.Problems) != 0 {
		t.Errorf("the next incremental read: %d records, %d problems, %v; want nothing again", len(next.Records), len(next.Problems), err)
	}
	// Gmail moves on (an unrelated message), then its history runs out.
	if _, err := (&googleHarness{side: s}).Email(ctx, "Unrelated", false, nil, "c.txt", []byte("c")); err != nil {
		t.Fatal(err)
	}
	fg.ExpireSyncTokens(testUser)
	full, err := s.SharedEmails(ctx, scope, next.Cursor)
	if err != nil || !full.Full || len(full.Records) != 0 || len(full.Problems) != 1 || full.Problems[0].ID != bad {
		t.Errorf("the full read after the history ran out: %+v %v; want the malformed message's problem only", full, err)
	}
}

// TestBadInputGmailBatchPartFails: when one part of a batched Gmail read
// fails (a 500 inside the batch answer), the read fails as temporary and
// returns no cursor, so the session keeps the old one; reading again from
// it reports every message exactly once — none lost past the cursor, none
// twice.
func TestBadInputGmailBatchPartFails(t *testing.T) {
	fg, s := localGoogle(t)
	ctx := t.Context()
	h := &googleHarness{side: s}
	scope := item.Scope{Kind: item.SharedEmail, ShareCategory: "Salesforce"}
	start, err := s.SharedEmails(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 60 // two batches of metadata reads, two of full reads
	var want []string
	for i := range n {
		id, err := h.Email(ctx, fmt.Sprintf("Batch part %d", i), true, nil, "a.txt", []byte("a"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	fg.ResetRequests()
	// The history read, then 29 parts of the first batch go through: the
	// 30th part fails.
	fg.FailAt("gmail", 30, http.StatusInternalServerError, "backendError")
	failed, err := s.SharedEmails(ctx, scope, start.Cursor)
	if !fault.Is(err, fault.Temporary) || failed.Cursor != "" {
		t.Fatalf("a read whose batch part failed: cursor %q, err %v; want a temporary failure and no cursor", failed.Cursor, err)
	}
	if got := fg.Requests()["batch"]; got != 1 {
		t.Fatalf("batch requests before the failure: %d, want 1 (the failure was meant for a part)", got)
	}
	again, err := s.SharedEmails(ctx, scope, start.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range again.Records {
		got = append(got, r.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the read again reported %d messages (%d distinct of %d): want each exactly once", len(got), len(slices.Compact(slices.Clone(got))), n)
	}
}
