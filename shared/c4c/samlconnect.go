package c4c

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/fault"
)

// SAMLSetupUser is the connection-store key of an organisation's SAML
// bearer setup: a connection of its own, so the OAuth client secret and
// the identity provider's private key are sealed like every credential.
func SAMLSetupUser(org string) string { return "c4c-saml|" + org }

// samlSecret is the sealed part of a setup (Credentials.Password, JSON);
// the client id is Credentials.Username, the tenant URL InstanceURL.
type samlSecret struct {
	ClientSecret string `json:"client_secret"`
	Issuer       string `json:"issuer"`
	Key          string `json:"key"`
	Cert         string `json:"certificate"`
}

// LoadSAMLSetup reads org's setup into a SAMLBearer for nameID.
func LoadSAMLSetup(ctx context.Context, conns *connection.Store, org, nameID string) (*SAMLBearer, error) {
	key := SAMLSetupUser(org)
	c, err := conns.Get(ctx, key, Provider)
	if errors.Is(err, connection.ErrNotFound) {
		return nil, fault.New(fault.Reconnect, "no_saml_setup", "the organisation has no SAP Cloud for Customer SAML bearer setup; an admin sets it up")
	}
	if err != nil {
		return nil, err
	}
	cred, err := conns.Credentials(ctx, key, Provider)
	if err != nil {
		return nil, err
	}
	var sec samlSecret
	if err := json.Unmarshal([]byte(cred.Password), &sec); err != nil {
		return nil, fault.New(fault.Reconnect, "saml_setup", "the organisation's C4C SAML bearer setup cannot be read; an admin sets it up again")
	}
	k, cert, err := ParseKeyPair([]byte(sec.Key), []byte(sec.Cert))
	if err != nil {
		return nil, fault.New(fault.Reconnect, "saml_setup", "the organisation's C4C SAML bearer key: "+err.Error())
	}
	return &SAMLBearer{Host: c.InstanceURL, ClientID: cred.Username, ClientSecret: sec.ClientSecret, Issuer: sec.Issuer, Key: k, Cert: cert, NameID: nameID}, nil
}

// SAMLAdmin is C4C's connect provider for the SAML bearer connection: an
// organisation admin sets the tenant's OAuth client and crmsync's identity
// provider key up once (POST {prefix}/admin/c4c/saml), then connects users
// by address (POST {prefix}/admin/c4c/saml/users); users need no password.
// Users cannot start a connection themselves (no user OAuth flow).
type SAMLAdmin struct {
	// Connections is the store setups are read back from.
	Connections *connection.Store
	// CSRFToken is the signed-in session's form token; with it the
	// provider also serves its admin page (samlpage.go; nil: JSON only).
	CSRFToken func(*http.Request) string
	// Prefix is the connect routes' prefix ("/api/dashboard/connect");
	// Overview the dashboard's home and Static its stylesheet folder.
	Prefix, Overview, Static string
}

var _ connect.Provider = SAMLAdmin{}

// ID implements connect.Provider.
func (SAMLAdmin) ID() connection.Provider { return Provider }

// Name implements connect.Provider.
func (SAMLAdmin) Name() string { return Connector.Name }

// TenantName implements connect.Provider.
func (SAMLAdmin) TenantName() string { return "SAP Cloud for Customer tenant" }

// Check implements connect.Provider.
func (a SAMLAdmin) Check() []string {
	if a.Connections == nil {
		return []string{"c4c.SAMLAdmin.Connections is nil"}
	}
	return nil
}

// UserFlow implements connect.Provider: none.
func (SAMLAdmin) UserFlow() (*oauth2.Config, []oauth2.AuthCodeOption) { return nil, nil }

// Connection implements connect.Provider; there is no user flow to read.
func (SAMLAdmin) Connection(context.Context, *connect.Handler, string, *oauth2.Token) (connection.Connection, error) {
	return connection.Connection{}, connect.Refuse(http.StatusNotFound, "no_user_flow", "SAP Cloud for Customer users are connected by their admin", "no user flow")
}

// Routes implements connect.Provider.
func (a SAMLAdmin) Routes(h *connect.Handler) []connect.Route {
	return append(a.pageRoutes(h),
		connect.Route{Method: "POST", Path: "/admin/c4c/saml", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { a.setup(h, w, r, admin, org) })},
		connect.Route{Method: "POST", Path: "/admin/c4c/saml/users", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { a.users(h, w, r, admin, org) })},
	)
}

type setupRequest struct {
	Host         string `json:"host"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Issuer       string `json:"issuer"`
	Key          string `json:"key"`
	Cert         string `json:"certificate"`
	// CheckUser is a business user (the admin's own) the setup is proved
	// with: a token is obtained for it before anything is stored.
	CheckUser string `json:"check_user"`
}

// setupRefusal is why a setup or users request is refused: the page shows
// Msg with Status, the JSON route answers it as a connect refusal.
type setupRefusal struct {
	Status      int
	Code, Msg   string
	Reason      string
	internalErr error
}

func (e *setupRefusal) Error() string { return "c4c saml setup: " + e.Reason }

// setup answers POST /admin/c4c/saml: the setup is checked field by field,
// then proved by a token from the tenant, then sealed. Any refusal stores
// nothing and says what is wrong. A form post gets the admin page back,
// JSON gets JSON.
func (a SAMLAdmin) setup(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	var req setupRequest
	err := connect.Decode(r, &req, func(f url.Values) {
		req = setupRequest{Host: f.Get("host"), ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), Issuer: f.Get("issuer"),
			Key: f.Get("key"), Cert: f.Get("certificate"), CheckUser: f.Get("check_user")}
	})
	form := isForm(r) && a.CSRFToken != nil
	var tenant string
	if err == nil {
		tenant, err = a.configure(r.Context(), h, org, &req)
	}
	var rf *setupRefusal
	switch {
	case err == nil:
		h.Logger().InfoContext(r.Context(), "connect: c4c saml bearer setup stored", "admin", admin, "org", org, "tenant", tenant)
		if form {
			a.render(w, r, h, org, http.StatusOK, pageState{Message: "Single sign-on is set up: SAP Cloud for Customer issued a token for " + req.CheckUser + ". Connect your users below."})
			return
		}
		connect.WriteJSON(w, http.StatusOK, map[string]any{"configured": string(Provider), "tenant": tenant})
	case errors.As(err, &rf) && rf.internalErr == nil:
		if form {
			h.Logger().InfoContext(r.Context(), "connect refused", "user", admin, "provider", string(Provider), "reason", rf.Reason)
			// Never the secret or the key back into the page.
			a.render(w, r, h, org, rf.Status, pageState{Error: rf.Msg, Form: setupRequest{Host: req.Host, ClientID: req.ClientID, Issuer: req.Issuer, CheckUser: req.CheckUser}})
			return
		}
		h.Fail(w, r, admin, Provider, connect.Refuse(rf.Status, rf.Code, rf.Msg, rf.Reason))
	default:
		if rf != nil {
			err = rf.internalErr
		}
		if form {
			msg, ok := connect.RefusalMessage(err)
			if !ok {
				h.Logger().ErrorContext(r.Context(), "connect: storing a c4c saml bearer setup", "org", org, "error", err)
				msg = "Could not save the setup; try again."
			}
			a.render(w, r, h, org, http.StatusBadRequest, pageState{Error: msg})
			return
		}
		h.Fail(w, r, admin, Provider, err)
	}
}

// configure checks req, proves it with a token and stores it for org. An
// empty key and certificate take the key pair crmsync generated (pending),
// else the current setup's: rotating the client secret needs no key.
func (a SAMLAdmin) configure(ctx context.Context, h *connect.Handler, org string, req *setupRequest) (string, error) {
	refuse := func(status int, code, msg, reason string) (string, error) {
		return "", &setupRefusal{Status: status, Code: code, Msg: msg, Reason: reason}
	}
	req.Host = strings.TrimRight(strings.TrimSpace(req.Host), "/")
	req.ClientID, req.Issuer, req.CheckUser = strings.TrimSpace(req.ClientID), strings.TrimSpace(req.Issuer), strings.TrimSpace(req.CheckUser)
	pending := false
	_, curCred, cur, curErr := a.storedSecret(ctx, SAMLSetupUser(org))
	if strings.TrimSpace(req.Key) == "" && strings.TrimSpace(req.Cert) == "" {
		if _, _, sec, err := a.storedSecret(ctx, PendingSAMLUser(org)); err == nil {
			req.Key, req.Cert, pending = sec.Key, sec.Cert, true
		} else if curErr == nil {
			req.Key, req.Cert = cur.Key, cur.Cert
		}
	}
	if req.ClientSecret == "" && curErr == nil && req.ClientID == curCred.Username {
		// A replace of the key pair keeps the same client's secret.
		req.ClientSecret = cur.ClientSecret
	}
	var missing []string
	for name, v := range map[string]string{"host": req.Host, "client_id": req.ClientID, "client_secret": req.ClientSecret, "issuer": req.Issuer,
		"key": req.Key, "certificate": req.Cert, "check_user": req.CheckUser} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		msg := "enter " + strings.Join(missing, ", ")
		if slices.Contains(missing, "key") || slices.Contains(missing, "certificate") {
			msg += " (or generate a key pair)"
		}
		return refuse(http.StatusBadRequest, "bad_request", msg, "setup fields missing")
	}
	if !connect.ServiceHost(req.Host) {
		return refuse(http.StatusBadRequest, "bad_host", "the tenant URL must be an https:// address such as https://my000000.crm.ondemand.com", "host not https")
	}
	key, cert, err := ParseKeyPair([]byte(req.Key), []byte(req.Cert))
	if err != nil {
		return refuse(http.StatusBadRequest, "bad_key", "the identity provider's key and certificate: "+err.Error(), "bad key pair")
	}
	if now := h.Now(); now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return refuse(http.StatusBadRequest, "bad_key", "the identity provider's certificate is not valid now (valid "+cert.NotBefore.UTC().Format("2006-01-02")+" to "+
			cert.NotAfter.UTC().Format("2006-01-02")+"); generate a new key pair", "certificate not valid now")
	}
	b := &SAMLBearer{Host: req.Host, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Issuer: req.Issuer, Key: key, Cert: cert,
		NameID: req.CheckUser, Now: h.Clock(), HTTPClient: h.HTTPClient()}
	tenant, err := CheckSAML(ctx, b)
	if err != nil {
		return refuse(http.StatusUnprocessableEntity, "refused", refusalText(err), "saml setup check failed")
	}
	sec, _ := json.Marshal(samlSecret{ClientSecret: req.ClientSecret, Issuer: req.Issuer, Key: req.Key, Cert: req.Cert})
	conn := connection.Connection{User: SAMLSetupUser(org), Provider: Provider, Tenant: tenant, InstanceURL: req.Host, Flow: connection.FlowSAMLBearer}
	if err := h.Save(ctx, conn, connection.Credentials{Username: req.ClientID, Password: string(sec)}); err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return refuse(http.StatusConflict, "refused", msg, "setup not saved")
		}
		return "", &setupRefusal{internalErr: err}
	}
	if pending {
		// The generated key is the setup's now; a failure leaves a
		// harmless copy the next generation replaces.
		if err := a.Connections.Delete(ctx, PendingSAMLUser(org)); err != nil {
			h.Logger().WarnContext(ctx, "c4c: removing the used pending key pair", "org", org, "error", err)
		}
	}
	return tenant, nil
}

// users answers POST /admin/c4c/saml/users: lines "address[, C4C user]"
// (the C4C user defaults to the address); each is proved by a token for
// that user and an employee with that address, then connected. A form post
// gets the admin page with each address's outcome in words.
func (a SAMLAdmin) users(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	form := isForm(r) && a.CSRFToken != nil
	if !h.CanResolve() {
		if form {
			a.render(w, r, h, org, http.StatusNotFound, pageState{Error: "Users cannot be looked up in this deployment."})
			return
		}
		connect.WriteError(w, http.StatusNotFound, "not_configured", "users cannot be looked up in this deployment")
		return
	}
	lines, err := connect.ReadLines(r)
	if err != nil {
		if msg, ok := connect.RefusalMessage(err); ok && form {
			a.render(w, r, h, org, http.StatusBadRequest, pageState{Error: msg})
			return
		}
		h.Fail(w, r, admin, Provider, err)
		return
	}
	ctx := r.Context()
	results := make([]connect.LineResult, 0, len(lines))
	words := make([]userResult, 0, len(lines))
	for _, l := range lines {
		res := connect.LineResult{Line: l.N, Address: l.Address}
		nameID := l.Extra
		if nameID == "" {
			nameID = l.Address
		}
		var outcome string
		ok := false
		res.User, outcome = h.Resolve(ctx, org, l.Address)
		if outcome == "" {
			outcome, ok = a.connectUser(ctx, h, org, res.User, l.Address, nameID)
		}
		if !ok {
			res.Error = outcome
		} else {
			h.Logger().InfoContext(ctx, "connect: c4c saml bearer user", "admin", admin, "user", res.User, "outcome", outcome)
		}
		results = append(results, res)
		words = append(words, userResult{Address: l.Address, Outcome: outcome, OK: ok})
	}
	if form {
		a.render(w, r, h, org, http.StatusOK, pageState{Message: resultsMessage(words), Results: words})
		return
	}
	connect.WriteLines(w, results)
}

// Outcomes of connecting one user, as the admin reads them.
const (
	outcomeConnected        = "connected"
	outcomeAlreadyConnected = "already connected"
)

// connectUser proves a token for nameID, finds the employee with address
// (the user's records are their employee's), and saves user's connection;
// it returns the outcome in words and whether the user is connected.
func (a SAMLAdmin) connectUser(ctx context.Context, h *connect.Handler, org, user, address, nameID string) (string, bool) {
	b, err := LoadSAMLSetup(ctx, a.Connections, org, nameID)
	if err != nil {
		return refusalText(err), false
	}
	if c, err := a.Connections.Get(ctx, user, Provider); err == nil && c.Flow == connection.FlowSAMLBearer && c.Status == connection.Connected && c.InstanceURL == b.Host {
		if cred, err := a.Connections.Credentials(ctx, user, Provider); err == nil && strings.EqualFold(cred.Username, nameID) {
			return outcomeAlreadyConnected, true
		}
	}
	b.Now, b.HTTPClient = h.Clock(), h.HTTPClient()
	tenant, err := CheckSAML(ctx, b)
	if err != nil {
		return "SAP Cloud for Customer gave no token for this user: " + refusalText(err), false
	}
	client, err := New(Options{Host: b.Host, SAML: b, HTTPClient: b.HTTPClient, Logger: h.Logger()})
	if err != nil {
		return refusalText(err), false
	}
	if _, err := FindEmployee(ctx, client, address); err != nil {
		if errors.Is(err, ErrNoEmployee) {
			return "no employee found in SAP Cloud for Customer with this address; give the user's employee this e-mail address in C4C", false
		}
		return "could not look the employee up: " + refusalText(err), false
	}
	conn := connection.Connection{User: user, Provider: Provider, Tenant: tenant, InstanceURL: b.Host, Flow: connection.FlowSAMLBearer}
	if err := h.Save(ctx, conn, connection.Credentials{Username: nameID}); err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return msg, false
		}
		h.Logger().ErrorContext(ctx, "connect: saving a c4c saml bearer connection", "user", user, "error", err)
		return "could not save the connection; try again", false
	}
	if h.Connected(ctx, user, Provider) != nil {
		return "connected, but sync could not be resumed yet", true
	}
	return outcomeConnected, true
}

// refusalText is an error's message for the admin (fault messages carry
// no credential).
func refusalText(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Message != "" {
		return fe.Message
	}
	return fmt.Sprint(err)
}
