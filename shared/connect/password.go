package connect

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/crmsync/crmsync/shared/connection"
)

// Password is a service whose connection is a service account: a host, a
// user name and a password, checked with the service and then sealed like
// every connection (SAP Cloud for Customer's communication user). The
// connector supplies it; this package names no vendor for it.
type Password struct {
	Provider connection.Provider
	// Name is the service's name on the form and in messages.
	Name string
	// HostHint is the example host the form shows.
	HostHint string
	// Check signs in at host as user and returns the tenant the connection
	// is to. Its error is shown to the user, so it must never carry the
	// password.
	Check func(ctx context.Context, host, user, password string) (tenant string, err error)
}

// passwordRoutes are the routes of the Password services: GET
// /{provider} (the form; more specific than the OAuth start) and POST
// /password/{provider}.
func (h *Handler) passwordRoutes() []Route {
	var out []Route
	for _, p := range h.opts.Passwords {
		p := p
		out = append(out,
			Route{Method: "GET", Path: "/" + string(p.Provider), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.passwordForm(w, r, p) })},
			Route{Method: "POST", Path: "/password/" + string(p.Provider), Handler: h.post(func(w http.ResponseWriter, r *http.Request, user, _ string) {
				h.storePassword(w, r, user, p)
			})})
	}
	return out
}

var passwordTmpl = template.Must(template.New("password").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{{.Static}}/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="{{.Static}}/app.css">
<title>Connect {{.Name}} · crmsync</title></head>
<body><main><h1>Connect {{.Name}}</h1>
<p>Enter the communication user your {{.Name}} administrator set up for crmsync. The password is sealed and never shown again.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><label>Tenant URL <input name="host" type="url" required placeholder="{{.HostHint}}"></label></p>
<p><label>User name <input name="username" required autocomplete="off"></label></p>
<p><label>Password <input name="password" type="password" required autocomplete="new-password"></label></p>
<p><button type="submit">Connect</button></p>
</form>
<p><a href="{{.Back}}">Back to the dashboard</a></p></main></body></html>
`))

// passwordForm answers GET {prefix}/{provider} of a Password service.
func (h *Handler) passwordForm(w http.ResponseWriter, r *http.Request, p Password) {
	if _, _, ok := h.opts.CurrentUser(r); !ok {
		h.page(w, http.StatusUnauthorized, "Sign in first", "Sign in to the crmsync dashboard, then connect "+p.Name+".")
		return
	}
	token := ""
	if h.opts.CSRFToken != nil {
		token = h.opts.CSRFToken(r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The form is served under the dashboard (Prefix is its /connect), so
	// it takes the dashboard's icon and stylesheet.
	_ = passwordTmpl.Execute(w, struct{ Name, HostHint, Action, CSRF, Back, Static string }{
		p.Name, p.HostHint, h.opts.Prefix + "/password/" + string(p.Provider), token, h.opts.OverviewURL, path.Dir(h.opts.Prefix) + "/static"})
}

// passwordRequest of a Password service, as JSON or a form.
type hostPasswordRequest struct {
	Host     string `json:"host"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// storePassword answers POST {prefix}/password/{provider}: the host, user
// name and password are checked with the service, then sealed. A form post
// goes back to the overview with the outcome; JSON gets JSON.
func (h *Handler) storePassword(w http.ResponseWriter, r *http.Request, user string, p Password) {
	isForm := !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	failed := func(err error) {
		if isForm {
			h.overview(w, r, p.Provider, h.userMessage(r.Context(), user, p.Provider, err))
			return
		}
		h.fail(w, r, user, p.Provider, err)
	}
	var req hostPasswordRequest
	if err := decode(r, &req, func(f url.Values) {
		req = hostPasswordRequest{Host: f.Get("host"), Username: f.Get("username"), Password: f.Get("password")}
	}); err != nil {
		failed(err)
		return
	}
	req.Host, req.Username = strings.TrimRight(strings.TrimSpace(req.Host), "/"), strings.TrimSpace(req.Username)
	switch {
	case req.Host == "" || req.Username == "" || req.Password == "":
		failed(&refusal{code: "bad_request", msg: "enter the tenant URL, user name and password", reason: "host, username or password missing"})
		return
	case len(req.Host) > 200 || len(req.Username) > 80 || len(req.Password) > 512:
		failed(&refusal{code: "bad_request", msg: "the tenant URL, user name or password is too long", reason: "field too long"})
		return
	case !ServiceHost(req.Host):
		failed(&refusal{code: "bad_host", msg: "the tenant URL must be an https:// address such as " + p.HostHint, reason: "host not an https URL"})
		return
	}
	ctx := r.Context()
	tenant, err := p.Check(ctx, req.Host, req.Username, req.Password)
	if err != nil {
		failed(&refusal{code: "refused", msg: err.Error(), reason: "check failed"})
		return
	}
	conn := connection.Connection{User: user, Provider: p.Provider, Tenant: tenant, InstanceURL: req.Host, Flow: connection.FlowPassword}
	if err := h.save(ctx, conn, connection.Credentials{Username: req.Username, Password: req.Password}); err != nil {
		failed(err)
		return
	}
	warn := h.connected(ctx, user, p.Provider) != nil
	if isForm {
		h.overview(w, r, p.Provider, "")
		return
	}
	resp := map[string]any{"connected": string(p.Provider), "flow": string(connection.FlowPassword)}
	if warn {
		resp["warning"] = p.Name + " is connected, but sync could not be resumed yet."
	}
	writeJSON(w, http.StatusOK, resp)
}
