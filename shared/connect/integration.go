package connect

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
)

// IntegrationRegistrar keeps an organisation's integration connection — the
// one the organisation-level change detector queries through
// (orgwatch.Integrations). tenant is the crmsync organisation of the admin
// who set it up; c.Tenant is the Salesforce organisation.
type IntegrationRegistrar interface {
	Register(ctx context.Context, tenant string, c connection.Connection, cred connection.Credentials) (connection.Connection, error)
}

type integrationRequest struct {
	Username string `json:"username"`
}

// adminIntegration answers POST {prefix}/admin/salesforce/integration with
// {"username": integration user's Salesforce username}: it obtains a token
// for that user with the app's JWT bearer certificate — which proves the
// user is pre-authorized for the app — and saves the organisation's
// integration connection (sealed, like every connection), which the change
// detector polls once a minute. The integration user needs "View All Data"
// and "API Enabled" (README).
func (h *Handler) adminIntegration(w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Salesforce
	sf := h.opts.Salesforce
	if sf == nil || sf.JWTKey == nil || h.opts.Integrations == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_configured", Message: "the change detector's integration connection needs the Salesforce app certificate key (CRMSYNC_SALESFORCE_JWT_KEY)"})
		return
	}
	var req integrationRequest
	if err := decode(r, &req, func(f url.Values) { req.Username = f.Get("username") }); err != nil {
		h.fail(w, r, admin, p, err)
		return
	}
	req.Username = strings.TrimSpace(req.Username)
	if !validAddress(req.Username) {
		h.fail(w, r, admin, p, &refusal{code: "bad_request", msg: "username: not a Salesforce username (e-mail shaped)", reason: "bad integration username"})
		return
	}
	ctx := r.Context()
	src := JWTBearerSource(h.oauthCtx(ctx), sf, req.Username, sf.JWTKey)
	src.now = h.opts.Now
	tok, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		msg := "Salesforce refused the JWT bearer token (" + errorCode(err) + ")"
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			msg = "Salesforce refused the JWT bearer token (invalid_grant): check that the integration user exists, is active and is pre-authorized for crmsync's app, and that the app holds the certificate"
		}
		h.fail(w, r, admin, p, &refusal{status: http.StatusBadGateway, code: "refused", msg: msg, reason: "integration jwt bearer: " + errorCode(err)})
		return
	}
	conn, err := h.salesforceConnection("", tok, connection.FlowJWTBearer)
	if err != nil {
		h.fail(w, r, admin, p, err)
		return
	}
	saved, err := h.opts.Integrations.Register(ctx, org, conn, connection.Credentials{Username: req.Username})
	if err != nil {
		h.fail(w, r, admin, p, err)
		return
	}
	h.log.InfoContext(ctx, "connect: integration connection saved", "admin", admin, "org", org, "salesforceOrg", saved.Tenant)
	writeJSON(w, http.StatusOK, map[string]any{"salesforceOrg": saved.Tenant, "status": string(saved.Status)})
}
