// Package demo runs crmsync's demo world for `make run`: a local Salesforce
// org, a local Microsoft 365 mailbox and a local identity provider, all
// seeded, plus a demo user who is signed up, connected to both and scheduled,
// so the first sync runs as soon as the function app is up, and a demo
// organisation admin. It writes the
// demo user through the same stores the function app reads, and returns the
// settings that point the app at the local servers.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/idp"
	"github.com/crmsync/crmsync/shared/access"
	"github.com/crmsync/crmsync/shared/account"
	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/google"
	"github.com/crmsync/crmsync/shared/identity"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/msgraph"
	"github.com/crmsync/crmsync/shared/orgwatch"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/schedule"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// UserOID is the demo user's object id at the local identity provider.
const UserOID = "d0000000-0000-4000-8000-00000000d3e0"

// The demo's organisation admin: a second person of the demo tenant, named
// in CRMSYNC_ADMIN_EMAILS, signed up and made admin before anyone signs in.
const (
	AdminOID   = "d0000000-0000-4000-8000-00000000ad31"
	AdminEmail = "admin@crmsync.local"
)

// Plan is the demo users' plan: the default plan of the demo app, and the
// one the demo user is put on (one value, so settings and schedule agree).
const Plan = "paid"

// SalesforceClient is the local Salesforce's built-in public OAuth client.
const SalesforceClient = "crmsync-local"

// Options configure Start.
type Options struct {
	Store tablestore.Store
	Queue queue.Queue
	// KeyRing is the key ring the function app seals with.
	KeyRing keyring.Ring
	// PublicURL is the function app's base URL (OAuth redirects, webhook).
	PublicURL string
	// Listeners for the local Salesforce, Graph and identity provider; nil
	// listens on 127.0.0.1:8801, :8802 and :8803.
	Salesforce, Graph, IdP net.Listener
	// CRM is the demo's CRM (settings.CRMSalesforce when empty); with
	// settings.CRMC4C the local C4C, seeded, serves on the Salesforce
	// listener in place of the local Salesforce.
	CRM string
	// Mailbox is the demo's mailbox (settings.MailboxMicrosoft when
	// empty); with settings.MailboxGoogle the local Google, seeded, serves
	// on the Graph listener in place of the local Graph, and the demo user
	// is connected to it with their own OAuth tokens.
	Mailbox string
	Now     func() time.Time
	Log     *slog.Logger
}

// World is the running demo.
type World struct {
	// Env are the settings that point the function app at the demo servers.
	Env []string
	// SalesforceURL, GraphURL and IdPURL are the servers' base URLs.
	SalesforceURL, GraphURL, IdPURL string
	Salesforce                      *fakesalesforce.Server
	Graph                           *fakegraph.Server
	// C4C is the local C4C of a C4C demo (then SalesforceURL is its URL
	// and Salesforce is nil).
	C4C *fakec4c.Server
	// Google is the local Google of a Google demo (then GraphURL is its
	// URL and Graph serves nowhere).
	Google *fakegoogle.Server
	// User is the demo user's crmsync id; Admin the demo admin's.
	User, Admin string
	servers     []*http.Server
	sfUser      string
	// googleRefresh is the seeded Google user's refresh token.
	googleRefresh string
}

// GoogleUser is the demo user's Google Workspace address in a Google demo,
// and GoogleClient the OAuth client the demo app uses with the local
// Google (which accepts any client).
const (
	GoogleUser = "dana@crmsync.local"
	// GoogleDomain is the demo's Google Workspace domain (the hd of its
	// users' ID tokens): the organisation of a Google demo.
	GoogleDomain = "crmsync.local"
	GoogleClient = "crmsync-local.apps.googleusercontent.com"
)

// IntegrationUsername is the demo organisation's integration user ("View
// All Data"), whose JWT bearer connection the change detector polls with.
const IntegrationUsername = "integration@crmsync.local"

// Close stops the demo servers.
func (w *World) Close() {
	for _, s := range w.servers {
		s.Close()
	}
}

func listen(l net.Listener, addr string) (net.Listener, error) {
	if l != nil {
		return l, nil
	}
	return net.Listen("tcp", addr)
}

// Start seeds and serves the demo servers and provisions the demo user.
func Start(ctx context.Context, o Options) (*World, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &World{}
	var err error
	lsf, err := listen(o.Salesforce, "127.0.0.1:8801")
	if err != nil {
		return nil, fmt.Errorf("local Salesforce: %w", err)
	}
	lg, err := listen(o.Graph, "127.0.0.1:8802")
	if err != nil {
		lsf.Close()
		return nil, fmt.Errorf("local Graph: %w", err)
	}
	lid, err := listen(o.IdP, "127.0.0.1:8803")
	if err != nil {
		lsf.Close()
		lg.Close()
		return nil, fmt.Errorf("local identity provider: %w", err)
	}
	w.SalesforceURL, w.GraphURL, w.IdPURL = "http://"+lsf.Addr().String(), "http://"+lg.Addr().String(), "http://"+lid.Addr().String()

	// The app's JWT bearer certificate, for the organisation's change
	// detector: a key made for this run, its public half held by the app.
	jwtKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	var crmHandler http.Handler
	if o.CRM == settings.CRMC4C {
		w.C4C = fakec4c.New(fakec4c.Options{Now: o.Now})
		if err := fakec4c.SeedDemo(w.C4C, o.Now()); err != nil {
			return nil, err
		}
		crmHandler = w.C4C
	} else {
		if w.Salesforce, err = fakesalesforce.New(fakesalesforce.Options{Now: o.Now, DailyLimit: 100_000, Logger: o.Log,
			Clients: []fakesalesforce.Client{{ID: SalesforceClient, JWTKey: &jwtKey.PublicKey}}}); err != nil {
			return nil, err
		}
		sfUser, err := fakesalesforce.SeedDemo(w.Salesforce, o.Now())
		if err != nil {
			return nil, err
		}
		w.sfUser = sfUser
		if _, err := w.Salesforce.AddUser(fakesalesforce.User{Username: IntegrationUsername, Email: IntegrationUsername, LastName: "Integration", Admin: true}); err != nil {
			return nil, err
		}
		crmHandler = w.Salesforce
	}
	w.Graph = fakegraph.New(fakegraph.Options{Now: o.Now, BaseURL: w.GraphURL, TenantID: idp.DemoTenant})
	// The mailbox shares by the category the deployment's CRM syncs by.
	share := salesforce.Connector.DefaultShareCategory()
	if w.C4C != nil {
		share = c4c.Connector.DefaultShareCategory()
	}
	mailbox := fakegraph.SeedDemoShared(w.Graph, o.Now(), share)
	_ = mailbox
	var mailboxHandler http.Handler = w.Graph
	if o.Mailbox == settings.MailboxGoogle {
		w.Google = fakegoogle.New(fakegoogle.Options{Now: o.Now})
		if w.googleRefresh, err = fakegoogle.SeedDemo(w.Google, GoogleUser, o.Now()); err != nil {
			return nil, err
		}
		// Sign in with Google and Connect Google on the dashboard consent
		// as Dana; the admin is a Google account of the same domain.
		w.Google.SignIn(GoogleUser)
		w.Google.AddUser(AdminEmail)
		mailboxHandler = w.Google
	}
	provider, err := idp.New(w.IdPURL,
		idp.WithUsers(idp.User{ID: UserOID, Name: "Dana Demo", Tenant: idp.DemoTenant, Email: fakesalesforce.DemoUsername},
			idp.User{ID: AdminOID, Name: "Avery Admin", Tenant: idp.DemoTenant, Email: AdminEmail}),
		idp.WithClients(idp.Client{ID: idp.DemoClientID, RedirectURIs: []string{o.PublicURL + "/api/dashboard/auth/microsoft/callback",
			o.PublicURL + "/api/taskpane/signin/callback"}}))
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		l net.Listener
		h http.Handler
	}{{lsf, crmHandler}, {lg, mailboxHandler}, {lid, provider}} {
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		w.servers = append(w.servers, srv)
		go srv.Serve(s.l)
	}
	if err := w.provision(ctx, o); err != nil {
		w.Close()
		return nil, err
	}
	w.Env = []string{
		settings.NameDemo + "=true",
		settings.NameEntraAuthority + "=" + provider.Authority("organizations"),
		settings.NameEntraClientID + "=" + idp.DemoClientID,
		settings.NameEntraClientSecret + "=demo-app-secret",
		msgraph.NameLoginURL + "=" + w.GraphURL,
		msgraph.NameBaseURL + "=" + w.GraphURL + "/v1.0",
		settings.NameAddinAudiences + "=" + idp.DemoAudience,
		settings.NameDefaultPlan + "=" + Plan,
		settings.NameAdminEmails + "=" + AdminEmail,
		salesforce.NameJWTKey + "=" + string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(jwtKey)})),
	}
	if w.Google != nil {
		w.Env = append(w.Env, settings.NameMailbox+"="+settings.MailboxGoogle, google.NameClientID+"="+GoogleClient,
			google.NameClientSecret+"=demo-google-secret", google.NameBaseURL+"="+w.GraphURL)
	}
	if w.C4C != nil {
		w.Env = append(w.Env, settings.NameCRM+"="+settings.CRMC4C)
	} else {
		w.Env = append(w.Env, salesforce.NameLoginURL+"="+w.SalesforceURL, salesforce.NameClientID+"="+SalesforceClient)
	}
	return w, nil
}

// provision signs the demo user up (as the local identity provider's demo
// user would), connects both sides with the demo credentials and schedules
// the user now. Running it again on the same storage reconnects and keeps
// everything else: a second `make run` continues the first one's sync.
func (w *World) provision(ctx context.Context, o Options) error {
	now := o.Now()
	grants := access.NewStore(o.Store, o.Now)
	users := identity.NewUsers(o.Store, grants, o.Now)
	demoID := identity.Identity{Kind: identity.Entra, Org: idp.DemoTenant, Subject: UserOID}
	adminID := identity.Identity{Kind: identity.Entra, Org: idp.DemoTenant, Subject: AdminOID}
	if w.Google != nil {
		// A Google Workspace team signs in with Google: Dana and the admin
		// are Google accounts of the Workspace domain, their organisation.
		demoID = identity.Identity{Kind: identity.Google, Org: GoogleDomain, Subject: fakegoogle.Subject(GoogleUser)}
		adminID = identity.Identity{Kind: identity.Google, Org: GoogleDomain, Subject: fakegoogle.Subject(AdminEmail)}
	}
	p, _, err := users.SignIn(ctx, demoID)
	if err != nil {
		return fmt.Errorf("signing up the demo user: %w", err)
	}
	w.User = p.User
	sched := schedule.New(o.Store, o.Queue)
	crm := salesforce.Connector
	if w.C4C != nil {
		crm = c4c.Connector
	}
	mbx := msgraph.Connector
	if w.Google != nil {
		mbx = google.Connector
	}
	accounts, err := account.New(account.Deps{Tables: o.Store, Sealer: account.KeysSealer{Keys: o.KeyRing}, Scheduler: sched,
		Grants: grants, CRM: crm, Mailbox: mbx, Now: o.Now, Log: o.Log})
	if err != nil {
		return err
	}
	if err := accounts.Register(ctx, p, fakesalesforce.DemoUsername); err != nil {
		return err
	}
	st, err := accounts.Settings(ctx, p.User)
	if err != nil {
		return err
	}
	st.Email.Enabled, st.Email.CreateLeads = true, true
	if err := accounts.SaveSettings(ctx, p.User, st); err != nil {
		return err
	}
	conns := connection.NewStore(o.Store, o.KeyRing, connection.Options{Now: o.Now, Logger: o.Log,
		Providers: connection.ProvidersOf(crm, mbx)})
	if w.C4C != nil {
		tenant, err := c4c.Check(ctx, c4c.Options{Host: w.SalesforceURL, User: fakec4c.DemoUser, Password: fakec4c.DemoPassword})
		if err != nil {
			return fmt.Errorf("signing in to the demo C4C: %w", err)
		}
		if _, err := conns.Save(ctx, connection.Connection{User: p.User, Provider: c4c.Provider, Tenant: tenant,
			InstanceURL: w.SalesforceURL, Flow: connection.FlowPassword},
			connection.Credentials{Username: fakec4c.DemoUser, Password: fakec4c.DemoPassword}); err != nil {
			return fmt.Errorf("connecting the demo C4C: %w", err)
		}
	} else if _, err := conns.Save(ctx, connection.Connection{User: p.User, Provider: connection.Salesforce, Tenant: w.Salesforce.OrgID(),
		InstanceURL: w.SalesforceURL, Flow: connection.FlowPassword},
		connection.Credentials{Username: fakesalesforce.DemoUsername, Password: fakesalesforce.DemoPassword}); err != nil {
		return fmt.Errorf("connecting the demo Salesforce: %w", err)
	}
	if w.Google != nil {
		// As Connect Google on the dashboard saves it: the tenant is the
		// address's domain, the credential the refresh token.
		if _, err := conns.Save(ctx, connection.Connection{User: p.User, Provider: google.Provider, Tenant: GoogleDomain,
			Flow: connection.FlowAuthCode, Scopes: google.Scopes}, connection.Credentials{RefreshToken: w.googleRefresh}); err != nil {
			return fmt.Errorf("connecting the demo Google mailbox: %w", err)
		}
	} else if _, err := conns.Save(ctx, connection.Connection{User: p.User, Provider: connection.Microsoft, Tenant: idp.DemoTenant,
		Flow: connection.FlowClientCredentials}, connection.Credentials{Username: fakegraph.DemoUser}); err != nil {
		return fmt.Errorf("connecting the demo mailbox: %w", err)
	}
	// The organisation's change detector (Salesforce's alone): its
	// integration connection, as the admin's POST
	// connect/admin/salesforce/integration saves it, and the demo user's
	// Salesforce user id in its directory (a connection made or an
	// integration set up through the dashboard records it the same way).
	if err := w.watchSalesforce(ctx, o, conns, p.Org, p.User); err != nil {
		return err
	}
	if err := accounts.SetPlan(ctx, p.User, Plan); err != nil {
		return err
	}
	if err := sched.SetPaused(ctx, p.User, false); err != nil {
		return err
	}
	if err := sched.RequestNow(ctx, p.User, schedule.Manual, now); err != nil && !errors.Is(err, schedule.ErrDebounced) {
		return err
	}
	// The admin: signed up as the identity provider's Avery Admin would be,
	// and made organisation admin the way every sign-in with an address
	// named in CRMSYNC_ADMIN_EMAILS is.
	admin, _, err := users.SignIn(ctx, adminID)
	if err != nil {
		return fmt.Errorf("signing up the demo admin: %w", err)
	}
	if err := accounts.Register(ctx, admin, AdminEmail); err != nil {
		return err
	}
	if _, err := access.NewBootstrap(grants, []string{AdminEmail}).Apply(ctx, admin, AdminEmail); err != nil {
		return err
	}
	w.Admin = admin.User
	return nil
}

// watchSalesforce gives the demo organisation its change detector: the
// integration connection and the demo user's directory entry. A C4C world
// has none (C4C reports no changes that way).
func (w *World) watchSalesforce(ctx context.Context, o Options, conns *connection.Store, org, user string) error {
	if w.Salesforce == nil {
		return nil
	}
	if _, err := (orgwatch.Integrations{Index: orgwatch.Index{Store: o.Store}, Connections: conns}).Register(ctx, org,
		connection.Connection{Provider: connection.Salesforce, Tenant: w.Salesforce.OrgID(), InstanceURL: w.SalesforceURL, Flow: connection.FlowJWTBearer},
		connection.Credentials{Username: IntegrationUsername}); err != nil {
		return fmt.Errorf("the demo organisation's integration connection: %w", err)
	}
	if err := (orgwatch.Index{Store: o.Store}).Note(ctx, w.Salesforce.OrgID(), user, w.sfUser, false); err != nil {
		return err
	}
	return nil
}
