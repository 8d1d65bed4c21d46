package google

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestConnectProviderConfig: an unconfigured provider offers no flow and
// reports nothing; a configured one names each missing setting, and its
// flow asks for offline access, the consent screen and exactly Scopes.
func TestConnectProviderConfig(t *testing.T) {
	for _, p := range []*ConnectProvider{nil, {}} {
		if cfg, _ := p.UserFlow(); cfg != nil || p.Check() != nil {
			t.Errorf("unconfigured %+v: flow %v, problems %v", p, cfg, p.Check())
		}
	}
	p := &ConnectProvider{OAuth: OAuthConfig("id", "", "", "")}
	if got := strings.Join(p.Check(), "; "); got != "Google.ClientSecret is empty; Google.RedirectURL is empty" {
		t.Errorf("problems %q", got)
	}
	p.OAuth.ClientSecret, p.OAuth.RedirectURL = "s", "https://app.example/api/dashboard/connect/google/callback"
	if got := p.Check(); got != nil {
		t.Errorf("configured: %v", got)
	}
	cfg, opts := p.UserFlow()
	u := cfg.AuthCodeURL("st", opts...)
	for _, want := range []string{"access_type=offline", "prompt=consent+select_account", "scope=" + strings.ReplaceAll(strings.ReplaceAll(strings.Join(Scopes, "+"), ":", "%3A"), "/", "%2F")} {
		if !strings.Contains(u, want) {
			t.Errorf("authorization URL %s lacks %s", u, want)
		}
	}
	if !slices.Equal(cfg.Scopes, Scopes) || cfg.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("flow %+v", cfg)
	}
}
