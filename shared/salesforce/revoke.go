package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
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
	client := s.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"token": {refreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.LoginURL, "/")+"/services/oauth2/revoke",
		strings.NewReader(form.Encode()))
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return fault.Wrap(fault.Temporary, fmt.Errorf("connect: revoking a Salesforce token: %w", err))
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
	case resp.StatusCode == http.StatusBadRequest && (e.Error == "invalid_token" || e.Error == "unsupported_token_type"):
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fault.New(fault.Temporary, connect.SafeCode(e.Error), "Salesforce answered "+resp.Status+" to a revocation")
	}
	return fault.New(fault.Permanent, connect.SafeCode(e.Error), "Salesforce refused the revocation ("+resp.Status+")")
}
