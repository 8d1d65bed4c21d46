package c4c

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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
	return []connect.Route{
		{Method: "POST", Path: "/admin/c4c/saml", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { a.setup(h, w, r, admin, org) })},
		{Method: "POST", Path: "/admin/c4c/saml/users", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) { a.users(h, w, r, admin, org) })},
	}
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

// setup answers POST /admin/c4c/saml: the setup is checked field by field,
// then proved by a token from the tenant, then sealed. Any refusal stores
// nothing and says what is wrong.
func (a SAMLAdmin) setup(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	var req setupRequest
	if err := connect.Decode(r, &req, func(f url.Values) {
		req = setupRequest{Host: f.Get("host"), ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), Issuer: f.Get("issuer"),
			Key: f.Get("key"), Cert: f.Get("certificate"), CheckUser: f.Get("check_user")}
	}); err != nil {
		h.Fail(w, r, admin, Provider, err)
		return
	}
	req.Host = strings.TrimRight(strings.TrimSpace(req.Host), "/")
	var missing []string
	for name, v := range map[string]string{"host": req.Host, "client_id": req.ClientID, "client_secret": req.ClientSecret, "issuer": req.Issuer,
		"key": req.Key, "certificate": req.Cert, "check_user": req.CheckUser} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		h.Fail(w, r, admin, Provider, connect.Refuse(http.StatusBadRequest, "bad_request", "enter "+strings.Join(missing, ", "), "setup fields missing"))
		return
	}
	if !tenantHostOK(req.Host) {
		h.Fail(w, r, admin, Provider, connect.Refuse(http.StatusBadRequest, "bad_host", "the tenant URL must be an https:// address such as https://my000000.crm.ondemand.com", "host not https"))
		return
	}
	key, cert, err := ParseKeyPair([]byte(req.Key), []byte(req.Cert))
	if err != nil {
		h.Fail(w, r, admin, Provider, connect.Refuse(http.StatusBadRequest, "bad_key", "the identity provider's key and certificate: "+err.Error(), "bad key pair"))
		return
	}
	ctx := r.Context()
	b := &SAMLBearer{Host: req.Host, ClientID: req.ClientID, ClientSecret: req.ClientSecret, Issuer: req.Issuer, Key: key, Cert: cert,
		NameID: req.CheckUser, Now: h.Clock(), HTTPClient: h.HTTPClient()}
	tenant, err := CheckSAML(ctx, b)
	if err != nil {
		h.Fail(w, r, admin, Provider, connect.Refuse(http.StatusUnprocessableEntity, "refused", refusalText(err), "saml setup check failed"))
		return
	}
	sec, _ := json.Marshal(samlSecret{ClientSecret: req.ClientSecret, Issuer: req.Issuer, Key: req.Key, Cert: req.Cert})
	conn := connection.Connection{User: SAMLSetupUser(org), Provider: Provider, Tenant: tenant, InstanceURL: req.Host, Flow: connection.FlowSAMLBearer}
	if err := h.Save(ctx, conn, connection.Credentials{Username: req.ClientID, Password: string(sec)}); err != nil {
		h.Fail(w, r, admin, Provider, err)
		return
	}
	h.Logger().InfoContext(ctx, "connect: c4c saml bearer setup stored", "admin", admin, "org", org, "tenant", tenant)
	connect.WriteJSON(w, http.StatusOK, map[string]any{"configured": string(Provider), "tenant": tenant})
}

// users answers POST /admin/c4c/saml/users: lines "address[, C4C user]"
// (the C4C user defaults to the address); each is proved by a token for
// that user, then connected.
func (a SAMLAdmin) users(h *connect.Handler, w http.ResponseWriter, r *http.Request, admin, org string) {
	if !h.CanResolve() {
		connect.WriteError(w, http.StatusNotFound, "not_configured", "users cannot be looked up in this deployment")
		return
	}
	lines, err := connect.ReadLines(r)
	if err != nil {
		h.Fail(w, r, admin, Provider, err)
		return
	}
	ctx := r.Context()
	results := make([]connect.LineResult, 0, len(lines))
	for _, l := range lines {
		res := connect.LineResult{Line: l.N, Address: l.Address}
		nameID := l.Extra
		if nameID == "" {
			nameID = l.Address
		}
		var reason string
		res.User, reason = h.Resolve(ctx, org, l.Address)
		if reason == "" {
			reason = a.connectUser(ctx, h, org, res.User, nameID)
		}
		res.Error = reason
		results = append(results, res)
	}
	connect.WriteLines(w, results)
}

// connectUser proves a token for nameID and saves user's connection; it
// returns "" or why the line failed.
func (a SAMLAdmin) connectUser(ctx context.Context, h *connect.Handler, org, user, nameID string) string {
	b, err := LoadSAMLSetup(ctx, a.Connections, org, nameID)
	if err != nil {
		return refusalText(err)
	}
	b.Now, b.HTTPClient = h.Clock(), h.HTTPClient()
	tenant, err := CheckSAML(ctx, b)
	if err != nil {
		return refusalText(err)
	}
	conn := connection.Connection{User: user, Provider: Provider, Tenant: tenant, InstanceURL: b.Host, Flow: connection.FlowSAMLBearer}
	if err := h.Save(ctx, conn, connection.Credentials{Username: nameID}); err != nil {
		if msg, ok := connect.RefusalMessage(err); ok {
			return msg
		}
		h.Logger().ErrorContext(ctx, "connect: saving a c4c saml bearer connection", "user", user, "error", err)
		return "could not save the connection; try again"
	}
	if h.Connected(ctx, user, Provider) != nil {
		return "connected, but sync could not be resumed yet"
	}
	return ""
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

// tenantHostOK accepts https URLs, and http on loopback (the local C4C).
func tenantHostOK(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback())
}
