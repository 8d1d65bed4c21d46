package salesforce

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
)

// App is crmsync's External Client App in Salesforce, and Salesforce's way
// of connecting (connect.Provider): the user's web-server flow with PKCE,
// the legacy username-password flow, the admin's JWT bearer provisioning
// and the organisation's integration connection for the change detector.
//
// A nil *App is a provider that is not configured: it offers no user flow
// and its own routes answer that they are not configured, so the route
// table is the same whatever is configured.
type App struct {
	ClientID string
	// ClientSecret is "" for a public client (PKCE only). When set, token
	// responses' signatures are checked with it.
	ClientSecret string
	// LoginURL is https://login.salesforce.com, https://test.salesforce.com,
	// a My Domain URL, or the local Salesforce's base URL. It is also the JWT
	// bearer audience.
	LoginURL string
	// RedirectURL is the absolute URL of {prefix}/salesforce/callback.
	RedirectURL string
	// Scopes default to "api refresh_token offline_access".
	Scopes []string
	// JWTKey signs JWT bearer assertions for admin-provisioned users; the app
	// holds its certificate. nil turns the JWT bearer route off.
	JWTKey *rsa.PrivateKey
}

var _ connect.Provider = (*App)(nil)

// DefaultScopes are what a user's Salesforce connection asks for: API
// access and a refresh token.
var DefaultScopes = []string{"api", "refresh_token", "offline_access"}

func (s *App) base() string { return strings.TrimRight(s.LoginURL, "/") }

// OAuth2 returns the client configuration that redeems codes and refreshes
// tokens, for connection.Store.TokenSource (Opener.OAuth).
func (s *App) OAuth2() *oauth2.Config {
	scopes := s.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	return &oauth2.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: s.RedirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:  s.base() + "/services/oauth2/authorize",
			TokenURL: s.base() + "/services/oauth2/token",
			// Salesforce takes the client credentials in the form; probing
			// (the zero value) would send a failing first request.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// ID implements connect.Provider.
func (s *App) ID() connection.Provider { return connection.Salesforce }

// Name implements connect.Provider.
func (s *App) Name() string { return "Salesforce" }

// TenantName implements connect.Provider.
func (s *App) TenantName() string { return "Salesforce org" }

// Check implements connect.Provider.
func (s *App) Check() []string {
	if s == nil {
		return nil
	}
	return connect.Missing("Salesforce", map[string]string{"ClientID": s.ClientID, "LoginURL": s.LoginURL, "RedirectURL": s.RedirectURL})
}

// UserFlow implements connect.Provider.
func (s *App) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) {
	if s == nil {
		return nil, nil
	}
	return s.OAuth2(), nil
}

// Connection implements connect.Provider.
func (s *App) Connection(_ context.Context, _ *connect.Handler, user string, tok *oauth2.Token) (connection.Connection, error) {
	return s.connection(user, tok, connection.FlowAuthCode)
}

// Routes implements connect.Provider: the legacy username-password flow,
// the admin's JWT bearer provisioning and the organisation's integration
// connection for the change detector.
func (s *App) Routes(h *connect.Handler) []connect.Route {
	return []connect.Route{
		{Method: "POST", Path: "/salesforce/password", Handler: h.Post(func(w http.ResponseWriter, r *http.Request, user, _ string) { s.password(h, w, r, user) })},
		{Method: "POST", Path: "/admin/salesforce/jwt", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { s.adminJWT(h, w, r, admin, org) })},
		{Method: "POST", Path: "/admin/salesforce/integration", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			s.adminIntegration(h, w, r, admin, org)
		})},
	}
}

// connection reads who connected from a Salesforce token response: the
// identity URL names the org and user
// (https://login.salesforce.com/id/<org id>/<user id>), instance_url is the
// API base. When the app has a client secret the response's signature
// (HMAC-SHA256 over id + issued_at) is checked too.
func (s *App) connection(user string, tok *oauth2.Token, flow connection.Flow) (connection.Connection, error) {
	bad := func(reason string) error {
		return connect.Refuse(http.StatusBadGateway, "bad_provider_answer",
			"Salesforce's answer could not be verified, so nothing was connected. Try again.", reason)
	}
	id := connect.StringExtra(tok, "id")
	org, _, ok := parseIdentityURL(id)
	if !ok {
		return connection.Connection{}, bad("token response without a valid identity URL")
	}
	instance := connect.StringExtra(tok, "instance_url")
	if !validInstanceURL(instance) {
		return connection.Connection{}, bad("token response without a valid instance_url")
	}
	if secret := s.ClientSecret; secret != "" {
		sig := connect.StringExtra(tok, "signature")
		issued := connect.StringExtra(tok, "issued_at")
		if sig != "" && !validSignature(secret, id, issued, sig) {
			return connection.Connection{}, bad("token response signature mismatch")
		}
	}
	scopes := strings.Fields(connect.StringExtra(tok, "scope"))
	if len(scopes) == 0 {
		scopes = s.OAuth2().Scopes
	}
	return connection.Connection{User: user, Provider: connection.Salesforce, Tenant: org,
		InstanceURL: strings.TrimRight(instance, "/"), Flow: flow, Scopes: scopes}, nil
}

// parseIdentityURL splits https://host/id/<org id>/<user id>.
func parseIdentityURL(id string) (org, user string, ok bool) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" {
		return "", "", false
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(seg) != 3 || seg[0] != "id" || !salesforceID(seg[1], "00D") || !salesforceID(seg[2], "005") {
		return "", "", false
	}
	return seg[1], seg[2], true
}

// salesforceID checks a 15- or 18-character record id with a key prefix.
func salesforceID(s, prefix string) bool {
	if (len(s) != 15 && len(s) != 18) || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// validInstanceURL accepts https URLs, and http only on loopback (the local
// Salesforce): the access token goes wherever instance_url points.
func validInstanceURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
	return false
}

func validSignature(secret, id, issuedAt, sig string) bool {
	want := hmac.New(sha256.New, []byte(secret))
	want.Write([]byte(id + issuedAt))
	got, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && hmac.Equal(got, want.Sum(nil))
}

// passwordRequest is the legacy username-password connect form.
type passwordRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// SecurityToken is appended to the password, as Salesforce expects; it
	// may also be typed at the end of the password itself.
	SecurityToken string `json:"security_token"`
}

// password answers POST {prefix}/salesforce/password: the legacy
// username-password flow. Orgs created Summer '23 or later block it by
// default and External Client Apps never offer it; either way Salesforce
// answers with an error the user gets explained, and nothing is saved.
func (s *App) password(h *connect.Handler, w http.ResponseWriter, r *http.Request, user string) {
	p := connection.Salesforce
	if s == nil {
		connect.WriteError(w, http.StatusNotFound, "not_found", "Salesforce connections are not configured")
		return
	}
	var req passwordRequest
	if err := connect.Decode(r, &req, func(f url.Values) {
		req = passwordRequest{Username: f.Get("username"), Password: f.Get("password"), SecurityToken: f.Get("security_token")}
	}); err != nil {
		h.Fail(w, r, user, p, err)
		return
	}
	req.Username = strings.TrimSpace(req.Username)
	secret := req.Password + strings.TrimSpace(req.SecurityToken)
	switch {
	case req.Username == "" || req.Password == "":
		h.Fail(w, r, user, p, connect.Refuse(0, "bad_request", "enter your Salesforce username and password", "username or password missing"))
		return
	case len(req.Username) > 80 || len(secret) > 512:
		h.Fail(w, r, user, p, connect.Refuse(0, "bad_request", "the username or password is too long", "username or password too long"))
		return
	}
	ctx := r.Context()
	tok, err := s.OAuth2().PasswordCredentialsToken(h.OAuthContext(ctx), req.Username, secret)
	if err != nil {
		h.Fail(w, r, user, p, passwordRefusal(err))
		return
	}
	conn, err := s.connection(user, tok, connection.FlowPassword)
	if err == nil {
		err = h.Save(ctx, conn, connection.Credentials{Username: req.Username, Password: secret})
	}
	if err != nil {
		h.Fail(w, r, user, p, err)
		return
	}
	resp := map[string]any{"connected": string(p), "flow": string(connection.FlowPassword)}
	if h.Connected(ctx, user, p) != nil {
		resp["warning"] = "Salesforce is connected, but sync could not be resumed yet."
	}
	connect.WriteJSON(w, http.StatusOK, resp)
}

const usePKCE = "Use Connect with Salesforce instead."

// passwordRefusal explains a refused username-password grant.
func passwordRefusal(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500 {
		return connect.Refuse(http.StatusBadGateway, "unavailable",
			"Salesforce could not be reached. Try again in a few minutes.", "password grant: "+connect.ErrorCode(err))
	}
	code := connect.SafeCode(re.ErrorCode)
	switch re.ErrorCode {
	case "unsupported_grant_type":
		return connect.Refuse(0, "flow_blocked",
			"Your org blocks the username-password flow. "+usePKCE,
			"password grant: unsupported_grant_type")
	case "invalid_grant":
		// Salesforce says "authentication failure" both for a wrong password
		// and for an org that blocks the flow; it does not tell which.
		return connect.Refuse(0, "password_refused",
			"Salesforce refused the username and password. Check the password and the security token appended to it. "+
				"If they are right, your org blocks the username-password flow (orgs created in Summer '23 or later block it by default, "+
				"and External Client Apps never allow it). "+usePKCE,
			"password grant: invalid_grant")
	case "invalid_client", "invalid_client_id", "unauthorized_client":
		return connect.Refuse(0, "app_misconfigured",
			"Salesforce does not accept crmsync's app for the username-password flow. "+usePKCE, "password grant: "+code)
	}
	return connect.Refuse(0, "refused", "Salesforce refused the sign-in ("+code+"). "+usePKCE, "password grant: "+code)
}

// adminJWT answers POST {prefix}/admin/salesforce/jwt: for each line
// "crmsync user's address[, Salesforce username]" (the username defaults to
// the address) it obtains a token with the app's JWT bearer certificate —
// which proves the user is pre-authorized for the app — and saves a
// jwt_bearer connection.
func (s *App) adminJWT(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Salesforce
	if s == nil || s.JWTKey == nil || !h.CanResolve() {
		connect.WriteError(w, http.StatusNotFound, "not_configured", "JWT bearer provisioning is not configured (no Salesforce app certificate key)")
		return
	}
	lines, err := connect.ReadLines(r)
	if err != nil {
		h.Fail(w, r, admin, p, err)
		return
	}
	ctx := r.Context()
	results := make([]connect.LineResult, 0, len(lines))
	for _, l := range lines {
		res := connect.LineResult{Line: l.N, Address: l.Address}
		username := l.Extra
		if username == "" {
			username = l.Address
		}
		var reason string
		res.User, reason = h.Resolve(ctx, org, l.Address)
		if reason == "" && !connect.ValidAddress(username) {
			reason = "the Salesforce username is not e-mail shaped"
		}
		if reason == "" {
			reason = s.provisionJWT(ctx, h, res.User, username)
		}
		res.Error = reason
		if reason == "" {
			h.Logger().InfoContext(ctx, "connect: jwt bearer user provisioned", "admin", admin, "user", res.User)
		}
		results = append(results, res)
	}
	connect.WriteLines(w, results)
}

// provisionJWT proves the JWT bearer flow works for username and saves the
// connection; it returns "" or why the line failed.
func (s *App) provisionJWT(ctx context.Context, h *connect.Handler, user, username string) string {
	src := JWTBearerSource(h.OAuthContext(ctx), s, username, s.JWTKey).WithClock(h.Clock())
	tok, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return "Salesforce refused the JWT bearer token (invalid_grant): check that the username exists, is active and is pre-authorized for crmsync's app (profile or permission set), and that the app holds the certificate"
		}
		return "Salesforce refused the JWT bearer token (" + connect.ErrorCode(err) + ")"
	}
	conn, err := s.connection(user, tok, connection.FlowJWTBearer)
	if err == nil {
		err = h.Save(ctx, conn, connection.Credentials{Username: username})
	}
	if err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return msg
		}
		h.Logger().ErrorContext(ctx, "connect: saving a jwt bearer connection", "user", user, "error", err)
		return "could not save the connection; try again"
	}
	if h.Connected(ctx, user, connection.Salesforce) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
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
func (s *App) adminIntegration(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Salesforce
	if s == nil || s.JWTKey == nil || h.Integrations() == nil {
		connect.WriteError(w, http.StatusNotFound, "not_configured", "the change detector's integration connection needs the Salesforce app certificate key (CRMSYNC_SALESFORCE_JWT_KEY)")
		return
	}
	var req integrationRequest
	if err := connect.Decode(r, &req, func(f url.Values) { req.Username = f.Get("username") }); err != nil {
		h.Fail(w, r, admin, p, err)
		return
	}
	req.Username = strings.TrimSpace(req.Username)
	if !connect.ValidAddress(req.Username) {
		h.Fail(w, r, admin, p, connect.Refuse(0, "bad_request", "username: not a Salesforce username (e-mail shaped)", "bad integration username"))
		return
	}
	ctx := r.Context()
	src := JWTBearerSource(h.OAuthContext(ctx), s, req.Username, s.JWTKey).WithClock(h.Clock())
	tok, err := src.Token()
	if err != nil {
		h.Fail(w, r, admin, p, connect.Refuse(http.StatusBadGateway, "refused", jwtRefusal(err), "integration jwt bearer: "+connect.ErrorCode(err)))
		return
	}
	conn, err := s.connection("", tok, connection.FlowJWTBearer)
	if err != nil {
		h.Fail(w, r, admin, p, err)
		return
	}
	saved, err := h.Integrations().Register(ctx, org, conn, connection.Credentials{Username: req.Username})
	if err != nil {
		h.Fail(w, r, admin, p, err)
		return
	}
	h.Logger().InfoContext(ctx, "connect: integration connection saved", "admin", admin, "org", org, "salesforceOrg", saved.Tenant)
	connect.WriteJSON(w, http.StatusOK, map[string]any{"salesforceOrg": saved.Tenant, "status": string(saved.Status)})
}

// jwtRefusal words what Salesforce's token endpoint said to a JWT bearer
// request, for the admin who set it up: by its error and error_description
// (Salesforce's "OAuth 2.0 Authorization Errors" page; the descriptions as
// Salesforce sends them, see local/fakesalesforce/FIDELITY.md), each with
// what to change. The OAuth code stays at the end for support.
func jwtRefusal(err error) string {
	code := connect.ErrorCode(err)
	var re *oauth2.RetrieveError
	desc := ""
	if errors.As(err, &re) {
		desc = re.ErrorDescription
	}
	var msg string
	switch {
	case code == "invalid_client_id":
		msg = "Salesforce does not know crmsync's consumer key: the External Client App (or connected app) whose consumer key this deployment uses (CRMSYNC_SALESFORCE_CLIENT_ID) is not in that organisation, or the key was copied wrong"
	case code == "invalid_grant" && desc == "user hasn't approved this consumer":
		msg = "that user is not pre-authorized for crmsync's app in Salesforce (or no active user has that username): set the app's Permitted Users to \"Admin approved users are pre-authorized\" and add the user's profile or permission set to it"
	case code == "invalid_grant" && desc == "invalid assertion":
		msg = "Salesforce could not verify the signature: the certificate in crmsync's app in Salesforce is not the one of this deployment's signing key (CRMSYNC_SALESFORCE_JWT_KEY); upload the matching certificate"
	case code == "invalid_grant" && desc == "audience is invalid":
		msg = "the token was meant for another Salesforce login host: check CRMSYNC_SALESFORCE_LOGIN_URL (login.salesforce.com or test.salesforce.com for a sandbox)"
	default:
		msg = "Salesforce refused the JWT bearer token; check that the integration user exists, is active and is pre-authorized for crmsync's app, and that the app holds this deployment's certificate"
	}
	return msg + " (" + code + ")"
}
