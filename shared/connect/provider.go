package connect

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
)

// Provider is one vendor's way of connecting, which the handler routes over
// without naming the vendor: the user's authorization-code flow (start and
// callback at {prefix}/{provider}), reading who connected from the token
// response, and any routes of its own (other flows, admin provisioning). A
// new connector implements it in its own package and the wiring passes it
// in Options.Providers; connect's code does not change.
type Provider interface {
	// ID is the provider of the connections it saves; it is also the
	// {provider} path segment.
	ID() connection.Provider
	// Name is the vendor's display name in messages ("Salesforce").
	Name() string
	// TenantName names what a connection's Tenant is, in messages
	// ("Salesforce org").
	TenantName() string
	// Check lists the provider's missing or bad settings (nil: usable).
	Check() []string
	// UserFlow is the OAuth client of the user's authorization-code flow
	// (PKCE is added by the handler) and the extra parameters of its
	// authorization request; a nil config means users cannot connect
	// themselves (or the provider is not configured).
	UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption)
	// Connection reads who connected from the user flow's token response;
	// an error's text is shown to the user only when made by Refuse.
	Connection(ctx context.Context, h *Handler, user string, tok *oauth2.Token) (connection.Connection, error)
	// Routes are the provider's own routes, relative to the prefix.
	Routes(h *Handler) []Route
}

// A nil *Salesforce or *Microsoft is a provider that is not configured: it
// offers no user flow and its own routes answer that they are not
// configured, so the route table is the same whatever is configured.
var (
	_ Provider = (*Salesforce)(nil)
	_ Provider = (*Microsoft)(nil)
)

// ID implements Provider.
func (s *Salesforce) ID() connection.Provider { return connection.Salesforce }

// Name implements Provider.
func (s *Salesforce) Name() string { return "Salesforce" }

// TenantName implements Provider.
func (s *Salesforce) TenantName() string { return "Salesforce org" }

// Check implements Provider.
func (s *Salesforce) Check() []string {
	if s == nil {
		return nil
	}
	return missing("Salesforce", map[string]string{"ClientID": s.ClientID, "LoginURL": s.LoginURL, "RedirectURL": s.RedirectURL})
}

// UserFlow implements Provider.
func (s *Salesforce) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	if s == nil {
		return nil, nil
	}
	return s.OAuth2(), nil
}

// Connection implements Provider.
func (s *Salesforce) Connection(_ context.Context, h *Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	return h.salesforceConnection(user, tok, connection.FlowAuthCode)
}

// Routes implements Provider: the legacy username-password flow, the
// admin's JWT bearer provisioning and the organisation's integration
// connection for the change detector.
func (s *Salesforce) Routes(h *Handler) []Route {
	return []Route{
		{Method: "POST", Path: "/salesforce/password", Handler: h.post(h.salesforcePassword)},
		{Method: "POST", Path: "/admin/salesforce/jwt", Admin: true, Handler: h.post(h.adminJWT)},
		{Method: "POST", Path: "/admin/salesforce/integration", Admin: true, Handler: h.post(h.adminIntegration)},
	}
}

// ID implements Provider.
func (m *Microsoft) ID() connection.Provider { return connection.Microsoft }

// Name implements Provider.
func (m *Microsoft) Name() string { return "Microsoft 365" }

// TenantName implements Provider.
func (m *Microsoft) TenantName() string { return "Microsoft 365 organisation" }

// Check implements Provider.
func (m *Microsoft) Check() []string {
	if m == nil {
		return nil
	}
	return missing("Microsoft", map[string]string{"ClientID": m.ClientID, "Authority": m.Authority,
		"Tenant": m.Tenant, "RedirectURL": m.RedirectURL})
}

// UserFlow implements Provider. The user picks the mailbox rather than
// silently reusing whichever account the browser is signed in with.
func (m *Microsoft) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	if m == nil {
		return nil, nil
	}
	return m.OAuth2(), []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "select_account")}
}

// Connection implements Provider.
func (m *Microsoft) Connection(ctx context.Context, h *Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	return h.microsoftConnection(ctx, user, tok)
}

// Routes implements Provider: the admin's app-only mailbox onboarding.
func (m *Microsoft) Routes(h *Handler) []Route {
	return []Route{{Method: "POST", Path: "/admin/microsoft/app-only", Admin: true, Handler: h.post(h.adminAppOnly)}}
}

// provider returns the provider with the given id, or nil.
func (h *Handler) provider(id connection.Provider) Provider {
	for _, p := range h.providers {
		if p.ID() == id {
			return p
		}
	}
	return nil
}

// title is a provider's display name in messages.
func (h *Handler) title(id connection.Provider) string {
	if p := h.provider(id); p != nil {
		return p.Name()
	}
	return string(id)
}
