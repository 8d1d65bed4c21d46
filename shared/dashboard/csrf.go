package dashboard

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/crmsync/crmsync/shared/identity"
)

// ErrCSRF reports a state-changing request without the session's token, or
// sent from another site.
var ErrCSRF = errors.New("dashboard: the request failed the CSRF check")

// IdentityCSRF backs CSRF with shared/identity's session cookie: the token
// is Sessions.CSRFToken of the request's session. identity's middleware
// checks it as well; checking here too keeps the dashboard safe when it is
// mounted behind another authenticator.
type IdentityCSRF struct {
	Sessions *identity.Sessions
}

// Token returns the token of the request's session ("" without one).
func (c IdentityCSRF) Token(r *http.Request) string {
	sess, ok := identity.From(r.Context())
	if !ok {
		return ""
	}
	return c.Sessions.CSRFToken(sess)
}

// Verify applies identity's whole check: Sec-Fetch-Site and Origin name
// this site (an "Origin: null" alone is neither), and the header or form
// token matches the session's, in constant time.
func (c IdentityCSRF) Verify(r *http.Request) error {
	if err := c.Sessions.VerifyRequest(r); err != nil {
		return fmt.Errorf("%w: %v", ErrCSRF, err)
	}
	return nil
}
