package salesforce_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
)

// embedded are the generic settings a local deployment must give.
var embedded = map[string]string{settings.NamePort: "1", settings.NameStorage: "embedded", settings.NameDataDir: "/d"}

func load(vars map[string]string) (salesforce.Config, error) {
	var c salesforce.Config
	all := map[string]string{}
	for k, v := range embedded {
		all[k] = v
	}
	for k, v := range vars {
		all[k] = v
	}
	_, err := settings.Load(func(k string) string { return all[k] }, c.Settings())
	return c, err
}

// TestSettings: the Salesforce settings load with their defaults, lists and
// shares (moved from shared/settings' TestLoadIdentityAndWebSettings).
func TestSettings(t *testing.T) {
	got, err := load(map[string]string{salesforce.NameAllowedOrgs: "00D1, 00D2", salesforce.NameMaxShare: "0.25", salesforce.NameUserShare: "0.05",
		salesforce.NameClientID: "ck", salesforce.NameLoginURL: "https://test.salesforce.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"00D1", "00D2"}, got.AllowedOrgs); diff != "" {
		t.Errorf("allowed orgs (-want +got):\n%s", diff)
	}
	if got.MaxShare != 0.25 || got.UserShare != 0.05 || got.ClientID != "ck" || got.LoginURL != "https://test.salesforce.com" {
		t.Errorf("got %+v", got)
	}
	if got, err = load(nil); err != nil || got.LoginURL != salesforce.DefaultLoginURL || got.MaxShare != 0.5 || got.UserShare != 0 || !cmp.Equal(got.AllowedOrgs, []string{"*"}) {
		t.Errorf("defaults: %+v, %v", got, err)
	}
}

// TestSettingsNameEveryProblem: each bad Salesforce setting is named, beside
// a bad generic one, in the one error Load returns.
func TestSettingsNameEveryProblem(t *testing.T) {
	for _, tt := range []struct {
		name      string
		env       map[string]string
		wantNames []string
	}{
		{"max share above 1", map[string]string{salesforce.NameMaxShare: "2"}, []string{salesforce.NameMaxShare}},
		{"user share above the max share", map[string]string{settings.NamePort: "x", salesforce.NameMaxShare: "0.2", salesforce.NameUserShare: "0.3"},
			[]string{settings.NamePort, salesforce.NameUserShare}},
		{"shares not shares", map[string]string{salesforce.NameUserShare: "NaN", salesforce.NameMaxShare: "NaN", settings.NameLogLevel: "loud"},
			[]string{salesforce.NameUserShare, salesforce.NameMaxShare, settings.NameLogLevel}},
		{"relative login URL", map[string]string{salesforce.NameLoginURL: "login.salesforce.com"}, []string{salesforce.NameLoginURL}},
	} {
		_, err := load(tt.env)
		for _, name := range tt.wantNames {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %v does not name %s", tt.name, err, name)
			}
		}
	}
}
