package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"

	fdashboard "github.com/crmsync/crmsync/functions/dashboard"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/addin"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/dashboard"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/insight"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/notice"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/side"
	"github.com/crmsync/crmsync/shared/sides"
	"github.com/crmsync/crmsync/shared/tablestore"
	"github.com/crmsync/crmsync/shared/tracking"
	"github.com/crmsync/crmsync/shared/webguard"
)

// config is the validated configuration: the generic settings and each
// connector's own, which its package declares and parses (Settings).
type config struct {
	settings.Settings
	Salesforce salesforce.Config
	Microsoft  msgraph.Config
	C4C        c4c.Config
	Google     google.Config
}

// connectorSettings lists the connectors' settings, whose Parse fill c's
// connector configs; a new connector adds its list here. The order places
// them in the README table (settings.All).
func (c *config) connectorSettings() [][]settings.Spec {
	return [][]settings.Spec{c.Salesforce.Settings(), c.Microsoft.Settings(), c.C4C.Settings(), c.Google.Settings()}
}

// loadConfig reads every setting, generic and connectors', into one config;
// one error names every problem.
func loadConfig(getenv func(string) string) (config, error) {
	var c config
	s, err := settings.Load(getenv, c.connectorSettings()...)
	c.Settings = s
	return c, err
}

// allSpecs lists every setting crmsync reads, generic and connectors', in the
// README table's order.
func allSpecs() []settings.Spec { return settings.All(new(config).connectorSettings()...) }

// app is the wired service: every collaborator the functions are built from.
// Only wire picks concrete types; the functions see small interfaces.
type app struct {
	settings config
	log      *slog.Logger
	now      func() time.Time
	store    tablestore.Store
	queue    queue.Queue
	version  string

	ring     keyring.Ring
	conns    *connection.Store
	sched    *schedule.Scheduler
	accounts *account.Accounts
	users    *identity.Users
	grants   *access.Store
	// bootstrap makes the CRMSYNC_ADMIN_EMAILS users org admins at sign-in.
	bootstrap *access.Bootstrap
	checker   *access.Checker
	sessions  *identity.Sessions
	subs      *msgraph.Subscriptions
	opener    *sides.Opener
	crm       *salesforce.Opener
	mbx       *msgraph.Opener
	runner    *session.Runner
	insight   *insight.Store
	notifier  *notice.Notifier
	tracker   *tracking.Tracker
	// dashboard is the self-service dashboard behind its security headers;
	// addin and pixel are the add-in API and open tracking, likewise guarded.
	dashboard http.Handler
	addin     http.Handler
	pixel     http.Handler
	closers   []io.Closer

	// crmConnector is the deployment's CRM (CRMSYNC_CRM): Salesforce, or
	// SAP Cloud for Customer, whose sides c4c.Opener opens instead of crm.
	crmConnector side.Connector
	// mailboxConnector is the deployment's mailbox (CRMSYNC_MAILBOX):
	// Microsoft 365, or Google Workspace, whose sides google opens instead
	// of mbx (wire_google.go).
	mailboxConnector side.Connector
	google           *google.Opener
}

func (a *app) Close() {
	for _, c := range a.closers {
		c.Close()
	}
}

// subKey derives an independent key for one purpose from the session secret,
// so a cookie signature can never be replayed as a webhook secret.
func subKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("crmsync/" + purpose))
	return m.Sum(nil)
}

// wire builds the service from settings. sessions, when not nil, carries
// session requests instead of the storage queue (Amazon SQS on AWS Lambda,
// where SQS triggers the syncworker). An error names what is wrong.
func wire(ctx context.Context, cfg config, log *slog.Logger, now func() time.Time, sessions schedule.Enqueuer) (*app, error) {
	a := &app{settings: cfg, log: log, now: now, version: version()}
	var err error
	var cred azcore.TokenCredential
	needCred := (cfg.Storage == settings.StorageAzure && cfg.ConnectionString == "") || strings.HasPrefix(cfg.KeyRing, "https://")
	if needCred {
		if cred, err = azureCredential(cfg); err != nil {
			return nil, err
		}
	}
	if a.store, a.queue, err = openStorage(cfg, cred, a); err != nil {
		return nil, err
	}
	if storeWrap != nil {
		a.store = storeWrap(a.store)
	}
	if a.ring, err = keyring.Open(cfg.KeyRing, cred); err != nil {
		a.Close()
		return nil, err
	}
	secret := cfg.SessionKey
	if secret == nil {
		if secret, err = localSecret(filepath.Join(cfg.DataDir, "session.key")); err != nil {
			a.Close()
			return nil, err
		}
	}

	sf, ms, jwtKey, err := oauthApps(cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	var revokers = map[connection.Provider]connection.Revoker{connection.Microsoft: msgraph.Revoker{}}
	if sf != nil {
		revokers[connection.Salesforce] = &salesforce.Revoker{LoginURL: cfg.Salesforce.LoginURL}
	}
	a.crmConnector = salesforce.Connector
	if cfg.CRM == settings.CRMC4C {
		a.crmConnector = c4c.Connector
	}
	a.mailboxConnector = msgraph.Connector
	if cfg.Mailbox == settings.MailboxGoogle {
		a.mailboxConnector = google.Connector
		revokers[connection.Provider(google.Provider)] = googleRevoker(cfg)
	}
	a.conns = connection.NewStore(a.store, a.ring, connection.Options{Now: now, Logger: log, Revokers: revokers,
		Providers: connection.ProvidersOf(a.crmConnector, a.mailboxConnector)})
	if sessions == nil {
		sessions = a.queue
	}
	a.sched = schedule.New(a.store, sessions)
	a.grants = access.NewStore(a.store, now)
	a.bootstrap = access.NewBootstrap(a.grants, cfg.AdminEmails)
	a.checker = access.NewChecker(a.grants)
	a.users = identity.NewUsers(a.store, a.grants, now)

	// The two connectors: Salesforce the CRM, Microsoft 365 the mailbox.
	a.crm = &salesforce.Opener{MaxShare: cfg.Salesforce.MaxShare, Now: now, Log: log}
	a.mbx = &msgraph.Opener{BaseURL: cfg.Microsoft.BaseURL, Log: log, ShareCategory: a.crmConnector.DefaultShareCategory()}
	a.opener = &sides.Opener{Connections: a.conns, CRM: a.crm, Mailbox: a.mbx}
	if cfg.CRM == settings.CRMC4C {
		// SAML bearer connections open with their organisation's setup
		// (a.accounts is built below; the opener asks it per session).
		// Each user syncs their own C4C employee's records (found by their
		// address, wire_c4c.go).
		a.opener.CRM = &c4c.Opener{Tables: a.store, Log: log, Now: now, Email: a.c4cEmail,
			OrgOf: func(ctx context.Context, user string) (string, error) { return a.accounts.OrgOf(ctx, user) }}
	}
	if cfg.Mailbox == settings.MailboxGoogle {
		a.google = a.googleOpener(subKey(secret, "google-channel-token"))
		a.opener.Mailbox = a.google
	}
	if cfg.Salesforce.UserShare > 0 {
		// Only a per-user cap costs a table read (one Get of the user's lease
		// row, which tallies every session's calls) per opened Salesforce side.
		a.crm.UserShare = cfg.Salesforce.UserShare
		window := a.crm.Connector().Budget.Window
		a.crm.Counter = func(user string) side.CallCounter { return session.NewLeaseCounterOver(a.store, user, window) }
	}
	if sf != nil {
		a.crm.OAuth = sf.OAuth2()
		if jwtKey != nil {
			a.crm.JWT = func(ctx context.Context, username string) salesforce.TokenSource {
				return salesforce.JWTBearerSource(context.WithoutCancel(ctx), sf, username, jwtKey).WithClock(now)
			}
		}
	}
	if ms != nil {
		a.mbx.OAuth = ms.OAuth2()
		a.mbx.AppOnly = func(tenant string) oauth2.TokenSource { return appOnly(ctx, ms, tenant) }
	}
	a.subs, err = msgraph.NewSubscriptions(msgraph.SubscriptionOptions{
		Store: a.store, Key: subKey(secret, "graph-client-state"),
		NotificationURL: cfg.PublicURL + "/api/notifications", LifecycleURL: cfg.PublicURL + "/api/notifications",
		Clients: a.graphClient,
		Tenants: a.mailboxTenant,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.accounts, err = account.New(account.Deps{
		Tables: a.store, Sealer: account.KeysSealer{Keys: a.ring}, Scheduler: a.sched, Grants: a.grants,
		Connections: a.conns, Identities: a.users, Directory: a.users,
		Forget: append([]account.Deleter{account.DeleterFunc(a.subs.Forget), account.DeleterFunc(orgwatch.Index{Store: a.store}.ForgetUser)}, a.googleForget()...),
		Unhook: []account.Deleter{account.DeleterFunc(a.mailboxUnhook)},
		CRM:    a.crmConnector, Mailbox: a.mailboxConnector,
		Saved: []account.SettingsListener{account.SettingsListenerFunc(a.settingsSaved)},
		Now:   now, Log: log,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.users.AdoptProvisioned(a.accounts.ClaimInvite)
	a.insight = insight.New(a.store, a.accounts.OrgOf, log.With("function", "syncworker"), now)
	if a.notifier, err = notice.New(notice.Deps{Tables: a.store, Mailer: a.noticeMailer(ctx, cfg, ms), Profiles: a.accounts,
		Connections: a.conns, DashboardURL: cfg.PublicURL + dashboard.Prefix + "/", Log: log.With("function", "notice"), Now: now}); err != nil {
		a.Close()
		return nil, err
	}
	a.runner = &session.Runner{Store: a.store, Opener: a.opener, TallyWindow: a.crm.Connector().Budget.Window, Settings: a.accounts, OrgKeys: a.accounts, Log: log.With("function", "syncworker"), Now: now,
		Observer: session.Observers{a.insight, a.notifier}}

	// The cookie keeps its __Host- name (Secure, Path=/, no Domain) on a
	// plain-HTTP local run too: browsers treat http://localhost and
	// http://127.0.0.1 as potentially trustworthy and accept Secure cookies
	// there (the dashboard's Chromium test signs in over such a URL).
	if a.sessions, err = identity.NewSessions(identity.SessionConfig{Key: subKey(secret, "session-cookie"),
		Origins: []string{cfg.PublicURL}, Now: now, Log: log, Refuse: dashboard.Refuse}); err != nil {
		a.Close()
		return nil, err
	}
	if a.tracker, err = a.buildTracker(secret); err != nil {
		a.Close()
		return nil, err
	}
	if a.dashboard, err = a.buildDashboard(ctx, secret, sf, ms); err != nil {
		a.Close()
		return nil, err
	}
	if a.addin, a.pixel, err = a.buildAddin(secret); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// azureCredential is the managed identity in Azure (user-assigned when a
// client id is set), or whatever DefaultAzureCredential finds elsewhere.
func azureCredential(cfg config) (azcore.TokenCredential, error) {
	if cfg.StorageClientID != "" {
		return azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(cfg.StorageClientID)})
	}
	return azidentity.NewDefaultAzureCredential(nil)
}

// openStorage opens the table store and the queue the settings name: the
// embedded SQLite files, Azure Storage by connection string, or Azure Storage
// through the managed identity (AzureWebJobsStorage__accountName).
func openStorage(cfg config, cred azcore.TokenCredential, a *app) (tablestore.Store, queue.Queue, error) {
	switch {
	case cfg.Storage == settings.StorageEmbedded:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("data folder: %w", err)
		}
		s, err := tablestore.OpenEmbedded(cfg.TablesPath())
		if err != nil {
			return nil, nil, fmt.Errorf("embedded table store: %w", err)
		}
		a.closers = append(a.closers, s)
		q, err := queue.OpenEmbedded(cfg.QueuesPath())
		if err != nil {
			return nil, nil, fmt.Errorf("embedded queue: %w", err)
		}
		a.closers = append(a.closers, q)
		return s, q, nil
	case cfg.ConnectionString != "":
		s, err := tablestore.NewAzure(cfg.ConnectionString)
		if err != nil {
			return nil, nil, fmt.Errorf("azure table store: %w", err)
		}
		q, err := queue.NewAzure(cfg.ConnectionString)
		if err != nil {
			return nil, nil, fmt.Errorf("azure queue: %w", err)
		}
		return s, q, nil
	default:
		acct := cfg.StorageAccount
		s, err := tablestore.NewAzureWithCredential("https://"+acct+".table.core.windows.net/", cred)
		if err != nil {
			return nil, nil, fmt.Errorf("azure table store (managed identity): %w", err)
		}
		q, err := queue.NewAzureWithCredential("https://"+acct+".queue.core.windows.net/", cred)
		if err != nil {
			return nil, nil, fmt.Errorf("azure queue (managed identity): %w", err)
		}
		return s, q, nil
	}
}

// localSecret reads a 32-byte secret from path, creating it (0600) on first
// use: local and on-premises runs need no secret configured by hand.
func localSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil && len(raw) >= 32 {
			return raw, nil
		}
		return nil, fmt.Errorf("%s does not hold base64 of at least 32 bytes", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(raw)), 0o600); err != nil {
		return nil, err
	}
	return raw, nil
}

// oauthApps builds crmsync's OAuth apps from settings; an app whose client
// id is unset is nil (that provider is not offered).
func oauthApps(cfg config) (*salesforce.App, *msgraph.App, *rsa.PrivateKey, error) {
	var sf *salesforce.App
	var ms *msgraph.App
	var key *rsa.PrivateKey
	base := cfg.PublicURL + dashboard.Prefix + "/connect"
	if cfg.Salesforce.ClientID != "" {
		sf = &salesforce.App{ClientID: cfg.Salesforce.ClientID, ClientSecret: cfg.Salesforce.ClientSecret,
			LoginURL: cfg.Salesforce.LoginURL, RedirectURL: base + "/salesforce/callback"}
		if cfg.Salesforce.JWTKey != "" {
			var err error
			if key, err = parseRSAKey(cfg.Salesforce.JWTKey); err != nil {
				return nil, nil, nil, fmt.Errorf("settings: %s: %w", salesforce.NameJWTKey, err)
			}
			sf.JWTKey = key
		}
	}
	if cfg.EntraClientID != "" {
		ms = &msgraph.App{ClientID: cfg.EntraClientID, ClientSecret: cfg.EntraClientSecret,
			Authority: cfg.Microsoft.LoginURL, Tenant: cfg.Microsoft.Tenant, RedirectURL: base + "/microsoft/callback",
			GraphURL: cfg.Microsoft.BaseURL}
	}
	return sf, ms, key, nil
}

func parseRSAKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("not a PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key (PKCS#1 or PKCS#8)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}

// failingSource reports why no token can be had.
type failingSource struct{ err error }

func (f failingSource) Token() (*oauth2.Token, error) { return nil, f.err }

// salesforceClient is a client on user's Salesforce connection, for the
// dashboard's live reads of record names.
func (a *app) salesforceClient(ctx context.Context, user string) (*salesforce.Client, error) {
	s, err := a.salesforceSide(ctx, user)
	if err != nil {
		return nil, err
	}
	return s.Client(), nil
}

// notifyMailer picks how notification e-mails leave: the configured service
// mailbox through Graph with the app's token, else SMTP when configured,
// else each user's own Microsoft 365 connection, to themselves.
func notifyMailer(ctx context.Context, cfg config, ms *msgraph.App, ownClient func(ctx context.Context, user string) (*msgraph.Client, error)) notice.Mailer {
	switch {
	case cfg.NotifyMailbox != "" && ms != nil:
		client, err := msgraph.New(msgraph.Options{BaseURL: cfg.Microsoft.BaseURL, User: cfg.NotifyMailbox,
			TokenSource: msgraph.NewRenewable(func() oauth2.TokenSource { return appOnly(ctx, ms, cfg.NotifyTenant) })})
		if err == nil {
			return notice.ServiceMailbox{Sender: client}
		}
	case cfg.SMTPAddr != "":
		return notice.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	}
	return notice.OwnMailbox{Senders: func(ctx context.Context, user string) (notice.Sender, error) {
		c, err := ownClient(ctx, user)
		if err != nil {
			return nil, err
		}
		return c, nil
	}}
}

// appOnly returns the app's client-credentials token source in a tenant.
func appOnly(ctx context.Context, ms *msgraph.App, tenant string) oauth2.TokenSource {
	m := *ms
	m.Tenant = tenant
	ts, err := m.AppOnlySource(context.WithoutCancel(ctx))
	if err != nil {
		return failingSource{err}
	}
	return ts
}

// onSignIn finishes a sign-up: the profile with the user's address, the
// org admin role for a bootstrap admin (CRMSYNC_ADMIN_EMAILS), and a sync
// schedule on the default plan that stays paused until both sides are
// connected. The plan is set through accounts.SetPlan, the one writer of a
// user's plan, so settings and schedule name the same one.
func (a *app) onSignIn(ctx context.Context, p access.Principal, id identity.Identity, created bool) error {
	if err := a.accounts.Register(ctx, p, id.Email); err != nil {
		return err
	}
	if granted, err := a.bootstrap.Apply(ctx, p, id.Email); err != nil {
		return err
	} else if granted {
		a.log.InfoContext(ctx, "bootstrap admin granted", "user", p.User, "org", p.Org)
	}
	if _, err := a.sched.Get(ctx, p.User); errors.Is(err, tablestore.ErrNotFound) {
		if err := a.accounts.SetPlan(ctx, p.User, a.settings.DefaultPlan); err != nil {
			return err
		}
		return a.sched.SetPaused(ctx, p.User, true)
	} else if err != nil {
		return err
	}
	return nil
}

// onConnected resumes a user's sync once both sides are connected, and asks
// for a session at once so the user sees the first sync without waiting.
func (a *app) onConnected(ctx context.Context, user string) error {
	a.matchC4CEmployee(ctx, user)
	cs, err := a.conns.List(ctx, user)
	if err != nil {
		return err
	}
	ready := map[connection.Provider]bool{}
	for _, c := range cs {
		ready[c.Provider] = c.SyncAllowed()
	}
	if !ready[connection.Provider(a.crmConnector.Provider)] || !ready[connection.Provider(a.mailboxConnector.Provider)] {
		return nil
	}
	if err := a.noteOwner(ctx, user, true); err != nil {
		// The session's afterSession records it instead.
		a.log.WarnContext(ctx, "change detector directory not updated", "user", user, "err", err)
	}
	if _, err := a.sched.Get(ctx, user); errors.Is(err, tablestore.ErrNotFound) {
		if err := a.accounts.SetPlan(ctx, user, a.settings.DefaultPlan); err != nil {
			return err
		}
	}
	if err := a.sched.SetPaused(ctx, user, false); err != nil {
		return err
	}
	if err := a.sched.RequestNow(ctx, user, schedule.Manual, a.now()); err != nil && !errors.Is(err, schedule.ErrDebounced) {
		return err
	}
	return nil
}

// buildDashboard wires sign-in, the connect flows and the dashboard, behind
// security headers, body limits and rate limits on the identity endpoints.
func (a *app) buildDashboard(ctx context.Context, secret []byte, sf *salesforce.App, ms *msgraph.App) (http.Handler, error) {
	cfg := a.settings
	var providers []identity.Provider
	var buttons []dashboard.Provider
	authBase := cfg.PublicURL + dashboard.Prefix + "/auth/"
	if ms != nil {
		providers = append(providers, identity.Provider{Name: "microsoft", Kind: identity.Entra, Authority: cfg.EntraAuthority,
			ClientID: cfg.EntraClientID, ClientSecret: cfg.EntraClientSecret, RedirectURL: authBase + "microsoft/callback",
			AllowedTenants: cfg.EntraAllowedTenants, AnyTenant: anyOf(cfg.EntraAllowedTenants)})
		buttons = append(buttons, dashboard.Provider{Name: "microsoft", Label: "Sign in with Microsoft"})
	}
	if sf != nil {
		providers = append(providers, identity.Provider{Name: "salesforce", Kind: identity.Salesforce, Authority: cfg.Salesforce.LoginURL,
			ClientID: cfg.Salesforce.ClientID, ClientSecret: cfg.Salesforce.ClientSecret, RedirectURL: authBase + "salesforce/callback",
			AllowedTenants: cfg.Salesforce.AllowedOrgs, AnyTenant: anyOf(cfg.Salesforce.AllowedOrgs)})
		buttons = append(buttons, dashboard.Provider{Name: "salesforce", Label: "Sign in with Salesforce"})
	}
	if a.google != nil {
		// A Google Workspace team signs in with Google, first on the page.
		gp, gb := googleSignIn(cfg, authBase)
		providers, buttons = append([]identity.Provider{gp}, providers...), append([]dashboard.Provider{gb}, buttons...)
	}
	var signIn dashboard.SignInHandlers
	if len(providers) > 0 {
		si, err := identity.NewSignIn(a.sessions, a.users, a.store, providers, identity.SignInOptions{Now: a.now, Log: a.log, OnSignIn: a.onSignIn,
			Home: dashboard.Prefix + "/overview", SignedOut: dashboard.Prefix + "/?msg=signedout", Refuse: dashboard.Refuse})
		if err != nil {
			return nil, err
		}
		signIn = dashboard.SignInHandlers{Login: si.Login(), Callback: si.Callback(), Logout: si.Logout()}
	}
	csrf := dashboard.IdentityCSRF{Sessions: a.sessions}
	var connectH http.Handler
	var passwords []connect.Password
	if cfg.CRM == settings.CRMC4C {
		passwords = append(passwords, connect.Password{Provider: c4c.Provider, Name: c4c.Connector.Name, HostHint: "https://my000000.crm.ondemand.com",
			Check: func(ctx context.Context, host, user, password string) (string, error) {
				return c4c.Check(ctx, c4c.Options{Host: host, User: user, Password: password, Logger: a.log})
			}})
	}
	connectMS, vendors := ms, []connect.Provider(nil)
	var adminPages []dashboard.AdminPage
	if cfg.CRM == settings.CRMC4C {
		// Org admins set C4C's SAML bearer assertion up and connect users.
		sa := c4cSAMLAdmin(a.conns, csrf.Token)
		vendors, adminPages = append(vendors, sa), c4cAdminPages(sa)
	}
	if a.google != nil {
		// The mailbox users connect is Google; Microsoft stays a sign-in.
		gc := a.googleConnect(csrf.Token)
		connectMS, vendors = nil, append(vendors, gc)
		adminPages = append(adminPages, googleAdminPages(gc)...)
	}
	if sf != nil || connectMS != nil || len(passwords) > 0 || len(vendors) > 0 {
		h, err := connect.New(connect.Options{
			Providers: append([]connect.Provider{sf, connectMS}, vendors...), Passwords: passwords, CSRFToken: csrf.Token,
			Connections: a.conns, Tables: a.store, StateKey: subKey(secret, "connect-state"),
			CurrentUser: func(r *http.Request) (string, string, bool) {
				s, ok := identity.From(r.Context())
				return s.User, s.Org, ok
			},
			CSRF:        connect.CSRFFunc(csrf.Verify),
			OnConnected: a.onConnected,
			ResolveUser: a.accounts.ClaimInvite,
			Now:         a.now, Logger: a.log,
			Integrations: integrationRegistrar{a},
		})
		if err != nil {
			return nil, err
		}
		connectH = h
	}
	d, err := dashboard.New(dashboard.Deps{
		Accounts: a.accounts, Scheduler: a.sched, Connections: a.conns, Tables: a.store,
		Checker: a.checker, Directory: a.accounts, Grants: access.NewAdmin(a.grants, a.checker, a.accounts, a.log),
		CSRF: csrf, Authenticate: a.sessions.Middleware, EndSession: a.sessions.End,
		SignIn: signIn, Connect: connectH, Providers: buttons, Scopes: sides.ContactScopes{Opener: a.opener}, Calendars: sides.MailboxCalendars{Opener: a.opener},
		CRM: a.crmConnector, Mailbox: a.mailboxConnector, AdminRights: sides.AdminRights{Opener: a.opener},
		Insight: a.insight, Notices: a.notifier, Names: salesforce.RecordNames{Client: a.salesforceClient},
		Tracking: a.tracker, Subjects: msgraph.SentSubjects{Client: a.graphClient, Hash: a.tracker.MessageHash}, Welcome: a.insight, Log: a.log, Now: a.now,
		Integrations: a.integrationPage(), AdminPages: adminPages,
	})
	if err != nil {
		return nil, err
	}
	limiter, err := webguard.NewLimiter(cfg.SignInRate, max(cfg.SignInRate/2, 1), a.now)
	if err != nil {
		return nil, err
	}
	limited := limiter.Middleware(webguard.ClientIP(cfg.TrustedProxies), d)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if signInAttempt(r.URL.Path) {
			limited.ServeHTTP(w, r)
			return
		}
		d.ServeHTTP(w, r)
	})
	h = webguard.LimitBody(cfg.MaxBodyBytes, h)
	return webguard.Headers{AddinOrigins: cfg.AddinOrigins, HSTS: strings.HasPrefix(cfg.PublicURL, "https://")}.Page(h), nil
}

// signInAttempt tells the dashboard requests that try a credential or a
// code — sign-in starts and callbacks, connect starts and callbacks,
// password posts — which spend the per-address sign-in allowance, from the
// signed-in organisation admin pages under /connect/admin/ (Google
// delegation, C4C SAML set-up) and signing out, which guess nothing: an
// admin reloading a page must not be turned away with 429.
func signInAttempt(path string) bool {
	switch {
	case strings.HasPrefix(path, dashboard.Prefix+"/auth/"):
		return path != dashboard.Prefix+"/auth/logout"
	case strings.HasPrefix(path, dashboard.Prefix+"/connect/admin/"):
		return false
	}
	return strings.HasPrefix(path, dashboard.Prefix+"/connect/")
}

// operator lets the operator's status page through for a signed-in
// organisation admin (of any organisation: the page shows the service, not
// an organisation's data) or a caller presenting CRMSYNC_FUNCTION_KEY or
// CRMSYNC_ADMIN_KEY in the x-functions-key header or the code query, as the
// Functions host accepts keys; everyone else gets the refusal page.
func (a *app) operator(next http.Handler) http.Handler {
	return a.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("x-functions-key")
		if key == "" {
			key = r.URL.Query().Get("code")
		}
		for _, want := range []string{a.settings.FunctionKey, a.settings.AdminKey} {
			if key != "" && want != "" && subtle.ConstantTimeCompare([]byte(key), []byte(want)) == 1 {
				next.ServeHTTP(w, r)
				return
			}
		}
		if p := access.PrincipalFrom(r.Context()); !p.Anonymous() && a.checker.Check(r.Context(), p, access.GrantsWrite, access.Org(p.Org)) == nil {
			next.ServeHTTP(w, r)
			return
		}
		fdashboard.Refuse(w, r)
	}))
}

func anyOf(list []string) bool {
	for _, v := range list {
		if v == "*" {
			return true
		}
	}
	return false
}

// ensureSubscriptions runs after a session: the user's mailbox push
// subscriptions exist from their first successful session on.
func (a *app) ensureSubscriptions(ctx context.Context, user string) error {
	if a.google != nil {
		// Graph subscriptions are Microsoft's; a Google mailbox's sessions
		// keep their own watch channels (google.WatchOptions).
		return nil
	}
	return msgraph.EnsureSubscriptions(ctx, a.subs, a.graphClient, user, a.now())
}

// graphClient is a Graph client for the user's mailbox, from their usable
// connection (subscriptions are Graph's own).
func (a *app) graphClient(ctx context.Context, user string) (*msgraph.Client, error) {
	c, err := a.opener.Usable(ctx, user, a.mbx.Connector().Provider)
	if err != nil {
		return nil, err
	}
	return a.mbx.Client(ctx, a.conns, c)
}

// mailboxUnhook stops a deleted user's push at the mailbox's provider
// before deletion revokes the token (account.Deps.Unhook): Google's watch
// channels, or Graph's subscriptions (deleted at Graph, not only forgotten
// here, so Graph stops calling until they would have expired).
func (a *app) mailboxUnhook(ctx context.Context, user string) error {
	if a.google != nil {
		return a.googleUnhook(ctx, user)
	}
	if _, err := a.conns.Get(ctx, user, connection.Provider(a.mbx.Connector().Provider)); errors.Is(err, connection.ErrNotFound) {
		return nil
	}
	c, err := a.graphClient(ctx, user)
	if err != nil {
		return err
	}
	return a.subs.Delete(ctx, c, user)
}

// salesforceSide opens the user's Salesforce side for the add-in.
func (a *app) salesforceSide(ctx context.Context, user string) (*salesforce.Side, error) {
	c, err := a.opener.Usable(ctx, user, a.crm.Connector().Provider)
	if err != nil {
		return nil, err
	}
	return a.crm.OpenSide(ctx, a.conns, c)
}

// addinCRM opens the user's CRM side for the add-in: the deployment's CRM
// (a C4C deployment's pane reads C4C, not Salesforce).
func (a *app) addinCRM(ctx context.Context, user string) (side.CRM, error) {
	if a.crmConnector.Provider != salesforce.Connector.Provider {
		return a.opener.OpenCRM(ctx, user, nil)
	}
	s, err := a.salesforceSide(ctx, user)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// unavailable answers every request with 503 and a reason: a part of the
// service whose settings are missing says so instead of failing obscurely.
func unavailable(reason string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "{\"error\":\"not_configured\",\"message\":%q}\n", reason)
	})
}

// buildTracker wires open tracking: off for each user until they turn it on
// (the dashboard's Tracked e-mails page), opens placed with the GeoIP file
// when one is configured.
func (a *app) buildTracker(secret []byte) (*tracking.Tracker, error) {
	cfg := a.settings
	var geo tracking.Geo
	if cfg.GeoIPFile != "" {
		g, err := tracking.OpenGeoIP(cfg.GeoIPFile)
		if err != nil {
			return nil, err
		}
		geo = g
	}
	return tracking.New(tracking.Config{Store: a.store, Auth: tracking.FromPrincipal, Key: subKey(secret, "tracking"),
		BaseURL: cfg.PublicURL, Geo: geo, OptIn: true, Now: a.now, Log: a.log})
}

// buildAddin wires the add-in API and open tracking: Entra ID bearer tokens
// (nested app authentication), one authorization check per route, CORS and
// framing only for the add-in's origins, body limits.
func (a *app) buildAddin(secret []byte) (http.Handler, http.Handler, error) {
	cfg := a.settings
	tracker := a.tracker
	api, err := addin.New(addin.Config{Auth: addin.FromPrincipal, CRM: addin.SideOpener(a.addinCRM), CRMName: a.crmConnector.Name, ShareCategory: a.crmConnector.DefaultShareCategory(),
		Store: a.store, ShareKey: subKey(secret, "addin-share"), Now: a.now, Log: a.log})
	if err != nil {
		return nil, nil, err
	}
	var routes []access.Route
	var pixelRoutes []access.Route
	for _, rt := range addin.Routes() {
		r := access.Route{Method: rt.Method, Path: rt.Path, Permission: access.Permission(rt.Permission),
			Resource: access.OwnUser, Handler: api}
		if rt.OrgSetting() {
			r.Permission, r.Resource = access.SettingsWrite, access.OwnOrg
		}
		routes = append(routes, r)
	}
	for _, rt := range tracking.Routes() {
		r := access.Route{Method: rt.Method, Path: rt.Path, Permission: access.Permission(rt.Permission), Resource: access.OwnUser, Handler: tracker}
		if rt.Permission == "" {
			r.Resource = access.Public
		}
		pixelRoutes = append(pixelRoutes, r)
	}
	guard := webguard.Headers{AddinOrigins: cfg.AddinOrigins, HSTS: strings.HasPrefix(cfg.PublicURL, "https://")}
	cors := webguard.CORS{Origins: cfg.AddinOrigins}
	if len(cfg.AddinAudiences) == 0 {
		why := "the add-in API needs an Entra app registration: set " + settings.NameEntraClientID + " or " + settings.NameAddinAudiences
		return guard.Addin(cors.Middleware(unavailable(why))), tracker, nil
	}
	bearer, err := identity.NewBearer(identity.BearerConfig{Authority: cfg.EntraAuthority, Audiences: cfg.AddinAudiences,
		AllowedTenants: cfg.EntraAllowedTenants, AnyTenant: anyOf(cfg.EntraAllowedTenants), Scope: cfg.AddinScope, Now: a.now, Log: a.log}, a.users)
	if err != nil {
		return nil, nil, err
	}
	mux, err := access.Mux(a.checker, a.users, a.log, routes)
	if err != nil {
		return nil, nil, err
	}
	pixelMux, err := access.Mux(a.checker, a.users, a.log, pixelRoutes)
	if err != nil {
		return nil, nil, err
	}
	// The pixel itself is public; minting and statistics need the bearer.
	pixel := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			bearer.Middleware(pixelMux).ServeHTTP(w, r)
			return
		}
		pixelMux.ServeHTTP(w, r)
	})
	addinH := guard.Addin(cors.Middleware(webguard.LimitBody(cfg.MaxBodyBytes+addin.DefaultMaxUpload, bearer.Middleware(mux))))
	return addinH, guard.Addin(cors.Middleware(pixel)), nil
}

// mailboxTenant is the Entra tenant of a user's Microsoft connection ("" =
// none), which a genuine change notification for the user's mailbox names.
func (a *app) mailboxTenant(ctx context.Context, user string) (string, error) {
	c, err := a.conns.Get(ctx, user, connection.Microsoft)
	if errors.Is(err, connection.ErrNotFound) {
		return "", nil
	}
	return c.Tenant, err
}
