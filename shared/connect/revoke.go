package connect

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// RevokeToken posts token to an OAuth 2.0 revocation endpoint (RFC 7009:
// form token=…, 200 when revoked). An answer of 400 with one of the codes in
// dead (the provider no longer knows the token: expired, already revoked)
// counts as revoked, since the token is dead either way; 5xx and 429 are
// Temporary, anything else Permanent. vendor names the provider in errors.
func RevokeToken(ctx context.Context, client *http.Client, endpoint, token, vendor string, dead ...string) error {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return fault.Wrap(fault.Temporary, fmt.Errorf("revoking a %s token: %w", vendor, err))
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
	code := SafeCode(e.Error)
	switch {
	case resp.StatusCode == http.StatusBadRequest && e.Error != "" && slices.Contains(dead, e.Error):
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fault.New(fault.Temporary, cmp.Or(code, "revoke_unavailable"), vendor+" answered "+resp.Status+" to a revocation")
	}
	return fault.New(fault.Permanent, cmp.Or(code, "revoke_refused"), vendor+" refused the revocation ("+resp.Status+")")
}
