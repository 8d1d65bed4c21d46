package dashboard

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmsync/crmsync/shared/identity"
)

// ErrCSRF reports a state-changing request without the session's token.
var ErrCSRF = errors.New("dashboard: missing or wrong CSRF token")

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

// VerifyToken checks that r carries want in the X-CSRF-Token header or the
// csrf_token form field. An empty want (no session) never matches.
func VerifyToken(r *http.Request, want string) error {
	got := r.Header.Get(identity.CSRFHeader)
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		got = r.PostFormValue(identity.CSRFField)
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrCSRF
	}
	return nil
}
