package settings

import (
	"strings"
	"testing"
)

// TestMailboxSetting: CRMSYNC_MAILBOX picks the deployment's mailbox,
// Microsoft 365 unless told; anything else is refused naming the setting
// (the Google settings' own cases are in shared/google).
func TestMailboxSetting(t *testing.T) {
	base := map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d"}
	got, err := Load(env(base))
	if err != nil || got.Mailbox != MailboxMicrosoft {
		t.Fatalf("unset: mailbox %q, %v; want microsoft", got.Mailbox, err)
	}
	if got, err = Load(env(with(base, map[string]string{NameMailbox: "google"}))); err != nil || got.Mailbox != MailboxGoogle {
		t.Fatalf("google: mailbox %q, %v", got.Mailbox, err)
	}
	_, err = Load(env(with(base, map[string]string{NameMailbox: "yahoo"})))
	if err == nil || !strings.Contains(err.Error(), NameMailbox) || !strings.Contains(err.Error(), `"yahoo"`) {
		t.Errorf("unknown mailbox: err %v, want one naming %s and %s", err, NameMailbox, `"yahoo"`)
	}
}
