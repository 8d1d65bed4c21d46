package google

import (
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/settings"
)

// Names of the Google settings, as environment variables / app settings.
const (
	NameClientID     = "CRMSYNC_GOOGLE_CLIENT_ID"
	NameClientSecret = "CRMSYNC_GOOGLE_CLIENT_SECRET"
	NameBaseURL      = "CRMSYNC_GOOGLE_BASE_URL"
	// NameAllowedDomains limits "Sign in with Google" to these Google
	// Workspace domains.
	NameAllowedDomains = "CRMSYNC_GOOGLE_ALLOWED_DOMAINS"
	// Gmail push through Cloud Pub/Sub (gmailpush.go).
	NamePubSubTopic          = "CRMSYNC_GOOGLE_PUBSUB_TOPIC"
	NamePubSubServiceAccount = "CRMSYNC_GOOGLE_PUBSUB_SERVICE_ACCOUNT"
)

// Config is the Google Workspace connector's own settings, filled by
// settings.Load through the specs Settings returns.
type Config struct {
	// ClientID and ClientSecret are the Google OAuth client; never log the
	// secret.
	ClientID     string
	ClientSecret string
	// BaseURL replaces Google's API and OAuth hosts ("" = Google's).
	BaseURL string
	// AllowedDomains is the comma-separated list of Workspace domains
	// allowed to sign in with Google ("*" = any Workspace domain; set when
	// the mailbox is Google). A string keeps Config comparable; Domains
	// splits it.
	AllowedDomains string
	// PubSubTopic and PubSubServiceAccount turn on Gmail push: the topic
	// users.watch names and the push subscription's service account ("" =
	// Gmail is polled).
	PubSubTopic, PubSubServiceAccount string
}

// Settings lists the Google settings (for the README table and the Bicep
// check) whose Parse fill c when settings.Load runs them. The OAuth client is
// required when CRMSYNC_MAILBOX picks Google.
func (c *Config) Settings() []settings.Spec {
	return []settings.Spec{
		{Name: NameClientID, Description: "Client id of crmsync's Google OAuth client (a web application in Google Cloud, redirect URI `<CRMSYNC_PUBLIC_URL>/api/dashboard/connect/google/callback`).", RequiredWhen: "CRMSYNC_MAILBOX is `google`",
			After: settings.NameMailbox, Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.ClientID, c.ClientSecret = strings.TrimSpace(getenv(NameClientID)), getenv(NameClientSecret)
				if settings.Picked(getenv, settings.NameMailbox, settings.MailboxGoogle) && c.ClientID == "" {
					bad("%s is missing (required when %s is %q: users connect their mailboxes with it)", NameClientID, settings.NameMailbox, settings.MailboxGoogle)
				}
				if c.ClientID != "" && c.ClientSecret == "" {
					// Google's web-application clients redeem codes with their secret.
					bad("%s is missing (required when %s is set)", NameClientSecret, NameClientID)
				}
			}},
		{Name: NameClientSecret, Description: "Client secret of the Google OAuth client.", RequiredWhen: "CRMSYNC_GOOGLE_CLIENT_ID is set", Secret: true}, // read with the client id
		{Name: NameAllowedDomains, Description: "Comma-separated Google Workspace domains (the ID token's `hd`) whose users may sign in with Google; `*` for any Workspace domain. Personal Google accounts (gmail.com) are always refused. The Google OAuth client also needs the redirect URI `<CRMSYNC_PUBLIC_URL>/api/dashboard/auth/google/callback`.", Default: "*",
			After: settings.NameMailbox, Parse: func(getenv func(string) string, _ func(string, ...any)) {
				if !settings.Picked(getenv, settings.NameMailbox, settings.MailboxGoogle) {
					return // Sign in with Google is offered in Google Workspace worlds only.
				}
				c.AllowedDomains = strings.TrimSpace(getenv(NameAllowedDomains))
				if len(c.Domains()) == 0 {
					c.AllowedDomains = "*"
				}
			}},
		{Name: NamePubSubTopic, Description: "Cloud Pub/Sub topic Gmail notifies (`projects/<project>/topics/<topic>`, publishable by gmail-api-push@system.gserviceaccount.com) with an authenticated push subscription to `<CRMSYNC_PUBLIC_URL>/api/notifications` (audience: that URL). Unset: Gmail is polled.",
			Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.PubSubTopic, c.PubSubServiceAccount = strings.TrimSpace(getenv(NamePubSubTopic)), strings.TrimSpace(getenv(NamePubSubServiceAccount))
				if c.PubSubTopic != "" {
					if parts := strings.Split(c.PubSubTopic, "/"); len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || parts[1] == "" || parts[3] == "" {
						bad("%s=%q is not a topic name (projects/<project>/topics/<topic>)", NamePubSubTopic, c.PubSubTopic)
					}
					if !strings.Contains(c.PubSubServiceAccount, "@") {
						bad("%s is missing or not an e-mail (required when %s is set: push tokens are checked against it)", NamePubSubServiceAccount, NamePubSubTopic)
					}
				}
			}},
		{Name: NamePubSubServiceAccount, Description: "Service account of that push subscription: the e-mail its OpenID Connect tokens must carry.", RequiredWhen: "CRMSYNC_GOOGLE_PUBSUB_TOPIC is set"}, // read with the topic
		{Name: NameBaseURL, Description: "Base URL replacing Google's API and OAuth hosts: the local Google's (`go run ./local fake-google`) in tests and the demo; unset in production.", Default: "Google's own hosts",
			Parse: func(getenv func(string) string, bad func(string, ...any)) {
				c.BaseURL = strings.TrimRight(strings.TrimSpace(getenv(NameBaseURL)), "/")
				if c.BaseURL != "" {
					if p, err := url.Parse(c.BaseURL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
						bad("%s=%q is not an absolute http(s) URL", NameBaseURL, c.BaseURL)
					}
				}
			}},
	}
}

// Domains splits AllowedDomains into the Workspace domains allowed to sign
// in ("*" among them: any).
func (c Config) Domains() []string {
	var out []string
	for _, d := range strings.Split(c.AllowedDomains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}
