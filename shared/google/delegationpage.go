package google

import (
	"context"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/identity"
)

// The organisation admin's domain-wide delegation page, served as the
// Google provider's own connect routes under {prefix}/admin/google (the
// dashboard lets only organisation admins reach /connect/admin/…): upload a
// service account's JSON key for a Workspace domain — checked with Google by
// minting a token for a user of the domain, then sealed, never shown or
// logged again — and onboard users of the domain, who then need no consent.

// DelegationPage is what the page needs besides the provider's OAuth
// client.
type DelegationPage struct {
	Delegations *Delegations
	// CSRFToken is the signed-in session's token for the forms.
	CSRFToken func(*http.Request) string
	// Prefix is the connect routes' prefix ("/api/dashboard/connect");
	// Overview the dashboard's home and Static its stylesheet folder.
	Prefix, Overview, Static string
}

// maxKeyFile bounds an uploaded key file (Google's are about 2.3 KB).
const maxKeyFile = 16 << 10

// AdminPage is an organisation admin page the provider serves: Path is
// under the connect prefix, Title names it where the dashboard links it.
type AdminPage struct {
	Title, Path string
}

// delegationPath is the delegation page's GET route.
const delegationPath = "/admin/google"

// AdminPages lists the provider's organisation admin pages: the domain-wide
// delegation page, when delegation is configured.
func (p *ConnectProvider) AdminPages() []AdminPage {
	if p.Delegation == nil || p.Delegation.Delegations == nil {
		return nil
	}
	return []AdminPage{{Title: "Google Workspace delegation: onboard your domain's users without their consent", Path: delegationPath}}
}

func (p *ConnectProvider) delegationRoutes(h *connect.Handler) []connect.Route {
	dp := p.Delegation
	if dp == nil || dp.Delegations == nil {
		return nil
	}
	log := h.Logger()
	return []connect.Route{
		{Method: "GET", Path: delegationPath, Admin: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := identity.From(r.Context())
			if !ok {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			dp.render(w, r, s.Org, http.StatusOK, pageState{})
		})},
		{Method: "POST", Path: "/admin/google/delegation", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			status, st := dp.upload(r, org)
			if st.Error == "" {
				log.InfoContext(r.Context(), "google: domain-wide delegation saved", "admin", admin, "org", org)
			} else {
				log.InfoContext(r.Context(), "google: domain-wide delegation refused", "admin", admin, "org", org, "status", status)
			}
			dp.render(w, r, org, status, st)
		})},
		{Method: "POST", Path: "/admin/google/delegation/remove", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			domain := strings.ToLower(strings.TrimSpace(r.PostFormValue("domain")))
			if err := dp.Delegations.Remove(r.Context(), org, domain); err != nil {
				log.ErrorContext(r.Context(), "google: removing a delegation", "org", org, "error", err)
				dp.render(w, r, org, http.StatusInternalServerError, pageState{Error: "Could not remove the delegation; try again."})
				return
			}
			log.InfoContext(r.Context(), "google: domain-wide delegation removed", "admin", admin, "org", org)
			dp.render(w, r, org, http.StatusOK, pageState{Message: "The delegation of " + domain + " is removed: its users must be onboarded again."})
		})},
		{Method: "POST", Path: "/admin/google/users", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			dp.onboard(w, r, h, log, admin, org)
		})},
	}
}

type pageState struct {
	Message, Error string
	Results        []connect.LineResult
}

var delegationTmpl = template.Must(template.New("delegation").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{{.Static}}/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="{{.Static}}/app.css">
<title>Google Workspace delegation · crmsync</title></head>
<body><main><h1>Google Workspace delegation</h1>
<p>With domain-wide delegation crmsync syncs the mailboxes of your Workspace domain's users without asking each of them to consent.
Create a service account in Google Cloud, download its JSON key, and in the Google Admin console (Security → Access and data control → API controls → Manage domain-wide delegation) authorize its client ID for these scopes:</p>
<p><label>Scopes to authorize (one line, comma separated)<br><textarea id="scopes" readonly rows="4" cols="36">{{.Scopes}}</textarea></label></p>
{{with .Message}}<p class="flash" role="status">{{.}}</p>{{end}}
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
<h2>Delegated domains</h2>
{{if .Domains}}<ul>{{range .Domains}}<li><strong>{{.Domain}}</strong>: client ID {{.ClientID}}, {{.ServiceAccount}}, updated {{.Updated.Format "2006-01-02 15:04"}} UTC
<form method="post" action="{{$.Action}}/delegation/remove" class="inline"><input type="hidden" name="csrf_token" value="{{$.CSRF}}"><input type="hidden" name="domain" value="{{.Domain}}"><button type="submit" class="danger">Remove</button></form></li>{{end}}</ul>
{{else}}<p>No domain is delegated yet.</p>{{end}}
<h2>Upload a service account key</h2>
<form method="post" action="{{.Action}}/delegation" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><label>JSON key file <input type="file" id="key" name="key" accept=".json,application/json" required></label></p>
<p><label>A user of the domain, to check the delegation with <input type="email" id="check" name="check" required autocomplete="off"></label></p>
<p>The key is sealed and never shown again.</p>
<p><button type="submit" id="upload-key">Upload and check</button></p>
</form>
<h2>Onboard users</h2>
<form method="post" action="{{.Action}}/users">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><label>Addresses of your organisation's crmsync users in a delegated domain, one per line<br><textarea id="addresses" name="lines" rows="5" cols="36" required></textarea></label></p>
<p><button type="submit" id="onboard">Onboard</button></p>
</form>
{{if .Results}}<h2>Onboarding</h2><ul id="results">{{range .Results}}<li>{{.Address}}: {{if .Error}}{{.Error}}{{else}}connected{{end}}</li>{{end}}</ul>{{end}}
<p><a href="{{.Back}}">Back to the dashboard</a></p></main></body></html>
`))

func (dp *DelegationPage) render(w http.ResponseWriter, r *http.Request, org string, status int, st pageState) {
	domains, err := dp.Delegations.List(r.Context(), org)
	if err != nil && st.Error == "" {
		st.Error = "Could not read the delegated domains; reload the page."
	}
	token := ""
	if dp.CSRFToken != nil {
		token = dp.CSRFToken(r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = delegationTmpl.Execute(w, struct {
		pageState
		Domains                            []Delegation
		Scopes, Action, CSRF, Back, Static string
	}{st, domains, strings.Join(Scopes, ","), dp.Prefix + "/admin/google", token, dp.Overview, dp.Static})
}

// upload checks and keeps a key file; it returns the status and what the
// page says.
func (dp *DelegationPage) upload(r *http.Request, org string) (int, pageState) {
	fail := func(status int, msg string) (int, pageState) { return status, pageState{Error: msg} }
	check := strings.TrimSpace(r.PostFormValue("check"))
	if !connect.ValidAddress(check) {
		return fail(http.StatusBadRequest, "Enter the address of a user of the domain to check the delegation with.")
	}
	f, _, err := r.FormFile("key")
	if err != nil {
		return fail(http.StatusBadRequest, "Choose the service account's JSON key file.")
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil || len(raw) > maxKeyFile {
		return fail(http.StatusBadRequest, "The file is too large to be a service account key.")
	}
	k, err := ParseServiceAccountKey(raw)
	if err != nil {
		return fail(http.StatusBadRequest, "That key cannot be used: "+strings.TrimPrefix(err.Error(), ErrBadKey.Error()+": ")+".")
	}
	domain := strings.ToLower(check[strings.LastIndex(check, "@")+1:])
	if err := dp.Delegations.Check(r.Context(), k, check); err != nil {
		if errors.Is(err, ErrDelegationRefused) {
			return fail(http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), ErrDelegationRefused.Error()+": ")+".")
		}
		return fail(http.StatusBadGateway, "Google could not be reached to check the key; try again.")
	}
	if err := dp.Delegations.Put(r.Context(), org, domain, raw, k); err != nil {
		if errors.Is(err, ErrDomainTaken) {
			return fail(http.StatusConflict, "Another crmsync organisation already delegated "+domain+".")
		}
		return fail(http.StatusInternalServerError, "Could not save the delegation; try again.")
	}
	return http.StatusOK, pageState{Message: "Delegation saved for " + domain + ": Google minted a token for " + check + ". Onboard the domain's users below."}
}

// onboard gives each listed user a jwt_bearer connection acting through
// their domain's delegation, after minting a token as them.
func (dp *DelegationPage) onboard(w http.ResponseWriter, r *http.Request, h *connect.Handler, log *slog.Logger, admin, org string) {
	lines, err := connect.ReadLines(r)
	if err != nil {
		msg, _ := connect.RefusalMessage(err)
		dp.render(w, r, org, http.StatusBadRequest, pageState{Error: msg})
		return
	}
	ctx := r.Context()
	var results []connect.LineResult
	ok := 0
	for _, l := range lines {
		res := connect.LineResult{Line: l.N, Address: l.Address}
		var reason string
		if !h.CanResolve() {
			reason = "onboarding is not configured"
		} else {
			res.User, reason = h.Resolve(ctx, org, l.Address)
		}
		if reason == "" {
			reason = dp.onboardOne(r, h, org, res.User, strings.ToLower(l.Address))
		}
		res.Error = reason
		if reason == "" {
			ok++
			log.InfoContext(ctx, "google: delegated mailbox onboarded", "admin", admin, "user", res.User)
		}
		results = append(results, res)
	}
	st := pageState{Results: results}
	if ok > 0 {
		st.Message = "Onboarded " + strconv.Itoa(ok) + " of " + strconv.Itoa(len(lines)) + "."
	}
	dp.render(w, r, org, http.StatusOK, st)
}

func (dp *DelegationPage) onboardOne(r *http.Request, h *connect.Handler, org, user, address string) string {
	ctx := r.Context()
	domain := address[strings.LastIndex(address, "@")+1:]
	cfg, owner, err := dp.Delegations.ConfigOf(ctx, domain)
	if err != nil {
		return "could not read the domain's delegation; try again"
	}
	if cfg == nil || owner != org {
		// Another organisation's delegation never serves this one's users.
		return "no delegation for " + domain + " in your organisation: upload its key first"
	}
	c := *cfg
	c.Subject = address
	if dp.Delegations.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, dp.Delegations.HTTPClient)
	}
	if _, err := c.TokenSource(ctx).Token(); err != nil {
		code := "unreachable"
		if re := (*oauth2.RetrieveError)(nil); errors.As(err, &re) {
			code = safeCode(retrieveCode(re))
		}
		return "Google refused a token for this user (" + code + ")"
	}
	conn := connection.Connection{User: user, Provider: Provider, Tenant: domain, Flow: connection.FlowJWTBearer, Scopes: Scopes}
	if err := h.Save(ctx, conn, connection.Credentials{Username: address}); err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return msg
		}
		return "could not save the connection; try again"
	}
	if h.Connected(ctx, user, Provider) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
}
