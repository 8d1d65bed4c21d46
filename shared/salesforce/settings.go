package salesforce

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/shared/settings"
)

// Names of the Salesforce settings, as environment variables / app settings.
const (
	NameLoginURL     = "CRMSYNC_SALESFORCE_LOGIN_URL"
	NameClientID     = "CRMSYNC_SALESFORCE_CLIENT_ID"
	NameClientSecret = "CRMSYNC_SALESFORCE_CLIENT_SECRET"
	NameAllowedOrgs  = "CRMSYNC_SALESFORCE_ALLOWED_ORGS"
	NameJWTKey       = "CRMSYNC_SALESFORCE_JWT_KEY"
	NameMaxShare     = "CRMSYNC_SALESFORCE_MAX_SHARE"
	NameUserShare    = "CRMSYNC_SALESFORCE_USER_SHARE"
)

// DefaultLoginURL is CRMSYNC_SALESFORCE_LOGIN_URL's default.
const DefaultLoginURL = "https://login.salesforce.com"

// Config is the Salesforce connector's own settings, filled by settings.Load
// through the specs Settings returns. Salesforce sign-in reads them too, so
// they are read whichever CRM CRMSYNC_CRM picks.
type Config struct {
	LoginURL     string
	ClientID     string
	ClientSecret string // never log it
	AllowedOrgs  []string
	JWTKey       string // PEM; never log it
	MaxShare     float64
	// UserShare caps each user's own Salesforce calls over the rolling 24
	// hours (0 = no per-user cap; at most MaxShare).
	UserShare float64
}

// Settings lists the Salesforce settings (for the README table and the Bicep
// check) whose Parse fill c when settings.Load runs them.
func (c *Config) Settings() []settings.Spec {
	return []settings.Spec{
		{Name: NameLoginURL, Description: "Salesforce login URL (`https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain).", Default: DefaultLoginURL,
			After: settings.NameMailbox, Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.LoginURL = strings.TrimRight(orDefault(strings.TrimSpace(getenv(NameLoginURL)), DefaultLoginURL), "/")
				if p, err := url.Parse(c.LoginURL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
					bad("%s=%q is not an absolute http(s) URL", NameLoginURL, c.LoginURL)
				}
			}},
		{Name: NameClientID, Description: "Consumer key of crmsync's Salesforce External Client App.", RequiredWhen: "Salesforce sign-in or connections are used",
			Parse: func(getenv func(string) string, _ func(string, ...any)) {
				c.ClientID = strings.TrimSpace(getenv(NameClientID))
			}},
		{Name: NameClientSecret, Description: "Consumer secret of the External Client App (unset for a public client using PKCE only).", Secret: true,
			Parse: func(getenv func(string) string, _ func(string, ...any)) {
				c.ClientSecret = strings.TrimSpace(getenv(NameClientSecret))
			}},
		{Name: NameAllowedOrgs, Description: "Comma-separated Salesforce org ids allowed to sign in and connect; `*` for any.", Default: "*",
			Parse: func(getenv func(string) string, _ func(string, ...any)) {
				c.AllowedOrgs = settings.List(orDefault(strings.TrimSpace(getenv(NameAllowedOrgs)), "*"))
			}},
		{Name: NameJWTKey, Description: "PEM private key for the JWT bearer flow (admin-provisioned users, and the change detector's integration connection: see *The change detector*); unset disables that flow.", Secret: true,
			Parse: func(getenv func(string) string, _ func(string, ...any)) {
				c.JWTKey = strings.TrimSpace(getenv(NameJWTKey))
			}},
		{Name: NameMaxShare, Description: "Largest share of the org's daily API allowance crmsync may use (0 < share ≤ 1).", Default: "0.5",
			Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.MaxShare = 0.5
				if v := strings.TrimSpace(getenv(NameMaxShare)); v != "" {
					f, err := strconv.ParseFloat(v, 64)
					if err != nil || !(f > 0 && f <= 1) { // NaN fails every comparison
						bad("%s=%q is not a share between 0 (excluded) and 1", NameMaxShare, v)
					}
					c.MaxShare = f
				}
			}},
		{Name: NameUserShare, Description: "Largest share of the org's daily API allowance one user's sessions may use over the rolling 24 hours, counted from the hourly tally every session keeps on the user's lease row, idle sessions included (0 < share ≤ CRMSYNC_SALESFORCE_MAX_SHARE; 0 = no per-user cap).", Default: "0",
			Parse: func(getenv func(string) string, bad func(string, ...any)) {
				maxShareOK := c.MaxShare > 0 && c.MaxShare <= 1 // MaxShare's Parse ran first
				if v := strings.TrimSpace(getenv(NameUserShare)); v != "" {
					f, err := strconv.ParseFloat(v, 64)
					switch {
					case err != nil || !(f >= 0 && f <= 1):
						bad("%s=%q is not a share between 0 (no per-user cap) and 1", NameUserShare, v)
					case maxShareOK && f > c.MaxShare:
						// One user's cap above crmsync's whole share would never apply.
						bad("%s=%q is above %s (%v)", NameUserShare, v, NameMaxShare, c.MaxShare)
					default:
						c.UserShare = f
					}
				}
			}},
	}
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
