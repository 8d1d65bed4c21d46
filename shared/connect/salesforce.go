package connect

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
)

// salesforceConnection reads who connected from a Salesforce token
// response: the identity URL names the org and user
// (https://login.salesforce.com/id/<org id>/<user id>), instance_url is the
// API base. When the app has a client secret the response's signature
// (HMAC-SHA256 over id + issued_at) is checked too.
func (h *Handler) salesforceConnection(user string, tok *oauth2.Token, flow connection.Flow) (connection.Connection, error) {
	bad := func(reason string) error {
		return &refusal{status: http.StatusBadGateway, code: "bad_provider_answer",
			msg: "Salesforce's answer could not be verified, so nothing was connected. Try again.", reason: reason}
	}
	id, _ := tok.Extra("id").(string)
	org, _, ok := parseIdentityURL(id)
	if !ok {
		return connection.Connection{}, bad("token response without a valid identity URL")
	}
	instance, _ := tok.Extra("instance_url").(string)
	if !validInstanceURL(instance) {
		return connection.Connection{}, bad("token response without a valid instance_url")
	}
	if secret := h.opts.Salesforce.ClientSecret; secret != "" {
		sig, _ := tok.Extra("signature").(string)
		issued, _ := tok.Extra("issued_at").(string)
		if sig != "" && !validSignature(secret, id, issued, sig) {
			return connection.Connection{}, bad("token response signature mismatch")
		}
	}
	scopes := strings.Fields(stringExtra(tok, "scope"))
	if len(scopes) == 0 {
		scopes = h.opts.Salesforce.OAuth2().Scopes
	}
	return connection.Connection{User: user, Provider: connection.Salesforce, Tenant: org,
		InstanceURL: strings.TrimRight(instance, "/"), Flow: flow, Scopes: scopes}, nil
}

func stringExtra(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
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

// salesforcePassword answers POST {prefix}/salesforce/password: the legacy
// username-password flow. Orgs created Summer '23 or later block it by
// default and External Client Apps never offer it; either way Salesforce
// answers with an error the user gets explained, and nothing is saved.
func (h *Handler) salesforcePassword(w http.ResponseWriter, r *http.Request, user, _ string) {
	p := connection.Salesforce
	if h.opts.Salesforce == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Message: "Salesforce connections are not configured"})
		return
	}
	var req passwordRequest
	if err := decode(r, &req, func(f url.Values) {
		req = passwordRequest{Username: f.Get("username"), Password: f.Get("password"), SecurityToken: f.Get("security_token")}
	}); err != nil {
		h.fail(w, r, user, p, err)
		return
	}
	req.Username = strings.TrimSpace(req.Username)
	secret := req.Password + strings.TrimSpace(req.SecurityToken)
	switch {
	case req.Username == "" || req.Password == "":
		h.fail(w, r, user, p, &refusal{code: "bad_request", msg: "enter your Salesforce username and password", reason: "username or password missing"})
		return
	case len(req.Username) > 80 || len(secret) > 512:
		h.fail(w, r, user, p, &refusal{code: "bad_request", msg: "the username or password is too long", reason: "username or password too long"})
		return
	}
	ctx := r.Context()
	tok, err := h.opts.Salesforce.OAuth2().PasswordCredentialsToken(h.oauthCtx(ctx), req.Username, secret)
	if err != nil {
		h.fail(w, r, user, p, passwordRefusal(err))
		return
	}
	conn, err := h.salesforceConnection(user, tok, connection.FlowPassword)
	if err == nil {
		err = h.save(ctx, conn, connection.Credentials{Username: req.Username, Password: secret})
	}
	if err != nil {
		h.fail(w, r, user, p, err)
		return
	}
	resp := map[string]any{"connected": string(p), "flow": string(connection.FlowPassword)}
	if h.connected(ctx, user, p) != nil {
		resp["warning"] = "Salesforce is connected, but sync could not be resumed yet."
	}
	writeJSON(w, http.StatusOK, resp)
}

const usePKCE = "Use Connect with Salesforce instead."

// passwordRefusal explains a refused username-password grant.
func passwordRefusal(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500 {
		return &refusal{status: http.StatusBadGateway, code: "unavailable",
			msg: "Salesforce could not be reached. Try again in a few minutes.", reason: "password grant: " + errorCode(err)}
	}
	switch re.ErrorCode {
	case "unsupported_grant_type":
		return &refusal{code: "flow_blocked",
			msg:    "Your org blocks the username-password flow. " + usePKCE,
			reason: "password grant: unsupported_grant_type"}
	case "invalid_grant":
		// Salesforce says "authentication failure" both for a wrong password
		// and for an org that blocks the flow; it does not tell which.
		return &refusal{code: "password_refused",
			msg: "Salesforce refused the username and password. Check the password and the security token appended to it. " +
				"If they are right, your org blocks the username-password flow (orgs created in Summer '23 or later block it by default, " +
				"and External Client Apps never allow it). " + usePKCE,
			reason: "password grant: invalid_grant"}
	case "invalid_client", "invalid_client_id", "unauthorized_client":
		return &refusal{code: "app_misconfigured",
			msg: "Salesforce does not accept crmsync's app for the username-password flow. " + usePKCE, reason: "password grant: " + safeCode(re.ErrorCode)}
	}
	return &refusal{code: "refused", msg: "Salesforce refused the sign-in (" + safeCode(re.ErrorCode) + "). " + usePKCE,
		reason: "password grant: " + safeCode(re.ErrorCode)}
}

// line is one parsed line of an admin's list.
type line struct {
	n       int
	address string
	extra   string
}

// lineResult is the outcome of one line of an admin request. Address is the
// admin's own input echoed back to them; it is never logged.
type lineResult struct {
	Line    int    `json:"line"`
	Address string `json:"address"`
	User    string `json:"user,omitempty"`
	Error   string `json:"error,omitempty"`
}

// maxLines bounds one admin request (each line costs provider calls), like
// account.MaxProvision.
const maxLines = 500

type linesRequest struct {
	Lines []string `json:"lines"`
}

// readLines reads "address[, second]" lines from {"lines": [...]} or a
// form's "lines" text area.
func readLines(r *http.Request) ([]line, error) {
	var req linesRequest
	if err := decode(r, &req, func(f url.Values) { req.Lines = strings.Split(f.Get("lines"), "\n") }); err != nil {
		return nil, err
	}
	var out []line
	for i, raw := range req.Lines {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		a, b, _ := strings.Cut(raw, ",")
		out = append(out, line{n: i + 1, address: strings.TrimSpace(a), extra: strings.TrimSpace(b)})
	}
	switch {
	case len(out) == 0:
		return nil, &refusal{code: "bad_request", msg: "the list is empty: put one address per line", reason: "no lines"}
	case len(out) > maxLines:
		return nil, &refusal{code: "bad_request", msg: "more than 500 lines in one request; split the list", reason: "too many lines"}
	}
	return out, nil
}

// validAddress is a light check of an e-mail-shaped name (a UPN or a
// Salesforce username): the providers have the last word.
func validAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && len(s) <= 256 &&
		!strings.ContainsAny(domain, "@") && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' })
}

// resolve finds the crmsync user of an address in the admin's org.
func (h *Handler) resolve(ctx context.Context, org, address string) (string, string) {
	if !validAddress(address) {
		return "", "not an e-mail address"
	}
	u, ok, err := h.opts.ResolveUser(ctx, org, address)
	switch {
	case err != nil:
		h.log.ErrorContext(ctx, "connect: resolving a user", "org", org, "error", err)
		return "", "could not look the address up; try again"
	case !ok:
		return "", "no crmsync user with this address in your organisation; provision it first"
	}
	return u, ""
}

// adminJWT answers POST {prefix}/admin/salesforce/jwt: for each line
// "crmsync user's address[, Salesforce username]" (the username defaults to
// the address) it obtains a token with the app's JWT bearer certificate —
// which proves the user is pre-authorized for the app — and saves a
// jwt_bearer connection.
func (h *Handler) adminJWT(w http.ResponseWriter, r *http.Request, admin, org string) {
	p := connection.Salesforce
	sf := h.opts.Salesforce
	if sf == nil || sf.JWTKey == nil || h.opts.ResolveUser == nil {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not_configured", Message: "JWT bearer provisioning is not configured (no Salesforce app certificate key)"})
		return
	}
	lines, err := readLines(r)
	if err != nil {
		h.fail(w, r, admin, p, err)
		return
	}
	ctx := r.Context()
	results := make([]lineResult, 0, len(lines))
	ok := 0
	for _, l := range lines {
		res := lineResult{Line: l.n, Address: l.address}
		username := l.extra
		if username == "" {
			username = l.address
		}
		var reason string
		res.User, reason = h.resolve(ctx, org, l.address)
		if reason == "" && !validAddress(username) {
			reason = "the Salesforce username is not e-mail shaped"
		}
		if reason == "" {
			reason = h.provisionJWT(ctx, res.User, username)
		}
		res.Error = reason
		if reason == "" {
			ok++
			h.log.InfoContext(ctx, "connect: jwt bearer user provisioned", "admin", admin, "user", res.User)
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "connected": ok, "failed": len(results) - ok})
}

// provisionJWT proves the JWT bearer flow works for username and saves the
// connection; it returns "" or why the line failed.
func (h *Handler) provisionJWT(ctx context.Context, user, username string) string {
	src := JWTBearerSource(h.oauthCtx(ctx), h.opts.Salesforce, username, h.opts.Salesforce.JWTKey)
	src.now = h.opts.Now
	tok, err := src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return "Salesforce refused the JWT bearer token (invalid_grant): check that the username exists, is active and is pre-authorized for crmsync's app (profile or permission set), and that the app holds the certificate"
		}
		return "Salesforce refused the JWT bearer token (" + errorCode(err) + ")"
	}
	conn, err := h.salesforceConnection(user, tok, connection.FlowJWTBearer)
	if err == nil {
		err = h.save(ctx, conn, connection.Credentials{Username: username})
	}
	if err != nil {
		var rf *refusal
		if errors.As(err, &rf) {
			return rf.msg
		}
		h.log.ErrorContext(ctx, "connect: saving a jwt bearer connection", "user", user, "error", err)
		return "could not save the connection; try again"
	}
	if h.connected(ctx, user, connection.Salesforce) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
}
