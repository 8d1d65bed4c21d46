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
	// Name is the vendor's display name in messages ("Acme CRM").
	Name() string
	// TenantName names what a connection's Tenant is, in messages
	// ("Acme tenant").
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
