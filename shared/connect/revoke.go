package connect

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

// SalesforceRevoker revokes refresh tokens at Salesforce's
// /services/oauth2/revoke when an account is deleted. Revoking a refresh
// token also ends the access tokens issued from it.
type SalesforceRevoker struct {
	// LoginURL is the same login URL the tokens came from.
	LoginURL   string
	HTTPClient *http.Client
}

var _ connection.Revoker = (*SalesforceRevoker)(nil)

// Revoke posts token=refreshToken. A token Salesforce no longer knows
// (invalid_token, unsupported_token_type) counts as revoked: it is dead
// either way.
func (s *SalesforceRevoker) Revoke(ctx context.Context, refreshToken string) error {
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
		return fault.New(fault.Temporary, safeCode(e.Error), "Salesforce answered "+resp.Status+" to a revocation")
	}
	return fault.New(fault.Permanent, safeCode(e.Error), "Salesforce refused the revocation ("+resp.Status+")")
}

// MicrosoftRevoker is the Microsoft half of account deletion, and it
// deliberately calls nothing.
//
// The Microsoft identity platform (v2.0) has no endpoint that revokes one
// refresh token. The only remote lever, Graph's revokeSignInSessions,
// invalidates every refresh token and browser session the user has with
// every application — Outlook, Teams, everything — and needs a
// User.RevokeSessions.All permission crmsync does not ask for. Doing that as a
// side effect of leaving crmsync would sign the person out of their whole
// work life, so crmsync never does it.
//
// What revokes crmsync's access instead: the account deletion removes the
// only copy of the sealed refresh token, so nobody can use it, and it expires
// unused after its inactivity lifetime (90 days). The user can remove
// crmsync's consent at https://myapps.microsoft.com (or an admin under
// Enterprise applications), which invalidates the grant at once. For
// app-only (client-credentials) mailboxes there is no per-user token at all:
// the admin removes the mailbox from the application access policy or RBAC
// scope.
type MicrosoftRevoker struct{}

var _ connection.Revoker = MicrosoftRevoker{}

// Revoke does nothing and succeeds; see the type's documentation for why
// deleting the sealed token is the revocation.
func (MicrosoftRevoker) Revoke(context.Context, string) error { return nil }
