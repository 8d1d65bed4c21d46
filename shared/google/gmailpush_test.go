package google

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/shared/item"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// TestGmailWatchRenewedDaily: with a topic, SharedEmails calls users.watch
// on the share labels and keeps the time in the cursor; a read within the
// day calls nothing more, one a day later renews the watch (Gmail's lapse
// after 7 days never comes). The mailbox index maps the address's
// fingerprint to the user and stores no address. A cursor of the older
// form (no watch time) still reads incrementally. Without a topic no
// watch is made.
func TestGmailWatchRenewedDaily(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	fg, s := localGoogleWith(t, fakegoogle.Options{Now: clock, PubSub: &fakegoogle.PubSub{Topic: "projects/p/topics/gmail", Endpoint: "https://push.test/", ServiceAccount: "sa@p.iam.gserviceaccount.com"}})
	store, err := tablestore.OpenEmbedded(filepath.Join(t.TempDir(), "s.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	idx := &MailboxIndex{Store: store, Key: []byte("k")}
	s.WithWatch(WatchOptions{Key: []byte("k"), User: "u-1", Now: clock, Topic: "projects/p/topics/gmail", Mailboxes: idx})
	ctx := t.Context()
	scope := item.Scope{Kind: item.SharedEmail}
	first, err := s.SharedEmails(ctx, scope, "")
	if err != nil {
		t.Fatal(err)
	}
	_, exp1, ok := fg.GmailWatch(testUser)
	if !ok || !strings.HasSuffix(first.Cursor, "|w"+itoa(now.Unix())) {
		t.Fatalf("first read: watch %v, cursor %q", ok, first.Cursor)
	}
	if u, err := idx.Lookup(ctx, strings.ToUpper(testUser)); err != nil || u != "u-1" {
		t.Errorf("index lookup: %q %v", u, err)
	}
	now = now.Add(23 * time.Hour)
	second, err := s.SharedEmails(ctx, scope, first.Cursor)
	if _, exp, _ := fg.GmailWatch(testUser); err != nil || second.Full || !exp.Equal(exp1) || second.Cursor != first.Cursor {
		t.Errorf("within the day: full %v, watch expiry %v (was %v), cursor %q; want no renewal (%v)", second.Full, exp, exp1, second.Cursor, err)
	}
	now = now.Add(2 * time.Hour)
	third, err := s.SharedEmails(ctx, scope, second.Cursor)
	if _, exp, _ := fg.GmailWatch(testUser); err != nil || third.Full || !exp.After(exp1) || !strings.HasSuffix(third.Cursor, "|w"+itoa(now.Unix())) {
		t.Errorf("a day later: full %v, watch expiry %v (was %v), cursor %q; want renewed (%v)", third.Full, exp, exp1, third.Cursor, err)
	}
	old, _ := cutGmailWatch(third.Cursor)
	if ch, err := s.SharedEmails(ctx, scope, old); err != nil || ch.Full {
		t.Errorf("an older cursor without the watch time: full %v, %v", ch.Full, err)
	}
	page, _ := store.Query(ctx, MailboxTable, tablestore.Query{})
	for _, e := range page.Entities {
		if strings.Contains(e.PartitionKey+e.RowKey, "example") || e.Properties["Mailbox"] == testUser {
			t.Errorf("index row holds the address: %+v", e)
		}
	}
	if err := idx.Forget(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if page, _ := store.Query(ctx, MailboxTable, tablestore.Query{}); len(page.Entities) != 0 {
		t.Errorf("after Forget: %v", page.Entities)
	}

	fg2, plain := localGoogle(t)
	plain.WithWatch(WatchOptions{Key: []byte("k"), User: "u-2"})
	if _, err := plain.SharedEmails(ctx, scope, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := fg2.GmailWatch(testUser); ok {
		t.Error("without a topic a Gmail watch was made")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
