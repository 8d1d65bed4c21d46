package msgraph_test

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/settings"
)

// TestSettings: the mailbox connections' login host and tenant come from the
// generic Entra authority unless CRMSYNC_MICROSOFT_LOGIN_URL replaces the host
// (moved from shared/settings' TestLoadIdentityAndWebSettings); a relative
// Graph URL is refused by name.
func TestSettings(t *testing.T) {
	base := map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: "/d"}
	load := func(extra map[string]string) (msgraph.Config, error) {
		var c msgraph.Config
		_, err := settings.Load(func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}, c.Settings())
		return c, err
	}
	got, err := load(nil)
	if err != nil || got.LoginURL != "https://login.microsoftonline.com" || got.Tenant != "organizations" || got.BaseURL != msgraph.DefaultBaseURL {
		t.Errorf("defaults: %+v, %v", got, err)
	}
	got, err = load(map[string]string{settings.NameEntraAuthority: "https://login.microsoftonline.com/tid/v2.0", msgraph.NameLoginURL: "http://127.0.0.1:9/",
		msgraph.NameBaseURL: "http://127.0.0.1:9/v1.0/"})
	if err != nil || got.LoginURL != "http://127.0.0.1:9" || got.Tenant != "tid" || got.BaseURL != "http://127.0.0.1:9/v1.0" {
		t.Errorf("set: %+v, %v", got, err)
	}
	if _, err = load(map[string]string{msgraph.NameBaseURL: "graph/v1.0"}); err == nil || !strings.Contains(err.Error(), msgraph.NameBaseURL) {
		t.Errorf("relative Graph URL: %v, want it named", err)
	}
}
