package google

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
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
	client, endpoint := r.HTTPClient, r.URL
	if client == nil {
		client = http.DefaultClient
	}
	if endpoint == "" {
		endpoint = RevokeURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(url.Values{"token": {refreshToken}}.Encode()))
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return fault.Wrap(fault.Temporary, fmt.Errorf("google: revoking a token: %w", err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	switch {
	case resp.StatusCode == http.StatusBadRequest && e.Error == "invalid_token":
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fault.New(fault.Temporary, "revoke_unavailable", "Google answered "+resp.Status+" to a revocation")
	}
	return fault.New(fault.Permanent, "revoke_refused", "Google refused the revocation ("+resp.Status+")")
}
