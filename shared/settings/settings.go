// Package settings reads crmsync's configuration once, from an injected getenv,
// into a typed struct. Every setting the code reads is listed in Specs, which the
// README's settings table is generated from.
package settings

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Storage kinds accepted by CRMSYNC_STORAGE.
const (
	// StorageAzure uses Azure Table Storage and Queue Storage (or Azurite) through
	// the connection string in AzureWebJobsStorage.
	StorageAzure = "azure"
	// StorageEmbedded uses one SQLite file per store inside CRMSYNC_DATA_DIR.
	StorageEmbedded = "embedded"
)

// CRMs accepted by CRMSYNC_CRM.
const (
	CRMSalesforce = "salesforce"
	CRMC4C        = "c4c" // SAP Cloud for Customer
)

// Mailboxes accepted by CRMSYNC_MAILBOX.
const (
	MailboxMicrosoft = "microsoft" // Microsoft 365 through Graph
	MailboxGoogle    = "google"    // Google Workspace
)

// Names of the settings, as environment variables / app settings.
const (
	NamePort          = "FUNCTIONS_CUSTOMHANDLER_PORT"
	NameLambdaRuntime = "AWS_LAMBDA_RUNTIME_API"
	NameStorage       = "CRMSYNC_STORAGE"
	NameConnection    = "AzureWebJobsStorage"
	NameDataDir       = "CRMSYNC_DATA_DIR"
	NameLogLevel      = "CRMSYNC_LOG_LEVEL"
	NameDemo          = "CRMSYNC_DEMO"
	NameFunctionKey   = "CRMSYNC_FUNCTION_KEY"
	NameAdminKey      = "CRMSYNC_ADMIN_KEY"

	NameStorageAccount  = "AzureWebJobsStorage__accountName"
	NameStorageClientID = "AzureWebJobsStorage__clientId"
	NameKeyRing         = "CRMSYNC_KEYRING"
	NameSessionKey      = "CRMSYNC_SESSION_KEY"
	NamePublicURL       = "CRMSYNC_PUBLIC_URL"
	NameDefaultPlan     = "CRMSYNC_DEFAULT_PLAN"
	NameAdminEmails     = "CRMSYNC_ADMIN_EMAILS"

	NameEntraAuthority      = "CRMSYNC_ENTRA_AUTHORITY"
	NameMicrosoftLoginURL   = "CRMSYNC_MICROSOFT_LOGIN_URL"
	NameEntraClientID       = "CRMSYNC_ENTRA_CLIENT_ID"
	NameEntraClientSecret   = "CRMSYNC_ENTRA_CLIENT_SECRET"
	NameEntraAllowedTenants = "CRMSYNC_ENTRA_ALLOWED_TENANTS"
	NameGraphBaseURL        = "CRMSYNC_GRAPH_BASE_URL"

	NameCRM = "CRMSYNC_CRM"

	NameMailbox            = "CRMSYNC_MAILBOX"
	NameGoogleClientID     = "CRMSYNC_GOOGLE_CLIENT_ID"
	NameGoogleClientSecret = "CRMSYNC_GOOGLE_CLIENT_SECRET"
	NameGoogleBaseURL      = "CRMSYNC_GOOGLE_BASE_URL"
	// NameGoogleAllowedDomains limits "Sign in with Google" to these
	// Google Workspace domains.
	NameGoogleAllowedDomains = "CRMSYNC_GOOGLE_ALLOWED_DOMAINS"
	// Gmail push through Cloud Pub/Sub (shared/google gmailpush.go).
	NameGooglePubSubTopic          = "CRMSYNC_GOOGLE_PUBSUB_TOPIC"
	NameGooglePubSubServiceAccount = "CRMSYNC_GOOGLE_PUBSUB_SERVICE_ACCOUNT"

	NameSalesforceLoginURL     = "CRMSYNC_SALESFORCE_LOGIN_URL"
	NameSalesforceClientID     = "CRMSYNC_SALESFORCE_CLIENT_ID"
	NameSalesforceClientSecret = "CRMSYNC_SALESFORCE_CLIENT_SECRET"
	NameSalesforceAllowedOrgs  = "CRMSYNC_SALESFORCE_ALLOWED_ORGS"
	NameSalesforceJWTKey       = "CRMSYNC_SALESFORCE_JWT_KEY"
	NameSalesforceMaxShare     = "CRMSYNC_SALESFORCE_MAX_SHARE"
	NameSalesforceUserShare    = "CRMSYNC_SALESFORCE_USER_SHARE"

	NameAddinAudiences = "CRMSYNC_ADDIN_AUDIENCES"
	NameAddinScope     = "CRMSYNC_ADDIN_SCOPE"
	NameAddinOrigins   = "CRMSYNC_ADDIN_ORIGINS"

	NameTrustedProxies = "CRMSYNC_TRUSTED_PROXIES"
	NameSignInRate     = "CRMSYNC_SIGNIN_RATE"
	NameMaxBodyBytes   = "CRMSYNC_MAX_BODY_BYTES"

	NameNotifyMailbox = "CRMSYNC_NOTIFY_MAILBOX"
	NameNotifyTenant  = "CRMSYNC_NOTIFY_TENANT"
	NameSMTPAddr      = "CRMSYNC_SMTP_ADDR"
	NameSMTPFrom      = "CRMSYNC_SMTP_FROM"
	NameSMTPUsername  = "CRMSYNC_SMTP_USERNAME"
	NameSMTPPassword  = "CRMSYNC_SMTP_PASSWORD"

	NameGeoIPFile = "CRMSYNC_GEOIP_FILE"
)

// Defaults of the settings that have one.
const (
	DefaultEntraAuthority     = "https://login.microsoftonline.com/organizations/v2.0"
	DefaultGraphBaseURL       = "https://graph.microsoft.com/v1.0"
	DefaultSalesforceLoginURL = "https://login.salesforce.com"
	DefaultAddinScope         = "access_as_user"
	DefaultAddinOrigins       = "https://outlook.office.com,https://outlook.office365.com"
)

// Spec describes one setting for people and for tools (the README table and the
// Bicep consistency test read it).
type Spec struct {
	Name        string
	Description string
	// Default is the value used when the setting is unset ("" = no default).
	Default string
	// Required is true when the service refuses to start without the setting.
	Required bool
	// RequiredWhen names the condition under which a setting that is not always
	// required must be set ("" = see Required).
	RequiredWhen string
	// Secret marks values that must never be logged or shown.
	Secret bool
}

// Specs lists every setting crmsync reads, in the order the README shows them.
func Specs() []Spec {
	return []Spec{
		{Name: NamePort, Description: "Port the handler listens on (127.0.0.1), set by the Functions host or the local host.", RequiredWhen: "AWS_LAMBDA_RUNTIME_API is unset"},
		{Name: NameLambdaRuntime, Description: "Set by AWS Lambda; when present the handler runs in Lambda mode instead of listening on a port."},
		{Name: NameStorage, Description: "Storage kind: `azure` (Table and Queue Storage, or Azurite) or `embedded` (SQLite files in CRMSYNC_DATA_DIR).", Default: StorageAzure},
		{Name: NameConnection, Description: "Azure Storage connection string for tables and queues (the Functions host uses it too).", RequiredWhen: "CRMSYNC_STORAGE is `azure`", Secret: true},
		{Name: NameDataDir, Description: "Folder holding the embedded SQLite files, shared by the local host and the handler.", RequiredWhen: "CRMSYNC_STORAGE is `embedded`"},
		{Name: NameLogLevel, Description: "Log level: `debug`, `info`, `warn` or `error`.", Default: "info"},
		{Name: NameDemo, Description: "`true` marks a demo instance (set by the local host's `--demo`); the dashboard says so.", Default: "false"},
		{Name: NameFunctionKey, Description: "Local host only: key accepted for `function` auth-level routes (`code` query or `x-functions-key` header). Default: generated into the keys file.", Secret: true},
		{Name: NameAdminKey, Description: "Local host only: key accepted for `function` and `admin` auth-level routes. Default: generated into the keys file.", Secret: true},
		{Name: NameStorageAccount, Description: "Storage account name for identity-based access (managed identity) when AzureWebJobsStorage holds no connection string.", RequiredWhen: "CRMSYNC_STORAGE is `azure` and AzureWebJobsStorage is unset"},
		{Name: NameStorageClientID, Description: "Client id of the user-assigned managed identity used for storage, Key Vault and tokens (unset: system-assigned)."},
		{Name: NameKeyRing, Description: "Where the sealing key ring lives: a Key Vault URL (`https://<name>.vault.azure.net/`) or a key ring file path (0600).", Default: "<CRMSYNC_DATA_DIR>/keyring.json (embedded storage)", RequiredWhen: "CRMSYNC_STORAGE is `azure`"},
		{Name: NameSessionKey, Description: "Base64 secret (≥ 32 bytes) that signs dashboard session cookies, OAuth state and webhook clientState. Store it as a Key Vault reference.", Default: "generated into <CRMSYNC_DATA_DIR>/session.key (embedded storage)", RequiredWhen: "CRMSYNC_STORAGE is `azure`", Secret: true},
		{Name: NamePublicURL, Description: "The service's public base URL (`https://<app>.azurewebsites.net`): OAuth redirect URIs, the Graph webhook and pixel URLs are built from it.", Default: "http://127.0.0.1:7071 (embedded storage)", RequiredWhen: "CRMSYNC_STORAGE is `azure`"},
		{Name: NameDefaultPlan, Description: "Plan new users get: `free` (30-minute interval, 500 records per object) or `paid` (5 minutes, no cap).", Default: "free"},
		{Name: NameAdminEmails, Description: "Comma-separated e-mail addresses of the organisation's first admins: a user signing in with one of them (as Microsoft or Salesforce states it) is made organisation admin of their own organisation, at every sign-in. Further admins are made from the dashboard."},
		{Name: NameEntraAuthority, Description: "Microsoft Entra ID authority (v2.0) for sign-in, mailbox connections and add-in tokens.", Default: DefaultEntraAuthority},
		{Name: NameMicrosoftLoginURL, Description: "Microsoft identity platform host for mailbox connections (auth code, refresh, app-only tokens); the tenant comes from CRMSYNC_ENTRA_AUTHORITY.", Default: "the host of CRMSYNC_ENTRA_AUTHORITY"},
		{Name: NameEntraClientID, Description: "Application (client) id of crmsync's Entra app registration.", RequiredWhen: "Microsoft sign-in or mailbox connections are used"},
		{Name: NameEntraClientSecret, Description: "Client secret of the Entra app registration.", Secret: true},
		{Name: NameEntraAllowedTenants, Description: "Comma-separated Entra tenant ids allowed to sign in and connect; `*` for any (multi-tenant service).", Default: "*"},
		{Name: NameGraphBaseURL, Description: "Microsoft Graph endpoint up to the version.", Default: DefaultGraphBaseURL},
		{Name: NameCRM, Description: "The CRM users sync with: `salesforce` or `c4c` (SAP Cloud for Customer, connected per user with a communication user's host, user name and password on the dashboard's Connections page).", Default: CRMSalesforce},
		{Name: NameMailbox, Description: "The mailbox users sync with: `microsoft` (Microsoft 365 through Graph) or `google` (Google Workspace: People, Calendar, Tasks and Gmail, connected per user with OAuth on the dashboard's Connections page).", Default: MailboxMicrosoft},
		{Name: NameGoogleClientID, Description: "Client id of crmsync's Google OAuth client (a web application in Google Cloud, redirect URI `<CRMSYNC_PUBLIC_URL>/api/dashboard/connect/google/callback`).", RequiredWhen: "CRMSYNC_MAILBOX is `google`"},
		{Name: NameGoogleClientSecret, Description: "Client secret of the Google OAuth client.", RequiredWhen: "CRMSYNC_GOOGLE_CLIENT_ID is set", Secret: true},
		{Name: NameGoogleAllowedDomains, Description: "Comma-separated Google Workspace domains (the ID token's `hd`) whose users may sign in with Google; `*` for any Workspace domain. Personal Google accounts (gmail.com) are always refused. The Google OAuth client also needs the redirect URI `<CRMSYNC_PUBLIC_URL>/api/dashboard/auth/google/callback`.", Default: "*"},
		{Name: NameGooglePubSubTopic, Description: "Cloud Pub/Sub topic Gmail notifies (`projects/<project>/topics/<topic>`, publishable by gmail-api-push@system.gserviceaccount.com) with an authenticated push subscription to `<CRMSYNC_PUBLIC_URL>/api/notifications` (audience: that URL). Unset: Gmail is polled."},
		{Name: NameGooglePubSubServiceAccount, Description: "Service account of that push subscription: the e-mail its OpenID Connect tokens must carry.", RequiredWhen: "CRMSYNC_GOOGLE_PUBSUB_TOPIC is set"},
		{Name: NameGoogleBaseURL, Description: "Base URL replacing Google's API and OAuth hosts: the local Google's (`go run ./local fake-google`) in tests and the demo; unset in production.", Default: "Google's own hosts"},
		{Name: NameSalesforceLoginURL, Description: "Salesforce login URL (`https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain).", Default: DefaultSalesforceLoginURL},
		{Name: NameSalesforceClientID, Description: "Consumer key of crmsync's Salesforce External Client App.", RequiredWhen: "Salesforce sign-in or connections are used"},
		{Name: NameSalesforceClientSecret, Description: "Consumer secret of the External Client App (unset for a public client using PKCE only).", Secret: true},
		{Name: NameSalesforceAllowedOrgs, Description: "Comma-separated Salesforce org ids allowed to sign in and connect; `*` for any.", Default: "*"},
		{Name: NameSalesforceJWTKey, Description: "PEM private key for the JWT bearer flow (admin-provisioned users, and the change detector's integration connection: see *The change detector*); unset disables that flow.", Secret: true},
		{Name: NameSalesforceMaxShare, Description: "Largest share of the org's daily API allowance crmsync may use (0 < share ≤ 1).", Default: "0.5"},
		{Name: NameSalesforceUserShare, Description: "Largest share of the org's daily API allowance one user's sessions may use over the rolling 24 hours, counted from the hourly tally every session keeps on the user's lease row, idle sessions included (0 < share ≤ CRMSYNC_SALESFORCE_MAX_SHARE; 0 = no per-user cap).", Default: "0"},
		{Name: NameAddinAudiences, Description: "Comma-separated accepted audiences of add-in access tokens (the API's app id URI and/or client id).", Default: "the Entra client id"},
		{Name: NameAddinScope, Description: "Delegated scope add-in tokens must carry.", Default: DefaultAddinScope},
		{Name: NameAddinOrigins, Description: "Comma-separated origins allowed to call and frame the add-in API (CORS, frame-ancestors).", Default: DefaultAddinOrigins},
		{Name: NameTrustedProxies, Description: "Number of reverse-proxy hops in front of the service, for client addresses in rate limits (Azure: 1).", Default: "0"},
		{Name: NameSignInRate, Description: "Sign-in and token requests allowed per minute per client address.", Default: "20"},
		{Name: NameMaxBodyBytes, Description: "Largest request body accepted by HTTP functions (attachment uploads stream up to 25 MB separately).", Default: "1048576"},
		{Name: NameNotifyMailbox, Description: "Service mailbox (address) notification e-mails are sent from through Microsoft Graph with the app's own token: needs the Mail.Send application permission, limited to this mailbox by an Exchange Online application access policy (README, Notifications). Unset: SMTP when CRMSYNC_SMTP_ADDR is set, else each user's own Microsoft 365 connection sends to themselves."},
		{Name: NameNotifyTenant, Description: "Entra tenant id of the notification service mailbox (needed with CRMSYNC_NOTIFY_MAILBOX)."},
		{Name: NameSMTPAddr, Description: "SMTP server (`host:port`) for notification e-mails, the alternative to Graph (STARTTLS when offered)."},
		{Name: NameSMTPFrom, Description: "Sender address of notification e-mails sent by SMTP (needed with CRMSYNC_SMTP_ADDR)."},
		{Name: NameSMTPUsername, Description: "SMTP user name (unset: no authentication)."},
		{Name: NameSMTPPassword, Description: "SMTP password.", Secret: true},
		{Name: NameGeoIPFile, Description: "Path of a MaxMind GeoLite2 (or GeoIP2) City or Country database file: human e-mail opens are then placed at country, region and city (the address itself is never stored). Unset: opens are not placed."},
	}
}

// Settings is the validated configuration.
type Settings struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT (0 in Lambda mode).
	Port int
	// Lambda is true when AWS_LAMBDA_RUNTIME_API is set.
	Lambda bool
	// Storage is StorageAzure or StorageEmbedded.
	Storage string
	// CRM is the CRM of the deployment: CRMSalesforce or CRMC4C.
	CRM string
	// Mailbox is the mailbox of the deployment: MailboxMicrosoft or
	// MailboxGoogle.
	Mailbox string
	// GoogleClientID and GoogleClientSecret are the Google OAuth client
	// (CRMSYNC_GOOGLE_CLIENT_*); never log the secret.
	GoogleClientID     string
	GoogleClientSecret string
	// GoogleBaseURL replaces Google's API and OAuth hosts ("" = Google's).
	GoogleBaseURL string
	// GoogleAllowedDomains are the Workspace domains allowed to sign in
	// with Google ("*" = any Workspace domain).
	GoogleAllowedDomains []string
	// GooglePubSubTopic and GooglePubSubServiceAccount turn on Gmail push:
	// the topic users.watch names and the push subscription's service
	// account ("" = Gmail is polled).
	GooglePubSubTopic, GooglePubSubServiceAccount string
	// ConnectionString is AzureWebJobsStorage; never log it.
	ConnectionString string
	// DataDir is CRMSYNC_DATA_DIR.
	DataDir string
	// LogLevel is CRMSYNC_LOG_LEVEL.
	LogLevel slog.Level
	// Demo is CRMSYNC_DEMO.
	Demo bool
	// FunctionKey and AdminKey are the local host's keys ("" = use the keys file).
	FunctionKey string
	AdminKey    string

	// StorageAccount and StorageClientID select identity-based storage access.
	StorageAccount  string
	StorageClientID string
	// KeyRing is CRMSYNC_KEYRING (defaulted for embedded storage).
	KeyRing string
	// SessionKey is the decoded CRMSYNC_SESSION_KEY (nil: generate one in DataDir).
	SessionKey []byte
	// PublicURL is the service's base URL, without a trailing slash.
	PublicURL   string
	DefaultPlan string
	// AdminEmails are the bootstrap organisation admins' addresses.
	AdminEmails []string

	EntraAuthority string
	// MicrosoftLoginURL and EntraTenant locate the OAuth endpoints of mailbox
	// connections: <MicrosoftLoginURL>/<EntraTenant>/oauth2/v2.0/…
	MicrosoftLoginURL   string
	EntraTenant         string
	EntraClientID       string
	EntraClientSecret   string
	EntraAllowedTenants []string
	GraphBaseURL        string

	SalesforceLoginURL     string
	SalesforceClientID     string
	SalesforceClientSecret string
	SalesforceAllowedOrgs  []string
	SalesforceJWTKey       string
	SalesforceMaxShare     float64
	// SalesforceUserShare caps each user's own Salesforce calls over the
	// rolling 24 hours (0 = no per-user cap; at most SalesforceMaxShare).
	SalesforceUserShare float64

	AddinAudiences []string
	AddinScope     string
	AddinOrigins   []string

	TrustedProxies int
	SignInRate     int
	MaxBodyBytes   int64

	// NotifyMailbox and NotifyTenant name the service mailbox notifications
	// are sent from through Graph ("" = none).
	NotifyMailbox string
	NotifyTenant  string
	// SMTPAddr, when set, sends notifications through SMTP instead.
	SMTPAddr     string
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string

	// GeoIPFile is a MaxMind DB file that places e-mail opens ("" = none).
	GeoIPFile string
}

// Load reads and validates every setting. It returns one error naming every
// missing or invalid setting, so an operator fixes them all in one go.
func Load(getenv func(string) string) (Settings, error) {
	var s Settings
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	s.Lambda = get(NameLambdaRuntime) != ""
	switch port := get(NamePort); {
	case port == "" && !s.Lambda:
		bad("%s is missing (the port the handler listens on)", NamePort)
	case port != "":
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			bad("%s=%q is not a port number (1-65535)", NamePort, port)
		}
		s.Port = n
	}

	s.Storage = get(NameStorage)
	if s.Storage == "" {
		s.Storage = StorageAzure
	}
	s.ConnectionString = get(NameConnection)
	s.DataDir = get(NameDataDir)
	switch s.Storage {
	case StorageAzure:
		if s.ConnectionString == "" {
			bad("%s is missing (required when %s is %q)", NameConnection, NameStorage, StorageAzure)
		}
	case StorageEmbedded:
		if s.DataDir == "" {
			bad("%s is missing (required when %s is %q)", NameDataDir, NameStorage, StorageEmbedded)
		}
	default:
		bad("%s=%q is not %q or %q", NameStorage, s.Storage, StorageAzure, StorageEmbedded)
	}

	level := get(NameLogLevel)
	if level == "" {
		level = "info"
	}
	if err := s.LogLevel.UnmarshalText([]byte(level)); err != nil {
		bad("%s=%q is not debug, info, warn or error", NameLogLevel, level)
	}

	if demo := get(NameDemo); demo != "" {
		b, err := strconv.ParseBool(demo)
		if err != nil {
			bad("%s=%q is not true or false", NameDemo, demo)
		}
		s.Demo = b
	}
	s.FunctionKey = get(NameFunctionKey)
	s.AdminKey = get(NameAdminKey)

	s.StorageAccount = get(NameStorageAccount)
	s.StorageClientID = get(NameStorageClientID)
	if s.Storage == StorageAzure && s.ConnectionString == "" && s.StorageAccount != "" {
		// Identity-based storage: drop the "missing connection string" problem.
		problems = slices.DeleteFunc(problems, func(p string) bool { return strings.HasPrefix(p, NameConnection+" is missing") })
	}
	embedded := s.Storage == StorageEmbedded
	s.KeyRing = get(NameKeyRing)
	if s.KeyRing == "" && embedded && s.DataDir != "" {
		s.KeyRing = filepath.Join(s.DataDir, "keyring.json")
	}
	if s.KeyRing == "" && !embedded {
		bad("%s is missing (a Key Vault URL or a key ring file path)", NameKeyRing)
	}
	if key := get(NameSessionKey); key != "" {
		b, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(b) < 32 {
			bad("%s is not base64 of at least 32 bytes", NameSessionKey)
		}
		s.SessionKey = b
	} else if !embedded {
		bad("%s is missing (base64 of at least 32 random bytes)", NameSessionKey)
	}
	s.PublicURL = strings.TrimRight(get(NamePublicURL), "/")
	if s.PublicURL == "" && embedded {
		s.PublicURL = "http://127.0.0.1:7071"
	}
	if s.PublicURL == "" && !embedded {
		bad("%s is missing (the service's public base URL)", NamePublicURL)
	} else if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("%s=%q is not an absolute http(s) URL", NamePublicURL, s.PublicURL)
	}
	s.DefaultPlan = orDefault(get(NameDefaultPlan), "free")
	if s.DefaultPlan != "free" && s.DefaultPlan != "paid" {
		bad("%s=%q is not free or paid", NameDefaultPlan, s.DefaultPlan)
	}
	for _, e := range list(get(NameAdminEmails)) {
		if at := strings.LastIndex(e, "@"); at < 1 || at == len(e)-1 || strings.ContainsAny(e, " <>\"") {
			bad("%s: %q is not an e-mail address", NameAdminEmails, e)
			continue
		}
		s.AdminEmails = append(s.AdminEmails, strings.ToLower(e))
	}

	s.EntraAuthority = orDefault(get(NameEntraAuthority), DefaultEntraAuthority)
	s.MicrosoftLoginURL, s.EntraTenant = splitAuthority(s.EntraAuthority)
	if v := get(NameMicrosoftLoginURL); v != "" {
		s.MicrosoftLoginURL = strings.TrimRight(v, "/")
	}
	s.EntraClientID = get(NameEntraClientID)
	s.EntraClientSecret = get(NameEntraClientSecret)
	s.EntraAllowedTenants = list(orDefault(get(NameEntraAllowedTenants), "*"))
	s.GraphBaseURL = strings.TrimRight(orDefault(get(NameGraphBaseURL), DefaultGraphBaseURL), "/")
	switch s.CRM = orDefault(get(NameCRM), CRMSalesforce); s.CRM {
	case CRMSalesforce, CRMC4C:
	default:
		bad("%s=%q is not a CRM crmsync syncs (%s or %s)", NameCRM, s.CRM, CRMSalesforce, CRMC4C)
	}
	switch s.Mailbox = orDefault(get(NameMailbox), MailboxMicrosoft); s.Mailbox {
	case MailboxMicrosoft, MailboxGoogle:
	default:
		bad("%s=%q is not a mailbox crmsync syncs (%s or %s)", NameMailbox, s.Mailbox, MailboxMicrosoft, MailboxGoogle)
	}
	s.GoogleClientID, s.GoogleClientSecret = get(NameGoogleClientID), getenv(NameGoogleClientSecret)
	s.GoogleBaseURL = strings.TrimRight(get(NameGoogleBaseURL), "/")
	if s.Mailbox == MailboxGoogle {
		// Sign in with Google is offered in Google Workspace worlds only.
		s.GoogleAllowedDomains = list(orDefault(get(NameGoogleAllowedDomains), "*"))
	}
	if s.Mailbox == MailboxGoogle && s.GoogleClientID == "" {
		bad("%s is missing (required when %s is %q: users connect their mailboxes with it)", NameGoogleClientID, NameMailbox, MailboxGoogle)
	}
	if s.GoogleClientID != "" && s.GoogleClientSecret == "" {
		// Google's web-application clients redeem codes with their secret.
		bad("%s is missing (required when %s is set)", NameGoogleClientSecret, NameGoogleClientID)
	}
	if s.GoogleBaseURL != "" {
		if p, err := url.Parse(s.GoogleBaseURL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad("%s=%q is not an absolute http(s) URL", NameGoogleBaseURL, s.GoogleBaseURL)
		}
	}
	s.GooglePubSubTopic, s.GooglePubSubServiceAccount = get(NameGooglePubSubTopic), get(NameGooglePubSubServiceAccount)
	if s.GooglePubSubTopic != "" {
		if parts := strings.Split(s.GooglePubSubTopic, "/"); len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || parts[1] == "" || parts[3] == "" {
			bad("%s=%q is not a topic name (projects/<project>/topics/<topic>)", NameGooglePubSubTopic, s.GooglePubSubTopic)
		}
		if !strings.Contains(s.GooglePubSubServiceAccount, "@") {
			bad("%s is missing or not an e-mail (required when %s is set: push tokens are checked against it)", NameGooglePubSubServiceAccount, NameGooglePubSubTopic)
		}
	}
	s.SalesforceLoginURL = strings.TrimRight(orDefault(get(NameSalesforceLoginURL), DefaultSalesforceLoginURL), "/")
	s.SalesforceClientID = get(NameSalesforceClientID)
	s.SalesforceClientSecret = get(NameSalesforceClientSecret)
	s.SalesforceAllowedOrgs = list(orDefault(get(NameSalesforceAllowedOrgs), "*"))
	s.SalesforceJWTKey = get(NameSalesforceJWTKey)
	for _, u := range []struct{ name, v string }{{NameEntraAuthority, s.EntraAuthority}, {NameGraphBaseURL, s.GraphBaseURL}, {NameSalesforceLoginURL, s.SalesforceLoginURL}} {
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			bad("%s=%q is not an absolute http(s) URL", u.name, u.v)
		}
	}
	s.SalesforceMaxShare = 0.5
	maxShareOK := true
	if v := get(NameSalesforceMaxShare); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) { // NaN fails every comparison
			bad("%s=%q is not a share between 0 (excluded) and 1", NameSalesforceMaxShare, v)
			maxShareOK = false
		}
		s.SalesforceMaxShare = f
	}
	if v := get(NameSalesforceUserShare); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil || !(f >= 0 && f <= 1):
			bad("%s=%q is not a share between 0 (no per-user cap) and 1", NameSalesforceUserShare, v)
		case maxShareOK && f > s.SalesforceMaxShare:
			// One user's cap above crmsync's whole share would never apply.
			bad("%s=%q is above %s (%v)", NameSalesforceUserShare, v, NameSalesforceMaxShare, s.SalesforceMaxShare)
		default:
			s.SalesforceUserShare = f
		}
	}
	s.AddinAudiences = list(get(NameAddinAudiences))
	if len(s.AddinAudiences) == 0 && s.EntraClientID != "" {
		s.AddinAudiences = []string{s.EntraClientID, "api://" + s.EntraClientID}
	}
	s.AddinScope = orDefault(get(NameAddinScope), DefaultAddinScope)
	s.AddinOrigins = list(orDefault(get(NameAddinOrigins), DefaultAddinOrigins))
	s.TrustedProxies = intSetting(get, bad, NameTrustedProxies, 0, 0, 10)
	s.SignInRate = intSetting(get, bad, NameSignInRate, 20, 1, 10000)
	s.MaxBodyBytes = int64(intSetting(get, bad, NameMaxBodyBytes, 1<<20, 1024, 1<<30))

	s.NotifyMailbox, s.NotifyTenant = get(NameNotifyMailbox), get(NameNotifyTenant)
	if s.NotifyMailbox != "" && !strings.Contains(s.NotifyMailbox, "@") {
		bad("%s=%q is not an e-mail address", NameNotifyMailbox, s.NotifyMailbox)
	}
	if s.NotifyMailbox != "" && s.NotifyTenant == "" {
		bad("%s is missing (required when %s is set)", NameNotifyTenant, NameNotifyMailbox)
	}
	s.GeoIPFile = get(NameGeoIPFile)
	s.SMTPAddr, s.SMTPFrom = get(NameSMTPAddr), get(NameSMTPFrom)
	s.SMTPUsername, s.SMTPPassword = get(NameSMTPUsername), getenv(NameSMTPPassword)
	if s.SMTPAddr != "" {
		if _, port, err := net.SplitHostPort(s.SMTPAddr); err != nil || port == "" {
			bad("%s=%q is not host:port", NameSMTPAddr, s.SMTPAddr)
		}
		if !strings.Contains(s.SMTPFrom, "@") || strings.ContainsAny(s.SMTPFrom, "\r\n") {
			bad("%s is missing or not an address (required when %s is set)", NameSMTPFrom, NameSMTPAddr)
		}
	}

	if len(problems) > 0 {
		return Settings{}, errors.New("settings: " + strings.Join(problems, "; "))
	}
	return s, nil
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

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// list splits a comma-separated setting, dropping empty entries.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func intSetting(get func(string) string, bad func(string, ...any), name string, def, lo, hi int) int {
	v := get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		bad("%s=%q is not a whole number from %d to %d", name, v, lo, hi)
		return def
	}
	return n
}

// TablesPath is the embedded table store's SQLite file inside DataDir. The local
// host and the handler both open it, so both must take the name from here.
func (s Settings) TablesPath() string { return filepath.Join(s.DataDir, "tables.sqlite") }

// QueuesPath is the embedded queue's SQLite file inside DataDir.
func (s Settings) QueuesPath() string { return filepath.Join(s.DataDir, "queues.sqlite") }
