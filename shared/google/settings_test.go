package google_test

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestSettings: Google needs its OAuth client (id and secret) when
// CRMSYNC_MAILBOX picks it, a base URL, when set, must be an absolute URL,
// and push needs a topic name and its service account. Each refusal names
// the setting (moved from shared/settings' TestMailboxSetting).
func TestSettings(t *testing.T) {
	base := map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: "/d"}
	picked := map[string]string{settings.NameMailbox: "google", google.NameClientID: "id-1", google.NameClientSecret: "s-1"}
	load := func(sets ...map[string]string) (google.Config, error) {
		all := map[string]string{}
		for _, m := range append([]map[string]string{base}, sets...) {
			for k, v := range m {
				all[k] = v
			}
		}
		var c google.Config
		_, err := settings.Load(func(k string) string { return all[k] }, c.Settings())
		return c, err
	}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for k, v := range m {
			if _, set := out[k]; !set {
				out[k] = v
			}
		}
		return out
	}
	if got, err := load(); err != nil || got != (google.Config{}) {
		t.Fatalf("microsoft mailbox, nothing set: %+v, %v", got, err)
	}
	got, err := load(picked, map[string]string{google.NameBaseURL: "http://127.0.0.1:9/",
		google.NamePubSubTopic: "projects/p/topics/t", google.NamePubSubServiceAccount: "push@p.iam.gserviceaccount.com"})
	if err != nil || got.ClientID != "id-1" || got.ClientSecret != "s-1" || got.BaseURL != "http://127.0.0.1:9" ||
		got.PubSubTopic != "projects/p/topics/t" || got.PubSubServiceAccount != "push@p.iam.gserviceaccount.com" {
		t.Fatalf("google: %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name       string
		vars       map[string]string
		want, also string
	}{
		{"google without a client", map[string]string{settings.NameMailbox: "google"}, google.NameClientID, "google"},
		{"client without a secret", map[string]string{settings.NameMailbox: "google", google.NameClientID: "id-1"}, google.NameClientSecret, google.NameClientID},
		{"relative base URL", with(picked, google.NameBaseURL, "localhost:9"), google.NameBaseURL, "absolute"},
		{"topic not a topic", map[string]string{google.NamePubSubTopic: "t", google.NamePubSubServiceAccount: "a@b"}, google.NamePubSubTopic, "projects/"},
		{"topic without its account", map[string]string{google.NamePubSubTopic: "projects/p/topics/t"}, google.NamePubSubServiceAccount, google.NamePubSubTopic},
	} {
		_, err := load(tt.vars)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.also) {
			t.Errorf("%s: err %v, want one naming %s and %s", tt.name, err, tt.want, tt.also)
		}
	}
}
