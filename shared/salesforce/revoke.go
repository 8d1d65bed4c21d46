package salesforce

import (
	"context"
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

// Revoker revokes refresh tokens at Salesforce's
// /services/oauth2/revoke when an account is deleted. Revoking a refresh
// token also ends the access tokens issued from it.
type Revoker struct {
	// LoginURL is the same login URL the tokens came from.
	LoginURL   string
	HTTPClient *http.Client
}

var _ connection.Revoker = (*Revoker)(nil)

// Revoke posts token=refreshToken. A token Salesforce no longer knows
// (invalid_token, unsupported_token_type) counts as revoked: it is dead
// either way.
func (s *Revoker) Revoke(ctx context.Context, refreshToken string) error {
	return connect.RevokeToken(ctx, s.HTTPClient, strings.TrimRight(s.LoginURL, "/")+"/services/oauth2/revoke", refreshToken,
		"Salesforce", "invalid_token", "unsupported_token_type")
}
