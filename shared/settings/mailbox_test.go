package settings

import (
	"strings"
	"testing"
)

// TestMailboxSetting: CRMSYNC_MAILBOX picks the deployment's mailbox,
// Microsoft 365 unless told; Google needs its OAuth client (id and secret)
// and a base URL, when set, must be an absolute URL. Each refusal names the
// setting.
func TestMailboxSetting(t *testing.T) {
	base := map[string]string{NamePort: "1", NameStorage: "embedded", NameDataDir: "/d"}
	google := map[string]string{NameMailbox: "google", NameGoogleClientID: "id-1", NameGoogleClientSecret: "s-1"}
	got, err := Load(env(base))
	if err != nil || got.Mailbox != MailboxMicrosoft {
		t.Fatalf("unset: mailbox %q, %v; want microsoft", got.Mailbox, err)
	}
	got, err = Load(env(with(base, with(google, map[string]string{NameGoogleBaseURL: "http://127.0.0.1:9/"}))))
	if err != nil || got.Mailbox != MailboxGoogle || got.GoogleClientID != "id-1" || got.GoogleClientSecret != "s-1" || got.GoogleBaseURL != "http://127.0.0.1:9" {
		t.Fatalf("google: %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name       string
		vars       map[string]string
		want, also string
	}{
		{"unknown mailbox", map[string]string{NameMailbox: "yahoo"}, NameMailbox, `"yahoo"`},
		{"google without a client", map[string]string{NameMailbox: "google"}, NameGoogleClientID, "google"},
		{"client without a secret", map[string]string{NameMailbox: "google", NameGoogleClientID: "id-1"}, NameGoogleClientSecret, NameGoogleClientID},
		{"relative base URL", with(google, map[string]string{NameGoogleBaseURL: "localhost:9"}), NameGoogleBaseURL, "absolute"},
	} {
		_, err := Load(env(with(base, tt.vars)))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.also) {
			t.Errorf("%s: err %v, want one naming %s and %s", tt.name, err, tt.want, tt.also)
		}
	}
}
