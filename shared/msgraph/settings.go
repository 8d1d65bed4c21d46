package msgraph

import (
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/settings"
)

// Names of the Microsoft Graph settings, as environment variables / app
// settings. The Entra app registration (CRMSYNC_ENTRA_*) stays in
// shared/settings: sign-in and the add-in's token checks read it too.
const (
	NameLoginURL = "CRMSYNC_MICROSOFT_LOGIN_URL"
	NameBaseURL  = "CRMSYNC_GRAPH_BASE_URL"
)

// Config is the Microsoft 365 connector's own settings, filled by
// settings.Load through the specs Settings returns. The notification service
// mailbox reads them too, so they are read whichever mailbox CRMSYNC_MAILBOX
// picks.
type Config struct {
	// LoginURL and Tenant locate the OAuth endpoints of mailbox connections:
	// <LoginURL>/<Tenant>/oauth2/v2.0/… (both from CRMSYNC_ENTRA_AUTHORITY
	// unless CRMSYNC_MICROSOFT_LOGIN_URL replaces the host).
	LoginURL string
	Tenant   string
	// BaseURL is the Graph endpoint up to the version, without a trailing
	// slash.
	BaseURL string
}

// Settings lists the Graph settings (for the README table and the Bicep
// check) whose Parse fill c when settings.Load runs them.
func (c *Config) Settings() []settings.Spec {
	return []settings.Spec{
		{Name: NameLoginURL, Description: "Microsoft identity platform host for mailbox connections (auth code, refresh, app-only tokens); the tenant comes from CRMSYNC_ENTRA_AUTHORITY.", Default: "the host of CRMSYNC_ENTRA_AUTHORITY",
			After: settings.NameEntraAuthority, Parse: func(getenv func(string) string, _ func(string, ...any)) {
				authority := strings.TrimSpace(getenv(settings.NameEntraAuthority))
				if authority == "" {
					authority = settings.DefaultEntraAuthority
				}
				c.LoginURL, c.Tenant = splitAuthority(authority)
				if v := strings.TrimSpace(getenv(NameLoginURL)); v != "" {
					c.LoginURL = strings.TrimRight(v, "/")
				}
			}},
		{Name: NameBaseURL, Description: "Microsoft Graph endpoint up to the version.", Default: DefaultBaseURL,
			After: settings.NameEntraAllowedTenants, Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.BaseURL = strings.TrimSpace(getenv(NameBaseURL))
				if c.BaseURL == "" {
					c.BaseURL = DefaultBaseURL
				}
				c.BaseURL = strings.TrimRight(c.BaseURL, "/")
				if p, err := url.Parse(c.BaseURL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
					bad("%s=%q is not an absolute http(s) URL", NameBaseURL, c.BaseURL)
				}
			}},
	}
}

// splitAuthority splits an Entra v2.0 authority
// ("https://login.microsoftonline.com/organizations/v2.0") into its base URL
// and tenant segment.
func splitAuthority(a string) (base, tenant string) {
	a = strings.TrimSuffix(strings.TrimRight(a, "/"), "/v2.0")
	i := strings.LastIndex(a, "/")
	if i < len("https://") {
		return a, "organizations"
	}
	return a[:i], a[i+1:]
}
