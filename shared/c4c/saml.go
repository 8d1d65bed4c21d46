package c4c

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

// TokenPath is the path of C4C's OAuth 2.0 token endpoint under a tenant's
// host (SAP's OAuthSAMLClient sample: TOKEN_SERVICE_URL =
// https://<tenant>/sap/bc/sec/oauth2/token).
const TokenPath = "/sap/bc/sec/oauth2/token"

// SAMLGrant is the grant type of the SAML 2.0 bearer assertion (RFC 7522).
const SAMLGrant = "urn:ietf:params:oauth:grant-type:saml2-bearer"

// DefaultScope is the scope SAP's sample asks for.
const DefaultScope = "UIWC:CC_HOME"

// SAMLBearer is the second way to call C4C besides a communication user's
// Basic auth: an OAuth 2.0 SAML bearer assertion. crmsync acts as an
// identity provider the tenant trusts (registered under Administrator >
// OAuth Identity Provider with the certificate of Key), signs an assertion
// naming the business user, and trades it with the registered OAuth client
// (ClientID, ClientSecret) for an access token. Users need no password.
type SAMLBearer struct {
	// Host is the tenant's base URL; the token URL and audience derive
	// from it.
	Host string
	// ClientID and ClientSecret are the OAuth client registered in C4C.
	ClientID, ClientSecret string
	// Issuer is the identity provider's name as registered in C4C.
	Issuer string
	// Key signs assertions; Cert is its certificate, the one registered.
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	// NameID is the business user the tokens act as.
	NameID string
	// Scope is asked for (empty = DefaultScope).
	Scope string
	// Now is the clock of assertions and token expiry (nil = time.Now).
	Now        func() time.Time
	HTTPClient *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// ParseKeyPair reads a PEM private key (PKCS#1 or PKCS#8 RSA) and its PEM
// certificate, and checks that they belong together.
func ParseKeyPair(keyPEM, certPEM []byte) (*rsa.PrivateKey, *x509.Certificate, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("the private key is not PEM")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(kb.Bytes); err == nil {
		key = k
	} else if k8, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
		var ok bool
		if key, ok = k8.(*rsa.PrivateKey); !ok {
			return nil, nil, errors.New("the private key is not an RSA key")
		}
	} else {
		return nil, nil, errors.New("the private key is neither PKCS#1 nor PKCS#8")
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, errors.New("the certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the certificate cannot be read: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil, errors.New("the certificate is not the private key's")
	}
	return key, cert, nil
}

func (b *SAMLBearer) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// tenantHost is the host of b.Host, the assertion's audience (SAP's
// sample: ENTITY_ID = the tenant URL without the protocol).
func (b *SAMLBearer) tenantHost() (string, error) {
	u, err := url.Parse(b.Host)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("c4c: tenant URL %q is not an absolute URL", b.Host)
	}
	return u.Host, nil
}

// ErrAssertion is the class of a token request C4C refused.
var ErrAssertion = errors.New("SAP Cloud for Customer refused the SAML bearer assertion")

// Token returns a valid access token, asking for a new one a minute before
// the last one expires.
func (b *SAMLBearer) Token(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.token != "" && b.now().Add(time.Minute).Before(b.expires) {
		return b.token, nil
	}
	tok, ttl, err := b.fetch(ctx)
	if err != nil {
		return "", err
	}
	b.token, b.expires = tok, b.now().Add(ttl)
	return tok, nil
}

// invalidate forgets the token (C4C answered 401 to it).
func (b *SAMLBearer) invalidate() {
	b.mu.Lock()
	b.token = ""
	b.mu.Unlock()
}

// fetch trades a new assertion for a token: client_id, grant_type, scope
// and the base64 assertion as a form, the client secret in Basic auth (as
// SAP's OAuthSAMLClient does).
func (b *SAMLBearer) fetch(ctx context.Context) (string, time.Duration, error) {
	if b.ClientID == "" || b.ClientSecret == "" || b.Issuer == "" || b.NameID == "" || b.Key == nil || b.Cert == nil {
		return "", 0, fault.New(fault.Reconnect, "saml_config", "the C4C SAML bearer setup lacks a client id, secret, issuer, user, key or certificate")
	}
	assertion, err := b.Assertion()
	if err != nil {
		return "", 0, fault.Wrap(fault.Permanent, err)
	}
	scope := b.Scope
	if scope == "" {
		scope = DefaultScope
	}
	form := url.Values{"client_id": {b.ClientID}, "grant_type": {SAMLGrant}, "scope": {scope},
		"assertion": {base64.StdEncoding.EncodeToString(assertion)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(b.Host, "/")+TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.SetBasicAuth(b.ClientID, b.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	hc := b.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		return "", 0, fault.Wrap(fault.Temporary, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tr)
	switch {
	case resp.StatusCode == http.StatusOK && tr.AccessToken != "":
		secs, _ := strconv.Atoi(strings.Trim(string(tr.ExpiresIn), `"`))
		if secs <= 0 {
			secs = 3600
		}
		return tr.AccessToken, time.Duration(secs) * time.Second, nil
	case resp.StatusCode >= 500:
		return "", 0, fault.New(fault.Temporary, strconv.Itoa(resp.StatusCode), "C4C's token endpoint failed")
	case tr.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
		return "", 0, fault.New(fault.Reconnect, "invalid_client", "SAP Cloud for Customer refused the OAuth client id or secret")
	}
	msg := tr.Description
	if msg == "" {
		msg = tr.Error
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return "", 0, fault.New(fault.Reconnect, "invalid_grant", ErrAssertion.Error()+": "+msg)
}

// Assertion returns a signed SAML 2.0 assertion for NameID, valid for 5
// minutes, audience the tenant host, recipient the token URL, in the shape
// of SAP's sample (saml_bearer_assertion.xml) with an enveloped
// XML signature (RSA-SHA256 over exclusive C14N, SHA-256 digest).
//
// The assertion is a small fixed shape that this code writes itself, so
// it writes it directly in its exclusive canonical form (XML-EXC-C14N: no
// whitespace between elements, namespace declarations only where first
// used, attributes in canonical order, no empty-element tags, canonical
// escaping). Digest and signature are then computed over those bytes as any
// verifier canonicalizes them; no general XML signature library is needed.
func (b *SAMLBearer) Assertion() ([]byte, error) {
	aud, err := b.tenantHost()
	if err != nil {
		return nil, err
	}
	idb := make([]byte, 16)
	if _, err := rand.Read(idb); err != nil {
		return nil, err
	}
	id := "_" + hex.EncodeToString(idb)
	now := b.now().UTC().Truncate(time.Second)
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05Z") }
	a := assertionParts{id: id, issued: ts(now), notBefore: ts(now.Add(-time.Minute)), notAfter: ts(now.Add(5 * time.Minute)),
		issuer: b.Issuer, nameID: b.NameID, recipient: strings.TrimSuffix(b.Host, "/") + TokenPath, audience: aud, clientID: b.ClientID}
	unsigned := a.write("")
	digest := sha256.Sum256(unsigned)
	signedInfo := signedInfoC14N(id, base64.StdEncoding.EncodeToString(digest[:]), true)
	h := sha256.Sum256(signedInfo)
	sig, err := rsa.SignPKCS1v15(rand.Reader, b.Key, crypto.SHA256, h[:])
	if err != nil {
		return nil, err
	}
	var s bytes.Buffer
	s.WriteString(`<ds:Signature xmlns:ds="` + nsDSig + `">`)
	s.Write(signedInfoC14N(id, base64.StdEncoding.EncodeToString(digest[:]), false))
	s.WriteString(`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sig) + `</ds:SignatureValue>`)
	s.WriteString(`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(b.Cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`)
	return a.write(s.String()), nil
}

const (
	nsSAML  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"
	algC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

type assertionParts struct {
	id, issued, notBefore, notAfter, issuer, nameID, recipient, audience, clientID string
}

// write renders the assertion in canonical form, with signature (already
// canonical, "" for none) after the Issuer, where SAML's schema puts it.
func (a assertionParts) write(signature string) []byte {
	var w bytes.Buffer
	w.WriteString(`<saml2:Assertion xmlns:saml2="` + nsSAML + `" ID="` + escAttr(a.id) + `" IssueInstant="` + a.issued + `" Version="2.0">`)
	w.WriteString(`<saml2:Issuer>` + escText(a.issuer) + `</saml2:Issuer>`)
	w.WriteString(signature)
	w.WriteString(`<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">` + escText(a.nameID) + `</saml2:NameID>`)
	w.WriteString(`<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData NotOnOrAfter="` + a.notAfter +
		`" Recipient="` + escAttr(a.recipient) + `"></saml2:SubjectConfirmationData></saml2:SubjectConfirmation></saml2:Subject>`)
	w.WriteString(`<saml2:Conditions NotBefore="` + a.notBefore + `" NotOnOrAfter="` + a.notAfter + `"><saml2:AudienceRestriction><saml2:Audience>` +
		escText(a.audience) + `</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>`)
	w.WriteString(`<saml2:AttributeStatement><saml2:Attribute Name="client_id"><saml2:AttributeValue>` + escText(a.clientID) +
		`</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>`)
	w.WriteString(`<saml2:AuthnStatement AuthnInstant="` + a.issued + `"><saml2:AuthnContext><saml2:AuthnContextClassRef>` +
		`urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>`)
	w.WriteString(`</saml2:Assertion>`)
	return w.Bytes()
}

// signedInfoC14N renders SignedInfo; apex is the form it is signed in
// (exclusive C14N of the SignedInfo subtree declares ds on SignedInfo);
// inside Signature the declaration is already in scope.
func signedInfoC14N(id, digest string, apex bool) []byte {
	decl := ""
	if apex {
		decl = ` xmlns:ds="` + nsDSig + `"`
	}
	return []byte(`<ds:SignedInfo` + decl + `><ds:CanonicalizationMethod Algorithm="` + algC14N + `"></ds:CanonicalizationMethod>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"></ds:SignatureMethod>` +
		`<ds:Reference URI="#` + escAttr(id) + `"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform>` +
		`<ds:Transform Algorithm="` + algC14N + `"></ds:Transform></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod><ds:DigestValue>` + digest + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`)
}

// escText and escAttr escape as canonical XML does (C14N 1.0 §2.3).
func escText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;").Replace(s)
}

func escAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;").Replace(s)
}

// CheckSAML obtains a token with b before a SAML bearer setup is stored,
// and reads the service root with it: a refused assertion, client or user
// is an error saying which, and nothing is stored by the caller. It returns
// the tenant as Check does.
func CheckSAML(ctx context.Context, b *SAMLBearer) (string, error) {
	c, err := New(Options{Host: b.Host, SAML: b, HTTPClient: b.HTTPClient})
	if err != nil {
		return "", err
	}
	if _, err := b.Token(ctx); err != nil {
		return "", err
	}
	if _, err := c.csrf(ctx, true); err != nil {
		return "", fmt.Errorf("SAP Cloud for Customer refused the token of the SAML bearer assertion: %w", err)
	}
	return tenantOf(b.Host)
}
