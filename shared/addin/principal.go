package addin

import (
	"errors"
	"net/http"

	"github.com/crmsync/crmsync/shared/access"
)

// errAnonymous is FromPrincipal's answer for a request nobody signed.
var errAnonymous = errors.New("addin: no authenticated principal")

// FromPrincipal is the Authenticator for an API mounted behind
// identity.Bearer.Middleware: it takes the user and org that the middleware
// verified and put in the request's context.
var FromPrincipal = AuthenticatorFunc(func(r *http.Request) (string, string, error) {
	p := access.PrincipalFrom(r.Context())
	if p.Anonymous() {
		return "", "", errAnonymous
	}
	return p.User, p.Org, nil
})
