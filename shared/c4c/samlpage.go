package c4c

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/identity"
)

// The organisation admin's SAML bearer page, served as SAMLAdmin's own
// connect routes under {prefix}/admin/c4c/saml (the dashboard lets only
// organisation admins reach /connect/admin/…): whether the organisation is
// set up (client ID, issuer, certificate fingerprint and expiry — never the
// client secret or private key), set up or replace it with a key pair
// crmsync generates (the admin registers its certificate in C4C under
// "OAuth 2.0 Identity Provider" as the primary signing certificate; the key
// never leaves crmsync) or one the admin pastes, remove it, and connect
// users by address. Every form posts with the session's CSRF token.

// AdminPage is an organisation admin page the provider serves: Path is
// under the connect prefix, Title names it where the dashboard links it.
type AdminPage struct {
	Title, Path string
}

// samlPagePath is the page's GET route.
const samlPagePath = "/admin/c4c/saml"

// AdminPages lists the provider's organisation admin pages: the SAML
// bearer page, when the page is configured (CSRFToken set).
func (a SAMLAdmin) AdminPages() []AdminPage {
	if a.CSRFToken == nil {
		return nil
	}
	return []AdminPage{{Title: "SAP Cloud for Customer single sign-on (SAML bearer): connect your users without their passwords", Path: samlPagePath}}
}

// PendingSAMLUser is the connection-store key of a key pair crmsync
// generated for org whose certificate is not yet proved registered in C4C:
// sealed like every credential, used by the next setup that names no key.
func PendingSAMLUser(org string) string { return "c4c-saml-pending|" + org }

// certValidity is how long a generated identity provider certificate is
// valid: long enough not to surprise an admin, short enough to be rotated.
const certValidity = 2 * 365 * 24 * time.Hour

// GenerateIdP makes crmsync's identity provider key pair for a tenant: an
// RSA 2048 key (PKCS#1 PEM) and a self-signed certificate (PEM) valid from
// now for two years, named after issuer.
func GenerateIdP(now time.Time, issuer string) (keyPEM, certPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	cn := "crmsync SAML bearer identity provider"
	if issuer != "" {
		cn = issuer
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"crmsync"}},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(certValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, SignatureAlgorithm: x509.SHA256WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// Fingerprint is a certificate's SHA-256 fingerprint as certificate tools
// print it: upper-case hex pairs joined by colons.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// certView is what the page shows of a certificate: public only.
type certView struct {
	PEM, Fingerprint, Subject string
	Expires                   time.Time
	Expired, ExpiresSoon      bool
}

func viewCert(certPEM string, now time.Time) (*certView, error) {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return nil, errors.New("the stored certificate is not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err
	}
	return &certView{PEM: certPEM, Fingerprint: Fingerprint(c), Subject: c.Subject.CommonName, Expires: c.NotAfter.UTC(),
		Expired: now.After(c.NotAfter), ExpiresSoon: c.NotAfter.Sub(now) < 30*24*time.Hour}, nil
}

// setupView is what the page shows of a stored setup: no secret, no key.
type setupView struct {
	Host, Tenant, ClientID, Issuer string
	Updated                        time.Time
	Cert                           *certView
}

// storedSecret reads the sealed part of user's SAML connection row.
func (a SAMLAdmin) storedSecret(ctx context.Context, user string) (connection.Connection, connection.Credentials, samlSecret, error) {
	c, err := a.Connections.Get(ctx, user, Provider)
	if err != nil {
		return c, connection.Credentials{}, samlSecret{}, err
	}
	cred, err := a.Connections.Credentials(ctx, user, Provider)
	if err != nil {
		return c, cred, samlSecret{}, err
	}
	var sec samlSecret
	if err := json.Unmarshal([]byte(cred.Password), &sec); err != nil {
		return c, cred, sec, fmt.Errorf("c4c: the sealed SAML setup cannot be read: %w", err)
	}
	return c, cred, sec, nil
}

// pageState is one answer's outcome on the page.
type pageState struct {
	Message, Error string
	Results        []userResult
	// Form re-fills the set-up form after a refusal: never the secret or key.
	Form setupRequest
}

// userResult is one address's outcome in words.
type userResult struct {
	Address, Outcome string
	OK               bool
}

var samlTmpl = template.Must(template.New("saml").Funcs(template.FuncMap{"date": func(t time.Time) string { return t.Format("2 January 2006") }}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{{.Static}}/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="{{.Static}}/app.css">
<title>SAP Cloud for Customer single sign-on · crmsync</title></head>
<body><main><h1>SAP Cloud for Customer single sign-on</h1>
<p>With the OAuth 2.0 SAML bearer assertion crmsync acts as each connected user in SAP Cloud for Customer, with that user's own rights, and nobody types a password.
crmsync is the identity provider: it signs an assertion naming the user, and your tenant trusts its certificate.</p>
{{with .Message}}<p class="flash" role="status" id="message">{{.}}</p>{{end}}
{{with .Error}}<p class="error" role="alert" id="error">{{.}}</p>{{end}}
<h2>Status</h2>
{{with .Setup}}<dl id="status" class="facts">
<dt>Tenant</dt><dd>{{.Host}}</dd>
<dt>OAuth client ID</dt><dd id="client-id">{{.ClientID}}</dd>
<dt>Identity provider (issuing entity name)</dt><dd id="issuer">{{.Issuer}}</dd>
{{with .Cert}}<dt>Certificate SHA-256 fingerprint</dt><dd id="fingerprint"><code>{{.Fingerprint}}</code></dd>
<dt>Certificate expires</dt><dd id="expires">{{date .Expires}}{{if .Expired}} — <strong>expired: tokens are refused; generate a new key pair and register it</strong>{{else if .ExpiresSoon}} — <strong>soon: generate a new key pair and register it before then</strong>{{end}}</dd>{{end}}
<dt>Set up</dt><dd>{{date .Updated}}</dd>
</dl>
{{if not $.Pending}}<p><a href="{{$.Action}}/certificate" download="crmsync-saml-idp.cer">Download the registered certificate</a></p>{{end}}
<form method="post" action="{{$.Action}}/remove" class="inline"><input type="hidden" name="csrf_token" value="{{$.CSRF}}">
<p>Removing the setup stops sync for every user connected through it until it is set up again.</p>
<button type="submit" class="danger" id="remove">Remove the setup</button></form>
{{else}}<p id="status">Not set up: users connect with a communication user's password, or not at all.</p>{{end}}

<h2>{{if .Setup}}Replace the setup{{else}}Set up{{end}}</h2>
<h3>1. crmsync's certificate</h3>
{{with .Pending}}<p>crmsync generated a key pair for your tenant. Its private key stays sealed in crmsync. Register this certificate in SAP Cloud for Customer:
Administrator → Common Tasks → <em>Configure OAuth 2.0 Identity Provider</em> → New OAuth 2.0 Provider, with the issuing entity name you enter below, and this certificate as its primary signing certificate.</p>
<dl class="facts"><dt>SHA-256 fingerprint</dt><dd><code id="pending-fingerprint">{{.Fingerprint}}</code></dd><dt>Valid until</dt><dd>{{date .Expires}}</dd></dl>
<p><label>Certificate (PEM)<br><textarea id="certificate" readonly rows="8" cols="40">{{.PEM}}</textarea></label></p>
<p><a href="{{$.Action}}/certificate" download="crmsync-saml-idp.cer">Download the certificate</a></p>
{{else}}<p>crmsync can generate the identity provider's key pair: you register its certificate in SAP Cloud for Customer, and the private key never leaves crmsync.
{{if .Setup}}Without a new key pair, the current one is kept.{{end}}</p>{{end}}
<form method="post" action="{{.Action}}/generate"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><button type="submit" id="generate">{{if .Pending}}Generate another key pair{{else}}Generate a key pair{{end}}</button></p></form>
<h3>2. The OAuth client</h3>
<p>In SAP Cloud for Customer, Administrator → <em>OAuth 2.0 Client Registration</em> → New: choose the identity provider above and the scope UIWC:CC_HOME, and keep the client ID and secret it shows.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><label>Tenant URL <input type="url" id="host" name="host" required placeholder="https://my000000.crm.ondemand.com" value="{{.Form.Host}}"></label></p>
<p><label>OAuth client ID <input type="text" id="client-id-input" name="client_id" required autocomplete="off" value="{{.Form.ClientID}}"></label></p>
<p><label>OAuth client secret <input type="password" id="client-secret" name="client_secret"{{if not .Setup}} required{{end}} autocomplete="new-password"></label>{{if .Setup}} (leave empty to keep the current client's secret){{end}}</p>
<p><label>Issuing entity name of the identity provider <input type="text" id="issuer-input" name="issuer" required autocomplete="off" value="{{.Form.Issuer}}"></label></p>
<p><label>Your own SAP Cloud for Customer user (its e-mail address or user ID), to prove the setup with <input type="text" id="check-user" name="check_user" required autocomplete="off" value="{{.Form.CheckUser}}"></label></p>
<details{{if not .Pending}}{{if not .Setup}} open{{end}}{{end}}><summary>Or use your own identity provider key pair</summary>
<p><label>Private key (PEM, PKCS#1 or PKCS#8 RSA)<br><textarea id="key" name="key" rows="6" cols="40" autocomplete="off"></textarea></label></p>
<p><label>Its certificate (PEM)<br><textarea id="own-certificate" name="certificate" rows="6" cols="40"></textarea></label></p></details>
<p>crmsync asks your tenant for a token as your user before it keeps anything. The secret and key are sealed and never shown again.</p>
<p><button type="submit" id="setup">Check and save</button></p>
</form>

<h2>Connect users</h2>
{{if .Setup}}<form method="post" action="{{.Action}}/users">
<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<p><label>Addresses of your organisation's crmsync users, one per line (add ", C4C user ID" when their C4C user is not their address)<br><textarea id="addresses" name="lines" rows="5" cols="36" required></textarea></label></p>
<p><button type="submit" id="connect-users">Connect these users</button></p>
</form>{{else}}<p>Set the single sign-on up first.</p>{{end}}
{{if .Results}}<h2>Connecting</h2><ul id="results">{{range .Results}}<li>{{.Address}}: {{.Outcome}}</li>{{end}}</ul>{{end}}
<p><a href="{{.Back}}">Back to the dashboard</a></p></main></body></html>
`))

// render answers with the page for org.
func (a SAMLAdmin) render(w http.ResponseWriter, r *http.Request, h *connect.Handler, org string, status int, st pageState) {
	ctx := r.Context()
	now := h.Now()
	var setup *setupView
	c, cred, sec, err := a.storedSecret(ctx, SAMLSetupUser(org))
	switch {
	case err == nil:
		setup = &setupView{Host: c.InstanceURL, Tenant: c.Tenant, ClientID: cred.Username, Issuer: sec.Issuer, Updated: c.Updated}
		setup.Cert, _ = viewCert(sec.Cert, now)
	case !errors.Is(err, connection.ErrNotFound):
		h.Logger().ErrorContext(ctx, "c4c: reading the SAML setup", "org", org, "error", err)
		if st.Error == "" {
			st.Error = "Could not read the setup; reload the page."
		}
	}
	var pending *certView
	if _, _, psec, err := a.storedSecret(ctx, PendingSAMLUser(org)); err == nil {
		pending, _ = viewCert(psec.Cert, now)
	}
	if st.Form.Issuer == "" {
		st.Form.Issuer = "crmsync"
		if setup != nil {
			st.Form.Issuer = setup.Issuer
		}
	}
	if setup != nil {
		if st.Form.Host == "" {
			st.Form.Host = setup.Host
		}
		if st.Form.ClientID == "" {
			st.Form.ClientID = setup.ClientID
		}
	}
	token := ""
	if a.CSRFToken != nil {
		token = a.CSRFToken(r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = samlTmpl.Execute(w, struct {
		pageState
		Setup                      *setupView
		Pending                    *certView
		Action, CSRF, Back, Static string
	}{st, setup, pending, a.Prefix + samlPagePath, token, a.Overview, a.Static})
}

// pageRoutes are the page's own routes (GET page, generate, remove and the
// certificate); the set-up and users POSTs answer the page when a form
// posts them (isForm).
func (a SAMLAdmin) pageRoutes(h *connect.Handler) []connect.Route {
	if a.CSRFToken == nil {
		return nil
	}
	log := h.Logger()
	return []connect.Route{
		{Method: "GET", Path: samlPagePath, Admin: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := identity.From(r.Context())
			if !ok {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			a.render(w, r, h, s.Org, http.StatusOK, pageState{})
		})},
		{Method: "GET", Path: samlPagePath + "/certificate", Admin: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := identity.From(r.Context())
			if !ok {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			_, _, sec, err := a.storedSecret(r.Context(), PendingSAMLUser(s.Org))
			if err != nil {
				_, _, sec, err = a.storedSecret(r.Context(), SAMLSetupUser(s.Org))
			}
			if err != nil {
				http.Error(w, "no certificate: generate a key pair first", http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/x-x509-ca-cert")
			w.Header().Set("Content-Disposition", `attachment; filename="crmsync-saml-idp.cer"`)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte(sec.Cert))
		})},
		{Method: "POST", Path: samlPagePath + "/generate", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			ctx := r.Context()
			keyPEM, certPEM, err := GenerateIdP(h.Now(), "")
			if err == nil {
				sec, _ := json.Marshal(samlSecret{Key: string(keyPEM), Cert: string(certPEM)})
				_, err = a.Connections.Save(ctx, connection.Connection{User: PendingSAMLUser(org), Provider: Provider, Tenant: "pending", Flow: connection.FlowSAMLBearer},
					connection.Credentials{Username: "pending", Password: string(sec)})
			}
			if err != nil {
				log.ErrorContext(ctx, "c4c: generating a SAML identity provider key pair", "org", org, "error", err)
				a.render(w, r, h, org, http.StatusInternalServerError, pageState{Error: "Could not generate a key pair; try again."})
				return
			}
			log.InfoContext(ctx, "c4c: SAML identity provider key pair generated", "admin", admin, "org", org)
			a.render(w, r, h, org, http.StatusOK, pageState{Message: "A new key pair is generated. Register its certificate in SAP Cloud for Customer, then fill in the OAuth client below."})
		})},
		{Method: "POST", Path: samlPagePath + "/remove", Admin: true, Handler: h.Post(func(w http.ResponseWriter, r *http.Request, admin, org string) {
			ctx := r.Context()
			if err := a.Connections.Delete(ctx, SAMLSetupUser(org)); err != nil {
				log.ErrorContext(ctx, "c4c: removing the SAML setup", "org", org, "error", err)
				a.render(w, r, h, org, http.StatusInternalServerError, pageState{Error: "Could not remove the setup; try again."})
				return
			}
			log.InfoContext(ctx, "c4c: SAML bearer setup removed", "admin", admin, "org", org)
			a.render(w, r, h, org, http.StatusOK, pageState{Message: "The single sign-on setup is removed: users connected through it need it set up again before they sync."})
		})},
	}
}

// isForm reports whether r is a browser form post (anything but JSON),
// which gets the page back rather than JSON.
func isForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct != "application/json"
}

// resultsMessage sums a users form up.
func resultsMessage(results []userResult) string {
	ok := 0
	for _, r := range results {
		if r.OK {
			ok++
		}
	}
	return "Connected " + strconv.Itoa(ok) + " of " + strconv.Itoa(len(results)) + "."
}
