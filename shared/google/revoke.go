package google

import (
	"cmp"
	"context"
	"net/http"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

// RevokeURL is Google's token revocation endpoint.
const RevokeURL = "https://oauth2.googleapis.com/revoke"

// Revoker revokes a user's refresh token at Google when their account is
// deleted: revoking it also ends the access tokens issued from it and
// removes crmsync from the user's third-party access.
type Revoker struct {
	// URL is the revocation endpoint (RevokeURL when empty; the local
	// Google's /revoke in tests and the demo).
	URL        string
	HTTPClient *http.Client
}

var _ connection.Revoker = (*Revoker)(nil)

// Revoke posts token=refreshToken. A token Google no longer knows
// (invalid_token: expired or already revoked) counts as revoked.
func (r *Revoker) Revoke(ctx context.Context, refreshToken string) error {
	return connect.RevokeToken(ctx, r.HTTPClient, cmp.Or(r.URL, RevokeURL), refreshToken, "Google", "invalid_token")
}
