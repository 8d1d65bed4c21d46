package sides_test

import (
	"testing"
	"time"
)

// TestExpiredAppTokenAndMalformedDeltaTokens: an app-only token that
// expired in flight is renewed (the session does not ask the user to
// reconnect), and delta links the service calls malformed restart their
// resources without duplicates.
func TestExpiredAppTokenAndMalformedDeltaTokens(t *testing.T) {
	w := newWorld(t)
	if _, err := w.sf.Insert(w.sfID, "Contact", map[string]any{"FirstName": "Alice", "LastName": "Anders", "Email": "alice@acme.example"}); err != nil {
		t.Fatal(err)
	}
	start := w.now.Add(24 * time.Hour).UTC().Truncate(time.Hour)
	if _, err := w.sf.Insert(w.sfID, "Event", map[string]any{"Subject": "Kickoff", "StartDateTime": start.Format(time.RFC3339),
		"EndDateTime": start.Add(time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	w.session()
	w.putSharedMessage(t)
	w.session()
	w.graph.ExpireAccessTokens()
	w.session() // fails with "needs reconnect" without a renewal
	w.graph.CorruptDeltaTokens(upn)
	rep := w.session()
	for k, n := range rep.Counts {
		if n > 0 {
			t.Errorf("restart after malformed tokens did %s ×%d, want nothing new", k, n)
		}
	}
	if got := len(w.mailboxAll("contact")); got != 1 {
		t.Errorf("%d mailbox contacts, want 1", got)
	}
	if got := len(w.mailboxAll("event")); got != 1 {
		t.Errorf("%d mailbox events, want 1", got)
	}
}
